"""KPI exports made by formpack (the exporter KoboToolbox itself runs) load whole, whatever
the export's options: XML values or labels in any language, groups in headers or not, CSV or
XLSX, several form versions in one table, repeats in groups, long names, media and geo.

Every export of a fixture is loaded into one warehouse as a wave of its own, so the answers
loaded from each can be compared with those loaded from the XML export: the same
submissions, the same answers (select_multiple included), and no personal value anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from helpers import query as _rows
from helpers import warehouse_fingerprint as _snapshot

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.kobo import HeaderResolver
from pipeline.ingest.survey.load import ingest_survey
from pipeline.ingest.survey.xlsform import read_form

# fixture -> submissions in the main table and rows per repeat table (from SOURCES.md and the
# fixture JSON: facts about the fixtures, not results of this code)
EXPECTED = {
    "formpack_analysis_form": (6, {}),
    "formpack_analysis_form_advanced": (3, {}),
    "formpack_analysis_form_repeat_groups": (1, {"stores": 1, "stores/recordings/record_interactions": 3,
                                                 "stores/recordings/record_ambient_noises": 2}),
    "formpack_favorite_coffee": (5, {}),
    "formpack_geojson_and_selects": (1, {}),
    "formpack_long_unicode_labels": (0, {}),
    "formpack_media_types": (3, {}),
    "formpack_quotes_newlines_and_long_urls": (5, {}),
    "formpack_select_one_from_previous_answers": (1, {"FM": 2}),
    "formpack_selectone_to_multiple": (9, {}),
    "formpack_translations_labels_mismatch": (1, {}),
}
_FORM = re.compile(r"_form(?:_v(\d+))?\.xlsx$")


def _forms(folder: Path) -> list[Path]:
    """The folder's XLSForms, latest version first (``*_form.xlsx``, then ``_v2``, ``_v1``)."""
    found = [(m.group(1), p) for p in folder.glob("*.xlsx") if (m := _FORM.search(p.name))]
    return [p for _, p in sorted(found, key=lambda x: -1e9 if x[0] is None else -int(x[0]))]


def _exports(folder: Path) -> list[Path]:
    forms = set(_forms(folder))
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".xlsx", ".csv") and p not in forms)


@pytest.fixture(scope="module")
def kobo(shared_dir):
    return shared_dir / "kobo"


@pytest.fixture(scope="module")
def loaded(kobo, tmp_path_factory):
    """Every formpack export loaded, each fixture into a warehouse of its own, each export as a
    wave of its own: {fixture: (settings, {export name: (wave, result)})}."""
    from pipeline.config import get_settings
    from pipeline.warehouse.setup import init_warehouse

    out = {}
    for name in EXPECTED:
        folder = kobo / name
        root = tmp_path_factory.mktemp(name)
        settings = get_settings(home=root)
        init_warehouse(settings)
        by_export = {}
        for i, export in enumerate(_exports(folder)):
            wave = f"20{10 + i}Q1"
            results = ingest_survey(settings, [export], form=_forms(folder), wave=wave)
            loads = [r for r in results if r.status == "loaded"]
            if not loads:  # the same bytes as an export before it (KPI wrote identical files)
                assert [r.status for r in results] == ["already loaded"], (export, results)
                continue
            by_export[export.name] = (wave, loads[0])
        out[name] = (settings, by_export)
    return out


def _answers(settings, wave: str) -> set[tuple]:
    return set(_rows(settings, "select respondent_key, question, value from survey_responses_long "
                               "where wave = ? and value is not null", [wave]))


def _repeat_rows(settings, wave: str) -> set[tuple]:
    return set(_rows(settings, "select respondent_key, repeat_path, row_index, parent_path, parent_index, "
                               "question, value from survey_repeat_rows where wave = ?", [wave]))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_export_loads_every_submission(loaded, name):
    settings, by_export = loaded[name]
    submissions, repeats = EXPECTED[name]
    assert by_export, f"no exports in {name}"
    for export, (wave, r) in by_export.items():
        expect = submissions + (sum(repeats.values()) if export.endswith(".xlsx") else 0)
        assert (r.rows_read - r.rows_blank, r.rows_loaded, r.rows_quarantined) == (expect, expect, 0), export
        # every version given: nothing fits no version, nothing is set missing
        assert r.cells_quarantined == 0, export
        got = _rows(settings, "select count(*) from stg_survey__submissions where wave = ? and is_current",
                    [wave])
        assert got == [(submissions,)], export


