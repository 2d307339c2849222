"""Activity attendance: a population of people, the events list and the sign-in sheets.

Grain: ``plan_events`` gives one event per row of ``events.xlsx``; ``assign_participants``
one list of people per event; ``sign_in_rows`` one ledger row per written sheet row (people,
duplicates and blank rows), which is what ``write_attendance`` puts in the files and what
``attendance_truth`` counts. People keep one identity (name, birth date, sex, residence) and
come back to several events; the sheets spell them in the script of the sheet, and dirt adds
other spellings, birth dates in other forms, duplicates and blank rows.

Ages are planted so that whether someone is young (15 to 30 at the event date) never depends
on how the age is worked out: nobody attends in a year in which the year difference
(event year minus birth year) is 15 or 31, the only two values where the exact age and the
year difference disagree about youth.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.reference import census, entity_of, municipalities
from pipeline.reference.names import normaliser, to_cyrillic
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.names import (
    FIRST_NAMES,
    NAME_MIX,
    PHONE_PREFIXES,
    SURNAMES,
    TRADITIONS,
    name_key,
    spell,
    strip_diacritics,
)
from pipeline.synth.workbooks import workbook, write_rows

QUARTERS = ("2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4")
YOUTH_EVENT_TYPES = ("youth_exchange", "youth_camp", "critical_thinking_club")
TRAINING_TYPES = ("mental_health_training", "service_provider_training")
YOUTH_MIN_AGE, YOUTH_MAX_AGE = 15, 30
# year differences at which exact age and year difference disagree about youth
_AMBIGUOUS_YEAR_DIFF = (YOUTH_MIN_AGE, YOUTH_MAX_AGE + 1)
QUARANTINE_AGE = (10, 100)  # an implied age outside this range is a recording error

# FBiH-RS neighbours that run joint youth activities, and FBiH-FBiH pairs that also do
PAIRS_INTER_ENTITY = (
    ("drvar", "mrkonjic_grad"), ("kljuc", "ribnik"), ("sanski_most", "ribnik"),
    ("glamoc", "mrkonjic_grad"), ("bosanski_petrovac", "ribnik"), ("livno", "mrkonjic_grad"),
    ("bosansko_grahovo", "mrkonjic_grad"), ("kljuc", "mrkonjic_grad"),
)
PAIRS_SAME_ENTITY = (("glamoc", "livno"), ("drvar", "bosansko_grahovo"),
                     ("kljuc", "sanski_most"), ("bosanski_petrovac", "drvar"))

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


@dataclass
class Person:
    """One person who can sign in: identity, residence and how active they are."""

    pid: int
    first: str
    last: str
    sex: str
    birth: date
    muni_id: str
    role: str  # youth, citizen, official, professional, teacher, cso
    phone_prefix: str
    phone_digits: str
    propensity: float

    @property
    def entity(self) -> str:
        return entity_of(self.muni_id)

    def year_diff(self, on: date) -> int:
        return on.year - self.birth.year

    def age_on(self, on: date) -> int:
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))


@dataclass
class Event:
    """One activity: where, when, what, in which language its sheet is kept, and who came."""

    date: date
    munis: tuple[str, ...]
    event_type: str
    organiser: str
    title: str
    lang: str
    event_id: str = ""
    participants: list[int] = field(default_factory=list)

    @property
    def quarter(self) -> str:
        return f"{self.date.year}Q{(self.date.month - 1) // 3 + 1}"

    @property
    def host(self) -> str:
        return self.munis[0]


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    return dict(zip(municipalities()["muni_id"], municipalities()["name"], strict=True))


@lru_cache(maxsize=1)
def _names_cyr() -> dict[str, str]:
    return dict(zip(municipalities()["muni_id"], municipalities()["name_cyr"], strict=True))


def quarter_span(q: str) -> tuple[date, date]:
    """First and last day of a quarter ``YYYYQn``."""
    year, n = int(q[:4]), int(q[-1])
    start = date(year, 3 * n - 2, 1)
    end = date(year + (n == 4), 1 if n == 4 else 3 * n + 1, 1) - timedelta(days=1)
    return start, end


def _random_day(rng: np.random.Generator, q: str, weekend_ok: bool) -> date:
    start, end = quarter_span(q)
    if q == "2023Q1":  # activities started in March, after the baseline survey
        start = date(2023, 3, 1)
    d = start + timedelta(days=int(rng.integers((end - start).days + 1)))
    if not weekend_ok and d.weekday() >= 5:
        d -= timedelta(days=d.weekday() - 4)  # move to the Friday before
        d = max(d, start)
    return d


def _organiser(muni_id: str) -> str:
    name = _names()[muni_id]
    if muni_id == "livno":
        return "Grad Livno"
    return ("Opština " if entity_of(muni_id) == "RS" else "Općina ") + name


def _sheet_lang(rng: np.random.Generator, host: str, organiser: str) -> str:
    if host == "livno":
        return "livno"
    if organiser in ("UNDP", "IOM"):
        return "en"
    if entity_of(host) == "RS":
        return "cyr" if rng.random() < 0.6 else "sr_lat"
    return "bs"


def plan_events(rng: np.random.Generator) -> list[Event]:
    """The project's activities 2023Q1-2024Q4, sorted by date, with ids ``EV-0001``..."""
    names = _names()
    planned: list[Event] = []

    def add(q: str, munis: tuple[str, ...], kind: str, organiser: str, title: str, weekend_ok=False):
        d = _random_day(rng, q, weekend_ok)
        planned.append(Event(d, munis, kind, organiser, title, _sheet_lang(rng, munis[0], organiser)))

    topics = ("socijalne usluge", "mladi i zapošljavanje", "mentalno zdravlje u zajednici",
              "budžet za 2024. godinu", "komunalne usluge", "saradnja sa susjednim općinama")
    order = list(PROJECT_MUNICIPALITIES)
    no_dialogue = {order[i] for i in rng.permutation(len(order))[:2]}
    for m in order:
        if m in no_dialogue:
            continue
        for _ in range(int(rng.integers(2, 6))):
            q = QUARTERS[int(rng.integers(len(QUARTERS)))]
            topic = topics[int(rng.integers(len(topics)))]
            if entity_of(m) == "RS":
                topic = topic.replace("općin", "opštin")
            add(q, (m,), "citizen_dialogue", _organiser(m), f"Dijalog građana {names[m]}: {topic}")
    youth_pool = np.array([float(census().set_index("muni_id").loc[m, "population"]) for m in order])
    for q in QUARTERS[1:]:
        for k in range(2):
            inter = k == 0 or rng.random() < 0.6
            pairs = PAIRS_INTER_ENTITY if inter else PAIRS_SAME_ENTITY
            a, b = pairs[int(rng.integers(len(pairs)))]
            if rng.random() < 0.5:
                a, b = b, a
            org = ("UNDP", "IOM", _organiser(a))[int(rng.integers(3))]
            add(q, (a, b), "youth_exchange", org, f"Razmjena mladih {names[a]} – {names[b]}",
                weekend_ok=True)
        if q.endswith(("Q2", "Q3")):
            a, b = PAIRS_INTER_ENTITY[int(rng.integers(len(PAIRS_INTER_ENTITY)))]
            add(q, (a, b), "youth_camp", "UNDP", f"Kamp mladih {names[a]} – {names[b]}", True)
        for _ in range(3):
            h = order[int(rng.choice(len(order), p=np.sqrt(youth_pool) / np.sqrt(youth_pool).sum()))]
            school = ("JU Srednja škola", "Gimnazija", "JU Mješovita srednja škola")[int(rng.integers(3))]
            add(q, (h,), "critical_thinking_club", _organiser(h),
                f"Klub kritičkog mišljenja, {school} {names[h]}")
        h = order[int(rng.integers(len(order)))]
        add(q, (h,), "mental_health_training", "IOM",
            f"Obuka o mentalnom zdravlju u zajednici, {names[h]}")
    for i, q in enumerate(QUARTERS):
        if i in (3, 6):
            a, b = PAIRS_INTER_ENTITY[int(rng.integers(len(PAIRS_INTER_ENTITY)))]
            add(q, (a, b), "service_provider_training", "UNDP",
                f"Obuka pružalaca usluga {names[a]} – {names[b]}")
        else:
            h = order[int(rng.integers(len(order)))]
            add(q, (h,), "service_provider_training", f"Centar za socijalni rad {names[h]}",
                f"Obuka pružalaca socijalnih usluga, {names[h]}")
    planned.sort(key=lambda e: e.date)  # stable: same-day events keep their planning order
    for i, ev in enumerate(planned):
        ev.event_id = f"EV-{i + 1:04d}"
        if ev.lang == "en":
            ev.title = _english_title(ev)
    return planned


