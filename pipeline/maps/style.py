"""What every map shares: slide size, colours (colour-blind safe) and words in every report
language (the ``map.*`` keys of the string catalogues in pipeline/lang/)."""

from __future__ import annotations

from matplotlib import patheffects

SLIDE_SIZE = (40 / 3, 7.5)  # inches: 16:9, 4000 x 2250 px at 300 dpi
# ColorBrewer YlGnBu: sequential and colour-blind safe; light = low, dark = high.
SEQUENTIAL_CMAP = "YlGnBu"
# Entities as a blue/orange pair, which stays distinct under every common colour-vision deficiency.
ENTITY_TINT = {"FBiH": "#dce9f5", "RS": "#fde3cb", "BD": "#e4e4e4"}
ENTITY_STRONG = {"FBiH": "#74a9cf", "RS": "#f4a261", "BD": "#bdbdbd"}
CONTEXT_GREY = "#e6e6e6"
NO_DATA_GREY = "#f7f7f7"
HATCH_GREY = "#8c8c8c"
TEXT = "#1a1a1a"
MUTED = "#5a5a5a"
FRAME = "#b0b0b0"
IEBL_COLOUR = "#b2182b"  # dark red on a white casing: reads on the blue scale and on both tints
# Ties: purple stays apart from the red IEBL and from both entity tints for all colour
# visions; ties that do not cross the line are muted.
TIE_CROSSING = "#542788"
TIE_OTHER = "#8c8c8c"
HALO = [patheffects.withStroke(linewidth=3, foreground="white")]

# Where a neighbouring country's name may go (lon, lat), first that fits wins; all are points
# well inside that country, so a label never claims BiH territory.
NEIGHBOUR_LABEL_AT = {
    "HR": [(16.05, 44.15), (16.55, 43.75), (17.7, 45.25), (18.8, 45.25)],
    "RS_STATE": [(19.85, 44.3), (19.75, 44.85)],
    "ME": [(19.15, 43.15), (19.0, 42.75)],
}


def _catalogue_words() -> dict[str, dict[str, str]]:
    """``lang -> {word: text}``: the ``map.*`` keys of the string catalogues (pipeline/lang/)."""
    from pipeline.lang import LANGS, catalogue

    return {lang: {k[4:]: v for k, v in catalogue(lang).items() if k.startswith("map.")} for lang in LANGS}


WORDS = _catalogue_words()
ATTRIBUTION = {lang: w["attribution"] for lang, w in WORDS.items()}
NEIGHBOUR_NAMES = {code: {lang: w[f"neighbour_{code}"] for lang, w in WORDS.items()}
                   for code in ("HR", "RS_STATE", "ME")}
PERIOD_WORDS = {"cumulative": {lang: w["period_cumulative"] for lang, w in WORDS.items()}}


def period_text(period: str, lang: str) -> str:
    """A period as printed: quarters and waves as they are, ``cumulative`` in words."""
    return PERIOD_WORDS.get(period, {}).get(lang, period)


def words(lang: str, project: str = "", n: int | None = None) -> dict[str, str]:
    """The map vocabulary in ``lang`` (``en``, ``bs``, ``hr``, ``sr``, ``sr-Latn``), naming the project and the number of
    its municipalities where a text speaks of them."""
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {sorted(WORDS)}, not {lang!r}")
    fill = {"{project_}": f"{project} " if project else "", "{_project}": f" {project}" if project else "",
            "{count}": "" if n is None else str(n)}
    out = {}
    for key, text in WORDS[lang].items():
        for mark, value in fill.items():
            text = text.replace(mark, value)
        out[key] = text
    return out
