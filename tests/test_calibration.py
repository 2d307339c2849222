"""Survey weights calibrated to census margins (issue 13): the form setting, the margins files,
empty post-strata, and a real build of the example's citizen survey post-stratified by
municipality x sex x age group.

The estimator's post-stratification equals R's ``postStratify`` on a stratified two-stage design
with missing values (``ps_twostage`` in tests/fixtures/survey_r, checked in test_survey.py); here
the build's numbers are checked against the textbook post-stratified mean, computed in pandas.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from pipeline.errors import SpscError
from pipeline.indicators.calibration import NONE, Margin, post_strata, read_margins
from pipeline.project.config import ProjectError
from pipeline.project.forms import Calibration, parse_form_settings

EXAMPLE = REPO / "examples" / "spsc"


def test_the_example_margins_are_the_census_adults_the_sample_is_drawn_from():
    from pipeline.reference import census
    from pipeline.synth.citizen import ADULT_SHARE, adult_margins

    shipped = pd.read_csv(EXAMPLE / "margins" / "adults_2013.csv")
    want = adult_margins()
    assert shipped[want.columns.tolist()].equals(want)
    adults = shipped.groupby("municipality")["population"].sum()
    pop = census().set_index("muni_id")["population"]
    assert len(adults) == 9 and all(adults[m] == round(ADULT_SHARE * pop[m]) for m in adults.index)
    form = (EXAMPLE / "forms" / "spsc_citizen_survey.yml").read_text(encoding="utf-8")
    assert "margins: [margins/adults_2013.csv]" in form and "method: poststratify" in form


def test_calibration_settings_are_checked():
    ok = parse_form_settings({"form_id": "f", "calibration": {"margins": ["m.csv"]}}, "f.yml")
    assert ok.calibration.method == "poststratify"
    with pytest.raises(ProjectError, match="poststratify takes one margins file"):
        parse_form_settings({"form_id": "f", "calibration": {"margins": ["a.csv", "b.csv"]}}, "f.yml")
    with pytest.raises(ProjectError, match=r"calibration\.method"):
        parse_form_settings({"form_id": "f", "calibration": {"method": "ipf", "margins": ["a.csv"]}}, "f.yml")
    with pytest.raises(ProjectError, match="not a pre/post form"):
        parse_form_settings({"form_id": "f", "calibration": {"margins": ["a.csv"]},
                             "pre_post": {"link": "code", "phase": "test"}}, "f.yml")


def test_margins_files_name_their_problems(tmp_path):
    cal = Calibration(margins=["m.csv"])
    with pytest.raises(ProjectError, match=r"m\.csv not found"):
        read_margins(tmp_path, cal, "forms/f.yml")
    (tmp_path / "m.csv").write_text("municipality,sex,population\nLivno,Female,1200\nGrad Livno,male,1\n"
                                    "Nigdje,male,5\nRibnik,male,-3\n", encoding="utf-8")
    with pytest.raises(ProjectError) as err:
        read_margins(tmp_path, cal, "forms/f.yml")
    text = str(err.value)
    assert "row 5: population '-3' is not a positive number" in text
    assert "row 4: municipality 'Nigdje': unknown municipality" in text
    (tmp_path / "m.csv").write_text("opcina,population\nLivno,3\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="unknown: opcina"):
        read_margins(tmp_path, cal, "forms/f.yml")
    (tmp_path / "m.csv").write_text("Municipality,Sex,Population,source\nLivno,Female,\"1,200\",census\n"
                                    "Мркоњић Град,male,800,census\n", encoding="utf-8")
    (m,) = read_margins(tmp_path, cal, "forms/f.yml")
    assert m.columns == ("muni_id", "sex")
    assert m.table.to_dict("records") == [{"muni_id": "livno", "sex": "female", "population": 1200.0},
                                          {"muni_id": "mrkonjic_grad", "sex": "male", "population": 800.0}]


def test_empty_post_strata_are_merged_and_uncovered_municipalities_left_out():
    table = pd.DataFrame([(m, s, a, 100.0 + 10 * i)
                          for i, (m, s, a) in enumerate((m, s, a) for m in ("livno", "ribnik", "drvar")
                                                        for s in ("female", "male") for a in ("young", "old"))],
                         columns=["muni_id", "sex", "age_group", "population"])
    margin = Margin("margins.csv", ("muni_id", "sex", "age_group"), table)
    rows = pd.DataFrame({
        "wave": "W",
        "muni_id": ["livno"] * 4 + ["ribnik"] * 3 + ["livno"],
        "sex": ["female", "female", "male", "male", "female", "female", "male", None],
        "age_group": ["young", "old", "young", "old", "young", "young", "young", "old"],
        "weight": [1.0, 2, 3, 4, 5, 6, 7, 8],
    })
    notes: list[str] = []
    key, pop = post_strata(rows, margin, "f", notes)
    # Livno's four cells have respondents; Ribnik's female/old and male/old are empty: each
    # sex's age groups merge; Drvar has nobody and is left out; the last row has no sex
    assert key.tolist() == ["W|livno|female|young", "W|livno|female|old", "W|livno|male|young",
                            "W|livno|male|old", "W|ribnik|female|*", "W|ribnik|female|*",
                            "W|ribnik|male|*", f"W|{NONE}"]
    got = dict(zip(pop["post_stratum"], pop["population"], strict=True))
    assert got["W|ribnik|female|*"] == 140.0 + 150.0 and got["W|ribnik|male|*"] == 160.0 + 170.0
    assert got[f"W|{NONE}"] == 8.0 and not any("drvar" in k for k in got)
    assert any("no respondents in drvar" in n for n in notes)
    assert any("2 levels" in n and "merged" in n for n in notes)
    assert any("1 respondents are outside" in n for n in notes)
    # with min_respondents 2, Livno's one-person cells merge too (by sex: 2 women, 2 men)
    key, pop = post_strata(rows, margin, "f", [], min_respondents=2)
    assert key.tolist()[:4] == ["W|livno|female|*"] * 2 + ["W|livno|male|*"] * 2
    # with 3, a sex of Ribnik (2 women) is too small even merged: Ribnik is one post-stratum
    key, pop = post_strata(rows, margin, "f", [], min_respondents=3)
    assert key.tolist()[4:7] == ["W|ribnik|*|*"] * 3
    assert dict(zip(pop["post_stratum"], pop["population"], strict=True))["W|ribnik|*|*"] == sum(
        100.0 + 10 * i for i in range(4, 8))


# ------------------------------------------------------------------ a real build
@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """The example project (calibrated) on a generated sample's endline wave, built."""
    from pipeline.cli import main
    from pipeline.config import get_settings
    from pipeline.project.scaffold import new_project
    from pipeline.synth import generate

    root = tmp_path_factory.mktemp("calibrated")
    generate(root / "raw", respondents=60)
    truth = json.loads((root / "raw" / "truth.json").read_text(encoding="utf-8"))
    home = root / "project"
    new_project(home, example="spsc")
    form = home / "forms" / "spsc_citizen_survey.yml"  # every post-stratum kept (see below)
    form.write_text(form.read_text(encoding="utf-8").replace(
        "  method: poststratify\n", "  method: poststratify\n  min_respondents: 1\n"), encoding="utf-8")
    survey = root / "raw" / "survey"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("SPSC_PROJECT", "SPSC_HOME", "SPSC_DB", "SPSC_RAW", "SPSC_PROCESSED", "SPSC_SECRET"):
            mp.delenv(var, raising=False)
        assert main(["--project", str(home), "init"]) == 0
        assert main(["--project", str(home), "ingest", "survey", str(survey / "citizen_survey_2024Q4.xlsx"),
                     "--form", str(survey / "citizen_survey_form.xlsx")]) == 0
        settings = get_settings(project=home, min_cell=1)
        from pipeline.indicators.engine import build

        summary = build(settings)
    return settings, summary, truth


