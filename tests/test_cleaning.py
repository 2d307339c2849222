"""The cleaning loop through the real pipeline: the generator's sample loaded into a copy of the
example project, cleaning logs applied by the CLI, marts and indicators rebuilt."""

from __future__ import annotations

import csv
import json
import os
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import drop_calibration

from pipeline.cli import main
from tests.helpers import query

FORM = "spsc_citizen_survey"
COLUMNS = ["uuid", "question", "change_type", "new_value", "old_value", "issue", "checked_by", "checked_date"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample (30 respondents per municipality and wave) loaded and built once."""
    from pipeline.config import get_settings
    from pipeline.indicators.engine import build
    from pipeline.ingest.survey.load import ingest_sample_surveys
    from pipeline.project.scaffold import new_project
    from pipeline.synth import generate
    from pipeline.warehouse.setup import init_warehouse

    root = tmp_path_factory.mktemp("cleaning")
    new_project(root, example="spsc")
    drop_calibration(root)  # the expected numbers below are design-weighted shares
    generate(root / "raw", respondents=30)
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("SPSC_")]:
            mp.delenv(var, raising=False)
        mp.setenv("SPSC_HOME", str(root))
        mp.setenv("SPSC_PROJECT", str(root))
        settings = get_settings(home=root, project=root)
        init_warehouse(settings)
        ingest_sample_surveys(settings, root / "raw")
        build(settings)
        export = pd.read_excel(root / "raw" / "survey" / "citizen_survey_2024Q4.xlsx", dtype=str, engine="calamine")
        export = export.drop_duplicates("_uuid", keep="last")
        yield SimpleNamespace(root=root, settings=settings, export=export,
                              truth=json.loads((root / "raw" / "truth.json").read_text()))


def _spsc(*args: str) -> int:
    return main(list(args))


def _write_log(path, rows) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)
    return str(path)


def _trust_high(settings, wave: str) -> tuple[float, int]:
    """trust_municipality_high's published total for a wave, and its n."""
    return query(settings, "select estimate, n from indicator_values where indicator_id = 'trust_municipality_high'"
                           " and period = ? and dimension = 'total'", [wave])[0]


def _expected_trust_high(settings, wave: str) -> tuple[float, int]:
    """The same number computed from the marts as a reader would (weighted share 6-10)."""
    rows = query(settings, """
        select r.weight, try_cast(l.value as double) from respondents r
        join survey_responses_long l on l.respondent_key = r.respondent_key and l.wave = r.wave
            and l.form_id = r.form_id and l.question = 'trust/trust_municipality'
        where r.form_id = ? and r.wave = ? and l.value is not null""", [FORM, wave])
    w = sum(x for x, _ in rows)
    return 100 * sum(x for x, v in rows if v >= 6) / w, len(rows)


@pytest.fixture(scope="module")
def applied(sample, tmp_path_factory):
    """One log with each change type (and a stale decision) applied, and the marts rebuilt."""
    ok = sample.export[(sample.export["consent"] == "yes")
                       & sample.export["trust/trust_municipality"].notna()].reset_index(drop=True)
    before = {"respondents": query(sample.settings, "select count(*) from respondents where wave = '2024Q4' "
                                                    "and form_id = ?", [FORM])[0][0],
              "trust": _trust_high(sample.settings, "2024Q4")}
    low = ok[ok["trust/trust_municipality"].astype(int) < 6].iloc[0]
    rows = [
        [low["_uuid"], "trust_municipality", "change_response", "9", low["trust/trust_municipality"],
         "typed 0 for 9 (call-back)", "ana", "2025-01-10"],
        [ok.iloc[1]["_uuid"], "trust/trust_municipality", "blank_response", "", ok.iloc[1]["trust/trust_municipality"],
         "answer was a refusal", "ana", ""],
        [ok.iloc[2]["_uuid"], "", "remove_survey", "", "", "interview not done (back-check)", "ana", ""],
        [ok.iloc[3]["_uuid"], "education", "no_action", "", ok.iloc[3]["demographics/education"],
         "checked: value is right", "ana", ""],
        [ok.iloc[4]["_uuid"], "trust_municipality", "change_response", "3",
         str((int(ok.iloc[4]["trust/trust_municipality"]) + 1) % 11), "made on another download", "ana", ""],
    ]
    assert _spsc("snapshot", "--period", "2024Q4") == 0   # the quarter was reported before the log
    folder = sample.root / "cleaning"
    folder.mkdir(exist_ok=True)
    log = _write_log(folder / "2024Q4_backchecks.csv", rows)
    assert _spsc("clean", "apply", log) == 0
    assert _spsc("build") == 0
    return SimpleNamespace(rows=rows, before=before, log=log, low=low, ok=ok)


def _value(settings, uuid_row: int, ok, question: str):
    from pipeline.cleaning.apply import respondent_key_of
    from pipeline.privacy import load_secret

    key = respondent_key_of(load_secret(settings.secret_path), ok.iloc[uuid_row]["_uuid"])
    rows = query(settings, "select value from survey_responses_long where respondent_key = ? and question = ?",
                 [key, question])
    return rows[0][0] if rows else "absent"


def test_each_change_type_changes_the_marts_and_the_published_numbers_as_written(sample, applied):
    s, ok = sample.settings, applied.ok
    low_row = ok.index[ok["_uuid"] == applied.low["_uuid"]][0]
    assert _value(s, low_row, ok, "trust/trust_municipality") == "9"            # change_response
    assert _value(s, 1, ok, "trust/trust_municipality") is None                # blank_response
    assert _value(s, 2, ok, "trust/trust_municipality") == "absent"            # remove_survey
    assert _value(s, 3, ok, "demographics/education") == ok.iloc[3]["demographics/education"]  # no_action
    assert _value(s, 4, ok, "trust/trust_municipality") == ok.iloc[4]["trust/trust_municipality"]  # stale
    after = query(s, "select count(*) from respondents where wave = '2024Q4' and form_id = ?", [FORM])[0][0]
    assert after == applied.before["respondents"] - 1
    estimate, n = _trust_high(s, "2024Q4")
    assert n == applied.before["trust"][1] - 2          # one removed, one blanked
    expected, n_expected = _expected_trust_high(s, "2024Q4")
    assert (estimate, n) == (pytest.approx(expected, abs=1e-9), n_expected)
    assert estimate != pytest.approx(applied.before["trust"][0], abs=1e-6)
    # the removed submission stays in staging
    from pipeline.cleaning.apply import respondent_key_of
    from pipeline.privacy import load_secret

    key = respondent_key_of(load_secret(s.secret_path), ok.iloc[2]["_uuid"])
    assert query(s, "select count(*) from stg_survey__submissions where respondent_key = ? and is_current", [key])[0][0] == 1
    # ... and spsc quarantine shows it with the log's reason
    from pipeline.ingest.survey.quarantine import read_quarantine

    removed = read_quarantine(s)
    removed = removed[removed["action"] == "removed"]
    assert len(removed) == 1
    assert removed.iloc[0]["reason"] == "removed by cleaning/2024Q4_backchecks.csv row 4: interview not done (back-check)"
    assert removed.iloc[0]["file_name"] == "citizen_survey_2024Q4.xlsx"


def test_a_reported_quarter_restates_a_later_log_only_with_restate(sample, applied, capsys):
    from pipeline.checks.snapshots import published_values
    from pipeline.warehouse import connect

    capsys.readouterr()
    assert _spsc("diff", "--period", "2024Q4") == 0
    out = capsys.readouterr().out
    assert "cleaning logs since the snapshot: cleaning/2024Q4_backchecks.csv" in out
    con = connect(sample.settings.db, read_only=True)
    try:
        kept = published_values(con, "2024Q4")
    finally:
        con.close()
    row = kept[(kept["indicator_id"] == "trust_municipality_high") & (kept["period"] == "2024Q4")
               & (kept["dimension"] == "total")].iloc[0]
    assert (row["estimate"], row["n"]) == (pytest.approx(applied.before["trust"][0]), applied.before["trust"][1])


def test_a_stale_decision_is_not_applied_and_is_reported(sample, applied, capsys):
    effects = dict(query(sample.settings, "select log_row, status from cleaning_effects"))
    assert effects == {2: "applied", 3: "applied", 4: "applied", 5: "applied", 6: "stale"}
    capsys.readouterr()
    assert _spsc("clean", "status", "--details") == 0
    out = capsys.readouterr().out
    assert "5 decisions: 4 applied, 1 stale" in out
    assert "row 6" in out and "the data changed since this decision" in out


def test_a_log_with_a_bad_row_is_refused_whole_with_file_row_and_reason(sample, applied, tmp_path, capsys):
    ok = applied.ok
    bad = _write_log(tmp_path / "bad.csv", [
        [ok.iloc[5]["_uuid"], "trust_municipality", "change_response", "7", ok.iloc[5]["trust/trust_municipality"],
         "fine row", "", ""],
        [ok.iloc[6]["_uuid"], "education", "change_response", "phd", ok.iloc[6]["demographics/education"],
         "not a choice", "", ""],
        [ok.iloc[7]["_uuid"], "sex", "delete", "", "", "bad change type", "", ""],
        [ok.iloc[8]["_uuid"], "age", "change_response", "199", ok.iloc[8]["demographics/age"],
         "outside the form's range", "", ""],
    ])
    before = query(sample.settings, "select count(*) from cleaning_decisions")[0][0]
    capsys.readouterr()
    assert _spsc("clean", "apply", bad) == 1
    err = capsys.readouterr().err
    assert "bad.csv" in err and "3 bad rows, nothing of this log applied" in err
    assert "row 3: new_value 'phd' is not a choice" in err and "row 4: change_type 'delete'" in err
    assert "row 5: new_value 199 is outside 18-95 (the form's constraint)" in err
    assert query(sample.settings, "select count(*) from cleaning_decisions")[0][0] == before


def test_the_log_holds_across_reingest_of_the_same_and_a_larger_cumulative_export(sample, applied, tmp_path):
    s = sample.settings
    first = _trust_high(s, "2024Q4")
    # the same file again, then a cumulative download: every submission again plus new ones
    survey = sample.root / "raw" / "survey"
    assert _spsc("ingest", "survey", str(survey / "citizen_survey_2024Q4.xlsx"), "--form",
                 str(survey / "citizen_survey_form.xlsx"), "--wave", "2024Q4") == 0
    raw = pd.read_excel(survey / "citizen_survey_2024Q4.xlsx", dtype=str, engine="calamine")
    extra = raw[raw["consent"] == "yes"].drop_duplicates("_uuid").head(3).copy()
    extra["_uuid"] = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)]
    extra["meta/instanceID"] = "uuid:" + extra["_uuid"]
    extra["_index"] = [str(len(raw) + i + 1) for i in range(3)]
    bigger = tmp_path / "citizen_survey_2024Q4_cumulative.xlsx"
    pd.concat([raw, extra]).to_excel(bigger, index=False, sheet_name=FORM)
    assert _spsc("ingest", "survey", str(bigger), "--form", str(survey / "citizen_survey_form.xlsx"),
                 "--wave", "2024Q4") == 0
    assert _spsc("build") == 0
    effects = dict(query(s, "select log_row, status from cleaning_effects"))
    assert effects == {2: "applied", 3: "applied", 4: "applied", 5: "applied", 6: "stale"}
    ok = applied.ok
    low_row = ok.index[ok["_uuid"] == applied.low["_uuid"]][0]
    assert _value(s, low_row, ok, "trust/trust_municipality") == "9"
    assert _value(s, 2, ok, "trust/trust_municipality") == "absent"
    estimate, n = _trust_high(s, "2024Q4")
    expected, n_expected = _expected_trust_high(s, "2024Q4")
    assert n == n_expected and estimate == pytest.approx(expected, abs=1e-9)
    assert n >= first[1]


