"""The sections that need attendance data or municipalities.

Youth participation, inter-entity ties, the activities list and the maps.
"""

from __future__ import annotations

import pandas as pd

from pipeline.reports import charts, data, narrative
from pipeline.reports.report import Report
from pipeline.reports.sections.common import _municipality_cells, _num, shown_cell
from pipeline.reports.text import suppressed_text, t


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