def _rows(settings):
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.sources import plan_sources, read_codebooks
    from pipeline.indicators.survey_estimates import survey_respondent_values

    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        plans, _ = plan_sources(load_catalogue(settings.project), settings.project, read_codebooks(con))
        plan = plans["spsc_citizen_survey"]
        return plan, survey_respondent_values(con, plan)
    finally:
        con.close()


def _published(settings, indicator: str, dimension: str) -> pd.DataFrame:
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        return con.execute("select * from indicator_values where indicator_id = ? and period = '2024Q4' "
                           "and dimension = ? order by dimension_value", [indicator, dimension]).df()
    finally:
        con.close()


def test_a_calibrated_build_publishes_the_post_stratified_mean(calibrated):
    settings, summary, _ = calibrated
    _, rows = _rows(settings)
    margins = pd.read_csv(EXAMPLE / "margins" / "adults_2013.csv")
    ps = ["muni_id", "sex", "age_group"]
    known = rows[ps].notna().all(axis=1)
    assert (~known).sum() < 0.05 * len(rows)  # a few have no sex or age: they keep their weight
    merged = [n for n in summary.notes if "merged" in n or "left out" in n]
    assert not merged, merged  # 60 people per municipality, min_respondents 1: none merged
    # g = N_p / (design-weighted count of the post-stratum's respondents); 1 outside
    counts = rows[known].groupby(ps)["weight"].sum()
    pop = margins.rename(columns={"municipality": "muni_id"}).set_index(ps)["population"]
    g = pd.Series(1.0, index=rows.index)
    g[known] = (pop / counts).reindex(pd.MultiIndex.from_frame(rows.loc[known, ps])).to_numpy()
    w = rows["weight"] * g
    # the calibrated weights meet the margins, municipality by municipality
    by_muni = w[known].groupby(rows.loc[known, "muni_id"]).sum()
    assert np.allclose(by_muni.sort_index(), pop.groupby(level=0).sum().sort_index(), rtol=1e-12)
    for ind, dims in (("trust_municipality_high", ("total", "municipality", "sex")),
                      ("provider_trust_index", ("total", "age_group"))):
        y = rows[f"y__{ind}"]
        scale = 100.0 if ind.endswith("high") else 1.0
        for dim in dims:
            column = {"total": None, "municipality": "muni_id", "sex": "sex", "age_group": "age_group"}[dim]
            got = _published(settings, ind, dim).set_index("dimension_value")
            groups = [("total", slice(None))] if column is None else [
                (v, rows[column] == v) for v in sorted(rows[column].dropna().unique())]
            for value, mask in groups:
                m = pd.Series(True, index=rows.index)[mask].reindex(rows.index, fill_value=False) & y.notna()
                want = scale * float((w[m] * y[m]).sum() / w[m].sum())
                assert got.loc[value, "estimate"] == pytest.approx(want, rel=1e-10), (ind, dim, value)
                assert got.loc[value, "n"] == int(m.sum())
                assert got.loc[value, "n_weighted"] == pytest.approx(float(w[m].sum()), rel=1e-10)


