"""The results sections.

A chart per indicator over its breakdowns, and the change between survey waves.
"""

from __future__ import annotations

import pandas as pd

from pipeline.reports import charts, data, narrative
from pipeline.reports.pages import render
from pipeline.reports.report import Report
from pipeline.reports.sections.common import (
    DIMENSION_ORDER,
    VALUE_ORDER,
    _missing,
    _municipality_cells,
    _num,
    _signed,
    _value_period,
    shown_cell,
)
from pipeline.reports.text import suppressed_text, t


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
