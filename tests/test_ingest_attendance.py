"""pipeline.ingest.attendance.load and events: sign-in sheets and events lists into the marts.

Fixtures are small real files (XLSX written with openpyxl, CSV in the encodings Excel saves)
loaded into a real DuckDB warehouse in tmp_path.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import openpyxl
import pytest

from pipeline.errors import RejectedFile, SpscError
from pipeline.ingest.attendance.events import ingest_events
from pipeline.ingest.attendance.load import ingest_attendance, parse_register, quarantine_value
from pipeline.ingest.attendance.values import normalise_event_id, parse_birth, parse_date, parse_sex

SECRET = b"0123456789abcdef" * 4
BS = [
    "R.br.",
    "Ime i prezime",
    "Godina rođenja",
    "Spol",
    "Mjesto prebivališta",
    "Uloga",
    "Kontakt telefon",
    "Potpis",
]
CYR = [
    "Р.бр.",
    "Име и презиме",
    "Година рођења",
    "Пол",
    "Мјесто пребивалишта",
    "Улога",
    "Контакт телефон",
    "Потпис",
]
EN = ["No.", "Name", "Year of birth", "Sex", "Place of residence", "Role", "Phone", "Signature"]
EVENTS = [
    ("event_id", "date", "municipality", "event_type", "organiser", "title"),
    ("EV-0001", "15.03.2024", "Drvar; Ribnik", "youth_exchange", "UNDP", "Razmjena mladih"),
    ("EV-0002", "2024-05-02", "Ribnik", "citizen_dialogue", "Opština Ribnik", "Dijalog"),
    ("EV-0003", 45474, "Ključ", "youth_camp", "IOM", "Kamp"),  # Excel serial of 2024-07-01
]


def write_xlsx(path, sheets: dict[str, list]) -> None:
    """A workbook with one sheet per key; rows are lists of cell values (None = empty)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)


def title_block(event_id: str, words: str = "ID događaja") -> list:
    return [
        ["Evidencija prisustva"],
        ["Razmjena mladih"],
        ["Datum: 15.03.2024"],
        [f"{words}: {event_id}"],
        [],
    ]


def events_frame():
    import pandas as pd

    return pd.DataFrame(
        {
            "event_id": ["EV-0001", "EV-0002", "EV-0003"],
            "date": [dt.date(2024, 3, 15), dt.date(2024, 5, 2), dt.date(2024, 7, 1)],
        }
    )


@pytest.fixture
def loaded(warehouse, tmp_path):
    """The warehouse with the events list loaded; returns a function loading registers."""
    path = tmp_path / "events.xlsx"
    write_xlsx(path, {"events": EVENTS})
    ingest_events(warehouse, path)

    def load(name: str, sheets: dict[str, list], **kwargs):
        register = tmp_path / name
        write_xlsx(register, sheets)
        return ingest_attendance(warehouse, [register], **kwargs)[0]

    return load


def query(settings, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, sex",
    [
        ("M", "male"),
        ("Ž", "female"),
        ("Ж", "female"),
        ("М", "male"),
        ("F", "female"),
        ("muško", "male"),
        ("žensko", "female"),
        ("мушко", "male"),
        ("женско", "female"),
        ("male", "male"),
        ("Female", "female"),
        (" z ", "female"),
        ("X", None),
        ("", None),
    ],
)
def test_sexes(text, sex):
    assert parse_sex(text) == sex


