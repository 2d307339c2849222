"""Reading raw spreadsheet and text files into grids of cells, whatever Excel or Kobo saved.

The readers do no interpretation (no header detection, no types beyond what the file holds):
each sheet comes back as a :class:`Sheet` whose ``rows`` are lists of cell values. Stages
decide what a header or a value means. Files that cannot be read at all raise
:class:`~pipeline.errors.RejectedFile` with a one-line reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import RejectedFile

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_CYRILLIC_1251 = set(range(0xC0, 0x100)) | {0x80, 0x81, 0x8A, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x9A, 0x9C, 0x9D, 0x9E, 0x9F}
MAX_CELL_CHARS = 32_767  # Excel's own limit; longer values are cut and flagged by the stages


@dataclass
class Sheet:
    """One sheet (or a whole CSV) as rows of cell values, blank trailing rows removed.

    Attributes:
        name: the sheet name (the file stem for CSV).
        rows: cell values: ``str``, ``int``, ``float``, ``bool``, ``datetime``/``date`` or ``None``.
        hidden: the sheet is hidden in the workbook.
        merged: merged cell ranges as ``(first_row, first_col, last_row, last_col)``, 0-based.
        encoding: the text encoding a CSV was read with.
        delimiter: the delimiter a CSV was read with.
    """

    name: str
    rows: list[list] = field(default_factory=list)
    hidden: bool = False
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None


def _reject(path: Path, why: str) -> RejectedFile:
    return RejectedFile(why, str(path))


def sniff_kind(path: Path, head: bytes) -> str:
    """What the bytes are, whatever the file is called: ``xlsx``, ``xls``, ``encrypted``, ``html`` or ``text``."""
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE2):
        data = path.read_bytes()
        # Office writes password-protected OOXML as an OLE2 container with an EncryptedPackage stream
        if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptedPackage" in data:
            return "encrypted"
        return "xls"
    low = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if low.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
        return "html"
    return "text"


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16, else Windows-1250 or -1251.

    Raises:
        RejectedFile: the file is marked as UTF-8 or UTF-16 but its bytes are not (a damaged
            or mixed-encoding file: guessing would garble names).
    """
    marked = None
    try:
        if data.startswith(codecs.BOM_UTF8):
            marked = "UTF-8"
            return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            marked = "UTF-16"
            return data.decode("utf-16"), "utf-16"
        if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
            marked = "UTF-16"
            return data.decode("utf-16-le"), "utf-16-le"
    except UnicodeDecodeError as exc:
        raise _reject(path, f"the text is marked as {marked} but is not valid {marked} at byte"
                            f" {exc.start} (damaged, or encodings mixed)") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _legacy_encoding(data)
    return data.decode(encoding, errors="replace"), encoding


def _is_ascii_letter(b: int) -> bool:
    return 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


def _legacy_encoding(data: bytes, sample: int = 1 << 20) -> str:
    """Windows-1251 (Cyrillic) or Windows-1250 (Latin with č ć š ž đ) for non-UTF-8 text.

    Cyrillic words are runs of high bytes (0xC0-0xFF under 1251); Latin words carry a high
    byte or two between ASCII letters. A file of Latin headers and numbers with Cyrillic names
    has few high bytes overall, so the test looks at the neighbours of the high bytes, not at
    their share of the file.
    """
    head = data[:sample]
    high = [i for i, b in enumerate(head) if b >= 0x80]
    if not high:
        return "cp1250"
    cyr_share = sum(head[i] in _CYRILLIC_1251 for i in high) / len(high)
    beside_latin = sum(1 for i in high if (i > 0 and _is_ascii_letter(head[i - 1]))
                       or (i + 1 < len(head) and _is_ascii_letter(head[i + 1])))
    return "cp1251" if cyr_share > 0.9 and beside_latin / len(high) < 0.5 else "cp1250"


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    counts = {d: sample.count(d) for d in (",", ";", "\t", "|")}
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return max(counts, key=counts.get) if any(counts.values()) else ","