@pytest.mark.parametrize("name", list(EXPECTED))
def test_labels_and_csv_exports_hold_the_answers_of_the_xml_export(loaded, name):
    settings, by_export = loaded[name]
    # the XML export (or the labels export with the same bytes, loaded first)
    xml = next((e for e in by_export if e.endswith("_xml.xlsx")), None) or \
        next(e for e in by_export if e.endswith(".xlsx"))
    reference = _answers(settings, by_export[xml][0])
    reference_repeats = _repeat_rows(settings, by_export[xml][0])
    for export, (wave, _) in by_export.items():
        assert _answers(settings, wave) == reference, export
        if export.endswith(".xlsx"):
            assert _repeat_rows(settings, wave) == reference_repeats, export


def test_select_multiple_from_labels_with_spaces_and_every_version(loaded):
    settings, by_export = loaded["formpack_favorite_coffee"]
    for export in ("formpack_favorite_coffee_labels.xlsx", "formpack_favorite_coffee_xml.csv"):
        wave = by_export[export][0]
        values = sorted(v for (v,) in _rows(settings, "select value from survey_responses_long where wave = ? "
                                                       "and question = 'favorite_coffee_type'", [wave]))
        # v1 rows answer 'italian', which v2 no longer offers: read with v1, they stay
        assert values == ["american", "american british", "french", "french italian", "italian"], export
    settings, by_export = loaded["formpack_selectone_to_multiple"]
    wave = by_export["formpack_selectone_to_multiple_labels.xlsx"][0]
    by_version = sorted(_rows(settings, "select form_version, value from survey_responses_long where wave = ? "
                                        "and question = 'q1'", [wave]))
    # text (v1), select_one (v2), select_multiple (v3): each read with its own version
    assert by_version == [("v1_textq", "Response 1"), ("v1_textq", "Response 2"), ("v2_select1", "opt1"),
                          ("v2_select1", "opt1"), ("v2_select1", "opt2"), ("v3_selectmult", "opt1"),
                          ("v3_selectmult", "opt1 opt2"), ("v3_selectmult", "opt1 opt3"),
                          ("v3_selectmult", "opt2 opt3")]
    settings, by_export = loaded["formpack_analysis_form_advanced"]
    wave = by_export["formpack_analysis_form_advanced_labels_esperanto.xlsx"][0]
    goods = sorted(v for (v,) in _rows(settings, "select value from survey_responses_long where wave = ? and "
                                                  "question = 'clerk_interactions/goods_sold'", [wave]))
    assert goods == ["chocolate", "chocolate fruit pasta", "pasta"]


def test_the_codebook_keeps_every_version(loaded):
    settings, _ = loaded["formpack_selectone_to_multiple"]
    assert _rows(settings, "select form_version, type from codebook_questions where question = 'q1' "
                           "order by 1") == [("v1_textq", "text"), ("v2_select1", "select_one"),
                                             ("v3_selectmult", "select_multiple")]
    assert _rows(settings, "select count(*) from survey_forms where form_id = 'selectone_to_multiple'") == [(3,)]


def test_repeats_in_groups_keep_every_instance_and_its_links(loaded):
    settings, by_export = loaded["formpack_analysis_form_repeat_groups"]
    for export in ("formpack_analysis_form_repeat_groups_xml.xlsx",
                   "formpack_analysis_form_repeat_groups_labels_esperanto.xlsx"):
        wave = by_export[export][0]
        # the store's only answer is its name (personal) and its recordings are audio (personal):
        # no answer of them is stored, but every instance is, linked as in the export
        instances = _rows(settings, "select repeat_path, row_index, parent_path, parent_index "
                                    "from survey_repeat_instances where wave = ? order by 1, 2", [wave])
        assert instances == [
            ("stores", 1, None, 1),
            ("stores/recordings/record_ambient_noises", 1, "stores", 1),
            ("stores/recordings/record_ambient_noises", 2, "stores", 1),
            ("stores/recordings/record_interactions", 1, "stores", 1),
            ("stores/recordings/record_interactions", 2, "stores", 1),
            ("stores/recordings/record_interactions", 3, "stores", 1)], export
    settings, by_export = loaded["formpack_select_one_from_previous_answers"]
    wave = by_export["formpack_select_one_from_previous_answers_xml.xlsx"][0]
    ages = _rows(settings, "select row_index, value from survey_repeat_rows where wave = ? "
                           "and question = 'FM/Q3' order by 1", [wave])
    assert [a[0] for a in ages] == [1, 2] and all(v is not None for _, v in ages)


