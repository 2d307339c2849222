"""The PBF "indicator based performance assessment" table, from ``indicator_values``.

One row per catalogue indicator: result, label, unit, baseline, end-of-project target,
milestone expected by the period, current progress with its 95% confidence interval, the
number of people behind it (``n``) and how the interval was made (survey percentages: logit
interval, mean scores: t interval, both on the design's degrees of freedom), the period it was
measured in, status, and an empty "reasons for variance" column for the analyst.

Which value is "current progress" for ``--period P``:

- survey indicators: the total of the latest survey wave up to P (e.g. the baseline, midline or
  endline wave of the project's ``waves``);
- attendance indicators: the cumulative value through P (counts and shares since the start of
  the project). When P is the latest loaded quarter this is the built ``cumulative`` period;
  for an earlier P the engine recomputes through P (cross-entity ties are only known
  cumulatively for the latest quarter, so they show no data for an earlier P).

Milestone expected by the period: the catalogue's milestone of the measurement period, or the
value on the straight line through baseline, milestones and target (by quarter) when no
milestone is set for it. Attendance baselines sit just before the first project quarter;
survey baselines at the baseline wave.

Status rule (documented here and in the XLSX notes). With ``expected`` the milestone above,
``progress expected`` = expected - baseline, and ``best`` the most favourable end of the 95%
CI (the upper bound for indicators meant to increase, the lower bound for those meant to
decrease, as the catalogue's ``direction`` says; the count itself for attendance, which has no
CI):

- **on track**: ``best`` reaches the milestone (the data cannot rule out being on schedule);
- **off track**: even ``best`` shows less than half the progress expected by this period;
- **at risk**: anything in between;
- **no data**: nothing measured yet, or the cell is suppressed (fewer than min_cell people);
- **baseline**: the measurement is the baseline itself (computed baselines), not assessed;
- **no target**: the results framework gives the indicator no target (it is reported, not assessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.exports import neutralise, neutralise_frame
from pipeline.indicators.attendance_counts import attendance_values
from pipeline.indicators.catalogue import QUARTER, Catalogue, Indicator
from pipeline.indicators.engine import baseline_period
from pipeline.indicators.marts import CUMULATIVE
from pipeline.indicators.suppression import suppress
from pipeline.warehouse import first_row


def _words(group: str, keys: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{key: {lang: text}}`` of a group of the string catalogues (pipeline/lang/)."""
    from pipeline.lang import LANGS, catalogue

    return {k: {lang: catalogue(lang)[f"{group}.{k}"] for lang in LANGS} for k in keys}


STATUS = _words("status", ("on_track", "at_risk", "off_track", "no_data", "baseline", "no_target"))
UNITS = _words("unit", ("percent", "mean", "count"))
DECIMALS = {"percent": 1, "mean": 2, "count": 0}


def unit_text(unit: str, scale, lang: str) -> str:
    """How a unit is written: ``%``, ``mean 0-10``, ``number``."""
    text = UNITS[unit][lang]
    if unit == "mean" and scale:
        text += f" {scale[0]:g}-{scale[1]:g}"
    return text
