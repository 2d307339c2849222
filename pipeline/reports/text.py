"""The words of the reports in every language, and numbers written the way each reads them.

Every heading, column name and note a report prints comes from the string catalogues of
:mod:`pipeline.lang` (one file per language), so a report in Croatian has no English left in
it. Numbers follow the language: ``47.2%`` and ``1,234`` in English, ``47,2%`` and ``1.234``
in Bosnian, Croatian and Serbian.
"""

from __future__ import annotations

import math

from pipeline.lang import LANGS, catalogue, check_lang, t  # noqa: F401  (re-exported)

# every report text in every language: TEXT[key][lang] (the catalogues in pipeline/lang/)
TEXT: dict[str, dict[str, str]] = {
    key: {lang: catalogue(lang)[key] for lang in LANGS} for key in catalogue("en") if "." not in key}


def suppressed_text(lang: str, min_cell: int = 10) -> str:
    """How a suppressed cell is shown: ``n < 10`` or ``n < 10 (potisnuto)``."""
    return t("suppressed_short", lang, min_cell=min_cell)


def _group(digits: str, sep: str) -> str:
    head, rest = digits[: len(digits) % 3 or 3], digits[len(digits) % 3 or 3:]
    return sep.join([head, *(rest[i:i + 3] for i in range(0, len(rest), 3))])


def number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """A number with the language's separators: ``1,234.5`` (en) or ``1.234,5`` (bs, hr, sr)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{abs(value):.{decimals}f}"
    whole, _, frac = text.partition(".")
    thousands, point = (",", ".") if lang == "en" else (".", ",")
    out = _group(whole, thousands) + (point + frac if frac else "")
    return ("-" if value < 0 and float(text) != 0 else "") + out


def is_mean(unit: str) -> bool:
    """A mean on its answers' scale (``mean``, ``mean 0-10``)."""
    return str(unit).startswith("mean")


def mean_range(unit: str) -> tuple[float, float] | None:
    """The scale a display unit names (``mean 1-5`` -> ``(1, 5)``), ``None`` when none."""
    _, _, rng = str(unit).partition(" ")
    lo, sep, hi = rng.partition("-")
    try:
        return (float(lo), float(hi)) if sep else None
    except ValueError:
        return None


def scale_words(unit: str, lang: str) -> str:
    """`` on the 0-10 scale`` for a mean with a scale, else nothing."""
    rng = mean_range(unit) if is_mean(unit) else None
    if rng is None:
        return ""
    span = f"{rng[0]:g}-{rng[1]:g}"
    return t("narr_scale", lang, span=span)


def value(estimate: float | None, unit: str, lang: str) -> str:
    """An estimate in its unit: ``47%``, ``5.6`` (a mean) or ``1,234`` (count)."""
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        return ""
    if unit == "percent":
        return number(estimate, lang, 0) + "%"
    if is_mean(unit):
        return number(estimate, lang, 1)
    return number(estimate, lang, 0)


def margin(half_width: float | None, unit: str, lang: str) -> str:
    """A margin of error without its sign: ``4`` points, ``0.3`` on a mean's scale."""
    if half_width is None or (isinstance(half_width, float) and math.isnan(half_width)):
        return ""
    return number(half_width, lang, 0 if unit == "percent" else 1)


def interval(low: float | None, high: float | None, unit: str, lang: str) -> str:
    """A confidence interval: ``43-51%`` (empty for counts, which have none)."""
    if low is None or high is None or any(isinstance(x, float) and math.isnan(x) for x in (low, high)):
        return ""
    decimals = 0 if unit == "percent" else 1
    tail = "%" if unit == "percent" else ""
    return f"{number(low, lang, decimals)}–{number(high, lang, decimals)}{tail}"
