"""pipeline.survey against R's survey package.

The reference numbers in tests/fixtures/survey_r/ were made by
``Rscript tests/fixtures/survey_r/make_reference.R``; R is not needed here.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.survey import Design, difference

FIXTURES = Path(__file__).parent / "fixtures" / "survey_r"
REL = 1e-6
# Only an exact zero in R gets an absolute tolerance (relative error is
# meaningless there).
ZERO_ABS = 1e-12

REFERENCE = pd.read_csv(
    FIXTURES / "reference.csv",
    keep_default_na=False,
    na_values=["NA"],
    dtype={"value": str, "domain": str, "by": str, "denominator": str},
)
DESIGNS = (
    pd.read_csv(FIXTURES / "designs.csv", keep_default_na=False, dtype=str)
    .set_index("design")
    .to_dict("index")
)
META = pd.read_csv(FIXTURES / "meta.csv").iloc[0]
# The installed R's centring of a lonely PSU (survey <= 4.1: zero, later:
# grand mean) only matters for totals; for everything else the default
# "adjust" must match whichever R produced the fixture.
TOTAL_LONELY = "adjust" if META["lonely_psu_adjust_centre"] == "grand_mean" else "adjust_zero"

# reference.csv column -> our column
FIELDS = {
    "estimate": "estimate",
    "se": "se",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "deff": "deff",
    "deff_replace": "deff_replace",
    "n": "n",
    "df": "df",
    "logit_low": "ci_low_logit",
    "logit_high": "ci_high_logit",
}


@functools.cache
def load(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{name}.csv")


@functools.cache
def design(name: str, lonely_psu: str = "adjust", deff: str = "srswor") -> Design:
    spec = DESIGNS[name]
    return Design(
        load(spec["data"]),
        weights=spec["weights"] or None,
        strata=spec["strata"] or None,
        psu=spec["psu"] or None,
        fpc=spec["fpc"] or None,
        lonely_psu=lonely_psu,  # type: ignore[arg-type]
        deff=deff,  # type: ignore[arg-type]
    )


def key_part(value: object) -> str:
    """A by value as R's as.character() writes it."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


@functools.cache
def ours(
    name: str, estimator: str, variable: str, value: str, denominator: str, by: str, level: float
) -> dict[str, dict[str, float]]:
    """Our estimates for one reference call, keyed by R's domain label."""
    by_cols = by.split("+") if by else None
    lonely = TOTAL_LONELY if estimator == "total" else "adjust"
    frames = []
    for deff in ("srswor", "replace"):
        d = design(name, lonely, deff)
        if estimator == "mean":
            res = d.mean(variable, by_cols, level=level)
        elif estimator == "total":
            res = d.total(variable, by_cols, level=level)
        elif estimator == "ratio":
            res = d.ratio(variable, denominator, by_cols, level=level)
        else:
            column = d.data[variable]
            category = float(value) if pd.api.types.is_numeric_dtype(column) else value
            res = d.proportion(variable, category, by_cols, level=level)
        frames.append(res)
    res = frames[0].assign(deff_replace=frames[1]["deff"])
    keys = (
        ["|".join(key_part(v) for v in row) for row in res[by_cols].itertuples(index=False)]
        if by_cols
        else [""]
    )
    return {k: row for k, row in zip(keys, res.to_dict("records"), strict=True)}


def case_id(row: pd.Series) -> str:
    what = row.variable
    if row.value:
        what += f"=={row.value}"
    if row.denominator:
        what += f"/{row.denominator}"
    where = f"{row.by}[{row.domain}]" if row.by else "all"
    return f"{row.design}-{row.estimator}-{what}-{where}-{row.level:g}"


CASES = [pytest.param(row, id=case_id(row)) for _, row in REFERENCE.iterrows()]