# column key -> header in each language
HEADERS = {
    "result": {"en": "Result", "bs": "Rezultat"},
    "indicator_id": {"en": "Indicator id", "bs": "Šifra indikatora"},
    "label_en": {"en": "Indicator (English)", "bs": "Indikator (engleski)"},
    "label_bs": {"en": "Indicator (Bosnian)", "bs": "Indikator (bosanski)"},
    "label": {"en": "Indicator", "bs": "Indikator"},
    "unit": {"en": "Unit", "bs": "Jedinica"},
    "baseline": {"en": "Baseline", "bs": "Početna vrijednost"},
    "target": {"en": "End-of-project target", "bs": "Cilj na kraju projekta"},
    "target_period": {"en": "Target period", "bs": "Period cilja"},
    "milestone": {"en": "Milestone (expected by this period)", "bs": "Međucilj (očekivano do ovog perioda)"},
    "progress": {"en": "Current progress", "bs": "Trenutni napredak"},
    "ci_low": {"en": "95% CI low", "bs": "95% IP donja granica"},
    "ci_high": {"en": "95% CI high", "bs": "95% IP gornja granica"},
    "n": {"en": "n (people)", "bs": "n (osoba)"},
    "interval": {"en": "CI method", "bs": "Metoda IP"},
    "measured_in": {"en": "Measured in", "bs": "Mjereno u"},
    "status": {"en": "Status", "bs": "Status"},
    "reasons": {"en": "Reasons for variance", "bs": "Razlozi odstupanja"},
    "note": {"en": "Note", "bs": "Napomena"},
}
NUMBER_COLUMNS = ("baseline", "target", "milestone", "progress", "ci_low", "ci_high")
NOTES = {
    "en": [
        "Status rule. Milestone = the catalogue milestone for the period measured, or the value on the straight line"
        " through baseline, milestones and end target. 'best' = the most favourable end of the 95% confidence interval"
        " (the count itself for attendance indicators, which have no CI). On track: best reaches the milestone."
        " Off track: even best shows less than half the progress expected by this period (milestone - baseline)."
        " At risk: in between. No data: not measured yet, or suppressed.",
        "Current progress: survey indicators show the latest survey wave up to the period; attendance indicators show"
        " the cumulative value since the start of the project through the period.",
        "Units: percentages are on 0-100 (confidence intervals in percentage points); means are on the answers'"
        " own scale; counts are numbers of events, people or ties.",
        "Small cells: a value built from fewer than {min_cell} people is suppressed (shown empty, 'suppressed');"
        " counts that would let a suppressed cell be recovered by subtraction are suppressed too.",
        "Targets marked 'illustrative' are demonstration values, not agreed project targets.",
        "Confidence intervals (CI method column): survey percentages use the logit interval and survey mean"
        " scores a t interval, both on the design's degrees of freedom (df: settlements sampled minus strata"
        " holding the value), as R's survey package (svyciprop(method = 'logit'), confint(df = ...)); they"
        " account for the clustering of respondents in settlements. n is the number of respondents (survey) or"
        " people (attendance) behind the value. A value whose variance cannot be estimated (e.g. all its"
        " respondents in one settlement) is shown without an interval and says so.",
        "Reasons for variance: to be filled in by the analyst.",
    ],
    "bs": [
        "Pravilo statusa. Međucilj = međucilj iz kataloga za period mjerenja, ili vrijednost na pravcu kroz početnu"
        " vrijednost, međuciljeve i konačni cilj. 'best' = najpovoljnija granica 95% intervala pouzdanosti (za"
        " indikatore prisustva sam broj). Na dobrom putu: best dostiže međucilj. Zaostaje: i best pokazuje manje od"
        " polovine napretka očekivanog do ovog perioda. U riziku: između. Nema podataka: još nije mjereno ili je potisnuto.",
        "Trenutni napredak: za istraživanja posljednji talas do perioda; za prisustvo kumulativna vrijednost od"
        " početka projekta do perioda.",
        "Jedinice: procenti na skali 0-100 (intervali u procentnim poenima); prosjeci su na skali samih odgovora;"
        " brojevi su događaji, osobe ili veze.",
        "Male ćelije: vrijednost zasnovana na manje od {min_cell} osoba se ne objavljuje ('potisnuto'); potiskuju se"
        " i brojevi iz kojih bi se potisnuta vrijednost mogla izračunati oduzimanjem.",
        "Ciljevi označeni kao 'ilustrativni' su demonstracijske vrijednosti, a ne dogovoreni ciljevi projekta.",
        "Intervali pouzdanosti (kolona Metoda IP): procenti iz istraživanja koriste logit interval, a prosječne"
        " ocjene t interval, oba na stepenima slobode uzorka (df: uzorkovana naselja minus stratumi u kojima je"
        " vrijednost), kao R paket survey (svyciprop(method = 'logit'), confint(df = ...)); uzimaju u obzir"
        " grupisanje ispitanika po naseljima. n je broj ispitanika (istraživanje) ili osoba (prisustvo) iza"
        " vrijednosti. Vrijednost čija se varijansa ne može procijeniti (npr. svi ispitanici u jednom naselju)"
        " prikazuje se bez intervala, uz napomenu.",
        "Razlozi odstupanja: popunjava analitičar.",
    ],
}
NOTE_TEXT = _words("note", ("suppressed", "illustrative", "interpolated", "no_past_ties", "no_interval"))
INTERVAL_TEXT = _words("interval", ("logit", "t"))
# engine notes after which a cell has no confidence interval
_NO_INTERVAL = ("variance_not_estimable", "no_degrees_of_freedom", "no_variation")
_PRECISION = ["n", "df", "ci_method", "note"]


