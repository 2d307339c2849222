"""Benchmarks measure a step against a reference timed in the same run, and print the ratio.

Never a timed assertion in tests: machines differ, ratios against a reference on the same
machine and in the same run do not (much).
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    """Best-of-n wall time of a callable, in seconds, and every run."""

    name: str
    best: float
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def time_it(name: str, fn: Callable[[], object], repeat: int = 3, setup: Callable[[], object] | None = None) -> Timing:
    """Time ``fn`` ``repeat`` times (``setup`` runs untimed before each run); keep the best."""
    runs = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return Timing(name, min(runs), runs)


def compare(step: Timing, reference: Timing, limit: float | None = None) -> float:
    """Print step vs reference and their ratio (and whether it is within ``limit``); return it."""
    ratio = step.best / reference.best if reference.best > 0 else float("inf")
    verdict = ""
    if limit is not None:
        verdict = f"  (target <= {limit:g}x: {'met' if ratio <= limit else 'NOT met'})"
    print(f"{step.name}: {step.best:.3f} s | reference {reference.name}: {reference.best:.3f} s | "
          f"ratio {ratio:.2f}x{verdict}")
    return ratio


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024