@pytest.mark.parametrize(
    "cell, birth_year, age",
    [
        (1999, 1999, 25),
        (1999.0, 1999, 25),
        ("1999", 1999, 25),
        ("1999.", 1999, 25),
        ("12.03.1999", 1999, 25),
        ("16.03.1999.", 1999, 24),
        ("1999-03-16", 1999, 24),
        (dt.datetime(1999, 3, 15), 1999, 25),
        (36235, 1999, 24),  # Excel serial of 1999-03-16
        (25, 1999, 25),
        ("25 god.", 1999, 25),
        ("25", 1999, 25),
    ],
)
def test_birth_forms_give_birth_year_and_age_at_the_event(tmp_path, cell, birth_year, age):
    path = tmp_path / "r.xlsx"
    write_xlsx(
        path,
        {
            "EV-0001": [
                *title_block("EV-0001"),
                BS,
                [1, "Ana Petrović", cell, "Ž", "Drvar", "mladi"],
            ]
        },
    )
    parsed = parse_register(path, SECRET, events_frame())
    row = parsed.signins.iloc[0]
    assert (row["birth_year"], row["age_at_event"]) == (birth_year, age)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("15.03.2024", dt.date(2024, 3, 15)),
        ("15.03.2024.", dt.date(2024, 3, 15)),
        ("2024-03-15", dt.date(2024, 3, 15)),
        (45366, dt.date(2024, 3, 15)),
        (dt.datetime(2024, 3, 15, 10, 0), dt.date(2024, 3, 15)),
        ("31.02.2024", None),
        ("soon", None),
    ],
)
def test_event_dates(cell, expected):
    assert parse_date(cell) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("EV-0001", "EV-0001"),
        ("ev 1", "EV-0001"),
        ("EV_001", "EV-0001"),
        (" EV-12345 ", "EV-12345"),
    ],
)
def test_event_ids_are_normalised(text, expected):
    assert normalise_event_id(text) == expected


def test_quarantine_never_shows_personal_values():
    assert quarantine_value("name", "Ana Petrović") == "<personal>"
    assert quarantine_value("phone", "061 123 456") == "<personal>"
    assert quarantine_value("birth", "12.03.1899") == "<personal>"
    assert quarantine_value("birth", 36235) == "<personal>"  # an Excel date is a birth date
    assert quarantine_value("birth", 1850.0) == "1850"
    assert quarantine_value("sex", "X") == "X"
    assert parse_birth("soon") is None


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, people, role",
    [
        (BS, [["1", "Ana Petrović", 1999, "Ž", "Drvar", "mladi", "061 111 222"]], "young_person"),
        (CYR, [["1", "Ана Петровић", 1999, "Ж", "Дрвар", "ученик", "065 111 222"]], "student"),
        (
            EN,
            [["1", "Ana Petrovic", 1999, "female", "Drvar", "municipal official", "+387 61 111"]],
            "municipal_official",
        ),
        (
            ["Rb.", "Prezime", "Ime", "Godište", "Pol (M/Ž)", "Mjesto stanovanja", "Status"],
            [["1", "Petrović", "Ana", 1999, "Ž", "Općina Drvar", "OCD"]],
            "cso",
        ),
    ],
)
def test_header_aliases_latin_cyrillic_english_below_a_title_block(tmp_path, header, people, role):
    path = tmp_path / "r.xlsx"
    write_xlsx(path, {"EV-0001": [*title_block("EV-0001"), header, *people]})
    parsed = parse_register(path, SECRET, events_frame())
    assert (parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined) == (1, 1, 0)
    row = parsed.signins.iloc[0]
    assert (row["event_id"], row["sex"], row["birth_year"], row["muni_id"]) == (
        "EV-0001",
        "female",
        1999,
        "drvar",
    )
    assert row["role"] == role
    # every spelling is the same person: Ana Petrović, born 1999, of Drvar
    from pipeline.registry.keys import person_key

    assert row["person_key"] == person_key(SECRET, "ana petrovic", 1999, "drvar")


