"""``spsc check``: is the warehouse whole and consistent?

Every check is a query that returns the offending rows; a healthy warehouse returns none.
What is checked:

- the ledger: no batch left ``loading`` (a load killed mid-way must leave nothing), statuses
  known, rows read = loaded + quarantined + blank for every loaded batch;
- rows present per batch equal the ledger's counts where the grain allows (sign-ins,
  events, survey submissions and repeat instances, codebook rows, quarantined rows and
  cells);
- no orphans: every staged or quarantined row belongs to a batch that was loaded;
- keys between marts: attendances -> participants and events, respondents -> current survey
  submissions, batch ids of marts, indicator cells and snapshots -> load_batches;
- the grain of the marts (one row per key) and attendance marts built from the batches
  loaded now.

Notes (printed, not failures): indicator values older than the latest load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from pipeline.warehouse import first_row

STATUSES = ("registered", "loading", "loaded", "superseded", "rejected", "replaced")
LOADED = "('loaded', 'superseded')"  # batches whose rows are (still) in the staging tables


@dataclass
class Report:
    """What :func:`check_warehouse` found: ``problems`` fail the check, ``notes`` do not."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables and views of the warehouse's main schema."""
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}


def _sample(rows: list[tuple], limit: int = 3) -> str:
    shown = ", ".join(str(r[0] if len(r) == 1 else r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


# (tables needed, name, SQL returning offending rows, message with {n} and {sample})
_QUERIES: list[tuple[tuple[str, ...], str, str]] = [
    (("load_batches",),
     "select batch_id, file_name from load_batches where status = 'loading'",
     "load_batches: {n} batches left in status 'loading' (an interrupted load): {sample}"),
    (("load_batches",),
     f"select batch_id, status from load_batches where status not in {STATUSES}",
     "load_batches: {n} batches with an unknown status: {sample}"),
    (("load_batches",),
     "select batch_id, file_name from load_batches where status in ('loaded', 'superseded') and"
     " (rows_read is null or rows_read <> coalesce(rows_loaded, 0) + coalesce(rows_quarantined, 0)"
     " + coalesce(rows_blank, 0))",
     "load_batches: {n} loaded batches whose rows read != loaded + quarantined + blank: {sample}"),
    (("load_batches", "raw_signins"),
     "with present as (select batch_id, count(*) as n from raw_signins group by batch_id)"
     " select b.batch_id, b.rows_loaded, coalesce(p.n, 0) from load_batches b"
     f" left join present p using (batch_id) where b.kind = 'attendance' and b.status in {LOADED}"
     " and b.rows_loaded <> coalesce(p.n, 0)",
     "raw_signins: {n} attendance batches whose sign-ins present differ from rows_loaded"
     " (batch, ledger, present): {sample}"),
    (("load_batches", "raw_events"),
     "with present as (select batch_id, count(*) as n from raw_events group by batch_id)"
     " select b.batch_id, b.rows_loaded, coalesce(p.n, 0) from load_batches b"
     f" left join present p using (batch_id) where b.kind = 'events' and b.status in {LOADED}"
     " and b.rows_loaded <> coalesce(p.n, 0)",
     "raw_events: {n} events batches whose events present differ from rows_loaded"
     " (batch, ledger, present): {sample}"),
    (("load_batches", "stg_survey__submissions", "stg_survey__repeat_instances"),
     "with subs as (select batch_id, count(*) as n from stg_survey__submissions group by all),"
     " reps as (select batch_id, count(*) as n from stg_survey__repeat_instances group by all)"
     " select b.batch_id, b.rows_loaded, coalesce(s.n, 0) + coalesce(r.n, 0) from load_batches b"
     " left join subs s using (batch_id) left join reps r using (batch_id)"
     f" where b.kind = 'survey' and b.status in {LOADED}"
     " and b.rows_loaded <> coalesce(s.n, 0) + coalesce(r.n, 0)",
     "stg_survey__submissions: {n} survey batches whose submissions and repeat rows present"
     " differ from rows_loaded (batch, ledger, present): {sample}"),
    (("load_batches", "stg_codebook__questions", "stg_codebook__choices"),
     "with q as (select batch_id, count(*) as n from stg_codebook__questions group by all),"
     " c as (select batch_id, count(*) as n from stg_codebook__choices group by all)"
     " select b.batch_id, b.rows_loaded, coalesce(q.n, 0) + coalesce(c.n, 0) from load_batches b"
     " left join q using (batch_id) left join c using (batch_id)"
     f" where b.kind = 'xlsform' and b.status in {LOADED}"
     " and b.rows_loaded <> coalesce(q.n, 0) + coalesce(c.n, 0)",
     "stg_codebook__questions: {n} form batches whose codebook rows present differ from"
     " rows_loaded (batch, ledger, present): {sample}"),
    (("load_batches", "quarantine"),
     "with present as (select batch_id, count(distinct (sheet, source_row)) as n from quarantine"
     " where coalesce(action, 'row') = 'row' group by batch_id)"
     " select b.batch_id, b.rows_quarantined, coalesce(p.n, 0) from load_batches b"
     f" left join present p using (batch_id) where b.status in {LOADED}"
     " and b.kind in ('attendance', 'events', 'survey')"
     " and coalesce(b.rows_quarantined, 0) <> coalesce(p.n, 0)",
     "quarantine: {n} batches whose quarantined rows present differ from rows_quarantined"
     " (batch, ledger, present): {sample}"),
    (("load_batches", "quarantine"),
     "with present as (select batch_id, count(*) as n from quarantine where action = 'cell'"
     " group by batch_id)"
     " select b.batch_id, b.cells_quarantined, coalesce(p.n, 0) from load_batches b"
     f" left join present p using (batch_id) where b.status in {LOADED} and b.kind = 'survey'"
     " and coalesce(b.cells_quarantined, 0) <> coalesce(p.n, 0)",
     "quarantine: {n} batches whose cells loaded as missing differ from cells_quarantined"
     " (batch, ledger, present): {sample}"),
    (("attendances", "participants"),
     "select distinct person_key from attendances anti join participants using (person_key)",
     "attendances: {n} person keys not in participants: {sample}"),
    (("attendances", "events"),
     "select distinct event_id from attendances anti join events using (event_id)",
     "attendances: {n} event ids not in events: {sample}"),
    (("respondents", "stg_survey__submissions"),
     "select respondent_key, wave, form_id from respondents r where not exists (select 1 from"
     " stg_survey__submissions s where s.is_current and s.respondent_key = r.respondent_key"
     " and s.wave = r.wave and s.form_id = r.form_id)",
     "respondents: {n} without a current submission (run 'spsc build'): {sample}"),
    (("indicator_values", "load_batches"),
     "select distinct b from (select unnest(batch_ids) as b from indicator_values)"
     " where b not in (select batch_id from load_batches)",
     "indicator_values: {n} batch ids not in load_batches: {sample}"),
    (("indicator_snapshots", "load_batches"),
     "select distinct b from (select unnest(batch_ids) as b from indicator_snapshots)"
     " where b not in (select batch_id from load_batches)",
     "indicator_snapshots: {n} batch ids not in load_batches: {sample}"),
    (("indicator_snapshots", "period_snapshots"),
     "select distinct snapshot_id from indicator_snapshots anti join period_snapshots"
     " using (snapshot_id)",
     "indicator_snapshots: {n} cells of snapshots not in period_snapshots: {sample}"),
    (("respondents", "participants", "events", "attendances"),
     "select 'respondents', respondent_key, wave, form_id from respondents"
     " group by all having count(*) > 1"
     " union all select 'participants', person_key, null, null from participants"
     " group by all having count(*) > 1"
     " union all select 'events', event_id, null, null from events group by all having count(*) > 1"
     " union all select 'attendances', person_key, event_id, null from attendances"
     " group by all having count(*) > 1",
     "marts: {n} keys held twice (table, key): {sample}"),
    (("indicator_values",),
     "select indicator_id, period, dimension, dimension_value from indicator_values"
     " group by all having count(*) > 1",
     "indicator_values: {n} cells held twice: {sample}"),
]

# (table, batch column, statuses its rows may belong to)
_OWNED_ROWS: list[tuple[str, str, str]] = [
    ("raw_signins", "batch_id", LOADED),
    ("raw_events", "batch_id", LOADED),
    ("quarantine", "batch_id", LOADED),
    ("stg_survey__submissions", "batch_id", LOADED),
    ("stg_survey__repeat_rows", "batch_id", LOADED),
    ("stg_codebook__questions", "batch_id", LOADED),
    ("stg_codebook__choices", "batch_id", LOADED),
    ("person_registry", "first_batch_id", LOADED),
    ("respondents", "batch_id", "('loaded')"),
    ("events", "batch_id", "('loaded')"),
    ("attendances", "batch_id", "('loaded')"),
]


def check_warehouse(con: duckdb.DuckDBPyConnection) -> Report:
    """Run every check whose tables exist; returns problems and notes, one line each."""
    report = Report()
    have = tables(con)
    for needed, sql, message in _QUERIES:
        if not set(needed) <= have:
            continue
        report.checks += 1
        rows = con.execute(sql).fetchall()
        if rows:
            report.problems.append(message.format(n=len(rows), sample=_sample(rows)))
    for table, column, statuses in _OWNED_ROWS:
        if table not in have or "load_batches" not in have:
            continue
        report.checks += 1
        rows = con.execute(
            f"select {column}, count(*) from {table} t where {column} is not null and not exists"
            f" (select 1 from load_batches b where b.batch_id = t.{column}"
            f" and b.status in {statuses}) group by all order by 1").fetchall()
        if rows:
            report.problems.append(
                f"{table}: rows of {len(rows)} batches that are not loaded (orphans;"
                f" batch, rows): {_sample(rows)}")
    for name, check in _EXTRA_CHECKS:
        if name <= have:
            report.checks += 1
            check(con, report)
    return report


def _attendance_marts_current(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    from pipeline.ingest.attendance.models import marts_are_current

    loaded = first_row(con, "select count(*) from load_batches where kind in"
                            " ('attendance', 'events') and status = 'loaded'")
    if loaded and loaded[0] and not marts_are_current(con):
        report.problems.append(
            "attendance marts: not built from the batches loaded now (a load interrupted"
            " before its rebuild?); run 'spsc ingest attendance' again on any of its files")


def _indicators_current(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    row = first_row(
        con, "select b.built_at, max(l.finished_at) from indicator_builds b, load_batches l"
             " where l.status = 'loaded' and l.kind <> 'xlsform' group by b.built_at")
    if row and row[1] is not None and row[0] < row[1]:
        report.notes.append(
            f"indicator_values were built at {row[0]:%Y-%m-%d %H:%M}, before the latest load"
            f" ({row[1]:%Y-%m-%d %H:%M}); run 'spsc build' to include it")


_EXTRA_CHECKS: list[tuple[set[str], Callable[[duckdb.DuckDBPyConnection, Report], None]]] = [
    ({"load_batches", "warehouse_meta", "attendances"}, _attendance_marts_current),
    ({"load_batches", "indicator_builds"}, _indicators_current),
]


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Every base table's row count and an order-independent hash of its contents.

    Two equal fingerprints mean the tables hold the same rows (a rejected file must leave
    the warehouse exactly as it was).
    """
    names = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
        " and table_type = 'BASE TABLE' order by 1").fetchall()]
    out = {}
    for name in names:
        count, digest = con.execute(
            f'select count(*), coalesce(sum(hash(cast(t as varchar))::hugeint), 0) from "{name}" t'
        ).fetchall()[0]
        out[name] = (int(count), int(digest))
    return out
