"""Opening the warehouse and migrating its schema from versioned SQL files."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from pipeline.errors import SpscError, WarehouseBusy

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def _busy(db: Path, exc: Exception) -> WarehouseBusy:
    m = _LOCK_HOLDER.search(str(exc))
    holder = f"{Path(m.group(1)).name} PID {m.group(2)}" if m else "another process"
    return WarehouseBusy(f"warehouse is busy (held by {holder})", str(db), "retry when it finishes")


def _open(db: Path, read_only: bool, wait: float, say=None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retrying while another process holds DuckDB's own lock (``say``:
    where to report a wait longer than a second)."""
    started = time.monotonic()
    delay, said = 0.05, False
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise SpscError(f"cannot open the warehouse ({exc})", str(db)) from exc
            waited = time.monotonic() - started
            if waited >= wait:
                raise _busy(db, exc) from exc
            if say is not None and not said and waited >= 1.0:
                say(f"waiting for the warehouse: {_busy(db, exc).what.split('(', 1)[-1].rstrip(')')}"
                    f" has it open outside the writers' queue; waiting up to {wait:.0f} s")
                said = True
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def connect(db: Path | str, *, read_only: bool = False, wait: float | None = None):
    """Open the warehouse file.

    Writers (the default) join the writers' queue first: they wait, with a progress line
    on stderr, while another writer works, for up to ``wait`` seconds (default: the
    ``write_wait`` setting, ``SPSC_WRITE_WAIT``). They get a
    :class:`~pipeline.warehouse.writer.WriterConnection`, which behaves as a DuckDB
    connection and publishes the read copy when it closes (:mod:`pipeline.warehouse.publish`).

    ``read_only=True`` opens this very file read-only (checks and tests that inspect the
    warehouse itself). Readers that must not wait for writers (notebooks, reports, status)
    open the published copy instead: :func:`pipeline.warehouse.open_published`.

    Args:
        db: path of the DuckDB file.
        read_only: open the file itself read-only.
        wait: seconds to wait for the writer (or process) holding the file; a read-only open
            fails at once by default.

    Raises:
        WarehouseBusy: the file stayed locked by another process for ``wait`` seconds.
        SpscError: a read-only open of a warehouse that does not exist yet.
    """
    db = Path(db)
    if read_only:
        if not db.exists():
            raise SpscError("no warehouse here", str(db), "run 'spsc init' (or 'make demo') first")
        return _open(db, True, wait or 0.0)
    from pipeline.warehouse.writer import WriterConnection
    from pipeline.warehouse.writer_lock import WriterLock, say

    if wait is None:
        from pipeline.config import get_settings

        wait = get_settings().write_wait
    db.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    lock = WriterLock.acquire(db, wait)
    try:
        # DuckDB's own lock: held by a process outside the queue (a DuckDB shell, an old
        # notebook opening the warehouse itself), or by a nested open of this process
        con = _open(db, False, max(wait - (time.monotonic() - started), 0.0), say)
    except BaseException:
        lock.release()
        raise
    return WriterConnection(con, db, lock)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """One transaction: everything inside commits together or not at all."""
    from pipeline.warehouse.progress import step

    con.execute("begin transaction")
    step("begin")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    step("commit")
    con.execute("commit")
    step("committed")


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("pipeline.warehouse").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, or ``None``; the result is consumed in full.

    DuckDB 2 keeps a result open until a fetch returns no rows, and an open result blocks
    other work on the connection (``register``...), so never leave ``fetchone()`` half-read.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first value of the first row of a query (``None`` when there is no row)."""
    row = first_row(con, sql, params)
    return None if row is None else row[0]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration, 0 for an empty warehouse."""
    exists = scalar(con, "select count(*) from information_schema.tables where table_name = 'schema_migrations'")
    if not exists:
        return 0
    return scalar(con, "select coalesce(max(version), 0) from schema_migrations")


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration newer than the warehouse, each in its own transaction.

    Returns the names of the migrations applied (empty when already current).
    """
    con.execute(
        "create table if not exists schema_migrations ("
        " version integer primary key, name varchar not null,"
        " applied_at timestamp not null default current_timestamp)"
    )
    current = schema_version(con)
    applied = []
    for version, name, sql in _migrations():
        if version <= current:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("insert into schema_migrations (version, name) values (?, ?)", [version, name])
        applied.append(f"{version:03d}_{name}")
    return applied
