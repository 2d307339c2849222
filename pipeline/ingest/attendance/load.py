"""Sign-in sheets into the warehouse: ``spsc ingest attendance FILE...``.

A register is an XLSX, XLS or CSV file with either one sheet per event (the sheet named by
the event id, a title block above the header with ``ID događaja: EV-0001``) or one long sheet
with an event column. Headers are recognised in Bosnian, Croatian, Serbian (Latin and
Cyrillic) and English through ``aliases/attendance_headers.csv``; the checks are in
:mod:`pipeline.ingest.attendance.checks`.

Names, phones, e-mails and signatures are read only to make the person key
(:mod:`pipeline.registry.keys`) and are then dropped. One file is one load batch and one
transaction; the same content loaded twice is a no-op; a file that cannot be read changes
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.config import Settings
from pipeline.errors import RejectedFile, SpscError
from pipeline.ingest.attendance.checks import PROBLEM_COLUMNS, check_rows, quarantine_value
from pipeline.ingest.attendance.read import read_grids
from pipeline.ingest.attendance.sheets import sheet_rows
from pipeline.registry.keys import store_name_signatures
from pipeline.warehouse import (
    file_sha256,
    find_batch,
    finish_batch,
    quarantine_rows,
    start_batch,
    transaction,
)
from pipeline.warehouse.progress import step

__all__ = [
    "ParsedRegister",
    "ingest_attendance",
    "ingest_sample_attendance",
    "load_register",
    "parse_register",
    "quarantine_value",
]

KIND = "attendance"
_WAVE = re.compile(r"(\d{4}Q[1-4])", re.IGNORECASE)


@dataclass
class ParsedRegister:
    """A register read and checked, before it touches the warehouse.

    Attributes:
        signins: one row per loadable sign-in: ``sheet, source_row, event_id, person_key,
            alt_person_key, sex, birth_year, birth_source, age_at_event, muni_id, role``.
        persons: one row per person key: ``person_key, name_key, birth_year, muni_id`` (the
            normalised name stays in memory for the name signatures and is never stored).
        problems: one row per rejected cell (quarantine columns).
    """

    signins: pd.DataFrame
    persons: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int = 0
    rows_blank: int = 0
    rows_quarantined: int = 0
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return len(self.signins)


def parse_register(
    path: Path | str, secret: bytes, events: pd.DataFrame, *, keep_names: bool = False
) -> ParsedRegister:
    """Read and check a register; nothing is written.

    Args:
        path: the XLSX, XLS or CSV file.
        secret: the pseudonymisation secret (:func:`pipeline.warehouse.setup.bound_secret`).
        events: known events, columns ``event_id`` and ``date``.
        keep_names: keep the names as written in a ``name`` column of ``signins``, for a
            reviewer's screen only (``spsc review persons --show-names``); never loaded.

    Raises:
        RejectedFile: unreadable, or no sheet with a recognisable header row.
    """
    path = Path(path)
    grids = read_grids(path)
    known = {
        e: pd.Timestamp(d).date() for e, d in zip(events["event_id"], events["date"], strict=True)
    }
    frames, problems, headers = [], [], {}
    rows_read = rows_blank = 0
    notes = []
    for grid in grids:
        sheet = sheet_rows(grid, set(known))
        if grid.hidden and sheet.rows is None:
            # a hidden sheet without a sign-in header holds the template's drop-down lists
            if not grid.cells.empty:
                notes.append(f"hidden sheet {grid.name!r} without a sign-in header not read")
            continue
        rows_read += sheet.read
        rows_blank += sheet.blank
        problems.extend(sheet.problems)
        if sheet.rows is not None:
            headers[grid.name] = sheet.headers
            frames.append(sheet.rows)
    if not headers:
        raise RejectedFile(
            "no sheet has a recognisable header row (e.g. 'Ime i prezime', 'Spol', "
            "'Godina rođenja')",
            str(path),
            "add the header spelling to "
            "pipeline/ingest/aliases/attendance_headers.csv if it is a new one",
        )
    rows = {c: np.concatenate([f[c] for f in frames]) for c in frames[0]} if frames else {}
    checked = check_rows(rows, headers, known, secret, keep_names)
    problems.extend(checked.problems)
    problem_frame = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=PROBLEM_COLUMNS)
    )
    rows_quarantined = int(problem_frame[["sheet", "source_row"]].drop_duplicates().shape[0])
    parsed = ParsedRegister(
        signins=checked.signins,
        persons=checked.persons,
        problems=problem_frame,
        rows_read=rows_read,
        rows_blank=rows_blank,
        rows_quarantined=rows_quarantined,
        sheets=[g.name for g in grids],
        notes=notes,
    )
    if checked.duplicates:
        parsed.notes.append(
            f"{checked.duplicates} repeated sign-ins of a person at the same event (counted once)"
        )
    return parsed


def known_events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Events of the loaded events lists (latest list wins): ``event_id``, ``date``."""
    return con.execute(
        "select event_id, arg_max(event_date, batch_id) as date from raw_events"
        " where batch_id in"
        " (select batch_id from load_batches where kind = 'events' and status = 'loaded')"
        " group by event_id"
    ).df()


