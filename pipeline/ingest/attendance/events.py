"""The events list into the warehouse: ``spsc ingest events FILE``.

One row per event: ``event_id``, ``date`` (dd.mm.yyyy, ISO or an Excel date), ``municipality``
(one name, or several separated by ``;`` for a joint event; the first is the host),
``event_type``, ``organiser``, ``title``; headers in any language of
``aliases/attendance_headers.csv``. A row is quarantined for a missing or repeated event id,
a missing or unreadable date, a missing or unknown municipality, or a missing or unknown
event type. A later events list replaces the rows of the events it names (models keep the
latest loaded list's row per event).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import RejectedFile
from pipeline.ingest.attendance.load import LoadResult
from pipeline.ingest.attendance.read import find_header, read_grids
from pipeline.ingest.attendance.values import (
    blank_mask,
    event_types,
    is_blank,
    map_distinct,
    normalise_event_id,
    parse_date,
    parse_event_type,
)
from pipeline.reference.names import normaliser
from pipeline.warehouse import (
    file_sha256,
    find_batch,
    finish_batch,
    quarantine_rows,
    start_batch,
    transaction,
)

KIND = "events"
_FIELDS = ("event_id", "date", "municipality", "event_type", "organiser", "title")
_SEPARATORS = re.compile(r"[;,]")

REASONS = {
    "no_header": "the sheet has no recognisable header row (e.g. 'event_id', 'date')",
    "missing_event_id": "no event id",
    "duplicate_event_id": "the event id is listed again above",
    "missing_date": "no date",
    "invalid_date": "not a date (dd.mm.yyyy, yyyy-mm-dd or an Excel date)",
    "missing_municipality": "no municipality",
    "unknown_municipality": "unknown municipality",
    "missing_event_type": "no event type",
    "unknown_event_type": "unknown event type (expected one of the alias tables' event types)",
}


@dataclass
class ParsedEvents:
    """An events list read and checked: ``events`` (one row per loadable event) and
    ``problems`` (one row per rejected cell)."""

    events: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int = 0
    rows_blank: int = 0
    rows_quarantined: int = 0
    notes: list[str] = field(default_factory=list)


def resolve_municipalities(text: object) -> tuple[list[str] | None, str | None]:
    """Municipality ids of a ``;``-separated list, host first; ``(None, reason)`` if any fails."""
    if is_blank(text):
        return None, None
    ids: list[str] = []
    for part in _SEPARATORS.split(str(text)):
        if not part.strip():
            continue
        muni, why = normaliser().try_resolve(part)
        if muni is None:
            return None, f"{why}: {part.strip()!r}"
        if muni not in ids:
            ids.append(muni)
    return (ids, None) if ids else (None, None)


def parse_events(path: Path | str) -> ParsedEvents:
    """Read and check an events list; nothing is written.

    Raises:
        RejectedFile: unreadable, or no sheet with an ``event_id`` header.
    """
    path = Path(path)
    frames, problems = [], []
    rows_read = rows_blank = 0
    found_header = False
    for grid in read_grids(path):
        if grid.cells.empty:
            continue
        header = find_header(grid, KIND, "event_id")
        if header is None and grid.hidden:
            continue  # a hidden sheet without the header holds drop-down lists (event types...)
        if header is None:
            filled = ~grid.cells.isna().to_numpy().all(axis=1)
            rows_read += len(grid.cells)
            rows_blank += int((~filled).sum())
            rows = np.flatnonzero(filled) + 1
            problems.append(
                pd.DataFrame(
                    {
                        "sheet": grid.name,
                        "source_row": rows,
                        "column_name": None,
                        "value": None,
                        "rule": "no_header",
                        "reason": REASONS["no_header"],
                    }
                )
            )
            continue
        found_header = True
        data = grid.cells.iloc[header.row + 1 :]
        filled = np.zeros(len(data), dtype=bool)
        for c in data.columns:
            filled |= ~blank_mask(data[c])
        rows_read += len(data)
        rows_blank += int((~filled).sum())
        frame = pd.DataFrame({"sheet": grid.name, "source_row": data.index.to_numpy() + 1})
        labels = {}
        for c, f in header.fields.items():
            frame[f] = data[c].to_numpy(dtype=object)
            labels[f] = str(grid.cells.iat[header.row, c])
        frame = frame[filled].reset_index(drop=True)
        frame.attrs["labels"] = labels
        frames.append(frame)
    if not found_header:
        raise RejectedFile(
            "no sheet has an events header row (event_id, date, municipality, event_type)",
            str(path),
        )
    labels = {f: f for f in _FIELDS}
    for frame in frames:
        labels.update(frame.attrs["labels"])
    rows = pd.concat(frames, ignore_index=True)
    for f in _FIELDS:
        if f not in rows:
            rows[f] = None
    events, row_problems = _check_events(rows, labels)
    problems.extend(row_problems)
    problem_frame = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=["sheet", "source_row", "column_name", "value", "rule", "reason"])
    )
    quarantined = int(problem_frame[["sheet", "source_row"]].drop_duplicates().shape[0])
    return ParsedEvents(events, problem_frame, rows_read, rows_blank, quarantined)


def _check_events(
    rows: pd.DataFrame, labels: dict[str, str]
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    n = len(rows)
    bad = np.zeros(n, dtype=bool)
    problems: list[pd.DataFrame] = []

    def flag(mask, field_: str, rule: str, reason=None) -> None:
        nonlocal bad
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        bad |= mask
        values = [
            None if is_blank(v) else str(v) for v in rows[field_].to_numpy(dtype=object)[mask]
        ]
        problems.append(
            pd.DataFrame(
                {
                    "sheet": rows["sheet"].to_numpy(dtype=object)[mask],
                    "source_row": rows["source_row"].to_numpy()[mask],
                    "column_name": labels[field_],
                    "value": values,
                    "rule": rule,
                    "reason": REASONS[rule]
                    if reason is None
                    else np.asarray(reason, dtype=object)[mask],
                }
            )
        )

    event_id = map_distinct(rows["event_id"], normalise_event_id)
    flag(pd.isna(event_id), "event_id", "missing_event_id")
    repeated = pd.Series(event_id).duplicated(keep="first").to_numpy() & ~pd.isna(event_id)
    flag(repeated, "event_id", "duplicate_event_id")

    date_blank = blank_mask(rows["date"])
    dates = map_distinct(rows["date"], parse_date)
    flag(date_blank, "date", "missing_date")
    flag(~date_blank & pd.isna(dates), "date", "invalid_date")

    muni_blank = blank_mask(rows["municipality"])
    munis = map_distinct(rows["municipality"], lambda v: resolve_municipalities(v)[0])
    why = map_distinct(rows["municipality"], lambda v: resolve_municipalities(v)[1])
    flag(muni_blank, "municipality", "missing_municipality")
    flag(~muni_blank & pd.isna(munis), "municipality", "unknown_municipality", reason=why)

    type_blank = blank_mask(rows["event_type"])
    types = map_distinct(rows["event_type"], parse_event_type)
    flag(type_blank, "event_type", "missing_event_type")
    known = ", ".join(event_types())
    flag(~type_blank & pd.isna(types), "event_type", "unknown_event_type",
         [f"unknown event type (expected one of {known}; a project adds its own in "
          "aliases/attendance_values.csv)"] * n)

    ok = ~bad

    def text(col: str) -> np.ndarray:
        return map_distinct(rows[col], lambda v: None if is_blank(v) else str(v).strip())[ok]

    events = pd.DataFrame(
        {
            "sheet": rows["sheet"].to_numpy(dtype=object)[ok],
            "source_row": rows["source_row"].to_numpy()[ok].astype("int64"),
            "event_id": event_id[ok],
            "event_date": pd.to_datetime(pd.Series(dates[ok], dtype=object)).dt.date.to_numpy(
                dtype=object
            ),
            "muni_ids": list(munis[ok]),
            "event_type": types[ok],
            "organiser": text("organiser"),
            "title": text("title"),
        }
    )
    return events, problems


def load_events(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    *,
    reload: bool = False,
    rebuild: Settings | None = None,
) -> LoadResult:
    """Load one events list in one transaction; the same content twice is a no-op.

    Args:
        rebuild: rebuild the attendance marts with these settings inside the same transaction.

    Raises:
        RejectedFile: the file cannot be read; nothing is written.
    """
    path = Path(path)
    sha = file_sha256(path)
    existing = find_batch(con, sha, KIND)
    if existing and not reload:
        return LoadResult(path, existing["batch_id"], skipped=True)
    parsed = parse_events(path)
    with transaction(con):
        if existing:
            con.execute(
                "update load_batches set status = 'superseded' where batch_id = ?",
                [existing["batch_id"]],
            )
        batch_id = start_batch(con, path, sha, KIND, None)
        con.register("_events_in", parsed.events)
        try:
            con.execute(
                "insert into raw_events (batch_id, sheet, source_row, event_id, event_date,"
                " muni_ids, event_type, organiser, title) select ?, sheet, source_row, event_id,"
                " event_date, muni_ids, event_type, organiser, title from _events_in",
                [batch_id],
            )
        finally:
            con.unregister("_events_in")
        quarantine_rows(con, batch_id, path.name, parsed.problems)
        finish_batch(
            con,
            batch_id,
            rows_read=parsed.rows_read,
            rows_loaded=len(parsed.events),
            rows_quarantined=parsed.rows_quarantined,
            rows_blank=parsed.rows_blank,
        )
        if rebuild is not None:
            from pipeline.ingest.attendance.models import build_attendance_marts

            build_attendance_marts(con, rebuild)
    return LoadResult(
        path,
        batch_id,
        False,
        parsed.rows_read,
        len(parsed.events),
        parsed.rows_quarantined,
        parsed.rows_blank,
    )


def ingest_events(settings: Settings, path: Path | str, *, reload: bool = False) -> LoadResult:
    """Load an events list, then rebuild the attendance marts (event dates and types feed them)."""
    from pipeline.ingest.attendance.models import build_attendance_marts, marts_are_current
    from pipeline.ingest.attendance.values import use_project_aliases
    from pipeline.warehouse import connect, transaction
    from pipeline.warehouse.setup import init_warehouse

    use_project_aliases(settings.project.aliases_dir if settings.project is not None else None)
    init_warehouse(settings)
    con = connect(settings.db, wait=settings.write_wait)
    try:
        result = load_events(con, path, reload=reload, rebuild=settings)
        if not marts_are_current(con):  # a load interrupted before its rebuild
            with transaction(con):
                build_attendance_marts(con, settings)
    finally:
        con.close()
    return result
