"""``spsc init``: create or migrate the warehouse, load reference data, bind the secret."""

from __future__ import annotations

import hmac
from hashlib import sha256

import duckdb
import pandas as pd

from pipeline import reference
from pipeline.config import Settings
from pipeline.errors import SecretMissing
from pipeline.privacy import load_secret
from pipeline.warehouse.db import connect, first_row, migrate, transaction


def secret_fingerprint(secret: bytes) -> str:
    """A value that identifies the secret without revealing it."""
    return hmac.new(secret, b"spsc-secret-fingerprint", sha256).hexdigest()[:24]


def bound_secret(settings: Settings, con: duckdb.DuckDBPyConnection) -> bytes:
    """The secret this warehouse's pseudonyms were made with.

    Creates the secret on first use. Refuses (:class:`SecretMissing`) when the warehouse
    already recorded a secret and the local one is missing or different: new pseudonyms
    would silently break the links between quarters.
    """
    row = first_row(con, "select value from warehouse_meta where key = 'secret_fingerprint'")
    secret = load_secret(settings.secret_path, must_exist=row is not None)
    fp = secret_fingerprint(secret)
    if row is None:
        con.execute("insert into warehouse_meta values ('secret_fingerprint', ?)", [fp])
    elif row[0] != fp:
        raise SecretMissing(
            "the pseudonymisation secret is not the one this warehouse was built with",
            str(settings.secret_path),
            "restore the original secret (a new one would break the links between quarters)")
    return secret


def reference_fingerprint(*frames: pd.DataFrame) -> str:
    """Identifies the packaged reference tables' content."""
    h = sha256()
    for frame in frames:
        h.update(",".join(frame.columns).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:24]


def load_reference(con: duckdb.DuckDBPyConnection, area: tuple[str, ...] = ()) -> bool:
    """Replace the reference tables with the packaged CSVs (one transaction) unless they hold
    them already: an unchanged warehouse stays unchanged, and no read copy is published for
    nothing. ``is_project`` marks the project's area. Returns whether they were replaced."""
    municipalities, census = reference.with_area(area), reference.census()
    fp = reference_fingerprint(municipalities, census)
    row = first_row(con, "select value from warehouse_meta where key = 'reference_fingerprint'")
    if row is not None and row[0] == fp:
        return False
    con.register("_ref_municipalities", municipalities)
    con.register("_ref_census", census)
    try:
        with transaction(con):
            con.execute("delete from ref_municipalities")
            con.execute("insert into ref_municipalities by name select * from _ref_municipalities")
            con.execute("delete from ref_census")
            con.execute("insert into ref_census by name select * from _ref_census")
            con.execute("insert or replace into warehouse_meta (key, value)"
                        " values ('reference_fingerprint', ?)", [fp])
    finally:
        con.unregister("_ref_municipalities")
        con.unregister("_ref_census")
    return True


def mark_project_area(con: duckdb.DuckDBPyConnection, area: tuple[str, ...]) -> None:
    """Mark the project's municipalities in ``ref_municipalities`` (``is_project``)."""
    con.execute("update ref_municipalities set is_project = list_contains(?, muni_id)", [list(area)])


def project_area(settings: Settings) -> tuple[str, ...]:
    """The municipality ids of the settings' project (none without a project)."""
    return settings.project.area if settings.project is not None else ()


def init_warehouse(settings: Settings, wait: float | None = None) -> list[str]:
    """Create or migrate the warehouse at ``settings.db``; returns the migrations applied.

    ``wait``: seconds to wait for another writer (default: the ``write_wait`` setting).
    Closing publishes the read copy when anything changed.
    """
    con = connect(settings.db, wait=settings.write_wait if wait is None else wait)
    try:
        applied = migrate(con)
        load_reference(con, project_area(settings))
        bound_secret(settings, con)
    finally:
        con.close()
    return applied