def quarter_index(period: str) -> int:
    """2024Q1 -> a running quarter number, so periods can be placed on a line."""
    return int(period[:4]) * 4 + int(period[-1]) - 1


def _start_index(ind: Indicator, catalogue: Catalogue, first_wave: str | None = None) -> int:
    if ind.is_survey and (catalogue.baseline_wave or first_wave):
        return quarter_index(catalogue.baseline_wave or first_wave)
    return quarter_index(catalogue.quarters[0]) - 1  # attendance starts from nothing


def expected_value(ind: Indicator, catalogue: Catalogue, baseline: float, period: str,
                   first_wave: str | None = None) -> tuple[float | None, bool]:
    """The value expected at ``period`` and whether it was interpolated (no milestone set);
    ``None`` without a target."""
    if ind.target is None:
        return None, False
    points = {_start_index(ind, catalogue, first_wave): baseline}
    points.update({quarter_index(p): v for p, v in ind.milestones.items()})
    points[quarter_index(ind.target.period)] = ind.target.value
    at = quarter_index(period)
    if at in points:
        return points[at], False
    xs = sorted(points)
    return float(np.interp(at, xs, [points[x] for x in xs])), True


def assess(baseline: float | None, expected: float | None, estimate: float | None,
           ci_low: float | None, ci_high: float | None, increasing: bool) -> str:
    """The status key (see the module docstring for the rule)."""
    if estimate is None or baseline is None or expected is None:
        return "no_data"
    sign = 1.0 if increasing else -1.0
    best = ci_high if increasing else ci_low
    if best is None:
        best = estimate
    if sign * (best - expected) >= 0:
        return "on_track"
    if sign * (best - baseline) < 0.5 * sign * (expected - baseline):
        return "off_track"
    return "at_risk"


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dataclass
class _Cell:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    period: str | None
    suppressed: bool
    n: float | None = None
    df: float | None = None
    ci_method: str | None = None
    note: str | None = None


def _read_values(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, int]:
    """The built totals and the small-cell threshold the build applied."""
    try:
        values = con.execute(
            "select indicator_id, period, estimate, se, ci_low, ci_high, suppressed, n, df,"
            " ci_method, note from indicator_values where dimension = 'total'").df()
        build = first_row(con, "select min_cell from indicator_builds")
    except duckdb.CatalogException as exc:
        raise SpscError("the warehouse has no indicator tables", "indicator_values",
                        "run 'spsc init' and 'spsc build' first") from exc
    if values.empty or build is None:
        raise SpscError("no indicator values yet", "indicator_values", "run 'spsc build' first")
    return values, int(build[0])


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _cell(rows: pd.DataFrame) -> _Cell:
    if rows.empty:
        return _Cell(None, None, None, None, False)
    row = rows.iloc[-1]
    hidden = bool(row["suppressed"])
    return _Cell(_num(row["estimate"]), _num(row["ci_low"]), _num(row["ci_high"]), row["period"],
                 hidden, None if hidden else _num(row.get("n")), _num(row.get("df")),
                 _text(row.get("ci_method")), _text(row.get("note")))


