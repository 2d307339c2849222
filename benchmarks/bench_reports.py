"""Benchmark: the quarter's 10 reports by ``spsc report`` against the plain way, in one run.

Reference: the same 10 notebooks (project report + nine municipality profiles) run one after
another with the ``papermill`` command line, each converted with ``jupyter nbconvert --to
html``. Step: :func:`pipeline.reports.batch.run_batch` with 2 workers (maps drawn once, warm
worker processes, HTML converted in-process), PDFs off in both. Both read the same fixture
warehouse (tests/fixtures/warehouse_builder.py). Target: ratio <= 0.6 (aim 0.4).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

from fixtures.warehouse_builder import build_warehouse  # noqa: E402
from harness import compare, time_it  # noqa: E402

from pipeline.config import get_settings  # noqa: E402
from pipeline.reports.batch import (  # noqa: E402
    NOTEBOOKS_DIR,
    PROFILE_NOTEBOOK,
    PROJECT_NOTEBOOK,
    plan,
    run_batch,
)
from pipeline.synth.area import PROJECT_MUNICIPALITIES  # noqa: E402

PERIOD = "2024Q4"
BIN = Path(sys.executable).parent


def reference(settings, out: Path) -> None:
    """papermill CLI + nbconvert CLI, one notebook after another."""
    out.mkdir(parents=True, exist_ok=True)
    runs = [("project", PROJECT_NOTEBOOK, [])] + [
        (m, PROFILE_NOTEBOOK, ["-p", "municipality", m]) for m in PROJECT_MUNICIPALITIES]
    for name, notebook, extra in runs:
        executed = out / f"{name}.ipynb"
        subprocess.run([str(BIN / "papermill"), str(NOTEBOOKS_DIR / notebook), str(executed),
                        "-k", "python3", "--no-progress-bar", "-p", "period", PERIOD,
                        "-p", "warehouse", str(settings.db), "-p", "output_dir", str(out), *extra],
                       check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", str(executed)],
                       check=True, capture_output=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="spsc-bench-reports-") as tmp:
        home = Path(tmp) / "project"
        from pipeline.project.scaffold import new_project

        new_project(home, example="spsc")
        shared_geo = REPO.parent / "shared" / "geo"
        env_boundaries = os.environ.get("SPSC_BOUNDARIES_DIR")
        boundaries = Path(env_boundaries) if env_boundaries else shared_geo if shared_geo.is_dir() else None
        os.environ["SPSC_HOME"] = str(home)
        os.environ["SPSC_PROJECT"] = str(home)
        if boundaries:
            os.environ["SPSC_BOUNDARIES_DIR"] = str(boundaries)
        settings = get_settings(home=home, project=home)
        build_warehouse(settings)
        print(f"fixture warehouse {settings.db}; maps {'on' if boundaries else 'off (no boundaries)'}")
        names = dict.fromkeys(PROJECT_MUNICIPALITIES, "")
        jobs = plan(PERIOD, list(PROJECT_MUNICIPALITIES), "en", names, name="SPSC")
        failed: list[str] = []

        def step() -> None:
            result = run_batch(settings, PERIOD, jobs, workers=2, pdf=False)
            failed.extend(o.name for o in result.failed)

        batch = time_it("spsc report --all --workers 2", step, repeat=1)
        ref = time_it("papermill CLI + nbconvert CLI, sequential",
                      lambda: reference(settings, home / "reference"), repeat=1)
        if failed:
            raise SystemExit(f"reports failed: {', '.join(failed)}")
        compare(batch, ref, limit=0.6)


if __name__ == "__main__":
    main()
