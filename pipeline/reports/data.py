"""What the reports read from the warehouse (read-only), and nothing else.

Published numbers come only from ``indicator_values`` and ``indicator_changes``, which the
engine has already suppressed. The other marts are read for what is not a statistic: the list
of activities held, the municipality pairs the ties map draws, the load batches behind the
numbers and the quarantine's reasons.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.errors import SpscError
from pipeline.warehouse import open_published

QUARTER = re.compile(r"^\d{4}Q[1-4]$")
CUMULATIVE = "cumulative"


def check_period(period: str) -> str:
    """``period`` if it is a quarter like ``2024Q4``, else a one-line error."""
    if not isinstance(period, str) or not QUARTER.match(period):
        raise SpscError(f"'{period}' is not a quarter", "--period", "write it like 2024Q4")
    return period


def open_warehouse(path: Path | str) -> duckdb.DuckDBPyConnection:
    """The published read copy of the warehouse at ``path``, read-only: any number of
    reports and notebooks read it at once, and never wait for (nor hold up) a load."""
    return open_published(path)


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?",
                            [table]).fetchall()[0][0])


def _require(con: duckdb.DuckDBPyConnection, table: str, hint: str) -> None:
    if not _table_exists(con, table):
        raise SpscError(f"the warehouse has no {table} table", table, hint)


def indicator_values(con: duckdb.DuckDBPyConnection, period: str | None = None) -> pd.DataFrame:
    """Every published cell: one row per indicator, period, dimension and dimension value.

    With ``period``, the cells a report of that period publishes: its snapshot when the
    period has been reported before (published numbers stay put), else the current values,
    with attendance ``cumulative`` counted through ``period``
    (:func:`pipeline.checks.snapshots.published_values`). ``n`` is blanked where a cell is
    suppressed (it must not leave the warehouse).
    """
    _require(con, "indicator_values", "run 'spsc build' to compute the indicators")
    if period is not None:
        from pipeline.checks.snapshots import published_values

        frame = published_values(con, period)
        frame["n"] = frame["n"].astype("float64")
        return frame
    frame = con.execute(
        "select indicator_id, period, dimension, dimension_value, estimate, se, ci_low, ci_high,"
        " case when suppressed then null else n end as n, suppressed, batch_ids"
        " from indicator_values").df()
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame


def indicator_changes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per survey indicator and dimension value: baseline vs latest wave."""
    _require(con, "indicator_changes", "run 'spsc build' to compute the indicators")
    frame = con.execute("select * from indicator_changes").df()
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame


def changes_through(values: pd.DataFrame, changes: pd.DataFrame, period: str, catalogue) -> pd.DataFrame:
    """Baseline against the latest survey wave up to ``period``.

    The engine's ``indicator_changes`` compare the baseline with the latest wave loaded; for an
    earlier quarter the engine's own :func:`~pipeline.indicators.engine.compute_changes` is run
    on the published cells up to it, so there is still one formula for a change.
    """
    if changes.empty or (changes["latest_period"] <= period).all():
        return changes
    from pipeline.indicators.engine import compute_changes

    upto = values[(values["period"] != CUMULATIVE) & (values["period"] <= period)]
    out = compute_changes(upto, catalogue)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out


def build_min_cell(con: duckdb.DuckDBPyConnection) -> int | None:
    """The small-cell threshold of the last ``spsc build`` (``None`` when not recorded)."""
    have = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_name = 'indicator_builds'"
    ).fetchall()}
    if "min_cell" not in have:
        return None
    rows = con.execute("select min_cell from indicator_builds").fetchall()
    return int(rows[0][0]) if rows else None


def municipality_names(con: duckdb.DuckDBPyConnection, lang: str = "en") -> dict[str, str]:
    """muni_id -> the name to print: Cyrillic in Serbian (``Мркоњић Град``), else Latin with
    diacritics (``Mrkonjić Grad``)."""
    from pipeline.lang import place_name

    rows = con.execute("select muni_id, name, name_cyr from ref_municipalities").fetchall()
    return {m: place_name(name, cyr, lang) for m, name, cyr in rows}


