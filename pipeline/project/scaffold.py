"""``spsc new``: a new project folder, empty or copied from an example.

The empty project has every file a project needs, each explaining itself: ``spsc.yml``,
``indicators.yml`` (no indicators yet), a results framework spreadsheet with the header row,
``forms/`` (with a README), ``aliases/`` (two CSVs with the packaged tables' columns, to
extend), ``data/raw/``, and a ``.gitignore`` that keeps data, reports and the secret out of
version control. An example (``--example spsc``) is copied from ``examples/<name>/`` of the
checkout: the template is an example you copy, not a framework you edit.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from pipeline.project.config import PROJECT_FILE, ProjectError, quarter_range

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
GITIGNORE = """# generated or private: never committed
data/raw/*
!data/raw/.gitkeep
data/processed/
reports/
.spsc/
.env
*.duckdb
*.duckdb.wal
.ipynb_checkpoints/
"""
_NOT_COPIED = {"data", "reports", ".spsc"}  # an example's generated files stay behind


def _template(name: str) -> str:
    return resources.files("pipeline.project").joinpath("templates", name).read_text(encoding="utf-8")


def examples() -> list[str]:
    """The examples this checkout has (folders of ``examples/`` holding ``spsc.yml``)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / PROJECT_FILE).is_file())


def _check_target(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ProjectError("a file of that name exists", str(folder), "choose a new folder name")
    if folder.is_dir() and any(folder.iterdir()):
        raise ProjectError("the folder is not empty; a new project starts in a new folder", str(folder),
                           "choose a new folder name")


def new_project(folder: Path | str, example: str | None = None) -> list[Path]:
    """Create a project in ``folder`` (new or empty); returns the files written.

    Raises:
        ProjectError: the folder holds files already, or the example does not exist.
    """
    folder = Path(folder)
    _check_target(folder)
    if example:
        return _copy_example(folder, example)
    start = date.today().replace(day=1)
    start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
    end = start.replace(year=start.year + 2) - timedelta(days=1)
    name = folder.resolve().name
    written = []

    def write(relative: str, text: str) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    write(PROJECT_FILE, _template("spsc.yml").format(name=name.replace('"', "'"), short_name=name[:40],
                                                     start=start.isoformat(), end=end.isoformat()))
    write("indicators.yml", _template("indicators.yml"))
    write("forms/README.md", _template("forms_README.md"))
    for table, columns in (("attendance_headers.csv", "table,field,alias,note"),
                           ("attendance_values.csv", "field,alias,value")):
        write(f"aliases/{table}", columns + "\n")
    write("data/raw/.gitkeep", "")
    write(".gitignore", GITIGNORE)
    from pipeline.project.results import write_results_framework

    quarters = quarter_range(start, end)
    milestones = [q for q in quarters[:-1] if q.endswith("Q4")]
    path = folder / "results_framework.xlsx"
    write_results_framework(path, [], milestones, title=f"{name}: results framework")
    written.append(path)
    return written


def _copy_example(folder: Path, example: str) -> list[Path]:
    source = EXAMPLES_DIR / example
    if not (source / PROJECT_FILE).is_file():
        known = ", ".join(examples()) or "none in this installation (they come with a checkout)"
        raise ProjectError(f"no example project {example!r}", "--example", f"examples: {known}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in sorted(source.iterdir()):
        if entry.name in _NOT_COPIED:
            continue
        target = folder / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
            written += [p for p in target.rglob("*") if p.is_file()]
        else:
            shutil.copy2(entry, target)
            written.append(target)
    keep = folder / "data" / "raw" / ".gitkeep"
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.touch()
    written.append(keep)
    if not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        written.append(folder / ".gitignore")
    return written
