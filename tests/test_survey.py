"""pipeline.estimator against R's survey package.

The reference numbers in tests/fixtures/survey_r/ were made by
``Rscript tests/fixtures/survey_r/make_reference.R`` (R 4.2, survey 4.1-1); R is not
needed here. Every estimate, SE, interval bound, df, n, weighted N and deff of every
design (one- and two-stage, lonely-PSU rules, post-stratified, raked, calibrated) and every
domain contrast must equal R's to relative 1e-6.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline.estimator import CellSums, Design, difference, logit_interval, t_interval

FIXTURES = Path(__file__).parent / "fixtures" / "survey_r"
REL = 1e-6
# Only an exact zero in R gets an absolute tolerance (relative error is
# meaningless there).
ZERO_ABS = 1e-12

TEXT = {"value": str, "domain": str, "by": str, "denominator": str, "group": str, "first": str,
        "second": str, "between": str}
REFERENCE = pd.read_csv(FIXTURES / "reference.csv", keep_default_na=False, na_values=["NA"],
                        dtype=TEXT)
CONTRASTS = pd.read_csv(FIXTURES / "contrasts.csv", keep_default_na=False, na_values=["NA"],
                        dtype=TEXT)
DESIGNS = (
    pd.read_csv(FIXTURES / "designs.csv", keep_default_na=False, dtype=str)
    .set_index("design")
    .to_dict("index")
)
MARGINS = pd.read_csv(FIXTURES / "margins.csv", keep_default_na=False, dtype={"levels": str})
META = pd.read_csv(FIXTURES / "meta.csv").iloc[0]
# R's "adjust": survey <= 4.1 centres a lonely PSU at zero, later releases at the grand mean.
R_ADJUST = "adjust_zero" if META["lonely_psu_adjust_centre"] == "zero" else "adjust"


@functools.cache
def load(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{name}.csv")


def stages(text: str) -> str | tuple[str, ...] | None:
    if not text:
        return None
    parts = tuple(text.split("+"))
    return parts[0] if len(parts) == 1 else parts


def population(design: str, margin: str) -> pd.DataFrame:
    rows = MARGINS[(MARGINS.design == design) & (MARGINS.margin == margin)]
    cols = margin.split("*")
    table = pd.DataFrame(rows["levels"].str.split("|").tolist(), columns=cols)
    table["Freq"] = rows["total"].to_numpy()
    return table


def calibrate(d: Design, name: str, spec: str) -> Design:
    method, _, terms = spec.partition(":")
    own = MARGINS[MARGINS.design == name]
    numeric = set(own.margin[own["levels"] == ""])
    margins = [(t.split("*"), population(name, t)) for t in terms.split(";") if t not in numeric]
    # levels are read as text; the data's columns may be numbers
    for cols, table in margins:
        for c in cols:
            if pd.api.types.is_numeric_dtype(d.data[c]):
                table[c] = pd.to_numeric(table[c])
    totals = {t: float(own.total[own.margin == t].iloc[0]) for t in terms.split(";") if t in numeric}
    if method == "poststratify":
        return d.post_stratify(*margins[0])
    if method == "rake":
        return d.rake(margins)
    return d.calibrate(margins, totals=totals, calfun=method)


def lonely_rule(name: str, estimator: str) -> str:
    """Our spelling of the design's lonely-PSU option for this R release.

    R's "adjust" centring (zero or grand mean) only matters for totals, later stages,
    calibrated designs and lonely domains; elsewhere the default "adjust" must match too.
    """
    spec = DESIGNS[name]
    rule = spec["lonely_psu"]
    if rule != "adjust":
        return rule
    plain = (estimator != "total" and not spec["calibration"] and "+" not in spec["psu"]
             and spec["adjust_domain_lonely"] != "TRUE")
    return "adjust" if plain else R_ADJUST


@functools.cache
def design(name: str, lonely_psu: str, deff: str = "srswor") -> Design:
    spec = DESIGNS[name]
    d = Design(
        load(spec["data"]),
        weights=spec["weights"] or None,
        strata=spec["strata"] or None,
        psu=stages(spec["psu"]),
        fpc=stages(spec["fpc"]),
        lonely_psu=lonely_psu,  # type: ignore[arg-type]
        adjust_domain_lonely=spec["adjust_domain_lonely"] == "TRUE",
        deff=deff,  # type: ignore[arg-type]
    )
    if spec["calibration"]:
        d = calibrate(d, name, spec["calibration"])
    return d


def key_part(value: object) -> str:
    """A by value as R's as.character() writes it."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def category(d: Design, variable: str, value: str) -> object:
    return float(value) if pd.api.types.is_numeric_dtype(d.data[variable]) else value


