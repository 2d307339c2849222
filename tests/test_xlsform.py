"""XLSForms read with pyxform into a codebook: questions, repeats, loops, choices, languages."""

from __future__ import annotations

import openpyxl
import pytest

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.schema import constraint_range
from pipeline.ingest.survey.xlsform import label_in, personal_reason, read_form


def _write_form(path, survey, choices, settings):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey:
        ws.append(row)
    ws = wb.create_sheet("choices")
    for row in choices:
        ws.append(row)
    ws = wb.create_sheet("settings")
    for row in settings:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def bilingual_form(tmp_path):
    return _write_form(
        tmp_path / "form.xlsx",
        [["type", "name", "label::English (en)", "label::Bosanski (bs)", "required", "constraint", "relevant"],
         ["select_one yes_no", "consent", "Consent?", "Pristanak?", "yes", None, None],
         ["begin_group", "about", "About you", "O vama", None, None, "${consent} = 'yes'"],
         ["integer", "age", "Age", "Godine", "yes", ". >= 18 and . <= 95", None],
         ["text", "respondent_name", "Name", "Ime i prezime", None, None, None],
         ["date", "birth_date", "Date of birth", "Datum rođenja", None, None, None],
         ["end_group", None, None, None, None, None, None],
         ["geopoint", "where", "Location", "Lokacija", None, None, None]],
        [["list_name", "name", "label::English (en)", "label::Bosanski (bs)"],
         ["yes_no", "yes", "Yes", "Da"], ["yes_no", "no", "No", "Ne"]],
        [["form_id", "version", "default_language"], ["bilingual", "2024.1", "English (en)"]])


def test_bilingual_form_has_labels_in_both_languages_and_its_version(bilingual_form):
    form = read_form(bilingual_form)
    assert (form.form_id, form.version, form.default_language) == ("bilingual", "2024.1", "English (en)")
    assert form.languages == ["English (en)", "Bosanski (bs)"]
    age = form.question("about/age")
    assert age.labels == {"English (en)": "Age", "Bosanski (bs)": "Godine"}
    assert (age.type, age.required, age.constraint) == ("integer", True, ". >= 18 and . <= 95")
    assert form.is_conditional(age)  # its group is shown only after consent
    assert not form.is_conditional(form.question("consent"))
    assert form.choice_names("yes_no") == ["yes", "no"]
    assert label_in(form.question("consent").labels, "bs") == "Pristanak?"


def test_personal_questions_are_flagged_by_type_and_name(bilingual_form):
    form = read_form(bilingual_form)
    flags = {q.path: q.personal for q in form.questions}
    assert flags == {
        "consent": None, "about/age": None,
        "about/respondent_name": "free text named like 'name'",
        "about/birth_date": "exact birth date",
        "where": "GPS coordinates",
    }


@pytest.mark.parametrize(("name", "qtype", "personal"), [
    ("phone", "text", True), ("tel.office", "text", True), ("e_mail", "text", True),
    ("participant_name", "text", True), ("adresa", "text", True), ("settlement", "text", False),
    ("participant_code", "text", False), ("age", "integer", False), ("signature", "image", True),
    ("dob", "date", True), ("interview_date", "date", False), ("hotel", "text", False),
])
def test_personal_reason(name, qtype, personal):
    assert (personal_reason(name, qtype) is not None) is personal


@pytest.mark.parametrize(("expr", "bounds"), [
    (". >= 18 and . <= 95", (18, 95)), (". > 0", (1, None)), (". < 11", (None, 10)),
    (". >= 0 and . <= 10", (0, 10)), ("regex(., '^[0-9]+$')", (None, None)), (None, (None, None)),
    ("not(selected(., 'none') and count-selected(.) > 1)", (None, None)),
])
def test_constraint_range(expr, bounds):
    assert constraint_range(expr) == bounds


def test_kobo_nested_repeats_form(shared_dir):
    form = read_form(shared_dir / "kobo/kobocat_nested_repeats/nested_repeats.xls", fallback_version="v0")
    assert (form.form_id, form.version) == ("nested_repeats", "v0")
    assert form.repeats == ["kids/kids_details", "kids/kids_details/kids_immunization"]
    q = form.question("kids/kids_details/kids_immunization/immunization_info")
    assert q.repeat_path == "kids/kids_details/kids_immunization"
    assert form.parent_repeat(q.repeat_path) == "kids/kids_details"
    assert form.repeats_depth(q.repeat_path) == 2
    assert form.question("web_browsers").type == "select_multiple"
    assert form.choice_names("browsers") == ["firefox", "chrome", "ie", "safari"]
    assert form.choice_names("yes_no") == ["0", "1"]
    personal = sorted(q.path for q in form.questions if q.personal)
    assert personal == ["address", "gps", "kids/kids_details/kids_name", "kids/nested_group/nested_name"]


def test_kobo_loop_is_expanded_per_column_with_labels(shared_dir):
    form = read_form(shared_dir / "kobo/kobocat_transportation/transportation.xls")
    loop = [q for q in form.questions if "/loop_over_transport_types_frequency/" in q.path]
    assert len(loop) == 10  # nine transport types plus 'other' added by 'or specify other'
    bus = form.question("transport/loop_over_transport_types_frequency/bus/frequency_to_referral_facility")
    assert bus.labels == {"default": "Is bus available daily or weekly?"}
    assert "'bus'" in bus.relevant
    assert form.question("transport/available_transportation_types_to_referral_facility_other").type == "text"
    assert "other" in form.choice_names("transport_types")


def test_kobo_dotted_names_and_three_level_repeats(shared_dir):
    form = read_form(shared_dir / "kobo/kobocat_childrens_survey/childrens_survey.xls")
    assert form.repeats == ["children", "children/cartoons", "children/cartoons/characters"]
    assert form.question("children/ice.creams").list_name == "ice_cream_list"
    assert form.question("tel/tel.office").personal == "free text named like 'tel'"
    # the form's own slip: 'evil' sits in list yes_no, so good_evil has one choice
    assert form.choice_names("good_evil") == ["good"]


@pytest.mark.parametrize("content", [b"", b"not a spreadsheet at all", b"PK\x03\x04truncated"])
def test_unreadable_form_is_rejected_in_one_line(tmp_path, content):
    path = tmp_path / "form.xlsx"
    path.write_bytes(content)
    with pytest.raises(RejectedFile) as err:
        read_form(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_sheet_without_survey_is_rejected(tmp_path):
    path = _write_form(tmp_path / "x.xlsx", [["a", "b"], [1, 2]], [["list_name", "name", "label"]],
                       [["form_id"], ["x"]])
    wb = openpyxl.load_workbook(path)
    wb["survey"].title = "data"
    wb.save(path)
    with pytest.raises(RejectedFile, match="XLSForm"):
        read_form(path)
