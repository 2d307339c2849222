"""The layers the maps are drawn from.

Places and their labels (Latin or Cyrillic), the country around the project, the map
furniture, and the choropleth of indicator values with its legend and colour bar.
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib as mpl
import pandas as pd
import shapely
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from pipeline.config import Settings, get_settings
from pipeline.maps import furniture as fu
from pipeline.maps.geography import Geography, load_geography
from pipeline.maps.scales import ValueScale
from pipeline.maps.style import CONTEXT_GREY, HATCH_GREY, NO_DATA_GREY, TEXT, words

FURNITURE_SCALE = 0.25


def _geo(geo: Geography | None, settings: Settings | None) -> Geography:
    return geo if geo is not None else load_geography(settings or get_settings())


def _project(settings: Settings | None):
    s = settings or get_settings()
    return s.project


@lru_cache(maxsize=1)
def _cyrillic_names() -> dict[str, str]:
    from pipeline.reference import municipalities

    ref = municipalities()
    return dict(zip(ref["muni_id"], ref["name_cyr"], strict=True))


def place(muni_id: str, latin: str, lang: str) -> str:
    """A municipality's name as the map's language writes it (Cyrillic in Serbian)."""
    from pipeline.lang import place_name

    return place_name(latin, _cyrillic_names().get(muni_id) if lang == "sr" else None, lang)


def _words(lang: str, geo: Geography, settings: Settings | None) -> dict[str, str]:
    """The map vocabulary with the project's name and number of municipalities filled in."""
    project = _project(settings)
    n = int(geo.municipalities["is_project"].sum()) if "is_project" in geo.municipalities else None
    return words(lang, project.name if project is not None else "", n)


def _label_nudges(settings: Settings | None) -> dict[str, tuple[float, float]]:
    """Where a label's anchor moves from the polygon's pole of inaccessibility (metres, UTM
    33N), from ``spsc.yml`` (``maps.label_nudge``): where two municipalities' poles sit side by
    side their names would collide at slide size; each can move into its polygon's spare room."""
    project = _project(settings)
    return dict(project.config.maps.label_nudge) if project is not None else {}


def _furniture(ax, lang: str, scale_fraction: float = FURNITURE_SCALE,
               arrow_at: tuple[float, float] = (0.95, 0.86)) -> fu.LabelPlacer:
    """Scale bar and north arrow, then a label placer that keeps clear of both."""
    placer = fu.LabelPlacer(ax)
    _, bar = fu.add_scale_bar(ax, scale_fraction)
    arrow = fu.add_north_arrow(ax, words(lang)["north"], arrow_at)
    placer.block_fraction(*bar)
    placer.block_fraction(*arrow)
    placer.keep_out = [fu.axes_box(ax, *bar), fu.axes_box(ax, *arrow)]
    return placer


def _project_labels(ax, placer: fu.LabelPlacer, geo: Geography, texts: dict[str, str],
                    size: float = 10.5, nudges: dict | None = None) -> None:
    """One label per project municipality, smallest first so small polygons choose first."""
    munis, _, _ = geo.in_crs()
    pts = geo.label_points()
    area = dict(zip(munis["muni_id"], munis["area_km2"], strict=True))
    for muni_id in sorted(texts, key=area.get):
        p = pts[muni_id]
        dx, dy = (nudges or {}).get(muni_id, (0, 0))
        placer.place(fu.Label(p.x + dx, p.y + dy, texts[muni_id], size=size))


def _bih(geo: Geography) -> shapely.Geometry:
    return geo.lines()["bih"]


# --- indicator choropleths --------------------------------------------------------------------

def _values_for(values: pd.DataFrame, indicator: str, period: str) -> pd.DataFrame:
    """Municipality rows of one indicator and period, indexed by ``muni_id``."""
    v = values[(values["indicator_id"] == indicator) & (values["period"] == period)]
    if "dimension" in v.columns:
        v = v[v["dimension"] == "municipality"]
    return v.drop_duplicates("dimension_value", keep="last").set_index("dimension_value")


def _scale_rows(values: pd.DataFrame, indicator: str, period: str) -> pd.DataFrame:
    """The rows a data-derived scale is taken from: every period of the indicator's
    municipality cells, but cumulative totals only for a cumulative map (they are larger)."""
    v = values[values["indicator_id"] == indicator]
    if "dimension" in v.columns:
        v = v[v["dimension"] == "municipality"]
    cumulative = v["period"] == "cumulative"
    return v[cumulative] if period == "cumulative" else v[~cumulative]


def _is_suppressed(row) -> bool:
    suppressed = row.get("suppressed", False)
    return (pd.notna(suppressed) and bool(suppressed)) or pd.isna(row.get("estimate"))


def _is_wide(row, scale: ValueScale) -> bool:
    low, high = row.get("ci_low"), row.get("ci_high")
    return bool(pd.notna(low) and pd.notna(high)
                and (high - low) * scale.factor > scale.wide_threshold)


def _value_line(row, scale: ValueScale, with_ci: bool) -> str:
    text = scale.fmt(row["estimate"])
    if with_ci and pd.notna(row.get("ci_low")) and pd.notna(row.get("ci_high")):
        text += f" ({scale.fmt_ci(row['ci_low'], row['ci_high'])})"
    return text + (" †" if _is_wide(row, scale) else "")


