"""The sections of the quarterly report and the municipality profile, one function each.

Each function takes an open :class:`~pipeline.reports.report.Report` and shows its section:
heading, sentences written from the numbers, tables and charts. The sections follow the
project's catalogue: a section per result with a chart per indicator over its breakdowns, so a
project with other indicators gets a report about them; the participation section, the
activities list and the maps appear only when the project has the attendance data or the
municipalities they need. They work for the project (``rep.muni is None``) and for one
municipality, which they compare with the project. Every number comes from
``indicator_values`` / ``indicator_changes``; suppressed cells appear as "n < 10" (or
"n < 10 (potisnuto)" and the like, from the language's catalogue), never as a number.
"""

from __future__ import annotations

import math

import pandas as pd

from pipeline.reports import charts, data, narrative
from pipeline.reports.pages import render
from pipeline.reports.report import Report
from pipeline.reports.text import interval, number, suppressed_text, t, value

HEADLINE_MAX = 6
DIMENSION_ORDER = ("total", "sex", "age_group", "entity", "municipality")
VALUE_ORDER = {"sex": ("female", "male"), "entity": ("FBiH", "RS", "BD")}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def shown_cell(rep: Report, row: pd.Series | None, unit: str, with_ci: bool = True) -> str:
    """A cell as readers see it: ``47% (43–51%)``, ``n < 10`` or empty when there is none."""
    if row is None:
        return ""
    if bool(row["suppressed"]):
        return suppressed_text(rep.lang, rep.min_cell)
    if _missing(row["estimate"]):
        return ""
    text = value(float(row["estimate"]), unit, rep.lang)
    ci = interval(row["ci_low"], row["ci_high"], unit, rep.lang) if with_ci else ""
    return f"{text} ({ci})" if ci else text


def _num(row: pd.Series | None, column: str = "estimate") -> float | None:
    if row is None or bool(row.get("suppressed", False)) or _missing(row[column]):
        return None
    return float(row[column])


def _signed(x: float, unit: str, lang: str) -> str:
    """A change with its sign, in points for percentages: ``+9``, ``-0.3``."""
    text = number(x, lang, 0 if unit == "percent" else 1)
    return text if text.startswith("-") or text.strip("0,.") == "" else "+" + text


def _value_period(rep: Report, indicator_id: str) -> tuple[str | None, str]:
    """The period of a municipality's current value and its label: the latest survey wave,
    or for attendance the cumulative cells when they run to this quarter, else the quarter."""
    ind = rep.catalogue.get(indicator_id)
    if not ind.is_survey and rep.cumulative_available(indicator_id):
        return data.CUMULATIVE, t("cumulative_to", rep.lang, period=rep.period)
    period = rep.reported_period(indicator_id)
    return period, period or ""


# ---------------------------------------------------------------------------- title
def title(rep: Report) -> None:
    """The report's title, subtitle and scope."""
    rep.html(render("title", title=rep.title, subtitle=rep.subtitle))
    missing = rep.untranslated
    if missing:  # indicators.yml lacks this language for some labels: they are in English
        rep.paragraphs([t("translation_missing", rep.lang, labels="; ".join(missing))], css="note")


