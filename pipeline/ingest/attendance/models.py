"""The attendance marts: which models build them, and the values those models read.

Staging and intermediate models live only in the connection: temporary tables while the
marts are built (each is read by several marts), temporary views for a quick look such as
the review list. Marts are tables (created by migration ``020_attendance``) refilled from
their model by the runner (:mod:`pipeline.warehouse.runner`). Thresholds come from
:class:`pipeline.config.Settings` through DuckDB variables (``getvariable('youth_min_age')``),
and age groups from the project's bands (:mod:`pipeline.warehouse.age_groups`), so the SQL
holds no number a user may want to change.
"""

from __future__ import annotations

import hashlib

import duckdb

from pipeline.config import Settings
from pipeline.warehouse import runner
from pipeline.warehouse.age_groups import create_age_group_macros

# in dependency order: (model, role); "review" models are views only
ATTENDANCE_MODELS: tuple[tuple[str, str], ...] = (
    ("staging/stg_attendance__events", "step"),
    ("staging/stg_attendance__signins", "step"),
    ("intermediate/int_events_latest", "step"),
    ("intermediate/int_attendance_signins_resolved", "step"),
    ("intermediate/int_attendances_deduplicated", "step"),
    ("intermediate/int_participants_review_pairs", "review"),
    ("marts/events", "mart"),
    ("marts/attendances", "mart"),
    ("marts/participants", "mart"),
    ("marts/cross_entity_ties", "mart"),
)


def set_attendance_variables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Expose the thresholds of ``settings`` to the models as DuckDB variables."""
    values = {
        "youth_min_age": int(settings.youth_min_age),
        "youth_max_age": int(settings.youth_max_age),
        "inter_entity_min_per_side": int(settings.inter_entity_min_per_side),
    }
    for name, value in values.items():
        con.execute(f"set variable {name} = {value:d}")
    con.execute("set variable youth_event_types = $types::varchar[]",
                {"types": list(settings.youth_event_types)})
    create_age_group_macros(con, settings.project)  # the project's bands (spsc.yml age_groups)


def create_attendance_views(
    con: duckdb.DuckDBPyConnection, settings: Settings, upto: str | None = None
) -> None:
    """Create the staging and intermediate models as temporary views of ``con``.

    Args:
        upto: models up to this one (by its name) are made temporary tables instead, when the
            views after it read them several times.
    """
    set_attendance_variables(con, settings)
    as_table = upto is not None
    steps = []
    for model, role in ATTENDANCE_MODELS:
        if role in ("step", "review"):
            steps.append((model, "temp table" if as_table and role == "step" else "temp view"))
        if model.rsplit("/", 1)[-1] == upto:
            as_table = False
    runner.build(con, steps)


MARTS_SOURCE_KEY = "attendance_marts_source"


def marts_source(con: duckdb.DuckDBPyConnection) -> str:
    """What the attendance marts are built from: the loaded events and sign-in batches, as a
    short digest (it changes when a file is loaded or superseded)."""
    rows = con.execute(
        "select batch_id from load_batches where kind in ('attendance', 'events')"
        " and status = 'loaded' order by batch_id"
    ).fetchall()
    text = ",".join(str(r[0]) for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def marts_are_current(con: duckdb.DuckDBPyConnection) -> bool:
    """The attendance marts were built from the batches loaded now (no load since, and no load
    interrupted between its commit and the rebuild)."""
    built = con.execute(
        "select value from warehouse_meta where key = ?", [MARTS_SOURCE_KEY]
    ).fetchall()
    return bool(built) and built[0][0] == marts_source(con)


def build_attendance_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    """Refill every attendance mart from its model (call inside the load's transaction), and
    record which batches they were built from (:func:`marts_are_current`).

    Returns rows per mart.
    """
    set_attendance_variables(con, settings)
    counts = runner.build(con, [(model, "temp table" if role == "step" else "table")
                                for model, role in ATTENDANCE_MODELS if role != "review"])
    con.execute(
        "insert or replace into warehouse_meta (key, value) values (?, ?)",
        [MARTS_SOURCE_KEY, marts_source(con)],
    )
    return counts
