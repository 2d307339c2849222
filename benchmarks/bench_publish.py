"""Publishing the read copy against a write that includes it, at the demo size and beyond.

    .venv/bin/python benchmarks/bench_publish.py [--size 400] [--format xlsx]
        [--out benchmarks/out/publish]
    .venv/bin/python benchmarks/bench_publish.py --size 400000 --format csv     # 1,000x

Every writer that changes the warehouse ends by publishing ``spsc.read.duckdb`` (checkpoint,
file copy, a ``publication`` row, flush, rename). This runs the whole pipeline once (the
stages of ``scale.py``, each its own ``spsc`` process), noting after every stage how many
copies it published, then compares, interleaved (medians of at least 3 runs each):

- reference: ``spsc build`` on the final warehouse, the whole process as a user sees it (it
  rebuilds the marts and every indicator, and publishes once);
- step: one full publish of the same warehouse in this process (``spsc publish --force``
  without the process start).

Goal: a publish at most 0.25x that write, so publishing stays a small share of every write.
The per-stage shares of the pipeline (copies published x one publish, an upper bound: earlier
copies were smaller) are printed for the record. Exits non-zero when the goal is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import check, finish, interleaved  # noqa: E402
from scale import Stage, run, stages, synth_call  # noqa: E402

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(home))
    db = home / "data" / "processed" / "spsc.duckdb"
    raw = home / "data" / "raw" / "sample"
    log = home / "log.txt"
    done: list[tuple[Stage, int]] = []

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
        done.append((s, published))
        print(f"  {name:<18} {s.seconds:8.1f} s  published {published} copies"
              f" (checkpoint + copy as recorded: {recorded:.2f} s)", flush=True)

    print(f"respondents {size} per municipality per wave ({fmt})", flush=True)
    from pipeline.project.scaffold import new_project

    new_project(home, example="spsc")  # as scale.py: the example's catalogue and form settings
    env.update(SPSC_PROJECT=str(home))
    run(Stage(size, "synth"), synth_call(raw, size, fmt), env, log)
    for name, calls in stages(home, raw, fmt):
        stage(name, *calls)
    return done, db


def main(argv: list[str] | None = None) -> int:
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400,
                        help="respondents per municipality and wave (400: the demo)")
    parser.add_argument("--format", default="xlsx", choices=["csv", "xlsx"],
                        help="citizen survey exports as Kobo XLSX (default: what make demo loads)"
                             " or CSV")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "publish")
    args = parser.parse_args(argv)
    from pipeline.warehouse import publish_now

    done, db = pipeline(args.size, args.format, args.out)
    home = args.out / f"respondents_{args.size}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(home), SPSC_PROJECT=str(home))
    spsc = Path(sys.executable).with_name("spsc")

    def build() -> None:
        subprocess.run([str(spsc), "build"], env=env, check=True, capture_output=True)

    ref, one = interleaved(("spsc build (whole process, its publish included)", build),
                           ("one full publish of the warehouse",
                            lambda: publish_now(db, force=True)))
    mb = db.stat().st_size / 1e6
    total = sum(s.seconds for s, _ in done)
    copies = sum(n for _, n in done)
    for s, n in done:
        if n:
            print(f"  {s.name}: {n} publish(es), at most {n * one.median:.2f} s of {s.seconds:.1f} s"
                  f" ({n * one.median / s.seconds:.2f}x)")
    print(f"  the whole pipeline: {copies} publishes, at most {copies * one.median:.2f} s of"
          f" {total:.1f} s ({copies * one.median / total:.2f}x)")
    check("publish", one, ref, 0.25, note=f"warehouse {mb:,.0f} MB ({args.size} respondents,"
                                          f" {args.format})")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