def donor_rows(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, settings: Settings,
               period: str, values: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per indicator for the reporting period ``period`` (language-neutral keys).

    Recomputed cells (attendance through a past period) are suppressed with the threshold of
    the build, so a table never shows more than the warehouse publishes. ``table.attrs
    ["min_cell"]`` holds that threshold.

    Args:
        values: the cells to publish, when the caller has them already (a report reads its
            period's snapshot, whose attendance ``cumulative`` cells are counted through
            ``period``); by default the current ``indicator_values``.
    """
    if not QUARTER.match(period):
        raise SpscError(f"'{period}' is not a period like 2024Q4", "--period")
    published = values
    values, min_cell = _read_values(con)
    if published is not None:
        values = published.loc[published["dimension"] == "total"].reindex(
            columns=["indicator_id", "period", "estimate", "se", "ci_low", "ci_high", "suppressed",
                     *_PRECISION]).reset_index(drop=True)
    quarters = sorted(p for p in values["period"].unique() if QUARTER.match(p))
    latest_attendance = max(
        (p for p in values.loc[values["indicator_id"].isin(
            [i.id for i in catalogue.indicators if not i.is_survey]), "period"] if p != CUMULATIVE),
        default=None)
    past = None
    if published is not None:
        latest_attendance = min(latest_attendance, period) if latest_attendance else None
    elif latest_attendance is not None and period < latest_attendance:
        counts = {i.id for i in catalogue.indicators if i.unit == "count"}
        past = attendance_values(con, catalogue, settings, through=period)
        past = suppress(past, min_cell, counts) if not past.empty else past
        past = past[past["dimension"] == "total"] if not past.empty else past
    rows = []
    for ind in catalogue.indicators:
        own = values[values["indicator_id"] == ind.id]
        notes = []
        if ind.is_survey:
            waves = own[own["period"].isin([q for q in quarters if q <= period])].sort_values("period")
            cell = _cell(waves)
        elif past is not None:
            if ind.of == "ties":
                notes.append("no_past_ties")
            cell = _cell(past[(past["indicator_id"] == ind.id) & (past["period"] == CUMULATIVE)]
                         if not past.empty else past)
            cell.period = cell.period and f"{catalogue.quarters[0]}-{period}"
        else:
            cell = _cell(own[own["period"] == CUMULATIVE])
            if cell.period is not None:
                cell.period = f"{catalogue.quarters[0]}-{latest_attendance}"
        first_wave = baseline_period(catalogue, own["period"]) if ind.is_survey else None
        if ind.baseline == "computed":
            base = own[own["period"] == first_wave]
            baseline = _num(base["estimate"].iloc[0]) if not base.empty else None
        else:
            baseline = None if ind.baseline is None else float(ind.baseline)
        measured = cell.period if ind.is_survey else period
        expected, interpolated = (None, False)
        if baseline is not None and measured is not None:
            expected, interpolated = expected_value(ind, catalogue, baseline, measured, first_wave)
        status = assess(baseline, expected, cell.estimate, cell.ci_low, cell.ci_high,
                        increasing=ind.direction == "increase")
        if ind.is_survey and ind.baseline == "computed" and cell.period == first_wave:
            status = "baseline"
        elif ind.target is None:
            status = "no_target" if cell.estimate is not None else "no_data"
        if cell.suppressed:
            notes.append("suppressed")
        elif cell.note and any(code in cell.note.split(";") for code in _NO_INTERVAL):
            notes.append("no_interval")
        if interpolated:
            notes.append("interpolated")
        if ind.illustrative:
            notes.append("illustrative")
        rows.append({
            "result": ind.result, "indicator_id": ind.id, "label_en": ind.label.en,
            "label_bs": ind.label.bs, "unit": ind.unit, "scale": ind.scale, "baseline": baseline,
            "target": ind.target.value if ind.target else None,
            "target_period": ind.target.period if ind.target else None, "milestone": expected,
            "progress": cell.estimate, "ci_low": cell.ci_low, "ci_high": cell.ci_high,
            "n": cell.n, "ci_method": cell.ci_method, "df": cell.df, "measured_in": cell.period, "status": status, "reasons": "", "notes": notes,
        })
    table = pd.DataFrame(rows)
    for col in NUMBER_COLUMNS:
        table[col] = table[col].astype("float64")
    table.attrs["min_cell"] = min_cell
    return table


def localise(table: pd.DataFrame, lang: str, min_cell: int, bilingual: bool = False,
             rounded: bool = True) -> pd.DataFrame:
    """The donor table with units, statuses and notes in ``lang``.

    Numbers are rounded to the unit's decimals (1 for percent, 2 for scores, 0 for counts)
    unless ``rounded`` is false (XLSX keeps full values and shows them with number formats).
    """
    out = pd.DataFrame()
    out["result"] = table["result"]
    if bilingual:
        out["label_en"] = table["label_en"]
        out["label_bs"] = table["label_bs"]
    else:
        out["label"] = table[f"label_{lang}"]
    scales = table["scale"] if "scale" in table else [None] * len(table)
    out["unit"] = [unit_text(u, sc, lang) for u, sc in zip(table["unit"], scales, strict=True)]
    for col in NUMBER_COLUMNS:
        out[col] = [None if pd.isna(v) else round(float(v), DECIMALS[u]) if rounded else float(v)
                    for v, u in zip(table[col], table["unit"], strict=True)]
        out[col] = out[col].astype("float64")
    out["n"] = pd.array([None if pd.isna(v) else int(v) for v in table.get("n", [None] * len(table))],
                        dtype="Int64")
    out["interval"] = [interval_text(m, d, lang) for m, d in zip(
        table.get("ci_method", [None] * len(table)), table.get("df", [None] * len(table)), strict=True)]
    out["target_period"] = table["target_period"].fillna("")
    out["measured_in"] = table["measured_in"].fillna("")
    out["status"] = table["status"].map(lambda s: STATUS[s][lang])
    out["reasons"] = ""
    out["note"] = table["notes"].map(
        lambda keys: "; ".join(NOTE_TEXT[k][lang].format(min_cell=min_cell) for k in keys))
    order = ["result", *(["label_en", "label_bs"] if bilingual else ["label"]), "unit", "baseline",
             "target", "target_period", "milestone", "progress", "ci_low", "ci_high", "n", "interval",
             "measured_in", "status", "reasons", "note"]
    return out[order]


def interval_text(method, df, lang: str) -> str:
    """How a value's CI was made (``logit, 12 df``); empty for counts, which have none."""
    if method is None or (not isinstance(method, str) and pd.isna(method)) or method not in INTERVAL_TEXT:
        return ""
    shown = "?" if df is None or pd.isna(df) else f"{int(df)}"
    return INTERVAL_TEXT[method][lang].format(df=shown)


def headers(columns: list[str], lang: str, bilingual: bool = False) -> list[str]:
    """Column headers in ``lang`` (or "English / Bosnian")."""
    if bilingual:
        return [HEADERS[c]["en"] if HEADERS[c]["en"] == HEADERS[c]["bs"]
                else f"{HEADERS[c]['en']} / {HEADERS[c]['bs']}" for c in columns]
    return [HEADERS[c][lang] for c in columns]


def write_csv(table: pd.DataFrame, path: Path | None, lang: str, min_cell: int) -> str:
    """The table as CSV (UTF-8 with BOM, so Excel reads the diacritics); returns the text."""
    frame = localise(table, lang, min_cell)
    frame.columns = headers(list(frame.columns), lang)
    text = neutralise_frame(frame).to_csv(index=False, lineterminator="\n")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8-sig")
    return text


def write_xlsx(table: pd.DataFrame, path: Path, period: str, lang: str, min_cell: int) -> None:
    """A workbook formatted for people: bilingual labels and headers, number formats, notes."""
    import xlsxwriter

    frame = localise(table, lang, min_cell, bilingual=True, rounded=False)
    columns = list(frame.columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        head = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7",
                                "border": 1})
        wrap = book.add_format({"text_wrap": True, "valign": "top", "border": 1})
        formats = {d: book.add_format({"num_format": f, "valign": "top", "border": 1})
                   for d, f in ((0, "#,##0"), (1, "0.0"), (2, "0.00"))}
        status_fill = {
            STATUS["on_track"][lang]: "#C6EFCE", STATUS["at_risk"][lang]: "#FFEB9C",
            STATUS["off_track"][lang]: "#FFC7CE"}
        sheet = book.add_worksheet(f"Indicators {period}")
        widths = {"result": 9, "label_en": 48, "label_bs": 48, "unit": 12, "target_period": 10,
                  "n": 9, "interval": 14, "measured_in": 16, "status": 16, "reasons": 40, "note": 30}
        for j, (key, title) in enumerate(zip(columns, headers(columns, lang, bilingual=True), strict=True)):
            sheet.set_column(j, j, widths.get(key, 13))
            sheet.write_string(0, j, neutralise(title), head)
        sheet.set_row(0, 48)
        for i, row in enumerate(frame.itertuples(index=False), start=1):
            decimals = DECIMALS[table["unit"].iloc[i - 1]]
            for j, (key, value) in enumerate(zip(columns, row, strict=True)):
                if key in NUMBER_COLUMNS or key == "n":
                    digits = 0 if key == "n" else decimals
                    if value is None or pd.isna(value):
                        sheet.write_blank(i, j, None, formats[digits])
                    else:
                        sheet.write_number(i, j, float(value), formats[digits])
                else:
                    fill = status_fill.get(value) if key == "status" else None
                    fmt = book.add_format({"text_wrap": True, "valign": "top", "border": 1,
                                           "bg_color": fill}) if fill else wrap
                    sheet.write_string(i, j, neutralise("" if value is None else str(value)), fmt)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(frame), len(columns) - 1)
        notes = book.add_worksheet("Notes")
        notes.set_column(0, 0, 120)
        title = book.add_format({"bold": True, "font_size": 13})
        notes.write_string(0, 0, f"Indicator based performance assessment / Procjena učinka na osnovu"
                                 f" indikatora: {period}", title)
        notes.write_string(1, 0, f"Generated / Izrađeno: {datetime.now():%Y-%m-%d %H:%M}")
        line = 3
        for language in ("en", "bs"):
            for text in NOTES[language]:
                notes.write_string(line, 0, neutralise(text.format(min_cell=min_cell)), wrap)
                line += 1
            line += 1
    finally:
        book.close()


def render_table(table: pd.DataFrame, lang: str, min_cell: int):
    """A rich table for the terminal: progress shown with its CI."""
    from rich.table import Table

    frame = localise(table, lang, min_cell)
    keys = ["result", "label", "baseline", "target", "milestone", "progress", "measured_in", "status", "note"]
    out = Table(*headers(keys, lang), show_lines=False)
    for _, row in frame.iterrows():
        unit = "%" if table.loc[_, "unit"] == "percent" else ""

        def show(value, unit=unit):
            return "" if value is None or pd.isna(value) else f"{value:g}{unit}"

        progress = show(row["progress"])
        if progress and not pd.isna(row["ci_low"]):
            progress += f" ({show(row['ci_low'])}–{show(row['ci_high'])}; {row['interval']})"
        if progress and not pd.isna(row["n"]):
            progress += f" n={int(row['n'])}"
        out.add_row(row["result"], row["label"], show(row["baseline"]), show(row["target"]),
                    show(row["milestone"]), progress, row["measured_in"], row["status"], row["note"])
    return out