# ---------------------------------------------------------------------------- headline
def headline_items(rep: Report) -> list[dict]:
    """The headline figures: ``subject``, ``big`` (the value as shown), ``detail`` and ``sentence``.

    The project's figures are the donor table's current progress (latest survey wave;
    attendance cumulative through the quarter); a municipality's are its cells of the same
    periods, beside the project's.
    """
    lang = rep.lang
    items = []
    for ind_id in headline_ids(rep):
        ind = rep.catalogue.get(ind_id)
        unit = ind.display_unit
        subj = rep.subject(ind_id)
        if rep.muni is None:
            row = rep.donor().set_index("indicator_id").loc[ind_id]
            if row["measured_in"] is None or pd.isna(row["measured_in"]):
                continue
            cell = donor_cell(row)
            when = str(row["measured_in"])
            sentence = narrative.level_sentence(
                subj, unit, _num(cell), _num(cell, "ci_low"), _num(cell, "ci_high"), when,
                lang, rep.min_cell)
            extra = ""
        else:
            if "municipality" not in ind.disaggregations:
                continue
            period, when = _value_period(rep, ind_id)
            if period is None:
                continue
            cell = rep.scope_cell(ind_id, period)
            total = rep.cell(ind_id, period)
            word = "project_total" if ind.unit == "count" else "project_average"
            extra = f"{t(word, lang)}: {shown_cell(rep, total, unit, with_ci=False)}"
            sentence = narrative.comparison_sentence(
                subj, unit, rep.place, _num(cell), _num(cell, "ci_low"), _num(cell, "ci_high"),
                _num(total), lang, rep.min_cell, city=rep.is_city)
        ci = "" if cell is None else interval(cell["ci_low"], cell["ci_high"], unit, lang)
        detail = [when] + ([f"95% {t('ci_abbr', lang)} {ci}"] if ci else []) \
            + ([extra] if extra else [])
        # a municipality without a cell had nobody behind it: fewer than min_cell people
        empty = suppressed_text(lang, rep.min_cell) if rep.muni is not None else "–"
        items.append({"indicator_id": ind_id, "subject": subj,
                      "big": shown_cell(rep, cell, unit, with_ci=False) or empty,
                      "detail": "; ".join(detail), "sentence": sentence})
    return items


def headline_ids(rep: Report) -> list[str]:
    """The indicators the headline shows: those marked ``headline: true`` in the catalogue,
    else the first indicator of each result (at most six)."""
    marked = [i.id for i in rep.catalogue.indicators if i.headline]
    if not marked:
        firsts: dict[str, str] = {}
        for ind in rep.catalogue.indicators:
            firsts.setdefault(ind.result, ind.id)
        marked = list(firsts.values())
    return marked[:HEADLINE_MAX]


def headline(rep: Report) -> None:
    """Headline figures as cards, with one sentence each."""
    items = headline_items(rep)
    if not items:
        return
    rep.heading("headline")
    rep.html(render("cards", cards=items))
    rep.paragraphs([i["sentence"] for i in items])


