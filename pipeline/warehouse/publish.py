"""The published read copy: what readers open, so that they and the writers never wait on
each other.

DuckDB lets one process write a file, or several read it, never both at once. So the
warehouse (``spsc.duckdb``) is opened by writers only, one at a time (the writers' queue,
:mod:`pipeline.warehouse.writer_lock`), and every writer that changed it ends by publishing a
copy beside it (``spsc.read.duckdb``) that notebooks, reports, maps, the donor table,
``spsc status`` and ``spsc audit`` read:

1. ``CHECKPOINT``: every committed change is in the warehouse file, the write-ahead log is
   empty, and the file is consistent on its own (the writer still holds DuckDB's lock, so
   nothing else changes it);
2. the file is copied byte for byte to ``spsc.read.duckdb.tmp-<pid>`` (the operating
   system's copy: tens of milliseconds for the demo, seconds for the largest warehouse),
   then a one-row ``publication`` table is written into the copy: when, by whom, the
   warehouse file's size and modification time at that moment, the load batches and the
   indicator build it holds;
3. the copy is flushed to disk and renamed over ``spsc.read.duckdb`` in one step
   (``os.replace``). A reader opens either the old copy or the new one, never a part.

A reader that has the old copy open keeps reading the old file until it reconnects (on
Linux and macOS the renamed-over file lives on while it is open). A writer killed while
publishing leaves a ``.tmp-<pid>`` file and the old copy in place; the next writer removes
the leftover and publishes.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import astuple, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline import __version__
from pipeline.errors import SpscError
from pipeline.warehouse.db import first_row, schema_version
from pipeline.warehouse.progress import step
from pipeline.warehouse.writer_lock import Holder, current_writer

TMP_MARK = ".tmp-"
ALIAS = "published"  # the catalog name readers see (``duckdb_tables().database_name``)

_PUBLICATION = """
create table publication (
    published_at timestamp not null,   -- when this copy was made
    seconds double not null,           -- how long the copy took (checkpoint, copy, this row)
    bytes bigint not null,             -- size of the warehouse file copied
    warehouse varchar not null,        -- the warehouse it is a copy of
    warehouse_size bigint not null,    -- that file's size and modification time when copied:
    warehouse_mtime_ns bigint not null,-- when they differ now, the warehouse has newer work
    schema_version integer not null,
    batch_ids integer[] not null,      -- the load batches loaded (status 'loaded') it holds
    built_at timestamp,                -- the indicator build it holds (NULL: none yet)
    build_fingerprint varchar,
    publisher varchar not null,        -- the command that published it
    publisher_pid integer not null,
    pipeline_version varchar not null
)"""


def published_path(db: Path | str) -> Path:
    """The read copy beside a warehouse: ``spsc.duckdb`` -> ``spsc.read.duckdb``."""
    db = Path(db)
    return db.with_name(f"{db.stem}.read{db.suffix or '.duckdb'}")


@dataclass(frozen=True)
class Publication:
    """One published copy (the ``publication`` row inside it)."""

    published_at: datetime
    seconds: float
    bytes: int
    warehouse: str
    warehouse_size: int
    warehouse_mtime_ns: int
    schema_version: int
    batch_ids: tuple[int, ...]
    built_at: datetime | None
    build_fingerprint: str | None
    publisher: str
    publisher_pid: int
    pipeline_version: str

    def summary(self) -> str:
        """One line: when it was published, which batches and which build it holds."""
        build = (f"indicators built {self.built_at:%Y-%m-%d %H:%M:%S}" if self.built_at
                 else "no indicator build")
        return (f"published {self.published_at:%Y-%m-%d %H:%M:%S} by {self.publisher}:"
                f" {describe_batches(self.batch_ids)}, {build}")


def describe_batches(ids: tuple[int, ...] | list[int]) -> str:
    """``12 load batches (1-12)``, ``3 load batches (1, 4, 7)``, ``no load batches``."""
    ids = sorted(ids)
    if not ids:
        return "no load batches"
    word = "load batch" if len(ids) == 1 else "load batches"
    if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2:
        return f"{len(ids)} {word} ({ids[0]}-{ids[-1]})"
    return f"{len(ids)} {word} ({', '.join(map(str, ids))})"


def warehouse_state(db: Path | str) -> tuple[int, int, bool]:
    """``(size, mtime_ns, has_wal)`` of the warehouse file: changes whenever a commit reaches it.

    A commit first lands in the write-ahead log (``.wal``) and a checkpoint then rewrites the
    file; opening and closing without a change touches neither.
    """
    db = Path(db)
    st = db.stat()
    return st.st_size, st.st_mtime_ns, db.with_name(db.name + ".wal").exists()


def _temps(read: Path) -> list[Path]:
    return sorted(read.parent.glob(f"{read.name}{TMP_MARK}*"))


def publish(con: duckdb.DuckDBPyConnection, db: Path | str, publisher: str | None = None,
            method: str = "file") -> Publication:
    """Publish the read copy of ``db`` from a writer's connection to it.

    The caller holds the writers' lock and ``con`` is read-write on ``db`` with no open
    transaction. ``method``: ``file`` copies the checkpointed file byte for byte (by far the
    fastest: 14 ms against 3.2 s for the demo); ``sql`` has DuckDB write a new database
    (``COPY FROM DATABASE``), used where the operating system refuses to copy a file the
    writer has open (Windows).

    Raises:
        SpscError: the copy could not be written (disk full...); the previous copy stays.
    """
    db = Path(db)
    read = published_path(db)
    started = time.perf_counter()
    con.execute("checkpoint")
    step("checkpointed")
    size, mtime_ns, wal = warehouse_state(db)
    if wal:
        raise SpscError("the warehouse could not be checkpointed before publishing", str(db),
                        "another connection of this process has an open transaction")
    for leftover in _temps(read):  # a writer killed while publishing (we hold the lock)
        leftover.unlink(missing_ok=True)
    have = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    batch_ids = [r[0] for r in con.execute(
        "select batch_id from load_batches where status = 'loaded' order by batch_id").fetchall()
    ] if "load_batches" in have else []
    build = (first_row(con, "select built_at, fingerprint from indicator_builds")
             if "indicator_builds" in have else None)
    version = schema_version(con)
    tmp = read.with_name(f"{read.name}{TMP_MARK}{os.getpid()}")
    try:
        if method == "file":
            try:
                shutil.copyfile(db, tmp)
            except PermissionError:  # Windows: the writer's own open file cannot be shared
                tmp.unlink(missing_ok=True)
                method = "sql"
        if method == "sql":
            _copy_by_sql(con, tmp)
        step("read copy written")
        made = Publication(
            datetime.now(), time.perf_counter() - started, size, str(db), size, mtime_ns, version,
            tuple(batch_ids), build[0] if build else None, build[1] if build else None,
            publisher or _publisher(), os.getpid(), __version__)
        pub = duckdb.connect(str(tmp))
        try:
            pub.execute("drop table if exists publication")
            pub.execute(_PUBLICATION)
            pub.execute("insert into publication values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*astuple(made)[:7], list(made.batch_ids), *astuple(made)[8:]])
        finally:
            pub.close()
        _fsync(tmp)
        os.replace(tmp, read)
    except (OSError, duckdb.Error) as exc:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        if isinstance(exc, PermissionError) and sys.platform.startswith("win"):
            # Windows cannot replace a file another process has open
            raise SpscError("the read copy could not be replaced: a reader has it open", str(read),
                            "readers see the previous copy; close the notebooks' connections,"
                            " then run 'spsc publish'") from exc
        raise SpscError(f"the read copy could not be published ({exc})", str(read),
                        "readers see the previous copy; free disk space, then run 'spsc publish'"
                        ) from exc
    _fsync_dir(read.parent)
    step("read copy published")
    return made


def _copy_by_sql(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """Copy every table, view and sequence of the warehouse into a new file at ``tmp``."""
    source = first_row(con, "select current_database()")[0]
    quoted = str(tmp).replace("'", "''")
    con.execute(f"attach '{quoted}' as _spsc_publish")
    try:
        con.execute(f'copy from database "{source}" to _spsc_publish')
    finally:
        con.execute("detach _spsc_publish")


def _publisher() -> str:
    from pipeline.warehouse.writer_lock import _command_line

    return _command_line()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))  # Windows syncs writable files only
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to sync)."""
    if sys.platform.startswith("win"):
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publication(con: duckdb.DuckDBPyConnection) -> Publication | None:
    """The ``publication`` row of an open read copy (``None``: not a published copy)."""
    exists = first_row(con, "select count(*) from information_schema.tables"
                            " where table_schema = 'main' and table_name = 'publication'")
    if not exists or not exists[0]:
        return None
    row = first_row(con, "select published_at, seconds, bytes, warehouse, warehouse_size,"
                         " warehouse_mtime_ns, schema_version, batch_ids, built_at,"
                         " build_fingerprint, publisher, publisher_pid, pipeline_version"
                         " from publication")
    if row is None:
        return None
    return Publication(row[0], float(row[1]), int(row[2]), row[3], int(row[4]), int(row[5]),
                       int(row[6]), tuple(int(b) for b in row[7]), row[8], row[9], row[10],
                       int(row[11]), row[12])


