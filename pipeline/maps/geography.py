"""Derived geography: municipality entities, entity polygons, the IEBL and distances to it.

Everything is computed here from the two geoBoundaries sources and the reference table; the
derived files in ``shared/geo`` are only used by tests to check the results. Polygons join
the warehouse through ``ref_municipalities.geo_shape_id == ADM3 shapeID``, never by name.

Geometry operations run in the source coordinates (EPSG:4326), where neighbouring units share
identical vertices, so dissolves and shared edges are exact; lengths, areas and distances are
measured after projecting to EPSG:3035 (LAEA Europe).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.ops import polylabel

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.maps.boundaries import SOURCES, require_boundaries, sha256_of

METRIC_CRS = "EPSG:3035"  # equal-area, metres: areas, lengths, distances
PLOT_CRS = "EPSG:32633"  # UTM 33N: north is almost up across BiH, metres for the scale bar
GEOGRAPHY_VERSION = 1  # bump when the derivation changes, so caches are rebuilt

ENTITY_OF_ADM2 = {"Republika Srpska": "RS", "Brcko District": "BD"}  # any other ADM2 is a canton
# Overlay disagreements that are facts, not errors, keyed by ADM3 shapeID.
KNOWN_ENTITY_EXCEPTIONS = {
    "43093233B26529153732630": "Istočni Stari Grad lies inside the ADM2 Sarajevo Canton polygon "
                               "but is an RS municipality (City of Istočno Sarajevo)",
}

def _entity_names() -> dict[str, dict[str, str]]:
    from pipeline.lang import LANGS, catalogue

    return {e: {lang: catalogue(lang)[f"val_{e}"] for lang in LANGS} for e in ("FBiH", "RS", "BD")}


ENTITY_NAMES = _entity_names()  # entity -> {lang: name} (Република Српска in Serbian)


@dataclass
class Geography:
    """The polygons the maps draw, all in EPSG:4326.

    Attributes:
        municipalities: one row per ADM3 municipality (142) with ``muni_id``, ``name``,
            ``entity``, ``adm2``, ``is_project``, ``area_km2``, ``iebl_km`` (length of its
            boundary on the IEBL), ``iebl_distance_km`` (nearest edge to the IEBL, 0 on it),
            ``iebl_point_distance_km`` (from its label point), ``label_lon``, ``label_lat``.
        entities: one row per entity (FBiH, RS, BD): ``n_municipalities``, ``area_km2``.
        iebl: one row per connected part of the IEBL: ``part``, ``length_km``.
        entity_check: one row per municipality whose overlay entity differs from the
            reference table, with ``known_exception`` and ``reason``.
    """

    municipalities: gpd.GeoDataFrame
    entities: gpd.GeoDataFrame
    iebl: gpd.GeoDataFrame
    entity_check: pd.DataFrame
    _projected: dict = field(default_factory=dict, repr=False)

    def in_crs(self, crs: str = PLOT_CRS) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame,
                                                   gpd.GeoDataFrame]:
        """(municipalities, entities, iebl) reprojected once per CRS and kept."""
        if crs not in self._projected:
            self._projected[crs] = tuple(
                g.to_crs(crs) for g in (self.municipalities, self.entities, self.iebl))
        return self._projected[crs]

    def lines(self, crs: str = PLOT_CRS) -> dict[str, shapely.Geometry]:
        """Unions every map needs, computed once per CRS: ``bih`` (the country polygon),
        ``outline`` (the state border), ``iebl`` and ``munis`` (all municipal boundaries)."""
        key = ("lines", crs)
        if key not in self._projected:
            munis, entities, iebl = self.in_crs(crs)
            bih = shapely.union_all(entities.geometry.to_numpy())
            self._projected[key] = {
                "bih": bih, "outline": bih.boundary,
                "iebl": shapely.union_all(iebl.geometry.to_numpy()),
                "munis": shapely.union_all(munis.boundary.to_numpy()),
            }
        return self._projected[key]

    def label_points(self, crs: str = PLOT_CRS) -> gpd.GeoSeries:
        """Label point of each municipality (indexed by ``muni_id``) in ``crs``."""
        key = ("labels", crs)
        if key not in self._projected:
            pts = gpd.GeoSeries(gpd.points_from_xy(self.municipalities["label_lon"],
                                                   self.municipalities["label_lat"]),
                                index=self.municipalities["muni_id"].to_numpy(), crs="EPSG:4326")
            self._projected[key] = pts.to_crs(crs)
        return self._projected[key]


def entity_of_adm2(adm2_name: str) -> str:
    """RS and Brčko District are ADM2 units of their own; every other ADM2 is an FBiH canton."""
    return ENTITY_OF_ADM2.get(adm2_name, "FBiH")


def assign_entities(adm3: gpd.GeoDataFrame, adm2: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per ADM3 unit: the ADM2 unit it overlaps most, that unit's entity, the share.

    Returns columns ``shape_id``, ``adm2``, ``entity_overlay``, ``overlap_share``.
    """
    left = adm3[["shapeID", "geometry"]].to_crs(METRIC_CRS)
    right = adm2[["shapeName", "geometry"]].rename(columns={"shapeName": "adm2"}).to_crs(METRIC_CRS)
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    pieces["overlap"] = pieces.area
    best = pieces.sort_values("overlap", ascending=False).drop_duplicates("shapeID")
    totals = left.set_index("shapeID").area
    out = pd.DataFrame({
        "shape_id": best["shapeID"].to_numpy(),
        "adm2": best["adm2"].to_numpy(),
        "entity_overlay": best["adm2"].map(entity_of_adm2).to_numpy(),
        "overlap_share": (best["overlap"] / best["shapeID"].map(totals)).to_numpy(),
    })
    unmatched = set(adm3["shapeID"]) - set(out["shape_id"])
    if unmatched:
        raise SpscError(f"{len(unmatched)} ADM3 units overlap no ADM2 unit", "ADM3/ADM2 overlay")
    return out