def read_text_table(path: Path) -> Sheet:
    """Read a delimited text file (CSV, TSV, ``;``-separated as Excel saves it in BiH locales)."""
    data = path.read_bytes()
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not (
        len(data) >= 4 and data[1] == 0 and data[3] == 0
    ):
        raise _reject(path, "the file contains NUL bytes (binary data, not a text table)")
    text, encoding = decode_text(path, data)
    if "\x00" in text:
        raise _reject(path, "the file contains NUL characters (binary data, not a text table)")
    delimiter = _sniff_delimiter(text)
    csv.field_size_limit(1 << 30)
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    sheet = Sheet(name=path.stem, rows=rows, encoding=encoding, delimiter=delimiter)
    _trim(sheet)
    return sheet


def _trim(sheet: Sheet) -> None:
    def blank(row: list) -> bool:
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)

    while sheet.rows and blank(sheet.rows[-1]):
        sheet.rows.pop()


def _read_calamine(path: Path, keep_empty: bool = False) -> list[Sheet]:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise _reject(path, f"damaged or truncated workbook ({type(exc).__name__})") from exc
    try:
        sheets = []
        for meta in wb.sheets_metadata:
            if str(meta.typ).endswith("ChartSheet"):
                continue
            ws = wb.get_sheet_by_name(meta.name)
            rows = ws.to_python(skip_empty_area=False)
            if not keep_empty:
                rows = [[None if v == "" else v for v in r] for r in rows]
            merged = []
            try:
                for (r0, c0), (r1, c1) in ws.merged_cell_ranges or []:
                    merged.append((r0, c0, r1, c1))
            except (TypeError, ValueError):
                merged = []
            sheet = Sheet(name=meta.name, rows=rows, hidden=meta.visible != SheetVisibleEnum.Visible,
                          merged=merged)
            _trim(sheet)
            sheets.append(sheet)
        return sheets
    except RejectedFile:
        raise
    except Exception as exc:
        raise _reject(path, f"damaged or truncated workbook ({type(exc).__name__}: {exc})") from exc
    finally:
        wb.close()


def read_workbook(path: Path | str, *, keep_empty: bool = False) -> list[Sheet]:
    """Every sheet of a workbook or text table, by what the bytes are, not what the name says.

    XLSX/XLSM/XLS are read with calamine (cached values of formulas, dates as ``datetime``);
    CSV/TSV/text with encoding and delimiter detection; a CSV saved with an ``.xlsx`` name is
    read as the CSV it is.

    Args:
        keep_empty: leave empty workbook cells as ``""`` instead of ``None`` (saves a pass over
            every cell of large workbooks, for callers that treat both alike).

    Raises:
        RejectedFile: empty, damaged or truncated, password-protected, HTML, or no sheets.
    """
    path = Path(path)
    if not path.exists():
        raise _reject(path, "no such file")
    if path.stat().st_size == 0:
        raise _reject(path, "the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(512)
    kind = sniff_kind(path, head)
    if kind == "encrypted":
        raise _reject(path, "the workbook is password-protected; save a copy without a password")
    if kind == "html":
        raise _reject(path, "this is a web page (HTML) saved with a spreadsheet name; export it from Excel as .xlsx or .csv")
    if kind == "xlsx":
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _reject(path, "damaged or truncated workbook (not a readable .xlsx)") from exc
        if bad is not None:
            raise _reject(path, f"damaged workbook (corrupt part {bad})")
        if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
            raise _reject(path, "a zip file that is not an Excel workbook")
        sheets = _read_calamine(path, keep_empty)
    elif kind == "xls":
        sheets = _read_calamine(path, keep_empty)
    else:
        sheets = [read_text_table(path)]
    if not sheets:
        raise _reject(path, "the workbook has no sheets")
    return sheets
