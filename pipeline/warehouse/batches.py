"""Load batches and quarantine: the ledger that proves nothing was lost and nothing loaded twice.

Every ingest writes its batch row, its rows and its quarantine in one transaction, so a
killed load leaves either the whole file or none of it. A rejected file writes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import __version__
from pipeline.warehouse.db import first_row
from pipeline.warehouse.progress import step

QUARANTINE_COLUMNS = ["sheet", "source_row", "column_name", "value", "rule", "reason", "action"]


def file_sha256(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def locate_raw(path: Path | str, roots: tuple[Path | str, ...] = ()) -> Path | None:
    """A loaded file, found again: ``load_batches.path`` is the path as it was given to the
    load, relative to the folder the command ran in. Tried as stored, then under each root
    (the project folder) and each root's parents (a project inside a repository loaded from
    the repository's top). ``None`` when it is nowhere."""
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p if p.exists() else None
    for root in roots:
        base = Path(root).resolve()
        for folder in (base, *base.parents):
            if (folder / p).exists():
                return folder / p
    return None


def find_batch(con: duckdb.DuckDBPyConnection, sha256: str, kind: str | None = None,
               status: str = "loaded") -> dict | None:
    """The newest batch with this content hash (and kind) in ``status``, as a dict, or ``None``."""
    sql = "select * from load_batches where sha256 = ? and status = ?"
    params: list = [sha256, status]
    if kind is not None:
        sql += " and kind = ?"
        params.append(kind)
    rel = con.execute(sql + " order by batch_id desc limit 1", params)
    rows = rel.fetchall()
    if not rows:
        return None
    return dict(zip([d[0] for d in rel.description], rows[0], strict=True))


def register_file(con: duckdb.DuckDBPyConnection, path: Path | str, kind: str,
                  wave: str | None = None) -> tuple[int, bool]:
    """Record a raw file as known but not yet loaded; idempotent by content hash.

    Returns ``(batch_id, created)``.
    """
    path = Path(path)
    sha = file_sha256(path)
    existing = first_row(
        con, "select batch_id from load_batches where sha256 = ? and kind = ? and status in ('registered', 'loaded')"
        " order by batch_id limit 1", [sha, kind])
    if existing:
        return existing[0], False
    batch_id = con.execute(
        "insert into load_batches (path, file_name, sha256, size_bytes, kind, wave, pipeline_version, status)"
        " values (?, ?, ?, ?, ?, ?, ?, 'registered') returning batch_id",
        [str(path), path.name, sha, path.stat().st_size, kind, wave, __version__],
    ).fetchall()[0][0]
    return batch_id, True


def start_batch(con: duckdb.DuckDBPyConnection, path: Path | str, sha256: str, kind: str,
                wave: str | None = None) -> int:
    """Open a batch for a load (call inside the load's transaction); reuses a registered row."""
    path = Path(path)
    now = datetime.now()
    registered = first_row(
        con, "select batch_id from load_batches where sha256 = ? and kind = ? and status = 'registered'"
        " order by batch_id limit 1", [sha256, kind])
    if registered:
        con.execute(
            "update load_batches set path = ?, file_name = ?, wave = ?, started_at = ?, status = 'loading',"
            " pipeline_version = ? where batch_id = ?",
            [str(path), path.name, wave, now, __version__, registered[0]])
        step("batch started")
        return registered[0]
    batch_id = con.execute(
        "insert into load_batches (path, file_name, sha256, size_bytes, kind, wave, started_at,"
        " pipeline_version, status) values (?, ?, ?, ?, ?, ?, ?, ?, 'loading') returning batch_id",
        [str(path), path.name, sha256, path.stat().st_size, kind, wave, now, __version__],
    ).fetchall()[0][0]
    step("batch started")
    return batch_id


def finish_batch(con: duckdb.DuckDBPyConnection, batch_id: int, *, rows_read: int, rows_loaded: int,
                 rows_quarantined: int, rows_blank: int = 0, message: str | None = None,
                 cells_quarantined: int = 0) -> None:
    """Close a batch with its row accounting (and the cells of loaded rows set missing);
    refuses counts that do not add up."""
    if rows_read != rows_loaded + rows_quarantined + rows_blank:
        raise AssertionError(
            f"batch {batch_id}: rows read {rows_read} != loaded {rows_loaded} + quarantined "
            f"{rows_quarantined} + blank {rows_blank}")
    con.execute(
        "update load_batches set rows_read = ?, rows_loaded = ?, rows_quarantined = ?, rows_blank = ?,"
        " cells_quarantined = ?, finished_at = ?, status = 'loaded', message = ? where batch_id = ?",
        [rows_read, rows_loaded, rows_quarantined, rows_blank, cells_quarantined, datetime.now(), message,
         batch_id])
    step("batch finished")


def quarantine_rows(con: duckdb.DuckDBPyConnection, batch_id: int, file_name: str,
                    problems: pd.DataFrame) -> int:
    """Append quarantine rows (columns :data:`QUARANTINE_COLUMNS`) for a batch; returns how many."""
    if problems is None or problems.empty:
        return 0
    frame = problems.reindex(columns=QUARANTINE_COLUMNS).copy()
    frame.insert(0, "file_name", file_name)
    frame.insert(0, "batch_id", batch_id)
    frame["value"] = frame["value"].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v)[:500])
    frame["source_row"] = pd.to_numeric(frame["source_row"], errors="coerce").astype("Int64")
    frame["action"] = frame["action"].astype(object).where(frame["action"].notna(), "row")
    for col in ("sheet", "column_name", "rule", "reason", "action"):
        frame[col] = frame[col].astype("string")
    con.register("_quarantine_in", frame)
    try:
        con.execute(
            "insert into quarantine (batch_id, file_name, sheet, source_row, column_name, value, rule, reason,"
            " action) select batch_id, file_name, sheet, source_row, column_name, value, rule, reason, action"
            " from _quarantine_in")
    finally:
        con.unregister("_quarantine_in")
    step("quarantine written")
    return len(frame)