@functools.cache
def ours(name: str, estimator: str, variable: str, value: str, denominator: str, by: str,
         level: float) -> dict[str, dict[str, float]]:
    """Our estimates for one reference call, keyed by R's domain label."""
    by_cols = by.split("+") if by else None
    rule = lonely_rule(name, estimator)
    frames = []
    for deff in ("srswor", "replace"):
        d = design(name, rule, deff)
        if estimator == "mean":
            res = d.mean(variable, by_cols, level=level)
        elif estimator == "total":
            res = d.total(variable, by_cols, level=level)
        elif estimator == "ratio":
            res = d.ratio(variable, denominator, by_cols, level=level)
        else:
            res = d.proportion(variable, category(d, variable, value), by_cols, level=level)
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
    got = ours(ref.design, ref.estimator, ref.variable, ref.value, ref.denominator, ref.by,
               ref.level)[ref.domain]
    interval = ("logit_low", "logit_high") if ref.estimator == "proportion" else ("t_low", "t_high")
    fields = {"estimate": "estimate", "se": "se", "deff": "deff", "deff_replace": "deff_replace",
              "n": "n", "n_weighted": "n_weighted", "df": "df",
              interval[0]: "ci_low", interval[1]: "ci_high"}
    notes = got["note"].split(";")
    scale = 1 + abs(ref.estimate)
    if "variance_not_estimable" in notes:
        # R reports NaN, or 0 where the domain has no degree of freedom and no PSU-to-PSU
        # variation; we refuse to publish a variance there.
        assert math.isnan(ref.se) or (ref.df <= 0 and ref.se <= 1e-9 * scale), ref.se
        assert math.isnan(got["se"]) and math.isnan(got["ci_low"]) and math.isnan(got["ci_high"])
        fields = {k: v for k, v in fields.items() if k in ("estimate", "n", "n_weighted", "df")}
    elif "no_variation" in notes:
        # every value equal: R's se is 0 (up to rounding) and its interval has no width;
        # we give no interval rather than a zero-width one
        assert ref.se <= 1e-9 * scale and got["se"] <= 1e-9 * scale
        assert math.isnan(got["ci_low"]) and math.isnan(got["ci_high"])
        fields = {k: v for k, v in fields.items() if k in ("estimate", "n", "n_weighted", "df")}
    elif ref.estimator == "proportion" and math.isnan(ref.logit_low) and ref.df > 0:
        fields.pop("logit_low")  # p in {0, 1} is "no_variation" above; nothing else is NA
        fields.pop("logit_high")
    bad = {}
    for r_col, our_col in fields.items():
        want = float(ref[r_col])
        if not close(float(got[our_col]), want):
            bad[r_col] = (got[our_col], want)
    assert not bad, f"ours vs R: {bad} (note {got['note']!r})"
    assert got["ci_method"] == ("logit" if ref.estimator == "proportion" else "t")


def test_reference_covers_every_design_and_estimator() -> None:
    combos = set(zip(REFERENCE.design, REFERENCE.estimator, strict=True))
    assert {d for d, _ in combos} == set(DESIGNS)
    for name in DESIGNS:
        assert {e for d, e in combos if d == name} == {"mean", "total", "proportion", "ratio"}
    # every design has whole-sample, one-variable and two-variable domains
    assert set(REFERENCE.by.str.count(r"\+").where(REFERENCE.by != "", -1)) == {-1, 0, 1}
    # the features of the issue are all in the reference
    specs = pd.DataFrame.from_dict(DESIGNS, orient="index")
    assert specs.psu.str.contains(r"\+").sum() >= 5  # two-stage designs
    assert set(specs.lonely_psu) == {"adjust", "average", "remove", "certainty"}
    assert (specs.adjust_domain_lonely == "TRUE").sum() >= 3
    assert {c.split(":")[0] for c in specs.calibration if c} == {
        "poststratify", "rake", "linear", "raking"}
    assert set(CONTRASTS.estimator) == {"mean", "total", "proportion", "ratio"}
    assert len(set(CONTRASTS.design)) >= 12


