"""``spsc ingest survey`` end to end: the generator's sample waves, SPSS and plain CSV sources,
quarantine, privacy, idempotence and atomicity, on real DuckDB files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import duckdb
import openpyxl
import pandas as pd
import pytest
from helpers import query as _rows
from helpers import warehouse_fingerprint as _snapshot
from python_calamine import CalamineWorkbook

from pipeline.config import get_settings
from pipeline.errors import RejectedFile, SpscError
from pipeline.ingest.survey.load import ingest_sample_surveys, ingest_survey
from pipeline.ingest.survey.sql import create_hmac_macro, pseudonym_sql
from pipeline.privacy import pseudonym
from pipeline.warehouse import connect
from pipeline.warehouse.setup import init_warehouse

_ENV = ("SPSC_DB", "SPSC_RAW", "SPSC_PROCESSED", "SPSC_REPORTS", "SPSC_SECRET", "SPSC_HOME", "SPSC_PROJECT")


def _respondents(settings) -> None:
    """Rebuild ``respondents`` from the project's form settings, as ``spsc build`` does first."""
    from pipeline.indicators.sources import refresh_respondents

    refresh_respondents(settings)


def _warehouse_text(settings) -> str:
    """Every value of every table, as one text to search."""
    con = connect(settings.db, read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where not temporary").fetchall()]
        parts = [str(v) for t in tables for row in con.execute(f"select * from {t}").fetchall() for v in row]
    finally:
        con.close()
    return "\x1f".join(parts)


PROJECT_IDS = ["drvar", "livno", "ribnik", "kljuc", "glamoc", "sanski_most", "bosansko_grahovo",
               "bosanski_petrovac", "mrkonjic_grad"]


def _sheet(path: Path, index: int = 0) -> pd.DataFrame:
    wb = CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_index(index).to_python()
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The generator's sample (30 respondents per municipality and wave), loaded once into a
    copy of the example project (its form settings give the roles)."""
    from pipeline.project.scaffold import new_project
    from pipeline.synth import generate

    root = tmp_path_factory.mktemp("survey_sample")
    new_project(root, example="spsc")
    generate(root / "raw", respondents=30)
    with pytest.MonkeyPatch.context() as mp:
        for var in _ENV:
            mp.delenv(var, raising=False)
        mp.setenv("SPSC_HOME", str(root))
        settings = get_settings(home=root, project=root)
        init_warehouse(settings)
        results = ingest_sample_surveys(settings, root / "raw")
        _respondents(settings)
        yield SimpleNamespace(raw=root / "raw", survey=root / "raw" / "survey", settings=settings,
                              results=results, truth=json.loads((root / "raw" / "truth.json").read_text()))


def test_sample_waves_load_with_planted_dirt_quarantined_and_counted(sample):
    by_file = {Path(r.file).name: r for r in sample.results}
    for wave, t in sample.truth["citizen_survey"]["waves"].items():
        r = by_file[f"citizen_survey_{wave}.xlsx"]
        dirt = t["dirt"]
        # a misspelt municipality (a design column) quarantines the row; an impossible age or a
        # choice not in the form is loaded as missing, the respondent kept
        bad = dirt["municipality_misspelt"]
        assert (r.rows_read, r.rows_quarantined, r.rows_blank) == (t["rows"], bad, 0)
        assert r.cells_quarantined == dirt["age_out_of_range"] + dirt["choice_not_in_form"]
        assert r.rows_loaded == t["rows"] - bad
        assert (r.replaced, r.unchanged) == (dirt["edited_submission"], dirt["duplicate_submission"])
        respondents = _rows(sample.settings, "select count(*), count(distinct respondent_key) from respondents "
                                             "where wave = ? and form_id = 'spsc_citizen_survey'", [wave])
        # refusals are not respondents; a quarantined row is not one either; each submission once
        assert respondents == [(t["consented"] - bad, t["consented"] - bad)]
    rules = dict(_rows(sample.settings, "select rule || ':' || action, count(*) from quarantine group by all"))
    planted = {d["kind"]: d["count"] for d in sample.truth["dirt"]}
    assert rules == {"municipality:row": planted["municipality_misspelt"], "range:cell": planted["age_out_of_range"],
                     "choice:cell": planted["choice_not_in_form"]}
    assert _rows(sample.settings, "select count(*) from survey_replacements")[0][0] == planted["edited_submission"]


def test_sample_values_reach_the_marts(sample):
    muni = _rows(sample.settings, "select count(*) filter (where muni_id is null), count(*) filter (where entity "
                                  "not in ('FBiH', 'RS')), count(*) filter (where weight is null or fpc is null) "
                                  "from respondents where form_id = 'spsc_citizen_survey'")
    assert muni == [(0, 0, 0)]
    groups = {r[0] for r in _rows(sample.settings, "select distinct age_group from respondents "
                                                   "where form_id = 'spsc_citizen_survey'")}
    assert groups == {"18-29", "30-44", "45-64", "65+", None}  # None: an impossible age, loaded as missing
    planted = {d["kind"]: d["count"] for d in sample.truth["dirt"]}
    assert _rows(sample.settings, "select count(*) from respondents where form_id = 'spsc_citizen_survey' "
                                  "and age is null")[0][0] == planted["age_out_of_range"]
    # an edited submission counts with its later answers
    later = _rows(sample.settings, "select count(*) from survey_replacements r join stg_survey__submissions s "
                                   "on s.submission_id = r.new_submission_id where s.is_current "
                                   "and r.new_submitted_at > r.old_submitted_at")
    assert later[0][0] == {d["kind"]: d["count"] for d in sample.truth["dirt"]}["edited_submission"]
    export = _sheet(sample.survey / "citizen_survey_2023Q1.xlsx")
    first = export.iloc[0]
    key = _rows(sample.settings, "select respondent_key from stg_survey__submissions where source_row = 2 "
                                 "and wave = '2023Q1'")[0][0]
    # every question keeps its XLSForm name
    row = _rows(sample.settings, "select question, value from survey_responses_long where respondent_key = ?"
                                 " and question in ('trust/trust_municipality', 'cohesion/trust_other_entity')"
                                 " order by 1", [key])
    if first["consent"] == "yes":
        assert row == [("cohesion/trust_other_entity", str(int(first["cohesion/trust_other_entity"]))),
                       ("trust/trust_municipality", str(int(first["trust/trust_municipality"])))]


def test_youth_pre_and_post_match_on_the_pseudonymised_code(sample):
    y = sample.truth["youth_prepost"]
    r = next(r for r in sample.results if Path(r.file).name == "youth_prepost_2024Q4.xlsx")
    assert (r.rows_read, r.rows_quarantined) == (y["rows_main_sheet"] + y["rows_repeat_sheet"], 0)
    # one row per participant and phase (the latest when a phase was filled twice)
    youth = """
        with scores as (
            select respondent_key, wave, avg(try_cast(value as double)) as score
            from survey_responses_long
            where form_id = 'spsc_youth_prepost' and question like 'attitudes/att_%'
            group by all
        ),
        people as (
            select r.link_key, r.phase, s.score from respondents as r
            left join scores as s using (respondent_key, wave)
            where r.form_id = 'spsc_youth_prepost'
            qualify row_number() over (partition by r.link_key, r.wave, r.phase
                                       order by r.submitted_at desc nulls last) = 1
        )
    """
    phases = dict(_rows(sample.settings, youth + "select phase, count(*) from people group by phase"))
    assert phases == {"pre": y["participants_pre"], "post": y["participants_post"]}
    matched = _rows(sample.settings, youth + "select count(*), count(*) filter (where post.score > pre.score) "
                                     "from people pre join people post on post.link_key = pre.link_key "
                                     "where pre.phase = 'pre' and post.phase = 'post'")
    assert matched == [(y["participants_matched"], y["participants_improved"])]
    links = _rows(sample.settings, "select count(distinct respondent_key), count(*) from survey_repeat_rows "
                                   "where repeat_path = 'previous_activities'")
    assert links[0][1] > 0 and links[0][0] <= y["participants_pre"]


def test_codebook_has_questions_choices_and_both_languages(sample):
    q = _rows(sample.settings, "select type, list_name, label_en, label_bs, is_personal from codebook_questions "
                               "where form_id = 'spsc_citizen_survey' and question = 'location/municipality'")
    assert q == [("select_one", "municipality", "Municipality", "Općina", False)]
    personal = {r[0] for r in _rows(sample.settings, "select question from codebook_questions where is_personal")}
    assert {"contact/phone", "contact/respondent_name", "participant_name"} <= personal
    choice = _rows(sample.settings, "select label_en, label_bs from codebook_choices where form_id = "
                                    "'spsc_youth_prepost' and list_name = 'phase' and choice = 'pre'")
    assert choice == [("Before the activity", "Prije aktivnosti")]
    assert _rows(sample.settings, "select form_id, form_version from survey_forms order by 1") == [
        ("spsc_citizen_survey", "2023.1"), ("spsc_youth_prepost", "2024.3")]


def test_no_personal_value_from_the_raw_files_is_anywhere_in_the_warehouse(sample):
    raw_values = set()
    for wave in sample.truth["citizen_survey"]["waves"]:
        export = _sheet(sample.survey / f"citizen_survey_{wave}.xlsx")
        for col in ("contact/phone", "contact/respondent_name"):
            raw_values |= {str(v) for v in export[col] if v not in (None, "", "n/a")}
    youth = _sheet(sample.survey / "youth_prepost_2024Q4.xlsx")
    raw_values |= {str(v) for v in youth["participant_name"] if v}
    raw_values |= {str(v).strip() for v in youth["participant_code"] if v}
    assert len(raw_values) > 500
    text = _warehouse_text(sample.settings)
    found = sorted(v for v in raw_values if v in text)
    assert found == []


def test_loading_the_same_files_again_changes_nothing(sample):
    before = _snapshot(sample.settings)
    again = ingest_sample_surveys(sample.settings, sample.raw)
    assert {r.status for r in again} == {"already loaded"}
    assert len(again) == 4
    assert _snapshot(sample.settings) == before


def _corrupt_files(sample, tmp_path):
    good = sample.survey / "citizen_survey_2024Q4.xlsx"
    truncated = tmp_path / "citizen_survey_2024Q4_truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    html = tmp_path / "citizen_survey_2024Q4_web.xlsx"
    html.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    wrong = tmp_path / "citizen_survey_2024Q4_youth.csv"
    _sheet(sample.survey / "youth_prepost_2024Q4.xlsx").to_csv(wrong, index=False)
    no_weight = tmp_path / "citizen_survey_2024Q4_no_weight.csv"
    _sheet(good).drop(columns=["design/weight"]).to_csv(no_weight, index=False)
    empty = tmp_path / "citizen_survey_2024Q4_empty.csv"
    empty.write_bytes(b"")
    # the form's settings declare a weighted design: an export without its weights is refused
    return [(truncated, "damaged or truncated"), (html, "web page"), (wrong, "does not look like an export"),
            (no_weight, "missing required columns: design/weight"), (empty, "empty")]


def test_a_file_that_cannot_be_read_is_rejected_and_changes_nothing(sample, tmp_path):
    form = sample.survey / "citizen_survey_form.xlsx"
    before = _snapshot(sample.settings)
    for path, why in _corrupt_files(sample, tmp_path):
        with pytest.raises(RejectedFile) as err:
            ingest_survey(sample.settings, [path], form=form)
        message = str(err.value)
        assert path.name in message and why in message and "\n" not in message
        assert _snapshot(sample.settings) == before


def test_a_failure_inside_the_load_rolls_back_everything(sample, tmp_path, monkeypatch):
    import pipeline.ingest.survey.load as survey

    export = tmp_path / "citizen_survey_2024Q4_resent.csv"
    _sheet(sample.survey / "citizen_survey_2024Q4.xlsx").head(40).to_csv(export, index=False)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(survey, "build_survey_marts", fail)
    before = _snapshot(sample.settings)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_survey(sample.settings, [export], form=sample.survey / "citizen_survey_form.xlsx")
    assert _snapshot(sample.settings) == before


def test_a_load_killed_half_way_leaves_the_warehouse_as_it_was(warehouse, sample, tmp_path):
    db = warehouse.db
    export = tmp_path / "citizen_survey_2024Q1.xlsx"
    export.write_bytes((sample.survey / "citizen_survey_2024Q1.xlsx").read_bytes())
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        import pipeline.ingest.survey.load as survey
        from pipeline.config import get_settings

        def die(*args, **kwargs):  # after every row is written, before the commit
            os.kill(os.getpid(), signal.SIGKILL)

        survey.finish_batch = die
        survey.ingest_survey(get_settings(project=Path({str(warehouse.home)!r})), [Path({str(export)!r})],
                             form=Path({str(sample.survey / 'citizen_survey_form.xlsx')!r}))
    """)
    before = _snapshot(warehouse)
    env = {**os.environ, "SPSC_HOME": str(warehouse.home)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=300)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    assert Path(db).exists()
    assert _snapshot(warehouse) == before


