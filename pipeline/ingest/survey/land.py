"""Landing raw survey tables in DuckDB temporary tables, every cell as text.

Grain: one temporary table per sheet (or CSV file), one row per data row in file order,
columns named by the de-duplicated header, read through the view ``<table>_rows``. UTF-8
CSVs are not copied at all: the view reads them with DuckDB's own CSV reader, once, while the
rows are typed. Everything else goes through :mod:`pipeline.ingest.readers` (encodings,
delimiters, damaged files). Interpretation (types, meaning of columns) happens later; row
numbers come from file order (the header is row 1, the first data row row 2).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import RejectedFile
from pipeline.ingest.readers import Sheet, read_workbook, sniff_kind
from pipeline.warehouse.runner import ident, literal


@dataclass
class Landed:
    """One landed table.

    Attributes:
        table: the temporary table (``rows_view`` is what to read).
        file: the raw file.
        sheet: sheet name (the file stem for CSV).
        headers: column names in the table (headers, de-duplicated with ``__2``, ``__3``).
        n_rows: data rows, blank ones included; ``None`` for a CSV that DuckDB reads as it is
            typed (``rows_view`` is then a view over ``read_csv``, not a table: scan it once).
        repeat_path: set by the export reader for repeat-group tables.
        notes: what the reader had to work around.
        expected_rows: for such a CSV, the rows its line count promises; DuckDB skips blank
            lines and counts quoted line breaks differently, so a mismatch means "read it again
            with the Python reader" (row numbers must be the ones a person sees).
    """

    table: str
    file: Path
    sheet: str
    headers: list[str]
    n_rows: int | None
    repeat_path: str | None = None
    notes: list[str] = field(default_factory=list)
    raw: RawFile | None = None
    first_row: int = 2       # the Excel row number of the first data row (the header is above)

    @property
    def rows_view(self) -> str:
        return f"{self.table}_rows"

    @property
    def expected_rows(self) -> int | None:
        return None if self.raw is None else self.raw.lines - 1


def _digest(path: Path) -> tuple[str, int, bool]:
    """sha256, line count and whether there are NUL bytes, in one pass over the file
    (hashlib releases the GIL on big blocks)."""
    h = hashlib.sha256()
    newlines = 0
    last = b""
    nul = False
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
            newlines += chunk.count(b"\n")
            nul = nul or b"\x00" in chunk
            last = chunk[-1:]
    return h.hexdigest(), newlines + (last not in (b"", b"\n")), nul


_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spsc-sha256")


@dataclass
class RawFile:
    """What the bytes of a raw file are: its hash, kind and line count.

    For a big text file the hash is computed in a background thread while DuckDB reads the
    file; ``sha256`` and ``lines`` wait for it.
    """

    path: Path
    size: int
    kind: str          # xlsx, xls, text, encrypted, html
    _digest: Future | tuple[str, int, bool]

    @property
    def sha256(self) -> str:
        return self._result()[0]

    @property
    def lines(self) -> int:
        """Line count of a text file (a last line without a newline counts)."""
        return self._result()[1]

    @property
    def has_nul(self) -> bool:
        """NUL bytes: binary data (a UTF-16 text has them too, but is never read in place)."""
        return self._result()[2]

    @property
    def hashed(self) -> bool:
        return not isinstance(self._digest, Future) or self._digest.done()

    def _result(self) -> tuple[str, int, bool]:
        if isinstance(self._digest, Future):
            self._digest = self._digest.result()
        return self._digest


def inspect_file(path: Path, *, background: bool = False) -> RawFile:
    """Sniff what a raw file is and hash it (in the background when asked).

    Raises:
        RejectedFile: missing or empty file.
    """
    path = Path(path)
    if not path.exists():
        raise RejectedFile("no such file", str(path))
    size = path.stat().st_size
    if size == 0:
        raise RejectedFile("the file is empty (0 bytes)", str(path))
    with open(path, "rb") as fh:
        head = fh.read(512)
    digest = _HASHING.submit(_digest, path) if background else _digest(path)
    return RawFile(path, size, sniff_kind(path, head), digest)


def _text(value) -> str | None:
    # one text form per cell, whatever the reader typed it as: Excel's 5.0 is "5"
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _text_column(values: np.ndarray) -> pa.Array:
    """One column as text, converting by cell type in bulk (numbers through Arrow), not cell by cell."""
    types = np.fromiter(map(type, values), dtype=object, count=len(values))
    kinds = set(types)
    if kinds <= {str, type(None)}:
        return pa.array(values, type=pa.string())
    masks = {kind: types == kind for kind in kinds - {str, type(None)}}
    converted = np.logical_or.reduce(list(masks.values()))
    text = pa.array(np.where(converted, None, values), type=pa.string())
    for kind, mask in masks.items():
        if kind is float:
            # Arrow writes 5.0 as "5" and keeps 1.5; NaN becomes NULL
            part = pa.array(values[mask].astype(np.float64), from_pandas=True).cast(pa.string())
        else:
            part = pa.array([_text(v) for v in values[mask]], type=pa.string())
        text = pc.replace_with_mask(text, pa.array(mask), part)
    return text


def dedupe_headers(raw: list) -> list[str]:
    """Headers as text, blanks named ``column_<n>``, repeats suffixed ``__2``, ``__3``."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(raw, start=1):
        name = (_text(h) or "").strip() or f"column_{i}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}__{count}")
    return out