def test_unrecognised_sheet_is_rejected_with_a_one_line_reason(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx(path, {"Sheet1": [["Lista"], ["a", "b", "c"], [1, 2, 3]]})
    with pytest.raises(RejectedFile, match="no sheet has a recognisable header row"):
        parse_register(path, SECRET, events_frame())


def test_long_sheet_with_event_column_as_cp1250_semicolon_csv(tmp_path):
    text = (
        "Evidencija prisustva;;;;;;\nGrad Livno;;;;;;\n;;;;;;\n"
        "R.br.;ID događaja;Ime i prezime;Godina rođenja;Spol;Mjesto prebivališta;Uloga\n"
        "1;EV-0001;Ivana Šarić;2001;Ž;Livno;mladi\n"
        ";;;;;;\n"
        "2;EV-0002;Ivana Šarić;2001;Ž;Livno;mladi\n"
        "3;EV-9999;Ante Perić;2000;M;Livno;mladi\n"
    )
    path = tmp_path / "livno_2024Q1.csv"
    path.write_bytes(text.encode("cp1250"))
    parsed = parse_register(path, SECRET, events_frame())
    assert (parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined, parsed.rows_blank) == (
        4,
        2,
        1,
        1,
    )
    assert list(parsed.signins["event_id"]) == ["EV-0001", "EV-0002"]
    assert parsed.signins["person_key"].nunique() == 1
    assert list(
        parsed.problems[["source_row", "rule", "value"]].itertuples(index=False, name=None)
    ) == [(8, "unknown_event", "EV-9999")]


# --- accounting and quarantine ------------------------------------------------------------------


def test_every_row_is_loaded_quarantined_or_blank_with_a_reason(loaded, warehouse):
    rows = [
        *title_block("EV-0001"),
        BS,
        [1, "Ana Petrović", 1999, "Ž", "Drvar", "mladi", "061 111 222"],  # 7 loaded
        [2, None, None, None, None, None],  # 8 blank (numbered line)
        [3, "Ana", 1999, "Ž", "Drvar", "mladi"],  # 9 one-word name
        [4, "Marko Marić", 1999, None, "Drvar", "mladi"],  # 10 no sex
        [5, "Marko Marić", 1899, "M", "Drvar", "mladi"],  # 11 impossible age
        [6, "Marko Marić", 1999, "M", "Atlantis", "mladi"],  # 12 unknown municipality
        [7, "Marko Marić", "12.13.1999", "M", "Drvar", "mladi"],  # 13 not a date
        [8, None, 2001, "M", "Drvar", "mladi", "065 222 333"],  # 14 no name
        BS,  # 15 header again
        [9, "Jovan Jović", 2000, "X", "Petrovac", "mladi"],  # 16 two problems
        [10, "Jovan Jović", 2000, "M", "Ribnik", "mladi"],  # 17 loaded
    ]
    result = loaded("drvar_2024Q1.xlsx", {"EV-0001": rows, "Upute": [["Upišite sve učesnike."]]})
    # 11 rows under the header + 1 row of a sheet without a header
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined, result.rows_blank) == (
        12,
        2,
        9,
        1,
    )
    got = query(
        warehouse,
        "select sheet, source_row, column_name, value, rule from quarantine"
        " where file_name = 'drvar_2024Q1.xlsx' order by source_row, rule",
    )
    assert got == [
        ("Upute", 1, None, None, "no_header"),
        ("EV-0001", 9, "Ime i prezime", "<personal>", "incomplete_name"),
        ("EV-0001", 10, "Spol", None, "missing_sex"),
        ("EV-0001", 11, "Godina rođenja", "1899", "impossible_age"),
        ("EV-0001", 12, "Mjesto prebivališta", "Atlantis", "unknown_municipality"),
        ("EV-0001", 13, "Godina rođenja", "<personal>", "invalid_birth_year"),
        ("EV-0001", 14, "Ime i prezime", None, "missing_name"),
        ("EV-0001", 15, None, None, "repeated_header"),
        ("EV-0001", 16, "Spol", "X", "invalid_sex"),
        ("EV-0001", 16, "Mjesto prebivališta", "Petrovac", "unknown_municipality"),
    ]
    reason = query(
        warehouse,
        "select reason from quarantine where source_row = 16 and rule = 'unknown_municipality'",
    )
    assert "ambiguous" in reason[0][0] and "Bosanski Petrovac" in reason[0][0]
    batch = query(
        warehouse,
        "select rows_read, rows_loaded, rows_quarantined, rows_blank, status from load_batches"
        " where file_name = 'drvar_2024Q1.xlsx'",
    )
    assert batch == [(12, 2, 9, 1, "loaded")]


