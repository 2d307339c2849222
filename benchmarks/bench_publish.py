"""Publishing the read copy against the loads themselves, at the demo size and beyond.

    .venv/bin/python benchmarks/bench_publish.py [--sizes 400] [--format xlsx]
        [--out benchmarks/out/publish]
    .venv/bin/python benchmarks/bench_publish.py --sizes 400000 --format csv    # 1,000x

Every writer that changes the warehouse ends by publishing ``spsc.read.duckdb`` (checkpoint,
file copy, a ``publication`` row, flush, rename). For each size this runs the whole pipeline
as ``bench_scale.py`` does (each stage its own ``spsc`` process, so the stage times include
the publishing they do), notes after every stage whether it published (and the checkpoint
and copy time the copy records about itself), then times one full
publish of the final (largest) warehouse in this process, best of three (``spsc publish
--force`` without the process start). The ratios printed are publishing against the stage
that caused it, timed in the same run: the per-stage cost is the number of copies a stage
published times that best publish, an upper bound, since earlier copies were smaller.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import PERIOD, WAVES, Stage, run  # noqa: E402
from harness import Timing, compare, time_it  # noqa: E402

ROOT = HERE.parent


def _publication(db: Path):
    from pipeline.warehouse.publish import published_path, read_publication

    return read_publication(published_path(db))


def pipeline(size: int, fmt: str, out: Path) -> tuple[list[tuple[Stage, int]], Path]:
    """Run every stage for one size; returns (stage, copies it published) and the warehouse."""
    import shutil

    home = out / f"respondents_{size}"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(home))
    db = home / "data" / "processed" / "spsc.duckdb"
    raw = home / "data" / "raw" / "sample"
    log = home / "log.txt"
    stages: list[tuple[Stage, int]] = []

    def stage(name: str, *calls: list[str]) -> None:
        s = Stage(size, name)
        published, recorded = 0, 0.0
        for args in calls:
            before = _publication(db) if db.exists() else None
            run(s, args, env, log)
            after = _publication(db) if db.exists() else None
            if after is not None and after != before:
                published += 1
                recorded += after.seconds  # checkpoint, copy and publication row, as it ran
        stages.append((s, published))
        print(f"  {name:<18} {s.seconds:8.1f} s  published {published} copies"
              f" (checkpoint + copy as recorded: {recorded:.2f} s)", flush=True)

    print(f"respondents {size} per municipality per wave ({fmt})", flush=True)
    run(Stage(size, "synth"), ["synth", "--out", str(raw), "--respondents", str(size),
                               "--format", fmt], env, log)
    stage("init", ["init"])
    survey = raw / "survey"
    stage("ingest survey",
          *[["ingest", "survey", str(survey / f"citizen_survey_{w}.{fmt}"),
             "--form", str(survey / "citizen_survey_form.xlsx"), "--wave", w] for w in WAVES],
          ["ingest", "survey", str(survey / "youth_prepost_2024Q4.xlsx"),
           "--form", str(survey / "youth_prepost_form.xlsx"), "--wave", "2024Q4"])
    attendance = raw / "attendance"
    stage("ingest events", ["ingest", "events", str(attendance / "events.xlsx")])
    sheets = sorted(str(p) for p in attendance.glob("*.xlsx") if p.name != "events.xlsx")
    stage("ingest attendance", ["ingest", "attendance", *sheets])
    stage("build", ["build"])
    stage("indicators", ["indicators", "--period", PERIOD, "--format", "xlsx",
                         "--out", str(home / "reports" / f"indicators_{PERIOD}.xlsx")])
    return stages, db


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400])
    parser.add_argument("--format", default="xlsx", choices=["csv", "xlsx"],
                        help="citizen survey exports as Kobo XLSX (default: what make demo loads)"
                             " or CSV")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "publish")
    args = parser.parse_args(argv)
    from pipeline.warehouse import publish_now

    for size in args.sizes:
        stages, db = pipeline(size, args.format, args.out)
        one = time_it("publish", lambda db=db: publish_now(db, force=True))
        mb = db.stat().st_size / 1e6
        print(f"\nrespondents {size}: warehouse {mb:,.0f} MB; one publish best {one.best:.2f} s"
              f" (runs {', '.join(f'{r:.2f}' for r in one.runs)})")
        total = sum(s.seconds for s, _ in stages)
        copies = sum(n for _, n in stages)
        for s, n in stages:
            if n:
                compare(Timing(f"{s.name}: {n} publish(es)", n * one.best, [n * one.best]),
                        Timing(f"{s.name} (whole stage, processes)", s.seconds, [s.seconds]))
        compare(Timing(f"all {copies} publishes", copies * one.best, [copies * one.best]),
                Timing("the whole pipeline", total, [total]))


if __name__ == "__main__":
    main()
