"""Survey-agency deliveries: SPSS (.sav, .zsav, .por) and Stata (.dta) files load as they come,
with their dictionary as the codebook, their missing codes kept, and nothing personal stored.

Real files nobody here wrote (pyreadstat's test files in ../shared/spss) and files written here
with pyreadstat for what those lack; the agency file of the sample generator loads with the
same results as the Kobo export it was made from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import query as _rows
from helpers import warehouse_fingerprint as _snapshot

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.load import ingest_survey

WAVE = "2020Q1"


@pytest.fixture(scope="module")
def spss(shared_dir):
    return shared_dir / "spss"


def _load(warehouse, path, **kwargs):
    results = ingest_survey(warehouse, [path], wave=kwargs.pop("wave", WAVE), **kwargs)
    return results[-1]


def _answers(warehouse, question: str) -> list[tuple]:
    return _rows(warehouse, "select value, missing_code from survey_responses_long where question = ? "
                            "order by respondent_key", [question])


@pytest.mark.parametrize("name", ["sample.sav", "sample.zsav", "sample.por", "sample.dta"])
def test_the_same_cases_in_four_formats_load_alike(warehouse, spss, name):
    r = _load(warehouse, spss / name)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.cells_quarantined) == (5, 5, 0, 0)
    lower = {q.lower(): q for (q,) in _rows(warehouse, "select question from codebook_questions")}
    types = dict(_rows(warehouse, "select lower(question), type from codebook_questions"))
    assert types["mydate"] == "date" and types["dtime"] == "datetime" and types["mychar"] == "text"
    assert types["mynum"] == "decimal"
    values = {v for v, _ in _answers(warehouse, lower["mydate"])}
    assert "2018-05-06" in values  # SPSS's seconds since 1582-10-14 / Stata's days since 1960
    times = {v for v, _ in _answers(warehouse, lower["dtime"])}
    assert "2018-05-06 10:10:10" in times
    assert "10:10:10" in {v for v, _ in _answers(warehouse, lower["mytime"])}
    assert {"-1000.3", "1.1", "-1.4"} <= {v for v, _ in _answers(warehouse, lower["mynum"])}


def test_user_missing_codes_load_as_missing_and_are_kept(warehouse, spss):
    r = _load(warehouse, spss / "simple_alltypes.sav")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (6, 6, 0)
    # x declares 7, 8 and 99 missing; z the range -999..0 and 999
    assert _rows(warehouse, "select question, missing_codes from codebook_questions where missing_codes is not null "
                            "order by 1") == [("x", ["7", "8", "99"]), ("z", ["-999..0", "999"])]
    z = _answers(warehouse, "z")
    assert (None, "-9") in z and all(v is None for v, code in z if code is not None)
    assert [v for v, code in z if v is not None] and all(float(v) > 0 for v, code in z if v is not None)
    # the multiple-response sets are select_multiple questions
    sets = dict(_rows(warehouse, "select question, type from codebook_questions where question in "
                                 "('mymrset', 'categorical_array')"))
    assert sets == {"mymrset": "select_multiple", "categorical_array": "select_multiple"}
    chosen = sorted(v for v, _ in _answers(warehouse, "mymrset") if v is not None)
    assert chosen[0] in {"bool1", "bool1 bool2", "bool2"} and all(
        set(v.split()) <= {"bool1", "bool2", "bool3"} for v in chosen)
    choices = _rows(warehouse, "select choice, label from codebook_choices where list_name = 'mymrset' order by 1")
    assert choices == [("bool1", "Response #1"), ("bool2", "Response #2"), ("bool3", "Response #3")]


def test_stata_extended_missing_values_keep_their_letter(warehouse, spss):
    r = _load(warehouse, spss / "missing_test.dta")
    assert (r.rows_read, r.rows_loaded) == (1, 1)
    got = {q: code for q, code in _rows(warehouse, "select question, missing_code from survey_responses_long")}
    assert {k: got[k] for k in ("var1", "var2", "var3", "var4", "var5", "var6")} == {
        "var1": ".a", "var2": ".b", "var3": ".c", "var4": ".x", "var5": ".y", "var6": ".z"}


def test_a_missing_string_code_and_a_case_with_nothing_else(warehouse, spss):
    r = _load(warehouse, spss / "missing_char.sav")
    # the case whose only answer is the declared missing 'Z' is a case too
    assert (r.rows_read, r.rows_loaded, r.rows_blank) == (2, 2, 0)
    assert sorted(_answers(warehouse, "mychar"), key=str) == sorted([("a", None), (None, "Z")], key=str)
    assert _rows(warehouse, "select choice, is_missing from codebook_choices") == [("a", False)]


def test_a_variable_named_in_hebrew_and_ordered_categories(warehouse, spss):
    r = _load(warehouse, spss / "hebrews.sav")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (99, 99, 0)
    assert _rows(warehouse, "select count(*) from survey_responses_long where question = 'ותק_ב'") == [(99,)]
    r = _load(warehouse, spss / "ordered_category.sav")
    assert (r.rows_read, r.rows_loaded) == (4, 4)
    assert _rows(warehouse, "select type from codebook_questions where question = 'Col1'") == [("select_one",)]


def _write(path: Path, frame: pd.DataFrame, **kwargs) -> Path:
    import pyreadstat

    pyreadstat.write_sav(frame, str(path), **kwargs)
    return path


@pytest.fixture
def perception(tmp_path) -> Path:
    """What an agency's perception survey holds and the shared files lack."""
    n = 40
    rng = np.random.default_rng(7)
    trust = rng.integers(0, 11, n).astype(float)
    trust[:3] = [98, 99, 99]
    frame = pd.DataFrame({
        "resp_id": np.arange(1, n + 1, dtype=float),
        "start": pd.date_range("2024-10-01 09:00", periods=n, freq="37min"),
        "q1": trust,
        "q2": rng.integers(0, 11, n).astype(float),
        "bdate": pd.to_datetime(pd.Series([f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}" for i in range(n)])),
        "resp_name": [f"{a} {b}" for a, b in zip(["Amra", "Dragan", "Ivana", "Mirza"] * 10,
                                                  ["Hodžić", "Petrović", "Kovač", "Begić"] * 10, strict=True)],
    })
    return _write(tmp_path / "perception_2024Q4.sav", frame,
                  column_labels={"resp_id": "Respondent", "start": "Interview start", "q1": "Trust in the municipality",
                                 "q2": "Trust in schools", "bdate": "Date of Birth", "resp_name": "Respondent"},
                  variable_value_labels={"q1": {0: "No trust at all", 10: "Complete trust", 98: "Refused",
                                                99: "Don't know"},
                                         "q2": {0: "No trust at all", 10: "Complete trust"}},
                  missing_ranges={"q1": [98, 99]},
                  variable_measure={"q1": "scale", "q2": "scale"})


def test_an_agency_perception_survey_loads_every_case(warehouse, perception):
    r = _load(warehouse, perception, wave="2024Q4")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.cells_quarantined) == (40, 40, 0, 0)
    # a scale labelled only at its ends loads as numbers, every value kept
    assert _rows(warehouse, "select type from codebook_questions where question = 'q2'") == [("integer",)]
    assert _rows(warehouse, "select count(value) from survey_responses_long where question = 'q2'") == [(40,)]
    q1 = _answers(warehouse, "q1")
    assert sorted(code for _, code in q1 if code) == ["98", "99", "99"]
    assert all(v is None for v, code in q1 if code)
    labels = dict(_rows(warehouse, "select choice, is_missing from codebook_choices where list_name = 'q1'"))
    assert labels == {"0": False, "10": False, "98": True, "99": True}
    starts = sorted(v for v, _ in _answers(warehouse, "start"))
    assert starts[0] == "2024-10-01 09:00:00"
    # the birth date (by its label) and the names (by their values) never reach the warehouse
    personal = dict(_rows(warehouse, "select question, personal_reason from codebook_questions where is_personal"))
    assert set(personal) == {"bdate", "resp_name"}
    text = "\x1f".join(str(v) for t in _snapshot(warehouse) for row in _rows(warehouse, f"select * from {t}")
                       for v in row)
    assert "Hodžić" not in text and "1950-01-10" not in text and "Dragan Petrović" not in text
    # the respondent id is found by its name and stored only as its pseudonym
    assert any("respondent id: variable resp_id" in n for n in r.notes)
    assert _rows(warehouse, "select count(*) from survey_responses_long where question = 'resp_id'") == [(0,)]


def test_an_impossible_datetime_is_a_bad_cell_not_a_rejected_file(warehouse, tmp_path):
    frame = pd.DataFrame({"id": [1.0, 2.0, 3.0], "end": [13_744_980_610.0, 9e15, 13_744_990_000.0]})
    path = _write(tmp_path / "agency_2024Q4.sav", frame, variable_format={"end": "DATETIME20"})
    r = _load(warehouse, path)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.cells_quarantined) == (3, 3, 0, 1)
    got = _rows(warehouse, "select source_row, column_name, rule, action from quarantine")
    assert got == [(3, "end", "type", "cell")]
    assert sorted(v for v, _ in _answers(warehouse, "end") if v) == ["2018-05-06 10:10:10", "2018-05-06 12:46:40"]


