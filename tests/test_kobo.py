"""Real KoboToolbox exports (../shared/kobo, from kobocat's test suite) load with every value,
repeat link and count accounted for."""

from __future__ import annotations

import openpyxl
import pytest
from helpers import query as _rows
from helpers import warehouse_fingerprint as _snapshot

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.kobo import HeaderResolver
from pipeline.ingest.survey.load import ingest_survey
from pipeline.ingest.survey.xlsform import read_form

WAVE = "2013Q1"


def _summary(results):
    return [(r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_blank) for r in results]


@pytest.fixture
def kobo(shared_dir):
    return shared_dir / "kobo"


def test_nested_repeats_csv(warehouse, kobo):
    folder = kobo / "kobocat_nested_repeats"
    results = ingest_survey(warehouse, [folder / "nested_repeats.csv"], form=folder / "nested_repeats.xls",
                            wave=WAVE)
    assert _summary(results) == [("form loaded", 15, 15, 0, 0), ("loaded", 2, 2, 0, 0)]
    answers = dict(((k, q), v) for k, q, v in _rows(
        warehouse, "select respondent_key, question, value from survey_responses_long"))
    first, second = (r[0] for r in _rows(
        warehouse, "select respondent_key from stg_survey__submissions order by source_row"))
    # select_multiple rebuilt from its True/False columns, as the raw XML submissions have it
    assert answers[(first, "web_browsers")] == "ie safari"
    assert answers[(second, "web_browsers")] == "firefox chrome ie"
    assert answers[(first, "kids/has_kids")] == "1"
    assert answers[(second, "kids/nested_group/nested_age")] == "38"
    kids = _rows(warehouse, "select respondent_key = ?, row_index, parent_index, value from survey_repeat_rows "
                            "where repeat_path = 'kids/kids_details' order by row_index", [first])
    assert kids == [(True, 1, 1, "2"), (True, 2, 1, "1"), (False, 3, 2, "8"), (False, 4, 2, "5"),
                    (False, 5, 2, "3")]
    shots = _rows(warehouse, "select parent_index, value from survey_repeat_rows where repeat_path = "
                             "'kids/kids_details/kids_immunization' order by row_index")
    assert shots == [(1, "Polio"), (1, "Measles"), (1, "Malaria"), (2, "TB"), (2, "Rickets"),
                     (3, "Berry Berry"), (3, "Scurvy"), (4, "Measles"), (4, "Flu"), (4, "Anemia"),
                     (5, "Polio 2")]
    # names, the address and GPS never enter the warehouse
    questions = {r[0] for r in _rows(warehouse, "select distinct question from survey_repeat_rows "
                                                "union select distinct question from survey_responses_long")}
    assert not {"kids/kids_details/kids_name", "address", "gps", "kids/nested_group/nested_name"} & questions
    assert _rows(warehouse, "select is_personal from codebook_questions where question = 'gps'") == [(True,)]


