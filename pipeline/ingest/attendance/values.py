"""Reading the values people write on sign-in sheets and events lists.

Headers and coded values (sex, role, event type) are recognised through two alias tables
in ``pipeline/ingest/aliases/``, which a project extends without code in its own
``aliases/`` folder (the same two files, same columns): a new spelling or a new event type is
a new CSV line. Both sides are compared after :func:`pipeline.reference.names.fold` (Latin script,
no case, no diacritics, no punctuation), and text in brackets is ignored in headers
(``Spol (M/Ž)`` is ``Spol``).

Parsers here take one cell value and return a typed value or ``None`` (not understood);
the stages apply them once per distinct value (:func:`map_distinct`), never once per row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.reference.names import fold, to_latin

HEADER_ALIASES = "attendance_headers.csv"
VALUE_ALIASES = "attendance_values.csv"
PERSONAL_FIELDS = frozenset({"name", "first_name", "last_name", "phone", "email", "signature"})
YOUTH_EVENT_TYPES = ("youth_exchange", "youth_camp", "critical_thinking_club")
EVENT_TYPES = (
    "citizen_dialogue",
    "youth_exchange",
    "youth_camp",
    "critical_thinking_club",
    "mental_health_training",
    "service_provider_training",
)
ROLES = (
    "young_person",
    "student",
    "teacher",
    "professional",
    "municipal_official",
    "citizen",
    "cso",
)

_BRACKETS = re.compile(r"\(.*?\)|\[.*?\]")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# "1999.0" / "17,0": a number cell formatted with decimals, saved as text (',' in BiH locales)
_YEAR = re.compile(r"^(\d{4})(?:[.,]0*)?\.?$")
_DMY = re.compile(
    r"^(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{4})\s*\.?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_AGE = re.compile(r"^(\d{1,3})(?:[.,]0*)?\s*(?:god\w*|g|yrs?|years?|y)?\.?$")
_EVENT_ID = re.compile(r"^([A-Z]+)[\s_.\-]*0*(\d+)$")


_PROJECT_ALIASES: list[str | None] = [None]  # the project's aliases folder (set by the loaders)


def use_project_aliases(folder: Path | str | None) -> None:
    """Read the alias tables of this project folder too (``None``: the packaged ones only)."""
    folder = str(folder) if folder is not None and Path(folder).is_dir() else None
    if folder != _PROJECT_ALIASES[0]:
        _PROJECT_ALIASES[0] = folder
        header_aliases.cache_clear()
        value_aliases.cache_clear()


def _read_alias_table(name: str) -> pd.DataFrame:
    with resources.files("pipeline.ingest").joinpath("aliases", name).open("rb") as fh:
        frames = [pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8")]
    extra = Path(_PROJECT_ALIASES[0]) / name if _PROJECT_ALIASES[0] else None
    if extra is not None and extra.is_file():
        own = pd.read_csv(extra, dtype=str, keep_default_na=False, encoding="utf-8")
        needed = ["table", "alias", "field"] if name == HEADER_ALIASES else ["field", "alias", "value"]
        missing = [c for c in needed if c not in own.columns]
        if missing:
            from pipeline.errors import SpscError

            raise SpscError(f"the alias table lacks the columns {', '.join(missing)}", str(extra),
                            f"its first line names the columns: {','.join(needed)}")
        frames.append(own.reindex(columns=frames[0].columns, fill_value=""))
    return pd.concat(frames, ignore_index=True)


def event_types() -> list[str]:
    """The event types the alias tables know (packaged and the project's)."""
    return sorted(set(value_aliases("event_type").values()))


def fold_header(text: object) -> str:
    """The comparison key of a header cell: folded, text in brackets ignored."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    # folding works letter by letter: fold each written word once and reuse it
    return "".join(_fold_word(w) for w in _BRACKETS.sub(" ", str(text)).split())


@lru_cache(maxsize=1 << 16)
def _fold_word(word: str) -> str:
    return fold(word)


@lru_cache(maxsize=4)
def header_aliases(table: str) -> dict[str, str]:
    """Folded header spelling -> canonical field, for ``attendance`` or ``events`` files.

    Raises:
        ValueError: one spelling is given two different fields in the alias table.
    """
    df = _read_alias_table(HEADER_ALIASES)
    df = df[df["table"] == table]
    out: dict[str, str] = {}
    for alias, field_ in zip(df["alias"], df["field"], strict=True):
        key = fold_header(alias)
        if out.get(key, field_) != field_:
            raise ValueError(
                f"{HEADER_ALIASES}: {alias!r} is given to both {out[key]} and {field_}"
            )
        out[key] = field_
    return out


@lru_cache(maxsize=8)
def value_aliases(field_: str) -> dict[str, str]:
    """Folded spelling -> canonical value for a coded field (``sex``, ``role``, ``event_type``)."""
    df = _read_alias_table(VALUE_ALIASES)
    df = df[df["field"] == field_]
    out: dict[str, str] = {}
    for alias, value in zip(df["alias"], df["value"], strict=True):
        key = fold(alias)
        if out.get(key, value) != value:
            raise ValueError(f"{VALUE_ALIASES}: {alias!r} means both {out[key]} and {value}")
        out[key] = value
    return out


def is_blank(value: object) -> bool:
    """An empty cell: ``None``, NaN, or only whitespace."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return value is pd.NA or value is pd.NaT


def coded(field_: str, value: object) -> str | None:
    """The canonical value of a coded cell through the alias table, ``None`` when unknown."""
    if is_blank(value):
        return None
    return value_aliases(field_).get(fold(str(value)))


def parse_sex(value: object) -> str | None:
    """``male`` or ``female`` from ``M``, ``Ž``, ``Ж``, ``F``, ``muško``, ``женско``, ``male``..."""
    return coded("sex", value)


def parse_role(value: object) -> str | None:
    """A role of :data:`ROLES` from the local or English word, ``None`` when unknown."""
    return coded("role", value)


def parse_event_type(value: object) -> str | None:
    """An event type of :data:`EVENT_TYPES`, ``None`` when unknown."""
    return coded("event_type", value)


def normalise_event_id(value: object) -> str | None:
    """One spelling per event id: ``ev 1``, ``EV-001`` and ``EV_0001`` are all ``EV-0001``."""
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    text = (text if text.isascii() else to_latin(text)).strip().upper()
    m = _EVENT_ID.match(text)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):04d}"
    return re.sub(r"\s+", " ", text)