CONTRAST_CASES = [
    pytest.param(row, id=f"{row.design}-{row.estimator}-{row.variable}-{row.by or 'all'}[{row.group}]")
    for _, row in CONTRASTS.iterrows()
]


@functools.cache
def our_differences(name: str, estimator: str, variable: str, value: str, denominator: str,
                    between: str, first: str, second: str, by: str) -> pd.DataFrame:
    d = design(name, lonely_rule(name, "total"))
    kwargs = {}
    if estimator == "proportion":
        kwargs["value"] = category(d, variable, value)
    if estimator == "ratio":
        kwargs["denominator"] = denominator
    return d.differences(estimator, variable, between, first, second, by=by or None, **kwargs)


@pytest.mark.parametrize("ref", CONTRAST_CASES)
def test_differences_match_svycontrast(ref: pd.Series) -> None:
    res = our_differences(ref.design, ref.estimator, ref.variable, ref.value, ref.denominator,
                          ref["between"], ref["first"], ref["second"], ref.by)
    got = res[res[ref.by].map(key_part) == ref.group].iloc[0] if ref.by else res.iloc[0]
    bad = {}
    for col in ("estimate", "se", "df", "ci_low", "ci_high", "p_value"):
        want = float(ref[{"ci_low": "t_low", "ci_high": "t_high"}.get(col, col)])
        if not close(float(got[col]), want):
            bad[col] = (got[col], want)
    assert not bad, f"ours vs R: {bad}"
    assert got["estimate"] == pytest.approx(got["estimate_first"] - got["estimate_second"])


# ------------------------------------------------------------ hand checks
def test_srs_mean_se_with_fpc_and_t_interval() -> None:
    df = load("apisrs")
    d = Design(df, fpc="fpc")  # no weights: N/n, as svydesign derives them
    y = df["api00"].to_numpy(float)
    n, big_n = len(y), df["fpc"].iloc[0]
    res = d.mean("api00").iloc[0]
    assert res.estimate == pytest.approx(y.mean(), rel=1e-12)
    se = y.std(ddof=1) / math.sqrt(n) * math.sqrt(1 - n / big_n)
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.n == n and res.df == n - 1 and res.n_weighted == pytest.approx(big_n)
    # deff = TRUE compares with SRS without replacement of the same size: 1.
    assert res.deff == pytest.approx(1, rel=1e-12)
    assert res.ci_high - res.estimate == pytest.approx(stats.t.ppf(0.975, n - 1) * se, rel=1e-12)
    assert res.ci_method == "t" and res.note == ""


def test_srs_total_and_ci() -> None:
    df = pd.DataFrame({"y": [1.0, 2.0, 4.0, 7.0, np.nan]})
    res = Design(df).total("y", level=0.9).iloc[0]
    # With replacement, weight 1. The row with a missing y stays a PSU of the
    # design (na.rm as R), with a zero total: 5 PSUs, not 4.
    z = np.array([1.0, 2.0, 4.0, 7.0, 0.0])
    se = math.sqrt(len(z)) * z.std(ddof=1)
    assert (res.estimate, res.n, res.df) == (14.0, 4, 4)
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.ci_high - res.estimate == pytest.approx(stats.t.ppf(0.95, 4) * se, rel=1e-12)


def test_domain_keeps_the_full_design() -> None:
    # One-stage cluster sample: a domain estimate keeps all 15 sampled
    # districts (those without high schools count as zero totals);
    # subsetting the data first would shrink the design and change the SE.
    df = load("apiclus1")
    d = design("clus1_fpc", "adjust")
    by_domain = d.mean("api00", by="stype").set_index("stype").loc["H"]
    sub = df[df.stype == "H"]
    subset_first = Design(sub, weights="pw", psu="dnum", fpc="fpc").mean("api00").iloc[0]
    assert sub.dnum.nunique() < df.dnum.nunique()
    assert by_domain.estimate == pytest.approx(subset_first.estimate, rel=1e-12)
    assert by_domain.se != pytest.approx(subset_first.se, rel=1e-3)
    # the domain's df counts its own PSUs, as svyciprop's degf of the subset
    assert by_domain.df == sub.dnum.nunique() - 1


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