def test_event_ids_from_title_block_sheet_name_or_column_and_unknown_events(loaded, warehouse):
    person = [1, "Ana Petrović", 1999, "Ž", "Drvar", "mladi"]
    result = loaded(
        "x.xlsx",
        {
            "EV-0002": [["Evidencija prisustva"], BS, person],  # sheet name
            "List1": [["Event ID: EV-0003"], BS, person],  # title block only
            "EV-0001": [["ИД догађаја: EV-0002"], BS, person],  # contradiction
            "Sheet3": [BS, person],  # nothing
            "EV-0042": [BS, person],  # not in the events list
        },
    )
    assert (result.rows_loaded, result.rows_quarantined) == (2, 3)
    assert query(warehouse, "select event_id from raw_signins order by event_id") == [
        ("EV-0002",),
        ("EV-0003",),
    ]
    assert query(
        warehouse, "select sheet, rule from quarantine where file_name = 'x.xlsx' order by sheet"
    ) == [
        ("EV-0001", "conflicting_event_id"),
        ("EV-0042", "unknown_event"),
        ("Sheet3", "missing_event_id"),
    ]


def test_reingest_is_a_noop_and_a_bad_file_changes_nothing(loaded, warehouse, tmp_path):
    sheets = {
        "EV-0001": [*title_block("EV-0001"), BS, [1, "Ana Petrović", 1999, "Ž", "Drvar", "mladi"]]
    }
    first = loaded("drvar_2024Q1.xlsx", sheets)
    again = ingest_attendance(warehouse, [tmp_path / "drvar_2024Q1.xlsx"])[0]
    assert again.skipped and again.batch_id == first.batch_id
    assert "already loaded" in again.summary()
    tables = (
        "load_batches",
        "raw_signins",
        "person_registry",
        "person_signatures",
        "quarantine",
        "attendances",
        "participants",
        "events",
    )
    before = {t: query(warehouse, f"select * from {t} order by all") for t in tables}
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes((tmp_path / "drvar_2024Q1.xlsx").read_bytes()[:900])
    with pytest.raises(RejectedFile, match=r"broken\.xlsx"):
        ingest_attendance(warehouse, [bad])
    html = tmp_path / "export.xls"
    html.write_text("<html><table><tr><td>Ime</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(RejectedFile, match="HTML"):
        ingest_attendance(warehouse, [html])
    assert {t: query(warehouse, f"select * from {t} order by all") for t in tables} == before


def test_sign_in_sheets_need_an_events_list(warehouse, tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx(path, {"EV-0001": [BS, [1, "Ana Petrović", 1999, "Ž", "Drvar", "mladi"]]})
    with pytest.raises(SpscError, match="no events list loaded yet"):
        ingest_attendance(warehouse, [path])


def test_events_list_rows_are_checked(warehouse, tmp_path):
    path = tmp_path / "events.xlsx"
    write_xlsx(
        path,
        {
            "events": [
                *EVENTS,
                ("EV-0004", "01.08.2024", "Кључ; Мркоњић Град", "youth_camp", "UNDP", "Kamp"),
                ("EV-0001", "01.08.2024", "Drvar", "youth_camp", "UNDP", "again"),
                ("EV-0005", "someday", "Drvar", "youth_camp", "UNDP", ""),
                ("EV-0006", "01.08.2024", "Drvar; Atlantis", "youth_camp", "UNDP", ""),
                (None, None, None, None, None, None),
                ("EV-0007", "01.08.2024", "Drvar", "party", "UNDP", ""),
            ]
        },
    )
    result = ingest_events(warehouse, path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined, result.rows_blank) == (
        9,
        4,
        4,
        1,
    )
    assert query(warehouse, "select rule from quarantine order by source_row") == [
        ("duplicate_event_id",),
        ("invalid_date",),
        ("unknown_municipality",),
        ("unknown_event_type",),
    ]
    assert query(
        warehouse,
        "select event_id, date, quarter, muni_ids, muni_id, entity, is_youth_event"
        " from events order by event_id",
    ) == [
        ("EV-0001", dt.date(2024, 3, 15), "2024Q1", ["drvar", "ribnik"], "drvar", "FBiH", True),
        ("EV-0002", dt.date(2024, 5, 2), "2024Q2", ["ribnik"], "ribnik", "RS", False),
        ("EV-0003", dt.date(2024, 7, 1), "2024Q3", ["kljuc"], "kljuc", "FBiH", True),
        (
            "EV-0004",
            dt.date(2024, 8, 1),
            "2024Q3",
            ["kljuc", "mrkonjic_grad"],
            "kljuc",
            "FBiH",
            True,
        ),
    ]


# --- marts --------------------------------------------------------------------------------


def person(n, name, year, sex, muni):
    return [n, name, year, sex, muni, "mladi"]


@pytest.mark.parametrize("min_per_side, expected", [(2, [False, True]), (1, [True, True])])
def test_inter_entity_needs_the_configured_number_from_each_side(
    loaded, warehouse, min_per_side, expected
):
    settings = warehouse.with_(inter_entity_min_per_side=min_per_side)
    path = settings.home / "r.xlsx"
    write_xlsx(
        path,
        {
            # two from FBiH, exactly one from RS: not inter-entity with the default of 2
            "EV-0001": [
                BS,
                person(1, "Ana Petrović", 2000, "Ž", "Drvar"),
                person(2, "Ivo Ivić", 2001, "M", "Ključ"),
                person(3, "Jovan Jović", 2002, "M", "Ribnik"),
            ],
            # two and two
            "EV-0003": [
                BS,
                person(1, "Ana Petrović", 2000, "Ž", "Drvar"),
                person(2, "Ivo Ivić", 2001, "M", "Ključ"),
                person(3, "Jovan Jović", 2002, "M", "Ribnik"),
                person(4, "Mira Mirić", 1960, "Ž", "Mrkonjić Grad"),
            ],
        },
    )
    ingest_attendance(settings, [path])
    got = query(
        settings,
        "select is_inter_entity, n_fbih, n_rs, n_young from events"
        " where event_id in ('EV-0001', 'EV-0003') order by event_id",
    )
    assert [g[0] for g in got] == expected
    assert [g[1:] for g in got] == [(2, 1, 3), (2, 2, 3)]


def test_duplicates_within_an_event_are_removed_and_counted(loaded, warehouse):
    loaded(
        "r.xlsx",
        {
            "EV-0001": [
                BS,
                person(1, "Ana Petrović", 2000, "Ž", "Drvar"),
                person(2, "PETROVIĆ Ana", 2000, "Ž", "Drvar"),
                person(3, "Ana Petrovic", "01.02.2000", "Ž", "Općina Drvar"),
            ],
            "EV-0002": [BS, person(1, "Ана Петровић", 2000, "Ж", "Дрвар")],
        },
    )
    assert query(warehouse, "select event_id, n_signins from attendances order by event_id") == [
        ("EV-0001", 3),
        ("EV-0002", 1),
    ]
    assert query(
        warehouse,
        "select event_id, n_participants, n_signins, n_duplicates from events"
        " where n_participants > 0 order by event_id",
    ) == [("EV-0001", 1, 3, 2), ("EV-0002", 1, 1, 0)]
    assert query(
        warehouse, "select sex, birth_year, age_group, muni_id, entity, n_events from participants"
    ) == [("female", 2000, "20-24", "drvar", "FBiH", 2)]


def test_youth_measures_and_cross_entity_ties(loaded, warehouse):
    loaded(
        "r.xlsx",
        {
            "EV-0001": [
                BS,
                person(1, "Ana Petrović", 2000, "Ž", "Drvar"),
                person(2, "Ivo Ivić", 2001, "M", "Ključ"),
                person(3, "Jovan Jović", 2002, "M", "Ribnik"),
                person(4, "Mira Mirić", 1960, "Ž", "Ribnik"),
                person(5, "Lana Lukić", 2003, "Ž", "Ribnik"),
            ],
            "EV-0002": [
                BS,
                person(1, "Ana Petrović", 2000, "Ž", "Drvar"),
                person(2, "Jovan Jović", 2002, "M", "Ribnik"),
            ],
            "EV-0003": [
                BS,
                person(1, "Ana Petrović", 2000, "Ž", "Drvar"),
                person(2, "Jovan Jović", 2002, "M", "Ribnik"),
                person(3, "Ivo Ivić", 2001, "M", "Ključ"),
            ],
        },
    )
    # young: Ana, Ivo (FBiH), Jovan, Lana (RS); ties FBiH x RS among the young at the same event
    assert query(
        warehouse,
        "select period, muni_id_a, muni_id_b, entity_a, entity_b, n_ties from cross_entity_ties"
        " order by period, muni_id_a",
    ) == [
        ("2024Q1", "drvar", "ribnik", "FBiH", "RS", 2),
        ("2024Q1", "kljuc", "ribnik", "FBiH", "RS", 2),
        ("2024Q2", "drvar", "ribnik", "FBiH", "RS", 1),
        ("2024Q3", "drvar", "ribnik", "FBiH", "RS", 1),
        ("2024Q3", "kljuc", "ribnik", "FBiH", "RS", 1),
        ("cumulative", "drvar", "ribnik", "FBiH", "RS", 2),
        ("cumulative", "kljuc", "ribnik", "FBiH", "RS", 2),
    ]
    # youth figures come from the indicator engine only (no mart of their own)
    from pipeline.indicators.attendance_counts import attendance_values
    from pipeline.indicators.catalogue import load_catalogue

    con = duckdb.connect(str(warehouse.db), read_only=True)
    try:
        values = attendance_values(con, load_catalogue(warehouse.project), warehouse)
    finally:
        con.close()
    cumulative = values[(values["period"] == "cumulative") & values["dimension"].isin(["total", "sex"])]
    got = {(r.indicator_id, r.dimension_value): (r.estimate, r.n) for r in cumulative.itertuples()
           if r.indicator_id in ("unique_youth", "sustained_youth", "women_share_youth",
                                 "inter_entity_share")}
    assert got == {
        ("unique_youth", "total"): (4.0, 4), ("unique_youth", "female"): (2.0, 2),
        ("unique_youth", "male"): (2.0, 2),
        # Ana and Jovan came to all three activities while young
        ("sustained_youth", "total"): (2.0, 2), ("sustained_youth", "female"): (1.0, 1),
        ("sustained_youth", "male"): (1.0, 1),
        ("women_share_youth", "total"): (50.0, 4),
        # two youth events (EV-0001 and EV-0003), one inter-entity (EV-0001)
        ("inter_entity_share", "total"): (50.0, 5),  # n: the 5 people who came to them
    }


def test_no_name_phone_or_birth_date_anywhere_in_the_warehouse(loaded, warehouse):
    people = [
        [1, "Đorđević Ana", "12.03.1999", "Ž", "Drvar", "mladi", "061 111 222", "A. Đorđević"],
        [2, "Marko Marković", 1998, "M", "Ribnik", "učenik", "065/333-444", "potpisano"],
        [3, "Marko Marković", 1799, "M", "Ribnik", "učenik", "066 555 666", "M.M."],
        [4, "Ана Ђорђевић", 1999, None, "Дрвар", "млади", "+387 61 777 888", "АЂ"],
    ]
    loaded("r.xlsx", {"EV-0001": [*title_block("EV-0001"), BS, *people]})
    raw = {
        "ana",
        "djordjevic",
        "đorđević",
        "ђорђевић",
        "marko",
        "markovic",
        "marković",
        "061 111 222",
        "065/333-444",
        "066 555 666",
        "777 888",
        "12.03.1999",
        "1999-03-12",
        "potpisano",
        "m.m.",
        "ађ",
    }
    con = duckdb.connect(str(warehouse.db), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns"
            " where data_type like 'VARCHAR%' and table_schema = 'main'"
        ).fetchall()
        assert len(columns) > 30
        found = []
        for table, column in columns:
            for (value,) in con.execute(
                f'select distinct cast("{column}" as varchar) from "{table}"'
            ).fetchall():
                text = (value or "").casefold()
                words = set(re.split(r"[^\w]+", text))
                # names as whole words (Ana is inside Banovići), other values anywhere
                found += [
                    (table, column, r) for r in raw if (r in words if r.isalpha() else r in text)
                ]
        assert found == []
    finally:
        con.close()
