"""Sign-in sheets as grids of cells, and where their header row is.

Workbooks are read by :func:`pipeline.ingest.readers.read_workbook`. Delimited text gets a
columnar fast path (pandas' C parser over the text the shared reader's encoding and delimiter
detection decoded), because a long register can hold a million sign-ins; when that parser
cannot keep the layout exact (a row wider than the top of the file) the shared reader is used,
so both paths give the same cells and the same row numbers.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import RejectedFile
from pipeline.ingest import readers
from pipeline.ingest.attendance.values import fold_header, header_aliases, is_blank
from pipeline.reference.names import fold

HEADER_SCAN_ROWS = 15  # the header row is looked for among the first rows, below any title block
_MIN_HEADER_MATCHES = 2
_WIDTH_PROBE_ROWS = 200


@dataclass
class Grid:
    """One sheet as a frame of cells (columns ``0..n-1``, row ``i`` is sheet row ``i + 1``)."""

    name: str
    cells: pd.DataFrame
    hidden: bool = False


@dataclass
class Header:
    """The header row of a grid and the field each recognised column holds."""

    row: int  # 0-based index in the grid
    fields: dict[int, str] = field(default_factory=dict)  # column -> canonical field
    ignored: list[str] = field(default_factory=list)  # header texts not recognised


def _text_grid(path: Path) -> Grid:
    data = path.read_bytes()
    text, _ = readers.decode_text(path, data)
    if "\x00" in text:
        raise RejectedFile(
            "the file contains NUL characters (binary data, not a text table)", str(path)
        )
    delimiter = readers._sniff_delimiter(text[: 1 << 16])
    head = list(csv.reader(io.StringIO(text[: 1 << 16], newline=""), delimiter=delimiter))
    width = max((len(r) for r in head[:_WIDTH_PROBE_ROWS]), default=1) or 1
    try:
        # only empty fields are missing: "NA" or "n/a" written in a sheet stay text
        cells = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            names=list(range(width)),
            dtype=object,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            quotechar='"',
            doublequote=True,
            engine="c",
            index_col=False,
        )
    except (pd.errors.ParserError, ValueError):
        return _grid_from_sheet(readers.read_text_table(path))
    return Grid(name=path.stem, cells=_trim(cells))


def _blank_to_none(cells: pd.DataFrame) -> pd.DataFrame:
    """Empty and whitespace-only cells as ``None``, decided once per distinct value."""
    out = {}
    for col in cells.columns:
        values = cells[col].to_numpy(dtype=object).copy()
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        blank = np.append(np.fromiter((is_blank(u) for u in uniques), bool, len(uniques)), True)
        values[blank[codes]] = None
        out[col] = values
    return pd.DataFrame(out, columns=cells.columns, dtype=object)


def _trim(cells: pd.DataFrame) -> pd.DataFrame:
    """Drop blank rows at the end, as the shared reader does."""
    if cells.empty:
        return cells
    filled = ~cells.isna().to_numpy().all(axis=1)
    last = np.flatnonzero(filled)
    return cells.iloc[: last[-1] + 1 if len(last) else 0].reset_index(drop=True)


def _grid_from_sheet(sheet: readers.Sheet) -> Grid:
    cells = pd.DataFrame(sheet.rows, dtype=object) if sheet.rows else pd.DataFrame(dtype=object)
    cells = _fill_merged_down(_blank_to_none(cells), sheet.merged)
    return Grid(name=sheet.name, cells=_trim(cells), hidden=sheet.hidden)


def _fill_merged_down(cells: pd.DataFrame, merged: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    """Give every cell of a range merged over several rows the value of its first cell.

    A residence or role merged over three people (one cell drawn over three lines) means the
    same for each of them; a workbook keeps the value in the first cell only. Ranges within
    one row (title banners) are left as they are.
    """
    spans = [m for m in merged if m[2] > m[0]]
    if cells.empty or not spans:
        return cells
    cells = cells.copy()
    n_rows, n_cols = cells.shape
    for r0, c0, r1, c1 in spans:
        if r0 >= n_rows or c0 >= n_cols:
            continue
        value = cells.iat[r0, c0]
        if value is None:
            continue
        cells.iloc[r0 : min(r1, n_rows - 1) + 1, c0 : min(c1, n_cols - 1) + 1] = value
    return cells


def read_grids(path: Path | str) -> list[Grid]:
    """Every sheet of a sign-in workbook or text table as a :class:`Grid`.

    Raises:
        RejectedFile: the file cannot be read (see :func:`pipeline.ingest.readers.read_workbook`).
    """
    path = Path(path)
    if not path.exists():
        raise RejectedFile("no such file", str(path))
    if path.stat().st_size == 0:
        raise RejectedFile("the file is empty (0 bytes)", str(path))
    with open(path, "rb") as fh:
        kind = readers.sniff_kind(path, fh.read(512))
    if kind == "text":
        return [_text_grid(path)]
    return [_grid_from_sheet(s) for s in readers.read_workbook(path)]


def find_header(grid: Grid, table: str, required: str) -> Header | None:
    """The row among the first :data:`HEADER_SCAN_ROWS` that matches most header aliases.

    A row qualifies when it names ``required`` (e.g. the person's name) and at least two
    known columns; ties go to the upper row. Returns ``None`` when no row qualifies.
    """
    aliases = header_aliases(table)
    best: Header | None = None
    best_hits = 0
    top = grid.cells.head(HEADER_SCAN_ROWS)
    for i, row in enumerate(top.itertuples(index=False, name=None)):
        fields: dict[int, str] = {}
        ignored = []
        for col, value in enumerate(row):
            if is_blank(value):
                continue
            found = aliases.get(fold_header(value))
            if found is None:
                ignored.append(str(value))
            elif found not in fields.values():  # the first column of a field wins
                fields[col] = found
        names_it = required in fields.values() or (
            required == "name" and {"first_name", "last_name"} <= set(fields.values())
        )
        if names_it and len(fields) >= _MIN_HEADER_MATCHES and len(fields) > best_hits:
            best, best_hits = Header(row=i, fields=fields, ignored=ignored), len(fields)
    return best


_LABEL_VALUE = re.compile(r"^\s*(?P<label>[^:]+?)\s*:\s*(?P<value>\S.*?)\s*$")


def title_block_value(grid: Grid, header_row: int, table: str, wanted: str) -> str | None:
    """A value written in the title block above the header, as ``Label: value`` in one cell or
    as a label cell followed by a value cell (e.g. ``ID događaja: EV-0001``)."""
    aliases = header_aliases(table)
    for row in grid.cells.head(header_row).itertuples(index=False, name=None):
        cells = [v for v in row if not is_blank(v)]
        for j, value in enumerate(cells):
            text = str(value)
            m = _LABEL_VALUE.match(text)
            if m and aliases.get(fold_header(m.group("label"))) == wanted:
                return m.group("value")
            if aliases.get(fold_header(text)) == wanted and j + 1 < len(cells):
                return str(cells[j + 1])
    return None


def is_repeated_header(values: list[object], table: str) -> bool:
    """A data row that is the header again (sheets printed over several pages repeat it)."""
    aliases = header_aliases(table)
    hits = sum(1 for v in values if not is_blank(v) and fold_header(v) in aliases)
    return hits >= _MIN_HEADER_MATCHES


def folded_text(value: object) -> str:
    """Folded text of a cell for comparisons ('' when blank)."""
    return "" if is_blank(value) else fold(str(value))