@dataclass
class LoadResult:
    """What one file's load did, for the command line and for tests."""

    path: Path
    batch_id: int | None
    skipped: bool
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_blank: int = 0
    notes: list[str] = field(default_factory=list)
    rejected: str | None = None  # why the file could not be read (nothing was written)

    def summary(self) -> str:
        if self.rejected:
            return f"{self.path.name}: rejected, nothing loaded: {self.rejected}"
        if self.skipped:
            return (
                f"{self.path.name}: already loaded as batch {self.batch_id} (same content),"
                " nothing to do"
            )
        text = (
            f"{self.path.name}: batch {self.batch_id}: read {self.rows_read}"
            f" = loaded {self.rows_loaded} + quarantined {self.rows_quarantined}"
            f" + blank {self.rows_blank}"
        )
        return "; ".join([text, *self.notes])


def wave_of(path: Path) -> str | None:
    """The quarter a register's file name names (``drvar_2024Q1.xlsx`` -> ``2024Q1``)."""
    m = _WAVE.search(path.stem)
    return m.group(1).upper() if m else None


def load_register(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    secret: bytes,
    *,
    reload: bool = False,
    rebuild: Settings | None = None,
) -> LoadResult:
    """Load one register in one transaction; the same content twice is a no-op.

    Args:
        reload: load again a file already loaded (its earlier batch becomes ``superseded``),
            e.g. after loading an events list that was missing events.
        rebuild: rebuild the attendance marts with these settings inside the same
            transaction, so a load killed at any moment leaves the file and the marts built
            from it, or neither.

    Raises:
        RejectedFile: the file cannot be read; nothing is written.
        SpscError: no events list has been loaded yet.
    """
    path = Path(path)
    sha = file_sha256(path)
    existing = find_batch(con, sha, KIND)
    if existing and not reload:
        return LoadResult(path, existing["batch_id"], skipped=True)
    events = known_events(con)
    if events.empty:
        raise SpscError(
            "no events list loaded yet", str(path), "run 'spsc ingest events FILE' first"
        )
    parsed = parse_register(path, secret, events)
    step("register read")
    with transaction(con):
        if existing:
            con.execute(
                "update load_batches set status = 'superseded' where batch_id = ?",
                [existing["batch_id"]],
            )
        batch_id = start_batch(con, path, sha, KIND, wave_of(path))
        _insert_signins(con, batch_id, parsed)
        step("signins inserted")
        _register_persons(con, batch_id, parsed.persons, secret)
        step("persons registered")
        quarantine_rows(con, batch_id, path.name, parsed.problems)
        finish_batch(
            con,
            batch_id,
            rows_read=parsed.rows_read,
            rows_loaded=parsed.rows_loaded,
            rows_quarantined=parsed.rows_quarantined,
            rows_blank=parsed.rows_blank,
            message="; ".join(parsed.notes) or None,
        )
        if rebuild is not None:
            from pipeline.ingest.attendance.models import build_attendance_marts

            build_attendance_marts(con, rebuild)
            step("attendance marts built")
    notes = list(parsed.notes)
    if existing:
        notes.append(f"batch {existing['batch_id']} superseded")
    return LoadResult(
        path,
        batch_id,
        False,
        parsed.rows_read,
        parsed.rows_loaded,
        parsed.rows_quarantined,
        parsed.rows_blank,
        notes,
    )


