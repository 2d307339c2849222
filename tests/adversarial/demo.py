"""A small demo installation for the audit and snapshot tests, built once per test session.

``make demo`` in small, in a copy of the example project: ``spsc synth --respondents 30``, the
four survey exports, the events list and every sign-in sheet ingested, ``spsc build``.
:func:`demo_copy` gives each test its own copy of the project, warehouse and secret (the raw
files are shared: ``load_batches`` points to them by absolute path, and nobody writes there).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from pipeline.config import Settings, get_settings

RESPONDENTS = 30
WAVES = ("2023Q1", "2024Q1", "2024Q4")
_CACHE: dict[str, Path] = {}


def build_demo(home: Path) -> Settings:
    """Synthesise the sample into ``home/data/raw/sample`` and load and build all of it."""
    from pipeline.indicators.engine import build
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.ingest.attendance.load import ingest_attendance
    from pipeline.ingest.survey.load import ingest_survey
    from pipeline.synth import generate
    from pipeline.warehouse.setup import init_warehouse

    _project(home)
    settings = get_settings(home=home, project=home, db=home / "data" / "processed" / "spsc.duckdb",
                            secret_path=home / ".spsc" / "secret.key",
                            reports_dir=home / "reports")
    raw = home / "data" / "raw" / "sample"
    generate(raw, respondents=RESPONDENTS)
    init_warehouse(settings)
    survey = raw / "survey"
    for wave in WAVES:
        ingest_survey(settings, [survey / f"citizen_survey_{wave}.xlsx"],
                      form=survey / "citizen_survey_form.xlsx", wave=wave)
    ingest_survey(settings, [survey / "youth_prepost_2024Q4.xlsx"],
                  form=survey / "youth_prepost_form.xlsx", wave="2024Q4")
    attendance = raw / "attendance"
    ingest_events(settings, attendance / "events.xlsx")
    ingest_attendance(settings, sorted(p for p in attendance.glob("*.xlsx")
                                       if p.name != "events.xlsx"))
    build(settings)
    return settings


def demo_copy(home: Path) -> Settings:
    """Settings of a fresh copy of the demo warehouse (and its secret) under ``home``."""
    if "home" not in _CACHE:
        cache = Path(tempfile.mkdtemp(prefix="spsc-demo-"))
        atexit.register(shutil.rmtree, cache, True)
        build_demo(cache)
        _CACHE["home"] = cache
    source = _CACHE["home"]
    _project(home)
    for part in (Path("data") / "processed" / "spsc.duckdb", Path(".spsc") / "secret.key"):
        (home / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / part, home / part)
    (home / ".spsc").chmod(0o700)
    return get_settings(home=home, project=home, db=home / "data" / "processed" / "spsc.duckdb",
                        secret_path=home / ".spsc" / "secret.key", reports_dir=home / "reports",
                        raw_dir=source / "data" / "raw")


def _project(home: Path) -> None:
    """The example project's files in ``home`` (its catalogue and form settings)."""
    from helpers import project_settings

    project_settings(home)