def _personal_values(folder: Path, settings) -> set[str]:
    """Every value the raw XML export holds in a column of a personal question or Kobo's
    personal bookkeeping (names, media file names, GPS, analysis transcripts)."""
    personal = {q for (q,) in _rows(settings, "select distinct name from codebook_questions where is_personal")}
    out: set[str] = set()
    wb = openpyxl.load_workbook(next(folder.glob("*_xml.xlsx")), read_only=True)
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            continue
        for j, header in enumerate(rows[0]):
            h = str(header or "")
            base = h.split("/")[-1].split(" - ")[0].lstrip("_").rsplit("_latitude", 1)[0]
            if base in personal or " - " in h or h in ("_submitted_by", "meta/rootUuid"):
                out |= {str(r[j]) for r in rows[1:] if r[j] not in (None, "")}
    out -= {"True", "False"}  # analysis 'verified' flags
    return {v for v in out if len(v) > 3 and not re.fullmatch(r"[\d.]+", v)} | \
        {v for v in out if re.fullmatch(r"-?\d+\.\d{3,}", v)}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_no_personal_value_is_stored_anywhere(loaded, kobo, name):
    settings, _ = loaded[name]
    values = _personal_values(kobo / name, settings)
    everything = "\x1f".join(str(v) for t in _snapshot(settings) for row in _rows(settings, f"select * from {t}")
                             for v in row)
    leaked = sorted(v for v in values if v in everything)
    assert leaked == []


def test_personal_questions_by_type_label_and_choices(kobo):
    media = read_form(kobo / "formpack_media_types" / "formpack_media_types_form.xlsx")
    # pyxform calls an image question 'photo'; the audit log is Kobo metadata
    assert {q.name: bool(q.personal) for q in media.questions} == {
        "fav_emperor": False, "image_of_emperor": True, "another_image_of_emperor": True}
    resolver = HeaderResolver(media)
    assert [resolver.resolve(h, None).personal for h in ("audit", "meta/audit", "_submitted_by", "imei")] == \
        [True, True, True, True]
    family = read_form(kobo / "formpack_select_one_from_previous_answers" /
                       "formpack_select_one_from_previous_answers_form.xlsx")
    # Q2 asks "Name?"; Q4 and Q5 choose among those names
    assert {q.name: bool(q.personal) for q in family.questions} == {
        "Q1": False, "Q2": True, "Q3": False, "Q4": True, "Q5": True}


def test_cut_and_deduplicated_sheet_names_are_matched_to_their_repeats(kobo, warehouse, tmp_path):
    """KPI cuts sheet names to Excel's 31 characters (28 + '...', 24 + '... (1)' on a clash):
    the sheets are found by their columns and links, whatever their names say."""
    folder = kobo / "formpack_analysis_form_repeat_groups"
    wb = openpyxl.load_workbook(folder / "formpack_analysis_form_repeat_groups_xml.xlsx")
    wb["record_interactions"].title = "record_interactions_of_the_..."
    wb["record_ambient_noises"].title = "record_ambient_noises_of... (1)"
    wb["stores"].title = "A store sheet nobody named so"
    path = tmp_path / "cut_names.xlsx"
    wb.save(path)
    results = ingest_survey(warehouse, [path], form=_forms(folder), wave="2016Q1")
    r = results[-1]
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (7, 7, 0)
    assert dict(_rows(warehouse, "select repeat_path, count(*) from survey_repeat_instances group by 1")) == {
        "stores": 1, "stores/recordings/record_interactions": 3, "stores/recordings/record_ambient_noises": 2}


def test_unknown_versions_are_read_with_the_latest_and_kept_as_text(kobo, warehouse):
    folder = kobo / "formpack_favorite_coffee"
    results = ingest_survey(warehouse, [folder / "formpack_favorite_coffee_xml.xlsx"],
                            form=folder / "formpack_favorite_coffee_form.xlsx", wave="2016Q1")
    r = results[-1]
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.cells_quarantined) == (5, 5, 0, 0)
    assert any("fcv1 (3 rows)" in n for n in r.notes)
    notes = _rows(warehouse, "select source_row, value, action from quarantine order by 1")
    assert notes == [(2, "french italian", "note"), (3, "italian", "note")]
    values = sorted(v for (v,) in _rows(warehouse, "select value from survey_responses_long "
                                                    "where question = 'favorite_coffee_type'"))
    assert values == ["american", "american british", "french", "french italian", "italian"]


def test_versions_of_different_forms_are_refused(kobo, warehouse):
    before = _snapshot(warehouse)
    with pytest.raises(RejectedFile, match="versions of different forms"):
        ingest_survey(warehouse, [kobo / "formpack_favorite_coffee/formpack_favorite_coffee_xml.xlsx"],
                      form=[kobo / "formpack_favorite_coffee/formpack_favorite_coffee_form.xlsx",
                            kobo / "formpack_media_types/formpack_media_types_form.xlsx"], wave="2016Q1")
    assert _snapshot(warehouse) == before


