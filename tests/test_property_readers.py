"""Property-based tests (hypothesis) of the raw-file readers, the name normaliser and the
sign-in sheet ingest: for random bytes, tables and values, no uncaught exception, text
survives the encodings Excel saves, and every row read is loaded, quarantined or blank.

``max_examples`` is kept small so the module runs in well under a minute on two cores.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import RejectedFile
from pipeline.ingest import readers
from pipeline.reference import municipalities
from pipeline.reference.names import fold, fold_words, normaliser, to_cyrillic

SECRET = b"0123456789abcdef" * 4
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LATIN_WORDS = ["Ana", "Petrović", "Đorđe", "Šarić", "Čolić", "Ljubica", "Njegoš", "Džemal",
               "Žaklina", "Hadžići", "Ključ", "Drvar", "mladi", "učenik", "1999", "17", "M", "Ž"]
GAJ = "abcčćddžđefghijklljmnnjoprsštuvzž"


def words(pool: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=3).map(" ".join)


# ------------------------------------------------------------------------------ readers
@FAST
@given(data=st.binary(max_size=3000),
       head=st.sampled_from([b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<html>",
                             codecs.BOM_UTF8, codecs.BOM_UTF16_LE]),
       suffix=st.sampled_from([".xlsx", ".xls", ".csv", ".txt"]))
def test_any_bytes_are_read_or_rejected_with_a_reason(tmp_path, data, head, suffix):
    path = tmp_path / f"f{suffix}"
    path.write_bytes(head + data)
    try:
        sheets = readers.read_workbook(path)
    except RejectedFile as exc:
        assert path.name in str(exc) and "\n" not in str(exc)
        return
    assert all(isinstance(s.rows, list) for s in sheets)


def _table(script: str) -> st.SearchStrategy[list[list[str]]]:
    pool = LATIN_WORDS if script == "latin" else [to_cyrillic(w) for w in LATIN_WORDS]
    return st.integers(2, 5).flatmap(lambda width: st.lists(
        st.lists(words(pool), min_size=width, max_size=width), min_size=1, max_size=12))


@st.composite
def text_tables(draw):
    script = draw(st.sampled_from(["latin", "cyrillic"]))
    rows = draw(_table(script))
    legacy = "cp1250" if script == "latin" else "cp1251"
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", legacy]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    return rows, encoding, delimiter


@FAST
@given(case=text_tables())
def test_delimited_text_survives_the_encodings_excel_saves(tmp_path, case):
    rows, encoding, delimiter = case
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "t.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    sheet = readers.read_text_table(path)
    assert sheet.rows == rows
    assert sheet.delimiter == delimiter


# ----------------------------------------------------------------------- the normaliser
@FAST
@given(text=st.text(max_size=40))
def test_the_normaliser_answers_an_id_or_a_reason(text):
    muni, why = normaliser().try_resolve(text)
    assert (muni is None) != (why is None)
    if muni is not None:
        assert muni in set(municipalities()["muni_id"])


@FAST
@given(row=st.integers(0, len(municipalities()) - 1),
       spelling=st.sampled_from(["as is", "upper", "cyrillic", "no diacritics", "decorated"]))
def test_every_spelling_of_a_name_resolves_alike(row, spelling):
    ref = municipalities().iloc[row]
    expected = normaliser().try_resolve(ref["name"])
    text = {
        "as is": ref["name"],
        "upper": ref["name"].upper(),
        "cyrillic": ref["name_cyr"],
        "no diacritics": "".join(c for c in unicodedata.normalize(
            "NFD", ref["name"].replace("đ", "dj").replace("Đ", "Dj"))
            if not unicodedata.combining(c)),
        "decorated": f"Općina {ref['name']}",
    }[spelling]
    assert normaliser().try_resolve(text) == expected


def test_a_decorated_name_ending_in_grad_resolves():
    """Found by the property above: the name's own "Grad" must survive the decoration."""
    assert normaliser().try_resolve("Općina Istočni Stari Grad") == ("istocni_stari_grad", None)


@FAST
@given(text=st.text(alphabet=GAJ + GAJ.upper() + " -.", max_size=30))
def test_folding_ignores_script_case_and_is_idempotent(text):
    assert fold(to_cyrillic(text)) == fold(text)
    assert fold(fold(text)) == fold(text)
    assert fold_words(text.upper()) == fold_words(text)


# --------------------------------------------------------------- sign-in sheet ingest
NAMES = ["Ana Petrović", "Marko Kovačević", "Ђорђе Шарић", "Jelena", "", None, "  ",
         "Robert'); drop table participants; --", "=HYPERLINK(\"x\")", "Ivana Ivić Horvat"]
BIRTHS = [1999, 2003, "12.04.2001", "17", "25 god.", 1700, 0, "", None, "x", 45000, "1999,0"]
SEXES = ["M", "Ž", "F", "женско", "muško", "?", "", None]
PLACES = ["Drvar", "Ključ", "Рибник", "Petrovac", "Sarajevo", "xyz", "", None, "Grad Livno"]
ROLES = ["mladi", "učenik", "CSO", "", None, "pilot"]
EVENT_IDS = ["", None, "EV-0001", "ev 2", "EV-9999"]
HEADER = ["R.br.", "Ime i prezime", "Godina rođenja", "Spol", "Mjesto prebivališta", "Uloga",
          "ID događaja"]


