"""The maps a report shows, drawn by ``pipeline.maps`` and rendered once per batch.

Every report of a batch shows the same project-wide maps (overview of the project area, the
mapped indicator by municipality and its change since baseline, cross-entity ties of the
quarter when the project counts them), so the batch draws them once per language into its
``figures/`` folder with a small manifest and the notebooks embed those PNGs; a notebook run on its own
draws them itself. The mapped indicator is ``maps.indicator`` of ``spsc.yml``, else the first
survey indicator broken down by municipality. Without the boundary files, or for a project
without municipalities, the maps are skipped with a one-line reason and the rest of the
report is made as usual.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.config import Settings
from pipeline.errors import SpscError

MAP_NAMES = ("overview", "indicator", "change", "ties")
MANIFEST = "maps.{lang}.json"  # one per language, beside map_<name>.<lang>.png
DPI = 120  # 1600 x 900 px for the 16:9 maps: sharp in HTML, small enough to embed


def latest_wave(values: pd.DataFrame, indicator_id: str, period: str) -> str | None:
    """The latest period of ``indicator_id`` up to ``period`` (``cumulative`` excluded)."""
    own = values.loc[(values["indicator_id"] == indicator_id) & (values["period"] <= period)
                     & (values["period"] != "cumulative"), "period"]
    return None if own.empty else str(own.max())


def map_indicator(catalogue, project) -> str | None:
    """The indicator mapped by municipality: ``maps.indicator`` of ``spsc.yml``, else the
    first survey indicator broken down by municipality (``None`` when there is none)."""
    chosen = project.config.maps.indicator if project is not None else None
    if chosen and catalogue.has(chosen):
        return chosen
    return next((i.id for i in catalogue.indicators
                 if i.is_survey and "municipality" in i.disaggregations), None)


def render_maps(settings: Settings, values: pd.DataFrame, changes: pd.DataFrame,
                ties: pd.DataFrame, period: str, lang: str, catalogue=None) -> tuple[dict, str | None]:
    """The report's maps as ``{name: Figure}``, and why any are missing (``None`` if none are).

    Args:
        settings: where the boundaries and the geography cache are; its project.
        values, changes, ties: ``indicator_values``, ``indicator_changes``,
            ``cross_entity_ties`` as read by :mod:`pipeline.reports.data`.
        period: the report's quarter.
        lang: a report language (municipality names in Cyrillic for ``sr``).
        catalogue: the project's catalogue (default: loaded from the settings' project).
    """
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.engine import baseline_period
    from pipeline.maps import change_map, indicator_map, load_geography, overview_map, ties_map

    project = settings.project
    if project is None or not project.area:
        return {}, "the project has no municipalities (spsc.yml: area)"
    try:
        geo = load_geography(settings)
    except SpscError as exc:
        return {}, exc.one_line()
    catalogue = catalogue or load_catalogue(project)
    drawers = {"overview": lambda: overview_map(geo, lang=lang, period=period, settings=settings)}
    reasons = []
    mapped = map_indicator(catalogue, project)
    latest = latest_wave(values, mapped, period) if mapped else None
    if latest:
        ind = catalogue.get(mapped)
        label = ind.label.get(lang)
        own = values.loc[values["indicator_id"] == mapped, "period"]
        baseline = baseline_period(catalogue, own)
        drawers["indicator"] = lambda: indicator_map(
            values, mapped, latest, label=label, unit=ind.display_unit, geo=geo, lang=lang,
            min_cell=settings.min_cell, settings=settings)
        if baseline and baseline < latest:
            drawers["change"] = lambda: change_map(
                values, mapped, baseline, latest, changes_df=changes, label=label,
                unit=ind.display_unit, geo=geo, lang=lang, min_cell=settings.min_cell,
                settings=settings)
    elif mapped:
        reasons.append(f"no survey wave up to {period}")
    counts_ties = any(i.of == "ties" for i in catalogue.indicators)
    if counts_ties and (ties["period"] == period).any():
        drawers["ties"] = lambda: ties_map(ties, period, geo=geo, lang=lang, settings=settings)
    elif counts_ties:
        reasons.append(f"no cross-entity ties in {period}")
    figures = {}
    for name, draw in drawers.items():
        try:
            figures[name] = draw()
        except Exception as exc:  # one broken map must not take the reports down with it
            reasons.append(f"{name} map failed ({type(exc).__name__}: {exc})")
    return figures, "; ".join(reasons) or None


def png_bytes(fig, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (its 16:9 size kept, white background)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def write_maps(folder: Path, settings: Settings, values: pd.DataFrame, changes: pd.DataFrame,
               ties: pd.DataFrame, period: str, lang: str, catalogue=None) -> dict:
    """Render the maps once into ``folder`` (``map_<name>.<lang>.png``) with a manifest
    (``maps.<lang>.json``); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    figures, reason = render_maps(settings, values, changes, ties, period, lang, catalogue)
    files = {}
    for name, fig in figures.items():
        path = folder / f"map_{name}.{lang}.png"
        path.write_bytes(png_bytes(fig))
        files[name] = path.name
    manifest = {"period": period, "lang": lang, "maps": files, "unavailable": reason}
    (folder / MANIFEST.format(lang=lang)).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def cached_maps(folder: Path | None, period: str, lang: str) -> dict | None:
    """The manifest of maps already rendered for this period and language, or ``None``."""
    if not folder:
        return None
    path = Path(folder) / MANIFEST.format(lang=lang)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("period") != period or manifest.get("lang") != lang:
        return None
    return manifest