def _filled(row: list) -> int:
    return sum(1 for v in row if v is not None and not (isinstance(v, str) and not v.strip()))


def header_index(rows: list[list], scan: int = 30) -> int:
    """The header row: the first of the top rows filled at least half as wide as the widest
    (a title or a merged banner above a Kobo header fills one cell)."""
    filled = [_filled(r) for r in rows[:scan]]
    widest = max(filled, default=0)
    return next((i for i, n in enumerate(filled) if n >= max(2, widest / 2)), 0)


def land_rows(con: duckdb.DuckDBPyConnection, table: str, file: Path, sheet: str,
              rows: list[list]) -> Landed:
    """Land a grid below its header row (found by :func:`header_index`); cells beyond the
    header are kept when filled."""
    top = header_index(rows)
    notes = [f"header on row {top + 1}: {top} title rows above it skipped"] if top else []
    header_raw = list(rows[top]) if rows else []
    data = rows[top + 1:]
    width = max([len(header_raw), *(len(r) for r in data)]) if data else len(header_raw)
    if width > len(header_raw):
        extra_filled = any(any(c not in (None, "") for c in r[len(header_raw):]) for r in data)
        if extra_filled:
            notes.append(f"{sheet}: {width - len(header_raw)} cells beyond the header kept as unnamed columns")
            header_raw = header_raw + [None] * (width - len(header_raw))
        else:
            width = len(header_raw)
    headers = dedupe_headers(header_raw)
    if any(len(r) != width for r in data):
        data = [list(r[:width]) + [None] * (width - len(r)) for r in data]
    grid = np.empty((len(data), width), dtype=object)
    if data:
        grid[:] = data
    arrays = [_text_column(grid[:, j]) for j in range(width)]
    arrow = pa.Table.from_arrays(arrays, names=headers) if headers else pa.table({})
    _create(con, table, arrow)
    return Landed(table, file, sheet, headers, len(data), notes=notes, first_row=top + 2)


def _create(con: duckdb.DuckDBPyConnection, table: str, arrow: pa.Table) -> None:
    con.register("_spsc_landing", arrow)
    try:
        con.execute(f"create or replace temp table {ident(table)} as select * from _spsc_landing")
    finally:
        con.unregister("_spsc_landing")
    _rows_view(con, table)


def _rows_view(con: duckdb.DuckDBPyConnection, table: str) -> None:
    # rowid follows insertion order, so the Excel row number costs nothing to compute
    con.execute(f"create or replace temp view {ident(table + '_rows')} as select * from {ident(table)}")


def _csv_header(path: Path, encoding: str) -> tuple[list[str], str] | None:
    """Header and delimiter when the first line is the header (else ``None``: title lines
    above it are for the Python reader, which finds the header)."""
    with open(path, encoding=encoding, newline="") as fh:
        top = [line for line, _ in zip(fh, range(30), strict=False)]
    if not top or not top[0].strip():
        return None
    # delimiters inside quoted values (labels full of commas in a ';' export) do not count
    first = re.sub(r'"(?:[^"]|"")*"', "", top[0])
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        delimiter = ","
    rows = list(csv.reader(io.StringIO("".join(top)), delimiter=delimiter))
    if header_index(rows) != 0:
        return None
    return dedupe_headers(rows[0]), delimiter


