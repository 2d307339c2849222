"""The adversarial input corpus: broken and hostile raw files for ``spsc ingest``.

Every file is made by code (no saved binaries), in a few seconds::

    .venv/bin/python tests/adversarial/make_corpus.py OUT_DIR

writes ``OUT_DIR/attendance/<case>.<ext>`` (sign-in sheets, with ``events.xlsx``) and
``OUT_DIR/survey/<case>.<ext>`` (citizen-survey Kobo exports, with the XLSForm they were
made from). The survey base is 12 clean submissions of the synthetic 2023Q1 wave (``spsc
synth --respondents 10 --dirty 0``); the sign-in base is :data:`PEOPLE` at event
``EV-0001``. Which outcome each case must end in is tabled in ``tests/test_adversarial.py``.
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import xlsxwriter

from pipeline.reference.names import to_cyrillic

SURVEY_ROWS = 12  # submissions in each survey case
EMPTY_ROWS = 1_000_000  # formatted-but-empty rows of the "million rows" cases
BIG_CELL = 100_000  # characters of the "100 KB cell" cases
SQL_TEXT = "'); drop table respondents; --"
FORMULA_TEXTS = ('=HYPERLINK("http://example.invalid/x","klik")', "+cmd|' /C calc'!A0")

EVENTS = [
    ("event_id", "date", "municipality", "event_type", "organiser", "title"),
    ("EV-0001", "15.03.2024", "Drvar; Ribnik", "youth_exchange", "UNDP", "Razmjena mladih"),
    ("EV-0002", "02.05.2024", "Ribnik", "citizen_dialogue", "Opština Ribnik", "Dijalog"),
]
HEADER = ["R.br.", "Ime i prezime", "Godina rođenja", "Spol", "Mjesto prebivališta", "Uloga",
          "Kontakt telefon", "Potpis"]
HEADER_CYR = ["Р.бр.", "Име и презиме", "Година рођења", "Пол", "Мјесто пребивалишта", "Улога",
              "Контакт телефон", "Потпис"]
# one sign-in sheet's people: all five load (the residence column proves the decoding)
PEOPLE = [
    [1, "Ana Petrović", 1999, "Ž", "Drvar", "mladi", "061 234 567", None],
    [2, "Marko Kovačević", 1985, "M", "Ključ", "nastavnik", None, None],
    [3, "Đorđe Šarić", "12.04.2001", "M", "Sanski Most", "učenik", "065/111-222", None],
    [4, "Milica Jovanović", 17, "Ž", "Ribnik", "mladi", None, None],
    [5, "Jelena Čolić", 2003, "Ž", "Bosanski Petrovac", "mladi", None, None],
]
PEOPLE_MUNIS = ["drvar", "kljuc", "sanski_most", "ribnik", "bosanski_petrovac"]
TITLE = [["Evidencija prisustva"], ["Razmjena mladih"], ["Datum: 15.03.2024"],
         ["ID događaja: EV-0001"], []]


@dataclass
class Corpus:
    """Where the corpus files are.

    Attributes:
        events: the events list the sign-in sheets refer to.
        form: the citizen-survey XLSForm the survey cases were exported from.
        base_rows: the survey base table (header first) every survey case is derived from.
        attendance: case name -> sign-in file.
        survey: case name -> survey export.
    """

    root: Path
    events: Path
    form: Path
    base_rows: list[list]
    attendance: dict[str, Path] = field(default_factory=dict)
    survey: dict[str, Path] = field(default_factory=dict)


# ------------------------------------------------------------------------------ writers
def write_openpyxl(path: Path, sheets: dict[str, list[list]], *, hidden: tuple[str, ...] = (),
                   merged: dict[str, list[str]] | None = None) -> Path:
    """A workbook as openpyxl writes it (formulas written as text formulas, no cached value)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
        if name in hidden:
            ws.sheet_state = "hidden"
        for ref in (merged or {}).get(name, []):
            ws.merge_cells(ref)
    wb.save(path)
    return path


