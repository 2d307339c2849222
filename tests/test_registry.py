"""pipeline.registry: person keys, linking of name variants, the review list and decisions."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.ingest.attendance.events import ingest_events
from pipeline.ingest.attendance.load import ingest_attendance
from pipeline.registry.keys import name_key, person_key, store_name_signatures
from pipeline.registry.review import record_decision, review_pairs

SECRET = b"fedcba9876543210" * 4
HEADER = ["R.br.", "Ime i prezime", "Godina rođenja", "Spol", "Mjesto prebivališta", "Uloga"]
EVENTS = [
    ("event_id", "date", "municipality", "event_type", "organiser", "title"),
    ("EV-0001", "15.03.2024", "Drvar", "youth_exchange", "UNDP", "Razmjena"),
    ("EV-0002", "02.05.2024", "Ribnik", "youth_camp", "UNDP", "Kamp"),
    ("EV-0003", "01.07.2024", "Drvar", "critical_thinking_club", "UNDP", "Klub"),
]


def write_xlsx(path, sheets: dict[str, list]) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)


def signins(*people) -> list:
    return [HEADER, *([i + 1, *p] for i, p in enumerate(people))]


@pytest.fixture
def load(warehouse, tmp_path):
    events = tmp_path / "events.xlsx"
    write_xlsx(events, {"events": EVENTS})
    ingest_events(warehouse, events)

    def load_(name: str, sheets: dict[str, list]):
        path = tmp_path / name
        write_xlsx(path, sheets)
        return ingest_attendance(warehouse, [path])[0]

    return load_


def query(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def pairs(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        frame = review_pairs(con, settings)
    finally:
        con.close()
    return [
        tuple(r) for r in frame[["person_key_a", "person_key_b", "rules"]].itertuples(index=False)
    ]


@pytest.mark.parametrize(
    "spelling",
    [
        "Đorđević Ana",
        "Ana Djordjevic",
        "Ана Ђорђевић",
        "ĐORĐEVIĆ  ana",
        "Ana M. Đorđević",
        "Ђорђевић Ана",
        " ana   djordjević ",
    ],
)
def test_obvious_variants_share_one_name_key(spelling):
    assert name_key(spelling) == "ana djordjevic"


def test_look_alikes_do_not(spelling="Marko Marković"):
    assert name_key(spelling) != name_key("Marka Marković")
    assert name_key("Ana") == "ana"  # one word is kept, and quarantined by the ingest
    assert name_key("   ") is None


def test_person_key_is_a_keyed_pseudonym_of_name_year_and_municipality():
    key = person_key(SECRET, "ana djordjevic", 1999, "drvar")
    expected = (
        "p"
        + hmac.new(
            SECRET, b"person\x1fana djordjevic\x1f1999\x1fdrvar", hashlib.sha256
        ).hexdigest()[:16]
    )
    assert key == expected
    assert person_key(SECRET, "ana djordjevic", 1999, "ribnik") != key
    assert person_key(b"another secret, also 32 bytes...", "ana djordjevic", 1999, "drvar") != key


def test_name_signatures_are_hmacs_computed_in_duckdb(warehouse):
    from pipeline.warehouse import connect

    con = connect(warehouse.db)
    try:
        people = pd.DataFrame({"person_key": ["p1", "p2"], "name_key": ["ivo ab", "ivo ab"]})
        store_name_signatures(con, SECRET, people)
        store_name_signatures(
            con, SECRET, pd.DataFrame({"person_key": ["p3"], "name_key": ["ivo ab"]})
        )
        persons = set(con.execute("select person_key, kind, sig from person_signatures").fetchall())
        deletions = set(con.execute("select name_sig, sig from name_deletions").fetchall())
        n_deletions = con.execute("select count(*) from name_deletions").fetchone()[0]
    finally:
        con.close()

    def mac(text: str) -> int:
        return int(hmac.new(SECRET, text.encode(), hashlib.sha256).hexdigest()[:16], 16)

    whole = mac("v\x1fivo ab")
    assert persons == {
        (p, k, mac(t))
        for p in ("p1", "p2", "p3")
        for k, t in (("F", "v\x1fivo ab"), ("D", "d\x1fivo ab"))
    }
    # once per distinct name; words are sorted again after a deletion ("ivo ab" less "a": "b ivo")
    assert deletions == {
        (whole, mac("v\x1f" + t)) for t in ("b ivo", "a ivo", "ab vo", "ab io", "ab iv")
    }
    assert n_deletions == 5


def test_variants_are_linked_and_look_alikes_are_listed_not_linked(load, warehouse):
    load(
        "drvar_2024Q1.xlsx",
        {
            "EV-0001": signins(
                ["Đorđević Ana", 1999, "Ž", "Drvar", "mladi"],
                ["Ana Petrović", 1999, "Ž", "Drvar", "mladi"],
                ["Marko Marković", 2001, "M", "Drvar", "mladi"],
                ["Dorde Jovic", 2002, "M", "Drvar", "mladi"],
                ["Nikola Nikolić", 2000, "M", "Drvar", "mladi"],
            ),
            "EV-0002": signins(
                ["Ана Ђорђевић", 1999, "Ж", "Дрвар", "млади"],
                ["Ana Petrović", 1999, "Ž", "Ribnik", "mladi"],  # another Ana Petrović
                ["Marka Marković", 2001, "M", "Drvar", "mladi"],  # one letter apart
                ["Đorđe Jović", 2002, "M", "Drvar", "mladi"],  # đ typed as d
                ["Nikola Nikolić", 2001, "M", "Drvar", "mladi"],
            ),  # birth year one apart
            "EV-0003": signins(["Ana Djordjevic", 1999, "Ž", "Općina Drvar", "mladi"]),
        },
    )
    # Ana Đorđević in three scripts is one person; everyone else stays apart
    assert query(warehouse, "select count(*) from participants") == [(9,)]
    ana = person_key(secret_of(warehouse), "ana djordjevic", 1999, "drvar")
    assert query(warehouse, f"select n_events from participants where person_key = '{ana}'") == [
        (3,)
    ]
    k = lambda n, y, m="drvar": person_key(secret_of(warehouse), n, y, m)  # noqa: E731
    expected = sorted(
        [
            (*sorted((k("marko markovic", 2001), k("marka markovic", 2001))), "one_letter_apart"),
            (*sorted((k("dorde jovic", 2002), k("djordje jovic", 2002))), "dj_written_as_d"),
            (
                *sorted((k("nikola nikolic", 2000), k("nikola nikolic", 2001))),
                "birth_year_off_by_one",
            ),
        ]
    )
    assert sorted(pairs(warehouse)) == expected


def secret_of(settings) -> bytes:
    from pipeline.privacy import load_secret

    return load_secret(settings.secret_path, create=False)


def test_decisions_merge_or_dismiss_a_pair(load, warehouse):
    load(
        "r.xlsx",
        {
            "EV-0001": signins(
                ["Marko Marković", 2001, "M", "Drvar", "mladi"],
                ["Jana Janković", 2003, "Ž", "Drvar", "mladi"],
            ),
            "EV-0002": signins(
                ["Marka Marković", 2001, "M", "Drvar", "mladi"],
                ["Jana Jankovič", 2003, "Ž", "Drvar", "mladi"],
                ["Jena Janković", 2003, "Ž", "Drvar", "mladi"],
            ),
        },
    )
    secret = secret_of(warehouse)
    marko, marka = (
        person_key(secret, n, 2001, "drvar") for n in ("marko markovic", "marka markovic")
    )
    jana, jena = (
        person_key(secret, name_key(n), 2003, "drvar") for n in ("Jana Janković", "Jena Janković")
    )
    assert len(pairs(warehouse)) == 2
    counts = record_decision(warehouse, marko, marka, "same")
    assert counts["participants"] == 3
    canonical = min(marko, marka)
    assert query(
        warehouse,
        f"select person_key, n_events from participants where person_key in ('{marko}', '{marka}')",
    ) == [(canonical, 2)]
    record_decision(warehouse, jena, jana, "different")
    assert pairs(warehouse) == []
    assert query(warehouse, "select count(*) from participants") == [(3,)]


def test_keys_do_not_depend_on_load_order_or_on_the_ingest(warehouse, tmp_path):
    first = {
        "EV-0001": signins(
            ["Ana Petrović", 1999, "Ž", "Drvar", "mladi"], ["Ivo Ivić", 25, "M", "Drvar", "mladi"]
        )
    }
    second = {
        "EV-0002": signins(
            ["Petrović Ana", 1999, "Ž", "Drvar", "mladi"], ["Ivo Ivić", 1998, "M", "Drvar", "mladi"]
        )
    }
    write_xlsx(tmp_path / "events.xlsx", {"events": EVENTS})
    write_xlsx(tmp_path / "q1.xlsx", first)
    write_xlsx(tmp_path / "q2.xlsx", second)
    keys = []
    for order in (("q1.xlsx", "q2.xlsx"), ("q2.xlsx", "q1.xlsx")):
        settings = warehouse.with_(db=tmp_path / f"{order[0]}.duckdb")
        ingest_events(settings, tmp_path / "events.xlsx")
        for name in order:  # two separate ingests, as two quarters would be
            ingest_attendance(settings, [tmp_path / name])
        keys.append(query(settings, "select person_key, n_events from participants order by all"))
    # Ivo's age 25 at 2024-03-15 fits 1998 or 1999; the stated 1998 decides in either order
    assert keys[0] == keys[1]
    assert sorted(k for k, _ in keys[0]) == sorted(
        [
            person_key(secret_of(warehouse), "ana petrovic", 1999, "drvar"),
            person_key(secret_of(warehouse), "ivic ivo", 1998, "drvar"),
        ]
    )
    assert [n for _, n in keys[0]] == [2, 2]


def spsc(*args, home):
    env = {**os.environ, "SPSC_HOME": str(home)}
    env.pop("SPSC_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
    )


def test_cli_ingest_and_review(tmp_path):
    write_xlsx(tmp_path / "events.xlsx", {"events": EVENTS})
    write_xlsx(
        tmp_path / "drvar_2024Q1.xlsx",
        {
            "EV-0001": signins(
                ["Marko Marković", 2001, "M", "Drvar", "mladi"],
                [None] * 5,
                ["Ana Petrović", 1899, "Ž", "Drvar", "mladi"],
            ),
            "EV-0002": signins(["Marka Marković", 2001, "M", "Drvar", "mladi"]),
        },
    )
    out = spsc("ingest", "events", "events.xlsx", home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "events.xlsx: batch 1: read 3 = loaded 3 + quarantined 0 + blank 0" in out.stdout
    out = spsc("ingest", "attendance", "drvar_2024Q1.xlsx", home=tmp_path)
    assert "read 4 = loaded 2 + quarantined 1 + blank 1" in out.stdout, out.stderr
    assert (
        "already loaded" in spsc("ingest", "attendance", "drvar_2024Q1.xlsx", home=tmp_path).stdout
    )
    listed = spsc("review", "persons", home=tmp_path)
    assert "1 pairs to review" in listed.stdout and "one_letter_apart" in listed.stdout
    assert "Marko" not in listed.stdout
    named = spsc("review", "persons", "--show-names", home=tmp_path)
    assert "Marko Marković" in named.stdout and "Marka Marković" in named.stdout
    keys = sorted(r[0] for r in query_db(tmp_path, "select person_key from participants"))
    done = spsc("review", "persons", "--different", *keys, home=tmp_path)
    assert done.returncode == 0 and "two people" in done.stdout
    assert "no pairs to review" in spsc("review", "persons", home=tmp_path).stdout
    bad = spsc("review", "persons", "--same", keys[0], "pnothere", home=tmp_path)
    assert (
        bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    )
    # a folder with one damaged file: the others load, the damaged one is named, exit status 1
    folder = tmp_path / "q2"
    folder.mkdir()
    write_xlsx(
        folder / "drvar_2024Q2.xlsx",
        {"EV-0003": signins(["Ana Petrović", 2001, "Ž", "Drvar", "mladi"])},
    )
    (folder / "ribnik_2024Q2.xlsx").write_bytes((folder / "drvar_2024Q2.xlsx").read_bytes()[:700])
    mixed = spsc("ingest", "attendance", "q2", home=tmp_path)
    assert mixed.returncode == 1
    assert "drvar_2024Q2.xlsx: batch 3: read 1 = loaded 1" in mixed.stdout
    assert (
        "ribnik_2024Q2.xlsx: rejected, nothing loaded: damaged or truncated workbook"
        in mixed.stdout
    )
    assert mixed.stderr.strip().splitlines() == [
        "error: ribnik_2024Q2.xlsx: 1 of 2 files rejected (nothing loaded from them);"
        " fix or re-export them and load them again"
    ]
    assert query_db(tmp_path, "select count(*) from attendances where event_id = 'EV-0003'") == [
        (1,)
    ]


def query_db(home, sql: str) -> list[tuple]:
    con = duckdb.connect(str(home / "data" / "processed" / "spsc.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
