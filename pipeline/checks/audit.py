"""``spsc audit``: personal data and small cells where they must not be.

What is looked for:

- **personal values of this installation**: every name, phone and e-mail written in the raw
  files the warehouse was loaded from (the paths in ``load_batches``, read again now and
  verified by sha256): the personal columns of the sign-in sheets (through the header alias
  table) and of the survey exports (the questions the codebook marks personal);
- **anything that looks like a phone number or an e-mail address** (patterns);
- **published cells below the small-cell threshold**: unsuppressed cells with
  ``n < min_cell`` in ``indicator_values_published`` and in the snapshots, and in report
  tables (a table with an ``n`` column, or with indicator/period/dimension columns whose
  warehouse cell has ``n < min_cell``);
- **spreadsheet formulas** in exported CSV/XLSX text cells (exports must neutralise them),
  and hyperlinks to outside addresses in exported XLSX (text that became a link).

Where: every text column of the warehouse, and under the reports folder every HTML, CSV,
XLSX, PPTX and executed notebook (``.ipynb``). Findings never show a personal value in full:
names keep two letters per word (``An** Pe*****``), phones three digits, e-mails two letters.

Names are matched as whole words after folding (Latin script, no case, no diacritics), as a
sequence of at least two words in the order written or reversed (``Petrović Ana``), with at
least :data:`MIN_NAME_LETTERS` letters, so that common words and single first names do not
raise false alarms.
"""

from __future__ import annotations

import html.parser
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.config import Settings
from pipeline.reference.names import fold_words

MIN_NAME_LETTERS = 6  # a name shorter than this (letters, all words) is not looked for
MAX_NAME_WORDS = 4
REPORT_SUFFIXES = (".html", ".htm", ".csv", ".xlsx", ".pptx", ".ipynb")
PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)387[\s/.-]*\(?[3-6]\d\)?|\(?0[3-6]\d\)?)[\s/.-]*\d{3}[\s/.-]*\d{3,4}(?!\w)")
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?!\w)")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?$")


@dataclass
class Finding:
    """One thing the audit found: what (kind), where, and the value masked."""

    kind: str  # name, phone, email, small_cell, formula, hyperlink, unreadable
    where: str
    shown: str

    def line(self) -> str:
        return f"{self.where}: {self.kind} {self.shown}"


@dataclass
class PersonalValues:
    """The personal values of this installation, in the forms they are matched in."""

    names: dict[tuple[str, ...], str] = field(default_factory=dict)  # folded words -> as written
    phones: dict[str, str] = field(default_factory=dict)  # national digits -> as written
    emails: dict[str, str] = field(default_factory=dict)  # lower case -> as written
    notes: list[str] = field(default_factory=list)
    files: int = 0
    unchecked: list[str] = field(default_factory=list)  # raw files whose values could not be read

    def add_name(self, value: object) -> None:
        words = tuple(fold_words(str(value)))
        words = tuple(w for w in words if not w.isdigit())
        if 2 <= len(words) <= MAX_NAME_WORDS and sum(map(len, words)) >= MIN_NAME_LETTERS:
            self.names.setdefault(words, str(value))
            self.names.setdefault(tuple(reversed(words)), str(value))

    def add_contact(self, value: object) -> None:
        text = str(value)
        for m in PHONE.finditer(text):
            self.phones.setdefault(phone_digits(m.group()), m.group())
        digits = re.sub(r"\D", "", text)
        if 8 <= len(digits) <= 13:
            self.phones.setdefault(phone_digits(digits), text)
        for m in EMAIL.finditer(text):
            self.emails.setdefault(m.group().lower(), m.group())


def phone_digits(text: str) -> str:
    """A phone number as national digits (``+387 61 ...`` and ``061 ...`` compare equal)."""
    digits = re.sub(r"\D", "", text)
    for prefix in ("00387", "387"):
        if digits.startswith(prefix):
            return "0" + digits[len(prefix):]
    return digits


# ------------------------------------------------------------------------------ masking
def mask_words(text: str) -> str:
    """``Ana Petrović`` -> ``An* Pe******``: two letters of each word."""
    return " ".join(w[:2] + "*" * max(len(w) - 2, 0) for w in str(text).split())


def mask_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits[:3] + "*" * max(len(digits) - 3, 0)


def mask_email(text: str) -> str:
    local, _, domain = text.partition("@")
    return local[:2] + "*" * max(len(local) - 2, 0) + "@" + domain[:2] + "*" * max(len(domain) - 2, 0)