def test_transportation_xlsx_then_cumulative_csv(warehouse, kobo):
    folder = kobo / "kobocat_transportation"
    form = folder / "transportation.xls"
    first = ingest_survey(warehouse, [folder / "transportation_export.xlsx"], form=form, wave=WAVE)
    # 'none' is not a choice: the submission loads, that answer is missing, the value kept aside
    assert _summary(first) == [("form loaded", 26, 26, 0, 0), ("loaded", 4, 4, 0, 0)]
    assert first[1].cells_quarantined == 1
    problem = _rows(warehouse, "select sheet, source_row, column_name, value, rule, action from quarantine")
    assert problem == [("transportation_2011_07_25", 2,
                        "transport/available_transportation_types_to_referral_facility", "none", "choice", "cell")]
    q = "transport/available_transportation_types_to_referral_facility"
    assert _rows(warehouse, "select count(*), count(value) from survey_responses_long where question = ?",
                 [q]) == [(4, 3)]
    # the legacy CSV export holds the same 4 submissions (0/1 columns only, 'n/a' for skipped)
    second = ingest_survey(warehouse, [folder / "transportation_export_legacy.csv"], form=form, wave=WAVE)
    assert _summary(second) == [("loaded", 4, 4, 0, 0)]
    # 'none' has no 0/1 column, so the CSV's row holds that answer missing too: all four the same
    assert (second[0].replaced, second[0].unchanged) == (0, 4)
    assert _rows(warehouse, "select count(*) from survey_replacements") == [(0,)]
    current = _rows(warehouse, "select count(*), count(distinct respondent_key) from stg_survey__submissions "
                               "where is_current")
    assert current == [(4, 4)]
    values = sorted(_rows(warehouse, "select question, value from survey_responses_long where value is not null"))
    q = "transport/available_transportation_types_to_referral_facility"
    assert values == sorted([
        (q, "ambulance bicycle"), (q, "ambulance"), (q, "taxi other"),
        (q + "_other", "camel"),
        ("transport/loop_over_transport_types_frequency/ambulance/frequency_to_referral_facility", "daily"),
        ("transport/loop_over_transport_types_frequency/bicycle/frequency_to_referral_facility", "weekly"),
        ("transport/loop_over_transport_types_frequency/ambulance/frequency_to_referral_facility", "weekly"),
        ("transport/loop_over_transport_types_frequency/taxi/frequency_to_referral_facility", "daily"),
    ])


def test_skipped_as_na_or_blank_is_the_same_submission(warehouse, kobo):
    folder = kobo / "kobocat_transportation"
    form = folder / "transportation.xls"
    ingest_survey(warehouse, [folder / "transportation_export.csv"], form=form, wave=WAVE)
    again = ingest_survey(warehouse, [folder / "transportation_export_without_na.csv"], form=form, wave=WAVE)
    assert _summary(again) == [("loaded", 1, 1, 0, 0)]
    assert (again[0].replaced, again[0].unchanged) == (0, 1)
    assert _rows(warehouse, "select count(*) from respondents") == [(0,)]  # not a project form
    assert _rows(warehouse, "select count(distinct respondent_key) from survey_responses_long") == [(1,)]


def test_childrens_survey_multi_table_export(warehouse, kobo):
    folder = kobo / "kobocat_childrens_survey"
    files = [folder / f for f in ("childrens_survey.csv", "children.csv", "children_cartoons.csv",
                                  "children_cartoons_characters.csv")]
    results = ingest_survey(warehouse, files, form=folder / "childrens_survey.xls", wave=WAVE)
    # main table: Abe plus a row holding nothing but its _index; 'evil' is not a good_evil
    # choice: the character is kept, that answer missing
    assert _summary(results) == [("form loaded", 21, 21, 0, 0), ("loaded", 2, 1, 0, 1), ("loaded", 3, 3, 0, 0),
                                 ("loaded", 4, 4, 0, 0), ("loaded", 2, 2, 0, 0)]
    assert _rows(warehouse, "select file_name, source_row, value, rule, action from quarantine") == [
        ("children_cartoons_characters.csv", 3, "evil", "choice", "cell")]
    assert _rows(warehouse, "select question, value from survey_responses_long") == [("age", "35")]
    children = _rows(warehouse, "select row_index, parent_index, question, value from survey_repeat_rows "
                                "where repeat_path = 'children' and value is not null order by 1, 3")
    assert children == [(1, 1, "children/age", "5"), (1, 1, "children/fav_colors", "red blue"),
                        (1, 1, "children/ice.creams", "vanilla chocolate"), (2, 1, "children/age", "2"),
                        (3, 1, "children/age", "3")]
    cartoons = _rows(warehouse, "select row_index, parent_path, parent_index, value from survey_repeat_rows "
                                "where repeat_path = 'children/cartoons' order by 1")
    assert cartoons == [(1, "children", 1, "Tom is silly"), (2, "children", 1, "I like bam bamć"),
                        (3, "children", 3, "He's so funny"), (4, "children", 3, "He thinks hes smart")]
    characters = _rows(warehouse, "select parent_index, question, value from survey_repeat_rows "
                                  "where repeat_path = 'children/cartoons/characters' order by row_index")
    assert characters == [(4, "children/cartoons/characters/good_or_evil", "good"),
                          (4, "children/cartoons/characters/good_or_evil", None)]
    # names and phone numbers are dropped at read time: nothing of them anywhere
    everything = " ".join(str(v) for t, _ in _snapshot(warehouse).items()
                          for row in _rows(warehouse, f"select * from {t}") for v in row)
    for raw in ("Abe", "Mike", "Imora", "Dee Dee", "Dexter,", "020123456"):
        assert raw not in everything


