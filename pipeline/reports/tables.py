"""Tables leaving the pipeline: CSV and XLSX files, and the HTML a report shows.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula,
so every text cell goes through :func:`pipeline.exports.neutralise_frame` (a leading
apostrophe; numbers stay numbers) before it is written: names in the tables come from raw
files, which anyone could have typed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.exports import neutralise_frame


def write_table(frame: pd.DataFrame, stem: Path, sheet: str = "table") -> tuple[Path, Path]:
    """Write ``<stem>.csv`` (UTF-8 with BOM, so Excel reads the diacritics) and ``<stem>.xlsx``.

    Returns the two paths.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    safe = neutralise_frame(frame)
    csv, xlsx = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".xlsx")
    safe.to_csv(csv, index=False, encoding="utf-8-sig")
    # xlsxwriter would turn strings that look like formulas or URLs into them: keep text as text
    with pd.ExcelWriter(xlsx, engine="xlsxwriter",
                        engine_kwargs={"options": {"strings_to_formulas": False,
                                                   "strings_to_urls": False}}) as writer:
        safe.to_excel(writer, sheet_name=sheet[:31], index=False)
        sheet_ = writer.sheets[sheet[:31]]
        for i, col in enumerate(safe.columns):
            width = max([len(str(col)), *(len(str(v)) for v in safe[col].head(200))])
            sheet_.set_column(i, i, min(max(width + 2, 8), 60))
    return csv, xlsx


def to_html(frame: pd.DataFrame, numeric_right: bool = True) -> str:
    """A plain, escaped HTML table (no index) styled by the report's own CSS."""
    from pipeline.reports.pages import render

    right = [numeric_right and pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rows = [[("" if v is None or (isinstance(v, float) and v != v) else str(v), r)
             for v, r in zip(values, right, strict=True)] for values in frame.itertuples(index=False)]
    return render("table", columns=[str(c) for c in frame.columns], rows=rows)
