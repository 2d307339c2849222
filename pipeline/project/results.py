"""The results framework: a spreadsheet of targets the M&E officer edits, in the layout of the
PBF "indicator based performance assessment".

One row per indicator, under a header row; title rows above it are skipped. Columns, in any
order (headers matched without case, in English or Bosnian):

=========================  ==============================================================
``Indicator id``           the indicator's ``id`` in ``indicators.yml`` (required)
``Result``, ``Indicator``  for the reader (the catalogue's result and label are used)
``Baseline``               a number, ``computed`` (the baseline survey wave's estimate) or empty
``Milestone 2024Q2`` ...   one column per milestone period (or just ``2024Q2``)
``End-of-project target``  the target value (or ``Target``)
``Target period``          the quarter the target is for (default: the project's last quarter)
``Direction``              ``increase`` (default) or ``decrease``
``Illustrative``           ``yes`` for demonstration targets (the donor table says so)
=========================  ==============================================================

Every problem is reported at once, naming the file, the row (and indicator) and the column.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

from pipeline.errors import SpscError

SHEET = "Results framework"
_PERIOD = re.compile(r"(\d{4})\s*-?\s*Q\s*([1-4])", re.IGNORECASE)
_HEADERS = {
    "indicator id": "id", "indicator_id": "id", "id": "id", "sifra indikatora": "id",
    "result": "result", "rezultat": "result", "outcome/output": "result",
    "indicator": "label", "indikator": "label", "performance indicator": "label",
    "baseline": "baseline", "indicator baseline": "baseline", "pocetna vrijednost": "baseline",
    "end-of-project target": "target", "end of project target": "target", "target": "target",
    "end of project indicator target": "target", "cilj": "target", "cilj na kraju projekta": "target",
    "target period": "target_period", "period cilja": "target_period",
    "direction": "direction", "smjer": "direction",
    "illustrative": "illustrative", "ilustrativno": "illustrative",
    "means of verification": "verification", "nacin provjere": "verification",
}
_YES = {"yes", "y", "true", "1", "da", "x"}
_NO = {"", "no", "n", "false", "0", "ne"}


class ResultsFrameworkError(SpscError):
    """The results framework is invalid; the message names the file, row and column."""


def _header_key(cell: object) -> str | None:
    from pipeline.reference.names import fold

    text = str(cell or "").strip()
    if not text:
        return None
    folded = fold(text)
    for alias, key in _HEADERS.items():
        if fold(alias) == folded:
            return key
    m = _PERIOD.search(text)
    if m and (fold(text).startswith("milestone") or fold(text).startswith("medjucilj")
              or fold(text) == fold(m.group(0))):
        return f"milestone:{m.group(1)}Q{m.group(2)}"
    return None


def read_rows(path: Path) -> list[list[object]]:
    """The cells of the results framework's sheet (``Results framework``, else the first)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        # Excel in BiH writes ';' between columns (',' is the decimal mark)
        delimiter = ";" if text.count(";") > text.count(",") else ","
        return [list(r) for r in csv.reader(text.splitlines(), delimiter=delimiter)]
    if suffix not in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise ResultsFrameworkError("a results framework is an .xlsx (or .csv) spreadsheet", str(path))
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for damaged files
        raise ResultsFrameworkError(f"cannot read the spreadsheet ({exc})", str(path)) from exc
    names = book.sheet_names
    sheet = SHEET if SHEET in names else names[0]
    return [list(r) for r in book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)]


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("%", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 47,5 as Bosnian Excel writes it
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None


def parse_results_framework(rows: list[list[object]], name: str, known: set[str]) -> dict[str, dict]:
    """Targets by indicator id from the sheet's rows.

    Returns ``{id: {"baseline", "milestones", "target", "direction", "illustrative"}}`` where
    ``target`` is ``{"value", "period"}`` (period ``None`` when the sheet gives none).
    """
    head = next((i for i, r in enumerate(rows[:30]) if "id" in [_header_key(c) for c in r]), None)
    if head is None:
        raise ResultsFrameworkError("no header row with an 'Indicator id' column in the first 30 rows", name,
                                    "see docs/project.md, 'Enter targets', for the layout")
    keys = [_header_key(c) for c in rows[head]]
    problems: list[str] = []
    seen_keys: dict[str, int] = {}
    for j, k in enumerate(keys):
        if k is not None and k in seen_keys:
            problems.append(f"column '{rows[head][j]}': appears twice")
        seen_keys.setdefault(k, j)
    out: dict[str, dict] = {}
    for i, row in enumerate(rows[head + 1:], start=head + 2):
        cells = {k: (row[j] if j < len(row) else None) for j, k in enumerate(keys) if k}
        ident = str(cells.get("id") or "").strip()
        if not ident:
            if any(str(v or "").strip() for k, v in cells.items() if k not in ("result", "label", "verification")):
                problems.append(f"row {i}: column 'Indicator id': empty, but the row has targets")
            continue
        where = f"row {i} (indicator '{ident}')"
        if ident not in known:
            problems.append(f"{where}: column 'Indicator id': no such indicator in indicators.yml")
            continue
        if ident in out:
            problems.append(f"{where}: column 'Indicator id': the indicator has two rows")
            continue
        entry: dict = {"milestones": {}, "direction": "increase", "illustrative": False}
        try:
            base = cells.get("baseline")
            entry["baseline"] = "computed" if str(base or "").strip().lower() in ("computed", "izračunato") \
                else _number(base)
        except ValueError as exc:
            problems.append(f"{where}: column 'Baseline': {exc} (or write 'computed')")
        for k, v in cells.items():
            if k.startswith("milestone:"):
                try:
                    value = _number(v)
                except ValueError as exc:
                    problems.append(f"{where}: column 'Milestone {k[10:]}': {exc}")
                    continue
                if value is not None:
                    entry["milestones"][k[10:]] = value
        try:
            value = _number(cells.get("target"))
        except ValueError as exc:
            problems.append(f"{where}: column 'End-of-project target': {exc}")
            value = None
        period = str(cells.get("target_period") or "").strip()
        m = _PERIOD.fullmatch(period) if period else None
        if period and not m:
            problems.append(f"{where}: column 'Target period': {period!r} is not a quarter like 2024Q4")
        if value is not None:
            entry["target"] = {"value": value, "period": f"{m.group(1)}Q{m.group(2)}" if m else None}
        elif entry["milestones"]:
            problems.append(f"{where}: column 'End-of-project target': milestones need a target")
        direction = str(cells.get("direction") or "").strip().lower() or "increase"
        direction = {"povećanje": "increase", "smanjenje": "decrease"}.get(direction, direction)
        if direction not in ("increase", "decrease"):
            problems.append(f"{where}: column 'Direction': {direction!r} is not increase or decrease")
        entry["direction"] = direction
        flag = str(cells.get("illustrative") or "").strip().lower()
        if flag not in _YES | _NO:
            problems.append(f"{where}: column 'Illustrative': {flag!r} is not yes or no")
        entry["illustrative"] = flag in _YES
        out[ident] = entry
    if problems:
        raise ResultsFrameworkError("; ".join(problems), name)
    return out


def apply_results_framework(catalogue, path: Path):
    """The catalogue with baselines, milestones, targets and directions from the spreadsheet.

    An indicator's targets live in one place: the spreadsheet, or its entry in
    ``indicators.yml``; giving them in both is an error.
    """
    from pipeline.indicators.catalogue import Target, check_targets

    rows = read_rows(path)
    found = parse_results_framework(rows, path.name, {i.id for i in catalogue.indicators})
    periods = set(catalogue.waves.values()) | set(catalogue.quarters)
    last = catalogue.quarters[-1] if catalogue.quarters else None
    problems, updated = [], []
    for ind in catalogue.indicators:
        entry = found.get(ind.id)
        if entry is None:
            updated.append(ind)
            continue
        if ind.target is not None or ind.milestones or ind.baseline is not None:
            problems.append(f"indicator '{ind.id}': targets are in both indicators.yml and {path.name}; "
                            "keep them in one place")
            continue
        target = entry.get("target")
        new = ind.model_copy(update={
            "baseline": entry.get("baseline"), "milestones": entry["milestones"],
            "target": Target(value=target["value"], period=target["period"] or last) if target else None,
            "direction": entry["direction"], "illustrative": entry["illustrative"]})
        problems += [f"indicator '{ind.id}': column '{_column(f)}': {m}" for f, m in check_targets(new, periods)]
        updated.append(new)
    if problems:
        raise ResultsFrameworkError("; ".join(problems), path.name)
    return catalogue.model_copy(update={"indicators": updated})


def _column(field: str) -> str:
    if field.startswith("milestones."):
        return f"Milestone {field.split('.', 1)[1]}"
    return {"target.value": "End-of-project target", "target.period": "Target period",
            "baseline": "Baseline", "milestones": "Milestone", "progress": "Direction"}.get(field, field)


def write_results_framework(path: Path, rows: list[dict], milestone_periods: list[str],
                            title: str = "") -> None:
    """A results framework workbook (the layout above) with these rows.

    Each row: ``result``, ``id``, ``label``, ``baseline``, ``milestones`` (period -> value),
    ``target``, ``target_period``, ``direction``, ``illustrative``, ``verification``.
    """
    import xlsxwriter

    columns = (["Result", "Indicator id", "Indicator", "Baseline"]
               + [f"Milestone {p}" for p in milestone_periods]
               + ["End-of-project target", "Target period", "Direction", "Illustrative", "Means of verification"])
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        # a fixed date: the same rows give the same file
        book.set_properties({"title": "Results framework", "created": datetime(2024, 1, 1)})
        bold = book.add_format({"bold": True, "font_size": 13})
        head = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7",
                                "border": 1})
        cell = book.add_format({"text_wrap": True, "valign": "top", "border": 1})
        sheet = book.add_worksheet(SHEET)
        sheet.write_string(0, 0, title or "Results framework: indicator based performance assessment", bold)
        sheet.write_string(1, 0, "One row per indicator of indicators.yml; see docs/project.md ('Enter targets').")
        widths = {"Result": 9, "Indicator id": 24, "Indicator": 48, "Means of verification": 40}
        for j, name in enumerate(columns):
            sheet.set_column(j, j, widths.get(name, 12))
            sheet.write_string(3, j, name, head)
        for i, r in enumerate(rows, start=4):
            values = ([r.get("result", ""), r["id"], r.get("label", ""), r.get("baseline")]
                      + [r.get("milestones", {}).get(p) for p in milestone_periods]
                      + [r.get("target"), r.get("target_period", ""), r.get("direction", "increase"),
                         "yes" if r.get("illustrative") else "", r.get("verification", "")])
            for j, v in enumerate(values):
                if v is None or v == "":
                    sheet.write_blank(i, j, None, cell)
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    sheet.write_number(i, j, float(v), cell)
                else:
                    sheet.write_string(i, j, str(v), cell)
        sheet.freeze_panes(4, 2)
    finally:
        book.close()