def test_calibration_changes_the_numbers_and_keeps_their_precision_fields(calibrated):
    from pipeline.indicators.survey_estimates import estimate_domains, survey_cells

    settings, _, truth = calibrated
    plan, _ = _rows(settings)
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        plain = estimate_domains(survey_cells(con, plan), [i for i in plan.indicators
                                                          if i.id == "trust_municipality_high"], "municipality")
    finally:
        con.close()
    got = _published(settings, "trust_municipality_high", "municipality").set_index("dimension_value")
    plain = plain.set_index("dimension_value")
    assert len(got) == 9
    assert (got["df"] > 0).all() and (got["deff"] > 0).all() and set(got["ci_method"]) == {"logit"}
    assert (got["ci_low"] < got["estimate"]).all() and (got["estimate"] < got["ci_high"]).all()
    # weighting moves the estimates, and the residuals of the calibration model enter the SEs
    diff = (got["estimate"] - 100 * plain.loc[got.index, "estimate"]).abs()
    assert diff.max() > 0.1
    assert not np.allclose(got["se"], 100 * plain.loc[got.index, "se"], rtol=1e-3)
    # the truth of the sample's finite population is inside most intervals
    t = truth["citizen_survey"]["waves"]["2024Q4"]["truth"]["by_municipality"]
    inside = sum(got.loc[m, "ci_low"] <= 100 * t[m]["trust_municipality_high"] <= got.loc[m, "ci_high"] for m in t)
    assert inside >= 7