def test_sql_hmac_equals_the_python_pseudonym():
    secret = b"k" * 70  # longer than the SHA-256 block: HMAC hashes the key first
    con = duckdb.connect()
    create_hmac_macro(con, secret)
    values = ["8742fb1c-50a5-4c54-80c6-4420129d14ce", "Šljivić", ""]
    got = [con.execute(f"select {pseudonym_sql('r', 'v')} from (select ? as v)", [v]).fetchall()[0][0]
           for v in values]
    assert got == [pseudonym(secret, v, prefix="r") for v in values]
    two = con.execute(f"select {pseudonym_sql('r', 'f', 'v')} from (select 'form' as f, ? as v)",
                      ["x"]).fetchall()[0][0]
    assert two == pseudonym(secret, "form", "x", prefix="r")


# ------------------------------------------------------------------------- SPSS and plain CSV
_CITIZEN_SETTINGS = """
form_id: {form_id}
respondent_id: resp_id
personal: [ime]
design: {{weights: wgt, strata: strat, psu: cluster, fpc: n_psu}}
municipality: opcina
sex: {{question: spol, recode: {{1: male, 2: female}}}}
age: dob
recode:
  q1: {{99: null}}
  obraz: {{1: primary_or_less, 2: secondary, 3: tertiary}}
"""


