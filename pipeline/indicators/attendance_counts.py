"""Attendance indicators: counts and shares of people and events from the registers, per
quarter, ``cumulative`` (all quarters loaded) and domain (see :mod:`pipeline.indicators.engine`
for the whole build).

Attendance is a register, not a sample: its cells have no se, interval or design columns.
The SQL is in the models (``indicators/attendance_people``, ``attendance_events``,
``cross_entity_ties``); this module gives them the indicator's declaration as plain data
(:func:`attendance_context`) and the filters' values as parameters.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.indicators.catalogue import Catalogue, Indicator
from pipeline.indicators.marts import CUMULATIVE, DIMENSION_COLUMNS, VALUE_COLUMNS
from pipeline.warehouse import runner

# the relation of the people's and events' base rows holding a person filter's column
_PERSON_FILTER_TABLE = {"is_youth": "a", "role": "a", "sex": "p"}


def _filters(mapping: dict, alias_of) -> list[dict]:
    return [{"alias": alias_of(column), "column": column, "value": value} for column, value in mapping.items()]


def attendance_context(ind: Indicator, through: str | None) -> dict:
    """What the attendance models read of one indicator: its filters, dimensions and rule."""
    groupings = [{"dimension": d, "column": DIMENSION_COLUMNS[d]} for d in ind.disaggregations if d != "total"]
    context = {"through": through, "cumulative": CUMULATIVE, "groupings": groupings,
               "ratio": ind.estimator == "ratio"}
    if ind.of == "people":
        context["filters"] = (_filters(ind.event_filter, lambda c: "e")
                              + _filters(ind.person_filter, lambda c: _PERSON_FILTER_TABLE[c]))
        context["min_activities"] = None if ind.min_activities is None else int(ind.min_activities)
        context["numerator"] = _filters(ind.numerator_filter, lambda c: "per_person")
    else:
        context["filters"] = _filters(ind.event_filter, lambda c: "e")
        context["numerator"] = _filters(ind.numerator_filter, lambda c: "periods")
    return context


def _attendance_batches(con: duckdb.DuckDBPyConnection, through: str | None) -> dict[str, list[int]]:
    """period -> the load batches of its events and sign-in sheets (``cumulative``: all)."""
    rows = runner.rows(con, "indicators/attendance_batches", through=through, cumulative=CUMULATIVE)
    return {period: list(ids or []) for period, ids in rows if ids}


def _zero_totals(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, found: pd.DataFrame,
                 through: str | None) -> pd.DataFrame:
    """Explicit zero totals for counts of events and people in periods that had events.

    "Nobody attended 3+ activities this quarter" is a result, not missing data.
    """
    quarters = [q for (q,) in runner.rows(con, "indicators/attendance_quarters", through=through)]
    periods = [*quarters, CUMULATIVE] if quarters else []
    have = set(zip(found["indicator_id"], found["period"], found["dimension"], strict=True))
    rows = [{"indicator_id": ind.id, "period": p, "dimension": "total", "dimension_value": "total",
             "estimate": 0.0, "n": 0}
            for ind in catalogue.indicators
            if not ind.is_survey and ind.unit == "count" and ind.of != "ties"
            for p in periods if (ind.id, p, "total") not in have]
    return pd.DataFrame(rows, columns=["indicator_id", "period", "dimension", "dimension_value",
                                       "estimate", "n"])


def attendance_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, settings: Settings,
                      through: str | None = None) -> pd.DataFrame:
    """All attendance indicators x quarters (+ ``cumulative``) x domains, one query each.

    Args:
        through: only quarters up to this one (``cumulative`` then means "through it").
            Ties come from the ``cross_entity_ties`` mart, which is not cut by quarter, so
            they are left out when ``through`` is given.

    Returns:
        indicator_values rows (not yet suppressed); se and CI are NULL.
    """
    parts = []
    for ind in catalogue.indicators:
        if ind.source != "attendance":
            continue
        if ind.of == "ties":
            if through:
                continue
            part = runner.query(con, "indicators/cross_entity_ties",
                                by_municipality="municipality" in ind.disaggregations)
        else:
            model = "indicators/attendance_people" if ind.of == "people" else "indicators/attendance_events"
            part = runner.query(con, model, **attendance_context(ind, through))
        part = part[part["dimension_value"].notna()]
        part.insert(0, "indicator_id", ind.id)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=[*VALUE_COLUMNS[:9], "batch_ids"])
    out = pd.concat(parts, ignore_index=True)
    # a cell whose dimension value is unknown (NULL) is not published; it stays in the total
    out = out[~((out["dimension"] != "total") & (out["dimension_value"] == "total"))]
    out = pd.concat([out, _zero_totals(con, catalogue, out, through)], ignore_index=True)
    batches = _attendance_batches(con, through)
    out["batch_ids"] = out["period"].map(lambda p: batches.get(p, []))
    for col in ("se", "ci_low", "ci_high", "df", "n_weighted", "deff"):
        out[col] = np.nan
    out["ci_method"] = None
    out["note"] = None
    out["n"] = out["n"].fillna(0).astype("int64")
    return out.reset_index(drop=True)
