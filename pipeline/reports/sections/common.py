"""Cells as readers see them and the small helpers every section uses."""

from __future__ import annotations

import math

import pandas as pd

from pipeline.reports import data
from pipeline.reports.report import Report
from pipeline.reports.text import interval, number, suppressed_text, t, value

HEADLINE_MAX = 6
DIMENSION_ORDER = ("total", "sex", "age_group", "entity", "municipality")
VALUE_ORDER = {"sex": ("female", "male"), "entity": ("FBiH", "RS", "BD")}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def shown_cell(rep: Report, row: pd.Series | None, unit: str, with_ci: bool = True) -> str:
    """A cell as readers see it: ``47% (43–51%)``, ``n < 10`` or empty when there is none."""
    if row is None:
        return ""
    if bool(row["suppressed"]):
        return suppressed_text(rep.lang, rep.min_cell)
    if _missing(row["estimate"]):
        return ""
    text = value(float(row["estimate"]), unit, rep.lang)
    ci = interval(row["ci_low"], row["ci_high"], unit, rep.lang) if with_ci else ""
    return f"{text} ({ci})" if ci else text


def _num(row: pd.Series | None, column: str = "estimate") -> float | None:
    if row is None or bool(row.get("suppressed", False)) or _missing(row[column]):
        return None
    return float(row[column])


def _signed(x: float, unit: str, lang: str) -> str:
    """A change with its sign, in points for percentages: ``+9``, ``-0.3``."""
    text = number(x, lang, 0 if unit == "percent" else 1)
    return text if text.startswith("-") or text.strip("0,.") == "" else "+" + text


def _value_period(rep: Report, indicator_id: str) -> tuple[str | None, str]:
    """The period of a municipality's current value and its label: the latest survey wave,
    or for attendance the cumulative cells when they run to this quarter, else the quarter."""
    ind = rep.catalogue.get(indicator_id)
    if not ind.is_survey and rep.cumulative_available(indicator_id):
        return data.CUMULATIVE, t("cumulative_to", rep.lang, period=rep.period)
    period = rep.reported_period(indicator_id)
    return period, period or ""


def _municipality_cells(rep: Report, indicator_id: str, period: str) -> pd.DataFrame:
    rows = rep.cells(indicator_id, period, "municipality").copy()
    rows["label"] = [rep.names.get(v, v) for v in rows["dimension_value"]]
    rows["key"] = rows["dimension_value"]
    return rows.sort_values("label")
