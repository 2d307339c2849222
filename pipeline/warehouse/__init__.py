"""The DuckDB warehouse: connections with clear locking errors, migrations, load batches.

DuckDB's rule: one process may write; several processes may read at once only while none
writes. Readers (notebooks, reports) open read-only; writers open read-write. A process that
finds the file locked gets :class:`~pipeline.errors.WarehouseBusy`, never a hang.
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

__all__ = [
    "connect",
    "file_sha256",
    "find_batch",
    "finish_batch",
    "first_row",
    "migrate",
    "quarantine_rows",
    "register_file",
    "scalar",
    "schema_version",
    "start_batch",
    "transaction",
]