def _mapping(settings, form_id="baseline_2022"):
    """The source's settings, in the project's forms folder (where spsc build reads them)."""
    path = settings.project.forms_dir / f"{form_id}.yml"
    path.write_text(_CITIZEN_SETTINGS.format(form_id=form_id), encoding="utf-8")
    return path


def test_spss_file_with_value_labels_and_a_mapping(warehouse, tmp_path):
    import pyreadstat

    frame = pd.DataFrame({
        "resp_id": ["A1", "A2", "A3", "A4"],
        "opcina": ["Drvar", "Мркоњић Град", "Glamoč", "Nigdje"],
        "spol": [1.0, 2.0, 2.0, 1.0], "dob": [34.0, 130.0, 61.0, 45.0],
        "q1": [7.0, 3.0, 99.0, 5.0], "obraz": [1.0, 2.0, 3.0, 2.0],
        "datum": [pd.Timestamp("2022-11-03").date()] * 4,
        "strat": ["drvar", "mrkonjic_grad", "glamoc", "drvar"], "cluster": ["d1", "m1", "g1", "d2"],
        "wgt": [10.5, 12.0, 8.25, 10.5], "n_psu": [12.0, 20.0, 9.0, 12.0],
        "ime": ["Marko Marković", "Ana Anić", "Jovo Jović", "Mara Marić"],
        "telefon": ["061 123 456", "065 222 333", "063 444 555", "066 777 888"],
    })
    sav = tmp_path / "baseline_2022Q4.sav"
    pyreadstat.write_sav(frame, str(sav), column_labels={"q1": "Povjerenje u općinu", "spol": "Spol"},
                         variable_value_labels={"spol": {1: "Muški", 2: "Ženski"},
                                                "q1": {99: "Ne zna"}})
    results = ingest_survey(warehouse, [sav], mapping=_mapping(warehouse))
    # an unknown municipality makes the row unusable (a weighted design's domain); an impossible
    # age is loaded as missing, the respondent kept
    assert [(r.rows_read, r.rows_loaded, r.rows_quarantined, r.cells_quarantined, r.wave)
            for r in results] == [(4, 3, 1, 1, "2022Q4")]
    problems = _rows(warehouse, "select source_row, column_name, value, rule, action from quarantine order by 1")
    assert problems == [(3, "dob", "130", "range", "cell"), (5, "opcina", "Nigdje", "municipality", "row")]
    _respondents(warehouse)  # roles and recodes apply when the indicators are built
    got = _rows(warehouse, "select muni_id, sex, age, weight, fpc from respondents order by 1")
    assert got == [("drvar", "male", 34, 10.5, 12.0), ("glamoc", "female", 61, 8.25, 9.0),
                   ("mrkonjic_grad", "female", None, 12.0, 20.0)]
    answers = _rows(warehouse, "select r.muni_id, a.question, a.value from respondents r join "
                               "survey_responses_long a using (form_id, wave, respondent_key) "
                               "where a.question in ('q1', 'obraz') order by 1, 2")
    assert answers == [("drvar", "obraz", "1"), ("drvar", "q1", "7"), ("glamoc", "obraz", "3"),
                       ("glamoc", "q1", "99"),  # as loaded: the 99 'does not know' becomes missing in a build
                       ("mrkonjic_grad", "obraz", "2"), ("mrkonjic_grad", "q1", "3")]
    key = _rows(warehouse, "select respondent_key from respondents where muni_id = 'drvar'")[0][0]
    secret = warehouse.secret_path.read_bytes().strip()
    assert key == pseudonym(secret, "baseline_2022", "A1", prefix="r")
    labels = _rows(warehouse, "select question, label from codebook_questions where form_id = 'baseline_2022' "
                              "and question in ('q1', 'spol') order by 1")
    assert labels == [("q1", "Povjerenje u općinu"), ("spol", "Spol")]
    assert _rows(warehouse, "select choice, label from codebook_choices where list_name = 'spol' order by 1") == [
        ("1", "Muški"), ("2", "Ženski")]
    text = _warehouse_text(warehouse)
    assert not [v for v in [*frame["ime"], *frame["telefon"]] if v in text]


