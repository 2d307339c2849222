"""Sentences written from the numbers, in every report language (templates in pipeline/lang/).

The reports never type a number into prose by hand: each sentence here takes the published
cells (``indicator_values``, ``indicator_changes``) and says what they show, e.g. "Trust in the
municipal administration rose from 38% to 47% (±4), a significant change." The ``±`` is the
95% margin of error of the change. Bosnian sentences are built around a noun ("porast",
"pad") so that no verb has to agree with the subject's gender; Croatian and Serbian follow. A suppressed cell is never put
into words: the sentence says it is not published.
"""

from __future__ import annotations

import math

from pipeline.reports.text import interval, margin, scale_words, suppressed_text, t, value

Z95 = 1.959963984540054  # normal quantile of the 95% intervals the engine publishes


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def change_sentence(subj: str, unit: str, baseline: float | None, latest: float | None,
                    change_se: float | None, significant: bool | None, lang: str,
                    min_cell: int = 10) -> str:
    """One sentence on the change from baseline to the latest value.

    Args:
        subj: the noun phrase (the indicator's ``subject``, else its label).
        unit: ``percent``, ``mean`` / ``mean 0-10`` or ``count``.
        baseline, latest: published estimates (``None`` when suppressed).
        change_se: standard error of the change (``None`` for counts, which are not samples).
        significant: whether the change is significant at 95% (``None`` for counts).
        lang: a report language (``en``, ``bs``, ``hr``, ``sr``, ``sr-Latn``).
        min_cell: the small-cell threshold, for the "not published" wording.
    """
    if _missing(baseline) or _missing(latest):
        return t("narr_not_published", lang, subj=subj, hidden=suppressed_text(lang, min_cell))
    b, v = value(baseline, unit, lang), value(latest, unit, lang)
    diff = latest - baseline
    scale = scale_words(unit, lang)
    verb = t("narr_up" if diff > 0 else "narr_down", lang)
    if _missing(change_se) or significant is None:
        if not diff:
            return t("narr_no_change", lang, subj=subj, v=v, scale=scale)
        return t("narr_change", lang, subj=subj, verb=verb, b=b, v=v, scale=scale)
    moe = margin(Z95 * change_se, unit, lang)
    key = "narr_change_significant" if significant else "narr_change_not_significant"
    return t(key, lang, subj=subj, verb=verb, b=b, v=v, scale=scale, moe=moe)


def when(period: str, lang: str, through: str | None = None) -> str:
    """``in 2024Q4`` / ``u periodu 2024Q4``; for ``cumulative``: ``up to 2024Q4 (cumulative)``."""
    if period == "cumulative":
        return t("narr_through", lang, through=through) if through else t("val_cumulative", lang)
    return t("narr_in_period", lang, period=period)


def level_sentence(subj: str, unit: str, estimate: float | None, ci_low: float | None,
                   ci_high: float | None, period: str, lang: str, min_cell: int = 10,
                   through: str | None = None) -> str:
    """One sentence stating a published value with its 95% interval (none for counts).

    ``period`` may be ``cumulative``; ``through`` is then the last quarter it covers.
    """
    phrase = when(period, lang, through)
    if _missing(estimate):
        return t("narr_level_hidden", lang, subj=subj, when=phrase, hidden=suppressed_text(lang, min_cell))
    v = value(estimate, unit, lang)
    ci = interval(ci_low, ci_high, unit, lang)
    return t("narr_level_ci" if ci else "narr_level", lang, subj=subj, when=phrase, v=v, ci=ci)


def comparison_sentence(subj: str, unit: str, place: str, estimate: float | None,
                        ci_low: float | None, ci_high: float | None, average: float | None,
                        lang: str, min_cell: int = 10, city: bool = False) -> str:
    """A municipality's value against the project average (``city``: the place is a city,
    "u gradu Livno" rather than "u općini Livno").

    The municipality is called higher or lower only when the project average lies outside the
    municipality's 95% interval; otherwise the wording stays neutral. A count is set against
    the project's total instead.
    """
    where = t("where_city" if city else "where_municipality", lang, place=place)
    if _missing(estimate):
        return t("narr_place_hidden", lang, subj=subj, where=where, hidden=suppressed_text(lang, min_cell))
    v = value(estimate, unit, lang)
    if _missing(average):
        return t("narr_place", lang, subj=subj, where=where, v=v)
    avg = value(average, unit, lang)
    if unit == "count":  # a count is a part of the project's total, not comparable to it
        how = "count"
    elif _missing(ci_low) or _missing(ci_high):
        how = "neutral"
    elif average < ci_low:
        how = "higher"
    elif average > ci_high:
        how = "lower"
    else:
        how = "close"
    return t(f"narr_place_{how}", lang, subj=subj, where=where, v=v, avg=avg)


def people_sentence(subj: str, total: float | None, women: float | None, men: float | None,
                    period: str, lang: str, min_cell: int = 10, by_sex: bool = True) -> str:
    """A count of people in a period, and (``by_sex``) how many of them were women and men."""
    if _missing(total):
        return t("narr_people_hidden", lang, subj=subj, period=period, hidden=suppressed_text(lang, min_cell))
    n = value(total, "count", lang)
    parts = []
    for count, key in ((women, "narr_women"), (men, "narr_men")) if by_sex else ():
        shown = suppressed_text(lang, min_cell) if _missing(count) else value(count, "count", lang)
        parts.append(f"{t(key, lang)}: {shown}")
    tail = f" ({', '.join(parts)})" if parts else ""
    return t("narr_people", lang, subj=subj, period=period, n=n, tail=tail)


def quarantine_sentence(cells: int, files: int, period: str, lang: str) -> str:
    """How many cells of the period's files were quarantined."""
    from pipeline.reports.text import number, t

    if cells == 0:
        return t("no_quarantine", lang, period=period)
    return t("quarantine_summary", lang, cells=number(cells, lang), files=number(files, lang),
             period=period)