def test_header_resolution_of_label_and_bare_name_exports(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in (["type", "name", "label::English (en)", "label::Bosanski (bs)"],
                ["begin_group", "g", "Group", "Grupa"], ["select_multiple fruit", "likes", "Likes", "Voli"],
                ["integer", "n", "How many", "Koliko"], ["end_group", None, None, None],
                ["begin_repeat", "kids", "Kids", "Djeca"], ["integer", "kid_age", "Kid age", "Dob djeteta"],
                ["end_repeat", None, None, None], ["geopoint", "spot", "Spot", "Mjesto"]):
        ws.append(row)
    choices = wb.create_sheet("choices")
    for row in (["list_name", "name", "label::English (en)", "label::Bosanski (bs)"],
                ["fruit", "apple", "Apple", "Jabuka"], ["fruit", "plum", "Plum", "Šljiva"]):
        choices.append(row)
    wb.save(tmp_path / "f.xlsx")
    resolver = HeaderResolver(read_form(tmp_path / "f.xlsx"))

    def what(header, scope=None):
        r = resolver.resolve(header, scope)
        return (r.kind, r.path, r.choice, r.meta, r.indices)

    assert what("g/n") == ("question", "g/n", None, None, ())
    assert what("n") == ("question", "g/n", None, None, ())
    assert what("How many") == ("question", "g/n", None, None, ())
    assert what("Koliko") == ("question", "g/n", None, None, ())
    assert what("g/likes/plum") == ("option", "g/likes", "plum", None, ())
    assert what("Voli/Šljiva") == ("option", "g/likes", "plum", None, ())
    assert what("Group/Likes/Apple") == ("option", "g/likes", "apple", None, ())
    assert what("kids[2]/kid_age") == ("question", "kids/kid_age", None, None, (2,))
    assert what("kid_age", "kids") == ("question", "kids/kid_age", None, None, ())
    assert what("_uuid") == ("meta", None, None, "uuid", ())
    assert what("_spot_latitude")[:2] == ("drop", "spot")
    assert resolver.resolve("_spot_latitude", None).personal
    assert what("something else") == ("unknown", None, None, None, ())


def test_export_of_another_form_is_rejected_and_changes_nothing(warehouse, kobo):
    before = _snapshot(warehouse)
    with pytest.raises(RejectedFile, match="does not look like an export of form transportation") as err:
        ingest_survey(warehouse, [kobo / "kobocat_nested_repeats/nested_repeats.csv"],
                      form=kobo / "kobocat_transportation/transportation.xls", wave=WAVE)
    assert "nested_repeats.csv" in str(err.value) and "\n" not in str(err.value)
    assert _snapshot(warehouse) == before


def test_repeat_table_without_its_main_file_is_rejected(warehouse, kobo):
    folder = kobo / "kobocat_childrens_survey"
    before = _snapshot(warehouse)
    with pytest.raises(RejectedFile, match="main file"):
        ingest_survey(warehouse, [folder / "children.csv", folder / "children_cartoons.csv"],
                      form=folder / "childrens_survey.xls", wave=WAVE)
    assert _snapshot(warehouse) == before
