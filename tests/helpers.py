"""Small helpers the test modules share (reading a warehouse the way a reader process does)."""

from __future__ import annotations

from pipeline.checks.integrity import fingerprint
from pipeline.warehouse import connect


def query(settings, sql: str, params=None) -> list[tuple]:
    """All rows of ``sql`` on the settings' warehouse, opened read-only."""
    con = connect(settings.db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def warehouse_fingerprint(settings) -> dict[str, tuple[int, int]]:
    """Every table's row count and content hash: equal before and after means nothing changed."""
    con = connect(settings.db, read_only=True)
    try:
        return fingerprint(con)
    finally:
        con.close()