def attach_reference(adm3: gpd.GeoDataFrame, reference: pd.DataFrame) -> gpd.GeoDataFrame:
    """ADM3 polygons joined 1:1 to the reference table on ``geo_shape_id == shapeID``.

    Raises:
        SpscError: a polygon without a reference row or a reference row without a polygon.
    """
    ref = reference[["muni_id", "name", "entity", "is_project", "geo_shape_id"]]
    joined = adm3[["shapeID", "shapeName", "geometry"]].merge(
        ref, left_on="shapeID", right_on="geo_shape_id", how="outer", indicator=True)
    orphans = joined[joined["_merge"] != "both"]
    if len(orphans):
        polys = orphans.loc[orphans["_merge"] == "left_only", "shapeName"].tolist()
        refs = orphans.loc[orphans["_merge"] == "right_only", "muni_id"].tolist()
        raise SpscError(f"shapeID join failed: polygons without reference {polys[:5]}, "
                        f"reference rows without polygon {refs[:5]}", "ref_municipalities",
                        "the boundaries must be the pinned geoBoundaries release")
    joined = joined.rename(columns={"shapeID": "shape_id", "shapeName": "shape_name"})
    joined["is_project"] = joined["is_project"].astype(bool)
    cols = ["muni_id", "shape_id", "shape_name", "name", "entity", "is_project", "geometry"]
    return gpd.GeoDataFrame(joined[cols], geometry="geometry", crs=adm3.crs)


def check_entities(munis: pd.DataFrame, overlay: pd.DataFrame) -> pd.DataFrame:
    """Municipalities whose overlay entity differs from the reference entity.

    Returns one row per disagreement (``muni_id``, ``name``, ``entity``, ``entity_overlay``,
    ``adm2``, ``known_exception``, ``reason``).

    Raises:
        SpscError: a disagreement that is not a known exception.
    """
    both = munis[["muni_id", "shape_id", "name", "entity"]].merge(overlay, on="shape_id")
    diff = both[both["entity"] != both["entity_overlay"]].copy()
    diff["known_exception"] = diff["shape_id"].isin(list(KNOWN_ENTITY_EXCEPTIONS))
    diff["reason"] = diff["shape_id"].map(KNOWN_ENTITY_EXCEPTIONS).fillna("")
    unexpected = diff[~diff["known_exception"]]
    if len(unexpected):
        listed = ", ".join(f"{r.name} ({r.entity} in reference, {r.entity_overlay} by overlay)"
                           for r in unexpected.itertuples())
        raise SpscError(f"entity of {len(unexpected)} municipalities disagrees with the "
                        f"ADM2 overlay: {listed}", "ref_municipalities")
    cols = ["muni_id", "name", "entity", "entity_overlay", "adm2", "known_exception", "reason"]
    return diff[cols].reset_index(drop=True)