# ---------------------------------------------------------------------------- donor table
def donor_cell(row: pd.Series) -> pd.Series:
    """A donor-table row as a published cell (estimate, CI, suppressed)."""
    return pd.Series({"estimate": row["progress"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                      "suppressed": "suppressed" in (row["notes"] or [])})


def donor_table(rep: Report) -> None:
    """The results-framework indicators (the PBF performance assessment of ``spsc indicators``).

    For a municipality, its cells beside the project's instead (targets are project-wide).
    """
    rep.heading("donor_table")
    lang = rep.lang
    if rep.muni is None:
        # imported here: it brings the indicator engine (scipy), which a profile never needs
        from pipeline.indicators.donor_table import localise

        table = rep.donor()
        shown_rows = []
        for _, row in table.iterrows():
            unit = row["unit"]
            cell = donor_cell(row)
            target = value(_num(row, "target"), unit, lang)
            shown_rows.append({
                t("col_result", lang): row["result"], t("col_indicator", lang): rep.label(row["indicator_id"]),
                t("col_baseline", lang): value(_num(row, "baseline"), unit, lang),
                t("col_milestone", lang): value(_num(row, "milestone"), unit, lang),
                t("col_target", lang): f"{target} ({row['target_period']})" if target else "",
                t("col_value", lang): shown_cell(rep, cell, unit) if row["measured_in"] else "",
                t("col_period", lang): row["measured_in"] or "",
                t("col_status", lang): t(f"status.{row['status']}", lang)})
        tidy = localise(table, "en", rep.min_cell, bilingual=True, rounded=False)
        tidy.insert(1, "indicator_id", table["indicator_id"])
        tidy["suppressed"] = [("suppressed" in (n or [])) for n in table["notes"]]
        rep.table("indicators", tidy, pd.DataFrame(shown_rows))
    else:
        tidy_rows, shown_rows = [], []
        for ind in rep.catalogue.indicators:
            if "municipality" not in ind.disaggregations:
                continue
            period, period_label = _value_period(rep, ind.id)
            if period is None:
                continue
            own = rep.cell(ind.id, period, "municipality", rep.muni)
            total = rep.cell(ind.id, period)
            unit = ind.display_unit
            tidy_rows.append({
                "indicator_id": ind.id, "result": ind.result, "indicator": ind.label.get(lang),
                "unit": unit, "period": period, "municipality": rep.muni,
                "estimate": _num(own), "ci_low": _num(own, "ci_low"), "ci_high": _num(own, "ci_high"),
                "suppressed": own is None or bool(own["suppressed"]),
                "project_estimate": _num(total), "project_ci_low": _num(total, "ci_low"),
                "project_ci_high": _num(total, "ci_high")})
            shown_rows.append({
                t("col_result", lang): ind.result, t("col_indicator", lang): ind.label.get(lang),
                t("col_period", lang): period_label,
                rep.place: shown_cell(rep, own, unit) if own is not None
                else suppressed_text(lang, rep.min_cell),
                t("col_project", lang): shown_cell(rep, total, unit)})
        rep.table("indicators", pd.DataFrame(tidy_rows), pd.DataFrame(shown_rows))
    notes = [t("suppressed_note", lang, min_cell=rep.min_cell)]
    waves = [w for w in (rep.reported_period(i.id) for i in rep.catalogue.indicators if i.is_survey) if w]
    if waves:
        notes.append(t("survey_wave_note", lang, period=rep.period, wave=max(waves)))
        notes.append(t("interval_note", lang))
    if any(not i.is_survey for i in rep.catalogue.indicators):
        notes.append(t("cumulative_note", lang, period=rep.period))
    rep.paragraphs(notes, css="note")


# ---------------------------------------------------------------------------- trust
def _dimension_cells(rep: Report, indicator_id: str, period: str) -> pd.DataFrame:
    """The indicator's cells for every dimension, labelled and in reading order."""
    rows = rep.cells(indicator_id, period).copy()
    order = {d: k for k, d in enumerate(DIMENSION_ORDER)}
    questions = sorted(d for d in rows["dimension"].unique() if d not in order)
    order.update({d: len(DIMENSION_ORDER) + k for k, d in enumerate(questions)})
    rows["section"] = rows["dimension"].map(order)
    rows["label"] = [rep.dimension_label(d, v) for d, v in zip(rows["dimension"], rows["dimension_value"], strict=True)]
    # a form's own question keeps its choices' order; its rows say which question they are
    # (the question's label cut short: a chart row has room for a few words)
    rows.loc[rows["dimension"].isin(questions), "label"] = [
        f"{_short(rep.dimension_name(d))}: {lab}" for d, lab in zip(
            rows.loc[rows["dimension"].isin(questions), "dimension"],
            rows.loc[rows["dimension"].isin(questions), "label"], strict=True)]

    def rank(row) -> tuple:
        values = VALUE_ORDER.get(row["dimension"]) or tuple(
            rep.dimensions.get(row["dimension"], {}).get("order", ()))
        if values and row["dimension_value"] in values:
            return (row["section"], values.index(row["dimension_value"]), "")
        return (row["section"], 99, row["label"])

    rows["_rank"] = rows.apply(rank, axis=1)
    rows["key"] = rows["dimension_value"]
    return rows.sort_values("_rank").drop(columns="_rank")


def _short(text: str, width: int = 32) -> str:
    """A label cut at a word to at most ``width`` characters (``…`` when cut)."""
    text = str(text).strip().rstrip("?:")
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0].rstrip(",;") + "…"


def _municipality_cells(rep: Report, indicator_id: str, period: str) -> pd.DataFrame:
    rows = rep.cells(indicator_id, period, "municipality").copy()
    rows["label"] = [rep.names.get(v, v) for v in rows["dimension_value"]]
    rows["key"] = rows["dimension_value"]
    return rows.sort_values("label")


def _tidy_cells(rows: pd.DataFrame, indicator_id: str) -> pd.DataFrame:
    out = rows[["period", "dimension", "dimension_value", "label", "estimate", "ci_low",
                "ci_high", "suppressed"]].copy()
    out.insert(0, "indicator_id", indicator_id)
    return out.rename(columns={"label": "group"})