def test_lonely_psu_rules() -> None:
    # PSU totals 1, 3 (stratum 1) and 10 (stratum 2, lonely); grand mean 14/3.
    def total(rule: str) -> pd.Series:
        return Design(LONELY_TOY, strata="s", psu="p", lonely_psu=rule).total("y").iloc[0]

    assert total("adjust").se ** 2 == pytest.approx(2 * (1 + 1) + (10 - 14 / 3) ** 2, rel=1e-12)
    assert total("adjust_zero").se ** 2 == pytest.approx(4 + 10**2, rel=1e-12)
    assert total("remove").se ** 2 == pytest.approx(4, rel=1e-12)
    assert total("certainty").se ** 2 == pytest.approx(4, rel=1e-12)
    # average: the lonely stratum gets the mean of the others' contributions (2 strata / 1 ok)
    assert total("average").se ** 2 == pytest.approx(4 * 2, rel=1e-12)
    assert total("adjust").note == "lonely_psu_adjust"
    assert total("remove").note == "lonely_psu_remove"
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


def test_never_a_silent_zero_variance() -> None:
    # A domain inside a single PSU: R's variance of its mean is exactly 0 (its scores sum
    # to zero in that PSU), but the values vary: no variance, no interval, a note.
    df = pd.DataFrame({"s": ["a"] * 4 + ["b"] * 4, "p": [1, 1, 2, 2, 3, 3, 4, 4],
                       "y": [1.0, 5.0, 2.0, 3.0, 4.0, 8.0, 6.0, 1.0], "g": list("xxyyyyyy")})
    res = Design(df, strata="s", psu="p").mean("y", by="g").set_index("g")
    x = res.loc["x"]
    assert x.df == 0 and math.isnan(x.se) and math.isnan(x.ci_low) and math.isnan(x.ci_high)
    assert x.note == "variance_not_estimable" and x.estimate == 3.0
    assert res.loc["y"].note == "" and res.loc["y"].se > 0
    # a lonely PSU removed leaves nothing to estimate the domain's variance from
    lonely = df.assign(s=["a", "a", "a", "a", "b", "b", "c", "c"])
    r = Design(lonely, strata="s", psu="p", lonely_psu="remove").total("y", by="g").set_index("g")
    assert r.loc["y"].note == "lonely_psu_remove;no_degrees_of_freedom" and r.loc["y"].se > 0
    assert math.isnan(r.loc["y"].ci_low)  # no t quantile on 0 df, as R
    # a proportion of 0 is no variation: se 0 as R, but no zero-width interval
    p = Design(df.assign(hit=0.0), strata="s", psu="p").proportion("hit", 1.0).iloc[0]
    assert p.estimate == 0 and p.se == 0 and p.note == "no_variation"
    assert math.isnan(p.ci_low) and math.isnan(p.ci_high)


def test_average_rule_without_any_estimable_stratum_is_nan() -> None:
    df = pd.DataFrame({"s": [1, 1, 2, 2], "p": [1, 1, 2, 2], "y": [1.0, 2.0, 3.0, 5.0]})
    res = Design(df, strata="s", psu="p", lonely_psu="average").total("y").iloc[0]
    assert math.isnan(res.se) and "variance_not_estimable" in res.note


def test_proportion_spellings_and_logit_interval() -> None:
    d = design("clus1_fpc", "adjust")
    a = d.proportion("sch.wide", level="Yes")
    b = d.proportion("sch.wide", value="Yes", level=0.95)
    pd.testing.assert_frame_equal(a, b)
    row = a.iloc[0]
    assert 0 < row.ci_low < row.estimate < row.ci_high < 1 and row.ci_method == "logit"
    # svyciprop: t quantile on degf = 15 PSUs - 1 stratum
    logit = math.log(row.estimate / (1 - row.estimate))
    half = stats.t.ppf(0.975, 14) * row.se / (row.estimate * (1 - row.estimate))
    assert row.ci_high == pytest.approx(1 / (1 + math.exp(-(logit + half))), rel=1e-12)
    with pytest.raises(TypeError):
        d.proportion("sch.wide")
    with pytest.raises(TypeError):
        d.proportion("sch.wide", "Yes", level="No")


def test_interval_helpers() -> None:
    lo, hi = t_interval([10.0, 10.0], [1.0, 1.0], [5, 0])
    assert hi[0] - 10 == pytest.approx(stats.t.ppf(0.975, 5)) and math.isnan(lo[1])
    lo, hi = logit_interval([0.2, 0.0, 0.3], [0.05, 0.0, 0.1], [9, 9, 1])
    assert 0 < lo[0] < 0.2 < hi[0] < 1 and math.isnan(lo[1])
    assert (lo[2], hi[2]) == (0.0, 1.0)  # df = 1: R's infinite multiplier


