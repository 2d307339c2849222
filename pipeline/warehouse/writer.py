"""A writer's connection: the DuckDB connection, its place in the writers' queue, and the
publishing of the read copy when it closes.

:func:`pipeline.warehouse.connect` returns one for every read-write open, so that every
write (ingest, build, snapshot, register, review decisions, ``spsc init``) ends by
publishing, without each caller having to remember to.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from pipeline.errors import SpscError
from pipeline.warehouse.writer_lock import WriterLock


class WriterConnection:
    """The warehouse opened for writing by the one writer at work.

    Behaves as the ``duckdb.DuckDBPyConnection`` it wraps (``execute``, ``sql``, ``register``,
    ``df``...; :attr:`raw` is the connection itself, for APIs that insist on it). ``close()``
    (or leaving a ``with`` block) publishes the read copy when the warehouse changed since
    the last copy, then closes the connection and leaves the queue.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, db: Path, lock: WriterLock):
        self._con = con
        self._db = db
        self._lock = lock
        self._closed = False
        self.published = None  # the Publication made when this connection closed, if any

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection itself."""
        return self._con

    @property
    def db(self) -> Path:
        """The warehouse file."""
        return self._db

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def __enter__(self) -> WriterConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Publish the read copy if the warehouse changed, close, and leave the queue.

        Raises:
            SpscError: the write is committed but the copy could not be published (not
                raised while another exception is on its way: that one says what failed).
        """
        if self._closed:
            return
        self._closed = True
        from pipeline.warehouse.publish import is_current, publish, published_path, read_publication

        failed = None
        unwinding = sys.exc_info()[0] is not None
        try:
            # a nested open (spsc init inside an ingest) leaves publishing to the outermost
            if self._lock.depth == 1 and not is_current(self._db, read_publication(published_path(self._db))):
                self.published = publish(self._con, self._db)
        except SpscError as exc:
            failed = exc
        except (OSError, duckdb.Error) as exc:
            failed = SpscError(f"the read copy could not be published ({exc})", str(self._db),
                               "readers see the previous copy; run 'spsc publish'")
        finally:
            try:
                self._con.close()
            finally:
                self._lock.release()
        if failed is not None:
            if unwinding:
                sys.stderr.write(f"warning: {failed.one_line()}\n")
            else:
                raise failed
