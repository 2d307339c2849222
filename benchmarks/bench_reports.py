"""Benchmark: a quarter's reports by ``spsc report`` against the plain way, in one run.

Both sides make the same notebooks (the project report and ``--municipalities`` municipality
profiles, all nine by default) from the same fixture warehouse
(tests/fixtures/warehouse_builder.py) into the same HTML: without code and without prompts,
nbconvert's ``basic`` template, no PDFs.

- Reference: the plain way, one notebook at a time (1 worker): the ``papermill`` command line,
  then the ``jupyter nbconvert --to html --no-input --no-prompt --template basic`` command line.
- Step: :func:`pipeline.reports.batch.run_batch` with ``--workers`` workers (2 by default:
  maps drawn once, warm worker processes, HTML converted in-process).

Timed interleaved (reference, step, ...; medians of at least 3 runs). Goal: ratio <= 0.6
(aim 0.4); exits non-zero when missed. The row names the worker count of both sides.
"""

from __future__ import annotations

import argparse
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
from harness import check, finish, interleaved  # noqa: E402

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


def reference(settings, out: Path, municipalities: list[str]) -> None:
    """papermill CLI + nbconvert CLI (HTML without code), one notebook after another."""
    out.mkdir(parents=True, exist_ok=True)
    runs = [("project", PROJECT_NOTEBOOK, [])] + [
        (m, PROFILE_NOTEBOOK, ["-p", "municipality", m]) for m in municipalities]
    for name, notebook, extra in runs:
        executed = out / f"{name}.ipynb"
        subprocess.run([str(BIN / "papermill"), str(NOTEBOOKS_DIR / notebook), str(executed),
                        "-k", "python3", "--no-progress-bar", "-p", "period", PERIOD,
                        "-p", "warehouse", str(settings.db), "-p", "output_dir", str(out), *extra],
                       check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                        "--no-prompt", "--template", "basic", str(executed)],
                       check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=len(PROJECT_MUNICIPALITIES),
                        help="municipality profiles besides the project report (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    munis = list(PROJECT_MUNICIPALITIES)[:args.municipalities]
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
        print(f"fixture warehouse {settings.db}; maps {'on' if boundaries else 'off (no boundaries)'};"
              f" {1 + len(munis)} notebooks", flush=True)
        names = dict.fromkeys(munis, "")
        jobs = plan(PERIOD, munis, "en", names, name="SPSC")
        failed: list[str] = []

        def step() -> None:
            result = run_batch(settings, PERIOD, jobs, workers=args.workers, pdf=False)
            failed.extend(o.name for o in result.failed)

        n = 1 + len(munis)
        ref, batch = interleaved(
            (f"papermill CLI + nbconvert CLI, {n} notebooks, 1 worker (sequential)",
             lambda: reference(settings, home / "reference", munis)),
            (f"spsc report, {n} notebooks, {args.workers} workers", step),
            report=lambda i, r, s: print(f"run {i + 1}: plain {r:.1f} s, spsc report {s:.1f} s",
                                         flush=True))
        if failed:
            raise SystemExit(f"reports failed: {', '.join(sorted(set(failed)))}")
        check("reports", batch, ref, 0.6, note="HTML without code on both sides, no PDFs")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
