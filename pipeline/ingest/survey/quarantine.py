"""The quarantine as the field team sees it: one row per problem, with the reason and what it
did (``action``: ``row`` not loaded, ``cell`` loaded as missing, ``note`` loaded as it is,
``removed``: loaded, then removed from the marts by a cleaning log's ``remove_survey``).

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
        has_cleaning = con.execute("select count(*) from information_schema.tables "
                                   "where table_name = 'cleaning_effects'").fetchall()[0][0]
        if has_cleaning:
            # submissions a cleaning log removes stay in staging: listed here with the log's reason
            sql += """ union all
                select s.batch_id, b.file_name, s.source_sheet as sheet, s.source_row,
                    null as column_name, null as value, 'cleaning_log' as rule, 'removed' as action,
                    'removed by ' || l.file_name || ' row ' || e.log_row || ': ' || coalesce(d.issue, '') as reason
                from cleaning_effects e
                join stg_survey__submissions s on s.submission_id = e.submission_id
                join load_batches b on b.batch_id = s.batch_id
                join cleaning_logs l on l.log_id = e.log_id
                join cleaning_decisions d on d.log_id = e.log_id and d.log_row = e.log_row
                where e.status = 'applied' and e.change_type = 'remove_survey'"""
        sql = f"select * from ({sql})"
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
