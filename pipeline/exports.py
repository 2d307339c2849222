"""Helpers for files people open in spreadsheets (CSV, XLSX): safe against formula injection.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is
run as a formula by Excel and LibreOffice when the file is opened. Every exported text cell
goes through :func:`neutralise`, which prefixes such text with an apostrophe so it shows as
text. Numbers stay numbers (a negative change is a number, not text).
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value, with a leading apostrophe if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and column names) are neutralised; numeric columns untouched."""
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(neutralise).astype(object)
    out.columns = [neutralise(c) for c in out.columns]
    return out
