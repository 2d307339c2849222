"""The people, the events and who attends which.

A population of people with one identity each (name, birth date, sex, residence), the events
of the events list (one per row of ``events.xlsx``) and one list of participants per event;
ages are planted so that youth never depends on how the age is worked out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from pipeline.reference import census, entity_of, municipalities
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.names import (
    FIRST_NAMES,
    NAME_MIX,
    PHONE_PREFIXES,
    SURNAMES,
    TRADITIONS,
    name_key,
)

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