def land_csv(con: duckdb.DuckDBPyConnection, table: str, raw: RawFile, *, eager: bool = False) -> Landed:
    """Land a CSV: a view over DuckDB's reader for UTF-8 files (read once, while typing), or
    the tolerant Python reader (other encodings, or ``eager``: after DuckDB refused the file).
    """
    if not eager:
        try:
            landed = _land_csv_duckdb(con, table, raw.path)
        except (duckdb.Error, UnicodeDecodeError, ValueError):
            landed = None
        if landed is not None:
            landed.raw = raw
            return landed
    sheet = _read_text_sheet(raw.path)
    landed = land_rows(con, table, raw.path, sheet.name, sheet.rows)
    if sheet.encoding not in ("utf-8", "utf-8-sig"):
        landed.notes.append(f"read as {sheet.encoding}")
    return landed


def _read_text_sheet(path: Path) -> Sheet:
    return read_workbook(path)[0]


def _land_csv_duckdb(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> Landed | None:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is fine
            return None
    found = _csv_header(path, encoding)
    if found is None:
        return None
    headers, delimiter = found
    columns = ", ".join(f"{literal(h)}: 'VARCHAR'" for h in headers)
    con.execute(
        f"create or replace temp view {ident(table + '_rows')} as select * "
        f"from read_csv({literal(str(path))}, header = true, auto_detect = false, columns = {{{columns}}}, "
        f"delim = {literal(delimiter)}, quote = '\"', escape = '\"', strict_mode = true, null_padding = false)")
    return Landed(table, path, path.stem, headers, None)


def land_file(con: duckdb.DuckDBPyConnection, prefix: str, raw: RawFile, *, eager: bool = False) -> list[Landed]:
    """Land every sheet of a raw file (one table for a CSV); empty sheets are skipped.

    Raises:
        RejectedFile: the file cannot be read at all.
    """
    if raw.kind == "text":
        return [land_csv(con, f"{prefix}_0", raw, eager=eager)]
    sheets = read_workbook(raw.path, keep_empty=True)
    out, hidden = [], []
    for i, sheet in enumerate(sheets):
        if sheet.hidden:  # drop-down lists and helpers; Kobo never hides an export's sheets
            hidden.append(sheet.name)
            continue
        if not sheet.rows or not any(_filled(r) for r in sheet.rows[:30]):
            continue
        out.append(land_rows(con, f"{prefix}_{i}", raw.path, sheet.name, sheet.rows))
    if out and hidden:
        out[0].notes.append(f"hidden sheets not read: {', '.join(hidden)}")
    if not out:
        visible = [s for s in sheets if not s.hidden]
        if visible and not any(s.rows and any(_filled(r) for r in s.rows) for s in visible):
            # KPI writes an export of a form without submissions as one empty sheet
            landed = land_rows(con, f"{prefix}_0", raw.path, visible[0].name, [["_index"]])
            landed.notes.append("the export holds no submissions (every sheet is empty)")
            return [landed]
        raise RejectedFile("no sheet with a header row", str(raw.path))
    return out


def drop_landed(con: duckdb.DuckDBPyConnection, landed: list[Landed]) -> None:
    """Drop the temporary tables and views of a load (landed tables and everything the loader
    derived from them: all temporary objects named ``_spsc_*``)."""
    for t in landed:
        con.execute(f"drop view if exists {ident(t.rows_view)}")
        con.execute(f"drop table if exists {ident(t.table)}")
    views = con.execute("select view_name from duckdb_views() where temporary "
                        "and starts_with(view_name, '_spsc_')").fetchall()
    for (name,) in views:
        con.execute(f"drop view if exists temp.{ident(name)}")
    tables = con.execute("select table_name from duckdb_tables() where temporary "
                         "and starts_with(table_name, '_spsc_')").fetchall()
    for (name,) in tables:
        con.execute(f"drop table if exists temp.{ident(name)}")
