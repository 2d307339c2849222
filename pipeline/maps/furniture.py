"""Map furniture shared by every map: the slide frame, view, scale bar, north arrow, legend,
boundary layers and labels that do not overlap one another."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox
from pyproj import Transformer
from shapely.ops import polylabel

from pipeline.maps.geography import ENTITY_NAMES, PLOT_CRS
from pipeline.maps.style import (
    ATTRIBUTION,
    FRAME,
    HALO,
    IEBL_COLOUR,
    MUTED,
    NEIGHBOUR_LABEL_AT,
    NEIGHBOUR_NAMES,
    SLIDE_SIZE,
    TEXT,
    words,
)

_TO_LONLAT = Transformer.from_crs(PLOT_CRS, "EPSG:4326", always_xy=True)
_FROM_LONLAT = Transformer.from_crs("EPSG:4326", PLOT_CRS, always_xy=True)


def slide(title: str, subtitle: str, footer: list[str]) -> Figure:
    """A 16:9 figure with the title, subtitle and footer lines in place."""
    fig = Figure(figsize=SLIDE_SIZE, dpi=100)
    fig.patch.set_facecolor("white")
    fig.text(0.035, 0.935, title, fontsize=21, fontweight="bold", color=TEXT, va="center")
    fig.text(0.035, 0.885, subtitle, fontsize=12.5, color=MUTED, va="center")
    for i, line in enumerate(footer):
        fig.text(0.035, 0.058 - 0.027 * i, line, fontsize=8.5, color=MUTED, va="center")
    return fig


def measuring_renderer(fig: Figure) -> RendererAgg:
    """A renderer to measure text with before drawing.

    The figure itself keeps the base canvas: an Agg canvas would redraw the whole figure each
    time geopandas asks for an idle draw, which made maps several times slower.
    """
    return RendererAgg(fig.bbox.width, fig.bbox.height, fig.dpi)


def footer(lang: str, period: str | None, data_source: str | None) -> list[str]:
    """The footer lines: period and data source, then the boundary attribution."""
    w = words(lang)
    first = " · ".join(x for x in (f"{w['period']}: {period}" if period else None,
                                   data_source) if x)
    return [x for x in (first, ATTRIBUTION[lang]) if x]


def map_axes(fig: Figure, rect: Sequence[float], frame: bool = False):
    """Axes for a map (no ticks), optionally framed by a thin grey line."""
    ax = fig.add_axes(rect)
    ax.xaxis.set_visible(False)  # no ticks, and no "Easting [metre]" from geopandas
    ax.yaxis.set_visible(False)
    for spine in ax.spines.values():
        spine.set_visible(frame)
        spine.set_edgecolor(FRAME)
        spine.set_linewidth(0.8)
    ax.set_facecolor("white")
    return ax


def set_view(ax, bounds, margin: float = 0.06) -> None:
    """Limits around ``bounds`` widened to the axes' shape, so metres are equal on both axes.

    Autoscaling is switched off, so later layers that reach beyond the view cannot move it.
    """
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
    fw, fh = ax.figure.get_size_inches()
    pos = ax.get_position()
    box_ratio = (pos.width * fw) / (pos.height * fh)
    if w / h < box_ratio:
        w = h * box_ratio
    else:
        h = w / box_ratio
    ax.set_xlim(cx - w / 2, cx + w / 2)
    ax.set_ylim(cy - h / 2, cy + h / 2)
    ax.set_aspect("equal", adjustable="box")
    ax.set_autoscale_on(False)


def view_box(ax) -> shapely.Polygon:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return shapely.box(x0, y0, x1, y1)


def axes_box(ax, x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle given in axes fractions, in data coordinates."""
    (ax0, ax1), (ay0, ay1) = ax.get_xlim(), ax.get_ylim()
    return shapely.box(ax0 + x0 * (ax1 - ax0), ay0 + y0 * (ay1 - ay0),
                       ax0 + x1 * (ax1 - ax0), ay0 + y1 * (ay1 - ay0))


def nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``target_m``."""
    exp = 10 ** math.floor(math.log10(target_m))
    return max(step * exp for step in (1, 2, 5, 10) if step * exp <= target_m)


def add_scale_bar(ax, fraction: float = 0.22) -> tuple[float, tuple[float, ...]]:
    """A two-segment scale bar at the lower left, measured in the projected metres of the view.

    Returns its length in metres and the area it takes, in axes fractions (x0, y0, x1, y1).
    """
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    length = nice_length((x1 - x0) * fraction)
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.045
    h = (y1 - y0) * 0.011
    for i, colour in enumerate((TEXT, "white")):
        ax.add_patch(Rectangle((bx + i * length / 2, by), length / 2, h, facecolor=colour,
                               edgecolor=TEXT, linewidth=0.8, zorder=20))
    km = length / 1000
    for dx, text in ((0, "0"), (length / 2, f"{km / 2:g}"), (length, f"{km:g} km")):
        halo_annotate(ax, text, (bx + dx, by + h * 1.6), ha="center", va="bottom",
                      fontsize=8.5, color=TEXT, zorder=20)
    right = 0.04 + length / (x1 - x0) + 0.05
    return length, (0.0, 0.0, right, 0.13)


def halo_annotate(ax, text: str, xy, zorder: float = 15, **kwargs):
    """Text with a white halo, returning the text.

    The halo is a separate white copy below the text: a path effect on the text itself would
    turn it into outlines in the SVG, and slide makers need real, editable text.
    """
    halo = {**kwargs, "color": "white"}
    ax.annotate(text, xy, path_effects=HALO, zorder=zorder - 0.01, annotation_clip=False,
                **halo)
    return ax.annotate(text, xy, zorder=zorder, annotation_clip=False, **kwargs)


def north_angle(x: float, y: float) -> float:
    """Angle (degrees, counter-clockwise from grid up) of true north at a projected point."""
    lon, lat = _TO_LONLAT.transform(x, y)
    nx, ny = _FROM_LONLAT.transform(lon, lat + 0.05)
    return math.degrees(math.atan2(-(nx - x), ny - y))


def add_north_arrow(ax, label: str, where: tuple[float, float] = (0.95, 0.86)
                    ) -> tuple[float, ...]:
    """A north arrow turned to true north at the view's centre (UTM grid north is ~2° off).

    Returns the area it takes, in axes fractions (x0, y0, x1, y1).
    """
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    angle = math.radians(north_angle((x0 + x1) / 2, (y0 + y1) / 2))
    dx, dy = -math.sin(angle), math.cos(angle)
    size = 26  # points
    ax.annotate("", xy=where, xycoords="axes fraction",
                xytext=(-dx * size, -dy * size), textcoords="offset points",
                arrowprops={"arrowstyle": "-|>,head_length=0.8,head_width=0.4",
                            "color": TEXT, "linewidth": 1.6}, zorder=20)
    halo_annotate(ax, label, where, xycoords="axes fraction", xytext=(dx * 10, dy * 10),
                  textcoords="offset points", ha="center", va="center", fontsize=12,
                  fontweight="bold", color=TEXT, zorder=20)
    wx, wy = where
    return (wx - 0.05, wy - 0.12, min(wx + 0.05, 1.0), min(wy + 0.08, 1.0))


def legend(fig: Figure, rect: Sequence[float], handles: list, notes: Sequence[str] = (),
           title: str | None = None, handlelength: float = 2.4):
    """A legend in its own axes at ``rect``; ``notes`` are printed right below it."""
    lax = fig.add_axes(rect)
    lax.set_axis_off()
    # wrap long labels (Bosnian ones run longer) so they stay inside the slide
    width_pt = rect[2] * fig.get_figwidth() * 72
    label_chars = max(12, int((width_pt - (handlelength + 1.2) * 10.5) / (10.5 * 0.55)))
    note_chars = max(12, int(width_pt / (9.5 * 0.56)))
    for h in handles:
        h.set_label(textwrap.fill(h.get_label(), label_chars))
    notes = [textwrap.fill(n, note_chars) for n in notes]
    leg = lax.legend(handles=handles, loc="upper left", frameon=False, fontsize=10.5,
                     title=title, title_fontsize=11, alignment="left", handlelength=handlelength,
                     handleheight=1.3, labelspacing=0.7, borderaxespad=0, borderpad=0)
    if title:
        leg.get_title().set_fontweight("bold")
    bottom = lax.transAxes.inverted().transform(
        leg.get_window_extent(measuring_renderer(fig)))[0][1] if handles else 1.0
    line = 9.5 * 1.3 / (rect[3] * fig.get_figheight() * 72)  # one 9.5 pt line, axes fraction
    y = bottom - line * 1.2
    for note in notes:
        lax.text(0, y, note, transform=lax.transAxes, fontsize=9.5, color=MUTED, va="top",
                 linespacing=1.3)
        y -= line * (note.count("\n") + 1.6)
    return lax


def iebl_handles(lang: str) -> list:
    w = words(lang)
    return [Line2D([], [], color=IEBL_COLOUR, linewidth=2.4, label=w["iebl"]),
            Line2D([], [], color=TEXT, linewidth=1.0, label=w["state_border"])]


def in_view(gdf, box: shapely.Polygon):
    """The rows that reach into the view: drawing the rest would only cost time."""
    return gdf[gdf.intersects(box)]


def draw_polys(ax, gdf, **kwargs) -> None:
    if len(gdf):
        gdf.plot(ax=ax, aspect=None, **kwargs)


def draw_iebl(ax, line: shapely.Geometry, zorder: float = 8) -> None:
    """The IEBL in dark red on a white casing, so it reads over any fill."""
    x, y = lines_xy(line)
    ax.plot(x, y, color="white", linewidth=4.6, zorder=zorder, solid_capstyle="round")
    ax.plot(x, y, color=IEBL_COLOUR, linewidth=2.4, zorder=zorder + 0.1,
            solid_capstyle="round")


def draw_state_border(ax, outline: shapely.Geometry) -> None:
    ax.plot(*lines_xy(outline), color=TEXT, linewidth=1.0, zorder=7)


def lines_xy(line) -> tuple[np.ndarray, np.ndarray]:
    """x and y arrays of (multi)lines, parts separated by NaN, for one fast plot call."""
    xs, ys = [], []
    for part in shapely.get_parts(line):
        c = shapely.get_coordinates(part)
        xs.extend([*c[:, 0], np.nan])
        ys.extend([*c[:, 1], np.nan])
    return np.asarray(xs), np.asarray(ys)


# --- labels that keep out of each other's way -------------------------------------------------

Offset = tuple[float, float, str, str]  # dx, dy in points, ha, va
AROUND_CENTRE: tuple[Offset, ...] = tuple(
    (dx, dy, "center", "center")
    for dx, dy in ((0, 0), (0, 9), (0, -9), (16, 0), (-16, 0), (14, 10), (-14, 10),
                   (14, -10), (-14, -10), (0, 18), (0, -18), (26, 0), (-26, 0)))
AROUND_POINT: tuple[Offset, ...] = (
    (0, -6, "center", "top"), (0, 6, "center", "bottom"), (7, 0, "left", "center"),
    (-7, 0, "right", "center"), (6, -5, "left", "top"), (-6, -5, "right", "top"),
    (6, 5, "left", "bottom"), (-6, 5, "right", "bottom"), (0, -16, "center", "top"),
    (0, 16, "center", "bottom"))


@dataclass
class Label:
    """A label anchored at a data point, with the offsets it may take, best first."""

    x: float
    y: float
    text: str
    size: float = 10.5
    weight: str = "normal"
    colour: str = TEXT
    offsets: Sequence[Offset] = AROUND_CENTRE


class LabelPlacer:
    """Places labels one by one where they overlap nothing placed before (greedy)."""

    def __init__(self, ax, pad_px: float = 2.0):
        self.ax = ax
        self.renderer = measuring_renderer(ax.figure)
        self.taken: list[Bbox] = []
        self.keep_out: list[shapely.Geometry] = []  # furniture areas, in data coordinates
        self.pad = pad_px

    def block_fraction(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Keep labels out of an area given in axes fractions (scale bar, north arrow)."""
        self.taken.append(Bbox.from_extents(
            *self.ax.transAxes.transform((x0, y0)), *self.ax.transAxes.transform((x1, y1))))

    def block_points(self, xs, ys, radius_px: float = 4.0) -> None:
        for x, y in self.ax.transData.transform(np.column_stack([xs, ys])):
            self.taken.append(Bbox.from_extents(x - radius_px, y - radius_px,
                                                x + radius_px, y + radius_px))

    def _cost(self, box: Bbox) -> float:
        inside = self.ax.bbox
        overlap = sum(_area(box, t) for t in self.taken)
        return overlap + (box.width * box.height - _area(box, inside)) * 2

    def _touches(self, box: Bbox, forbid) -> bool:
        (x0, y0), (x1, y1) = self.ax.transData.inverted().transform(box.get_points())
        return forbid.intersects(shapely.box(x0, y0, x1, y1))

    def place(self, label: Label, strict: bool = False, forbid=None):
        """Draw the label at its first free offset (or the least crowded one).

        With ``strict``, a label that cannot be placed freely is left out; returns None then.
        ``forbid`` is a geometry (data coordinates) the label must not touch at all.
        """
        style = {"fontsize": label.size, "fontweight": label.weight, "linespacing": 1.2,
                 "textcoords": "offset points"}
        # measure the text once (without the halo: the padding allows for its stroke); each
        # offset only moves that box
        trial = self.ax.annotate(label.text, (label.x, label.y), xytext=(0, 0), ha="left",
                                 va="bottom", **style)
        extent = trial.get_window_extent(self.renderer)
        trial.remove()
        w, h = extent.width, extent.height
        px, py = self.ax.transData.transform((label.x, label.y))
        k = self.renderer.points_to_pixels(1.0)
        best = None
        for offset in label.offsets:
            dx, dy, ha, va = offset
            x0 = px + dx * k - {"left": 0, "center": w / 2, "right": w}[ha]
            y0 = py + dy * k - {"bottom": 0, "center": h / 2, "top": h}[va]
            box = Bbox.from_bounds(x0, y0, w, h).padded(self.pad)
            cost = self._cost(box)
            if forbid is not None and self._touches(box, forbid):
                cost = math.inf
            if best is None or cost < best[0]:
                best = (cost, offset, box)
            if cost == 0:
                break
        cost, (dx, dy, ha, va), box = best
        if (strict and cost > 0) or math.isinf(cost):
            return None
        self.taken.append(box)
        return halo_annotate(self.ax, label.text, (label.x, label.y), xytext=(dx, dy), ha=ha,
                             va=va, color=label.colour, **style)