def write_xlsxwriter(path: Path, sheets: dict[str, list[list]], *,
                     formulas: dict[tuple[str, int, int], tuple[str, object]] | None = None) -> Path:
    """A workbook as Excel saves it: numbers as numbers, formulas with their cached values.

    ``formulas`` maps (sheet, row, column) to (formula, cached value).
    """
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                cell = (formulas or {}).get((name, i, j))
                if cell is not None:
                    ws.write_formula(i, j, cell[0], None, cell[1])
                elif value is None:
                    continue
                elif isinstance(value, bool):
                    ws.write_boolean(i, j, value)
                elif isinstance(value, int | float):
                    ws.write_number(i, j, value)
                else:
                    ws.write_string(i, j, str(value))
    wb.close()
    return path


def text_of(value: object, decimal: str = ".") -> str:
    """A cell as a CSV field: integral floats without ``.0``, the locale's decimal mark."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
        return text.replace(".", decimal)
    return str(value)


def write_delimited(path: Path, rows: list[list], *, delimiter: str = ",", encoding: str = "utf-8",
                    decimal: str = ".", bom: bool = False, quote_all: bool = False) -> Path:
    """A delimited text file in the given encoding (Excel's "CSV" and "Unicode text" saves)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([text_of(v, decimal) for v in row])
    data = buf.getvalue().encode(encoding)
    if bom and encoding.startswith("utf-8"):
        data = codecs.BOM_UTF8 + data
    path.write_bytes(data)
    return path


def add_empty_rows(path: Path, rows: int = EMPTY_ROWS) -> Path:
    """Give the first sheet formatted-but-empty rows down to ``rows`` (as Excel keeps them when
    someone formats whole rows), by writing the sheet XML directly: fast, and a small file."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    sheet_xml = next(n for n in src.namelist() if n.startswith("xl/worksheets/sheet"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == sheet_xml:
                text = data.decode("utf-8")
                head, tail = text.split("</sheetData>")
                last = head.count("<row ")
                empty = "".join(f'<row r="{r}" s="1" customFormat="1" ht="15" customHeight="1"/>'
                                for r in range(last + 1, rows + 1))
                data = (head + empty + "</sheetData>" + tail).encode("utf-8")
            out.writestr(item, data)
    return path


def encrypt(source: Path, target: Path, password: str = "spsc") -> Path:
    """A password-protected copy (an OLE2 file with an ``EncryptedPackage`` stream), as Excel
    writes it."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with open(source, "rb") as fh:
        office = OOXMLFile(fh)
        with open(target, "wb") as out:
            office.encrypt(password, out)
    return target


def html_table(rows: list[list]) -> str:
    """A web page holding the table (what "Save as web page" or some exports give)."""
    body = "".join("<tr>" + "".join(f"<td>{text_of(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<!DOCTYPE html><html><body><table>{body}</table></body></html>"


# --------------------------------------------------------------------------- attendance
def signin_rows(people: list[list] | None = None, *, title: bool = True,
                header: list[str] = HEADER) -> list[list]:
    """A per-event sign-in sheet: title block (optional), header, people."""
    return [*(TITLE if title else []), header, *(people or PEOPLE)]


def make_attendance(folder: Path) -> dict[str, Path]:
    """Every sign-in case; returns case name -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Path] = {}
    rows = signin_rows()

    def case(name: str, path: Path) -> None:
        cases[name] = path

    good = write_openpyxl(folder / "good.xlsx", {"EV-0001": rows})
    case("zero_bytes", folder / "zero_bytes.xlsx")
    cases["zero_bytes"].write_bytes(b"")
    truncated = folder / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    case("truncated_xlsx", truncated)
    html = folder / "html_as_xlsx.xlsx"
    html.write_text(html_table(rows), encoding="utf-8")
    case("html_as_xlsx", html)
    case("csv_as_xlsx", write_delimited(folder / "csv_as_xlsx.xlsx", rows, bom=True))
    case("encrypted_xlsx", encrypt(good, folder / "encrypted.xlsx"))
    # Excel's "CSV" in BiH locales: ';' between fields, ',' as decimal mark, Windows-1250
    decimal_people = [list(p) for p in PEOPLE]
    decimal_people[3][2] = "17,0"  # an age in a cell formatted with one decimal
    decimal_rows = signin_rows(decimal_people)
    case("semicolon_decimal_comma_csv",
         write_delimited(folder / "semicolon.csv", decimal_rows, delimiter=";", decimal=",",
                         encoding="cp1250"))
    case("cp1250_csv", write_delimited(folder / "cp1250.csv", rows, encoding="cp1250"))
    cyrillic = [[p[0], to_cyrillic(p[1]), p[2], to_cyrillic(p[3]), to_cyrillic(p[4]),
                 to_cyrillic(p[5]), p[6], p[7]] for p in PEOPLE]
    cyr_title = [["Евиденција присуства"], ["Размјена младих"], ["Датум: 15.03.2024"],
                 ["ИД догађаја: EV-0001"], []]
    case("cp1251_csv", write_delimited(folder / "cp1251.csv", [*cyr_title, HEADER_CYR, *cyrillic],
                                       delimiter=";", encoding="cp1251"))
    case("utf16_tab_text", write_delimited(folder / "utf16.txt", rows, delimiter="\t",
                                           encoding="utf-16"))
    case("title_block_xlsx", write_openpyxl(folder / "title_block.xlsx", {"Sheet1": rows}))
    # merged title cells, and one residence written once for three people (merged downwards)
    merged_people = [list(p) for p in PEOPLE]
    merged_people[1][4] = merged_people[2][4] = None
    merged_people[0][4] = "Drvar"
    n_title = len(TITLE) + 1
    case("merged_cells", write_openpyxl(
        folder / "merged.xlsx", {"EV-0001": signin_rows(merged_people)},
        merged={"EV-0001": ["A1:H1", "A2:H2", f"E{n_title + 1}:E{n_title + 3}"]}))
    lists = [["M"], ["Ž"], ["mladi"], ["nastavnik"], ["učenik"]]
    case("hidden_sheet", write_openpyxl(folder / "hidden.xlsx",
                                        {"EV-0001": rows, "Liste": lists}, hidden=("Liste",)))
    formulas = {("EV-0001", len(TITLE) + 1 + i, 0): (f"=ROW()-{len(TITLE) + 1}", i + 1)
                for i in range(len(PEOPLE))}
    formulas[("EV-0001", len(TITLE) + 1, 2)] = ("=2024-25", 1999)
    case("formulas_with_values", write_xlsxwriter(folder / "formulas.xlsx", {"EV-0001": rows},
                                                  formulas=formulas))
    no_cache = [list(p) for p in PEOPLE]
    no_cache[0][2] = "=2024-25"  # a formula some tools save without computing it
    case("formula_without_value", write_openpyxl(folder / "formula_no_value.xlsx",
                                                 {"EV-0001": signin_rows(no_cache)}))
    # a second 'Spol' column (a copy-paste leftover): the first column of a field is read
    duplicated = [*TITLE, [*HEADER, "Spol"], *[[*p, "?"] for p in PEOPLE]]
    case("duplicate_columns", write_openpyxl(folder / "duplicate_columns.xlsx",
                                             {"EV-0001": duplicated}))
    case("million_empty_rows", add_empty_rows(
        write_openpyxl(folder / "million_rows.xlsx", {"EV-0001": rows})))
    nul = write_delimited(folder / "nul.csv", rows)
    nul.write_bytes(nul.read_bytes().replace(b"Ana", b"A\x00na"))
    case("nul_bytes_csv", nul)
    big = [list(p) for p in PEOPLE]
    big[0][5] = "mladi " * (BIG_CELL // 6)  # a role of 100 KB: loads as an unknown role
    big[1][4] = "Ključ" + "x" * BIG_CELL  # a residence of 100 KB: quarantined, value cut
    case("big_cells_csv", write_delimited(folder / "big_cells.csv", signin_rows(big)))
    hostile = [list(p) for p in PEOPLE]
    hostile[0][1] = "Robert'); drop table participants; --"
    hostile[1][4] = SQL_TEXT
    hostile[2][4] = FORMULA_TEXTS[1]
    hostile[3][5] = FORMULA_TEXTS[0]
    case("sql_and_formula_values", write_openpyxl(folder / "hostile.xlsx",
                                                  {"EV-0001": signin_rows(hostile)}))
    good.unlink()
    return cases


def write_long_register(path: Path, people: int, seed: int = 7) -> Path:
    """A long Livno-style register (one sheet, an event column) of ``people`` sign-ins at the
    events of :data:`EVENTS`, for load, crash and concurrency tests."""
    import random

    rng = random.Random(seed)
    first = ["Ana", "Marko", "Jelena", "Đorđe", "Amra", "Nikola", "Ivana", "Haris", "Milica",
             "Tarik", "Sanja", "Dragan", "Lejla", "Boris", "Maja", "Emir", "Vesna", "Goran"]
    last = ["Petrović", "Kovačević", "Šarić", "Čolić", "Hodžić", "Jovanović", "Babić", "Marić",
            "Delić", "Lukić", "Begić", "Ilić", "Knežević", "Mehmedović", "Popović", "Vuković"]
    places = ["Drvar", "Ribnik", "Ključ", "Mrkonjić Grad", "Sanski Most", "Glamoč", "Zagreb"]
    rows = [["Evidencija prisustva"], [],
            ["R.br.", "ID događaja", "Ime i prezime", "Godina rođenja", "Spol",
             "Mjesto prebivališta", "Uloga", "Kontakt telefon"]]
    for i in range(people):
        rows.append([i + 1, rng.choice(["EV-0001", "EV-0002"]),
                     f"{rng.choice(first)} {rng.choice(last)}", rng.randint(1950, 2010),
                     rng.choice(["M", "Ž"]), rng.choice(places), rng.choice(["mladi", "građanin"]),
                     f"06{rng.randint(1, 6)} {rng.randint(100, 999)} {rng.randint(100, 999)}"])
    return write_xlsxwriter(path, {"Prisustvo": rows})


def write_events(path: Path) -> Path:
    """The events list of :data:`EVENTS`."""
    return write_openpyxl(path, {"events": EVENTS})


# ------------------------------------------------------------------------------- survey
def survey_base(folder: Path) -> tuple[Path, list[list]]:
    """The citizen-survey XLSForm and the first :data:`SURVEY_ROWS` clean submissions of the
    synthetic 2023Q1 export (header first), values as the XLSX holds them."""
    from pipeline.synth import generate

    synth = folder / "_synth"
    generate(synth, respondents=10, dirty=0.0)
    form = folder / "citizen_survey_form.xlsx"
    shutil.copyfile(synth / "survey" / "citizen_survey_form.xlsx", form)
    wb = openpyxl.load_workbook(synth / "survey" / "citizen_survey_2023Q1.xlsx", read_only=True)
    ws = wb.worksheets[0]
    rows = [list(r) for r, _ in zip(ws.iter_rows(values_only=True), range(SURVEY_ROWS + 1),
                                    strict=False)]
    wb.close()
    shutil.rmtree(synth)
    return form, rows


def make_survey(folder: Path) -> tuple[Path, list[list], dict[str, Path]]:
    """Every survey case; returns the form, the base table and case name -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    form, base = survey_base(folder)
    header = base[0]
    col = {h: i for i, h in enumerate(header)}
    sheet = "spsc_citizen_survey"
    cases: dict[str, Path] = {}
    good = write_xlsxwriter(folder / "good.xlsx", {sheet: base})

    cases["zero_bytes"] = folder / "zero_bytes.xlsx"
    cases["zero_bytes"].write_bytes(b"")
    truncated = folder / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases["truncated_xlsx"] = truncated
    html = folder / "html_as_xlsx.xlsx"
    html.write_text(html_table(base), encoding="utf-8")
    cases["html_as_xlsx"] = html
    cases["csv_as_xlsx"] = write_delimited(folder / "csv_as_xlsx.xlsx", base, bom=True,
                                           quote_all=True)
    cases["encrypted_xlsx"] = encrypt(good, folder / "encrypted.xlsx")
    cases["semicolon_decimal_comma_csv"] = write_delimited(
        folder / "semicolon.csv", base, delimiter=";", decimal=",", encoding="cp1250")
    cases["cp1250_csv"] = write_delimited(folder / "cp1250.csv", base, encoding="cp1250")
    # an RS enumerator's copy: free text (settlements, names) in Cyrillic, codes stay Latin
    cyr = [[to_cyrillic(v) if isinstance(v, str) and not v.isascii() else v for v in r]
           for r in base]
    for r in cyr[1:]:
        r[col["location/settlement"]] = to_cyrillic(r[col["location/settlement"]])
    cases["cp1251_csv"] = write_delimited(folder / "cp1251.csv", cyr, delimiter=";",
                                          encoding="cp1251")
    cases["utf16_tab_text"] = write_delimited(folder / "utf16.txt", base, delimiter="\t",
                                              encoding="utf-16")
    title = [["Izvoz iz KoboToolbox: SPSC istraživanje građana"], ["Preuzeto 16.01.2023"], [],
             *base]
    cases["title_rows_xlsx"] = write_xlsxwriter(folder / "title_rows.xlsx", {sheet: title})
    cases["merged_cells"] = write_openpyxl(
        folder / "merged.xlsx", {sheet: [["SPSC istraživanje građana"], *base]},
        merged={sheet: [f"A1:{openpyxl.utils.get_column_letter(len(header))}1"]})
    cases["hidden_sheet"] = write_openpyxl(
        folder / "hidden.xlsx", {sheet: base, "liste": [["yes"], ["no"]]}, hidden=("liste",))
    weight = col["design/weight"]
    formulas = {(sheet, i, weight): (f"={r[weight]}*1", float(r[weight]))
                for i, r in enumerate(base) if i}
    cases["formulas_with_values"] = write_xlsxwriter(folder / "formulas.xlsx", {sheet: base},
                                                     formulas=formulas)
    dup = [[*r, r[col["demographics/age"]]] for r in base]
    dup[0][-1] = "demographics/age"
    cases["duplicate_columns"] = write_xlsxwriter(folder / "duplicate_columns.xlsx", {sheet: dup})
    cases["million_empty_rows"] = add_empty_rows(
        write_openpyxl(folder / "million_rows.xlsx", {sheet: base}))
    nul = write_delimited(folder / "nul.csv", base, bom=True)
    nul.write_bytes(nul.read_bytes().replace(b"yes", b"y\x00es", 1))
    cases["nul_bytes_csv"] = nul
    big = [list(r) for r in base]
    big[1][col["location/settlement"]] = "Hadžići " * (BIG_CELL // 8)
    cases["big_cells_csv"] = write_delimited(folder / "big_cells.csv", big, bom=True)
    hostile = [list(r) for r in base]
    hostile[1][col["location/settlement"]] = SQL_TEXT
    hostile[2][col["location/settlement"]] = FORMULA_TEXTS[0]
    hostile[3][col["location/settlement"]] = FORMULA_TEXTS[1]
    hostile[4][col["contact/respondent_name"]] = FORMULA_TEXTS[0]
    cases["sql_and_formula_values"] = write_xlsxwriter(folder / "hostile.xlsx", {sheet: hostile})
    good.unlink()
    return form, base, cases


def make_corpus(out: Path) -> Corpus:
    """Write the whole corpus into ``out`` (emptied first) and say where each case is."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    attendance = out / "attendance"
    attendance.mkdir(parents=True)
    events = write_events(attendance / "events.xlsx")
    form, base, survey = make_survey(out / "survey")
    return Corpus(out, events, form, base, make_attendance(attendance), survey)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    corpus = make_corpus(Path(sys.argv[1]))
    for kind, cases in (("attendance", corpus.attendance), ("survey", corpus.survey)):
        for name, path in cases.items():
            print(f"{kind:<10} {name:<28} {path}")
