"""Statistical validation: the engine's 95% intervals cover the population value ~95% of the time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage.py"


def _load():
    # loaded by path under its own name: "coverage" is also the name of a testing package
    spec = importlib.util.spec_from_file_location("spsc_bench_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_confidence_intervals_cover_the_population_value_in_every_dimension():
    module = _load()
    cells = module.run(draws=100, seed=7, psus=6)
    assert set(cells["indicator_id"]) == set(module.CHECKED)
    assert set(cells["dimension"]) == set(module.DIMENSIONS)
    assert (cells["no_interval"] == 0).all() and (cells["draws"] == 100).all()
    # a municipality rests on 6 settlements: 5 df, and its interval is a t(5) / logit on 5 df
    muni = cells[cells["dimension"] == "municipality"]
    assert len(muni) == 27 and (muni["mean_df"] == 5).all()
    # 100 draws: a pooled true 95% lands in 90-99% with room to spare
    for dimension, row in module.pooled(cells).iterrows():
        assert 0.90 <= row["covered"] <= 0.99, f"{dimension}: {row['covered']:.1%}"


def test_population_truths_and_two_stage_draws():
    module = _load()
    pop = module.make_population(np.random.default_rng(3))
    truth = module.truths(pop).set_index(["indicator_id", "dimension", "dimension_value"])["truth"]
    assert 0 < truth["trust_municipality_high", "total", "total"] < 100  # percent
    assert 0 < truth["provider_trust_index", "total", "total"] < 10
    # every published cell has a truth: total, 9 municipalities, 2 sexes, 2 entities, 4 ages
    assert len(truth) == 3 * (1 + 9 + 2 + 2 + 4)
    respondents, _ = module.draw_samples(pop, np.random.default_rng(4), draws=2, psus=6, per_psu=12)
    assert len(respondents) == 2 * 9 * 6 * 12
    # self-weighting within a stratum: weights sum to the stratum's adults in each draw
    sums = respondents.groupby(["wave", "stratum"])["weight"].sum()
    adults = pop.people.groupby("stratum").size()
    for (_, stratum), total in sums.items():
        assert total == pytest.approx(adults[stratum])
    # both stages declared: settlements in the stratum, adults in the settlement
    sizes = pop.sizes.set_index("psu")["size"]
    settlement = respondents["psu"].str.split("#").str[0]
    assert (respondents["fpc2"].to_numpy() == sizes[settlement].to_numpy()).all()
    assert (respondents.groupby("stratum")["fpc"].first() == pop.sizes.groupby("stratum").size()).all()
