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


def connect(db: Path | str, *, read_only: bool = False, wait: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file.

    Args:
        db: path of the DuckDB file.
        read_only: readers (notebooks, reports) open read-only so several can share the file.
        wait: seconds to keep retrying while another process holds the lock; 0 fails at once.

    Raises:
        WarehouseBusy: the file is locked by another process (after ``wait`` seconds).
        SpscError: a read-only open of a warehouse that does not exist yet.
    """
    db = Path(db)
    if read_only and not db.exists():
        raise SpscError("no warehouse here", str(db), "run 'spsc init' (or 'make demo') first")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise SpscError(f"cannot open the warehouse ({exc})", str(db)) from exc
            if time.monotonic() >= deadline:
                raise _busy(db, exc) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """One transaction: everything inside commits together or not at all."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


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
