"""Benchmarks measure a step against a reference timed in the same run, and print the ratio.

Never a timed assertion in tests: machines differ, ratios against a reference on the same
machine and in the same run do not (much). Every ``bench_*.py``:

- times its reference and its step interleaved (reference, step, reference, step, ...; at
  least :data:`REPEAT` times each, :func:`interleaved`), so a busy machine slows both alike;
- compares their medians (:func:`check`): prints the ratio and its goal;
- ends with :func:`finish`, which prints its rows of the table and returns the exit code:
  non-zero when a ratio misses its goal or the benchmark could not run (``skipped`` is not a
  pass).

``benchmarks/run.py`` (``make bench``) runs them all and prints one table of every ratio; the
scripts hand it their rows through the file named by ``SPSC_BENCH_RESULTS`` (JSON lines).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

REPEAT = 3  # interleaved runs of each side, at least
RESULTS_ENV = "SPSC_BENCH_RESULTS"


@dataclass
class Timing:
    """Wall times of one side of a comparison, in seconds: every run and their median."""

    name: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


@dataclass
class Result:
    """One row of the table: a ratio, its goal, and whether it was met."""

    bench: str
    reference: str
    step: str
    reference_s: float | None = None
    step_s: float | None = None
    goal: float | None = None  # the ratio must be at most this
    runs: int = 0
    status: str = "skipped"  # pass, FAIL or skipped
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference_s is None or self.step_s is None:
            return None
        return self.step_s / self.reference_s if self.reference_s > 0 else float("inf")


_results: list[Result] = []  # this process's rows


def time_once(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(reference: tuple[str, Callable[[], object]], step: tuple[str, Callable[[], object]],
                repeat: int = REPEAT, setup: Callable[[], object] | None = None,
                report: Callable[[int, float, float], None] | None = None) -> tuple[Timing, Timing]:
    """Time ``reference`` and ``step`` alternately, ``repeat`` times each (``setup`` untimed
    before every run; ``report(i, ref_s, step_s)`` after each pair)."""
    repeat = max(repeat, REPEAT)
    ref, st = Timing(reference[0], []), Timing(step[0], [])
    for i in range(repeat):
        for timing, fn in ((ref, reference[1]), (st, step[1])):
            if setup is not None:
                setup()
            timing.runs.append(time_once(fn))
        if report is not None:
            report(i, ref.runs[-1], st.runs[-1])
    return ref, st


def time_it(name: str, fn: Callable[[], object], repeat: int = REPEAT,
            setup: Callable[[], object] | None = None) -> Timing:
    """Time ``fn`` alone ``repeat`` times (``setup`` untimed before each): for figures printed
    for the record; a goal is judged by :func:`interleaved` and :func:`check`."""
    runs = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        runs.append(time_once(fn))
    return Timing(name, runs)


def compare(step: Timing, reference: Timing) -> float:
    """Print step vs reference and the ratio of their medians, for the record (no goal)."""
    ratio = step.median / reference.median if reference.median > 0 else float("inf")
    print(f"{step.name}: {step.median:.3f} s | {reference.name}: {reference.median:.3f} s | "
          f"ratio {ratio:.2f}x (for the record)", flush=True)
    return ratio


def check(bench: str, step: Timing, reference: Timing, goal: float, note: str = "") -> Result:
    """Compare the medians; print the ratio and its goal; record the row; return it."""
    result = Result(bench, reference.name, step.name, reference.median, step.median, goal,
                    min(len(step.runs), len(reference.runs)), note=note)
    result.status = "pass" if result.ratio <= goal else "FAIL"
    print(f"{bench}: {step.name}: {step.median:.3f} s | reference {reference.name}: "
          f"{reference.median:.3f} s | ratio {result.ratio:.2f}x (goal <= {goal:g}x: "
          f"{'met' if result.status == 'pass' else 'NOT met'}; medians of {result.runs}"
          f" interleaved runs){'; ' + note if note else ''}", flush=True)
    _results.append(result)
    return result


def skipped(bench: str, why: str, reference: str = "", step: str = "") -> Result:
    """A comparison that could not run: a row that says so (not a pass)."""
    result = Result(bench, reference, step, status="skipped", note=why)
    print(f"{bench}: SKIPPED: {why}", flush=True)
    _results.append(result)
    return result


def table(results: list[Result]) -> str:
    """The rows as a Markdown table: bench, reference, step, ratio, goal, pass."""
    lines = ["| bench | reference | step | ratio | goal | pass |", "|---|---|---|---:|---:|---|"]
    for r in results:
        ref = f"{r.reference} ({r.reference_s:.2f} s)" if r.reference_s is not None else r.reference
        st = f"{r.step} ({r.step_s:.2f} s)" if r.step_s is not None else r.step
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        goal = f"<= {r.goal:g}x" if r.goal is not None else "-"
        status = r.status + (f": {r.note}" if r.status != "pass" and r.note else "")
        lines.append(f"| {r.bench} | {ref} | {st} | {ratio} | {goal} | {status} |")
    return "\n".join(lines)


def finish() -> int:
    """Print this script's rows, hand them to ``run.py`` if it asked; 0 only when all passed."""
    out = os.environ.get(RESULTS_ENV)
    if out:
        with open(out, "a", encoding="utf-8") as f:
            for r in _results:
                f.write(json.dumps(asdict(r)) + "\n")
    else:
        print()
        print(table(_results))
    return 0 if _results and all(r.status == "pass" for r in _results) else 1


def read_results(path: str) -> list[Result]:
    """The rows the scripts wrote to ``path``."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [Result(**json.loads(line)) for line in f if line.strip()]


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024
