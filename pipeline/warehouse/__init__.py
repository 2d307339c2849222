"""The DuckDB warehouse: the writers' file, its published read copy, migrations, load batches.

DuckDB's rule: one process may write a file, or several may read it, never both. So writers
open the warehouse (``spsc.duckdb``) one at a time, queueing behind each other
(:func:`connect`), and each ends by publishing a read copy (``spsc.read.duckdb``) that
readers open (:func:`open_published`): readers never wait for a writer, nor writers for a
reader. See ``docs/warehouse.md``.
"""

from pipeline.warehouse.batches import (
    file_sha256,
    find_batch,
    finish_batch,
    quarantine_rows,
    register_file,
    start_batch,
)
from pipeline.warehouse.db import connect, first_row, migrate, scalar, schema_version, transaction
from pipeline.warehouse.publish import (
    Freshness,
    Publication,
    freshness,
    open_published,
    publish_now,
    published_path,
)

__all__ = [
    "Freshness",
    "Publication",
    "connect",
    "file_sha256",
    "find_batch",
    "finish_batch",
    "first_row",
    "freshness",
    "migrate",
    "open_published",
    "publish_now",
    "published_path",
    "quarantine_rows",
    "register_file",
    "scalar",
    "schema_version",
    "start_batch",
    "transaction",
]
