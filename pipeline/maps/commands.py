"""``spsc boundaries fetch|import|status`` and ``spsc maps``.

Heavy libraries (geopandas, matplotlib) are imported inside the commands so ``spsc --help``
stays fast. Missing boundaries never fail the pipeline: map steps say in one line how to get
them and exit 0.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app, boundaries_app, console, settings
from pipeline.errors import SpscError
from pipeline.lang import LANGS


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _summarise(geo) -> None:
    """What was derived, in a few lines a reviewer can check against SOURCES.md."""
    counts = geo.municipalities["entity"].value_counts()
    _say(f"geography: {len(geo.municipalities)} municipalities (FBiH {counts.get('FBiH', 0)}, "
         f"RS {counts.get('RS', 0)}, BD {counts.get('BD', 0)}); IEBL "
         f"{geo.iebl['length_km'].sum():,.1f} km in {len(geo.iebl)} parts")
    if geo.entity_check.empty:
        _say("entity check: reference table and ADM2 overlay agree for every municipality")
    for r in geo.entity_check.itertuples():
        kind = "known exception" if r.known_exception else "DISAGREEMENT"
        _say(f"entity check: {kind}: {r.name} is {r.entity} in the reference table, "
             f"{r.entity_overlay} by the ADM2 overlay ({r.adm2}); {r.reason}")


def _after_store(stored: list[Path]) -> None:
    from pipeline.maps.boundaries import missing_sources
    from pipeline.maps.geography import build_cache, cache_dir

    s = settings()
    for path in stored:
        _say(f"verified sha256 and stored {path}")
    missing = missing_sources(s)
    if missing:
        _say(f"still missing: {', '.join(missing)} (import it to build the geography)")
        return
    geo = build_cache(s)
    _summarise(geo)
    _say(f"cached as GeoParquet in {cache_dir(s)}")


@boundaries_app.command("fetch")
def fetch_command(
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Release folder holding ADM3/ and ADM2/ (default: the pinned "
                           "geoBoundaries commit, or SPSC_BOUNDARIES_URL).")] = None,
) -> None:
    """Download geoBoundaries BIH ADM3 and ADM2 from the pinned release and verify them."""
    from pipeline.maps.boundaries import fetch_boundaries

    _after_store(fetch_boundaries(settings(), base_url))


@boundaries_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A folder holding the two GeoJSON files, or one of them.")],
) -> None:
    """Copy the pinned geoBoundaries files from a local folder or file, verifying their sha256."""
    from pipeline.maps.boundaries import import_boundaries

    _after_store(import_boundaries(settings(), path))


@boundaries_app.command("status")
def status_command() -> None:
    """Whether the boundaries are stored and verified, and the derived geography cached."""
    from pipeline.maps.boundaries import HOW_TO_GET, SOURCES, sha256_of

    s = settings()
    ok = True
    for source in SOURCES:
        path = s.boundaries_dir / source.file_name
        if not path.is_file():
            _say(f"{source.level}: missing ({path}); {HOW_TO_GET}")
            ok = False
        elif sha256_of(path.read_bytes()) != source.sha256:
            _say(f"{source.level}: {path} does not match the pinned sha256; fetch or import again")
            ok = False
        else:
            _say(f"{source.level}: {path} verified")
    if ok:
        from pipeline.maps.geography import load_geography

        _summarise(load_geography(s))


# --- spsc maps --------------------------------------------------------------------------------

# The marts the maps read, each by a fixed query (never a name formatted into SQL).
_QUERIES = {
    "indicator_values": "select * from indicator_values where dimension = 'municipality'",
    "indicator_changes": "select * from indicator_changes where dimension = 'municipality'",
    "indicator_catalogue": "select * from indicator_catalogue",
    "cross_entity_ties": "select * from cross_entity_ties",
}


def _table(con, name: str):
    """A mart as a DataFrame, or why it cannot be used (missing or empty)."""
    found = con.execute("select count(*) from duckdb_tables() where table_name = ?",
                        [name]).fetchall()[0][0]
    if not found:
        return None, f"table {name} is missing"
    df = con.execute(_QUERIES[name]).df()
    if df.empty:
        return None, f"table {name} is empty"
    return df, None


def _catalogue_meta(con) -> dict[str, dict[str, str]]:
    """Label (en/bs) and unit per indicator id: from the warehouse, else the catalogue module."""
    meta: dict[str, dict[str, str]] = {}
    cat, _ = _table(con, "indicator_catalogue") if con is not None else (None, None)
    if cat is not None:
        for r in cat.itertuples():
            meta[r.indicator_id] = {"en": r.label_en, "bs": r.label_bs, "unit": r.unit}
        try:  # the other languages from the catalogue, where indicators.yml gives them
            from pipeline.indicators.catalogue import load_catalogue

            for ind in load_catalogue(settings().require_project()).indicators:
                if ind.id in meta:
                    meta[ind.id].update({lang: ind.label.get(lang) for lang in LANGS})
        except SpscError:
            pass
        return meta
    try:
        from pipeline.indicators.catalogue import load_catalogue
    except ImportError:
        return meta
    try:
        catalogue = load_catalogue(settings().require_project())
    except SpscError as exc:  # a broken catalogue is reported, but maps can use the ids
        _say(f"indicator labels: catalogue not loaded ({exc.one_line()}); using ids")
        return meta
    for ind in catalogue.indicators:
        meta[ind.id] = {**{lang: ind.label.get(lang) for lang in LANGS}, "unit": ind.unit}
    return meta


@app.command("maps")
def maps_command(
    period: Annotated[str, typer.Option(help="Reporting period, e.g. 2024Q4 (or cumulative).")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default reports/maps/<period>).")] = None,
    lang: Annotated[str, typer.Option(help="Language of titles and labels: en, bs, hr, sr (Cyrillic) or sr-Latn.")] = "en",
    dpi: Annotated[int, typer.Option(help="PNG resolution (300 for slides).")] = 300,
) -> None:
    """Draw the overview, indicator, change and ties maps for one period (PNG + SVG)."""
    if lang not in LANGS:
        raise SpscError(f"unknown language '{lang}'", "--lang", "use one of " + ", ".join(LANGS))
    from pipeline.maps.boundaries import BoundariesMissing
    from pipeline.maps.geography import load_geography

    s = settings()
    if s.project is not None and not s.project.area:
        _say("maps skipped: the project has no municipalities (spsc.yml: area)")
        return
    try:
        geo = load_geography(s)
    except BoundariesMissing as exc:
        _say(f"maps skipped: {exc.one_line()}")
        return
    from pipeline.maps import render
    from pipeline.warehouse import open_published

    folder = out or s.reports_dir / "maps" / period
    written: list[str] = []

    def save(draw, stem: str) -> None:
        """Draw one map (``draw()`` returns its figure), write it, say where and how long."""
        t0 = time.perf_counter()
        png, _ = render.save_map(draw(), folder / stem, dpi=dpi)
        written.append(png.stem)
        _say(f"wrote {png} and .svg ({time.perf_counter() - t0:.1f} s)")

    save(lambda: render.overview_map(geo, lang=lang, period=period, settings=s), f"overview_{lang}")

    con = None
    if not s.db.exists():
        reason = f"no warehouse at {s.db} (run 'spsc init' and load data first)"
        for what in ("indicator maps", "change maps", "ties map"):
            _say(f"{what} skipped: {reason}")
    else:
        con = open_published(s.db)
    try:
        if con is not None:
            _indicator_and_change_maps(con, geo, period, lang, s.min_cell, save, s)
            _ties_map(con, geo, period, lang, save, s)
    finally:
        if con is not None:
            con.close()
    _say(f"{len(written)} maps in {folder}")


def _indicator_and_change_maps(con, geo, period: str, lang: str, min_cell: int, save, s) -> None:
    from pipeline.maps import render

    values, why = _table(con, "indicator_values")
    if values is None:
        _say(f"indicator maps skipped: {why} (run 'spsc build')")
        _say(f"change maps skipped: {why} (run 'spsc build')")
        return
    meta = _catalogue_meta(con)
    muni = values[values["dimension"] == "municipality"]
    ids = list(dict.fromkeys(muni.loc[muni["period"] == period, "indicator_id"]))
    if not ids:
        _say(f"indicator maps skipped: indicator_values has no municipality rows for {period}")
    for ind in ids:
        info = meta.get(ind, {})
        save(lambda ind=ind, info=info: render.indicator_map(
            muni, ind, period, label=info.get(lang, ind), unit=info.get("unit"), geo=geo,
            lang=lang, min_cell=min_cell, settings=s), f"indicator_{ind}_{period}_{lang}")

    changes, why = _table(con, "indicator_changes")
    if changes is None:
        _say(f"change maps skipped: {why}")
        return
    changes = changes[(changes["dimension"] == "municipality")
                      & (changes["latest_period"] == period)]
    if changes.empty:
        _say(f"change maps skipped: indicator_changes has no municipality rows ending in {period}")
        return
    for (ind, baseline), _ in changes.groupby(["indicator_id", "baseline_period"], sort=False):
        info = meta.get(ind, {})
        save(lambda ind=ind, baseline=baseline, info=info: render.change_map(
            muni, ind, baseline, period, changes_df=changes, label=info.get(lang, ind),
            unit=info.get("unit"), geo=geo, lang=lang, min_cell=min_cell, settings=s),
            f"change_{ind}_{baseline}_{period}_{lang}")


def _ties_map(con, geo, period: str, lang: str, save, s) -> None:
    from pipeline.maps import render

    ties, why = _table(con, "cross_entity_ties")
    if ties is None:
        _say(f"ties map skipped: {why}")
        return
    if not (ties["period"] == period).any():
        _say(f"ties map skipped: cross_entity_ties has no rows for {period}")
        return
    save(lambda: render.ties_map(ties, period, geo=geo, lang=lang, settings=s), f"ties_{period}_{lang}")
