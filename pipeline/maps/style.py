"""What every map shares: slide size, colours (colour-blind safe) and words in en/bs."""

from __future__ import annotations

from matplotlib import patheffects

SLIDE_SIZE = (40 / 3, 7.5)  # inches: 16:9, 4000 x 2250 px at 300 dpi
ATTRIBUTION = {
    "en": "Boundaries: geoBoundaries (Runfola et al. 2020), CC BY 4.0; "
          "entity outlines and IEBL derived by spsc-pipeline",
    "bs": "Granice: geoBoundaries (Runfola et al. 2020), CC BY 4.0; "
          "granice entiteta i IEBL izvedeni u spsc-pipeline",
}
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
NEIGHBOUR_NAMES = {
    "HR": {"en": "CROATIA", "bs": "HRVATSKA"},
    "RS_STATE": {"en": "SERBIA", "bs": "SRBIJA"},
    "ME": {"en": "MONTENEGRO", "bs": "CRNA GORA"},
}

WORDS = {
    "en": {
        "overview_title": "The {project_}project area: {count} municipalities",
        "overview_sub": "Bosnia and Herzegovina: entities, the Inter-Entity Boundary Line and "
                        "the {project_}project area",
        "project_area": "Project area",
        "project": "Project municipality",
        "iebl": "Inter-Entity Boundary Line (IEBL)",
        "iebl_length": "IEBL length in this map's source: {km} km",
        "state_border": "State border of BiH",
        "other_munis": "Other municipalities",
        "estimate_ci": "estimate with 95% confidence interval",
        "nine": "{count} project municipalities",
        "value_ci": "Labels: estimate (95% confidence interval)",
        "value_plain": "Labels: value (a count from the registers, no sampling error)",
        "counted": "counted from the attendance registers",
        "value_change": "Labels: estimate; in the latest panel, change since baseline",
        "suppressed": "Suppressed: fewer than {n} people",
        "suppressed_label": "n < {n}",
        "no_data": "No data",
        "wide": "† 95% CI wider than {w} {u}: interpret with care",
        "baseline": "Baseline",
        "latest": "Latest",
        "change_sub": "{b} and {l} on the same scale · change since {b}",
        "significant": "* change statistically significant (95% level)",
        "not_tested": "Changes not tested for significance",
        "ties_title": "Ties across the inter-entity line",
        "ties_sub": "Pairs of young people from different entities who took part in the same "
                    "activity, by home municipality",
        "ties_width": "Number of ties",
        "ties_cross": "Tie crosses the IEBL",
        "ties_other": "Tie does not cross the IEBL",
        "ties_total": "{n} ties between {k} pairs of municipalities",
        "ties_total_one": "{n} ties between one pair of municipalities",
        "ties_none": "No cross-entity ties recorded in this period",
        "period": "Period",
        "data_values": "Data: {project_}M&E warehouse (indicator_values)",
        "data_ties": "Data: {project_}attendance records (cross_entity_ties)",
        "data_overview": "Project municipalities: {project_}project settings (spsc.yml)",
        "north": "N",
        "points": "points",
        "pp": "pp",
    },
    "bs": {
        "overview_title": "Područje projekta{_project}: {count} općina/opština",
        "overview_sub": "Bosna i Hercegovina: entiteti, međuentitetska linija razgraničenja i "
                        "područje projekta{_project}",
        "project_area": "Područje projekta",
        "project": "Projektna općina/opština",
        "iebl": "Međuentitetska linija razgraničenja (IEBL)",
        "iebl_length": "Dužina IEBL u izvoru ove karte: {km} km",
        "state_border": "Državna granica BiH",
        "other_munis": "Ostale općine/opštine",
        "estimate_ci": "procjena s intervalom pouzdanosti od 95%",
        "nine": "Projektne općine/opštine ({count})",
        "value_ci": "Oznake: procjena (interval pouzdanosti od 95%)",
        "value_plain": "Oznake: vrijednost (prebrojano iz evidencija, bez greške uzorka)",
        "counted": "prebrojano iz evidencija prisustva",
        "value_change": "Oznake: procjena; na desnoj karti promjena od početnog stanja",
        "suppressed": "Potisnuto: manje od {n} osoba",
        "suppressed_label": "n < {n}",
        "no_data": "Nema podataka",
        "wide": "† 95% IP širi od {w} {u}: tumačiti oprezno",
        "baseline": "Početno stanje",
        "latest": "Posljednje mjerenje",
        "change_sub": "{b} i {l} na istoj skali · promjena od {b}",
        "significant": "* statistički značajna promjena (nivo 95%)",
        "not_tested": "Značajnost promjena nije testirana",
        "ties_title": "Veze preko međuentitetske linije",
        "ties_sub": "Parovi mladih iz različitih entiteta koji su učestvovali u istoj "
                    "aktivnosti, po općini prebivališta",
        "ties_width": "Broj veza",
        "ties_cross": "Veza prelazi IEBL",
        "ties_other": "Veza ne prelazi IEBL",
        "ties_total": "{n} veza između {k} parova općina/opština",
        "ties_total_one": "{n} veza između jednog para općina/opština",
        "ties_none": "U ovom periodu nema zabilježenih veza između entiteta",
        "period": "Period",
        "data_values": "Podaci: {project_}M&E skladište podataka (indicator_values)",
        "data_ties": "Podaci: {project_}evidencija prisustva (cross_entity_ties)",
        "data_overview": "Projektne općine: postavke projekta{_project} (spsc.yml)",
        "north": "S",
        "points": "poena",
        "pp": "p. p.",
    },
}


PERIOD_WORDS = {"cumulative": {"en": "cumulative (all quarters)", "bs": "kumulativno (svi kvartali)"}}


def period_text(period: str, lang: str) -> str:
    """A period as printed: quarters and waves as they are, ``cumulative`` in words."""
    return PERIOD_WORDS.get(period, {}).get(lang, period)


def words(lang: str, project: str = "", n: int | None = None) -> dict[str, str]:
    """The map vocabulary in ``lang`` (``en`` or ``bs``), naming the project and the number of
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
