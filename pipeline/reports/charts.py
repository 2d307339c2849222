"""Charts for the reports, readable on a slide: labelled axes with units, 95% CIs as error bars.

Each function takes published cells (rows of ``indicator_values`` already chosen and labelled
by the caller) and returns a matplotlib ``Figure`` made without pyplot, so no GUI backend is
involved and nothing is drawn twice in a notebook. Suppressed cells get no bar or point, only
the words "n < 10" where the value would be. No chart junk: no frame on top or right, a light
grid only along the value axis, one colour for the data and one for emphasis.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd
from matplotlib.figure import Figure

from pipeline.reports.text import is_mean, mean_range, suppressed_text, t, value

SIZE = (10.0, 5.6)  # inches, 16:9: fills a slide at 150 dpi
DATA = "#1f5f8b"
EMPHASIS = "#d55e00"
MUTED = "#8a8a8a"
LIGHT = "#9fb6c8"
FONT = {"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 12}


def _figure(size: tuple[float, float] = SIZE) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _style(ax, value_axis: str = "x") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=FONT["font.size"])
    ax.grid(axis=value_axis, color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)


def _limits(unit: str, highs: list[float]) -> tuple[float, float]:
    if unit == "percent":
        return 0.0, 100.0
    if is_mean(unit) and mean_range(unit):
        return mean_range(unit)
    top = max([h for h in highs if h is not None and not math.isnan(h)] or [1.0])
    return 0.0, top * 1.15 + 1


def _note(ax, note: str | None) -> None:
    """A small wrapped line under the axes, inside the layout (so it never overlaps the axis)."""
    if note:
        # anchored under the axis title (or the tick labels when there is none)
        ax.annotate("\n".join(textwrap.wrap(note, 125)), xy=(0, 0),
                    xycoords=("axes fraction", ax.xaxis.label), xytext=(0, -6),
                    textcoords="offset points", ha="left", va="top", fontsize=9, color=MUTED)


def _wrap(label: str, width: int = 30) -> str:
    """Long category names on two lines, so the plot keeps most of the width."""
    return "\n".join(textwrap.wrap(label, width)) or label


def _label_right(ax, x: float, y: float, text: str, colour: str, span: float) -> None:
    """A value written just right of its point or interval."""
    ax.text(x + span * 0.012, y, text, ha="left", va="center", fontsize=10, color=colour)


def axis_label(unit: str, lang: str, counts_people: bool = True) -> str:
    """The value axis' title for a unit."""
    if unit == "percent":
        return t("axis_percent", lang)
    if is_mean(unit):
        rng = mean_range(unit)
        return t("axis_mean", lang) + (f" ({rng[0]:g}-{rng[1]:g})" if rng else "")
    return t("axis_people", lang) if counts_people else t("axis_count", lang)


def dot_chart(cells: pd.DataFrame, title: str, unit: str, lang: str, min_cell: int = 10,
              highlight: str | None = None, reference: float | None = None,
              reference_label: str | None = None, note: str | None = None,
              counts_people: bool = True) -> Figure:
    """Estimates as points with 95% CI bars, one row per group, top to bottom.

    Args:
        cells: one row per group, in display order: ``label``, ``estimate``, ``ci_low``,
            ``ci_high``, ``suppressed``; optional ``section`` (a gap is left between sections)
            and ``key`` (compared with ``highlight``).
        title: the chart's title (the indicator's label).
        unit: ``percent``, ``mean 0-10`` (a mean on its scale) or ``count`` (fixes the axis
            and its label).
        highlight: ``key`` of the row drawn in the emphasis colour.
        reference: a vertical line (e.g. the project average) with ``reference_label``.
        note: a line under the chart (e.g. what the bars are).
    """
    rows = cells.reset_index(drop=True)
    ys, labels, y = [], [], 0.0
    last_section = None
    for _, row in rows.iterrows():
        section = row.get("section")
        if last_section is not None and section != last_section:
            y += 0.6  # a gap between sex, age group, entity and municipality
        last_section = section
        ys.append(y)
        labels.append(_wrap(str(row["label"])))
        y += 1.0
    height = min(max(3.2, 0.34 * y + 1.6), 7.5)
    fig = _figure((SIZE[0], height))
    ax = fig.add_subplot()
    lo, hi = _limits(unit, list(rows["ci_high"].astype(float)) + list(rows["estimate"].astype(float)))
    hidden = suppressed_text(lang, min_cell)
    for yy, (_, row) in zip(ys, rows.iterrows(), strict=True):
        colour = EMPHASIS if highlight is not None and row.get("key") == highlight else DATA
        if bool(row["suppressed"]) or pd.isna(row["estimate"]):
            ax.text(lo + (hi - lo) * 0.01, yy, hidden, va="center", ha="left", color=MUTED,
                    fontsize=11, style="italic")
            continue
        est = float(row["estimate"])
        right = est
        if not (pd.isna(row["ci_low"]) or pd.isna(row["ci_high"])):
            ax.errorbar(est, yy, xerr=[[est - float(row["ci_low"])], [float(row["ci_high"]) - est]],
                        fmt="o", color=colour, ecolor=colour, elinewidth=2, capsize=4, markersize=7)
            right = float(row["ci_high"])
        elif unit == "count":
            ax.barh(yy, est, height=0.6, color=colour)
        else:
            ax.plot(est, yy, "o", color=colour, markersize=7)
        _label_right(ax, right, yy, value(est, unit, lang), colour, hi - lo)
    bottom = max(ys or [0]) + 0.7
    if reference is not None and not pd.isna(reference):
        ax.axvline(reference, color=MUTED, linestyle="--", linewidth=1.2)
        ax.text(reference + (hi - lo) * 0.01, bottom + 0.1, reference_label or "", ha="left",
                va="center", fontsize=10, color=MUTED)
        bottom += 0.5
    ax.set_yticks(ys, labels)
    ax.set_ylim(bottom, -0.7)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(axis_label(unit, lang, counts_people))
    ax.set_title(title, loc="left", fontsize=FONT["axes.titlesize"], wrap=True)
    _style(ax, "x")
    _note(ax, note)
    return fig


