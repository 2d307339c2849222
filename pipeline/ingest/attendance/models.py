"""Building the attendance marts from the SQL models in ``pipeline/warehouse/models``.

Staging and intermediate models live only in the connection: temporary tables while the
marts are built (each is read by several marts), temporary views for a quick look such as
the review list. Marts are tables (created by migration ``020_attendance``) refilled from
their model. Thresholds come from
:class:`pipeline.config.Settings` through DuckDB variables (``getvariable('youth_min_age')``),
and age groups from the project's bands (:mod:`pipeline.warehouse.age_groups`), so the SQL
holds no number a user may want to change.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import duckdb

from pipeline.config import Settings
from pipeline.warehouse.age_groups import create_age_group_macros

# in dependency order: (layer, model name, materialisation); "review" models are views only
ATTENDANCE_MODELS: tuple[tuple[str, str, str], ...] = (
    ("staging", "stg_attendance__events", "view"),
    ("staging", "stg_attendance__signins", "view"),
    ("intermediate", "int_events_latest", "view"),
    ("intermediate", "int_attendance_signins_resolved", "view"),
    ("intermediate", "int_attendances_deduplicated", "view"),
    ("intermediate", "int_participants_review_pairs", "review"),
    ("marts", "events", "table"),
    ("marts", "attendances", "table"),
    ("marts", "participants", "table"),
    ("marts", "cross_entity_ties", "table"),
)

def model_sql(layer: str, name: str) -> str:
    """The SQL text of one model, by layer and name."""
    path = resources.files("pipeline.warehouse").joinpath("models", layer, f"{name}.sql")
    return path.read_text(encoding="utf-8")


def set_attendance_variables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Expose the thresholds of ``settings`` to the models as DuckDB variables."""
    values = {
        "youth_min_age": int(settings.youth_min_age),
        "youth_max_age": int(settings.youth_max_age),
        "inter_entity_min_per_side": int(settings.inter_entity_min_per_side),
    }
    for name, value in values.items():
        con.execute(f"set variable {name} = {value:d}")
    types = ", ".join("'" + t.replace("'", "''") + "'" for t in settings.youth_event_types)
    con.execute(f"set variable youth_event_types = [{types}]::varchar[]")
    create_age_group_macros(con, settings.project)  # the project's bands (spsc.yml age_groups)


def create_attendance_views(
    con: duckdb.DuckDBPyConnection, settings: Settings, upto: str | None = None
) -> None:
    """Create the staging and intermediate models as temporary views of ``con``.

    Args:
        upto: models up to this one are made temporary tables instead, when the views
            after it read them several times.
    """
    set_attendance_variables(con, settings)
    as_table = upto is not None
    for layer, name, kind in ATTENDANCE_MODELS:
        if kind in ("view", "review"):
            _drop_temp(con, name)
            what = "table" if as_table and kind == "view" else "view"
            con.execute(f"create temp {what} {name} as {model_sql(layer, name)}")
        if name == upto:
            as_table = False


def _drop_temp(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a model's temporary view or table of an earlier build in this connection."""
    kinds = con.execute(
        "select 'table' from duckdb_tables() where temporary and table_name = $1"
        " union all select 'view' from duckdb_views() where temporary and view_name = $1",
        [name],
    ).fetchall()
    for (kind,) in kinds:
        con.execute(f"drop {kind} temp.{name}")


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
    for layer, name, kind in ATTENDANCE_MODELS:
        if kind == "view":
            _drop_temp(con, name)
            con.execute(f"create temp table {name} as {model_sql(layer, name)}")
    counts = {}
    for layer, name, kind in ATTENDANCE_MODELS:
        if kind != "table":
            continue
        con.execute(f"delete from main.{name}")
        con.execute(f"insert into main.{name} by name select * from ({model_sql(layer, name)})")
        counts[name] = con.execute(f"select count(*) from main.{name}").fetchall()[0][0]
    con.execute(
        "insert or replace into warehouse_meta (key, value) values (?, ?)",
        [MARTS_SOURCE_KEY, marts_source(con)],
    )
    return counts