def _indicator_figure(rep: Report, ind, period: str, when: str) -> pd.DataFrame:
    """One indicator's sentence and chart over its breakdowns; returns the cells shown."""
    lang = rep.lang
    unit = ind.display_unit
    subj = rep.subject(ind.id)
    survey_note = f"{t('ci_note', lang)} " if ind.is_survey else ""
    note = survey_note + t("suppressed_note", lang, min_cell=rep.min_cell)
    title_ = f"{rep.label(ind.id)} ({when})"
    if rep.muni is None:
        total = rep.cell(ind.id, period)
        rep.paragraphs([narrative.level_sentence(
            subj, unit, _num(total), _num(total, "ci_low"), _num(total, "ci_high"), period, lang,
            rep.min_cell, through=rep.period)])
        cells = _dimension_cells(rep, ind.id, period)
        if len(cells) > 1:
            rep.figure(f"{ind.id}", charts.dot_chart(cells, title_, unit, lang, rep.min_cell, note=note,
                                                     counts_people=ind.of == "people"))
        return cells
    own = rep.cell(ind.id, period, "municipality", rep.muni)
    total = rep.cell(ind.id, period)
    rep.paragraphs([narrative.comparison_sentence(
        subj, unit, rep.place, _num(own), _num(own, "ci_low"), _num(own, "ci_high"), _num(total),
        lang, rep.min_cell, city=rep.is_city)])
    cells = _municipality_cells(rep, ind.id, period)
    if not cells.empty:
        reference = None if ind.unit == "count" else _num(total)
        rep.figure(f"{ind.id}", charts.dot_chart(
            cells, title_, unit, lang, rep.min_cell, highlight=rep.muni, reference=reference,
            reference_label=t("project_average", lang), note=note, counts_people=ind.of == "people"))
    return cells


def results(rep: Report) -> None:
    """A section per result of the catalogue: for each of its indicators with a value, a
    sentence and a chart over its breakdowns (a municipality: against the others)."""
    lang = rep.lang
    for result in rep.catalogue.result_ids():
        inds = [i for i in rep.catalogue.indicators if i.result == result]
        if rep.muni is not None:
            inds = [i for i in inds if "municipality" in i.disaggregations]
        shown = [(i, *_value_period(rep, i.id)) for i in inds]
        shown = [(i, p, w) for i, p, w in shown if p is not None]
        if not shown:
            continue
        label = rep.catalogue.result_label(result, lang)
        heading = (t("result", lang, result=result, label=label) if result and label != result
                   else (label or t("result_other", lang)))
        rep.html(render("heading", level=2, text=heading))
        tidy_parts = []
        for ind, period, when in shown:
            rep.html(render("heading", level=3, text=rep.label(ind.id)))
            cells = _indicator_figure(rep, ind, period, when)
            if not cells.empty:
                tidy_parts.append(_tidy_cells(cells, ind.id))
        if tidy_parts:
            tidy = pd.concat(tidy_parts, ignore_index=True)
            shown_table = pd.DataFrame({
                t("col_indicator", lang): [rep.label(i) for i in tidy["indicator_id"]],
                t("col_period", lang): [t("val_cumulative", lang) if p == data.CUMULATIVE else p
                                        for p in tidy["period"]],
                t("col_group", lang): tidy["group"],
                t("col_value", lang): [shown_cell(rep, r, rep.unit(r["indicator_id"]))
                                       for _, r in tidy.iterrows()]})
            rep.table(f"result_{result or 'other'}".replace(".", "_"), tidy, shown_table)