# ----------------------------------------------------------------- personal values: raw
def collect_personal_values(con: duckdb.DuckDBPyConnection, roots: tuple = ()) -> PersonalValues:
    """Read the personal columns of the raw files recorded in ``load_batches``.

    Files that are gone or changed since their load (sha256) are listed in ``notes``: their
    values cannot be looked for.
    """
    from pipeline.warehouse import file_sha256

    found = PersonalValues()
    rows = con.execute(
        "select path, sha256, kind from load_batches where status in ('loaded', 'superseded')"
        " and kind in ('attendance', 'survey') order by batch_id").fetchall()
    personal_questions = _personal_questions(con)
    from pipeline.warehouse.batches import locate_raw

    for path, sha, kind in rows:
        p = locate_raw(path, roots) or Path(path)
        if not p.exists():
            found.notes.append(f"{p}: raw file no longer there; its personal values were not"
                               " looked for")
            found.unchecked.append(str(p))
            continue
        if file_sha256(p) != sha:
            found.notes.append(f"{p}: raw file changed since it was loaded (sha256); its"
                               " personal values were not looked for")
            found.unchecked.append(str(p))
            continue
        try:
            if kind == "attendance":
                _attendance_values(p, found)
            else:
                _survey_values(p, personal_questions, found)
        except Exception as exc:  # an unreadable raw file must not stop the audit
            found.notes.append(f"{p}: could not be read again ({type(exc).__name__}); not checked")
            found.unchecked.append(str(p))
            continue
        found.files += 1
    return found


def _attendance_values(path: Path, found: PersonalValues) -> None:
    from pipeline.ingest.attendance.read import find_header, read_grids

    for grid in read_grids(path):
        header = find_header(grid, "attendance", "name")
        if header is None:
            continue
        data = grid.cells.iloc[header.row + 1:]
        by_field = {f: c for c, f in header.fields.items()}
        for f in ("name", "first_name", "last_name"):
            if f in by_field:
                for v in data[by_field[f]].dropna():
                    found.add_name(v)
        if "first_name" in by_field and "last_name" in by_field:
            pairs = data[[by_field["first_name"], by_field["last_name"]]].dropna()
            for first, last in pairs.itertuples(index=False, name=None):
                found.add_name(f"{first} {last}")
        for f in ("phone", "email"):
            if f in by_field:
                for v in data[by_field[f]].dropna():
                    found.add_contact(v)