def test_a_typo_in_personal_is_an_error_naming_it(warehouse, perception, tmp_path):
    mapping = tmp_path / "m.yml"
    mapping.write_text("form_id: perception\npersonal: [resp_nmae]\n", encoding="utf-8")
    before = _snapshot(warehouse)
    with pytest.raises(RejectedFile, match="'resp_nmae', not a variable of the file"):
        _load(warehouse, perception, mapping=mapping)
    assert _snapshot(warehouse) == before


def test_a_user_missing_or_blank_id_quarantines_the_case(warehouse, tmp_path):
    frame = pd.DataFrame({"id": [1.0, 99.0, 3.0, np.nan], "q": [1.0, 2.0, 3.0, 4.0]})
    path = _write(tmp_path / "ids_2024Q4.sav", frame, missing_ranges={"id": [99]})
    mapping = tmp_path / "m.yml"
    mapping.write_text("form_id: ids\nrespondent_id: id\n", encoding="utf-8")
    r = _load(warehouse, path, mapping=mapping)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 2, 2)
    assert _rows(warehouse, "select source_row, rule, action from quarantine order by 1") == [
        (3, "identity", "row"), (5, "identity", "row")]


def test_a_corrected_mapping_replaces_the_batch(warehouse, perception, tmp_path, capsys):
    from pipeline.cli import main

    wrong = tmp_path / "wrong.yml"
    wrong.write_text("form_id: perception\ncategorical: [q2]\n", encoding="utf-8")
    right = tmp_path / "right.yml"
    right.write_text("form_id: perception\n", encoding="utf-8")
    first = _load(warehouse, perception, mapping=wrong, wave="2024Q4")
    # q2 declared categorical: its unlabelled values are not choices, so they load as missing
    assert first.cells_quarantined > 30
    assert main(["ingest", "survey", str(perception), "--mapping", str(right), "--wave", "2024Q4"]) == 0
    assert "already loaded as batch 1, nothing to do (to load it again with a corrected mapping, add --replace)" \
        in capsys.readouterr().out
    assert main(["ingest", "survey", str(perception), "--mapping", str(right), "--wave", "2024Q4", "--replace"]) == 0
    out = capsys.readouterr().out
    assert "replaces batch 1" in out
    assert _rows(warehouse, "select batch_id, status from load_batches order by 1") == [(1, "replaced"), (2, "loaded")]
    assert _rows(warehouse, "select old_batch_id, new_batch_id from batch_replacements") == [(1, 2)]
    assert _rows(warehouse, "select count(*) from quarantine") == [(0,)]
    assert _rows(warehouse, "select count(value) from survey_responses_long where question = 'q2'") == [(40,)]
    assert _rows(warehouse, "select count(*), count(distinct respondent_key) from stg_survey__submissions") == \
        [(40, 40)]
    from pipeline.checks.integrity import check_warehouse
    from pipeline.warehouse import connect

    con = connect(warehouse.db, read_only=True)
    try:  # the integrity check agrees: the ledger adds up after the replacement
        assert check_warehouse(con).problems == []
    finally:
        con.close()


