"""Statistical validation: the engine's 95% intervals cover the population value ~95% of the time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage.py"


def _load():
    # loaded by path under its own name: "coverage" is also the name of a testing package
    spec = importlib.util.spec_from_file_location("spsc_bench_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_confidence_intervals_cover_the_population_value():
    coverage = _load().run(draws=120, seed=7)
    assert set(coverage) == {"trust_municipality_high", "provider_trust_index", "trust_other_entity_mean"}
    # 120 draws: a true 95% coverage gives 90-99% about 99% of the time
    for indicator, share in coverage.items():
        assert 0.88 <= share <= 1.0, f"{indicator}: {share:.1%}"


def test_population_truths_are_the_catalogue_units():
    import numpy as np

    module = _load()
    pop = module.make_population(np.random.default_rng(3))
    truth = module.truths(pop)
    assert 0 < truth["trust_municipality_high"] < 100  # percent, not a proportion
    assert 0 < truth["provider_trust_index"] < 10
    respondents, _ = module.draw_samples(pop, np.random.default_rng(4), draws=2, psus=6, per_psu=12)
    assert len(respondents) == 2 * 9 * 6 * 12
    # self-weighting within a stratum: weights sum to the stratum's adults in each draw
    sums = respondents.groupby(["wave", "stratum"])["weight"].sum()
    adults = pop.people.groupby("stratum").size()
    for (_, stratum), total in sums.items():
        assert total == pytest.approx(adults[stratum])