def test_degenerate_proportion_and_empty_domain() -> None:
    df = pd.DataFrame(
        {"g": ["a", "a", "b", "b", "c"], "x": ["n", "n", "y", "n", None], "w": [1, 2, 1, 1, 3]}
    )
    res = Design(df, weights="w").proportion("x", "y", by="g").set_index("g")
    assert res.loc["a", "estimate"] == 0 and res.loc["a", "se"] == 0
    assert res.loc["a", "note"] == "no_variation" and math.isnan(res.loc["a", "ci_low"])
    assert res.loc["c", "n"] == 0 and math.isnan(res.loc["c", "estimate"])
    assert res.loc["c", "note"] == "no_observations"


def test_many_variables_at_once_equal_one_at_a_time() -> None:
    d = design("stratclus", "adjust")
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
    res = design("lonely", "adjust").mean("y", by="group")
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
    two = load("apiclus2")
    with pytest.raises(ValueError, match="one column per stage"):
        Design(two, psu=("dnum", "snum"), fpc="fpc1")
    with pytest.raises(ValueError, match="varies within sampling units"):
        Design(two.assign(fpc2=np.arange(len(two)) + 100), psu=("dnum", "snum"), fpc=("fpc1", "fpc2"))


def test_two_stage_without_fpc_is_the_ultimate_cluster() -> None:
    df = load("apiclus2")
    two = Design(df, weights="pw", psu=("dnum", "snum")).mean("api00").iloc[0]
    one = Design(df, weights="pw", psu="dnum").mean("api00").iloc[0]
    assert two.se == pytest.approx(one.se, rel=1e-12)
    # with an fpc per stage the second stage adds f1 * V2 to the first stage's variance
    staged = design("clus2_fpc", R_ADJUST)
    same_weights = df.assign(w=staged.weight_column())
    first = Design(same_weights, weights="w", psu="dnum", fpc="fpc1").mean("api00").iloc[0]
    both = staged.mean("api00").iloc[0]
    assert both.estimate == pytest.approx(first.estimate, rel=1e-12)
    assert both.se > first.se and staged.n_stages == 2


def test_calibrated_weights_meet_their_totals() -> None:
    df = load("apiclus1")
    base = Design(df, weights="pw", psu="dnum", fpc="fpc")
    pop_stype = population("rake_clus1", "stype")
    pop_sw = population("rake_clus1", "sch.wide")
    ps = base.post_stratify("stype", pop_stype)
    sums = pd.Series(ps.weight_column()).groupby(df.stype).sum()
    assert sums.to_dict() == pytest.approx(dict(zip(pop_stype.stype, pop_stype.Freq, strict=True)))
    assert ps.calibrated and not base.calibrated
    raked = base.rake([("stype", pop_stype), ("sch.wide", pop_sw)])
    w = pd.Series(raked.weight_column())
    # R's stopping rule: cells move by less than 1 between rounds, so margins are close
    assert w.groupby(df["sch.wide"]).sum().to_dict() == pytest.approx(
        dict(zip(pop_sw["sch.wide"], pop_sw.Freq, strict=True)), abs=1)
    lin = base.calibrate([("stype", pop_stype)], totals={"api99": 3914069.0})
    w = lin.weight_column()
    assert (w * df.api99).sum() == pytest.approx(3914069.0, rel=1e-10)
    assert w.sum() == pytest.approx(pop_stype.Freq.sum(), rel=1e-10)
    raking = base.calibrate([("stype", pop_stype), ("sch.wide", pop_sw)], calfun="raking")
    w = pd.Series(raking.weight_column())
    assert w.groupby(df["sch.wide"]).sum().to_dict() == pytest.approx(
        dict(zip(pop_sw["sch.wide"], pop_sw.Freq, strict=True)), rel=1e-6)
    assert (raking.weight_column() / base.weight_column() > 0).all()
    with pytest.raises(ValueError, match="absent from the sample"):
        base.post_stratify("stype", pd.concat([pop_stype, pd.DataFrame({"stype": ["X"], "Freq": [5]})]))
    with pytest.raises(ValueError, match="absent from the population"):
        base.post_stratify("stype", pop_stype.iloc[:2])


