"""Derived geography: entities, dissolve, IEBL, distances, the shapeID join and the cache.

Synthetic squares (always run) have lengths a reader can check by hand; the real
geoBoundaries files (``shared_dir``) are checked against SOURCES.md and the derived files
in shared/geo, which the pipeline never reads itself.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from helpers import project_settings
from pyproj import Geod

from pipeline.errors import SpscError
from pipeline.maps import geography as g

GEOD = Geod(ellps="WGS84")
STEP = 0.125  # degrees: exact in binary, so shared corners are identical


def square(x: float, y: float) -> shapely.Polygon:
    return shapely.box(x, y, x + STEP, y + STEP)


# Seven squares around 44N 17E: columns x = 17.0 and 17.125 are FBiH, x = 17.25 is RS;
# a Brčko District square sits on top of the middle column (its edge with FBiH is no IEBL,
# and it touches RS at one corner only). The IEBL is the meridian 17.25E from 44N to 44.25N.
SQUARES = [  # shapeID, shapeName, muni_id, reference name, entity, ADM2, lower-left corner
    ("S1", "West One", "w1", "West One", "FBiH", "Una-Sana Canton", (17.0, 44.0)),
    ("S2", "West Two", "w2", "West Two", "FBiH", "Una-Sana Canton", (17.0, 44.125)),
    ("S3", "Kupra na Uni", "m1", "Krupa na Uni", "FBiH", "Canton 10", (17.125, 44.0)),
    ("S4", "Middle Two", "m2", "Middle Two", "FBiH", "Canton 10", (17.125, 44.125)),
    ("S5", "Republika Srpska", "e1", "Višegrad", "RS", "Republika Srpska", (17.25, 44.0)),
    ("S6", "East Two", "e2", "East Two", "RS", "Republika Srpska", (17.25, 44.125)),
    ("S7", "Brcko District", "bd", "Brčko", "BD", "Brcko District", (17.125, 44.25)),
]


def synthetic_sources():
    adm3 = gpd.GeoDataFrame(
        {"shapeID": [s[0] for s in SQUARES], "shapeName": [s[1] for s in SQUARES]},
        geometry=[square(*s[6]) for s in SQUARES], crs="EPSG:4326")
    by_adm2: dict[str, list] = {}
    for s in SQUARES:
        by_adm2.setdefault(s[5], []).append(square(*s[6]))
    adm2 = gpd.GeoDataFrame({"shapeName": list(by_adm2)},
                            geometry=[shapely.union_all(v) for v in by_adm2.values()],
                            crs="EPSG:4326")
    reference = pd.DataFrame({
        "muni_id": [s[2] for s in SQUARES], "name": [s[3] for s in SQUARES],
        "entity": [s[4] for s in SQUARES], "is_project": [s[2] in ("m1", "e1") for s in SQUARES],
        "geo_shape_id": [s[0] for s in SQUARES]})
    return adm3, adm2, reference


def meridian_km(lon: float, lat0: float, lat1: float) -> float:
    return GEOD.line_length([lon, lon], [lat0, lat1]) / 1000


def parallel_km(lat: float, lon0: float, lon1: float) -> float:
    return GEOD.line_length([lon0, lon1], [lat, lat]) / 1000


@pytest.fixture(scope="module")
def synthetic():
    return g.build_geography(*synthetic_sources())


def test_overlay_assigns_the_adm2_unit_with_the_largest_overlap():
    adm3, adm2, _ = synthetic_sources()
    overlay = g.assign_entities(adm3, adm2).set_index("shape_id")
    assert overlay["entity_overlay"].to_dict() == {
        "S1": "FBiH", "S2": "FBiH", "S3": "FBiH", "S4": "FBiH", "S5": "RS", "S6": "RS",
        "S7": "BD"}
    assert overlay.loc["S3", "adm2"] == "Canton 10"
    assert overlay["overlap_share"].min() == pytest.approx(1.0)


def test_entities_are_dissolved_into_one_polygon_each(synthetic):
    ent = synthetic.entities.set_index("entity")
    assert ent["n_municipalities"].to_dict() == {"BD": 1, "FBiH": 4, "RS": 2}
    assert ent.geometry["FBiH"].geom_type == "Polygon"  # four squares, no inner edges left
    assert ent.geometry["FBiH"].equals(shapely.box(17.0, 44.0, 17.25, 44.25))
    assert ent.geometry["RS"].equals(shapely.box(17.25, 44.0, 17.375, 44.25))
    munis = synthetic.municipalities.set_index("muni_id")
    assert ent.loc["FBiH", "area_km2"] == pytest.approx(munis.loc[["w1", "w2", "m1", "m2"],
                                                                  "area_km2"].sum())


def test_iebl_is_the_shared_fbih_rs_edge_only(synthetic):
    iebl = synthetic.iebl
    assert len(iebl) == 1
    assert iebl.geometry.iloc[0].equals(shapely.LineString([(17.25, 44.0), (17.25, 44.25)]))
    # EPSG:3035 lengths agree with the ellipsoid within 0.5% here
    assert iebl["length_km"].iloc[0] == pytest.approx(meridian_km(17.25, 44.0, 44.25), rel=5e-3)


def test_iebl_border_length_and_distance_per_municipality(synthetic):
    m = synthetic.municipalities.set_index("muni_id")
    edge = meridian_km(17.25, 44.0, 44.125)  # ~13.9 km
    assert m.loc["m1", "iebl_km"] == pytest.approx(edge, rel=5e-3)
    assert m.loc["e2", "iebl_km"] == pytest.approx(meridian_km(17.25, 44.125, 44.25), rel=5e-3)
    assert m.loc[["w1", "w2", "bd"], "iebl_km"].tolist() == [0.0, 0.0, 0.0]
    assert m.loc[["m1", "m2", "e1", "e2"], "iebl_distance_km"].tolist() == [0.0] * 4
    # the west column is one square (1/8 degree of longitude, ~10 km) away from the line
    assert m.loc["w1", "iebl_distance_km"] == pytest.approx(parallel_km(44.125, 17.125, 17.25),
                                                            rel=1e-2)
    # a label point sits inside its polygon, half a square from the line for the middle one
    assert m.loc["m1", "iebl_point_distance_km"] == pytest.approx(
        parallel_km(44.0625, 17.1875, 17.25), rel=2e-2)
    for r in synthetic.municipalities.itertuples():
        assert r.geometry.contains(shapely.Point(r.label_lon, r.label_lat))


def test_join_is_by_shape_id_never_by_name(synthetic):
    m = synthetic.municipalities.set_index("shape_id")
    # the source names differ from the reference names; the shapeID decides
    assert m.loc["S3", ["muni_id", "name", "shape_name"]].tolist() == [
        "m1", "Krupa na Uni", "Kupra na Uni"]
    assert m.loc["S5", ["muni_id", "name"]].tolist() == ["e1", "Višegrad"]
    assert synthetic.municipalities["is_project"].sum() == 2


def test_a_reference_row_without_polygon_fails_the_join():
    adm3, adm2, ref = synthetic_sources()
    ref.loc[ref["muni_id"] == "w2", "geo_shape_id"] = "NOPE"
    with pytest.raises(SpscError, match=r"shapeID join failed.*West Two.*w2"):
        g.build_geography(adm3, adm2, ref)


def test_an_unexplained_entity_disagreement_is_an_error():
    adm3, adm2, ref = synthetic_sources()
    ref.loc[ref["muni_id"] == "w1", "entity"] = "RS"
    with pytest.raises(SpscError, match=r"West One \(RS in reference, FBiH by overlay\)"):
        g.build_geography(adm3, adm2, ref)


def test_the_known_exception_is_reported_not_raised():
    adm3, adm2, ref = synthetic_sources()
    isg = next(iter(g.KNOWN_ENTITY_EXCEPTIONS))
    adm3.loc[adm3["shapeID"] == "S1", "shapeID"] = isg
    ref.loc[ref["muni_id"] == "w1", ["geo_shape_id", "entity"]] = [isg, "RS"]
    geo = g.build_geography(adm3, adm2, ref)
    check = geo.entity_check
    assert check[["muni_id", "entity", "entity_overlay", "known_exception"]].values.tolist() == [
        ["w1", "RS", "FBiH", True]]
    assert "Istočni Stari Grad" in check["reason"].iloc[0]
    # the reference entity wins: the square joins RS, so the IEBL now also runs along it
    assert geo.entities.set_index("entity").loc["RS", "n_municipalities"] == 3


# --- the real boundaries ----------------------------------------------------------------------

NINE = {  # SOURCES.md section 4: shapeID, entity, IEBL km
    "bosansko_grahovo": ("43093233B45723311829087", "FBiH", 0.0),
    "bosanski_petrovac": ("43093233B8593142689537", "FBiH", 21.9),
    "drvar": ("43093233B59344523181148", "FBiH", 26.9),
    "glamoc": ("43093233B43945283156568", "FBiH", 44.9),
    "kljuc": ("43093233B71649810483300", "FBiH", 33.6),
    "livno": ("43093233B82239464067086", "FBiH", 0.0),
    "mrkonjic_grad": ("43093233B84847829539290", "RS", 18.2),
    "ribnik": ("43093233B1525260622948", "RS", 44.7),
    "sanski_most": ("43093233B99469517424409", "FBiH", 55.3),
}


@pytest.fixture(scope="module")
def real_settings(shared_dir, tmp_path_factory):
    """Settings whose boundaries were imported from shared/geo (and cached) once."""
    from pipeline.maps.boundaries import import_boundaries

    home = tmp_path_factory.mktemp("geo_home")
    s = project_settings(home, boundaries_dir=home / "data" / "raw" / "boundaries")
    import_boundaries(s, shared_dir / "geo")
    g.build_cache(s)
    return s


@pytest.fixture(scope="module")
def real(real_settings):
    return g.load_geography(real_settings)


def test_real_counts_by_entity(real):
    m = real.municipalities
    assert len(m) == 142
    assert m["entity"].value_counts().to_dict() == {"FBiH": 79, "RS": 62, "BD": 1}
    assert real.entities.set_index("entity")["n_municipalities"].to_dict() == {
        "BD": 1, "FBiH": 79, "RS": 62}


def test_real_nine_project_municipalities(real):
    m = real.municipalities.set_index("muni_id")
    assert set(m.index[m["is_project"]]) == set(NINE)
    for muni_id, (shape_id, entity, iebl_km) in NINE.items():
        assert m.loc[muni_id, "shape_id"] == shape_id
        assert m.loc[muni_id, "entity"] == entity
        assert m.loc[muni_id, "iebl_km"] == pytest.approx(iebl_km, abs=0.1), muni_id


def test_real_iebl_length_and_parts(real):
    assert real.iebl["length_km"].sum() == pytest.approx(1078.9, rel=0.01)
    assert real.iebl["length_km"].round(1).tolist() == [525.0, 498.1, 30.9, 24.9]


def test_real_grahovo_and_livno_do_not_touch_the_iebl(real):
    m = real.municipalities.set_index("muni_id")
    for muni_id in ("bosansko_grahovo", "livno"):
        assert m.loc[muni_id, "iebl_km"] == 0
        assert m.loc[muni_id, "iebl_distance_km"] > 5
    assert m.loc["ribnik", "iebl_distance_km"] == 0


def test_real_only_istocni_stari_grad_disagrees(real):
    check = real.entity_check
    assert check[["muni_id", "entity", "entity_overlay", "adm2", "known_exception"]
                 ].values.tolist() == [["istocni_stari_grad", "RS", "FBiH", "Sarajevo Canton",
                                        True]]


def test_real_matches_the_shared_derived_files(real, shared_dir):
    """The shared derived files are only a check: entity, area and IEBL km for all 142."""
    csv = pd.read_csv(shared_dir / "geo" / "bih_municipality_entity.csv")
    both = real.municipalities.merge(csv, left_on="shape_id", right_on="shapeID",
                                     suffixes=("", "_shared"))
    assert len(both) == 142
    assert (both["entity"] == both["entity_shared"]).all()
    assert (both["iebl_km"] - both["iebl_km_shared"]).abs().max() < 0.05
    assert (both["area_km2"] - both["area_km2_shared"]).abs().max() < 0.051  # 0.1 km2 rounding
    shared_ent = gpd.read_file(shared_dir / "geo" / "bih_entities_from_adm3.geojson")
    mine = real.entities.set_index("entity")
    for r in shared_ent.itertuples():
        assert mine.geometry[r.entity].symmetric_difference(r.geometry).area < 1e-9


def test_cache_is_geoparquet_and_maps_never_reparse_geojson(real_settings, monkeypatch):
    folder = g.cache_dir(real_settings)
    assert sorted(p.name for p in folder.iterdir()) == [
        "entities.parquet", "entity_check.parquet", "iebl.parquet", "manifest.json",
        "municipalities.parquet"]
    g._load.cache_clear()

    def no_geojson(_paths):
        raise AssertionError("GeoJSON parsed although the cache is current")

    monkeypatch.setattr(g, "read_sources", no_geojson)
    first = g.load_geography(real_settings)
    assert first is g.load_geography(real_settings)  # in-process cache
    assert len(first.municipalities) == 142
    assert first.municipalities.crs.to_epsg() == 4326


def test_stale_cache_is_rebuilt(real_settings):
    folder = g.cache_dir(real_settings)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "version": 0}))
    g._load.cache_clear()
    geo = g.load_geography(real_settings)
    assert len(geo.municipalities) == 142
    assert json.loads((folder / "manifest.json").read_text()) == manifest