def _english_title(ev: Event) -> str:
    names = _names()
    where = " – ".join(names[m] for m in ev.munis)
    return {"youth_exchange": "Youth exchange", "youth_camp": "Youth camp",
            "mental_health_training": "Community mental health training",
            "service_provider_training": "Training of service providers"}[ev.event_type] + f", {where}"


_ROLE_POOLS = {  # role: (people per municipality, plus this many per census inhabitant, birth years)
    "youth": (15, 0.0025, (1993, 2009)),
    "citizen": (25, 0.0015, (1950, 1992)),
    "official": (8, 0.0, (1965, 1992)),
    "professional": (14, 0.0, (1960, 1996)),
    "teacher": (6, 0.0, (1960, 1990)),
    "cso": (5, 0.0, (1975, 1998)),
}


def make_people(rng: np.random.Generator) -> list[Person]:
    """The people of the nine municipalities who may come to activities, with unique names."""
    people: list[Person] = []
    used: set[str] = set()
    pop = census().set_index("muni_id")["population"]
    for muni in PROJECT_MUNICIPALITIES:
        entity = entity_of(muni)
        for role, (base, per_capita, (y0, y1)) in _ROLE_POOLS.items():
            n = round(base + per_capita * float(pop[muni]))
            for _ in range(n):
                sex = "female" if rng.random() < (0.55 if role == "youth" else 0.5) else "male"
                trad = TRADITIONS[int(rng.choice(3, p=np.array(NAME_MIX[muni]) / sum(NAME_MIX[muni])))]
                while True:
                    first = FIRST_NAMES[trad][sex][int(rng.integers(len(FIRST_NAMES[trad][sex])))]
                    last = SURNAMES[trad][int(rng.integers(len(SURNAMES[trad])))]
                    key = name_key(f"{first} {last}")
                    if key not in used:
                        used.add(key)
                        break
                if role == "youth":  # more teenagers than late twenties
                    year = int(y1 - min(y1 - y0, int(rng.exponential(6.0))))
                else:
                    year = int(rng.integers(y0, y1 + 1))
                birth = date(year, 1, 1) + timedelta(days=int(rng.integers(365)))
                prefixes = PHONE_PREFIXES[entity]
                people.append(Person(
                    len(people), first, last, sex, birth, muni, role,
                    prefixes[int(rng.integers(len(prefixes)))],
                    f"{int(rng.integers(100_000, 1_000_000)):06d}",
                    float(rng.gamma(0.8, 1.0)) + 0.05,
                ))
    return people