# ---------------------------------------------------------------------------- change
def change(rep: Report) -> None:
    """Survey indicators: baseline wave against the latest wave, with the change's 95% CI."""
    if not any(i.is_survey for i in rep.catalogue.indicators):
        return
    rep.heading("change")
    lang = rep.lang
    dimension, dim_value = ("total", "total") if rep.muni is None else ("municipality", rep.muni)
    rows = rep.changes[(rep.changes["dimension"] == dimension)
                       & (rep.changes["dimension_value"] == dim_value)]
    if rows.empty:
        rep.paragraphs([t("no_changes", lang, period=rep.period)], css="note")
        return
    sentences, shown, pairs = [], [], []
    for _, r in rows.iterrows():
        ind = rep.catalogue.get(r["indicator_id"])
        unit = ind.display_unit
        base = rep.cell(ind.id, r["baseline_period"], dimension, dim_value)
        last = rep.cell(ind.id, r["latest_period"], dimension, dim_value)
        hidden = bool(r["suppressed"])
        subj = rep.subject(ind.id)
        sentences.append(narrative.change_sentence(
            subj, unit, None if hidden else r["baseline_estimate"],
            None if hidden else r["latest_estimate"], None if hidden else r["se"],
            None if hidden or _missing(r["significant"]) else bool(r["significant"]), lang,
            rep.min_cell))
        change_text = suppressed_text(lang, rep.min_cell) if hidden else (
            f"{_signed(r['change'], unit, lang)} "
            f"({_signed(r['ci_low'], unit, lang)} {t('range_to', lang)} "
            f"{_signed(r['ci_high'], unit, lang)})")
        shown.append({
            t("col_indicator", lang): rep.label(ind.id),
            t("col_baseline", lang): f"{shown_cell(rep, base, unit)} [{r['baseline_period']}]",
            t("col_latest", lang): f"{shown_cell(rep, last, unit)} [{r['latest_period']}]",
            t("col_change", lang): change_text,
            t("col_significant", lang): "" if hidden or _missing(r["significant"])
            else t("yes" if bool(r["significant"]) else "no", lang)})
        pairs.append({"indicator_id": ind.id, "unit": unit, "label": subj,
                      "base": _num(base), "base_low": _num(base, "ci_low"), "base_high": _num(base, "ci_high"),
                      "base_suppressed": base is None or bool(base["suppressed"]),
                      "last": _num(last), "last_low": _num(last, "ci_low"), "last_high": _num(last, "ci_high"),
                      "last_suppressed": last is None or bool(last["suppressed"])})
    rep.paragraphs(sentences)
    pair_frame = pd.DataFrame(pairs)
    baseline, latest = rows["baseline_period"].iloc[0], rows["latest_period"].iloc[0]
    where = rep.place or t("col_project", lang)
    for k, unit in enumerate(dict.fromkeys(pair_frame["unit"])):
        part = pair_frame[pair_frame["unit"] == unit]
        if unit == "count":
            continue
        fig = charts.change_chart(part, f"{t('change', lang)}: {where}", unit, lang, baseline,
                                  latest, rep.min_cell, note=t("ci_note", lang))
        rep.figure(f"change_{k + 1}", fig)
    tidy = rows.drop(columns=["p_value"]).reset_index(drop=True)
    rep.table("change", tidy, pd.DataFrame(shown))


# ---------------------------------------------------------------------------- participation
def _attendance_indicators(rep: Report) -> list:
    return [i for i in rep.catalogue.indicators if not i.is_survey]


def has_attendance(rep: Report) -> bool:
    """Whether the project counts attendance and the period has attendance cells."""
    ids = {i.id for i in _attendance_indicators(rep)}
    v = rep.values
    return bool(ids) and bool((v["indicator_id"].isin(ids) & (v["period"] == rep.period)).any())


def youth_summary(rep: Report) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """Sentences on participation (people counted, by sex), and the attendance table
    (tidy, shown): each attendance indicator in the quarter and cumulatively."""
    lang = rep.lang
    sentences = []
    period = rep.period
    tidy_rows, shown_rows = [], []
    for ind in _attendance_indicators(rep):
        own_period = rep.reported_period(ind.id)
        if own_period is None or (rep.muni is not None and "municipality" not in ind.disaggregations):
            continue
        unit = ind.display_unit
        cumulative = rep.cumulative_available(ind.id)
        subj = rep.subject(ind.id)
        row = rep.scope_cell(ind.id, own_period)
        cum = rep.scope_cell(ind.id, data.CUMULATIVE) if cumulative else None
        if rep.muni is None:
            if ind.of == "people" and ind.unit == "count":
                by_sex = "sex" in ind.disaggregations
                women = rep.cell(ind.id, period, "sex", "female") if by_sex else None
                men = rep.cell(ind.id, period, "sex", "male") if by_sex else None
                sentences.append(narrative.people_sentence(
                    subj, _num(row), _num(women), _num(men), period, lang, rep.min_cell, by_sex=by_sex))
            else:
                sentences.append(narrative.level_sentence(
                    subj, unit, _num(row), _num(row, "ci_low"), _num(row, "ci_high"), own_period,
                    lang, rep.min_cell))
        else:
            total = rep.cell(ind.id, own_period)
            sentences.append(narrative.comparison_sentence(
                subj, unit, rep.place, _num(row), _num(row, "ci_low"), _num(row, "ci_high"),
                _num(total), lang, rep.min_cell, city=rep.is_city))
        tidy_rows.append({"indicator_id": ind.id, "period": own_period,
                          "scope": rep.muni or "total", "estimate": _num(row),
                          "ci_low": _num(row, "ci_low"), "ci_high": _num(row, "ci_high"),
                          "suppressed": row is None or bool(row["suppressed"]),
                          "cumulative": _num(cum)})
        shown_rows.append({t("col_indicator", lang): rep.label(ind.id),
                           t("col_period", lang): own_period,
                           t("col_value", lang): shown_cell(rep, row, unit) if row is not None
                           else suppressed_text(lang, rep.min_cell),
                           t("val_cumulative", lang).capitalize(): shown_cell(rep, cum, unit)})
    return sentences, pd.DataFrame(tidy_rows), pd.DataFrame(shown_rows)