def close(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    if want == 0:
        return got == pytest.approx(0, abs=ZERO_ABS)
    return got == pytest.approx(want, rel=REL)


@pytest.mark.parametrize("ref", CASES)
def test_matches_r(ref: pd.Series) -> None:
    got = ours(
        ref.design, ref.estimator, ref.variable, ref.value, ref.denominator, ref.by, ref.level
    )[ref.domain]
    bad = {}
    for r_col, our_col in FIELDS.items():
        want = float(ref[r_col])
        if r_col.startswith("logit") and math.isnan(want):
            continue  # not a proportion, or p in {0, 1} where R's glm gives noise
        if not close(float(got[our_col]), want):
            bad[r_col] = (got[our_col], want)
    assert not bad, f"ours vs R: {bad}"


def test_reference_covers_every_design_and_estimator() -> None:
    combos = set(zip(REFERENCE.design, REFERENCE.estimator, strict=True))
    assert {d for d, _ in combos} == set(DESIGNS)
    for name in DESIGNS:
        assert {e for d, e in combos if d == name} == {"mean", "total", "proportion", "ratio"}
    # every design has whole-sample, one-variable and two-variable domains
    assert set(REFERENCE.by.str.count(r"\+").where(REFERENCE.by != "", -1)) == {-1, 0, 1}


# ------------------------------------------------------------ hand checks
def test_srs_mean_se_with_fpc() -> None:
    df = load("apisrs")
    d = Design(df, fpc="fpc")  # no weights: N/n, as svydesign derives them
    y = df["api00"].to_numpy(float)
    n, big_n = len(y), df["fpc"].iloc[0]
    res = d.mean("api00").iloc[0]
    assert res.estimate == pytest.approx(y.mean(), rel=1e-12)
    assert res.se == pytest.approx(
        y.std(ddof=1) / math.sqrt(n) * math.sqrt(1 - n / big_n), rel=1e-12
    )
    assert res.n == n and res.df == n - 1
    # deff = TRUE compares with SRS without replacement of the same size: 1.
    assert res.deff == pytest.approx(1, rel=1e-12)


def test_srs_total_and_ci() -> None:
    df = pd.DataFrame({"y": [1.0, 2.0, 4.0, 7.0, np.nan]})
    res = Design(df).total("y", level=0.9).iloc[0]
    # With replacement, weight 1. The row with a missing y stays a PSU of the
    # design (na.rm as R), with a zero total: 5 PSUs, not 4.
    z = np.array([1.0, 2.0, 4.0, 7.0, 0.0])
    se = math.sqrt(len(z)) * z.std(ddof=1)
    assert (res.estimate, res.n) == (14.0, 4)
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.ci_high - res.estimate == pytest.approx(1.6448536269514722 * se, rel=1e-12)


def test_domain_keeps_the_full_design() -> None:
    # One-stage cluster sample: a domain estimate keeps all 15 sampled
    # districts (those without high schools count as zero totals);
    # subsetting the data first would shrink the design and change the SE.
    df = load("apiclus1")
    d = design("clus1_fpc")
    by_domain = d.mean("api00", by="stype").set_index("stype").loc["H"]
    sub = df[df.stype == "H"]
    subset_first = Design(sub, weights="pw", psu="dnum", fpc="fpc").mean("api00").iloc[0]
    assert sub.dnum.nunique() < df.dnum.nunique()
    assert by_domain.estimate == pytest.approx(subset_first.estimate, rel=1e-12)
    assert by_domain.se != pytest.approx(subset_first.se, rel=1e-3)
    r = REFERENCE.query(
        "design == 'clus1_fpc' and estimator == 'mean' and variable == 'api00' "
        "and by == 'stype' and domain == 'H' and level == 0.95"
    ).iloc[0]
    assert by_domain.se == pytest.approx(r.se, rel=REL)
    assert subset_first.se != pytest.approx(r.se, rel=1e-3)


def test_na_rm_equals_domain_of_non_missing() -> None:
    # R's na.rm = TRUE subsets the design, which keeps the full design's PSU
    # counts: the same as a domain of the rows with a value.
    df = load("lonely").copy()
    df["has_y"] = df.y.notna()
    d = Design(df, weights="w", strata="stratum", psu="psu")
    na_rm = d.mean("y").iloc[0]
    domain = d.mean("y", by="has_y").set_index("has_y").loc[True]
    assert na_rm.se == pytest.approx(domain.se, rel=1e-12)


LONELY_TOY = pd.DataFrame({"s": [1, 1, 2], "p": [1, 2, 3], "y": [1.0, 3.0, 10.0]})


def test_lonely_psu_adjust_centres_at_grand_mean() -> None:
    # PSU totals 1, 3 (stratum 1) and 10 (stratum 2, lonely); grand mean 14/3.
    total = Design(LONELY_TOY, strata="s", psu="p").total("y").iloc[0]
    assert total.se**2 == pytest.approx(2 * (1 + 1) + (10 - 14 / 3) ** 2, rel=1e-12)
    zero = Design(LONELY_TOY, strata="s", psu="p", lonely_psu="adjust_zero").total("y").iloc[0]
    assert zero.se**2 == pytest.approx(4 + 10**2, rel=1e-12)
    removed = Design(LONELY_TOY, strata="s", psu="p", lonely_psu="remove").total("y").iloc[0]
    assert removed.se**2 == pytest.approx(4, rel=1e-12)
    # means: scores sum to zero, so both centrings agree
    m1 = Design(LONELY_TOY, strata="s", psu="p").mean("y").iloc[0]
    m2 = Design(LONELY_TOY, strata="s", psu="p", lonely_psu="adjust_zero").mean("y").iloc[0]
    assert m1.se == pytest.approx(m2.se, rel=1e-12)
    with pytest.raises(ValueError, match="only one PSU"):
        Design(LONELY_TOY, strata="s", psu="p", lonely_psu="fail")


def test_lonely_stratum_with_fpc_of_one_is_certainty() -> None:
    df = LONELY_TOY.assign(N=[10, 10, 1], w=1.0)
    res = Design(df, weights="w", strata="s", psu="p", fpc="N").total("y").iloc[0]
    assert res.se**2 == pytest.approx((1 - 2 / 10) * 2 * 2, rel=1e-12)


def test_proportion_spellings_and_logit_interval() -> None:
    d = design("clus1_fpc")
    a = d.proportion("sch.wide", level="Yes")
    b = d.proportion("sch.wide", value="Yes", level=0.95)
    pd.testing.assert_frame_equal(a, b)
    row = a.iloc[0]
    assert 0 < row.ci_low_logit < row.estimate < row.ci_high_logit < 1
    # svyciprop: t quantile on degf = 15 PSUs - 1 stratum
    from scipy import stats

    logit = math.log(row.estimate / (1 - row.estimate))
    half = stats.t.ppf(0.975, 14) * row.se / (row.estimate * (1 - row.estimate))
    assert row.ci_high_logit == pytest.approx(1 / (1 + math.exp(-(logit + half))), rel=1e-12)
    with pytest.raises(TypeError):
        d.proportion("sch.wide")
    with pytest.raises(TypeError):
        d.proportion("sch.wide", "Yes", level="No")


def test_degenerate_proportion_and_empty_domain() -> None:
    df = pd.DataFrame(
        {"g": ["a", "a", "b", "b", "c"], "x": ["n", "n", "y", "n", None], "w": [1, 2, 1, 1, 3]}
    )
    res = Design(df, weights="w").proportion("x", "y", by="g").set_index("g")
    assert res.loc["a", "estimate"] == 0 and res.loc["a", "se"] == 0
    assert res.loc["a", "ci_low_logit"] == 0 and res.loc["a", "ci_high_logit"] == 0
    assert res.loc["c", "n"] == 0 and math.isnan(res.loc["c", "estimate"])


def test_many_variables_at_once_equal_one_at_a_time() -> None:
    d = design("stratclus")
    long = d.means(["HI_CHOL", "race"], by=["agecat", "RIAGENDR"])
    for var in ("HI_CHOL", "race"):
        one = d.mean(var, by=["agecat", "RIAGENDR"])
        part = long[long.variable == var].drop(columns="variable").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, one)
    props = d.proportions({"high": ("HI_CHOL", 1), "race1": ("race", 1)}, by="race")
    assert list(props.variable.unique()) == ["high", "race1"]
    race1 = props[props.variable == "race1"].set_index("race")
    assert race1.loc[1, "estimate"] == 1 and race1.loc[2, "estimate"] == 0
    ratios = d.ratios([("HI_CHOL", "RIAGENDR")])
    assert ratios.variable.tolist() == ["HI_CHOL/RIAGENDR"]