def _personal_questions(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Headers of personal survey columns: question paths and names the codebook marks."""
    out: set[str] = set()
    try:
        rows = con.execute(
            "select distinct question, name from stg_codebook__questions where is_personal"
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    for question, name in rows:
        out.update({question.lower(), name.lower()})
    try:
        from pipeline.ingest.survey.mapping import default_mapping

        forms = [r[0] for r in con.execute("select distinct form_id from survey_forms").fetchall()]
        for form_id in forms:
            mapping = default_mapping(form_id)
            if mapping is not None:
                out.update(c.lower() for c in mapping.personal)
    except (duckdb.CatalogException, ImportError):
        pass
    return out


def _agency_values(path: Path, personal: set[str], found: PersonalValues) -> None:
    """The personal variables of an SPSS or Stata file, read again with pyreadstat."""
    import pyreadstat

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else (
        pyreadstat.read_por if path.suffix.lower() == ".por" else pyreadstat.read_sav)
    frame, meta = reader(str(path), apply_value_formats=False)
    for name in frame.columns:
        if name.lower() not in personal:
            continue
        label = str((meta.column_names_to_labels or {}).get(name) or "").lower()
        is_name = any(k in f"{name.lower()} {label}" for k in ("name", "ime", "prezime"))
        for v in frame[name].dropna():
            if isinstance(v, str):
                if is_name or not any(ch.isdigit() for ch in v):
                    found.add_name(v)
                else:
                    found.add_contact(v)
            elif isinstance(v, int | float) and float(v).is_integer():
                found.add_contact(f"{v:.0f}")  # a phone number kept as a number


def _survey_values(path: Path, personal: set[str], found: PersonalValues) -> None:
    from pipeline.ingest.readers import read_workbook
    from pipeline.ingest.survey.spss import is_agency_file

    if is_agency_file(path):
        _agency_values(path, personal, found)
        return
    for sheet in read_workbook(path):
        if not sheet.rows:
            continue
        header = [str(h or "").strip().lower() for h in sheet.rows[0]]
        columns = [i for i, h in enumerate(header)
                   if h in personal or h.rsplit("/", 1)[-1] in personal]
        for i in columns:
            is_name = any(k in header[i] for k in ("name", "ime", "prezime"))
            for row in sheet.rows[1:]:
                if i < len(row) and row[i] not in (None, ""):
                    if is_name:
                        found.add_name(row[i])
                    else:
                        found.add_contact(row[i])


# ----------------------------------------------------------------------- text scanning
class Scanner:
    """Finds personal values and patterns in text, one document or cell at a time."""

    def __init__(self, personal: PersonalValues):
        self.personal = personal
        self.lengths = sorted({len(k) for k in personal.names})

    def scan(self, text: str, where: str) -> Iterator[Finding]:
        if not text or not isinstance(text, str):
            return
        if self.lengths:
            words = fold_words(text)
            seen = set()
            for n in self.lengths:
                for i in range(len(words) - n + 1):
                    key = tuple(words[i:i + n])
                    if key in self.personal.names and key not in seen:
                        seen.add(key)
                        yield Finding("name", where, mask_words(self.personal.names[key]))
        for m in PHONE.finditer(text):
            known = phone_digits(m.group()) in self.personal.phones
            yield Finding("phone", where, mask_phone(m.group())
                          + (" (a phone of the raw files)" if known else " (looks like a phone)"))
        for m in EMAIL.finditer(text):
            yield Finding("email", where, mask_email(m.group()))
        if self.personal.phones and any(c.isdigit() for c in text):
            for run in re.findall(r"(?<![\w+])\d{8,13}(?!\w)", text):
                if not PHONE.fullmatch(run) and phone_digits(run) in self.personal.phones:
                    yield Finding("phone", where, mask_phone(run) + " (a phone of the raw files)")


# --------------------------------------------------------------------------- warehouse
def scan_warehouse(con: duckdb.DuckDBPyConnection, scanner: Scanner) -> list[Finding]:
    """Every distinct text value of every base table's text columns."""
    columns = con.execute(
        "select c.table_name, c.column_name from information_schema.columns c"
        " join information_schema.tables t using (table_schema, table_name)"
        " where c.table_schema = 'main' and t.table_type = 'BASE TABLE'"
        " and c.data_type in ('VARCHAR', 'VARCHAR[]') order by 1, 2").fetchall()
    findings: list[Finding] = []
    for table, column in columns:
        values = con.execute(
            f'select distinct cast("{column}" as varchar) from "{table}" where "{column}" is not null'
        ).fetchall()
        for (value,) in values:
            findings.extend(scanner.scan(value, f"warehouse {table}.{column}"))
    return findings


def small_cells_in_warehouse(con: duckdb.DuckDBPyConnection, min_cell: int) -> list[Finding]:
    """Unsuppressed cells with ``n < min_cell`` in what leaves the warehouse (zero counts are
    published on purpose: "nobody" is a result)."""
    findings = []
    sources = [("indicator_values_published", "indicator_values_published")]
    have = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    if "indicator_snapshots" in have:
        sources.append(("indicator_snapshots", "indicator_snapshots"))
    if "indicator_values_published" not in have:
        return findings
    for label, table in sources:
        rows = con.execute(
            f"select indicator_id, period, dimension, dimension_value, n from {table}"
            " where not suppressed and n is not null and n < ? and not (n = 0 and"
            " coalesce(estimate, 0) = 0)", [min_cell]).fetchall()
        for r in rows:
            findings.append(Finding("small_cell", f"warehouse {label}",
                                    f"{r[0]} {r[1]} {r[2]}={r[3]} published with n {r[4]} < {min_cell}"))
        hidden = con.execute(
            f"select indicator_id, period, dimension, dimension_value from {table}"
            " where suppressed and (estimate is not null or ci_low is not null)").fetchall()
        for r in hidden:
            findings.append(Finding("small_cell", f"warehouse {label}",
                                    f"{r[0]} {r[1]} {r[2]}={r[3]} suppressed but its estimate is kept"))
    return findings


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


# -------------------------------------------------------------------------------- audit
@dataclass
class AuditResult:
    """Findings (the audit fails when there are any), notes, and what was read."""

    findings: list[Finding]
    notes: list[str]
    raw_files: int
    personal_values: int
    report_files: int
    unchecked: list[str] = field(default_factory=list)  # raw files that could not be read again


def audit(settings: Settings, reports: Path | None = None) -> AuditResult:
    """Audit the warehouse of ``settings`` and the reports under ``reports`` (default: the
    settings' reports folder)."""
    from pipeline.warehouse import first_row, open_published

    con = open_published(settings.db)
    try:
        personal = collect_personal_values(con, (settings.project.root,) if settings.project else ())
        scanner = Scanner(personal)
        findings = scan_warehouse(con, scanner)
        build = first_row(con, "select min_cell from indicator_builds") if _has(con, "indicator_builds") else None
        min_cell = int(build[0]) if build else settings.min_cell
        findings += small_cells_in_warehouse(con, min_cell)
        warehouse_n = None
        if _has(con, "indicator_values"):
            warehouse_n = {tuple(r[:4]): int(r[4]) for r in con.execute(
                "select indicator_id, period, dimension, dimension_value, n from indicator_values"
            ).fetchall()}
    finally:
        con.close()
    report_findings, n_files = scan_reports(Path(reports or settings.reports_dir), scanner,
                                            min_cell, warehouse_n)
    findings += report_findings
    count = len(personal.names) // 2 + len(personal.phones) + len(personal.emails)
    return AuditResult(_unique(findings), personal.notes, personal.files, count, n_files, personal.unchecked)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?",
                            [table]).fetchall()[0][0])


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.kind, f.where, f.shown)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