def youth(rep: Report) -> None:
    """Participation in activities (the attendance indicators of the quarter and to date) and,
    when the project counts them, ties across the entity line by municipality. Shown only when
    the project has attendance data for the quarter."""
    if not has_attendance(rep):
        return
    rep.heading("youth")
    sentences, tidy, shown = youth_summary(rep)
    rep.paragraphs(sentences)
    if not tidy.empty:
        rep.table("participation", tidy, shown)
    fig = ties_chart(rep)
    if fig is not None:
        rep.figure("ties_by_municipality", fig)


def _ties_indicator(rep: Report):
    return next((i for i in rep.catalogue.indicators if i.of == "ties"), None)


def ties_chart(rep: Report):
    """Cross-entity ties of the quarter by municipality (a bar chart), or ``None``."""
    ind = _ties_indicator(rep)
    if ind is None or rep.reported_period(ind.id) is None:
        return None
    cells = _municipality_cells(rep, ind.id, rep.period)
    if cells.empty:
        return None
    definition = ind.definition.get(rep.lang) if ind.definition else None
    return charts.bar_chart(
        cells[["label", "estimate", "suppressed"]],
        f"{rep.label(ind.id)} ({rep.period})", rep.lang, rep.min_cell,
        axis=t("col_ties", rep.lang), note=definition)


# ---------------------------------------------------------------------------- activities
def activities(rep: Report) -> None:
    """The activities held in the quarter (no participant numbers: those are indicators);
    shown when the project records events."""
    if not _attendance_indicators(rep) or not data.has_events(rep.con):
        return
    rep.heading("activities")
    lang = rep.lang
    events = data.events_held(rep.con, rep.period, rep.muni)
    rep.batch_ids |= data.batch_ids_of_events(events)
    if events.empty:
        rep.paragraphs([t("no_events", lang, period=rep.period)], css="note")
        return
    date_format = t("date_format", lang)
    shown = pd.DataFrame({
        t("col_date", lang): [pd.Timestamp(d).strftime(date_format) for d in events["date"]],
        t("col_event_type", lang): [rep.event_label(e) for e in events["event_type"]],
        t("col_municipality", lang): [", ".join(rep.names.get(m, m) for m in ms)
                                      for ms in events["muni_ids"]],
        t("col_inter_entity", lang): [t("yes" if x else "no", lang) for x in events["is_inter_entity"]],
    })
    tidy = events.assign(muni_ids=[";".join(ms) for ms in events["muni_ids"]]).drop(columns="batch_id")
    rep.table("activities", tidy, shown)


# ---------------------------------------------------------------------------- maps
def maps(rep: Report) -> None:
    """The project maps: rendered once by the batch, or drawn here when run on its own (only
    for a project with municipalities)."""
    from pipeline.reports import report_maps

    if not rep.project:
        return
    rep.heading("maps")
    manifest = report_maps.cached_maps(rep.maps_dir, rep.period, rep.lang)
    if manifest is not None:
        for name in report_maps.MAP_NAMES:
            file = manifest["maps"].get(name)
            if file:
                rep.image((rep.maps_dir / file).read_bytes())
        reason = manifest.get("unavailable")
    else:
        figures, reason = report_maps.render_maps(
            rep.settings, rep.values, rep.changes, data.ties(rep.con), rep.period, rep.lang,
            rep.catalogue)
        for name, fig in figures.items():
            png = report_maps.png_bytes(fig)
            if rep.output_dir is not None:
                folder = rep.output_dir / "figures"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{rep.stem}__map_{name}.png").write_bytes(png)
            rep.image(png)
    if reason:
        rep.paragraphs([t("maps_unavailable", rep.lang, reason=reason)], css="note")