def test_agency_file_of_the_sample_gives_the_kobo_exports_numbers(tmp_path_factory):
    """The generator's SPSS delivery of the last wave, loaded with its form settings (its
    variables stored under the Kobo form's question names), gives the same respondents and the
    same answers as the Kobo export it was made from."""
    from pipeline.config import get_settings
    from pipeline.indicators.sources import refresh_respondents
    from pipeline.project.forms import FormSettings
    from pipeline.project.scaffold import new_project
    from pipeline.synth import generate
    from pipeline.synth.agency import AGENCY_FORM_ID, agency_settings
    from pipeline.warehouse.setup import init_warehouse

    root = tmp_path_factory.mktemp("agency")
    new_project(root, example="spsc")
    generate(root / "raw", respondents=30)
    truth = json.loads((root / "raw" / "truth.json").read_text(encoding="utf-8"))["citizen_survey"]["agency_file"]
    survey = root / "raw" / "survey"
    kobo = get_settings(project=root, db=root / "kobo" / "spsc.duckdb")
    agency = get_settings(project=root, db=root / "agency" / "spsc.duckdb")
    # the example project declares the agency's form, as the generator writes it beside the file
    declared = kobo.project.form(AGENCY_FORM_ID)
    # (the project adds its calibration margins, which the generator's mapping cannot know)
    assert declared.calibration is not None
    assert declared.model_copy(update={"path": None, "calibration": None}) == FormSettings.model_validate(
        agency_settings())
    for s in (kobo, agency):
        init_warehouse(s)
    ingest_survey(kobo, [survey / f"citizen_survey_{truth['wave']}.xlsx"], form=survey / "citizen_survey_form.xlsx")
    r = ingest_survey(agency, [root / "raw" / truth["file"]], mapping=root / "raw" / truth["mapping"])[-1]
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (truth["cases"], truth["cases"], 0)
    for s in (kobo, agency):
        refresh_respondents(s)
    people = "select muni_id, sex, round(weight, 4), stratum, psu, fpc from respondents order by all"
    assert len(_rows(kobo, people)) == truth["cases"]
    assert _rows(kobo, people) == _rows(agency, people)
    # ages agree, but for those the Kobo form's constraint (18 or more) loaded as missing: the
    # SPSS dictionary carries no constraint, so the agency's file keeps them as numbers
    ages = "select age from respondents order by all"
    kobo_ages, agency_ages = [a for (a,) in _rows(kobo, ages)], [a for (a,) in _rows(agency, ages)]
    too_young = [a for a in agency_ages if a is not None and a < 18]
    assert sorted(a for a in agency_ages if a is None or a >= 18) == sorted(a for a in kobo_ages if a is not None)
    assert len(too_young) == kobo_ages.count(None)
    numbers = ("select question, try_cast(value as double) from survey_responses_long where question in "
               "('trust/trust_municipality', 'trust/trust_csw', 'cohesion/trust_other_entity', "
               "'governance/views_considered', 'cohesion/contact_willing') and wave = ? "
               "and value is not null order by all")  # the Kobo export's refusals answered nothing
    numbers_kobo = _rows(kobo, numbers.replace("try_cast(value as double)", "value"), [truth["wave"]])
    got = _rows(agency, numbers.replace("try_cast(value as double)", "value"), [truth["wave"]])
    as_num = [(q, v if q == "cohesion/contact_willing" or v is None else float(v)) for q, v in numbers_kobo]
    assert sorted(as_num, key=str) == sorted(
        [(q, v if q == "cohesion/contact_willing" or v is None else float(v)) for q, v in got], key=str)
    assert len(got) == 5 * truth["cases"]
    codes = dict(_rows(agency, "select missing_code, count(*) from survey_responses_long where question = 'Q7' "
                               "and missing_code is not null group by 1"))
    assert codes == {"98": truth["refused"], "99": truth["dont_know"]}
    personal = {q for (q,) in _rows(agency, "select question from codebook_questions where is_personal")}
    assert personal == set(truth["personal"])


