"""Small helpers the test modules share (reading a warehouse the way a reader process does)."""

from __future__ import annotations

from pipeline.checks.integrity import fingerprint
from pipeline.warehouse import connect


def query(settings, sql: str, params=None) -> list[tuple]:
    """All rows of ``sql`` on the settings' warehouse, opened read-only."""
    con = connect(settings.db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def warehouse_fingerprint(settings) -> dict[str, tuple[int, int]]:
    """Every table's row count and content hash: equal before and after means nothing changed."""
    con = connect(settings.db, read_only=True)
    try:
        return fingerprint(con)
    finally:
        con.close()


def project_settings(home, **overrides):
    """Settings of a copy of the example project (examples/spsc) in ``home``: its files are
    copied in beside whatever ``home`` holds already, unless it is a project."""
    import shutil
    from pathlib import Path

    from pipeline.config import get_settings
    from pipeline.project.scaffold import EXAMPLES_DIR

    home = Path(home)
    if not (home / "spsc.yml").exists():
        home.mkdir(parents=True, exist_ok=True)
        for entry in (EXAMPLES_DIR / "spsc").iterdir():
            if entry.name in ("data", "reports", ".spsc"):
                continue
            if entry.is_dir():
                shutil.copytree(entry, home / entry.name, dirs_exist_ok=True)
            else:
                shutil.copy2(entry, home / entry.name)
    return get_settings(home=home, project=home, **overrides)


def drop_calibration(home) -> None:
    """Take the ``calibration`` block out of a project copy's form settings.

    Fixture warehouses with a dozen hand-made respondents cannot be weighted to the example's
    census margins (most cells are empty), and their expected values are computed by hand on
    the design weights; tests of calibration keep it.
    """
    import re
    from pathlib import Path

    for path in (Path(home) / "forms").glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^calibration:\n(?:[ #].*\n)*", "", text), encoding="utf-8")