def assign_participants(rng: np.random.Generator, events: list[Event], people: list[Person]) -> None:
    """Fill ``Event.participants``; people with high propensity come back often."""
    by_role: dict[tuple[str, str], list[Person]] = {}
    for p in people:
        by_role.setdefault((p.muni_id, p.role), []).append(p)

    def pick(cands: list[Person], k: int, on: date, taken: set[int], young: tuple[int, int] | None = None):
        ok = [p for p in cands if p.pid not in taken and p.year_diff(on) not in _AMBIGUOUS_YEAR_DIFF
              and (young is None or young[0] <= p.year_diff(on) <= young[1])]
        k = min(k, len(ok))
        if k == 0:
            return []
        w = np.array([p.propensity for p in ok])
        chosen = rng.choice(len(ok), size=k, replace=False, p=w / w.sum())
        out = [ok[i].pid for i in sorted(chosen)]
        taken.update(out)
        return out

    other_side = {e: [m for m in PROJECT_MUNICIPALITIES if entity_of(m) != e] for e in ("FBiH", "RS")}
    for ev in events:
        on, taken, parts = ev.date, set(), []
        t = ev.event_type
        if t == "citizen_dialogue":
            h = ev.host
            n = int(rng.integers(12, 31))
            parts += pick(by_role[(h, "official")], int(rng.integers(2, 5)), on, taken)
            parts += pick(by_role[(h, "cso")], int(rng.integers(1, 4)), on, taken)
            parts += pick(by_role[(h, "youth")], round(0.15 * n), on, taken, (16, 30))
            parts += pick(by_role[(h, "citizen")], n - len(parts), on, taken)
        elif t == "critical_thinking_club":
            h = ev.host
            parts += pick(by_role[(h, "youth")], int(rng.integers(8, 17)), on, taken, (14, 19))
            parts += pick(by_role[(h, "teacher")], 1, on, taken)
            if rng.random() < 0.3:  # one visitor from the other entity: not enough for inter-entity
                m = other_side[entity_of(h)][int(rng.integers(len(other_side[entity_of(h)])))]
                parts += pick(by_role[(m, "youth")], 1, on, taken, (16, 19))
        elif t in ("youth_exchange", "youth_camp"):
            lo, hi = (6, 13) if t == "youth_exchange" else (10, 17)
            for m in ev.munis:
                parts += pick(by_role[(m, "youth")], int(rng.integers(lo, hi)), on, taken, (16, 30))
                parts += pick(by_role[(m, "teacher" if t == "youth_exchange" else "cso")], 1, on, taken)
        elif t == "mental_health_training":
            h = ev.host
            parts += pick(by_role[(h, "professional")], int(rng.integers(8, 15)), on, taken)
            same = [m for m in PROJECT_MUNICIPALITIES if m != h and entity_of(m) == entity_of(h)]
            for _ in range(int(rng.integers(0, 3))):
                parts += pick(by_role[(same[int(rng.integers(len(same)))], "professional")], 1, on, taken)
        else:  # service_provider_training
            for m in ev.munis:
                parts += pick(by_role[(m, "professional")], int(rng.integers(5, 11)), on, taken)
                parts += pick(by_role[(m, "official")], int(rng.integers(1, 4)), on, taken)
        ev.participants = parts


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