# ---------------------------------------------------------------------------- data quality
def data_quality(rep: Report) -> None:
    """Quarantined cells of the quarter's files, by rule; the suppression rule."""
    rep.heading("data_quality")
    lang = rep.lang
    found = data.quarantine_by_rule(rep.con, rep.period)
    cells = int(found["cells"].sum()) if not found.empty else 0
    notes = [narrative.quarantine_sentence(cells, data.quarantine_files(rep.con, rep.period),
                                           rep.period, lang)]
    if rep.muni is not None:
        notes.append(t("quarantine_project_wide", lang))
    rep.paragraphs(notes)
    if not found.empty:  # the table of reasons the sentence announces
        shown = pd.DataFrame({t("col_rule", lang): found["rule"], t("col_reason", lang): found["reason"],
                              t("col_rows", lang): found["cells"], t("col_file", lang): found["files"]})
        rep.table("quarantine", found, shown)
    rep.paragraphs([_cleaning_sentence(rep)])
    rep.paragraphs([t("suppressed_note", lang, min_cell=rep.min_cell)], css="note")


def _cleaning_sentence(rep: Report) -> str:
    """How many decisions of the cleaning logs the numbers were computed with."""
    from pipeline.cleaning.apply import status_frame

    frame = status_frame(rep.con)
    if frame.empty:
        return t("no_cleaning", rep.lang)
    by_type = frame.groupby("change_type")["applied"].sum()
    return t("cleaning_applied", rep.lang, applied=int(frame["applied"].sum()), logs=frame["file_name"].nunique(),
             removed=int(by_type.get("remove_survey", 0)),
             changed=int(by_type.get("change_response", 0) + by_type.get("blank_response", 0)),
             confirmed=int(by_type.get("no_action", 0)),
             not_applied=int(frame["decisions"].sum() - frame["applied"].sum()))


# ---------------------------------------------------------------------------- provenance
def provenance(rep: Report) -> None:
    """When and from what the report was made: code, warehouse, parameters, raw files."""
    from pipeline.reports.provenance import Provenance, load_batches, read_copy_lines
    from pipeline.warehouse import schema_version

    lang = rep.lang
    prov = Provenance(parameters=rep.parameters, warehouse=str(rep.settings.db),
                      schema_version=schema_version(rep.con),
                      batches=load_batches(rep.con, rep.batch_ids), read_copy=rep.freshness)
    # where the batch put its files is plumbing (a temporary folder), not what the report is of
    params = ", ".join(f"{k}={v!r}" for k, v in prov.parameters.items()
                       if k not in ("output_dir", "maps_dir"))
    lines = [t("prov_made", lang, when=prov.made_at, version=prov.version, commit=prov.commit),
             t("prov_warehouse", lang, path=prov.warehouse, schema=prov.schema_version),
             *read_copy_lines(prov.read_copy, lang),
             t("prov_parameters", lang, parameters=params),
             f"Python: {rep.python}"]
    from pipeline.cleaning.apply import provenance as cleaning_provenance

    lines += [t("prov_cleaning", lang, file=c["file"], sha=c["sha256"][:16], applied=c["applied"],
                decisions=c["decisions"]) for c in cleaning_provenance(rep.con)]
    lines.append(t("prov_batches", lang) if len(prov.batches) else t("prov_no_batches", lang))
    rep.html(render("provenance", heading=t("provenance", lang), lines=lines))
    if len(prov.batches):
        shown = pd.DataFrame({t("col_file", lang): prov.batches["file_name"],
                              t("col_kind", lang): prov.batches["kind"],
                              t("col_period", lang): prov.batches["wave"].fillna(""),
                              t("col_sha256", lang): prov.batches["sha256"]})
        rep.table("provenance", prov.batches, shown)