def test_no_raw_uuid_is_stored_anywhere_in_the_warehouse(sample, applied):
    uuids = set(sample.export["_uuid"].dropna())
    tables = query(sample.settings, "select table_name, column_name from information_schema.columns "
                                    "where data_type = 'VARCHAR' and table_schema = 'main'")
    for table, column in tables:
        values = {r[0] for r in query(sample.settings, f'select distinct "{column}" from "{table}"')}
        assert not values & uuids, f"{table}.{column} holds raw uuids"
        assert not any(v and any(u in v for u in list(uuids)[:50]) for v in values if isinstance(v, str)
                       and len(v) > 36), f"{table}.{column}"


def _score(draft: pd.DataFrame, truth: dict, check: str) -> tuple[int, int, int]:
    planted = set()
    for wave in truth["citizen_survey"]["waves"].values():
        for case in wave["cleaning"][check]:
            planted.add(tuple(sorted(case)) if isinstance(case, list) else case)
    rows = draft[(draft["check"] == check) & (draft["form_id"] == FORM)]
    if check == "soft_duplicate":
        found = {tuple(sorted([a, b])) for a, b in zip(rows["uuid"], rows["related_uuid"], strict=True)}
    else:
        found = set(rows["uuid"])
    return len(found & planted), len(found), len(planted)