# --- what a correct pipeline finds ------------------------------------------------------

def compute_attendance_truth(events: list[Event], people: list[Person], ledger: list[dict],
                     min_per_side: int = 2, sustained: int = 3) -> dict:
    """The attendance figures a correct pipeline computes from the files.

    Counts use person rows that are not quarantinable (implied age 10..100), after linking
    spellings of the same person and removing duplicate sign-ins within an event.
    """
    attended: dict[str, list[int]] = {ev.event_id: [] for ev in events}
    for row in ledger:
        if row["kind"] == "person" and not row["quarantine"] and row["pid"] not in attended[row["event_id"]]:
            attended[row["event_id"]].append(row["pid"])

    def young(pid: int, ev: Event) -> bool:
        p = people[pid]
        exact = YOUTH_MIN_AGE <= p.age_on(ev.date) <= YOUTH_MAX_AGE
        assert exact == (YOUTH_MIN_AGE <= p.year_diff(ev.date) <= YOUTH_MAX_AGE), (pid, ev.event_id)
        return exact

    def by_sex(pids) -> dict[str, int]:
        out = {"female": 0, "male": 0}
        for pid in pids:
            out[people[pid].sex] += 1
        return out

    dialogues = [ev for ev in events if ev.event_type == "citizen_dialogue"]
    dialogue_attendances = [pid for ev in dialogues for pid in attended[ev.event_id]]
    youth_events: dict[int, set[str]] = {}
    for ev in events:
        for pid in attended[ev.event_id]:
            if young(pid, ev):
                youth_events.setdefault(pid, set()).add(ev.event_id)
    young_pids = sorted(youth_events)

    inter, inter_youth_only, youth_type_events = [], [], []
    for ev in events:
        if ev.event_type not in YOUTH_EVENT_TYPES:
            continue
        youth_type_events.append(ev.event_id)
        ents = [people[pid].entity for pid in attended[ev.event_id]]
        yents = [people[pid].entity for pid in attended[ev.event_id] if young(pid, ev)]
        if ents.count("FBiH") >= min_per_side and ents.count("RS") >= min_per_side:
            inter.append(ev.event_id)
        if yents.count("FBiH") >= min_per_side and yents.count("RS") >= min_per_side:
            inter_youth_only.append(ev.event_id)

    ties: set[tuple[int, int]] = set()
    ties_by_quarter: dict[str, set[tuple[int, int]]] = {q: set() for q in QUARTERS}
    for ev in events:
        ys = sorted(pid for pid in attended[ev.event_id] if young(pid, ev))
        for a, b in itertools.combinations(ys, 2):
            if people[a].entity != people[b].entity:
                ties.add((a, b))
                ties_by_quarter[ev.quarter].add((a, b))
    pair_counts: dict[str, int] = {}
    for a, b in sorted(ties):
        ma, mb = sorted((people[a].muni_id, people[b].muni_id))
        key = f"{ma}|{mb}"
        pair_counts[key] = pair_counts.get(key, 0) + 1

    spellings: dict[int, list[str]] = {}
    for row in ledger:
        if row["kind"] == "person" and not row["quarantine"]:
            names = spellings.setdefault(row["pid"], [])
            if row["name"] not in names:
                names.append(row["name"])
    n_types = {t: sum(ev.event_type == t for ev in events) for t in
               ("citizen_dialogue", *YOUTH_EVENT_TYPES, *TRAINING_TYPES)}
    person_rows = [r for r in ledger if r["kind"] == "person"]
    return {
        "events": len(events),
        "events_by_type": n_types,
        "events_by_quarter": {q: sum(ev.quarter == q for ev in events) for q in QUARTERS},
        "joint_events": sum(len(ev.munis) > 1 for ev in events),
        "citizen_dialogues": len(dialogues),
        "citizen_dialogues_by_municipality": {m: sum(ev.host == m for ev in dialogues) for m in PROJECT_MUNICIPALITIES},
        "citizen_dialogue_attendances_by_sex": by_sex(dialogue_attendances),
        "citizen_dialogue_unique_participants_by_sex": by_sex(sorted(set(dialogue_attendances))),
        "attendances": sum(len(v) for v in attended.values()),
        "unique_participants": len({pid for v in attended.values() for pid in v}),
        "unique_young_participants_by_sex": by_sex(young_pids),
        "unique_young_participants": len(young_pids),
        "youth_events": len(youth_type_events),
        "inter_entity_youth_events": len(inter),
        "inter_entity_share": round(len(inter) / len(youth_type_events), 6) if youth_type_events else None,
        "inter_entity_youth_events_counting_only_young": len(inter_youth_only),
        "inter_entity_event_ids": inter,
        "young_with_at_least_3_activities": sum(len(v) >= sustained for v in youth_events.values()),
        "cross_entity_ties": len(ties),
        "cross_entity_ties_by_municipality_pair": pair_counts,
        "cross_entity_ties_by_quarter": {q: len(v) for q, v in ties_by_quarter.items()},
        "sign_in_person_rows": len(person_rows),
        "sign_in_duplicate_rows": sum(r["kind"] == "duplicate" for r in ledger),
        "sign_in_blank_rows": sum(r["kind"] == "blank" for r in ledger),
        "sign_in_quarantinable_rows": sum(r["quarantine"] for r in person_rows),
        "name_variants": {
            "persons_with_several_spellings": sum(len(v) > 1 for v in spellings.values()),
            "extra_spellings": sum(len(v) - 1 for v in spellings.values()),
            "rows_by_spelling": {s: sum(r["spelling"] == s for r in person_rows)
                                 for s in ("latin", "cyrillic", "no_diacritics", "swapped",
                                           "cyrillic_swapped")},
        },
    }


def count_exposures(events: list[Event], fieldwork_start: dict[str, date]) -> dict[str, dict[str, dict[str, int]]]:
    """Activities each municipality had before each survey wave: the drivers of planted change.

    ``dialogues`` (citizen dialogues hosted before fieldwork), ``dialogues_12m`` (in the 365
    days before), ``trainings`` (service-provider and mental-health trainings it took part
    in), ``inter_entity_youth`` (joint youth events with the other entity).
    """
    out: dict[str, dict[str, dict[str, int]]] = {}
    for m in PROJECT_MUNICIPALITIES:
        out[m] = {}
        for wave, start in fieldwork_start.items():
            before = [ev for ev in events if ev.date < start and m in ev.munis]
            out[m][wave] = {
                "dialogues": sum(ev.event_type == "citizen_dialogue" for ev in before),
                "dialogues_12m": sum(ev.event_type == "citizen_dialogue" and (start - ev.date).days <= 365
                                     for ev in before),
                "trainings": sum(ev.event_type in TRAINING_TYPES for ev in before),
                "inter_entity_youth": sum(
                    ev.event_type in YOUTH_EVENT_TYPES and len({entity_of(x) for x in ev.munis}) > 1
                    for ev in before),
            }
    return out