def test_an_empty_margin_level_under_rake_is_a_clear_error(tmp_path):
    from pipeline.estimator import Design
    from pipeline.indicators.calibration import calibrate

    rows = pd.DataFrame({"wave": "W", "sex": ["female", "male", "female"], "muni_id": "livno",
                         "weight": [1.0, 1.0, 1.0], "y": [1.0, 0.0, 1.0]})
    margins = [Margin("sex.csv", ("sex",), pd.DataFrame({"sex": ["female", "male", "other"],
                                                         "population": [5.0, 4.0, 1.0]}))]
    with pytest.raises(SpscError, match=r"1 levels of the margins in sex\.csv have no respondents"):
        calibrate(Design(rows, weights="weight"), rows, Calibration(method="rake", margins=["sex.csv"]),
                  margins, "f")


def test_gaps_within_a_wave_use_the_covariance_of_the_two_domains(calibrated):
    """indicator_gaps: women minus men, FBiH minus RS, on the calibrated weights."""
    from scipy import stats

    from pipeline.indicators.survey_estimates import respondent_design

    settings, _, _ = calibrated
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        gaps = con.execute("select * from indicator_gaps where period = '2024Q4'").df()
        values = con.execute("select * from indicator_values where period = '2024Q4'").df()
    finally:
        con.close()
    assert {(g.indicator_id, g.dimension) for g in gaps.itertuples()} >= {
        ("trust_municipality_high", "sex"), ("trust_municipality_high", "entity"), ("provider_trust_index", "sex")}
    cells = values.set_index(["indicator_id", "dimension", "dimension_value"])
    for g in gaps.itertuples():
        first, second = cells.loc[(g.indicator_id, g.dimension, g.first)], cells.loc[(g.indicator_id, g.dimension, g.second)]
        assert g.estimate_first == pytest.approx(first["estimate"], rel=1e-10)
        assert g.estimate_second == pytest.approx(second["estimate"], rel=1e-10)
        assert g.gap == pytest.approx(g.estimate_first - g.estimate_second, rel=1e-10)
        t = stats.t.ppf(0.975, g.df)
        assert (g.ci_low, g.ci_high) == pytest.approx((g.gap - t * g.se, g.gap + t * g.se), rel=1e-9)
        assert g.significant == (g.p_value < 0.05)
    # the covariance is there: the SE is not the independent-samples one, and equals the
    # variance of the difference of the two domains' linearised values on the calibrated design
    plan, rows = _rows(settings)
    from pipeline.indicators.calibration import read_margins

    margins = read_margins(settings.project.root, plan.settings.calibration, "f")
    design = respondent_design(rows, plan, margins, [])
    one = gaps[(gaps.indicator_id == "trust_municipality_high") & (gaps.dimension == "sex")].iloc[0]
    both = design.contrast("proportion", "y__trust_municipality_high", ["wave", "sex"],
                           {("2024Q4", "female"): 1.0, ("2024Q4", "male"): -1.0}, value=1.0)
    assert one.se == pytest.approx(100 * both["se"].iloc[0], rel=1e-10)
    f, m = (cells.loc[("trust_municipality_high", "sex", s)] for s in ("female", "male"))
    assert abs(one.se - float(np.hypot(f["se"], m["se"]))) > 1e-6