def test_checks_find_the_planted_cases_and_few_others(sample, tmp_path, capsys):
    out = tmp_path / "draft.csv"
    assert _spsc("clean", "checks", "--out", str(out)) == 0
    draft = pd.read_csv(out, dtype=str)
    assert draft["change_type"].isna().all() and draft["issue"].notna().all()
    scores = {c: _score(draft, sample.truth, c) for c in ("short_interview", "straight_lining", "soft_duplicate")}
    for check, (hits, found, planted) in scores.items():
        assert planted >= 3, check
        assert hits == planted, f"{check}: recall {hits}/{planted}"
        assert found - hits <= max(2, planted), f"{check}: {found - hits} findings not planted"
    print("precision/recall", scores)
    # a cell the load quarantined is a finding, with the raw uuid read back from the export
    cells = draft[draft["check"] == "quarantined_cell"]
    assert len(cells) and cells["uuid"].notna().all()
    # findings drafted from the warehouse can be applied once decided
    decided = draft[draft["check"] == "short_interview"].head(2).copy()
    decided["change_type"] = "remove_survey"
    decided.to_csv(tmp_path / "decided.csv", index=False)
    assert _spsc("clean", "apply", str(tmp_path / "decided.csv")) == 0
    assert _spsc("clean", "checks", "--out", str(out)) == 0
    again = pd.read_csv(out, dtype=str)
    assert not set(decided["uuid"]) & set(again.loc[again["check"] == "short_interview", "uuid"])