def test_the_same_indicators_from_the_agency_file_as_from_the_kobo_export(tmp_path_factory, monkeypatch):
    """Two projects, copies of the example: one loads the last wave's Kobo export, the other the
    agency's SPSS file of it, its citizen indicators pointed at the agency's form. ``spsc build``
    publishes the same numbers in every cell both publish."""
    from pipeline.cli import main
    from pipeline.config import get_settings
    from pipeline.synth import generate

    for var in ("SPSC_PROJECT", "SPSC_HOME", "SPSC_DB", "SPSC_RAW", "SPSC_PROCESSED", "SPSC_REPORTS", "SPSC_SECRET"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path_factory.mktemp("agency_build")
    generate(root / "raw", respondents=30)
    truth = json.loads((root / "raw" / "truth.json").read_text(encoding="utf-8"))["citizen_survey"]["agency_file"]
    survey = root / "raw" / "survey"
    kobo, agency = root / "kobo", root / "agency"
    for p in (kobo, agency):
        assert main(["new", str(p), "--example", "spsc"]) == 0
    indicators = agency / "indicators.yml"
    indicators.write_text(indicators.read_text(encoding="utf-8").replace(
        "source: spsc_citizen_survey\n", "source: spsc_citizen_survey_agency\n"), encoding="utf-8")
    assert main(["--project", str(kobo), "ingest", "survey", str(survey / f"citizen_survey_{truth['wave']}.xlsx"),
                 "--form", str(survey / "citizen_survey_form.xlsx")]) == 0
    assert main(["--project", str(agency), "ingest", "survey", str(root / "raw" / truth["file"]),
                 "--mapping", str(agency / "forms" / "spsc_citizen_survey_agency.yml"),
                 "--wave", truth["wave"]]) == 0
    for p in (kobo, agency):
        assert main(["--project", str(p), "build"]) == 0
    cells = ("select indicator_id, dimension, dimension_value, round(estimate, 9), round(se, 9), n "
             "from indicator_values where period = ? and not suppressed order by all")
    from_kobo = _rows(get_settings(project=kobo), cells, [truth["wave"]])
    from_agency = _rows(get_settings(project=agency), cells, [truth["wave"]])
    assert len({c[0] for c in from_kobo}) >= 6 and len(from_kobo) > 100
    assert from_agency == from_kobo


def test_audit_reads_agency_files_again(warehouse, perception, tmp_path, capsys):
    from pipeline.checks.audit import audit
    from pipeline.cli import main

    _load(warehouse, perception, wave="2024Q4")
    result = audit(warehouse, tmp_path / "no_reports")
    assert result.unchecked == [] and result.findings == [], result.notes
    assert result.raw_files == 1 and result.personal_values >= 4  # the four names, read again from the .sav
    other = _write(tmp_path / "other_2024Q3.sav", pd.DataFrame({"id": [1.0, 2.0], "q": [3.0, 4.0]}))
    _load(warehouse, other, wave="2024Q3")
    other.write_bytes(b"$FL2 damaged since it was loaded")
    result = audit(warehouse, tmp_path / "no_reports")
    assert result.unchecked == [str(other)]
    assert main(["audit", "--reports", str(tmp_path / "no_reports")]) == 0
    out = capsys.readouterr().out
    assert "1 raw files not checked" in out and "audit clean" not in out