_SIGNIN_COLUMNS = [
    "sheet",
    "source_row",
    "event_id",
    "person_key",
    "alt_person_key",
    "sex",
    "birth_year",
    "birth_source",
    "age_at_event",
    "muni_id",
    "role",
]


def _insert_signins(con: duckdb.DuckDBPyConnection, batch_id: int, parsed: ParsedRegister) -> None:
    # through Arrow: DuckDB scans it without touching a Python object per cell
    table = pa.Table.from_pandas(parsed.signins[_SIGNIN_COLUMNS], preserve_index=False)
    con.register("_signins_in", table)
    try:
        con.execute(
            f"insert into raw_signins (batch_id, {', '.join(_SIGNIN_COLUMNS)})"
            f" select ?, {', '.join(_SIGNIN_COLUMNS)} from _signins_in",
            [batch_id],
        )
    finally:
        con.unregister("_signins_in")


def _register_persons(
    con: duckdb.DuckDBPyConnection, batch_id: int, persons: pd.DataFrame, secret: bytes
) -> None:
    """Add persons not seen before to the registry, with their name signatures."""
    con.register("_persons_all", persons[["person_key", "birth_year", "muni_id"]])
    try:
        new_keys = con.execute(
            "select person_key from _persons_all anti join person_registry using (person_key)"
        ).df()
        con.execute(
            "insert into person_registry (person_key, birth_year, muni_id, first_batch_id)"
            " select person_key, birth_year, muni_id, ? from _persons_all"
            " anti join person_registry using (person_key)",
            [batch_id],
        )
    finally:
        con.unregister("_persons_all")
    fresh = persons[persons["person_key"].isin(new_keys["person_key"])]
    if not fresh.empty:
        store_name_signatures(con, secret, fresh)


def ingest_attendance(
    settings: Settings, paths: list[Path], *, reload: bool = False, keep_going: bool = False
) -> list[LoadResult]:
    """Load registers (each file one transaction), then rebuild the attendance marts.

    Args:
        reload: load again files already loaded (see :func:`load_register`).
        keep_going: a file that cannot be read is reported in its result (``rejected``) and
            the others are loaded; otherwise the first such file raises.

    Raises:
        RejectedFile: an unreadable file, unless ``keep_going`` (files before it stay loaded,
            and the marts are rebuilt for them).
        WarehouseBusy: another writer held the warehouse for more than ``write_wait`` seconds.
    """
    from pipeline.ingest.attendance.models import build_attendance_marts, marts_are_current
    from pipeline.ingest.attendance.values import use_project_aliases
    from pipeline.warehouse import connect, transaction
    from pipeline.warehouse.setup import bound_secret, init_warehouse

    use_project_aliases(settings.project.aliases_dir if settings.project is not None else None)
    init_warehouse(settings)
    con = connect(settings.db, wait=settings.write_wait)
    results: list[LoadResult] = []
    try:
        secret = bound_secret(settings, con)
        for i, p in enumerate(paths):
            # the last file's transaction also rebuilds the marts: one file, one atomic load
            last = settings if i == len(paths) - 1 else None
            try:
                results.append(load_register(con, p, secret, reload=reload, rebuild=last))
            except RejectedFile as exc:
                if not keep_going:
                    raise
                results.append(LoadResult(Path(p), None, skipped=True, rejected=exc.what))
    finally:
        try:
            # earlier files of this call, or a load interrupted before its rebuild
            if not marts_are_current(con):
                with transaction(con):
                    build_attendance_marts(con, settings)
        finally:
            con.close()
    return results


def ingest_sample_attendance(settings: Settings, sample_dir: Path | str) -> list[LoadResult]:
    """Load the sample's events list and sign-in sheets (``<sample_dir>/attendance``)."""
    from pipeline.ingest.attendance.events import ingest_events

    folder = Path(sample_dir) / "attendance"
    events_file = next((p for p in sorted(folder.glob("events.*"))), None)
    if events_file is None:
        raise SpscError("no events list in the sample", str(folder), "run 'spsc synth' first")
    results = [ingest_events(settings, events_file)]
    registers = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p != events_file and not p.name.startswith((".", "~$"))
    )
    results.extend(ingest_attendance(settings, registers))
    return results
