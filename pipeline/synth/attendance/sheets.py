"""The sign-in sheets and the events list as an organiser writes them, with their dirt.

``sign_in_rows`` gives one ledger row per written sheet row (people, duplicates and blank
rows) in the script of the sheet; ``write_events`` and ``write_attendance`` write the files.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from pipeline.reference.names import normaliser, to_cyrillic
from pipeline.synth.attendance.plan import (
    Event,
    Person,
    _names,
    _names_cyr,
    _organiser,
    quarter_span,
)
from pipeline.synth.names import name_key, spell, strip_diacritics
from pipeline.synth.workbooks import workbook, write_rows

HEADERS = {
    "bs": ("R.br.", "Ime i prezime", "Godina rođenja", "Spol", "Mjesto prebivališta", "Uloga",
           "Kontakt telefon", "Potpis"),
    "sr_lat": ("R.br.", "Ime i prezime", "Godina rođenja", "Pol", "Mjesto stanovanja", "Uloga",
               "Telefon", "Potpis"),
    "cyr": ("Р.бр.", "Име и презиме", "Година рођења", "Пол", "Мјесто пребивалишта", "Улога",
            "Контакт телефон", "Потпис"),
    "en": ("No.", "Name", "Year of birth", "Sex", "Place of residence", "Role", "Phone", "Signature"),
    "livno": ("R.br.", "ID događaja", "Ime i prezime", "Godina rođenja", "Spol",
              "Mjesto prebivališta", "Uloga", "Kontakt telefon", "Potpis"),
}
SEX_STYLES = {
    "bs": (("M", "Ž"), ("muško", "žensko")), "livno": (("M", "Ž"),),
    "sr_lat": (("M", "Ž"), ("muško", "žensko")), "cyr": (("М", "Ж"), ("мушко", "женско")),
    "en": (("male", "female"), ("M", "F")),
}
ROLE_WORDS = {
    "bs": {"youth": "mladi", "student": "učenik", "teacher": "nastavnik", "professional": "stručnjak",
           "official": "općinski službenik", "citizen": "građanin", "cso": "OCD"},
    "sr_lat": {"youth": "mladi", "student": "učenik", "teacher": "nastavnik",
               "professional": "stručnjak", "official": "opštinski službenik",
               "citizen": "građanin", "cso": "OCD"},
    "cyr": {"youth": "млади", "student": "ученик", "teacher": "наставник", "professional": "стручњак",
            "official": "општински службеник", "citizen": "грађанин", "cso": "ОЦД"},
    "en": {"youth": "young person", "student": "student", "teacher": "teacher",
           "professional": "professional", "official": "municipal official", "citizen": "citizen",
           "cso": "CSO"},
}
ROLE_WORDS["livno"] = ROLE_WORDS["bs"]
TITLE_BLOCK = {
    "bs": ("Evidencija prisustva", "Datum: ", "ID događaja: ", "Organizator: "),
    "sr_lat": ("Evidencija prisustva", "Datum: ", "ID događaja: ", "Organizator: "),
    "cyr": ("Евиденција присуства", "Датум: ", "ИД догађаја: ", "Организатор: "),
    "en": ("Attendance list", "Date: ", "Event ID: ", "Organiser: "),
}

# spellings of municipality names that the normaliser resolves (checked when used)
RESIDENCE_VARIANTS = {
    "bosansko_grahovo": ("B. Grahovo", "Grahovo", "Bosansko Grahovo (FBiH)"),
    "bosanski_petrovac": ("Bos. Petrovac", "B. Petrovac", "Bosanski Petrovac (FBiH)"),
    "drvar": ("Općina Drvar", "DRVAR", "Drvar (FBiH)"),
    "glamoc": ("Glamoc", "Općina Glamoč", "glamoč"),
    "kljuc": ("Kljuc", "Općina Ključ", "Ključ (FBiH)"),
    "livno": ("Grad Livno", "LIVNO", "livno"),
    "sanski_most": ("Sanski most", "Sanski Most (FBiH)", "Sanski-Most"),
    "mrkonjic_grad": ("Mrkonjic Grad", "Mrkonjić", "Mrkonjić-Grad"),
    "ribnik": ("Opština Ribnik", "Ribnik (RS)", "RIBNIK"),
}

# --- the sheets ------------------------------------------------------------------------

ATTENDANCE_DIRT = {  # kind: share of the dirt budget (dirty x sign-in rows)
    "blank_row": 0.18, "duplicate_signin": 0.12, "birth_out_of_range": 0.10,
    "birth_full_date": 0.12, "birth_excel_serial": 0.06, "birth_as_age": 0.10,
    "name_variant": 0.22, "residence_variant": 0.10,
}
EVENTS_DIRT = ("event_date_iso", "event_date_excel_serial", "event_municipality_cyrillic",
               "event_municipality_variant")
EXCEL_EPOCH = date(1899, 12, 30)


def count_dirt(n_rows: int, dirty: float, shares: dict[str, float]) -> dict[str, int]:
    """How many rows get each kind of dirt: ``dirty`` x rows split by share, at least one of
    each kind when ``dirty`` > 0, and never more rows than there are."""
    if dirty <= 0 or n_rows == 0:
        return dict.fromkeys(shares, 0)
    cap = n_rows // len(shares)
    return {k: min(cap, max(1, round(dirty * n_rows * s))) for k, s in shares.items()}


def _residence(p: Person, lang: str) -> str:
    return (_names_cyr() if lang == "cyr" else _names())[p.muni_id]


def _role_word(p: Person, ev: Event, lang: str) -> str:
    role = p.role
    if role == "youth":
        role = "student" if ev.event_type == "critical_thinking_club" or p.age_on(ev.date) <= 19 else "youth"
    return ROLE_WORDS[lang][role]


def _phone(rng: np.random.Generator, p: Person) -> str:
    d, pre = p.phone_digits, p.phone_prefix
    style = int(rng.integers(4))
    return (f"{pre} {d[:3]} {d[3:]}", f"{pre}/{d[:3]}-{d[3:]}", f"+387 {pre[1:]} {d[:3]} {d[3:]}",
            pre + d)[style]


def sign_in_rows(rng: np.random.Generator, events: list[Event], people: list[Person],
                 dirty: float) -> tuple[list[dict], dict[str, int]]:
    """The ledger: one dict per written row of a sign-in sheet, in file and sheet order.

    Returns the ledger and the planted dirt counts. Keys: ``event_id``, ``pid`` (None for
    blank rows), ``kind`` (person, duplicate, blank), ``name``, ``spelling``, ``birth``,
    ``birth_kind``, ``quarantine`` (implied age out of range), ``sex``, ``residence``,
    ``residence_kind``, ``role``, ``phone``.
    """
    base = [(ev, pid) for ev in events for pid in ev.participants]
    counts = count_dirt(len(base), dirty, ATTENDANCE_DIRT)
    row_kinds = [k for k in ATTENDANCE_DIRT if k != "blank_row"]
    need = sum(counts[k] for k in row_kinds)
    order = rng.permutation(len(base))[:need]
    assigned: dict[int, str] = {}
    pos = 0
    for k in row_kinds:
        for i in order[pos: pos + counts[k]]:
            assigned[int(i)] = k
        pos += counts[k]
    # blank rows go between people, never after the last person of an event
    inner = [i for i in range(len(base) - 1) if base[i + 1][0] is base[i][0]]
    counts["blank_row"] = min(counts["blank_row"], len(inner))
    blank_after = {inner[int(i)] for i in rng.choice(len(inner), size=counts["blank_row"], replace=False)}
    resolve = normaliser().try_resolve
    sex_style = {ev.event_id: SEX_STYLES[ev.lang][int(rng.integers(len(SEX_STYLES[ev.lang])))] for ev in events}

    ledger: list[dict] = []
    for i, (ev, pid) in enumerate(base):
        p = people[pid]
        lang, dirt = ev.lang, assigned.get(i)
        script = "cyrillic" if lang == "cyr" else "latin"
        spelling = script
        if dirt == "name_variant":
            options = ["swapped"]
            if script == "latin" and strip_diacritics(p.first + p.last) != p.first + p.last:
                options.append("no_diacritics")
            if script == "latin" and p.entity == "RS":
                options.append("cyrillic")
            if script == "cyrillic":
                options = ["cyrillic_swapped", "latin"]
            spelling = options[int(rng.integers(len(options)))]
        name = spell(p.first, p.last, spelling)
        assert name_key(name) == name_key(f"{p.first} {p.last}"), name
        birth: int | str = p.birth.year
        birth_kind, quarantine = "year", False
        if dirt == "birth_full_date":
            birth = p.birth.strftime("%d.%m.%Y") + ("." if rng.random() < 0.5 else "")
            birth_kind = "full_date"
        elif dirt == "birth_excel_serial":
            birth, birth_kind = (p.birth - EXCEL_EPOCH).days, "excel_serial"
        elif dirt == "birth_as_age":
            birth, birth_kind = p.age_on(ev.date), "age"
        elif dirt == "birth_out_of_range":
            birth = (int(rng.integers(1898, 1912)), ev.date.year - int(rng.integers(1, 6)))[int(rng.integers(2))]
            birth_kind, quarantine = "out_of_range", True
        residence, residence_kind = _residence(p, lang), "canonical"
        if dirt == "residence_variant":
            residence = RESIDENCE_VARIANTS[p.muni_id][int(rng.integers(3))]
            residence_kind = "variant"
        assert resolve(residence)[0] == p.muni_id, residence
        row = {
            "event_id": ev.event_id, "pid": pid, "kind": "person", "name": name, "spelling": spelling,
            "birth": birth, "birth_kind": birth_kind, "quarantine": quarantine,
            "sex": sex_style[ev.event_id][p.sex == "female"], "residence": residence,
            "residence_kind": residence_kind, "role": _role_word(p, ev, lang),
            "phone": _phone(rng, p) if rng.random() < 0.7 else None,
        }
        ledger.append(row)
        if dirt == "duplicate_signin":
            ledger.append({**row, "kind": "duplicate"})
        if i in blank_after:
            ledger.append({"event_id": ev.event_id, "pid": None, "kind": "blank"})
    return ledger, counts


def write_events(path: Path, rng: np.random.Generator, events: list[Event], dirty: float) -> dict[str, int]:
    """``events.xlsx``: one sheet ``events``, one row per event. Returns planted dirt counts."""
    counts = count_dirt(len(events), dirty, dict.fromkeys(EVENTS_DIRT, 1.0 / len(EVENTS_DIRT)))
    date_dirt = rng.permutation(len(events))
    iso = {int(i) for i in date_dirt[: counts["event_date_iso"]]}
    serial = {int(i) for i in date_dirt[counts["event_date_iso"]: counts["event_date_iso"] + counts["event_date_excel_serial"]]}
    name_dirt = rng.permutation(len(events))
    cyr = {int(i) for i in name_dirt[: counts["event_municipality_cyrillic"]]}
    variant = {int(i) for i in name_dirt[counts["event_municipality_cyrillic"]:
                                        counts["event_municipality_cyrillic"] + counts["event_municipality_variant"]]}
    rows = [("event_id", "date", "municipality", "event_type", "organiser", "title")]
    for i, ev in enumerate(events):
        if i in iso:
            when: str | int = ev.date.isoformat()
        elif i in serial:
            when = (ev.date - EXCEL_EPOCH).days
        else:
            when = ev.date.strftime("%d.%m.%Y")
        if i in cyr:
            names = [_names_cyr()[x] for x in ev.munis]
        elif i in variant:
            names = [RESIDENCE_VARIANTS[x][0] for x in ev.munis]
        else:
            names = [_names()[x] for x in ev.munis]
        rows.append((ev.event_id, when, "; ".join(names), ev.event_type, ev.organiser, ev.title))
    with workbook(path, author="SPSC M&E") as wb:
        write_rows(wb.add_worksheet("events"), rows)
    return counts


def _title_block(rng: np.random.Generator, ev: Event) -> list[tuple]:
    head, date_w, id_w, org_w = TITLE_BLOCK[ev.lang]
    title = to_cyrillic(ev.title) if ev.lang == "cyr" else ev.title
    organiser = to_cyrillic(ev.organiser) if ev.lang == "cyr" and ev.organiser not in ("UNDP", "IOM") else ev.organiser
    lines = [head, title, date_w + ev.date.strftime("%d.%m.%Y"), id_w + ev.event_id]
    if rng.random() < 0.5:
        lines.insert(2, org_w + organiser)
    return [(x,) for x in lines] + [()]


def _person_cells(row: dict, number: int) -> list:
    return [number, row["name"], row["birth"], row["sex"], row["residence"], row["role"], row["phone"], None]


def write_attendance(folder: Path, rng: np.random.Generator, events: list[Event],
                     ledger: list[dict]) -> list[str]:
    """Write the sign-in files ``<muni_id>_<YYYYQn>.xlsx``; fills ``file``, ``sheet``, ``row``
    (1-based Excel row) into the ledger. Returns the file names written."""
    rows_by_event: dict[str, list[dict]] = {}
    for row in ledger:
        rows_by_event.setdefault(row["event_id"], []).append(row)
    groups: dict[tuple[str, str], list[Event]] = {}
    for ev in events:
        groups.setdefault((ev.host, ev.quarter), []).append(ev)
    written = []
    for (host, quarter), evs in groups.items():
        name = f"{host}_{quarter}.xlsx"
        with workbook(folder / name, author=_organiser(host)) as wb:
            if host == "livno":
                start, end = quarter_span(quarter)
                ws = wb.add_worksheet("Prisustvo")
                block = [("Evidencija prisustva",), ("Grad Livno",),
                         (f"Period: {start:%d.%m.%Y} - {end:%d.%m.%Y}",), (), HEADERS["livno"]]
                r = write_rows(ws, block)
                number = 0
                for ev in evs:
                    for row in rows_by_event.get(ev.event_id, []):
                        row.update(file=name, sheet="Prisustvo", row=r + 1)
                        if row["kind"] != "blank":
                            number += 1
                            cells = _person_cells(row, number)
                            write_rows(ws, [[*cells[:1], ev.event_id, *cells[1:]]], r)
                        r += 1
            else:
                for ev in evs:
                    ws = wb.add_worksheet(ev.event_id)
                    r = write_rows(ws, [*_title_block(rng, ev), HEADERS[ev.lang]])
                    number = 0
                    for row in rows_by_event.get(ev.event_id, []):
                        row.update(file=name, sheet=ev.event_id, row=r + 1)
                        if row["kind"] != "blank":
                            number += 1
                            write_rows(ws, [_person_cells(row, number)], r)
                        r += 1
        written.append(name)
    return written