def dissolve_entities(munis: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon per entity, dissolved from its municipalities (exact on shared vertices)."""
    ent = munis[["entity", "geometry"]].dissolve(by="entity", as_index=False)
    ent["n_municipalities"] = ent["entity"].map(munis["entity"].value_counts()).astype("int64")
    ent["area_km2"] = ent.to_crs(METRIC_CRS).area / 1e6
    return ent[["entity", "n_municipalities", "area_km2", "geometry"]]


def _lines_only(geom) -> shapely.Geometry:
    """The line parts of an intersection (shared corners come back as points)."""
    parts = shapely.get_parts(geom)
    lines = [p for p in parts if p.geom_type in ("LineString", "MultiLineString")]
    return shapely.line_merge(shapely.union_all(lines)) if lines else shapely.MultiLineString()


def derive_iebl(entities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The IEBL: the shared edge of the FBiH and RS polygons, one row per connected part.

    Edges with Brčko District and the state border are not part of it.
    """
    geoms = entities.set_index("entity").geometry
    line = _lines_only(geoms["FBiH"].intersection(geoms["RS"]))
    parts = gpd.GeoDataFrame(geometry=list(shapely.get_parts(line)), crs=entities.crs)
    parts["length_km"] = parts.to_crs(METRIC_CRS).length / 1000
    parts = parts.sort_values("length_km", ascending=False, ignore_index=True)
    parts.insert(0, "part", range(len(parts)))
    return parts[["part", "length_km", "geometry"]]


def _label_point(geom) -> shapely.Point:
    """A point well inside the largest part, where a label reads as belonging to the polygon."""
    largest = max(shapely.get_parts(geom), key=lambda p: p.area)
    return polylabel(largest, tolerance=0.002)


def measure_iebl(munis: gpd.GeoDataFrame, iebl: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per municipality: ``iebl_km`` on the line, nearest ``iebl_distance_km``, distance of the
    label point ``iebl_point_distance_km``, and ``area_km2``; same index as ``munis``."""
    line = shapely.union_all(iebl.geometry.to_numpy())
    on_line = gpd.GeoSeries(munis.boundary.intersection(line).map(_lines_only), crs=munis.crs)
    metric = munis.to_crs(METRIC_CRS)
    line_m = gpd.GeoSeries([line], crs=munis.crs).to_crs(METRIC_CRS).iloc[0]
    points = gpd.GeoSeries(gpd.points_from_xy(munis["label_lon"], munis["label_lat"]),
                           index=munis.index, crs=munis.crs).to_crs(METRIC_CRS)
    return pd.DataFrame({
        "area_km2": metric.area / 1e6,
        "iebl_km": on_line.to_crs(METRIC_CRS).length / 1000,
        "iebl_distance_km": metric.distance(line_m) / 1000,
        "iebl_point_distance_km": points.distance(line_m) / 1000,
    }, index=munis.index)


def build_geography(adm3: gpd.GeoDataFrame, adm2: gpd.GeoDataFrame,
                    reference: pd.DataFrame) -> Geography:
    """Derive the whole geography from the two sources and the reference table.

    Entities are the reference table's (the overlay only checks them); the overlay supplies
    the ADM2 unit (canton) of each municipality.
    """
    overlay = assign_entities(adm3, adm2)
    munis = attach_reference(adm3, reference)
    check = check_entities(munis, overlay)
    munis = munis.merge(overlay, on="shape_id")
    labels = munis.geometry.map(_label_point)
    munis["label_lon"] = labels.x
    munis["label_lat"] = labels.y
    entities = dissolve_entities(munis)
    iebl = derive_iebl(entities)
    munis = munis.join(measure_iebl(munis, iebl))
    cols = ["muni_id", "shape_id", "shape_name", "name", "entity", "entity_overlay", "adm2",
            "overlap_share", "is_project", "area_km2", "iebl_km", "iebl_distance_km",
            "iebl_point_distance_km", "label_lon", "label_lat", "geometry"]
    munis = munis[cols].sort_values("muni_id", ignore_index=True)
    return Geography(munis, entities, iebl, check)


def read_sources(paths: dict[str, Path]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(ADM3, ADM2) read from the stored GeoJSON files."""
    return gpd.read_file(paths["ADM3"]), gpd.read_file(paths["ADM2"])


def _reference_digest(reference: pd.DataFrame) -> str:
    cols = ["muni_id", "name", "entity", "is_project", "geo_shape_id"]
    return sha256_of(reference[cols].to_csv(index=False).encode("utf-8"))


def _manifest(paths: dict[str, Path], reference: pd.DataFrame) -> dict:
    manifest = {"version": GEOGRAPHY_VERSION, "reference": _reference_digest(reference)}
    for source in SOURCES:
        manifest[source.level] = hashlib.sha256(paths[source.level].read_bytes()).hexdigest()
    return manifest


_CACHE_FILES = ("municipalities", "entities", "iebl", "entity_check")


def cache_dir(settings: Settings) -> Path:
    """Where the derived geography is kept as GeoParquet."""
    return settings.processed_dir / "geo"


def write_cache(geo: Geography, folder: Path, manifest: dict) -> None:
    """Write the geography as GeoParquet plus a manifest of what it was derived from."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = dict(zip(_CACHE_FILES, (geo.municipalities, geo.entities, geo.iebl,
                                     geo.entity_check), strict=True))
    for name, frame in frames.items():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".parquet")
        os.close(fd)
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, folder / f"{name}.parquet")
    # the manifest goes last: a cache without one (or with an old one) is rebuilt
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _read_cache(folder: Path) -> Geography:
    munis, ents, iebl = (gpd.read_parquet(folder / f"{n}.parquet") for n in _CACHE_FILES[:3])
    return Geography(munis, ents, iebl, pd.read_parquet(folder / "entity_check.parquet"))


def build_cache(settings: Settings) -> Geography:
    """Derive the geography from the stored sources and write the GeoParquet cache."""
    paths = require_boundaries(settings)
    reference = _reference(settings)
    geo = build_geography(*read_sources(paths), reference)
    write_cache(geo, cache_dir(settings), _manifest(paths, reference))
    return geo


def _reference(settings: Settings) -> pd.DataFrame:
    """The reference table with the settings' project area marked (``is_project``)."""
    from pipeline.reference import with_area

    return with_area(settings.project.area if settings.project is not None else ())


@lru_cache(maxsize=4)
def _load(folder: str, manifest_json: str, boundaries_dir: str, area: tuple[str, ...] = ()) -> Geography:
    path = Path(folder)
    try:
        on_disk = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        on_disk = None
    if on_disk == json.loads(manifest_json):
        return _read_cache(path)
    from pipeline.reference import with_area

    paths = {s.level: Path(boundaries_dir) / s.file_name for s in SOURCES}
    geo = build_geography(*read_sources(paths), with_area(area))
    write_cache(geo, path, json.loads(manifest_json))
    return geo


def load_geography(settings: Settings) -> Geography:
    """The derived geography, read once per process from the GeoParquet cache.

    The cache is rebuilt from the stored GeoJSON when it is missing or was derived from other
    files, another reference table or an older derivation.

    Raises:
        BoundariesMissing: the source files are not stored yet (one line says how to get them).
    """
    paths = require_boundaries(settings)
    reference = _reference(settings)
    manifest = _manifest(paths, reference)
    area = tuple(reference.loc[reference["is_project"], "muni_id"])
    return _load(str(cache_dir(settings)), json.dumps(manifest, sort_keys=True),
                 str(settings.boundaries_dir), area)
