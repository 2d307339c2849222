"""Small-cell suppression of indicator cells: what may be published and what may not.

Rules (applied by the engine before ``indicator_values`` is written, so every table, chart and
map fed from it inherits them):

1. Primary: a cell built from fewer than ``settings.min_cell`` people (``n < min_cell``,
   default 10) is suppressed: ``suppressed`` is true and ``estimate``, ``se``, ``ci_low`` and
   ``ci_high`` are NULL. ``n`` stays in the warehouse table for audit, but is never published:
   :func:`published` blanks it, and exports show the cell as suppressed (``<10``).
2. Complementary, for counts: a count indicator's cells in one dimension add up to (or, for
   ties by municipality, are a fixed multiple of) its total, so a single hidden cell could be
   recovered by subtraction. Within each indicator, period and dimension, whenever exactly one
   value in the equation ``total = sum of the dimension's cells`` is hidden, the next smallest
   published cell is hidden too (the total, when the dimension has no other cell). For a
   two-value dimension such as sex this means suppressing one sex forces the other. The rule is
   repeated until no equation has a single unknown, since hiding a total opens the other
   dimensions.

Proportions, means and shares are not additive, so only rule 1 applies to them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# n_weighted and deff would give a hidden cell's size away; n stays for audit (never published)
HIDDEN_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "n_weighted", "deff")


def primary(n: pd.Series, min_cell: int) -> pd.Series:
    """True where a cell is built from fewer than ``min_cell`` people (or from nobody)."""
    return n.isna() | (n < min_cell)


def complementary(cells: pd.DataFrame) -> np.ndarray:
    """Extend the suppression of one count table (one indicator, one period) by subtraction.

    Args:
        cells: one row per cell with ``dimension`` (``total`` once), ``estimate`` and
            ``suppressed`` (after the primary rule).

    Returns:
        The new ``suppressed`` flags, aligned with ``cells``.
    """
    hidden = cells["suppressed"].to_numpy(dtype=bool).copy()
    dims = cells["dimension"].to_numpy()
    values = cells["estimate"].to_numpy(dtype=float, na_value=np.nan)
    total_at = np.flatnonzero(dims == "total")
    groups = [np.flatnonzero(dims == d) for d in pd.unique(dims) if d != "total"]
    if total_at.size != 1:
        raise ValueError("a count table needs exactly one total cell")
    total = total_at[0]
    changed = True
    while changed:
        changed = False
        for members in groups:
            unknown = int(hidden[members].sum()) + int(hidden[total])
            if unknown != 1:
                continue
            open_cells = members[~hidden[members]]
            if open_cells.size:
                # the next smallest cell costs the least information to hide
                order = np.lexsort((open_cells, np.nan_to_num(values[open_cells], nan=-1.0)))
                hidden[open_cells[order[0]]] = True
            else:
                hidden[total] = True
            changed = True
    return hidden


def suppress(values: pd.DataFrame, min_cell: int, count_indicators: set[str] | frozenset[str]) -> pd.DataFrame:
    """Apply primary and complementary suppression to indicator cells.

    Args:
        values: ``indicator_values`` rows (indicator_id, period, dimension, dimension_value,
            estimate, se, ci_low, ci_high, n).
        min_cell: the small-cell threshold (``settings.min_cell``).
        count_indicators: ids of the indicators whose cells are counts (additive).

    Returns:
        A copy with ``suppressed`` set and the hidden columns NULL where suppressed; ``n`` kept.
    """
    out = values.reset_index(drop=True)
    is_count = out["indicator_id"].isin(list(count_indicators)).to_numpy()
    zero_count = is_count & out["estimate"].eq(0).fillna(False).to_numpy(dtype=bool)
    out["suppressed"] = primary(out["n"], min_cell).to_numpy(dtype=bool) & ~zero_count
    if is_count.any():
        counts = out.loc[is_count]
        flags = out["suppressed"].to_numpy().copy()
        for _, table in counts.groupby(["indicator_id", "period"], sort=False):
            flags[table.index.to_numpy()] = complementary(table)
        out["suppressed"] = flags
    for col in HIDDEN_COLUMNS:
        if col not in out:
            continue
        out[col] = out[col].astype("float64")
        out.loc[out["suppressed"], col] = np.nan
    return out


def published(values: pd.DataFrame) -> pd.DataFrame:
    """Cells as they may leave the warehouse: ``n`` blanked where the cell is suppressed."""
    out = values.copy()
    out["n"] = out["n"].astype("Int64").mask(out["suppressed"].astype(bool))
    return out