def _choropleth(ax, geo: Geography, vals: pd.DataFrame, scale: ValueScale, lang: str,
                min_cell: int, cmap, with_ci: bool = True,
                extra: dict[str, str] | None = None) -> tuple[dict[str, bool], dict[str, str]]:
    """One panel: grey context, the project's municipalities coloured by value, the IEBL;
    labels are placed later.

    Returns which legend entries the panel needs (suppressed, wide, no_data) and the label
    text of each project municipality.
    """
    w = words(lang)
    munis, _, _ = geo.in_crs()
    project = munis[munis["is_project"]]
    fu.set_view(ax, project.total_bounds, 0.07)
    box = fu.view_box(ax)
    fu.draw_polys(ax, fu.in_view(munis[~munis["is_project"]], box), color=CONTEXT_GREY,
                  edgecolor="white", linewidth=0.6)
    norm = Normalize(scale.vmin, scale.vmax)
    seen = {"suppressed": False, "wide": False, "no_data": False}
    coloured, colours, hatched, blank, texts = [], [], [], [], {}
    for r in project.itertuples():
        row = vals.loc[r.muni_id] if r.muni_id in vals.index else None
        if row is None:
            seen["no_data"] = True
            blank.append(r.Index)
            line = w["no_data"]
        elif _is_suppressed(row):
            seen["suppressed"] = True
            hatched.append(r.Index)
            line = w["suppressed_label"].format(n=min_cell)
        else:
            seen["wide"] |= _is_wide(row, scale)
            coloured.append(r.Index)
            colours.append(cmap(norm(row["estimate"] * scale.factor)))
            line = _value_line(row, scale, with_ci)
        if extra and r.muni_id in extra:
            line += f" · {extra[r.muni_id]}"
        texts[r.muni_id] = f"{place(r.muni_id, r.name, lang)}\n{line}"
    fu.draw_polys(ax, project.loc[coloured], color=colours, edgecolor=TEXT, linewidth=0.9,
                  zorder=3)
    fu.draw_polys(ax, project.loc[hatched], facecolor="white", edgecolor=HATCH_GREY,
                  hatch="////", linewidth=0, zorder=3)
    fu.draw_polys(ax, project.loc[blank], facecolor=NO_DATA_GREY, linewidth=0, zorder=3)
    fu.draw_polys(ax, project.loc[hatched + blank], facecolor="none", edgecolor=TEXT,
                  linewidth=0.9, zorder=3.5)
    fu.draw_state_border(ax, geo.lines()["outline"])
    fu.draw_iebl(ax, geo.lines()["iebl"])
    return seen, texts


def _label_panel(ax, geo: Geography, texts: dict[str, str], lang: str, size: float,
                 scale_fraction: float = FURNITURE_SCALE, nudges: dict | None = None) -> None:
    munis, entities, _ = geo.in_crs()
    placer = _furniture(ax, lang, scale_fraction)
    _project_labels(ax, placer, geo, texts, size=size, nudges=nudges)
    fu.entity_labels(ax, placer, fu.in_view(entities, fu.view_box(ax)),
                     munis[munis["is_project"]], lang, size=9.5, keep_out=placer.keep_out)
    fu.neighbour_labels(ax, placer, _bih(geo), lang, size=9)


def _value_handles(seen: dict, scale: ValueScale, lang: str, min_cell: int) -> list:
    w = words(lang)
    handles = [Patch(facecolor=CONTEXT_GREY, edgecolor="#bdbdbd", label=w["other_munis"])]
    if seen["suppressed"]:
        handles.append(Patch(facecolor="white", edgecolor=HATCH_GREY, hatch="////",
                             label=f"{w['suppressed'].format(n=min_cell)} "
                                   f"({w['suppressed_label'].format(n=min_cell)})"))
    if seen["no_data"]:
        handles.append(Patch(facecolor=NO_DATA_GREY, edgecolor=TEXT, label=w["no_data"]))
    return handles + fu.iebl_handles(lang)


def _wide_note(scale: ValueScale, lang: str) -> str:
    w = words(lang)
    unit = w["pp"] if scale.is_percent else w["points"]
    return w["wide"].format(w=f"{scale.wide_threshold:g}".replace(".", scale.decimal_mark),
                            u=unit)


def _colorbar(fig: Figure, rect: list[float], scale: ValueScale, cmap) -> None:
    cax = fig.add_axes(rect, label="colorbar")
    sm = mpl.cm.ScalarMappable(norm=Normalize(scale.vmin, scale.vmax), cmap=cmap)
    cb = fig.colorbar(sm, cax=cax, orientation="horizontal")
    cb.set_label(scale.unit_label, fontsize=11, fontweight="bold", labelpad=6)
    cb.ax.xaxis.set_label_position("top")
    cb.ax.tick_params(labelsize=9.5)
    cb.outline.set_linewidth(0.6)
    if scale.is_percent:
        cb.ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    else:
        if scale.decimals == 0:
            cb.ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        cb.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace(
            ".", scale.decimal_mark)))
