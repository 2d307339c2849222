"""The indicator marts: their columns, and writing them.

``indicator_values``, ``indicator_changes``, ``indicator_gaps``, ``indicator_catalogue`` and
``indicator_builds`` are refilled together, in one transaction, from their models in
``pipeline/warehouse/models/marts`` (which read the frames the engine computed, registered as
``_values_in`` and so on) by the runner (:mod:`pipeline.warehouse.runner`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import duckdb
import pandas as pd

from pipeline.indicators.catalogue import Catalogue
from pipeline.warehouse import runner, transaction

# the standard dimensions -> the column holding their values
DIMENSION_COLUMNS = {"total": None, "sex": "sex", "age_group": "age_group",
                     "municipality": "muni_id", "entity": "entity"}
VALUE_COLUMNS = ["indicator_id", "period", "dimension", "dimension_value", "estimate", "se",
                 "ci_low", "ci_high", "n", "suppressed", "batch_ids", "df", "n_weighted", "deff",
                 "ci_method", "note"]
# the design columns of a survey cell (NULL for attendance)
PRECISION_COLUMNS = ["df", "n_weighted", "deff", "ci_method", "note"]
CHANGE_COLUMNS = ["indicator_id", "dimension", "dimension_value", "baseline_period",
                  "latest_period", "baseline_estimate", "latest_estimate", "change", "se",
                  "ci_low", "ci_high", "p_value", "significant", "suppressed"]
OUTPUT_TABLES = ("indicator_values", "indicator_changes", "indicator_gaps", "indicator_catalogue",
                 "indicator_builds")
CUMULATIVE = "cumulative"
GAPS = (("sex", "female", "male"), ("entity", "FBiH", "RS"))  # dimension, first, second
GAP_COLUMNS = ["indicator_id", "period", "dimension", "first", "second", "estimate_first",
               "estimate_second", "gap", "se", "df", "ci_low", "ci_high", "p_value", "significant",
               "suppressed"]


CATALOGUE_COLUMNS = ["indicator_id", "result", "level", "label_en", "label_bs", "source", "estimator",
                     "unit", "illustrative", "position"]


def catalogue_rows(catalogue: Catalogue) -> pd.DataFrame:
    """One row per indicator: the labels and units SQL readers need beside the numbers (a new
    project's empty catalogue gives no row, with the columns)."""
    return pd.DataFrame([(
        i.id, i.result, i.level or "", i.label.en, i.label.bs, i.source, i.estimator, i.display_unit,
        i.illustrative, k,
    ) for k, i in enumerate(catalogue.indicators)], columns=CATALOGUE_COLUMNS)


def write_indicators(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, changes: pd.DataFrame,
                     catalogue: Catalogue, min_cell: int, gaps: pd.DataFrame | None = None) -> None:
    """Replace the indicator marts in one transaction: readers see the old or the new, never a mix."""
    if values.duplicated(["indicator_id", "period", "dimension", "dimension_value"]).any():
        raise AssertionError("indicator_values would hold a cell twice")
    frame = values[VALUE_COLUMNS].copy()
    frame["n"] = frame["n"].astype("int64")
    for col in ("df", "n_weighted", "deff"):
        frame[col] = frame[col].astype("float64")
    for col in ("ci_method", "note"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    change_frame = changes[CHANGE_COLUMNS].copy()
    cat = catalogue_rows(catalogue)
    gap_frame = (pd.DataFrame(columns=GAP_COLUMNS) if gaps is None else gaps[GAP_COLUMNS]).copy()
    for col in GAP_COLUMNS[5:-2]:
        gap_frame[col] = gap_frame[col].astype("float64")
    gap_frame["significant"] = gap_frame["significant"].astype("boolean")
    gap_frame["suppressed"] = gap_frame["suppressed"].astype(bool)
    con.register("_gaps_in", gap_frame)
    con.register("_values_in", frame)
    con.register("_changes_in", change_frame)
    con.register("_catalogue_in", cat)
    try:
        with transaction(con):
            for table in ("indicator_values", "indicator_changes", "indicator_gaps", "indicator_catalogue"):
                runner.refill(con, table)
            runner.refill(con, "indicator_builds", params={
                "built_at": datetime.now(), "fingerprint": catalogue_fingerprint(catalogue, min_cell),
                "min_cell": int(min_cell), "n_values": len(frame), "n_suppressed": int(frame["suppressed"].sum())})
    finally:
        for name in ("_values_in", "_changes_in", "_catalogue_in", "_gaps_in"):
            con.unregister(name)


def catalogue_fingerprint(catalogue: Catalogue, min_cell: int) -> str:
    """Identifies what a build was made with (the catalogue's content and the threshold)."""
    text = catalogue.model_dump_json() + f"|min_cell={min_cell}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