def _valid_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _excel_serial(n: float) -> date | None:
    # Excel serial days; 3000 (1908) to 80000 (2119) covers every date a sheet can mean
    if 3000 <= n <= 80000:
        return (_EXCEL_EPOCH + timedelta(days=int(n))).date()
    return None


def parse_date(value: object) -> date | None:
    """A date from a date cell, ``dd.mm.yyyy[.]``, ISO ``yyyy-mm-dd`` or an Excel serial."""
    if is_blank(value) or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return _excel_serial(float(value))
    text = str(value).strip()
    m = _DMY.match(text)
    if m:
        return _valid_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = _ISO.match(text)
    if m:
        return _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):
        return _excel_serial(float(text))
    return None


@dataclass(frozen=True)
class Birth:
    """What a ``Godina rođenja`` cell says: a year, a full date (kept only to compute the age at
    the event, never stored) or an age at the event."""

    kind: str  # year, date or age
    year: int | None = None
    month: int | None = None
    day: int | None = None
    age: int | None = None


def _birth_from_number(n: int) -> Birth | None:
    if 1800 <= n <= 2100:
        return Birth("year", year=n)
    if 0 <= n <= 150:
        return Birth("age", age=n)
    d = _excel_serial(n)
    return Birth("date", d.year, d.month, d.day) if d else None


def parse_birth(value: object) -> Birth | None:
    """A :class:`Birth` from a year (``1999``, ``1999.``), a date, an age (``25``, ``25 god.``)."""
    if is_blank(value) or isinstance(value, bool):
        return None
    if isinstance(value, datetime | date):
        return Birth("date", value.year, value.month, value.day)
    if isinstance(value, int | float | np.integer | np.floating):
        f = float(value)
        if math.isnan(f) or not f.is_integer():
            return None
        return _birth_from_number(int(f))
    text = to_latin(str(value)).strip().casefold()
    m = _YEAR.match(text)
    if m:
        return _birth_from_number(int(m.group(1)))
    d = parse_date(text) if not _AGE.match(text) else None
    if d is not None:
        return Birth("date", d.year, d.month, d.day)
    m = _AGE.match(text)
    if m:
        return _birth_from_number(int(m.group(1)))
    return None


class Distinct:
    """A column factorised once: a code per row and the distinct values.

    Parsers run once per distinct value (:meth:`map`) and the results are spread back to the
    rows by code. This is what keeps a million sign-ins fast: a register has a million rows
    but a few hundred distinct sexes, years and places.
    """

    def __init__(self, values):
        array = (
            values.to_numpy(dtype=object)
            if isinstance(values, pd.Series)
            else np.asarray(values, dtype=object)
        )
        self.codes, self.uniques = pd.factorize(array, use_na_sentinel=True)

    def per_value(self, func: Callable[[object], object], dtype=object) -> np.ndarray:
        """``func`` of each distinct value, then of ``None`` (for missing cells) last."""
        out = [func(u) for u in self.uniques]
        out.append(func(None))
        return np.array(out, dtype=dtype) if dtype is not object else _object_array(out)

    def spread(self, per_value: np.ndarray) -> np.ndarray:
        """Per-value results (from :meth:`per_value`) back to one per row."""
        return per_value[self.codes]

    def map(self, func: Callable[[object], object], dtype=object) -> np.ndarray:
        """``func`` applied once per distinct value, one result per row."""
        return self.spread(self.per_value(func, dtype))

    def blank(self) -> np.ndarray:
        """Boolean per row: the cell is empty."""
        return self.map(is_blank, bool)


def _object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # one by one: tuples stay whole
        out[i] = item
    return out


def map_distinct(values, func: Callable[[object], object]) -> np.ndarray:
    """``func`` applied once per distinct value of ``values``; returns an object array per row."""
    return Distinct(values).map(func)


def blank_mask(values) -> np.ndarray:
    """Boolean array: the cell is empty."""
    return Distinct(values).blank()
