"""Personal values and the patterns the audit looks for, and the scanner that finds them.

The names, phones and e-mails of this installation are read again from the raw files the
warehouse was loaded from; findings show them masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.reference.names import fold_words

MIN_NAME_LETTERS = 6  # a name shorter than this (letters, all words) is not looked for
MAX_NAME_WORDS = 4

PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)387[\s/.-]*\(?[3-6]\d\)?|\(?0[3-6]\d\)?)[\s/.-]*\d{3}[\s/.-]*\d{3,4}(?!\w)")
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?!\w)")


@dataclass
class Finding:
    """One thing the audit found: what (kind), where, and the value masked."""

    kind: str  # name, phone, email, small_cell, formula, hyperlink, unreadable
    where: str
    shown: str

    def line(self) -> str:
        return f"{self.where}: {self.kind} {self.shown}"


@dataclass
class PersonalValues:
    """The personal values of this installation, in the forms they are matched in."""

    names: dict[tuple[str, ...], str] = field(default_factory=dict)  # folded words -> as written
    phones: dict[str, str] = field(default_factory=dict)  # national digits -> as written
    emails: dict[str, str] = field(default_factory=dict)  # lower case -> as written
    notes: list[str] = field(default_factory=list)
    files: int = 0
    unchecked: list[str] = field(default_factory=list)  # raw files whose values could not be read

    def add_name(self, value: object) -> None:
        words = tuple(fold_words(str(value)))
        words = tuple(w for w in words if not w.isdigit())
        if 2 <= len(words) <= MAX_NAME_WORDS and sum(map(len, words)) >= MIN_NAME_LETTERS:
            self.names.setdefault(words, str(value))
            self.names.setdefault(tuple(reversed(words)), str(value))

    def add_contact(self, value: object) -> None:
        text = str(value)
        for m in PHONE.finditer(text):
            self.phones.setdefault(phone_digits(m.group()), m.group())
        digits = re.sub(r"\D", "", text)
        if 8 <= len(digits) <= 13:
            self.phones.setdefault(phone_digits(digits), text)
        for m in EMAIL.finditer(text):
            self.emails.setdefault(m.group().lower(), m.group())


def phone_digits(text: str) -> str:
    """A phone number as national digits (``+387 61 ...`` and ``061 ...`` compare equal)."""
    digits = re.sub(r"\D", "", text)
    for prefix in ("00387", "387"):
        if digits.startswith(prefix):
            return "0" + digits[len(prefix):]
    return digits


# ------------------------------------------------------------------------------ masking
def mask_words(text: str) -> str:
    """``Ana Petrović`` -> ``An* Pe******``: two letters of each word."""
    return " ".join(w[:2] + "*" * max(len(w) - 2, 0) for w in str(text).split())


def mask_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits[:3] + "*" * max(len(digits) - 3, 0)


def mask_email(text: str) -> str:
    local, _, domain = text.partition("@")
    return local[:2] + "*" * max(len(local) - 2, 0) + "@" + domain[:2] + "*" * max(len(domain) - 2, 0)


# ----------------------------------------------------------------- personal values: raw
def collect_personal_values(con: duckdb.DuckDBPyConnection, roots: tuple = ()) -> PersonalValues:
    """Read the personal columns of the raw files recorded in ``load_batches``.

    Files that are gone or changed since their load (sha256) are listed in ``notes``: their
    values cannot be looked for.
    """
    from pipeline.warehouse import file_sha256

    found = PersonalValues()
    rows = con.execute(
        "select path, sha256, kind from load_batches where status in ('loaded', 'superseded')"
        " and kind in ('attendance', 'survey') order by batch_id").fetchall()
    personal_questions = _personal_questions(con)
    from pipeline.warehouse.batches import locate_raw

    for path, sha, kind in rows:
        p = locate_raw(path, roots) or Path(path)
        if not p.exists():
            found.notes.append(f"{p}: raw file no longer there; its personal values were not"
                               " looked for")
            found.unchecked.append(str(p))
            continue
        if file_sha256(p) != sha:
            found.notes.append(f"{p}: raw file changed since it was loaded (sha256); its"
                               " personal values were not looked for")
            found.unchecked.append(str(p))
            continue
        try:
            if kind == "attendance":
                _attendance_values(p, found)
            else:
                _survey_values(p, personal_questions, found)
        except Exception as exc:  # an unreadable raw file must not stop the audit
            found.notes.append(f"{p}: could not be read again ({type(exc).__name__}); not checked")
            found.unchecked.append(str(p))
            continue
        found.files += 1
    return found


def _attendance_values(path: Path, found: PersonalValues) -> None:
    from pipeline.ingest.attendance.read import find_header, read_grids

    for grid in read_grids(path):
        header = find_header(grid, "attendance", "name")
        if header is None:
            continue
        data = grid.cells.iloc[header.row + 1:]
        by_field = {f: c for c, f in header.fields.items()}
        for f in ("name", "first_name", "last_name"):
            if f in by_field:
                for v in data[by_field[f]].dropna():
                    found.add_name(v)
        if "first_name" in by_field and "last_name" in by_field:
            pairs = data[[by_field["first_name"], by_field["last_name"]]].dropna()
            for first, last in pairs.itertuples(index=False, name=None):
                found.add_name(f"{first} {last}")
        for f in ("phone", "email"):
            if f in by_field:
                for v in data[by_field[f]].dropna():
                    found.add_contact(v)


def _personal_questions(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Headers of personal survey columns: question paths and names the codebook marks."""
    out: set[str] = set()
    try:
        rows = con.execute(
            "select distinct question, name from stg_codebook__questions where is_personal"
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    for question, name in rows:
        out.update({question.lower(), name.lower()})
    try:
        from pipeline.ingest.survey.mapping import default_mapping

        forms = [r[0] for r in con.execute("select distinct form_id from survey_forms").fetchall()]
        for form_id in forms:
            mapping = default_mapping(form_id)
            if mapping is not None:
                out.update(c.lower() for c in mapping.personal)
    except (duckdb.CatalogException, ImportError):
        pass
    return out


def _agency_values(path: Path, personal: set[str], found: PersonalValues) -> None:
    """The personal variables of an SPSS or Stata file, read again with pyreadstat."""
    import pyreadstat

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else (
        pyreadstat.read_por if path.suffix.lower() == ".por" else pyreadstat.read_sav)
    frame, meta = reader(str(path), apply_value_formats=False)
    for name in frame.columns:
        if name.lower() not in personal:
            continue
        label = str((meta.column_names_to_labels or {}).get(name) or "").lower()
        is_name = any(k in f"{name.lower()} {label}" for k in ("name", "ime", "prezime"))
        for v in frame[name].dropna():
            if isinstance(v, str):
                if is_name or not any(ch.isdigit() for ch in v):
                    found.add_name(v)
                else:
                    found.add_contact(v)
            elif isinstance(v, int | float) and float(v).is_integer():
                found.add_contact(f"{v:.0f}")  # a phone number kept as a number


def _survey_values(path: Path, personal: set[str], found: PersonalValues) -> None:
    from pipeline.ingest.readers import read_workbook
    from pipeline.ingest.survey.spss import is_agency_file

    if is_agency_file(path):
        _agency_values(path, personal, found)
        return
    for sheet in read_workbook(path):
        if not sheet.rows:
            continue
        header = [str(h or "").strip().lower() for h in sheet.rows[0]]
        columns = [i for i, h in enumerate(header)
                   if h in personal or h.rsplit("/", 1)[-1] in personal]
        for i in columns:
            is_name = any(k in header[i] for k in ("name", "ime", "prezime"))
            for row in sheet.rows[1:]:
                if i < len(row) and row[i] not in (None, ""):
                    if is_name:
                        found.add_name(row[i])
                    else:
                        found.add_contact(row[i])


# ----------------------------------------------------------------------- text scanning
class Scanner:
    """Finds personal values and patterns in text, one document or cell at a time."""

    def __init__(self, personal: PersonalValues):
        self.personal = personal
        self.lengths = sorted({len(k) for k in personal.names})

    def scan(self, text: str, where: str) -> Iterator[Finding]:
        if not text or not isinstance(text, str):
            return
        if self.lengths:
            words = fold_words(text)
            seen = set()
            for n in self.lengths:
                for i in range(len(words) - n + 1):
                    key = tuple(words[i:i + n])
                    if key in self.personal.names and key not in seen:
                        seen.add(key)
                        yield Finding("name", where, mask_words(self.personal.names[key]))
        for m in PHONE.finditer(text):
            known = phone_digits(m.group()) in self.personal.phones
            yield Finding("phone", where, mask_phone(m.group())
                          + (" (a phone of the raw files)" if known else " (looks like a phone)"))
        for m in EMAIL.finditer(text):
            yield Finding("email", where, mask_email(m.group()))
        if self.personal.phones and any(c.isdigit() for c in text):
            for run in re.findall(r"(?<![\w+])\d{8,13}(?!\w)", text):
                if not PHONE.fullmatch(run) and phone_digits(run) in self.personal.phones:
                    yield Finding("phone", where, mask_phone(run) + " (a phone of the raw files)")
