"""Scale: the whole pipeline at 1x, 10x and 100x the default sample, stage by stage.

A profile, not a ratio benchmark (``make bench`` does not run it: it takes minutes per size).
Its list of stages (:func:`stages`) is the one ``bench_publish.py`` runs too.

    .venv/bin/python benchmarks/scale.py [--sizes 400 4000 40000] [--format csv]
        [--boundaries ../shared/geo] [--report] [--out benchmarks/out/scale]

Each size is a fresh installation under ``--out``: ``spsc synth --respondents N`` (citizen
survey respondents per municipality per wave; attendance stays at its default size), then
``spsc init``, the four survey ingests, the events list and the sign-in sheets, ``spsc
build`` and the donor table (and ``spsc maps`` / ``spsc report`` when asked). Every stage runs
as its own process (``spsc ...``) under ``/usr/bin/time``, which reports its wall time and
peak resident memory; without it the resource module's RUSAGE_CHILDREN is used (peak memory
is then the largest child so far, not the stage's own).

The table printed at the end has one row per size and stage, and the cost per 1,000 survey
rows of the stages that grow with the survey, so linear growth shows as a flat column.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPSC = Path(sys.executable).with_name("spsc")
GNU_TIME = Path("/usr/bin/time")
WAVES = ("2023Q1", "2024Q1", "2024Q4")
PERIOD = "2024Q4"
SURVEY_STAGES = ("synth", "ingest survey", "build")  # the stages that grow with the survey


@dataclass
class Stage:
    """One stage of one size: wall seconds, peak resident memory (MB), processes run."""

    size: int
    name: str
    seconds: float = 0.0
    peak_mb: float = 0.0
    runs: int = 0


def run(stage: Stage, args: list[str], env: dict[str, str], log: Path) -> None:
    """Run ``spsc args`` once as part of ``stage`` (time and peak memory added to it)."""
    command = [str(SPSC), *args]
    stats = log.with_suffix(".time")
    if GNU_TIME.exists():
        command = [str(GNU_TIME), "-f", "%e %M", "-o", str(stats), *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ spsc {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"size {stage.size}: 'spsc {' '.join(args)}' failed; see {log}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if GNU_TIME.exists() and stats.exists():
        wall, kb = stats.read_text().split()[-2:]
        seconds, peak = float(wall), int(kb) / 1024
    elif peak <= before.ru_maxrss / 1024:
        peak = 0.0  # unknown: no child beat the earlier peak
    stage.seconds += seconds
    stage.peak_mb = max(stage.peak_mb, peak)
    stage.runs += 1


def pipeline(size: int, fmt: str, out: Path, boundaries: Path | None, report: bool) -> tuple[list[Stage], int]:
    """Run every stage for one size in a fresh folder; returns the stages and survey rows."""
    home = out / f"respondents_{size}"
    if home.exists():
        shutil.rmtree(home)
    from pipeline.project.scaffold import new_project

    new_project(home, example="spsc")  # a copy of the example project: its catalogue and form settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(home), SPSC_PROJECT=str(home))
    raw = home / "data" / "raw" / "sample"
    log = home / "log.txt"
    done: list[Stage] = []

    def stage(name: str, *calls: list[str]) -> None:
        s = Stage(size, name)
        for args in calls:
            run(s, args, env, log)
        done.append(s)
        print(f"  {name:<18} {s.seconds:8.1f} s  {s.peak_mb:8.0f} MB", flush=True)

    print(f"respondents {size} per municipality per wave ({fmt})", flush=True)
    stage("synth", synth_call(raw, size, fmt))
    for name, calls in stages(home, raw, fmt, boundaries, report):
        stage(name, *calls)
    return done, survey_rows(home)


def synth_call(raw: Path, size: int, fmt: str) -> list[str]:
    """The first stage: the sample data of this size (``spsc synth``)."""
    return ["synth", "--out", str(raw), "--respondents", str(size), "--format", fmt]


def stages(home: Path, raw: Path, fmt: str, boundaries: Path | None = None,
           report: bool = False) -> list[tuple[str, list[list[str]]]]:
    """The pipeline's stages after ``synth`` (call it once the sample exists), in order:
    (name, the ``spsc`` calls it makes), as ``make demo`` runs them."""
    survey, attendance = raw / "survey", raw / "attendance"
    sheets = sorted(str(p) for p in attendance.glob("*.xlsx") if p.name != "events.xlsx")
    out = [
        ("init", [["init"]]),
        ("ingest survey",
         [*[["ingest", "survey", str(survey / f"citizen_survey_{w}.{fmt}"),
             "--form", str(survey / "citizen_survey_form.xlsx"), "--wave", w] for w in WAVES],
          ["ingest", "survey", str(survey / "youth_prepost_2024Q4.xlsx"),
           "--form", str(survey / "youth_prepost_form.xlsx"), "--wave", "2024Q4"]]),
        ("ingest events", [["ingest", "events", str(attendance / "events.xlsx")]]),
        ("ingest attendance", [["ingest", "attendance", *sheets]]),
        ("build", [["build"]]),
        ("indicators", [["indicators", "--period", PERIOD, "--format", "xlsx",
                         "--out", str(home / "reports" / f"indicators_{PERIOD}.xlsx")]]),
    ]
    if boundaries is not None:
        out.append(("maps", [["boundaries", "import", str(boundaries)], ["maps", "--period", PERIOD]]))
    if report:
        out.append(("report", [["report", "--period", PERIOD, "--no-pdf"]]))
    return out


def survey_rows(home: Path) -> int:
    """Submissions loaded from the citizen survey (the size the survey stages grow with)."""
    import duckdb

    con = duckdb.connect(str(home / "data" / "processed" / "spsc.duckdb"), read_only=True)
    try:
        return int(con.execute("select sum(rows_read) from load_batches where kind = 'survey'"
                               " and file_name like 'citizen_survey_%'").fetchall()[0][0])
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400, 4000, 40000])
    parser.add_argument("--format", default="csv", choices=["csv", "xlsx"],
                        help="citizen survey exports as Kobo CSV (default) or XLSX")
    parser.add_argument("--boundaries", type=Path, default=None,
                        help="folder of geoBoundaries files: also time 'spsc maps'")
    parser.add_argument("--report", action="store_true", help="also time 'spsc report'")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "scale")
    args = parser.parse_args(argv)
    results = []
    for size in args.sizes:
        stages, rows = pipeline(size, args.format, args.out, args.boundaries, args.report)
        results.append((size, rows, stages))
    print()
    print(f"{'respondents':>11} {'survey rows':>11}  {'stage':<18} {'seconds':>8} {'peak MB':>8}"
          f" {'s per 1k rows':>13}")
    for size, rows, stages in results:
        for s in stages:
            per = f"{1000 * s.seconds / rows:13.3f}" if s.name in SURVEY_STAGES else ""
            print(f"{size:>11} {rows:>11}  {s.name:<18} {s.seconds:8.1f} {s.peak_mb:8.0f} {per}")
        total = sum(s.seconds for s in stages)
        print(f"{size:>11} {rows:>11}  {'total':<18} {total:8.1f} "
              f"{max(s.peak_mb for s in stages):8.0f}")


if __name__ == "__main__":
    main()
