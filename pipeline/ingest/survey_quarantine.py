"""The quarantine as the field team sees it: one row per problem, with the reason and what it
did (``action``: ``row`` not loaded, ``cell`` loaded as missing, ``note`` loaded as it is).

Values of personal columns never reach the quarantine (the loaders write ``<personal>``);
exports to CSV/XLSX neutralise text a spreadsheet would run as a formula.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.exports import neutralise_frame
from pipeline.warehouse import open_published

COLUMNS = ["batch_id", "file_name", "sheet", "source_row", "column_name", "value", "rule", "action", "reason"]


def read_quarantine(settings: Settings, batch: int | None = None) -> pd.DataFrame:
    """Quarantined cells (all batches, or one), in file and row order."""
    con = open_published(settings.db)
    try:
        # quarantine rows written before cell-level quarantine have no action: they were rows
        columns = ", ".join("coalesce(action, 'row') as action" if c == "action" else c for c in COLUMNS)
        sql = f"select {columns} from quarantine"
        params: list = []
        if batch is not None:
            sql += " where batch_id = ?"
            params.append(batch)
        return con.execute(sql + " order by batch_id, sheet, source_row, column_name", params).df()
    finally:
        con.close()


def export_quarantine(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write the quarantine to ``.csv`` (UTF-8 with BOM, opens right in Excel) or ``.xlsx``.

    Raises:
        SpscError: another file type was asked for.
    """
    path = Path(path)
    safe = neutralise_frame(frame.astype({"source_row": "Int64"}))
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        safe.to_csv(path, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        # xlsxwriter must never turn raw text into a formula or a clickable link
        options = {"strings_to_formulas": False, "strings_to_urls": False}
        with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
            safe.to_excel(xw, sheet_name="quarantine", index=False)
    else:
        raise SpscError(f"cannot write {suffix or 'files without an extension'}", str(path), "use .csv or .xlsx")
    return path