def _area(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def entity_labels(ax, placer: LabelPlacer, entities, avoid, lang: str, size: float = 11,
                  keep_out: Sequence[shapely.Geometry] = ()) -> None:
    """Entity names in the largest free stretch of each entity in the view.

    ``avoid`` (polygons, e.g. the project municipalities) and ``keep_out`` (furniture areas)
    are left free so the names do not sit on data.
    """
    width = ax.get_xlim()[1] - ax.get_xlim()[0]
    box = view_box(ax).buffer(-0.03 * width)
    hidden = shapely.union_all(avoid.geometry.to_numpy()) if len(avoid) else None
    # a simplified, coarsely buffered copy is plenty to keep names off the data
    blocked = ([hidden.simplify(width / 300).buffer(0.02 * width, quad_segs=2)]
               if hidden is not None else [])
    if hidden is not None:
        shapely.prepare(hidden)
    blocked += list(keep_out)
    for row in entities.itertuples():
        free = row.geometry.intersection(box)
        for b in blocked:
            free = free.difference(b)
        parts = sorted((p for p in shapely.get_parts(free) if p.geom_type == "Polygon"),
                       key=lambda p: -p.area)
        name = ENTITY_NAMES[row.entity][lang].upper()
        # one line where there is room, else on two lines (narrow strips along the IEBL)
        texts = (name, name.replace(" ", "\n", 1)) if " " in name else (name,)
        spots = [polylabel(p, tolerance=width / 500) for p in parts[:3]
                 if p.area >= box.area * 0.01]
        done = False
        for text in texts:
            for pt in spots:
                label = Label(pt.x, pt.y, text, size=size, weight="bold", colour="#767676")
                if placer.place(label, strict=True, forbid=hidden) is not None:
                    done = True
                    break
            if done:
                break


def neighbour_labels(ax, placer: LabelPlacer, bih: shapely.Geometry, lang: str,
                     size: float = 10) -> None:
    """Names of the neighbouring countries in the white space around BiH, where they fit."""
    box = view_box(ax)
    margin = 0.02 * (ax.get_xlim()[1] - ax.get_xlim()[0])
    for code, spots in NEIGHBOUR_LABEL_AT.items():
        for lon, lat in spots:
            x, y = _FROM_LONLAT.transform(lon, lat)
            p = shapely.Point(x, y)
            if not box.contains(p) or bih.distance(p) < margin:
                continue
            label = Label(x, y, NEIGHBOUR_NAMES[code][lang], size=size, colour="#9a9a9a",
                          offsets=((0, 0, "center", "center"),))
            if placer.place(label, strict=True, forbid=bih) is not None:
                break
