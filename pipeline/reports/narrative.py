"""Sentences written from the numbers, in English or Bosnian.

The reports never type a number into prose by hand: each sentence here takes the published
cells (``indicator_values``, ``indicator_changes``) and says what they show, e.g. "Trust in the
municipal administration rose from 38% to 47% (±4), a significant change." The ``±`` is the
95% margin of error of the change. Bosnian sentences are built around a noun ("porast",
"pad") so that no verb has to agree with the subject's gender. A suppressed cell is never put
into words: the sentence says it is not published.
"""

from __future__ import annotations

import math

from pipeline.reports.text import interval, margin, scale_words, suppressed_text, value

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
        lang: ``en`` or ``bs``.
        min_cell: the small-cell threshold, for the "not published" wording.
    """
    if _missing(baseline) or _missing(latest):
        hidden = suppressed_text(lang, min_cell)
        return (f"{subj}: not published ({hidden})." if lang == "en"
                else f"{subj}: {hidden}, vrijednost se ne objavljuje.")
    b, v = value(baseline, unit, lang), value(latest, unit, lang)
    diff = latest - baseline
    scale = scale_words(unit, lang)
    if _missing(change_se) or significant is None:
        if lang == "en":
            verb = "rose" if diff > 0 else "fell" if diff < 0 else "stayed"
            return f"{subj} {verb} from {b} to {v}{scale}." if diff else f"{subj} stayed at {v}{scale}."
        noun = "porast" if diff > 0 else "pad"
        return f"{subj}: {noun} sa {b} na {v}{scale}." if diff else f"{subj}: bez promjene, {v}{scale}."
    moe = margin(Z95 * change_se, unit, lang)
    if lang == "en":
        if significant:
            verb = "rose" if diff > 0 else "fell"
            return f"{subj} {verb} from {b} to {v}{scale} (±{moe}), a significant change."
        return (f"{subj} went from {b} to {v}{scale} (±{moe}); the change is not "
                "statistically significant.")
    if significant:
        noun = "porast" if diff > 0 else "pad"
        return f"{subj}: {noun} sa {b} na {v}{scale} (±{moe}), statistički značajna promjena."
    return f"{subj}: promjena sa {b} na {v}{scale} (±{moe}) nije statistički značajna."


def when(period: str, lang: str, through: str | None = None) -> str:
    """``in 2024Q4`` / ``u periodu 2024Q4``; for ``cumulative``: ``up to 2024Q4 (cumulative)``."""
    if period == "cumulative":
        return (f"up to {through} (cumulative)" if lang == "en"
                else f"do {through} (kumulativno)") if through else (
            "cumulative" if lang == "en" else "kumulativno")
    return f"in {period}" if lang == "en" else f"u periodu {period}"


def level_sentence(subj: str, unit: str, estimate: float | None, ci_low: float | None,
                   ci_high: float | None, period: str, lang: str, min_cell: int = 10,
                   through: str | None = None) -> str:
    """One sentence stating a published value with its 95% interval (none for counts).

    ``period`` may be ``cumulative``; ``through`` is then the last quarter it covers.
    """
    phrase = when(period, lang, through)
    if _missing(estimate):
        hidden = suppressed_text(lang, min_cell)
        return (f"{subj} {phrase}: not published ({hidden})." if lang == "en"
                else f"{subj} {phrase}: {hidden}, vrijednost se ne objavljuje.")
    v = value(estimate, unit, lang)
    ci = interval(ci_low, ci_high, unit, lang)
    if lang == "en":
        return f"{subj} {phrase}: {v}" + (f" (95% CI {ci})." if ci else ".")
    return f"{subj} {phrase}: {v}" + (f" (95% IP {ci})." if ci else ".")


def comparison_sentence(subj: str, unit: str, place: str, estimate: float | None,
                        ci_low: float | None, ci_high: float | None, average: float | None,
                        lang: str, min_cell: int = 10) -> str:
    """A municipality's value against the project average.

    The municipality is called higher or lower only when the project average lies outside the
    municipality's 95% interval; otherwise the wording stays neutral. A count is set against
    the project's total instead.
    """
    if _missing(estimate):
        hidden = suppressed_text(lang, min_cell)
        return (f"{subj} in {place}: not published ({hidden})." if lang == "en"
                else f"{subj} u općini {place}: {hidden}, vrijednost se ne objavljuje.")
    v = value(estimate, unit, lang)
    if _missing(average):
        return f"{subj} in {place}: {v}." if lang == "en" else f"{subj} u općini {place}: {v}."
    avg = value(average, unit, lang)
    if _missing(ci_low) or _missing(ci_high):
        where = "neutral"
    elif average < ci_low:
        where = "higher"
    elif average > ci_high:
        where = "lower"
    else:
        where = "close"
    if unit == "count":  # a count is a part of the project's total, not comparable to it
        return (f"{subj} in {place}: {v}, of {avg} in the whole project." if lang == "en"
                else f"{subj} u općini {place}: {v}, od ukupno {avg} u projektu.")
    if lang == "en":
        tail = {"higher": f"higher than the project average of {avg}",
                "lower": f"lower than the project average of {avg}",
                "close": f"close to the project average of {avg}",
                "neutral": ""}[where]
        return f"{subj} in {place}: {v}, {tail}." if tail else f"{subj} in {place}: {v} (project: {avg})."
    tail = {"higher": f"više od prosjeka projekta ({avg})",
            "lower": f"niže od prosjeka projekta ({avg})",
            "close": f"blizu prosjeka projekta ({avg})",
            "neutral": ""}[where]
    return (f"{subj} u općini {place}: {v}, {tail}." if tail
            else f"{subj} u općini {place}: {v} (projekat: {avg}).")


def people_sentence(subj: str, total: float | None, women: float | None, men: float | None,
                    period: str, lang: str, min_cell: int = 10, by_sex: bool = True) -> str:
    """A count of people in a period, and (``by_sex``) how many of them were women and men."""
    if _missing(total):
        hidden = suppressed_text(lang, min_cell)
        return (f"{subj} in {period}: not published ({hidden})." if lang == "en"
                else f"{subj} u periodu {period}: {hidden}, ne objavljuje se.")
    n = value(total, "count", lang)
    parts = []
    for count, (en, bs) in ((women, ("women", "žene")), (men, ("men", "muškarci"))) if by_sex else ():
        shown = suppressed_text(lang, min_cell) if _missing(count) else value(count, "count", lang)
        parts.append(f"{en if lang == 'en' else bs}: {shown}")
    tail = f" ({', '.join(parts)})" if parts else ""
    return f"{subj} in {period}: {n}{tail}." if lang == "en" else f"{subj} u periodu {period}: {n}{tail}."


def quarantine_sentence(cells: int, files: int, period: str, lang: str) -> str:
    """How many cells of the period's files were quarantined."""
    from pipeline.reports.text import number, t

    if cells == 0:
        return t("no_quarantine", lang, period=period)
    return t("quarantine_summary", lang, cells=number(cells, lang), files=number(files, lang),
             period=period)