# ------------------------------------------------------------------ small fixtures, no warehouse
@pytest.mark.parametrize(("qtype", "value", "stored", "why"), [
    ("select_one", "secondary", "secondary", None),
    ("select_one", "phd", None, "'phd' is not a choice"),
    ("select_multiple", "friend  neighbour friend", "friend neighbour", None),
    ("select_multiple", "friend boss", None, "'boss' not a choice"),
    ("integer", "19.0", "19", None),
    ("integer", "19.5", None, "not a whole number"),
    ("decimal", "2,5", "2.5", None),
    ("decimal", "many", None, "not a number"),
    ("date", "2024-10-03", "2024-10-03", None),
    ("date", "03.10.2024", None, "not a date"),
    ("text", "  anything ", "anything", None),
])
def test_a_new_value_is_validated_like_a_raw_answer(qtype, value, stored, why):
    from pipeline.cleaning.apply import typed_value

    choices = {"select_one": ["primary_or_less", "secondary", "tertiary"],
               "select_multiple": ["neighbour", "colleague", "friend"]}.get(qtype, [])
    got, problem = typed_value(qtype, choices, value)
    assert got == stored
    assert (problem is None) if why is None else (why in problem)


def _book():
    from pipeline.indicators.sources import FormCodebook, QuestionInfo

    book = FormCodebook("f")
    for path, qtype, lst in [("start", "start", None), ("end", "end", None), ("muni", "text", None),
                             ("hh/income", "integer", None), ("hh/source", "select_one", "src"),
                             ("hh/source_other", "text", None)]:
        book.questions[path] = QuestionInfo(path, path.rsplit("/", 1)[-1], qtype, lst, None, path, path)
    book.choices["src"] = {"salary": {"en": "Salary", "bs": "Plata"}, "pension": {"en": "Pension", "bs": "Penzija"}}
    return book


def test_outliers_are_robust_per_municipality_and_other_texts_that_repeat_a_choice_are_found():
    from pipeline.cleaning.checks import DEFAULTS, check_form

    incomes = [500, 520, 480, 510, 530, 490, 505, 515, 495, 500, 5000, 20]
    wide = pd.DataFrame({
        "respondent_key": [f"r{i}" for i in range(12)], "wave": "2024Q4", "muni": "drvar",
        "start": [f"2024-10-0{1 + i % 9} 10:00:00" for i in range(12)],
        "end": [f"2024-10-0{1 + i % 9} 10:30:00" for i in range(12)],
        "hh/income": [str(x) for x in incomes],
        "hh/source": "salary", "hh/source_other": [None] * 10 + ["Penzija", "salary "],
    })
    found = check_form(wide, _book(), {"municipality": "muni"}, [], dict(DEFAULTS), "f")
    outliers = {(f["respondent_key"], f["old_value"]) for f in found if f["check"] == "outlier"}
    assert outliers == {("r10", "5000"), ("r11", "20")}
    other = sorted((f["respondent_key"], f["issue"]) for f in found if f["check"] == "other_repeats_choice")
    assert [k for k, _ in other] == ["r10", "r11"]
    assert "the choice 'pension'" in other[0][1] and "the choice 'salary'" in other[1][1]
    assert not [f for f in found if f["check"] in ("short_interview", "straight_lining")]