def test_missing_by_values_are_dropped() -> None:
    df = load("lonely")
    res = design("lonely").mean("y", by="group")
    assert res.group.tolist() == ["g1", "g2", "g3"]
    assert res.n.sum() == df[df.group.notna()].y.notna().sum()


def test_design_validation() -> None:
    df = pd.DataFrame({"s": [1, 1, 2, 2], "y": [1.0, 2, 3, 4], "N": [10, 11, 5, 5]})
    with pytest.raises(ValueError, match="varies within strata"):
        Design(df, strata="s", fpc="N")
    with pytest.raises(ValueError, match="100%"):
        Design(df.assign(N=[10, 10, 1, 1]), strata="s", fpc="N")
    frac = Design(df.assign(N=[0.2, 0.2, 0.5, 0.5]), strata="s", fpc="N")
    pop = Design(df.assign(N=[10, 10, 4, 4]), strata="s", fpc="N")
    pd.testing.assert_frame_equal(frac.mean("y"), pop.mean("y"))
    with pytest.raises(ValueError, match="missing values in strata"):
        Design(df.assign(s=[1, None, 2, 2]), strata="s")


def test_difference() -> None:
    res = difference(0.40, 0.03, 0.50, 0.04)
    assert res.diff == pytest.approx(0.10)
    assert res.se == pytest.approx(0.05)
    assert res.z == pytest.approx(2.0)
    assert res.p_value == pytest.approx(0.04550026389635842, rel=1e-9)
    assert res.significant is True
    arr = difference(np.array([0.4, 0.4]), 0.03, np.array([0.5, 0.41]), 0.04)
    assert arr.significant.tolist() == [True, False]