@st.composite
def sign_in_tables(draw):
    n = draw(st.integers(0, 25))
    rows = []
    for i in range(n):
        if draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()):
            rows.append([i + 1, None, None, None, None, None, None])  # a numbered empty line
            continue
        rows.append([i + 1, draw(st.sampled_from(NAMES)), draw(st.sampled_from(BIRTHS)),
                     draw(st.sampled_from(SEXES)), draw(st.sampled_from(PLACES)),
                     draw(st.sampled_from(ROLES)), draw(st.sampled_from(EVENT_IDS))])
    title = draw(st.booleans())
    fmt = draw(st.sampled_from(["xlsx", "csv"]))
    return rows, title, fmt


def _write(path: Path, rows: list[list], title: bool, fmt: str) -> Path:
    top = [["Evidencija prisustva"], ["ID događaja: EV-0001"], []] if title else []
    table = [*top, HEADER, *rows]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, delimiter=";").writerows(
            [["" if v is None else v for v in r] for r in table])
        path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    else:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "EV-0002"
        for r in table:
            # openpyxl would store text starting with '=' as a formula: keep it text
            ws.append([v if not (isinstance(v, str) and v.startswith("=")) else " " + v
                       for v in r])
        wb.save(path)
    return path


EVENTS = pd.DataFrame({"event_id": ["EV-0001", "EV-0002"],
                       "date": [pd.Timestamp("2024-03-15"), pd.Timestamp("2024-05-02")]})


@FAST
@given(case=sign_in_tables())
def test_every_sign_in_row_is_loaded_quarantined_or_blank(tmp_path, case):
    from pipeline.ingest.attendance.load import parse_register

    rows, title, fmt = case
    path = _write(tmp_path / f"r.{fmt}", rows, title, fmt)
    parsed = parse_register(path, SECRET, EVENTS)
    assert parsed.rows_read == len(rows)  # every written row carries its row number
    assert parsed.rows_read == parsed.rows_loaded + parsed.rows_quarantined + parsed.rows_blank
    problems = parsed.problems
    assert problems["reason"].notna().all() and problems["rule"].notna().all()
    quarantined_names = problems.loc[problems["column_name"] == "Ime i prezime", "value"]
    assert set(quarantined_names.dropna()) <= {"<personal>"}
    signins = parsed.signins
    assert set(signins["sex"]) <= {"male", "female"}
    assert signins["muni_id"].isin(set(municipalities()["muni_id"])).all()
    assert signins["event_id"].isin(set(EVENTS["event_id"])).all()


@pytest.fixture(scope="module")
def warehouse_con(tmp_path_factory):
    from pipeline.config import get_settings
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.warehouse import connect
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("property")
    s = get_settings(home=home, db=home / "w.duckdb", secret_path=home / "secret.key")
    init_warehouse(s)
    events = home / "events.csv"
    events.write_text("event_id;date;municipality;event_type\n"
                      "EV-0001;15.03.2024;Drvar;youth_exchange\n"
                      "EV-0002;02.05.2024;Ribnik;citizen_dialogue\n", encoding="utf-8")
    ingest_events(s, events)
    con = connect(s.db)
    yield con
    con.close()


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=sign_in_tables())
def test_loads_keep_the_ledger_equal_to_the_rows_present(tmp_path_factory, warehouse_con, case):
    from pipeline.ingest.attendance.load import load_register

    rows, title, fmt = case
    folder = tmp_path_factory.mktemp("load")
    path = _write(folder / f"r.{fmt}", rows, title, fmt)
    result = load_register(warehouse_con, path, SECRET)
    if result.skipped:  # the same bytes drawn twice
        return
    counts = warehouse_con.execute(
        "select (select count(*) from raw_signins where batch_id = $1),"
        " (select count(distinct (sheet, source_row)) from quarantine where batch_id = $1),"
        " (select rows_read - rows_loaded - rows_quarantined - rows_blank from load_batches"
        "  where batch_id = $1)", [result.batch_id]).fetchall()[0]
    assert counts == (result.rows_loaded, result.rows_quarantined, 0)


def test_a_broken_load_changes_nothing(warehouse_con, tmp_path):
    """A load that fails half-way (here: counts that do not add up) leaves no trace."""
    from unittest import mock

    from pipeline.ingest.attendance import load as attendance

    path = _write(tmp_path / "r.xlsx", [[1, "Ana Petrović", 1999, "Ž", "Drvar", "mladi", None]],
                  True, "xlsx")
    before = warehouse_con.execute("select count(*) from load_batches").fetchall()
    with mock.patch.object(attendance, "finish_batch", side_effect=AssertionError("boom")), \
            pytest.raises(AssertionError):
        attendance.load_register(warehouse_con, path, SECRET)
    assert warehouse_con.execute("select count(*) from load_batches").fetchall() == before