@pytest.mark.parametrize(("encoding", "delimiter", "rows"), [
    ("cp1250", ";", [("Ključ", "1,25", "03.11.2022", "kljuc", 1.25), ("Glamoč", "2,5", "4.11.2022", "glamoc", 2.5)]),
    ("cp1251", ";", [("Мркоњић Град", "1,5", "05.11.2022", "mrkonjic_grad", 1.5),
                     ("Рибник", "3", "06.11.2022", "ribnik", 3.0)]),
    ("utf-8-sig", ",", [("Bosansko Grahovo", "1.75", "44868", "bosansko_grahovo", 1.75),
                        ("Sanski Most", "2", "2022-11-07", "sanski_most", 2.0)]),
])
def test_plain_csv_in_every_bih_encoding(warehouse, tmp_path, encoding, delimiter, rows):
    header = ["resp_id", "opcina", "spol", "dob", "datum", "q1", "obraz", "strat", "cluster", "wgt", "n_psu"]
    lines = [delimiter.join(header)]
    for i, (name, weight, day, _, _) in enumerate(rows):
        lines.append(delimiter.join([f"R{i}", name, "2", "40", day, "5", "2", "s", f"p{i}", weight, "10"]))
    path = tmp_path / "baseline_2022Q4.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    results = ingest_survey(warehouse, [path], mapping=_mapping(warehouse))
    assert [(r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [(2, 2, 0)]
    _respondents(warehouse)
    got = _rows(warehouse, "select muni_id, weight from respondents order by weight")
    assert got == [(m, w) for *_, m, w in rows]
    days = {d[0] for d in _rows(warehouse, "select value from survey_responses_long where question = 'datum'")}
    # a plain CSV's columns are text questions, kept as written; dd.mm.yyyy dates look like phone
    # numbers to the safety net, which drops such a column with a note rather than keep it
    dropped = any("datum dropped" in n for n in results[0].notes)
    assert len(days) == (0 if dropped else 2) and (dropped or encoding == "utf-8-sig")


def test_undeclared_phone_column_is_dropped_and_noted(warehouse, tmp_path):
    lines = ["resp_id,opcina,spol,dob,q1,obraz,strat,cluster,wgt,n_psu,napomena,komentar"]
    for i in range(4):
        remark = f"zvati na 06{i} 555 12{i}" if i < 3 else "061/555-123"
        lines.append(f"R{i},Drvar,1,30,5,1,drvar,p{i},1,10,{'+387 61 555 12' + str(i)},{remark}")
    path = tmp_path / "baseline_2022Q4.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = ingest_survey(warehouse, [path], mapping=_mapping(warehouse))
    assert results[0].rows_loaded == 4
    assert any("napomena dropped" in n for n in results[0].notes)
    assert any("blanked" in n or "komentar dropped" in n for n in results[0].notes)
    text = _warehouse_text(warehouse)
    assert "555 12" not in text and "061/555-123" not in text


def test_several_exports_and_edits_of_one_wave_count_each_submission_once(warehouse, sample, tmp_path):
    form = sample.survey / "citizen_survey_form.xlsx"
    full = _sheet(sample.survey / "citizen_survey_2024Q1.xlsx")
    full = full[~full["_uuid"].duplicated(keep=False)].head(30).reset_index(drop=True)
    first = tmp_path / "citizen_survey_2024Q1_a.csv"
    full.head(20).to_csv(first, index=False)
    edited = full.copy()
    edited.loc[3, "trust/trust_csw"] = str((int(float(edited.loc[3, "trust/trust_csw"] or 0)) + 1) % 11) \
        if edited.loc[3, "consent"] == "yes" else edited.loc[3, "trust/trust_csw"]
    edited.loc[3, "_submission_time"] = "2024-03-30T10:00:00"
    second = tmp_path / "citizen_survey_2024Q1_b.csv"
    edited.to_csv(second, index=False)  # cumulative: the first 20 again (one edited) and 10 more
    # the second export comes from a later version of the form (same form_id): still one wave
    import openpyxl

    later = tmp_path / "citizen_survey_form_v2.xlsx"
    wb = openpyxl.load_workbook(form)
    settings_sheet = wb["settings"]
    column = [c.value for c in settings_sheet[1]].index("version") + 1
    settings_sheet.cell(2, column).value = "2024.1"
    wb.save(later)
    ingest_survey(warehouse, [first], form=form)
    result = ingest_survey(warehouse, [second], form=later)[-1]
    changed = int(full.loc[3, "consent"] == "yes")
    assert (result.rows_loaded, result.replaced, result.unchanged) == (30, changed, 20 - changed)
    assert _rows(warehouse, "select count(*), count(distinct respondent_key) from stg_survey__submissions "
                            "where is_current") == [(30, 30)]
    # the later export holds every submission, so each one's current version is the later one
    assert _rows(warehouse, "select form_version, count(*) from stg_survey__submissions where is_current "
                            "group by 1") == [("2024.1", 30)]
    assert _rows(warehouse, "select form_version from survey_forms order by 1") == [("2023.1",), ("2024.1",)]
    consented = int((full["consent"] == "yes").sum())
    _respondents(warehouse)
    assert _rows(warehouse, "select count(*) from respondents") == [(consented,)]
    assert _rows(warehouse, "select count(*), min(old_batch_id), min(new_batch_id) from survey_replacements") == \
        [(changed, 2 if changed else None, 4 if changed else None)]


def test_quarantine_never_holds_personal_values_and_exports_neutralise_formulas(warehouse, sample, tmp_path):
    from pipeline.ingest.survey.quarantine import export_quarantine, read_quarantine

    export = _sheet(sample.survey / "citizen_survey_2023Q1.xlsx")
    export = export[export["consent"] == "yes"].head(4).reset_index(drop=True)
    export.loc[0, "location/municipality"] = '=HYPERLINK("http://x","y")'
    export.loc[1, "location/municipality"] = "+387 61 222 333"
    export.loc[2, "demographics/age"] = "@SUM(1)"
    path = tmp_path / "citizen_survey_2023Q1_part.csv"
    export.to_csv(path, index=False)
    ingest_survey(warehouse, [path], form=sample.survey / "citizen_survey_form.xlsx")
    frame = read_quarantine(warehouse)
    assert list(frame["value"]) == ['=HYPERLINK("http://x","y")', "<personal>", "@SUM(1)"]
    export_quarantine(frame, tmp_path / "q.csv")
    cells = pd.read_csv(tmp_path / "q.csv", encoding="utf-8-sig", dtype=str)["value"].tolist()
    assert cells == ["'=HYPERLINK(\"http://x\",\"y\")", "<personal>", "'@SUM(1)"]
    export_quarantine(frame, tmp_path / "q.xlsx")
    sheet = _sheet(tmp_path / "q.xlsx")
    assert list(sheet["value"]) == cells
    with pytest.raises(SpscError, match=r"\.txt"):
        export_quarantine(frame, tmp_path / "q.txt")


def test_cli_ingest_status_and_quarantine(warehouse, sample, tmp_path, capsys):
    from pipeline.cli import main

    export = tmp_path / "citizen_survey_2024Q4.xlsx"
    export.write_bytes((sample.survey / "citizen_survey_2024Q4.xlsx").read_bytes())
    form = sample.survey / "citizen_survey_form.xlsx"
    assert main(["ingest", "survey", str(export), "--form", str(form)]) == 0
    out = capsys.readouterr().out
    dirt = sample.truth["citizen_survey"]["waves"]["2024Q4"]
    assert f"read {dirt['rows']} = loaded" in out and "wave 2024Q4" in out
    assert main(["ingest", "survey", str(export), "--form", str(form)]) == 0
    assert "already loaded as batch 2, nothing to do" in capsys.readouterr().out
    assert main(["quarantine", "--batch", "2", "--out", str(tmp_path / "q.xlsx")]) == 0
    assert "quarantine rows written" in capsys.readouterr().out
    assert len(_sheet(tmp_path / "q.xlsx")) == sum(
        dirt["dirt"][k] for k in ("municipality_misspelt", "age_out_of_range", "choice_not_in_form"))
    assert main(["quarantine", "--batch", "2"]) == 0
    cells = dirt["dirt"]["age_out_of_range"] + dirt["dirt"]["choice_not_in_form"]
    assert f"{dirt['dirt']['municipality_misspelt']} rows not loaded, {cells} cells loaded as missing, 0 notes" \
        in capsys.readouterr().out
    other = tmp_path / "citizen_survey_2024Q4.csv"
    _sheet(export).head(5).to_csv(other, index=False)
    assert main(["ingest", "survey", str(other)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "needs the XLSForm" in err and err.count("\n") == 1


def test_export_with_bosnian_labels_as_headers_and_values(warehouse, sample, tmp_path):
    from pipeline.ingest.survey.xlsform import label_in, read_form

    form_path = sample.survey / "citizen_survey_form.xlsx"
    form = read_form(form_path)
    export = _sheet(sample.survey / "citizen_survey_2024Q4.xlsx")
    export = export[~export["_uuid"].duplicated(keep=False)].head(25).reset_index(drop=True)
    names = export.copy()
    for q in form.questions:
        if q.path not in export.columns or not q.labels or q.type == "select_multiple":
            continue
        if q.type == "select_one" and q.list_name != "municipality":
            to_label = {c.name: label_in(c.labels, "bs") for c in form.choices if c.list_name == q.list_name}
            export[q.path] = export[q.path].map(lambda v, m=to_label: m.get(v, v))
        export = export.rename(columns={q.path: label_in(q.labels, "bs")})
    assert "Spol" in export.columns and set(export["Spol"].dropna()) <= {"Muško", "Žensko", "n/a"}
    path = tmp_path / "citizen_survey_2024Q4_labels.csv"
    export.to_csv(path, index=False)
    result = ingest_survey(warehouse, [path], form=form_path)[-1]
    consented = names["consent"] == "yes"
    assert (result.rows_read, result.rows_loaded + result.rows_quarantined) == (25, 25)
    _respondents(warehouse)
    got = dict(_rows(warehouse, "select sex, count(*) from respondents group by sex"))
    loaded = names[consented & ~names.index.isin([r - 2 for (r,) in _rows(warehouse, "select source_row from "
                                                                                   "quarantine")])]
    assert got == loaded["demographics/sex"].value_counts().to_dict()


def test_big_csv_path_blank_lines_row_numbers_and_background_hash(warehouse, sample, tmp_path, monkeypatch):
    import pipeline.ingest.survey.load as survey

    monkeypatch.setattr(survey, "_BACKGROUND_HASH_BYTES", 0)  # every CSV takes the big-file path
    export = _sheet(sample.survey / "citizen_survey_2024Q1.xlsx")
    export = export[(export["consent"] == "yes") & ~export["_uuid"].duplicated(keep=False)].head(6)
    export = export[export["location/municipality"].isin(["drvar", "livno", "ribnik", "kljuc", "glamoc",
                                                          "sanski_most", "bosansko_grahovo",
                                                          "bosanski_petrovac", "mrkonjic_grad"])]
    export = export[export["demographics/education"] != "vocational"].reset_index(drop=True)
    export.loc[4, "demographics/age"] = "130"
    lines = export.to_csv(index=False).splitlines()
    # a blank line after the second respondent: DuckDB would skip it, Excel shows row 4 empty
    path = tmp_path / "citizen_survey_2024Q1_blank.csv"
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n", encoding="utf-8")
    form = sample.survey / "citizen_survey_form.xlsx"
    first = ingest_survey(warehouse, [path], form=form)[-1]
    n = len(export)
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined, first.rows_blank) == (n + 1, n, 0, 1)
    assert first.cells_quarantined == 1
    # header on row 1, respondents on rows 2-3, the blank row 4, then respondents on rows 5-...:
    # the fifth respondent sits on row 7, as Excel shows it
    assert _rows(warehouse, "select source_row, column_name, value, action from quarantine") == [
        (7, "demographics/age", "130", "cell")]
    again = ingest_survey(warehouse, [path], form=form)
    assert [r.status for r in again] == ["already loaded"]


def test_big_files_validate_in_two_threads_with_the_same_result(warehouse, sample, tmp_path, monkeypatch):
    import pipeline.ingest.survey.problems as problems

    export = _sheet(sample.survey / "citizen_survey_2023Q1.xlsx").head(40)
    path = tmp_path / "citizen_survey_2023Q1_part.csv"
    export.to_csv(path, index=False)
    expected = ingest_survey(warehouse, [path], form=sample.survey / "citizen_survey_form.xlsx")[-1]
    serial = _rows(warehouse, "select source_row, column_name, value, rule, reason from quarantine order by all")
    monkeypatch.setattr(problems, "_PARALLEL_ROWS", 1)
    from pipeline.project.scaffold import new_project

    new_project(tmp_path / "other", example="spsc")
    other = get_settings(home=tmp_path / "other", project=tmp_path / "other")
    init_warehouse(other)
    got = ingest_survey(other, [path], form=sample.survey / "citizen_survey_form.xlsx")[-1]
    assert (got.rows_loaded, got.rows_quarantined) == (expected.rows_loaded, expected.rows_quarantined)
    assert _rows(other, "select source_row, column_name, value, rule, reason from quarantine order by all") == serial


def test_a_form_alone_loads_its_codebook_once(warehouse, sample):
    form = sample.survey / "youth_prepost_form.xlsx"
    first = ingest_survey(warehouse, [], form=form)
    assert [(r.status, r.rows_loaded) for r in first] == [("form loaded", 49)]
    assert [r.status for r in ingest_survey(warehouse, [], form=form)] == ["form already loaded"]
    assert _rows(warehouse, "select count(*) from codebook_questions where repeat_path = 'previous_activities'") \
        == [(2,)]


def test_title_rows_hidden_sheets_and_nul_bytes(warehouse, sample, tmp_path):
    import openpyxl

    export = _sheet(sample.survey / "citizen_survey_2023Q1.xlsx")
    export = export[(export["consent"] == "yes") & ~export["_uuid"].duplicated(keep=False)]
    export = export[export["demographics/education"] != "vocational"].head(5)
    export = export[export["location/municipality"].isin(["drvar", "livno", "kljuc", "ribnik", "glamoc"])]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "spsc_citizen_survey"
    ws.append(["Izvoz iz KoboToolbox: SPSC istraživanje građana"])
    ws.append([])
    ws.append(list(export.columns))
    for row in export.itertuples(index=False):
        ws.append([None if v is None else str(v) for v in row])
    lists = wb.create_sheet("liste")
    lists.append(["yes"])
    lists.sheet_state = "hidden"
    path = tmp_path / "citizen_survey_2023Q1_titled.xlsx"
    wb.save(path)
    export.loc[export.index[0], "demographics/age"] = "abc"  # its row number proves the offset
    wb["spsc_citizen_survey"].cell(4, list(export.columns).index("demographics/age") + 1).value = "abc"
    wb.save(path)
    result = ingest_survey(warehouse, [path], form=sample.survey / "citizen_survey_form.xlsx")[-1]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (len(export), len(export), 0)
    assert any("title rows" in n for n in result.notes) and any("liste" in n for n in result.notes)
    assert _rows(warehouse, "select source_row, value, rule, action from quarantine") == [(4, "abc", "type", "cell")]
    nul = tmp_path / "citizen_survey_2023Q1_nul.csv"
    export.to_csv(nul, index=False)
    nul.write_bytes(nul.read_bytes().replace(b"yes", b"y\x00es", 1))
    with pytest.raises(RejectedFile, match="NUL"):
        ingest_survey(warehouse, [nul], form=sample.survey / "citizen_survey_form.xlsx")


def test_bad_metadata_cells_keep_their_submission(warehouse, sample, tmp_path):
    """A malformed ``today`` is a missing interview date, not a lost respondent; a malformed
    ``_submission_time`` is noted (it decides which edit counts) instead of vanishing."""
    export = _sheet(sample.survey / "citizen_survey_2024Q1.xlsx")
    export = export[(export["consent"] == "yes") & ~export["_uuid"].duplicated(keep=False)].head(9)
    export = export[export["location/municipality"].isin(PROJECT_IDS)]
    export = export[export["demographics/education"] != "vocational"].reset_index(drop=True)
    export["demographics/age"] = export["demographics/age"].where(
        pd.to_numeric(export["demographics/age"]).between(18, 95), "40")
    export.loc[0, "today"] = "31.02.2024"
    export.loc[1, "today"] = "juče"
    export.loc[2, "_submission_time"] = "not a time"
    path = tmp_path / "citizen_survey_2024Q1_meta.csv"
    export.to_csv(path, index=False)
    r = ingest_survey(warehouse, [path], form=sample.survey / "citizen_survey_form.xlsx")[-1]
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.cells_quarantined) == (len(export), len(export), 0, 2)
    got = _rows(warehouse, "select source_row, column_name, value, action from quarantine order by 1")
    assert got == [(2, "today", "31.02.2024", "cell"), (3, "today", "juče", "cell"),
                   (4, "_submission_time", "not a time", "note")]
    dates = _rows(warehouse, "select count(*), count(value) from survey_responses_long where question = 'today'")
    assert dates == [(len(export), len(export) - 2)]


def test_an_export_already_loaded_registers_no_new_form_version(warehouse, sample, tmp_path):
    from pipeline.ingest.survey.xlsform import read_form

    form = sample.survey / "citizen_survey_form.xlsx"
    export = sample.survey / "citizen_survey_2023Q1.xlsx"
    ingest_survey(warehouse, [export], form=form)
    # the same form saved as another version: the export is a no-op, so the version is not kept
    wb = openpyxl.load_workbook(form)
    ws = wb["settings"]
    col = [c.value for c in ws[1]].index("version") + 1
    ws.cell(2, col).value = "2099.1"
    other = tmp_path / "citizen_survey_form_2099.xlsx"
    wb.save(other)
    assert read_form(other).version == "2099.1"
    before = _snapshot(warehouse)
    results = ingest_survey(warehouse, [export], form=other)
    assert [r.status for r in results] == ["already loaded"]
    assert _snapshot(warehouse) == before