def read_publication(read: Path | str) -> Publication | None:
    """The ``publication`` row of the copy at ``read`` (``None`` when there is no copy)."""
    read = Path(read)
    if not read.exists():
        return None
    con = _attach(read)
    try:
        return publication(con)
    finally:
        con.close()


def _attach(read: Path) -> duckdb.DuckDBPyConnection:
    """``read`` attached read-only to a fresh in-memory instance (never a cached, older view:
    ``duckdb.connect(path)`` hands back the instance a process already has open for a path)."""
    con = duckdb.connect()
    try:
        quoted = str(read).replace("'", "''")
        con.execute(f"attach '{quoted}' as {ALIAS} (read_only)")
        con.execute(f"use {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def is_current(db: Path | str, pub: Publication | None) -> bool:
    """Whether the copy described by ``pub`` holds everything committed to ``db``."""
    if pub is None:
        return False
    size, mtime_ns, wal = warehouse_state(db)
    return not wal and (size, mtime_ns) == (pub.warehouse_size, pub.warehouse_mtime_ns)


@dataclass(frozen=True)
class Freshness:
    """How fresh a reader's copy is: what it holds, and whether there is more elsewhere."""

    copy: Path
    publication: Publication | None  # what the reader's copy holds
    writer: Holder | None  # a writer at work on the warehouse now
    newer_copy: Publication | None  # a copy published since the reader opened its own
    unpublished: bool  # the warehouse holds committed work the newest copy does not

    def summary(self) -> str:
        """``read copy published ...: 12 load batches (1-12), indicators built ...``."""
        if self.publication is None:
            return f"read copy {self.copy} (no publication record)"
        return f"read copy {self.publication.summary()}"

    def warning(self) -> str | None:
        """One line when the warehouse has (or is getting) work this copy does not hold."""
        if self.writer is not None:
            return (f"the warehouse is being written by {self.writer.describe()}; this copy"
                    " holds what was published before, and is republished when it finishes")
        if self.newer_copy is not None:
            return (f"a newer copy was published {self.newer_copy.published_at:%Y-%m-%d %H:%M:%S}"
                    f" ({describe_batches(self.newer_copy.batch_ids)}); reconnect to read it")
        if self.unpublished:
            return ("the warehouse holds newer work that was not published (a writer stopped"
                    " before publishing?); run 'spsc publish' (the next load also publishes it)")
        return None


def freshness(db: Path | str, con: duckdb.DuckDBPyConnection | None = None) -> Freshness:
    """How the published copy of ``db`` compares with the warehouse now (never waits).

    ``con``: a reader's open connection to a copy; the answer is then about the copy it
    holds, which may be older than the one published now.
    """
    db = Path(db)
    read = published_path(db)
    newest = read_publication(read)
    held = publication(con) if con is not None else newest
    newer = None
    if con is not None and newest is not None and held is not None and (
            newest.published_at, newest.warehouse_mtime_ns) != (held.published_at,
                                                                held.warehouse_mtime_ns):
        newer = newest
    unpublished = db.exists() and not is_current(db, newest)
    return Freshness(read, held, current_writer(db), newer, unpublished)


def open_published(db: Path | str) -> duckdb.DuckDBPyConnection:
    """Open the read copy of the warehouse ``db``, read-only; never waits for a writer.

    The copy is attached to a DuckDB instance of its own (an in-memory one, ``use``-d so that
    tables need no prefix), so reconnecting always sees the newest copy, even in a process
    that still holds an older one open. A warehouse that has no copy yet (made before
    copies were published, or copied by hand) is published first, as a writer.

    Raises:
        SpscError: no warehouse at ``db`` (``spsc init`` first).
    """
    db = Path(db)
    read = published_path(db)
    if not read.exists():
        if not db.exists():
            raise SpscError("no warehouse here", str(db), "run 'spsc init' (or 'make demo') first")
        publish_now(db)
    try:
        return _attach(read)
    except duckdb.Error as exc:
        raise SpscError(f"cannot open the read copy ({exc})", str(read),
                        "run 'spsc publish' to publish it again") from exc


def publish_now(db: Path | str, wait: float | None = None, force: bool = False) -> Publication | None:
    """Publish the copy of ``db`` as a writer would (queueing behind one at work).

    Returns the new publication, or ``None`` when the copy was already current (unless
    ``force``).
    """
    from pipeline.warehouse.db import connect

    con = connect(db, wait=wait)
    try:
        if force or not is_current(db, read_publication(published_path(db))):
            return publish(con.raw, db)
        return None
    finally:
        con.close()
