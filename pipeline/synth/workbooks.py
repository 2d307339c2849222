"""Byte-for-byte reproducible XLSX and CSV writing.

xlsxwriter stamps the document properties with the wall clock and zip entries with file
times unless told otherwise: workbooks here are built in memory (zip entries dated
1980-01-01) with fixed created/modified properties, so the same rows give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import xlsxwriter

# the date every generated workbook claims to be created and modified on
DOC_TIMESTAMP = datetime(2025, 1, 15, 9, 0, 0)
BOM = b"\xef\xbb\xbf"


@contextmanager
def workbook(path: Path, *, author: str = "KoboToolbox"):
    """An xlsxwriter workbook with fixed properties; closed (written) on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {
        "in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False,
    })
    wb.set_properties({"author": author, "created": DOC_TIMESTAMP})
    try:
        yield wb
    finally:
        wb.close()


def write_rows(ws, rows: Iterable[Sequence], first_row: int = 0) -> int:
    """Write rows of Python values from ``first_row``; ``None`` leaves the cell empty.

    Returns the index of the next free row.
    """
    r = first_row
    for row in rows:
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            else:
                ws.write_number(r, c, value)
        r += 1
    return r


def write_csv(path: Path, table: pa.Table) -> None:
    """A Kobo-style CSV: UTF-8 with BOM, comma-separated, text quoted, empty cells bare."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(BOM)
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