def test_weighting_efficiency() -> None:
    df = pd.DataFrame({"w": [1.0, 1.0, 2.0, 4.0], "g": ["a", "a", "b", "b"]})
    res = Design(df, weights="w").weighting(by="g").set_index("g")
    assert res.loc["a", "deff_weighting"] == pytest.approx(1.0)
    assert res.loc["b", "deff_weighting"] == pytest.approx(2 * 20 / 36)
    assert res.loc["b", "efficiency"] == pytest.approx(36 / 40)
    assert (res.loc["b", "weight_min"], res.loc["b", "weight_max"]) == (2.0, 4.0)


def test_contrast_of_one_domain_equals_full_design_variance() -> None:
    d = design("strat_fpc", "adjust")
    one = d.contrast("mean", "api00", "stype", {"E": 1.0})
    direct = d.mean("api00", by="stype").set_index("stype").loc["E"]
    assert one.estimate.iloc[0] == pytest.approx(direct.estimate)
    assert one.se.iloc[0] == pytest.approx(direct.se, rel=1e-12)
    with pytest.raises(KeyError):
        d.contrast("mean", "api00", "stype", {"X": 1.0})


# ------------------------------------------------------------ cells (the engine's path)
def _people_and_cells(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Respondents of a stratified two-stage sample, and their sums by PSU x sex x age."""
    rng = np.random.default_rng(seed)
    rows = []
    for h, (n_psu, n_pop) in enumerate([(4, 9), (3, 3), (1, 6), (5, 20)]):
        for p in range(n_psu):
            m = 1 if (h, p) == (3, 2) else int(rng.integers(4, 12))
            people = int(rng.integers(m, 80))
            for _ in range(m):
                rows.append((f"s{h}", f"p{h}{p}", n_pop, people, m))
    df = pd.DataFrame(rows, columns=["stratum", "psu", "fpc1", "fpc2", "m"])
    df["id"] = np.arange(len(df))
    df["w"] = df.fpc1 / df.groupby("stratum").psu.transform("nunique") * df.fpc2 / df.m
    df["sex"] = rng.choice(["f", "m"], len(df))
    df["age"] = rng.choice(["18-29", "30+"], len(df))
    df["y"] = rng.integers(0, 11, len(df)).astype(float)
    df.loc[rng.random(len(df)) < 0.1, "y"] = np.nan
    df["hit"] = np.where(df.y.isna(), np.nan, (df.y >= 6).astype(float))
    return df, _cell_sums(df, ["sex", "age"])


def _cell_sums(df: pd.DataFrame, domains: list[str]) -> pd.DataFrame:
    """The respondents' sums by PSU x the domain columns, as the engine's cells hold them."""
    a = df.y.notna()
    return df.assign(
        wy=df.w * df.y, wa=np.where(a, df.w, np.nan), wyy=df.w * df.y**2,
        w2y2=df.w**2 * df.y**2, w2y=df.w**2 * df.y, w2=np.where(a, df.w**2, np.nan),
        wh=df.w * df.hit, w2h=df.w**2 * df.hit, one=1, wall=df.w, w2all=df.w**2,
    ).groupby(["stratum", "psu", "fpc1", "fpc2", *domains], as_index=False).agg(
        wy=("wy", "sum"), wa=("wa", "sum"), n=("y", "count"), wyy=("wyy", "sum"),
        w2y2=("w2y2", "sum"), w2y=("w2y", "sum"), w2=("w2", "sum"), wh=("wh", "sum"),
        w2h=("w2h", "sum"), people=("one", "sum"), wall=("wall", "sum"), w2all=("w2all", "sum"))


CELL_SPEC = {"y": CellSums("wy", "wa", "n", "wyy", "w2y2", "w2y", "w2"),
             "hit": CellSums("wh", "wa", "n", "wh", "w2h", "w2h", "w2", proportion=True)}


def _cells_equal_rows(cd: Design, rows: Design, by) -> pd.DataFrame:
    """``cell_means`` on the cells equals ``means``/``proportions`` on the respondent rows."""
    got = cd.cell_means(CELL_SPEC, by)
    want = pd.concat([rows.means(["y"], by), rows.proportions({"hit": ("hit", 1.0)}, by)],
                     ignore_index=True)
    assert len(got) == len(want)
    for col in ("estimate", "se", "df", "ci_low", "ci_high", "n", "n_weighted", "deff"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=1e-9, atol=1e-12, err_msg=col)
    assert got.note.tolist() == want.note.tolist() and got.ci_method.tolist() == want.ci_method.tolist()
    return got


@pytest.mark.parametrize("rule", ["adjust", "adjust_zero", "remove"])
@pytest.mark.parametrize("by", [None, "sex", ["sex", "age"]])
def test_cell_means_equal_respondent_rows(rule: str, by) -> None:
    people, cells = _people_and_cells()
    rows = Design(people, weights="w", strata="stratum", psu=("psu", "id"), fpc=("fpc1", "fpc2"),
                  lonely_psu=rule)
    cd = Design.from_cells(cells, strata="stratum", psu="psu", respondents="people",
                           fpc=("fpc1", "fpc2"), lonely_psu=rule)
    got = _cells_equal_rows(cd, rows, by)
    # the second stage matters: a first-stage-only design understates the variance here
    one = Design.from_cells(cells, strata="stratum", psu="psu", respondents="people",
                            fpc="fpc1", lonely_psu=rule).cell_means(CELL_SPEC, by)
    assert (one.se.to_numpy() <= got.se.to_numpy() + 1e-15).all()
    assert (one.se.to_numpy() < got.se.to_numpy()).any()


def test_cells_need_their_second_moments() -> None:
    _, cells = _people_and_cells()
    cd = Design.from_cells(cells, strata="stratum", psu="psu", respondents="people",
                           fpc=("fpc1", "fpc2"))
    with pytest.raises(ValueError, match="second stage needs"):
        cd.cell_means({"y": CellSums("wy", "wa", "n")})
    with pytest.raises(ValueError, match="cell_means"):
        cd.mean("wy")
    with pytest.raises(ValueError, match="from_cells"):
        Design(cells).cell_means({"y": CellSums("wy", "wa", "n")})


def test_rake_warns_when_it_does_not_converge() -> None:
    df = load("apiclus1")
    base = Design(df, weights="pw", psu="dnum", fpc="fpc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        base.rake([("stype", population("rake_clus1", "stype")),
                   ("sch.wide", population("rake_clus1", "sch.wide"))], maxit=1, epsilon=1e-9)
    assert any("did not converge" in str(w.message) for w in caught)


def test_difference() -> None:
    res = difference(0.40, 0.03, 0.50, 0.04)
    assert res.diff == pytest.approx(0.10)
    assert res.se == pytest.approx(0.05)
    assert res.z == pytest.approx(2.0)
    assert res.p_value == pytest.approx(0.04550026389635842, rel=1e-9)
    assert res.significant is True
    arr = difference(np.array([0.4, 0.4]), 0.03, np.array([0.5, 0.41]), 0.04)
    assert arr.significant.tolist() == [True, False]


@pytest.mark.parametrize("rule", ["adjust", "remove"])
@pytest.mark.parametrize("by", [None, "sex", ["sex", "age"], "region", ["age", "region"]])
def test_post_stratified_cells_equal_post_stratified_respondent_rows(rule: str, by) -> None:
    """Post-stratification on cells (the engine's path) equals ``post_stratify`` on the
    respondent rows (R's ``postStratify``, checked against R above), two stages, NAs, and
    domains that cut across the post-strata (``region``)."""
    people, _ = _people_and_cells(seed=11)
    rng = np.random.default_rng(3)
    people["region"] = rng.choice(["east", "west"], len(people))
    people["ps"] = people.sex + "|" + people.age
    weighted = people.groupby("ps").w.sum()
    pop = (weighted * np.array([1.1, 0.9, 1.05, 0.97])).rename("n").reset_index()
    cells = _cell_sums(people, ["sex", "age", "region", "ps"])
    rows = Design(people, weights="w", strata="stratum", psu=("psu", "id"), fpc=("fpc1", "fpc2"),
                  lonely_psu=rule).post_stratify("ps", pop)
    cd = Design.from_cells(cells, strata="stratum", psu="psu", respondents="people", fpc=("fpc1", "fpc2"),
                           lonely_psu=rule, post_strata="ps", population=pop, weight_all="wall",
                           w2_all="w2all")
    got = _cells_equal_rows(cd, rows, by)
    # calibration moved the numbers (within one post-stratum a mean is what it was)
    plain = Design.from_cells(cells, strata="stratum", psu="psu", respondents="people",
                              fpc=("fpc1", "fpc2"), lonely_psu=rule).cell_means(CELL_SPEC, by)
    moved = not np.allclose(plain.se.to_numpy(float), got.se.to_numpy(float), rtol=1e-6)
    assert moved == (by != ["sex", "age"])
