"""What the audit reads in report files: text, tables, formulas and links.

HTML, CSV, XLSX, PPTX and executed notebooks under the reports folder; tables are checked for
published cells below the small-cell threshold.
"""

from __future__ import annotations

import html.parser
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.checks.audit.personal import Finding, Scanner

REPORT_SUFFIXES = (".html", ".htm", ".csv", ".xlsx", ".pptx", ".ipynb")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?$")


# ----------------------------------------------------------------------------- reports
@dataclass
class Table:
    """A table found in a report file: header and rows of cell texts or values."""

    where: str
    header: list[str]
    rows: list[list]


class _HtmlText(html.parser.HTMLParser):
    """The visible text of an HTML page and its tables (cells as text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._skip = 0
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        for name, value in attrs:
            if name in ("title", "alt", "href") and value:
                self.text.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def html_content(text: str, where: str) -> tuple[str, list[Table]]:
    """The text of an HTML document (script and style left out) and its tables."""
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    tables = [Table(f"{where} table {i + 1}", t[0], t[1:]) for i, t in enumerate(parser.tables)
              if len(t) > 1]
    return "\n".join(parser.text), tables


def _notebook_content(path: Path) -> tuple[list[tuple[str, str]], list[Table]]:
    """(text, where) pieces of a notebook's cells and outputs, and the tables of its outputs."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    pieces, tables = [], []
    for k, cell in enumerate(nb.get("cells", [])):
        where = f"{path} cell {k + 1}"
        pieces.append(("".join(cell.get("source", [])), where))
        for out in cell.get("outputs", []):
            texts = []
            if "text" in out:
                texts.append("".join(out["text"]))
            for mime, data in out.get("data", {}).items():
                body = "".join(data) if isinstance(data, list) else data
                if mime == "text/html" and isinstance(body, str):
                    text, found = html_content(body, where)
                    texts.append(text)
                    tables.extend(found)
                elif mime.startswith("text/") and isinstance(body, str):
                    texts.append(body)
            pieces.extend((t, where) for t in texts)
    return pieces, tables


def _pptx_content(path: Path) -> tuple[list[tuple[str, str]], list[Table]]:
    from pptx import Presentation

    pieces, tables = [], []
    for k, slide in enumerate(Presentation(str(path)).slides):
        where = f"{path} slide {k + 1}"
        for shape in slide.shapes:
            if shape.has_text_frame:
                pieces.append((shape.text_frame.text, where))
            if getattr(shape, "has_table", False) and shape.has_table:
                cells = [[c.text for c in row.cells] for row in shape.table.rows]
                pieces.append(("\n".join(" | ".join(r) for r in cells), where))
                if len(cells) > 1:
                    tables.append(Table(f"{where} table", cells[0], cells[1:]))
        if slide.has_notes_slide:
            pieces.append((slide.notes_slide.notes_text_frame.text, f"{where} notes"))
    return pieces, tables


def _sheet_content(path: Path) -> tuple[list[tuple[str, str]], list[Table], list[Finding]]:
    """Cells of a CSV or XLSX as text pieces, each sheet as a table, and formula-like text."""
    from pipeline.ingest.readers import read_workbook

    pieces, tables, formulas = [], [], []
    for sheet in read_workbook(path):
        where = f"{path}" if path.suffix.lower() == ".csv" else f"{path} sheet {sheet.name}"
        for i, row in enumerate(sheet.rows):
            for j, v in enumerate(row):
                if isinstance(v, str) and v:
                    pieces.append((v, f"{where} row {i + 1} column {j + 1}"))
                    if v.startswith(FORMULA_STARTS) and not _NUMBER.match(v.strip()):
                        formulas.append(Finding("formula", f"{where} row {i + 1} column {j + 1}",
                                                "text a spreadsheet would run as a formula"
                                                " (not neutralised)"))
        if len(sheet.rows) > 1:
            tables.append(Table(where, [str(h) for h in sheet.rows[0]], sheet.rows[1:]))
    if path.suffix.lower() == ".xlsx":
        formulas.extend(_external_links(path))
    return pieces, tables, formulas


def _external_links(path: Path) -> list[Finding]:
    """Hyperlinks to outside addresses in a workbook: exports write text as text, so a link
    means a URL typed into a raw file became clickable."""
    import zipfile

    found = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/_rels/") and name.endswith(".rels"):
                text = zf.read(name).decode("utf-8", errors="replace")
                count = len(re.findall(r'relationships/hyperlink"[^>]*TargetMode="External"', text))
                if count:
                    found.append(Finding("hyperlink", f"{path} {name.rsplit('/', 1)[-1][:-5]}",
                                         f"{count} links to outside addresses made from text"))
    return found


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if value != value else float(value)
    text = str(value).strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _at(row: list, i: int | None):
    return row[i] if i is not None and i < len(row) else None


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "da", "suppressed", "potisnuto")


def small_cells_in_table(table: Table, min_cell: int,
                         warehouse_n: dict[tuple, int] | None = None) -> list[Finding]:
    """Rows of a report table that show an estimate for a cell of fewer than ``min_cell``
    people: by the table's own ``n`` column, else by the warehouse cell it names."""
    header = [str(h).strip().lower() for h in table.header]
    col = {h: i for i, h in enumerate(header)}
    value_col = next((col[c] for c in ("estimate", "value", "progress", "latest_estimate")
                      if c in col), None)
    findings = []
    key_cols = [col.get(c) for c in ("indicator_id", "period", "dimension", "dimension_value")]
    for k, row in enumerate(table.rows):
        if "suppressed" in col and _truthy(_at(row, col["suppressed"])):
            continue
        shown = _number(_at(row, value_col))
        n = _number(_at(row, col.get("n")))
        if n is None and warehouse_n is not None and None not in key_cols:
            key = tuple(str(_at(row, i)) for i in key_cols)
            n = warehouse_n.get(key)
        if n is None or n >= min_cell:
            continue
        if n == 0 and (shown is None or shown == 0):
            continue  # a zero count is published on purpose
        if value_col is not None and shown is None:
            continue
        findings.append(Finding("small_cell", f"{table.where} row {k + 2}",
                                f"a cell of n {int(n)} < {min_cell} is shown unsuppressed"))
    return findings


def report_files(folder: Path) -> list[Path]:
    """The files under ``folder`` the audit reads."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES
                  and not p.name.startswith(("~$", ".")))


def scan_reports(folder: Path, scanner: Scanner, min_cell: int,
                 warehouse_n: dict[tuple, int] | None = None) -> tuple[list[Finding], int]:
    """Findings in every report file under ``folder``; returns (findings, files read)."""
    findings: list[Finding] = []
    files = report_files(folder)
    for path in files:
        suffix = path.suffix.lower()
        try:
            if suffix in (".html", ".htm"):
                text, tables = html_content(path.read_text(encoding="utf-8", errors="replace"),
                                            str(path))
                pieces = [(text, str(path))]
            elif suffix == ".ipynb":
                pieces, tables = _notebook_content(path)
            elif suffix == ".pptx":
                pieces, tables = _pptx_content(path)
            else:
                pieces, tables, formulas = _sheet_content(path)
                findings.extend(formulas)
        except Exception as exc:  # a damaged output is reported, not a crash of the audit
            findings.append(Finding("unreadable", str(path), f"could not be read ({type(exc).__name__})"))
            continue
        for text, where in pieces:
            findings.extend(scanner.scan(text, where))
        for table in tables:
            findings.extend(small_cells_in_table(table, min_cell, warehouse_n))
    return findings, len(files)
