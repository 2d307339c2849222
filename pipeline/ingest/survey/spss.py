"""Survey-agency files: SPSS ``.sav``/``.zsav``/``.por`` and Stata ``.dta`` (read with pyreadstat).

The file's dictionary is its codebook: variable labels become question labels, value labels
choice lists, measurement levels and formats the question types, missing-value declarations
the codes that load as missing (kept, so "refused" stays apart from "don't know"), and
multiple-response sets (MRSETS) select_multiple questions. Cells are landed as text: dates and
times converted from SPSS's seconds since 1582-10-14 (Stata: days or milliseconds since
1960-01-01), so one impossible date is a bad cell, not a rejected file.

Value labels describe values; they restrict a variable's values only when the variable is
categorical (nominal or ordinal) and every value in the file is labelled, or when the mapping
says so (``categorical:``): a 0-10 scale labelled at its ends loads as numbers.

Personal variables are found by name, by label and by their values (names, birth dates, unique
free-text identifiers); their values are never landed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.land import Landed, RawFile, land_rows
from pipeline.ingest.survey.xlsform import (
    DEFAULT_LANGUAGE,
    Choice,
    Form,
    Question,
    personal_label_reason,
    personal_reason,
)

AGENCY_SUFFIXES = (".sav", ".zsav", ".por", ".dta")
CASE_COLUMN = "__case"  # the case's file and number, landed with every agency file
_SPSS_EPOCH = datetime(1582, 10, 14)
_STATA_EPOCH = datetime(1960, 1, 1)
_SPSS_DATETIME = ("DATETIME", "YMDHMS", "DATETIME8")
_SPSS_DATE = ("DATE", "ADATE", "EDATE", "SDATE", "JDATE", "QYR", "MOYR", "WKYR")
_SPSS_TIME = ("TIME", "DTIME", "MTIME")
_ID_NAMES = re.compile(r"^(?:resp(?:ondent)?_?id|case_?id|id|interview_?id|q(?:uestio)?n(?:naire)?_?(?:id|no|nr)?|"
                       r"serial(?:_?no)?|record_?id|anketa|br_?ankete|redni_?broj)$", re.IGNORECASE)
_NAME_VALUE = re.compile(r"^[A-ZČĆŽŠĐ][a-zčćžšđ]+(?:[ -][A-ZČĆŽŠĐ][a-zčćžšđ]+)+$")
_CYR_NAME_VALUE = re.compile(r"^[А-ЯЂЈЉЊЋЏ][а-яђјљњћџ]+(?:[ -][А-ЯЂЈЉЊЋЏ][а-яђјљњћџ]+)+$")


@dataclass
class AgencyFile:
    """A landed agency file: its table, codebook, the missing codes found and what was noted.

    Attributes:
        missing: one ``(row, variable, code, label)`` per user-missing cell (the cell itself is
            landed empty, so it loads as missing).
        id_column: the respondent id variable (declared by the mapping, or found by name).
    """

    landed: Landed
    form: Form
    missing: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    id_column: str | None = None
    notes: list[str] = field(default_factory=list)


def _code(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read(raw: RawFile):
    import pyreadstat

    suffix = raw.path.suffix.lower()
    try:
        if suffix in (".sav", ".zsav"):
            return pyreadstat.read_sav(str(raw.path), user_missing=True, disable_datetime_conversion=True,
                                       apply_value_formats=False)
        if suffix == ".por":
            return pyreadstat.read_por(str(raw.path), disable_datetime_conversion=True, apply_value_formats=False)
        if suffix == ".dta":
            return pyreadstat.read_dta(str(raw.path), user_missing=True, disable_datetime_conversion=True,
                                       apply_value_formats=False)
    except Exception as exc:  # pyreadstat raises ReadstatError and plain errors alike
        what = "Stata" if suffix == ".dta" else "SPSS"
        raise RejectedFile(f"not a readable {what} file ({type(exc).__name__}: {exc})", str(raw.path)) from exc
    raise RejectedFile(f"not an SPSS or Stata file ({suffix})", str(raw.path))


def _kind(fmt: str, stata: bool) -> str:
    """``datetime``, ``date``, ``time`` or ``number`` by the variable's display format."""
    f = fmt.upper()
    if stata:
        if f.startswith("%TC"):
            return "time" if f[3:].startswith("HH") else "datetime"
        return "date" if f.startswith("%TD") else "number"
    letters = re.match(r"[A-Z]+", f)
    head = letters.group(0) if letters else ""
    if head in _SPSS_DATETIME:
        return "datetime"
    if head in _SPSS_DATE:
        return "date"
    if head in _SPSS_TIME:
        return "time"
    return "number"


