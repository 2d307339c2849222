"""Published numbers stay put: snapshots of a reporting period's indicator values.

A report of a quarter shows the indicator cells "as of" that quarter: every survey wave up to
it, every attendance quarter up to it, and attendance counts cumulative through it. Later
loads (a late sign-in sheet, a corrected export) change ``indicator_values`` but must not
silently change a number already sent to the donor. So the first report of a period copies
those cells into ``indicator_snapshots`` (:func:`snapshot_period`), and reports read them
back through :func:`published_values`. :func:`diff_period` lists every cell that would change
if the period were reported again, and which batches cause it; restating (``restate=True``)
takes a new snapshot that replaces the old one as the published version (the old one stays).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import Settings, get_settings
from pipeline.errors import SpscError
from pipeline.indicators.catalogue import QUARTER
from pipeline.warehouse import first_row, transaction

CUMULATIVE = "cumulative"
KEY = ["indicator_id", "period", "dimension", "dimension_value"]
VALUE_COLUMNS = [*KEY, "estimate", "se", "ci_low", "ci_high", "n", "suppressed", "batch_ids"]
NUMBERS = ["estimate", "se", "ci_low", "ci_high"]


def check_period(period: str) -> str:
    """``period`` if it is a quarter like ``2024Q3``, else a one-line error."""
    if not isinstance(period, str) or not QUARTER.match(period):
        raise SpscError(f"'{period}' is not a quarter", "--period", "write it like 2024Q3")
    return period


def _ids(value) -> list[int]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return sorted({int(b) for b in value})


def _built(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, tuple]:
    """The built indicator cells and the build row (built_at, fingerprint, min_cell)."""
    build = first_row(con, "select built_at, fingerprint, min_cell from indicator_builds")
    if build is None:
        raise SpscError("no indicator values yet", "indicator_values", "run 'spsc build' first")
    values = con.execute(f"select {', '.join(VALUE_COLUMNS)} from indicator_values").df()
    return values, build


def current_values(con: duckdb.DuckDBPyConnection, period: str,
                   settings: Settings | None = None) -> pd.DataFrame:
    """The cells a report of ``period`` would show if made now, one row per indicator, period,
    dimension and dimension value (``n`` kept; see :func:`published_values` for what leaves).

    Survey waves and attendance quarters up to ``period``; attendance ``cumulative`` through
    ``period``: the built cumulative cells when ``period`` is the latest quarter with
    attendance data, else recomputed by the engine through ``period`` and suppressed with the
    build's threshold (cross-entity ties are only known cumulatively for the latest quarter).
    """
    from pipeline.indicators.attendance_counts import attendance_values
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.suppression import suppress

    check_period(period)
    values, build = _built(con)
    sources = dict(con.execute("select indicator_id, source from indicator_catalogue").fetchall())
    is_attendance = values["indicator_id"].map(sources).eq("attendance")
    quarterly = values["period"].ne(CUMULATIVE) & values["period"].le(period)
    keep = values[quarterly | (is_attendance & values["period"].eq(CUMULATIVE))]
    attendance_quarters = values.loc[is_attendance & values["period"].ne(CUMULATIVE), "period"]
    latest = attendance_quarters.max() if not attendance_quarters.empty else None
    if latest is not None and period < latest:
        settings = settings or get_settings()
        catalogue = load_catalogue(settings.require_project())
        counts = {i.id for i in catalogue.indicators if i.unit == "count"}
        past = attendance_values(con, catalogue, settings, through=period)
        keep = keep[keep["period"].ne(CUMULATIVE)]
        if not past.empty:  # nothing happened by then: no cumulative cells
            past = suppress(past, int(build[2]), counts)
            keep = pd.concat([keep, past.loc[past["period"].eq(CUMULATIVE), VALUE_COLUMNS]],
                             ignore_index=True)
    out = keep[VALUE_COLUMNS].copy()
    out["batch_ids"] = out["batch_ids"].map(_ids)
    out["suppressed"] = out["suppressed"].astype(bool)
    out["n"] = out["n"].astype("int64")
    return out.sort_values(KEY).reset_index(drop=True)


@dataclass
class Snapshot:
    """One snapshot of a reporting period (a row of ``period_snapshots``)."""

    snapshot_id: int
    period: str
    created_at: datetime
    reason: str
    batch_ids: list[int]
    loaded_batch_ids: list[int]
    built_at: datetime | None
    fingerprint: str | None
    min_cell: int | None


def latest_snapshot(con: duckdb.DuckDBPyConnection, period: str) -> Snapshot | None:
    """The snapshot that holds the published numbers of ``period`` (the newest), or ``None``."""
    row = first_row(
        con, "select snapshot_id, period, created_at, reason, batch_ids, loaded_batch_ids,"
        " built_at, fingerprint, min_cell from period_snapshots where period = ?"
        " order by snapshot_id desc limit 1", [period])
    if row is None:
        return None
    return Snapshot(row[0], row[1], row[2], row[3], _ids(row[4]), _ids(row[5]), row[6], row[7],
                    row[8])


def snapshot_period(con: duckdb.DuckDBPyConnection, period: str, reason: str, *,
                    restate: bool = False, settings: Settings | None = None) -> tuple[int, bool]:
    """Snapshot the cells of ``period`` (one transaction of its own).

    A period already snapshotted keeps its snapshot (its numbers were published) unless
    ``restate``: then a new snapshot replaces it as the published one.

    Returns:
        ``(snapshot_id, created)``.
    """
    check_period(period)
    existing = latest_snapshot(con, period)
    if existing is not None and not restate:
        return existing.snapshot_id, False
    cells = current_values(con, period, settings)
    build = first_row(con, "select built_at, fingerprint, min_cell from indicator_builds")
    loaded = [r[0] for r in con.execute(
        "select batch_id from load_batches where status = 'loaded' order by batch_id").fetchall()]
    behind = sorted({b for ids in cells["batch_ids"] for b in ids})
    now = datetime.now()
    frame = cells.copy()
    frame["batch_ids"] = frame["batch_ids"].map(lambda ids: np.asarray(ids, dtype="int64"))
    con.register("_snapshot_in", frame)
    try:
        with transaction(con):
            snapshot_id = con.execute(
                "insert into period_snapshots (period, created_at, reason, batch_ids,"
                " loaded_batch_ids, built_at, fingerprint, min_cell, restates)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning snapshot_id",
                [period, now, reason, behind, loaded, build[0], build[1], build[2],
                 existing.snapshot_id if existing else None]).fetchall()[0][0]
            from pipeline.cleaning.apply import provenance_json

            con.execute("update period_snapshots set cleaning_logs = ? where snapshot_id = ?",
                        [provenance_json(con), snapshot_id])
            con.execute(
                "insert into indicator_snapshots select ?, ?, ?, indicator_id, period, dimension,"
                " dimension_value, estimate, se, ci_low, ci_high, n, suppressed,"
                " cast(batch_ids as integer[]) from _snapshot_in", [snapshot_id, period, now])
    finally:
        con.unregister("_snapshot_in")
    return snapshot_id, True


def snapshot_values(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> pd.DataFrame:
    """The cells of one snapshot, in the shape of :func:`current_values`."""
    out = con.execute(
        f"select {', '.join(VALUE_COLUMNS)} from indicator_snapshots where snapshot_id = ?",
        [snapshot_id]).df()
    out["batch_ids"] = out["batch_ids"].map(_ids)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out.sort_values(KEY).reset_index(drop=True)


def published_values(con: duckdb.DuckDBPyConnection, period: str, restate: bool = False,
                     settings: Settings | None = None) -> pd.DataFrame:
    """The cells a report of ``period`` publishes: the period's snapshot when there is one
    (unless ``restate``), else the current values. Works on a read-only connection.

    Columns as ``indicator_values_published`` (``n`` NULL where suppressed);
    ``attrs["snapshot_id"]`` names the snapshot read (``None`` for current values).
    """
    check_period(period)
    snap = None if restate else latest_snapshot(con, period)
    cells = snapshot_values(con, snap.snapshot_id) if snap else current_values(con, period, settings)
    cells["n"] = cells["n"].astype("Int64").mask(cells["suppressed"])
    cells.attrs["snapshot_id"] = snap.snapshot_id if snap else None
    return cells


def _same(a, b) -> bool:
    a_na = a is None or (isinstance(a, float) and math.isnan(a))
    b_na = b is None or (isinstance(b, float) and math.isnan(b))
    if a_na or b_na:
        return a_na and b_na
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _shown(row, side: str) -> str:
    """A cell's value as a reader of the report sees it (never a suppressed cell's n)."""
    if row[f"suppressed_{side}"] is None or (isinstance(row[f"suppressed_{side}"], float)):
        return "absent"
    if row[f"suppressed_{side}"]:
        return "suppressed"
    return f"{row[f'estimate_{side}']:.6g} (n {int(row[f'n_{side}'])})"


def diff_period(con: duckdb.DuckDBPyConnection, period: str,
                settings: Settings | None = None) -> tuple[Snapshot, pd.DataFrame]:
    """Every published cell of ``period`` that would change if it were reported now.

    Returns the snapshot and one row per changed cell: ``indicator_id, period, dimension,
    dimension_value, published, now, batches_added, batches_superseded, why``: the batches
    the cell now comes from that were loaded after the snapshot, and the batches it came from
    that have been superseded since; when there are none, the build changed (catalogue or
    threshold) or a reviewer's decision did.

    Raises:
        SpscError: no snapshot of ``period`` yet.
    """
    check_period(period)
    snap = latest_snapshot(con, period)
    if snap is None:
        raise SpscError(f"no snapshot of {period} yet", "period_snapshots",
                        f"report the period (or run 'spsc snapshot --period {period}') first")
    old = snapshot_values(con, snap.snapshot_id)
    new = current_values(con, period, settings)
    both = old.merge(new, on=KEY, how="outer", suffixes=("_old", "_new"), indicator=True)
    batches = {r[0]: r[1:] for r in con.execute(
        "select batch_id, file_name, status, kind from load_batches").fetchall()}
    build = first_row(con, "select fingerprint from indicator_builds")
    decided = first_row(con, "select max(decided_at) from person_decisions")
    cleaning = _cleaning_change(con, snap)
    rows = []
    for row in both.to_dict("records"):
        if row["_merge"] == "both" and _unchanged(row):
            continue
        old_ids = set(row["batch_ids_old"]) if isinstance(row["batch_ids_old"], list) else set()
        new_ids = set(row["batch_ids_new"]) if isinstance(row["batch_ids_new"], list) else set()
        added = sorted(b for b in new_ids - old_ids if b not in set(snap.loaded_batch_ids))
        gone = sorted(b for b in old_ids - new_ids if batches.get(b, (None, None))[1] != "loaded")
        rows.append({
            **{k: row[k] for k in KEY},
            "published": _shown(row, "old"), "now": _shown(row, "new"),
            "batches_added": added, "batches_superseded": gone,
            "why": "; ".join(x for x in (cleaning, _why(added, gone, batches, snap, build, decided)
                                         if not cleaning or added or gone else None) if x),
        })
    columns = [*KEY, "published", "now", "batches_added", "batches_superseded", "why"]
    return snap, pd.DataFrame(rows, columns=columns)


def _cleaning_change(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> str | None:
    """Which cleaning logs differ from those the snapshot was made with (``None``: the same)."""
    import json

    from pipeline.cleaning.apply import provenance

    row = first_row(con, "select cleaning_logs from period_snapshots where snapshot_id = ?", [snap.snapshot_id])
    then = {(c["file"], c["sha256"], c["applied"]) for c in json.loads(row[0])} if row and row[0] else set()
    now = {(c["file"], c["sha256"], c["applied"]) for c in provenance(con)}
    if then == now:
        return None
    parts = [f"{f} (sha256 {s[:12]}, {a} applied)" for f, s, a in sorted(now - then)]
    gone = [f"{f} (sha256 {s[:12]})" for f, s, _ in sorted(then - now)]
    text = "cleaning logs since the snapshot: " + (", ".join(parts) or "none")
    return text + (f"; no longer applied: {', '.join(gone)}" if gone else "")


def _unchanged(row: dict) -> bool:
    if bool(row["suppressed_old"]) != bool(row["suppressed_new"]):
        return False
    if row["suppressed_old"]:
        return True  # both hidden: nothing a reader sees changes
    return all(_same(row[f"{c}_old"], row[f"{c}_new"]) for c in [*NUMBERS, "n"])


def _why(added: list[int], gone: list[int], batches: dict, snap: Snapshot,
         build: tuple | None, decided: tuple | None) -> str:
    """Which batches make a cell change: loaded since the snapshot, superseded since, or the
    build's settings or a reviewer's decision when no batch is new or gone."""

    def name(b: int) -> str:
        file_name, status, kind = batches.get(b, ("?", "missing", "?"))
        return f"batch {b} {file_name} ({kind}, {status})"

    parts = []
    if added:
        parts.append("loaded since: " + ", ".join(name(b) for b in added))
    if gone:
        parts.append("superseded since: " + ", ".join(name(b) for b in gone))
    if not parts:
        if build is not None and build[0] != snap.fingerprint:
            parts.append("the indicator catalogue or the small-cell threshold changed")
        elif decided is not None and decided[0] is not None and decided[0] > snap.created_at:
            parts.append("a reviewer decided on person pairs since (spsc review persons)")
        else:
            parts.append("no batch loaded or superseded since: the marts were rebuilt with"
                         " other settings")
    return "; ".join(parts)
