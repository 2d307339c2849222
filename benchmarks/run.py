"""``make bench``: run every benchmark (bench_*.py) and print one table of all their ratios.

    .venv/bin/python benchmarks/run.py            # sizes that run in a few minutes on 2 cores
    .venv/bin/python benchmarks/run.py --full     # each script's own (the issues') sizes
    .venv/bin/python benchmarks/run.py bench_maps # some of them

Exits non-zero when any ratio misses its goal, a benchmark could not run (``skipped``), or a
script failed without a row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))

from harness import RESULTS_ENV, Result, read_results, table  # noqa: E402

# the sizes `make bench` runs (each script's defaults are the issues' sizes: --full)
QUICK = {
    "bench_attendance.py": ["--signins", "200000", "--people", "20000", "--events", "4000"],
    "bench_indicators.py": ["--respondents", "1000000"],  # the size: fixed costs weigh less
    # the sizes (1.87M CSV rows, 100,000 XLSX submissions): below them the fixed costs
    # (start-up, the form, marts, checkpoint) outweigh the rows and no ratio says much
    "bench_ingest_survey.py": [],
    "bench_maps.py": [],
    "bench_publish.py": ["--size", "100"],
    # 4 notebooks for 2 workers: an odd count leaves one worker idle for a whole notebook
    "bench_reports.py": ["--municipalities", "3"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="bench names (bench_maps or bench_maps.py)")
    parser.add_argument("--full", action="store_true", help="each script's own, larger sizes")
    args = parser.parse_args(argv)
    scripts = sorted(here.glob("bench_*.py"))
    if args.only:
        wanted = {n if n.endswith(".py") else n + ".py" for n in args.only}
        scripts = [s for s in scripts if s.name in wanted]
    rows: list[Result] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spsc-bench-") as tmp:
        for script in scripts:
            out = str(Path(tmp) / f"{script.stem}.jsonl")
            extra = [] if args.full else QUICK.get(script.name, [])
            print(f"\n== {script.name} {' '.join(extra)}", flush=True)
            t0 = time.perf_counter()
            code = subprocess.run([sys.executable, str(script), *extra], cwd=here.parent,
                                  env=os.environ | {RESULTS_ENV: out}).returncode
            mine = read_results(out)
            if code != 0 and not any(r.status != "pass" for r in mine):
                mine.append(Result(script.stem, "", "", status="FAIL",
                                   note=f"the script exited {code} (see above)"))
            rows += mine
            print(f"== {script.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nAll ratios ({'full' if args.full else 'make bench'} sizes;"
          f" {time.perf_counter() - started:.0f} s in all):\n")
    print(table(rows))
    bad = [r for r in rows if r.status != "pass"]
    if bad:
        print(f"\n{len(bad)} of {len(rows)} not passed: "
              + ", ".join(f"{r.bench} ({r.status})" for r in bad))
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