def _as_text(value, kind: str, stata: bool) -> str | None:
    """One cell as the text the typing step reads; an impossible date stays a number (and is
    then a bad cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if kind == "number":
        return _code(value)
    try:
        if kind == "time":
            seconds = value / 1000 if stata else value
            return str(timedelta(seconds=round(seconds)))
        if stata:
            moment = _STATA_EPOCH + (timedelta(days=value) if kind == "date" else timedelta(milliseconds=value))
        else:
            moment = _SPSS_EPOCH + timedelta(seconds=value)
        if not 1000 <= moment.year <= 2999:
            return _code(value)
        return moment.date().isoformat() if kind == "date" else moment.isoformat(sep="T")
    except (OverflowError, ValueError):
        return _code(value)


def _missing_test(meta, name: str, stata: bool):
    """A function telling whether a raw value is a declared missing code of the variable."""
    if stata:
        codes = {str(c) for c in (getattr(meta, "missing_user_values", None) or {}).get(name, [])}
        return (lambda v: isinstance(v, str) and v in codes) if codes else None
    ranges = (meta.missing_ranges or {}).get(name)
    if not ranges:
        return None

    def test(v) -> bool:
        for r in ranges:
            lo, hi = r["lo"], r["hi"]
            if isinstance(v, str) or isinstance(lo, str):
                if str(v).strip() == str(lo).strip():
                    return True
            elif v is not None and not (isinstance(v, float) and math.isnan(v)) and lo <= v <= hi:
                return True
        return False

    return test


def _values_personal(values: pd.Series, kind: str) -> str | None:
    """Why a variable is personal by its values (names, birth dates, unique identifiers)."""
    filled = values.dropna()
    if len(filled) < 5:
        return None
    if kind == "text":
        texts = filled.astype(str).str.strip()
        names = texts.str.match(_NAME_VALUE) | texts.str.match(_CYR_NAME_VALUE)
        if names.mean() >= 0.5 and texts.nunique() >= 0.5 * len(texts):
            return "values look like people's names"
        if len(texts) >= 20 and texts.nunique() >= 0.95 * len(texts) and texts.str.contains(r"\d").mean() > 0.9 \
                and not texts.str.contains(r"\s").any():
            return "a free-text identifier (one value per case)"
    if kind == "date":
        years = pd.to_datetime(filled, errors="coerce").dt.year.dropna()
        this_year = datetime.now().year
        if len(years) >= 5 and years.between(1900, this_year - 10).mean() >= 0.8 and years.nunique() >= 5:
            return "values look like exact birth dates"
    return None


def _guess_id(frame: pd.DataFrame, names: list[str]) -> str | None:
    for name in names:
        if _ID_NAMES.match(name):
            col = frame[name]
            if col.notna().all() and col.is_unique:
                return name
    return None


def read_agency(con: duckdb.DuckDBPyConnection, table: str, raw: RawFile, form_id: str | None, *,
                personal: list[str] | None = None, categorical: list[str] | None = None,
                respondent_id: str | None = None, mapped: set[str] | None = None) -> AgencyFile:
    """Land an SPSS or Stata file and build its codebook.

    Args:
        form_id: the form id to record (default: the file stem).
        personal: variables the mapping declares personal (each must exist).
        categorical: variables whose value labels are their complete list of values.
        respondent_id: the id variable the mapping names (default: one named like an id whose
            values are unique).
        mapped: variables the mapping maps to questions or the design: personal only when
            declared so (a municipality labelled "Municipality name" is not a person's name).

    Raises:
        RejectedFile: not a readable file, or a mapping entry naming no variable of it.
    """
    frame, meta = _read(raw)
    stata = raw.path.suffix.lower() == ".dta"
    names = list(frame.columns)
    known = set(names)
    for what, declared in (("personal", personal or []), ("categorical", categorical or []),
                           ("respondent_id", [respondent_id] if respondent_id else [])):
        wrong = [v for v in declared if v not in known]
        if wrong:
            raise RejectedFile(f"the mapping's {what} names {', '.join(map(repr, wrong))}, not a variable of "
                               "the file (a typo?)", str(raw.path), f"variables: {', '.join(names[:12])}"
                               + (" ..." if len(names) > 12 else ""))
    formats = {k: str(v) for k, v in (meta.original_variable_types or {}).items()}
    measures = getattr(meta, "variable_measure", None) or {}
    var_labels = meta.column_names_to_labels or {}
    value_labels = meta.variable_value_labels or {}
    strings = {n for n, t in (meta.readstat_variable_types or {}).items() if t == "string"}
    declared_personal = set(personal or [])
    forced = set(categorical or [])
    id_column = respondent_id or _guess_id(frame, names)
    out = AgencyFile(landed=None, form=None, id_column=id_column)  # type: ignore[arg-type]
    if respondent_id is None and id_column is not None:
        out.notes.append(f"respondent id: variable {id_column} (named like an id, one value per case)")
    questions: list[Question] = []
    choices: list[Choice] = []
    columns: dict[str, list] = {}
    n = len(frame)
    for position, name in enumerate(names, start=1):
        values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
        kind = "text" if name in strings else _kind(formats.get(name, ""), stata)
        is_missing = _missing_test(meta, name, stata)
        labels_of = {_code(k): str(v) for k, v in (value_labels.get(name) or {}).items()}
        missing_codes: list[str] = []
        if is_missing is not None:
            for i, v in enumerate(values):
                if v is not None and is_missing(v):
                    code = _code(v) if not stata else f".{v}"
                    out.missing.append((i, name, code, labels_of.get(_code(v))))
                    missing_codes.append(code)
                    values[i] = None
        texts = [_as_text(v, kind, stata) for v in values]
        label = var_labels.get(name)
        qlabels = {DEFAULT_LANGUAGE: str(label)} if label else {}
        observed = {t for t in texts if t is not None}
        if labels_of and (name in forced or (
                measures.get(name) in ("nominal", "ordinal", "unknown", None) and observed <= set(labels_of)
                and kind in ("number", "text"))):
            qtype = "select_one"
        elif kind == "number":
            qtype = "integer" if all(re.fullmatch(r"-?\d+", t) for t in observed) else "decimal"
        else:
            qtype = kind if kind in ("date", "datetime") else "text"
        list_name = name if labels_of else None
        for j, (code, text) in enumerate(labels_of.items(), start=1):
            choices.append(Choice(name, code, {DEFAULT_LANGUAGE: text}, j))
        reason = None
        if name in declared_personal:
            reason = "named personal in the mapping"
        elif name != id_column and name not in (mapped or set()):
            # agencies keep phone numbers as numbers too: judge every variable as free text as well
            reason = (personal_reason(name, "text") or personal_reason(name, qtype)
                      or personal_label_reason(qlabels, "text" if qtype not in ("date", "datetime") else qtype)
                      or _values_personal(pd.Series(texts, dtype=object), "text" if name in strings else kind))
        questions.append(Question(
            path=name, name=name, type=qtype, list_name=list_name, group_path="", repeat_path=None,
            labels=qlabels, required=False, relevant=None, constraint=None, personal=reason, position=position,
            missing_codes=tuple(_declared_codes(meta, name, stata))))
        columns[name] = [None] * n if reason else texts
    for set_name, spec in (getattr(meta, "mr_sets", None) or {}).items():
        members = [m for m in spec.get("variable_list", []) if m in columns]
        if not members or set_name in columns:
            continue
        mset = _multiple_response(set_name, spec, members, columns, var_labels, value_labels, n)
        questions.append(Question(
            path=set_name, name=set_name, type="select_multiple", list_name=set_name, group_path="",
            repeat_path=None, labels={DEFAULT_LANGUAGE: spec.get("label") or set_name}, required=False,
            relevant=None, constraint=None, personal=None, position=len(questions) + 1))
        choices += mset[1]
        columns[set_name] = mset[0]
    # every case is a row (one whose answers are all missing too) and has its case number
    columns[CASE_COLUMN] = [f"{raw.path.name}#{i + 1}" for i in range(n)]
    if out.id_column is None:
        out.id_column = CASE_COLUMN
        out.notes.append("no respondent id variable: each case is known by its file and case number "
                         "(name the id with respondent_id in a mapping)")
    header = list(columns)
    rows = [header, *zip(*(columns[h] for h in header), strict=True)] if n else [header]
    landed = land_rows(con, table, raw.path, raw.path.stem, [list(r) for r in rows])
    dropped = [q.name for q in questions if q.personal]
    if dropped:
        out.notes.append(f"personal variables not read: {', '.join(dropped)}")
    version = f"{raw.path.suffix.lower().lstrip('.')}-{raw.sha256[:12]}"
    out.landed = landed
    out.form = Form(form_id=form_id or raw.path.stem, version=version, title=str(meta.file_label or ""),
                    default_language=DEFAULT_LANGUAGE, languages=[DEFAULT_LANGUAGE], questions=questions,
                    choices=choices, repeats=[], path=raw.path)
    return out


def _declared_codes(meta, name: str, stata: bool) -> list[str]:
    if stata:
        return [f".{c}" for c in (getattr(meta, "missing_user_values", None) or {}).get(name, [])]
    out = []
    for r in (meta.missing_ranges or {}).get(name, []):
        lo, hi = r["lo"], r["hi"]
        out.append(_code(lo) if lo == hi else f"{_code(lo)}..{_code(hi)}")
    return out


def _multiple_response(set_name: str, spec: dict, members: list[str], columns: dict[str, list],
                       var_labels: dict, value_labels: dict, n: int) -> tuple[list, list[Choice]]:
    """A multiple-response set as one select_multiple column: a dichotomy set's chosen member
    variables (those holding the counted value), a category set's distinct codes."""
    if spec.get("type") == "D" or spec.get("is_dichotomy"):
        counted = _code(spec.get("counted_value", 1))
        values = []
        for i in range(n):
            chosen = [m for m in members if columns[m][i] is not None and _code_text(columns[m][i]) == counted]
            values.append(" ".join(chosen) if chosen else None)
        options = [Choice(set_name, m, {DEFAULT_LANGUAGE: str(var_labels.get(m) or m)}, j)
                   for j, m in enumerate(members, start=1)]
        return values, options
    labels: dict[str, str] = {}
    for m in members:
        for k, v in (value_labels.get(m) or {}).items():
            labels.setdefault(_code(k), str(v))
    values = []
    for i in range(n):
        codes = list(dict.fromkeys(_code_text(columns[m][i]) for m in members if columns[m][i] is not None))
        values.append(" ".join(codes) if codes else None)
    seen = list(dict.fromkeys([*labels, *(c for v in values if v for c in v.split())]))
    options = [Choice(set_name, c, {DEFAULT_LANGUAGE: labels.get(c, c)}, j) for j, c in enumerate(seen, start=1)]
    return values, options


def _code_text(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    return _code(number) if np.isfinite(number) else text


def csv_codebook(landed: Landed, raw: RawFile, form_id: str) -> Form:
    """A codebook of a plain CSV: its columns as text questions, no labels."""
    questions = [Question(path=h, name=h, type="text", list_name=None, group_path="", repeat_path=None,
                          labels={}, required=False, relevant=None, constraint=None,
                          personal=personal_reason(h, "text"), position=i)
                 for i, h in enumerate(landed.headers, start=1)]
    return Form(form_id=form_id, version=f"csv-{raw.sha256[:12]}", title="", default_language=DEFAULT_LANGUAGE,
                languages=[DEFAULT_LANGUAGE], questions=questions, choices=[], repeats=[], path=raw.path)


def is_agency_file(path: Path) -> bool:
    return Path(path).suffix.lower() in AGENCY_SUFFIXES