def change_chart(pairs: pd.DataFrame, title: str, unit: str, lang: str, baseline: str,
                 latest: str, min_cell: int = 10, note: str | None = None) -> Figure:
    """Baseline and latest value of several indicators (same unit), each with its 95% CI.

    Args:
        pairs: one row per indicator: ``label``, ``base``, ``base_low``, ``base_high``,
            ``base_suppressed``, ``last``, ``last_low``, ``last_high``, ``last_suppressed``.
        baseline, latest: the two periods, for the legend.
    """
    rows = pairs.reset_index(drop=True)
    height = min(max(3.0, 0.9 * len(rows) + 1.8), 7.5)
    fig = _figure((SIZE[0], height))
    ax = fig.add_subplot()
    lo, hi = _limits(unit, list(rows["last_high"].astype(float)) + list(rows["base_high"].astype(float)))
    hidden = suppressed_text(lang, min_cell)
    for i, row in rows.iterrows():
        for prefix, dy, colour, name in (("base", -0.17, LIGHT, t("baseline_label", lang, period=baseline)),
                                         ("last", 0.17, DATA, t("latest_label", lang, period=latest))):
            yy = i + dy
            if bool(row[f"{prefix}_suppressed"]) or pd.isna(row[prefix]):
                ax.text(lo + (hi - lo) * 0.01, yy, hidden, va="center", fontsize=10, color=MUTED,
                        style="italic")
                continue
            est = float(row[prefix])
            err = [[est - float(row[f"{prefix}_low"])], [float(row[f"{prefix}_high"]) - est]] \
                if not pd.isna(row[f"{prefix}_low"]) else None
            ax.errorbar(est, yy, xerr=err, fmt="o", color=colour, ecolor=colour, elinewidth=2,
                        capsize=3, markersize=7, label=name if i == 0 else None)
            right = float(row[f"{prefix}_high"]) if err is not None else est
            _label_right(ax, right, yy, value(est, unit, lang), colour, hi - lo)
    ax.set_yticks(range(len(rows)), [_wrap(label) for label in rows["label"]])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(axis_label(unit, lang))
    ax.set_title(title, loc="left", fontsize=FONT["axes.titlesize"])
    _style(ax, "x")
    if len(rows):
        fig.legend(loc="outside upper right", frameon=False, fontsize=10, ncols=2)
    _note(ax, note)
    return fig


def bar_chart(cells: pd.DataFrame, title: str, lang: str, min_cell: int = 10,
              axis: str | None = None, note: str | None = None) -> Figure:
    """Counts as vertical bars, one per group (``label``, ``estimate``, ``suppressed``)."""
    rows = cells.reset_index(drop=True)
    fig = _figure((SIZE[0], 4.6))
    ax = fig.add_subplot()
    top = max([float(v) for v in rows["estimate"] if not pd.isna(v)] or [1.0])
    hidden = suppressed_text(lang, min_cell)
    for i, row in rows.iterrows():
        if bool(row["suppressed"]) or pd.isna(row["estimate"]):
            ax.text(i, top * 0.02, hidden, ha="center", va="bottom", fontsize=10, color=MUTED,
                    style="italic", rotation=90 if len(rows) > 6 else 0)
            continue
        est = float(row["estimate"])
        ax.bar(i, est, width=0.6, color=DATA)
        ax.text(i, est, value(est, "count", lang), ha="center", va="bottom", fontsize=11)
    ax.set_xticks(range(len(rows)), list(rows["label"]),
                  rotation=30 if len(rows) > 6 else 0, ha="right" if len(rows) > 6 else "center")
    ax.set_ylim(0, top * 1.18 + 1)
    ax.set_ylabel(axis or t("axis_people", lang))
    ax.set_title(title, loc="left", fontsize=FONT["axes.titlesize"])
    _style(ax, "y")
    _note(ax, note)
    return fig
