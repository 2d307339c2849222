"""Reading a cleaning log: the ``cleaningtools`` columns, checked row by row.

A cleaning log is a CSV or XLSX table (REACH/IMPACT ``cleaningtools`` conventions): one row per
decision with ``uuid`` (Kobo's ``_uuid``), ``question`` (the XLSForm name or group path),
``change_type`` (``change_response``, ``blank_response``, ``remove_survey``, ``no_action``),
``new_value``, ``old_value`` (the answer the decision was made on), ``issue`` (why), and the
optional ``checked_by`` and ``checked_date``. Nothing here looks at the data: see
:mod:`pipeline.cleaning.apply` for the checks against the warehouse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from pipeline.errors import SpscError

CHANGE_TYPES = ("change_response", "blank_response", "remove_survey", "no_action")
REQUIRED = ("uuid", "question", "change_type", "new_value", "old_value", "issue")
OPTIONAL = ("checked_by", "checked_date", "respondent_key")
# spellings of the columns seen in REACH logs and Kobo exports
ALIASES = {"_uuid": "uuid", "x_uuid": "uuid", "questions": "question"}


@dataclass(frozen=True)
class Decision:
    """One row of a log: what to do to one answer (or submission) and why.

    ``row`` is the row in the file (the header is row 1). ``uuid`` is the raw ``_uuid`` as
    the analyst wrote it (never stored); ``respondent_key`` its keyed pseudonym, or the one
    given in a draft log where the raw uuid was not at hand.
    """

    row: int
    uuid: str | None
    respondent_key: str | None
    question: str | None
    change_type: str
    new_value: str | None
    old_value: str | None
    issue: str | None
    checked_by: str | None = None
    checked_date: str | None = None


@dataclass
class CleaningLog:
    """A log file read and checked for its format: its decisions and the bad rows."""

    path: Path
    sha256: str
    decisions: list[Decision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # "row N: reason"


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if (value.hour, value.minute, value.second) != (0, 0, 0) else \
            value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _grid(path: Path) -> list[list]:
    from pipeline.ingest.readers import read_text_table, read_workbook

    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_text_table(path).rows
    if suffix in (".xlsx", ".xls", ".xlsm"):
        sheets = [s for s in read_workbook(path) if s.rows and not s.hidden]
        if not sheets:
            return []
        # a workbook may hold a readme sheet: the log is the sheet with the log's columns
        for sheet in sheets:
            header = {str(h).strip().lower() for h in sheet.rows[0] if h is not None}
            if "change_type" in header:
                return sheet.rows
        return sheets[0].rows
    raise SpscError(f"a cleaning log is a .csv or .xlsx file, not {suffix or 'a file without extension'}",
                    str(path))


def read_log(path: Path | str) -> CleaningLog:
    """Read a log and check each row's format (change type, required fields).

    Raises:
        SpscError: the file is missing, not a table, or lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise SpscError("no such cleaning log", str(path))
    data = path.read_bytes()
    log = CleaningLog(path, hashlib.sha256(data).hexdigest())
    rows = _grid(path)
    if not rows:
        raise SpscError("the cleaning log is empty", str(path), f"columns: {', '.join(REQUIRED)}")
    header = []
    for h in rows[0]:
        name = (_text(h) or "").lower().replace(" ", "_")
        header.append(ALIASES.get(name, name))
    missing = [c for c in REQUIRED if c not in header and not (c == "uuid" and "respondent_key" in header)]
    if missing:
        raise SpscError(f"the cleaning log has no column {', '.join(repr(c) for c in missing)}", str(path),
                        f"a log has the columns {', '.join(REQUIRED)} (optional: checked_by, checked_date)")
    at = {name: header.index(name) for name in (*REQUIRED, *OPTIONAL) if name in header}
    seen: dict[tuple, int] = {}
    for i, raw in enumerate(rows[1:], start=2):
        cells = {name: _text(raw[j]) if j < len(raw) else None for name, j in at.items()}
        if not any(cells.values()):
            continue
        why = _row_problem(cells)
        if why:
            log.problems.append(f"row {i}: {why}")
            continue
        change = cells["change_type"].lower()
        question = None if change == "remove_survey" else cells["question"]
        who = cells.get("uuid") or cells.get("respondent_key")
        target = (who, question if change != "remove_survey" else "\x00remove")
        if target in seen:
            log.problems.append(f"row {i}: repeats row {seen[target]}'s decision on the same "
                                f"{'submission' if question is None else 'answer'}")
            continue
        seen[target] = i
        log.decisions.append(Decision(
            row=i, uuid=cells.get("uuid"), respondent_key=cells.get("respondent_key"), question=question,
            change_type=change, new_value=None if change in ("blank_response", "remove_survey") else cells["new_value"],
            old_value=cells["old_value"], issue=cells["issue"], checked_by=cells.get("checked_by"),
            checked_date=cells.get("checked_date")))
    return log


def _row_problem(cells: dict) -> str | None:
    change = (cells.get("change_type") or "").lower()
    if not change:
        return "change_type is empty (a drafted finding not decided yet: write " + ", ".join(CHANGE_TYPES) + ")"
    if change not in CHANGE_TYPES:
        return f"change_type {cells['change_type']!r} is not one of {', '.join(CHANGE_TYPES)}"
    if not cells.get("uuid") and not cells.get("respondent_key"):
        return "uuid is empty"
    if change != "remove_survey" and not cells.get("question"):
        return f"question is empty ({change} names the question it changes)"
    if change == "change_response" and cells.get("new_value") is None:
        return "new_value is empty (to empty an answer, write blank_response)"
    if change == "blank_response" and cells.get("new_value") is not None:
        return f"new_value {cells['new_value']!r} given for blank_response (write change_response)"
    if not cells.get("issue"):
        return "issue is empty (say why)"
    return None