def _all_pairs(kobo: Path) -> list[tuple[Path, Path]]:
    folders = [kobo / n for n in EXPECTED if EXPECTED[n][0]] + \
        [kobo / n for n in ("kobocat_transportation", "kobocat_nested_repeats")]
    exports = {f: next(iter(_exports(f)), None) or next(f.glob("*.csv")) for f in folders}
    forms = {f: (_forms(f) or sorted(f.glob("*.xls"))[:1])[0] for f in folders}
    for f in folders:
        if f.name == "kobocat_transportation":
            exports[f] = f / "transportation_export.xlsx"
        if f.name == "kobocat_nested_repeats":
            exports[f] = f / "nested_repeats.csv"
    return [(exports[a], forms[b]) for a in folders for b in folders if a != b]


def test_an_export_is_never_accepted_with_another_form(kobo, warehouse):
    """Every export against every other fixture's form: refused, in one line naming the file, the
    form and how many columns are its questions; the warehouse (codebook included) unchanged."""
    before = _snapshot(warehouse)
    for export, form in _all_pairs(kobo):
        with pytest.raises(RejectedFile) as err:
            ingest_survey(warehouse, [export], form=form, wave="2016Q1")
        text = str(err.value)
        assert export.name in text and "\n" not in text, text
        assert re.search(r"does not look like an export of form \S+: \d+ of \d+ columns", text), text
    assert _snapshot(warehouse) == before


def test_a_flattened_export_is_refused_in_one_line(kobo, warehouse, tmp_path):
    """Kobocat's flattened CSV: one row per repeat instance, parent answers repeated."""
    folder = kobo / "kobocat_childrens_survey"
    main = (folder / "childrens_survey.csv").read_text(encoding="utf-8").splitlines()
    kids = (folder / "children.csv").read_text(encoding="utf-8").splitlines()
    header = main[0].split(",")[:2] + kids[0].split(",")[:2] + ["_uuid"]
    rows = [",".join(header)] + [",".join(["Abe", "35", *k.split(",")[:2], "u1"]) for k in kids[1:]]
    path = tmp_path / "flat.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = _snapshot(warehouse)
    with pytest.raises(RejectedFile, match="flattened export"):
        ingest_survey(warehouse, [path], form=folder / "childrens_survey.xls", wave="2016Q1")
    assert _snapshot(warehouse) == before


def test_device_metadata_in_an_export_is_never_stored(kobo, warehouse, tmp_path):
    folder = kobo / "formpack_media_types"
    wb = openpyxl.load_workbook(folder / "formpack_media_types_xml.xlsx")
    ws = wb.worksheets[0]
    width = ws.max_column
    planted = {"imei": "353918057812345", "deviceid": "collect:Xq8Zp2", "phonenumber": "+38761222333",
               "simserial": "8938700112233445566", "username": "enumerator_jovana"}
    for j, (header, value) in enumerate(planted.items(), start=1):
        ws.cell(1, width + j).value = header
        for i in range(2, ws.max_row + 1):
            ws.cell(i, width + j).value = value
    path = tmp_path / "with_device_columns.xlsx"
    wb.save(path)
    r = ingest_survey(warehouse, [path], form=_forms(folder), wave="2016Q1")[-1]
    assert (r.rows_read, r.rows_loaded) == (3, 3)
    everything = "\x1f".join(str(v) for t in _snapshot(warehouse) for row in _rows(warehouse, f"select * from {t}")
                             for v in row)
    assert [v for v in planted.values() if v in everything] == []


def test_labels_of_a_version_not_given_are_kept_whole(kobo, warehouse):
    """'French Italian' in a labels export read with v2 only (which no longer offers Italian):
    kept as it is and noted, never cut to the part v2 knows ('french')."""
    folder = kobo / "formpack_favorite_coffee"
    r = ingest_survey(warehouse, [folder / "formpack_favorite_coffee_labels.xlsx"],
                      form=folder / "formpack_favorite_coffee_form.xlsx", wave="2016Q1")[-1]
    assert (r.rows_read, r.rows_loaded, r.cells_quarantined) == (5, 5, 0)
    values = sorted(v for (v,) in _rows(warehouse, "select value from survey_responses_long "
                                                    "where question = 'favorite_coffee_type'"))
    assert values == ["French Italian", "Italian", "american", "american british", "french"]
    assert _rows(warehouse, "select source_row, value, action from quarantine order by 1") == [
        (2, "French Italian", "note"), (3, "Italian", "note")]
