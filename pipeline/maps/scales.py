"""Fixed colour scales per indicator: the same scale in every period, set by the unit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import pandas as pd


@dataclass(frozen=True)
class ValueScale:
    """A fixed colour scale for one indicator.

    Attributes:
        vmin, vmax: scale ends, in display units.
        factor: multiplies stored values into display units (100 for proportions).
        suffix: printed after each value (``%`` for percentages).
        decimals: decimals printed.
        unit_label: the legend's unit line.
        wide_ci: a 95% CI wider than this (display units) is marked with a dagger; by default
            a fifth of the scale (20 points on 0–100%, 2 points on 0–10).
        decimal_mark: ``.`` in English, ``,`` in Bosnian.
    """

    vmin: float
    vmax: float
    factor: float = 1.0
    suffix: str = ""
    decimals: int = 1
    unit_label: str = ""
    wide_ci: float | None = None
    decimal_mark: str = "."

    @property
    def is_percent(self) -> bool:
        return self.suffix == "%"

    def number(self, display_value: float, decimals: int | None = None) -> str:
        """A value already in display units, with this scale's decimals and decimal mark."""
        text = f"{display_value:.{self.decimals if decimals is None else decimals}f}"
        return text.replace(".", self.decimal_mark)

    def fmt(self, value: float) -> str:
        return f"{self.number(value * self.factor)}{self.suffix}"

    def fmt_ci(self, low: float, high: float) -> str:
        return f"{self.number(low * self.factor)}–{self.number(high * self.factor)}"

    @property
    def wide_threshold(self) -> float:
        return self.wide_ci if self.wide_ci is not None else 0.2 * (self.vmax - self.vmin)


_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:-|–|_|to)\s*(\d+(?:\.\d+)?)")


def _labels() -> dict[str, tuple[str, str, str]]:
    """lang -> (percent, score, number): the scale titles of the string catalogues."""
    from pipeline.lang import LANGS, catalogue

    return {lang: tuple(catalogue(lang)[f"map.scale_{k}"] for k in ("percent", "score", "number"))
            for lang in LANGS}


_LABELS = _labels()


def scale_for_unit(unit: str | None, lang: str = "en") -> ValueScale | None:
    """The fixed scale an indicator's unit implies, or ``None`` when it implies none.

    ``percent``/``%`` values are stored as 0–100; ``proportion``/``share`` as 0–1 and shown as
    percentages; ``score`` is 0–10 unless the unit names a range such as ``score 1-5``.
    """
    u = (unit or "").strip().lower()
    pct_label, score, _ = _LABELS.get(lang, _LABELS["en"])
    if u in ("%", "pct") or "percent" in u:
        return ValueScale(0, 100, 1.0, "%", 0, pct_label, 20)
    if u.startswith(("proportion", "share", "fraction")):
        return ValueScale(0, 100, 100.0, "%", 0, pct_label, 20)
    m = _RANGE.search(u)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return ValueScale(lo, hi, 1.0, "", 1, f"{score} ({m.group(1)}–{m.group(2)})")
    if "score" in u or "scale" in u:
        return ValueScale(0, 10, 1.0, "", 1, f"{score} (0–10)")
    return None


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``x``."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(x))
    return next(step * exp for step in (1, 2, 2.5, 5, 10) if step * exp >= x * (1 - 1e-12))


def resolve_scale(values: pd.DataFrame, unit: str | None, scale=None,
                  lang: str = "en") -> ValueScale:
    """The caller's scale, else the unit's, else 0 to a round number above the largest value.

    Args:
        values: the indicator's rows; only used when neither ``scale`` nor ``unit`` fixes the
            scale, so pass every period to keep a data-derived scale the same across periods.
        unit: the catalogue unit.
        scale: a :class:`ValueScale`, or ``(vmin, vmax)`` in stored units.
        lang: language of the unit label.
    """
    mark = "." if lang == "en" else ","
    if isinstance(scale, ValueScale):
        return replace(scale, decimal_mark=mark)
    base = scale_for_unit(unit, lang)
    if scale is not None:
        lo, hi = scale
        base = base or ValueScale(lo, hi, unit_label=unit or "")
        return replace(base, vmin=lo * base.factor, vmax=hi * base.factor, decimal_mark=mark)
    if base is not None:
        return replace(base, decimal_mark=mark)
    found = [values[c] for c in ("estimate", "ci_high") if c in values.columns]
    top = pd.concat(found).max() if found else float("nan")
    top = nice_ceiling(float(top)) if pd.notna(top) else 1.0
    is_count = (unit or "").strip().lower() == "count"
    label = _LABELS.get(lang, _LABELS["en"])[2] if is_count else (unit or "")
    decimals = 0 if is_count or top >= 20 else 1
    return ValueScale(0, top, 1.0, "", decimals, label, decimal_mark=mark)
