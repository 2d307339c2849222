"""From a sheet's grid to the rows under its header.

Finds the header, the rows with content under it and the event the sheet names (its title
block or its name). A sheet without a header, and repeated header rows, are quarantined as
whole rows; a title block that contradicts the sheet name is passed on to the row checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.ingest.attendance.checks import (
    _LOOKS_LIKE_EVENT_ID,
    FIELDS,
    KIND,
    REASONS,
    filled,
    object_frame,
)
from pipeline.ingest.attendance.read import (
    Grid,
    Header,
    find_header,
    is_repeated_header,
    title_block_value,
)
from pipeline.ingest.attendance.values import (
    Distinct,
    fold_header,
    header_aliases,
    is_blank,
    normalise_event_id,
)


@dataclass
class SheetRows:
    """One sheet's rows with content, as raw cells of the recognised fields."""

    rows: dict[str, np.ndarray] | None  # sheet, source_row, FIELDS, default_event, conflict
    headers: dict[str, str] = field(default_factory=dict)  # field -> header text in the sheet
    problems: list[pd.DataFrame] = field(default_factory=list)
    read: int = 0
    blank: int = 0


def _sheet_problems(sheet: str, source_rows: np.ndarray, rule: str) -> pd.DataFrame:
    """Problems of whole rows (no header, a repeated header): no column, no value."""
    n = len(source_rows)
    return object_frame(
        {
            "sheet": filled(n, sheet),
            "source_row": source_rows,
            "column_name": filled(n, None),
            "value": filled(n, None),
            "rule": filled(n, rule),
            "reason": filled(n, REASONS[rule]),
        }
    )


def sheet_rows(grid: Grid, events_known: set[str]) -> SheetRows:
    """The rows of one sheet that have content, with sheet-level problems and counts.

    Rows read are the rows under the header (title block rows above it are not data); a
    sheet without a recognisable header has all its filled rows quarantined.
    """
    cells = grid.cells
    if cells.empty:
        return SheetRows(None)
    header = find_header(grid, KIND, "name")
    if header is None:
        written = ~cells.isna().to_numpy().all(axis=1)
        problems = _sheet_problems(grid.name, np.flatnonzero(written) + 1, "no_header")
        return SheetRows(None, problems=[problems], read=len(cells), blank=int((~written).sum()))
    data = cells.iloc[header.row + 1 :]
    content = _has_content(data, header)
    keep = np.flatnonzero(content)
    repeated = _repeated_headers(data.iloc[keep], header)
    source_row = data.index.to_numpy() + 1
    problems = []
    if repeated.any():
        problems.append(_sheet_problems(grid.name, source_row[keep[repeated]], "repeated_header"))
        keep = keep[~repeated]
    default_event, conflict = _sheet_event_id(grid, header.row, events_known)
    n = len(keep)
    columns: dict[str, object] = {"sheet": filled(n, grid.name), "source_row": source_row[keep]}
    by_field = {f: c for c, f in header.fields.items()}
    for f in FIELDS:
        columns[f] = (
            data[by_field[f]].to_numpy(dtype=object)[keep] if f in by_field else filled(n, None)
        )
    columns["default_event"] = filled(n, default_event)
    columns["conflict"] = filled(n, conflict)
    headers = {f: str(cells.iat[header.row, c]) for c, f in header.fields.items()}
    return SheetRows(columns, headers, problems, read=len(data), blank=int((~content).sum()))


def _has_content(data: pd.DataFrame, header: Header) -> np.ndarray:
    """Rows with anything written in them besides a row number.

    Columns are looked at name first, and each only on the rows still empty, so a long sheet
    costs about one pass over its name column.
    """
    fields = header.fields
    first = [c for c, f in fields.items() if f in ("name", "first_name", "last_name")]
    order = first + [c for c in data.columns if c not in first]
    content = np.zeros(len(data), dtype=bool)
    for c in order:
        todo = np.flatnonzero(~content)
        if not len(todo):
            break
        values = Distinct(data[c].to_numpy(dtype=object)[todo])
        blank = values.blank()
        if fields.get(c) == "row_no":  # a pre-numbered line of the template is still an empty line
            blank |= values.map(_is_row_number, bool)
        content[todo[~blank]] = True
    return content


def _repeated_headers(data: pd.DataFrame, header: Header) -> np.ndarray:
    """Rows that repeat the header (sheets printed over several pages do this).

    Only rows whose name cell is itself a header word are looked at whole.
    """
    name_col = next(c for c, f in header.fields.items() if f in ("name", "first_name"))
    aliases = header_aliases(KIND)
    suspect = Distinct(data[name_col]).map(
        lambda v: not is_blank(v) and fold_header(v) in aliases, bool
    )
    repeated = np.zeros(len(data), dtype=bool)
    for i in np.flatnonzero(suspect):
        repeated[i] = is_repeated_header(list(data.iloc[i]), KIND)
    return repeated


def _is_row_number(value: object) -> bool:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and re.fullmatch(r"\s*\d+\s*\.?\s*", value) is not None


def _sheet_event_id(
    grid: Grid, header_row: int, events_known: set[str]
) -> tuple[str | None, str | None]:
    """The event id a per-event sheet stands for: the title block, else the sheet name.

    A sheet name counts as an event id when it is a known one or has the prefix of known ones
    (``EV-0042``, not ``List1``). Returns ``(event_id, conflict)``; ``conflict`` describes a
    title block that names another event than the sheet name.
    """
    titled = normalise_event_id(title_block_value(grid, header_row, KIND, "event_id"))
    named = normalise_event_id(grid.name)
    prefixes = {k.split("-")[0] for k in events_known if _LOOKS_LIKE_EVENT_ID.match(k)}
    named_ok = named is not None and (
        named in events_known
        or (_LOOKS_LIKE_EVENT_ID.match(named) and named.split("-")[0] in prefixes)
    )
    if titled and named_ok and titled != named:
        return None, f"title block says {titled}, sheet is named {grid.name}"
    if titled:
        return titled, None
    return (named if named_ok else None), None
