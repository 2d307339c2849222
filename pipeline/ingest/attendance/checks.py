"""Checking sign-in rows: from a sheet's cells to loadable sign-ins and quarantine rows.

Every row under a sheet's header is loaded, quarantined with a reason, or counted blank (a
row with nothing but a row number). Rows are quarantined for: no header in the sheet, a
repeated header, no or one-word name, missing or unreadable sex, missing or unreadable year of
birth, an impossible age at the event (outside :data:`AGE_RANGE`), a missing or unknown
municipality of residence, a missing event id, an event id not in the events list, or a title
block contradicting the sheet name. The quarantine never shows a name, phone, e-mail,
signature or full birth date (``<personal>``).

Every check runs once per distinct value of a column (:class:`Distinct`) and is spread back
to the rows by code: no Python runs once per row.

The rows under a sheet's header, and the problems of a whole sheet, come from
:mod:`pipeline.ingest.attendance.sheets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from pipeline.ingest.attendance.values import (
    PERSONAL_FIELDS,
    Distinct,
    blank_mask,
    is_blank,
    normalise_event_id,
    parse_birth,
    parse_role,
    parse_sex,
)
from pipeline.privacy import pseudonymise_many
from pipeline.reference.names import normaliser
from pipeline.registry.keys import KEY_PREFIX, name_key

KIND = "attendance"
AGE_RANGE = (10, 100)  # an age at an event outside this is a writing error, not a participant
PERSONAL = "<personal>"
FIELDS = ("name", "first_name", "last_name", "birth", "sex", "residence", "role", "event_id")
_LOOKS_LIKE_EVENT_ID = re.compile(r"^[A-Z]+-\d+$")
_DATE_LIKE = re.compile(r"\d{1,4}\s*[./-]\s*\d{1,2}")

REASONS = {
    "no_header": "the sheet has no recognisable header row (e.g. 'Ime i prezime', 'Spol')",
    "repeated_header": "the header row repeated inside the data",
    "missing_name": "no name",
    "incomplete_name": "only one name word: first and last name are needed to tell people apart",
    "missing_sex": "no sex",
    "invalid_sex": "sex not understood (M/Ž/F, muško/žensko, male/female)",
    "missing_birth_year": "no year of birth, date of birth or age",
    "invalid_birth_year": "not a year of birth, a date of birth or an age",
    "impossible_age": "impossible age at the event",
    "missing_municipality": "no municipality of residence",
    "unknown_municipality": "unknown municipality",
    "missing_event_id": "no event id in the row, the title block or the sheet name",
    "unknown_event": "event id not in the events list (ingest the events list first)",
    "conflicting_event_id": "the title block and the sheet name give different event ids",
}
PROBLEM_COLUMNS = ["sheet", "source_row", "column_name", "value", "rule", "reason"]


def objects(items) -> np.ndarray:
    """An object array of ``items``, one element each (tuples stay whole)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def object_frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame whose text columns stay Python objects (pandas would convert them to its string
    type, and back, at every step: seconds on a million rows)."""
    return pd.DataFrame(
        {
            k: pd.Series(v, dtype=object) if np.asarray(v).dtype == object else v
            for k, v in columns.items()
        }
    )


def filled(n: int, value: object) -> np.ndarray:
    """An object array of ``n`` times ``value``."""
    return np.full(n, value, dtype=object)


def quarantine_value(field_: str, value: object) -> str | None:
    """What the quarantine may show of a cell: never a name, phone, e-mail, signature or a
    full birth date (those are written ``<personal>``)."""
    if is_blank(value):
        return None
    if field_ in PERSONAL_FIELDS:
        return PERSONAL
    if field_ == "birth":
        parsed = parse_birth(value)
        if parsed is not None and parsed.kind == "date":
            return PERSONAL
    if isinstance(value, int | float) and float(value).is_integer():
        return str(int(value))
    if field_ == "birth" and _DATE_LIKE.search(str(value)):
        return PERSONAL
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@dataclass
class CheckedRows:
    """Rows after the checks: what loads, who they are, what was rejected."""

    signins: pd.DataFrame  # sheet, source_row, event_id, person_key, alt_person_key, sex, ...
    persons: pd.DataFrame  # person_key, name_key, birth_year, muni_id (one row per key)
    problems: list[pd.DataFrame]
    duplicates: int  # sign-ins repeating a person at an event within this file


class _Checks:
    """The rule-by-rule bookkeeping of :func:`check_rows`."""

    def __init__(self, rows: dict[str, np.ndarray], headers: dict[str, dict[str, str]]):
        self.rows = rows
        self.headers = headers
        self.bad = np.zeros(len(rows["sheet"]), dtype=bool)
        self.problems: list[pd.DataFrame] = []

    def flag(self, mask: np.ndarray, field_: str, rule: str, reason=None, values=None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.bad |= mask
        if values is None:
            values = [quarantine_value(field_, v) for v in self.rows[field_][mask]]
        sheets = self.rows["sheet"][mask]
        n = len(sheets)
        self.problems.append(
            object_frame(
                {
                    "sheet": sheets,
                    "source_row": self.rows["source_row"][mask],
                    "column_name": objects(
                        [self.headers.get(s, {}).get(field_, field_) for s in sheets]
                    ),
                    "value": objects(list(values)),
                    "rule": filled(n, rule),
                    "reason": filled(n, REASONS[rule])
                    if reason is None
                    else np.asarray(reason, dtype=object)[mask],
                }
            )
        )


def check_rows(
    rows: dict[str, np.ndarray],
    headers: dict[str, dict[str, str]],
    known: dict[str, date],
    secret: bytes,
    keep_names: bool = False,
) -> CheckedRows:
    """Check the rows of every sheet of a file at once.

    Args:
        rows: the rows of :func:`sheet_rows` of every sheet, column by column.
        headers: sheet -> field -> header text, for the quarantine's column names.
        known: event id -> date, of the loaded events lists.
        secret: the pseudonymisation secret.
        keep_names: keep the names as written (``signins.name``) for a reviewer's screen.
    """
    n = len(rows["sheet"])
    checks = _Checks(rows, headers)
    flag = checks.flag

    # the person's name: only its normalised form goes on, as part of the key
    names = Distinct(_full_names(rows) if n else [])
    key_of_name = names.per_value(name_key)
    keys = names.spread(key_of_name)
    flag(names.spread(np.array([k is None for k in key_of_name])), "name", "missing_name")
    flag(
        names.spread(np.array([k is not None and " " not in k for k in key_of_name])),
        "name",
        "incomplete_name",
    )

    sexes = Distinct(rows["sex"])
    sex_blank = sexes.blank()
    sex_of_value = sexes.per_value(parse_sex)
    sex = sexes.spread(sex_of_value)
    flag(sex_blank, "sex", "missing_sex")
    flag(
        ~sex_blank & sexes.spread(np.array([v is None for v in sex_of_value])), "sex", "invalid_sex"
    )

    # the event: the row's own id, else the sheet's (title block or sheet name)
    own_blank = Distinct(rows["event_id"]).blank()
    events = Distinct(np.where(own_blank, rows["default_event"], rows["event_id"]))
    event_of_value = events.per_value(normalise_event_id)
    event = events.spread(event_of_value)
    no_event_of_value = np.array([e is None for e in event_of_value])
    conflict = Distinct(rows["conflict"]).map(lambda c: c is not None, bool) & own_blank
    flag(
        conflict,
        "event_id",
        "conflicting_event_id",
        reason=np.where(conflict, rows["conflict"], None),
        values=rows["sheet"][conflict],
    )
    no_event = events.spread(no_event_of_value) & ~conflict
    flag(no_event, "event_id", "missing_event_id", values=[None] * int(no_event.sum()))
    date_of_value = objects([None if e is None else known.get(e) for e in event_of_value])
    unknown = events.spread(~no_event_of_value & np.array([d is None for d in date_of_value]))
    flag(unknown, "event_id", "unknown_event", values=event[unknown])

    births = Distinct(rows["birth"])
    birth_blank = births.blank()
    parsed = births.per_value(parse_birth)
    flag(birth_blank, "birth", "missing_birth_year")
    flag(
        ~birth_blank & births.spread(np.array([b is None for b in parsed])),
        "birth",
        "invalid_birth_year",
    )
    birth_year, alt_birth_year, age, source = _ages(births, parsed, events, date_of_value)
    impossible = ~np.isnan(age) & ((age < AGE_RANGE[0]) | (age > AGE_RANGE[1]))
    if impossible.any():
        reasons = np.full(n, None, dtype=object)
        lo, hi = AGE_RANGE
        reasons[impossible] = [
            f"impossible age at the event: {int(a)} (allowed {lo}-{hi})" for a in age[impossible]
        ]
        flag(impossible, "birth", "impossible_age", reason=reasons)

    places = Distinct(rows["residence"])
    residence_blank = places.blank()
    resolved = places.per_value(_resolve)
    muni_of_value = objects([r[0] for r in resolved])
    muni = places.spread(muni_of_value)
    flag(residence_blank, "residence", "missing_municipality")
    flag(
        ~residence_blank & places.spread(np.array([m is None for m in muni_of_value])),
        "residence",
        "unknown_municipality",
        reason=places.spread(objects([r[1] for r in resolved])),
    )

    ok = ~checks.bad
    role = Distinct(rows["role"]).map(lambda v: None if is_blank(v) else (parse_role(v) or "other"))

    # a person: (normalised name, birth year, municipality), coded as one integer per row
    name_codes = names.spread(
        np.append(pd.factorize(key_of_name[:-1], use_na_sentinel=True)[0], -1)
    )
    muni_codes = places.spread(
        np.append(pd.factorize(muni_of_value[:-1], use_na_sentinel=True)[0], -1)
    )
    person_code = _person_code(name_codes[ok], birth_year[ok], muni_codes[ok])
    key_lookup = _Keys(secret, keys[ok], birth_year[ok], muni[ok])
    person_key = key_lookup.keys_of(person_code)
    by_age = ~np.isnan(alt_birth_year[ok])
    alt_key = np.full(int(ok.sum()), None, dtype=object)
    if by_age.any():
        alt_code = _person_code(
            name_codes[ok][by_age], alt_birth_year[ok][by_age], muni_codes[ok][by_age]
        )
        alt_key[by_age] = key_lookup.keys_of(
            alt_code, years=alt_birth_year[ok][by_age], rows=by_age
        )

    event_ok = event[ok]
    pair = (
        pd.factorize(event_ok)[0].astype(np.int64) * (int(person_code.max(initial=0)) + 1)
        + person_code
    )
    duplicates = len(pair) - len(pd.unique(pair))
    signins = object_frame(
        {
            "sheet": rows["sheet"][ok],
            "source_row": rows["source_row"][ok].astype("int64"),
            "event_id": event_ok,
            "person_key": person_key,
            "alt_person_key": alt_key,
            "sex": sex[ok],
            "birth_year": birth_year[ok].astype("int64"),
            "birth_source": source[ok],
            "age_at_event": age[ok].astype("int64"),
            "muni_id": muni[ok],
            "role": role[ok],
        }
    )
    if keep_names:
        signins["name"] = pd.Series(names.spread(objects([*names.uniques, None]))[ok], dtype=object)
    return CheckedRows(signins, key_lookup.persons(), checks.problems, duplicates)


def _full_names(rows: dict[str, np.ndarray]) -> np.ndarray:
    """The name column, or first and last name joined when the sheet splits them."""
    name = rows["name"]
    first, last = rows["first_name"], rows["last_name"]
    if all(is_blank(v) for v in pd.unique(first)) and all(is_blank(v) for v in pd.unique(last)):
        return name
    first_blank, last_blank = blank_mask(first), blank_mask(last)
    joined = objects(
        [
            f"{'' if fb else f} {'' if lb else la}"
            for f, la, fb, lb in zip(first, last, first_blank, last_blank, strict=True)
        ]
    )
    use_parts = blank_mask(name) & ~(first_blank & last_blank)
    return np.where(use_parts, joined, name)


def _resolve(value: object) -> tuple[str | None, str | None]:
    return (None, None) if is_blank(value) else normaliser().try_resolve(str(value))


def _person_code(
    name_codes: np.ndarray, birth_years: np.ndarray, muni_codes: np.ndarray
) -> np.ndarray:
    """One int64 per (name, birth year, municipality): equal codes, equal people."""
    years = np.clip(np.nan_to_num(birth_years, nan=1799) - 1799, 0, 511).astype(np.int64)
    return (name_codes.astype(np.int64) * 512 + years) * 512 + muni_codes.astype(np.int64)


class _Keys:
    """Person keys by person code: one HMAC per distinct person, never one per sign-in."""

    def __init__(self, secret: bytes, names: np.ndarray, years: np.ndarray, munis: np.ndarray):
        self.secret = secret
        self.names, self.years, self.munis = names, years, munis
        self.known: dict[int, tuple[str, str, int, str]] = {}

    def keys_of(
        self, codes: np.ndarray, years: np.ndarray | None = None, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Keys of ``codes``; ``years``/``rows`` give other birth years for a subset of rows."""
        inverse, distinct = pd.factorize(codes)
        first = np.full(len(distinct), -1, dtype=np.int64)
        first[inverse[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the first row of each code
        names = self.names if rows is None else self.names[rows]
        munis = self.munis if rows is None else self.munis[rows]
        years = self.years if years is None else years
        todo = [
            (int(c), i) for c, i in zip(distinct, first, strict=True) if int(c) not in self.known
        ]
        messages = [f"person\x1f{names[i]}\x1f{int(years[i])}\x1f{munis[i]}" for _, i in todo]
        for (code, i), key in zip(
            todo, pseudonymise_many(self.secret, messages, prefix=KEY_PREFIX), strict=True
        ):
            self.known[code] = (key, names[i], int(years[i]), munis[i])
        return objects([self.known[int(c)][0] for c in distinct])[inverse]

    def persons(self) -> pd.DataFrame:
        """One row per key made: ``person_key, name_key, birth_year, muni_id``."""
        values = list(self.known.values())
        return object_frame(
            {
                "person_key": objects([v[0] for v in values]),
                "name_key": objects([v[1] for v in values]),
                "birth_year": np.array([v[2] for v in values], dtype=np.int64),
                "muni_id": objects([v[3] for v in values]),
            }
        )


def _ages(
    births: Distinct, parsed: np.ndarray, events: Distinct, date_of_value: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Birth year, other possible birth year, age at the event and what the sheet gave, per
    row (NaN where unknown).

    A full date gives the exact age at the event; a year gives the difference of years; an
    age gives the birth year as the event year minus the age (birthday already past), the
    other possible birth year being one earlier.
    """

    def birth_part(name: str) -> np.ndarray:
        values = [
            np.nan if b is None or getattr(b, name) is None else getattr(b, name) for b in parsed
        ]
        return births.spread(np.array(values, dtype=float))

    def event_part(name: str) -> np.ndarray:
        return events.spread(
            np.array(
                [np.nan if d is None else getattr(d, name) for d in date_of_value], dtype=float
            )
        )

    kind = births.spread(objects([None if b is None else b.kind for b in parsed]))
    year, month, day, stated = (birth_part(p) for p in ("year", "month", "day", "age"))
    ey, em, ed = (event_part(p) for p in ("year", "month", "day"))
    before_birthday = (em < month) | ((em == month) & (ed < day))
    age = np.full(len(kind), np.nan)
    age = np.where(kind == "year", ey - year, age)
    age = np.where(kind == "date", ey - year - before_birthday.astype(float), age)
    age = np.where(kind == "age", stated, age)
    birth_year = np.where(kind == "age", ey - stated, year)
    alt_birth_year = np.where(kind == "age", ey - stated - 1, np.nan)
    return birth_year, alt_birth_year, age, kind