def project_municipalities(con: duckdb.DuckDBPyConnection, area: tuple[str, ...]) -> list[str]:
    """The project's municipality ids (its ``spsc.yml`` area), in the order of their names."""
    names = municipality_names(con)
    return sorted(area, key=lambda m: names.get(m, m))


def dimension_labels(con: duckdb.DuckDBPyConnection, catalogue, project) -> dict[str, dict]:
    """The breakdowns by a form's own question: dimension -> ``{"label": {lang: text},
    "values": {choice: {lang: text}}, "order": [choice, ...]}`` from the codebook."""
    from pipeline.indicators.sources import STANDARD_DIMENSIONS, read_codebooks

    books = read_codebooks(con)
    out: dict[str, dict] = {}
    for ind in catalogue.indicators:
        book = books.get(ind.source)
        if book is None:
            continue
        for dim in ind.disaggregations:
            if dim in STANDARD_DIMENSIONS:
                continue
            q, _ = book.find(dim)
            if q is None:
                continue
            labels = book.choices.get(q.list_name or "", {})
            out[book.dimension_name(q)] = {
                "label": {"en": q.label_en or q.name, "bs": q.label_bs or q.label_en or q.name},
                "values": labels, "order": list(labels)}
    return out


def has_events(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds any event (the project records attendance)."""
    return _table_exists(con, "events") and bool(con.execute("select count(*) from events").fetchall()[0][0])


def events_held(con: duckdb.DuckDBPyConnection, period: str, muni_id: str | None = None) -> pd.DataFrame:
    """One row per activity held in ``period`` (optionally one municipality took part).

    Columns: event_id, date, muni_id (host), muni_ids, event_type, is_youth_event,
    is_inter_entity, batch_id. No participant counts: people are published only as
    suppressed indicator cells.
    """
    if not _table_exists(con, "events"):
        return pd.DataFrame(columns=["event_id", "date", "muni_id", "muni_ids", "event_type",
                                     "is_youth_event", "is_inter_entity", "batch_id"])
    sql = ("select event_id, date, muni_id, muni_ids, event_type, is_youth_event, is_inter_entity,"
           " batch_id from events where quarter = ?")
    params: list = [period]
    if muni_id:
        sql += " and list_contains(muni_ids, ?)"
        params.append(muni_id)
    return con.execute(sql + " order by date, event_id", params).df()


def ties(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``cross_entity_ties`` as the ties map reads it (all periods)."""
    if not _table_exists(con, "cross_entity_ties"):
        return pd.DataFrame(columns=["period", "muni_id_a", "muni_id_b", "entity_a", "entity_b",
                                     "n_ties"])
    return con.execute("select * from cross_entity_ties").df()


def quarantine_by_rule(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Quarantined cells of the files of ``period`` (batches whose wave is the period), by rule.

    Columns: rule, reason (one example), cells, files.
    """
    return con.execute(
        "select q.rule, min(q.reason) as reason, count(*) as cells,"
        " count(distinct q.batch_id) as files"
        " from quarantine as q join load_batches as b using (batch_id)"
        " where b.wave = ? group by q.rule order by cells desc, q.rule", [period]).df()


def quarantine_files(con: duckdb.DuckDBPyConnection, period: str) -> int:
    """How many files of ``period`` had cells quarantined."""
    return int(con.execute(
        "select count(distinct q.batch_id) from quarantine as q join load_batches as b"
        " using (batch_id) where b.wave = ?", [period]).fetchall()[0][0])


def batch_ids_of_events(frame: pd.DataFrame) -> set[int]:
    """The load batches behind a frame with a ``batch_id`` column."""
    return {int(b) for b in frame.get("batch_id", pd.Series(dtype="Int64")).dropna()}
