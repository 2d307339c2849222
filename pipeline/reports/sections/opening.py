"""The opening sections: the title, the headline figures and the donor table."""

from __future__ import annotations

import pandas as pd

from pipeline.reports import narrative
from pipeline.reports.pages import render
from pipeline.reports.report import Report
from pipeline.reports.sections.common import HEADLINE_MAX, _num, _value_period, shown_cell
from pipeline.reports.text import interval, suppressed_text, t, value


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
