"""Reference municipalities and the name normaliser."""

from __future__ import annotations

import csv

import pytest
from conftest import REPO

from pipeline import reference
from pipeline.errors import AmbiguousName, UnknownName
from pipeline.reference.names import fold, normaliser, resolve_municipality, to_cyrillic, to_latin

SPELLINGS = {
    "mrkonjic_grad": ["Mrkonjić Grad", "Mrkonjic Grad", "Мркоњић Град", "MRKONJIĆ-GRAD", "mrkonjic-grad",
                      "МРКОЊИЋ ГРАД", "Mrkonjić", "Grad Mrkonjić Grad", "Opština Mrkonjić Grad", "  Mrkonjić   Grad "],
    "livno": ["Livno", "LIVNO", "Grad Livno", "Ливно", "livno ", "Općina Livno", "Livno municipality"],
    "bosanski_petrovac": ["Bosanski Petrovac", "BOSANSKI PETROVAC", "Босански Петровац", "Bos. Petrovac",
                          "B. Petrovac", "Bosanski-Petrovac", "Opcina Bosanski Petrovac"],
    "bosansko_grahovo": ["Bosansko Grahovo", "Босанско Грахово", "Bos. Grahovo", "Grahovo", "BOSANSKO-GRAHOVO"],
    "drvar": ["Drvar", "Дрвар", "DRVAR", "Općina Drvar"],
    "glamoc": ["Glamoč", "Glamoc", "Гламоч", "GLAMOČ", "glamoč"],
    "kljuc": ["Ključ", "Kljuc", "Кључ", "KLJUČ", "КЉУЧ", "Opcina Kljuc"],
    "sanski_most": ["Sanski Most", "Sanski most", "Сански Мост", "SANSKI-MOST", "Sanskimost"],
    "ribnik": ["Ribnik", "Рибник", "RIBNIK", "Opština Ribnik", "Општина Рибник"],
    "istocni_drvar": ["Istočni Drvar", "Источни Дрвар", "Istocni Drvar", "Srpski Drvar"],
    "petrovac_rs": ["Petrovac (RS)", "Петровац (РС)", "Srpski Petrovac", "Petrovac-Drinić"],
    "kupres_rs": ["Kupres (RS)", "Srpski Kupres"],
    "kupres_fbih": ["Kupres (FBiH)", "Kupres (BiH)"],
    "banja_luka": ["Banja Luka", "Бања Лука", "Banjaluka", "BANJA LUKA"],
    "brcko": ["Brčko", "Brcko District", "Брчко", "Brčko distrikt BiH"],
    "visegrad": ["Višegrad", "Вишеград", "Visegrad"],
    "novi_grad_sarajevo": ["Novi Grad Sarajevo"],
    "novi_grad": ["Novi Grad (RS)", "Bosanski Novi"],
}


@pytest.mark.parametrize(("expected", "spelling"),
                         [(mid, s) for mid, spellings in SPELLINGS.items() for s in spellings])
def test_normaliser_maps_every_spelling_to_one_id(expected, spelling):
    assert resolve_municipality(spelling) == expected


@pytest.mark.parametrize("lookalike", ["Petrovac", "Петровац", "Kupres", "KUPRES", "Novi Grad", "Trnovo", "Foča", "Pale"])
def test_normaliser_refuses_to_guess_between_lookalikes(lookalike):
    with pytest.raises(AmbiguousName, match="ambiguous"):
        resolve_municipality(lookalike)


@pytest.mark.parametrize("nonsense", ["", "Sarajevo-ish", "Mrkonjic Gradd", "Drvarr", "Republika Srpska", "FBiH"])
def test_normaliser_does_not_fuzzy_match(nonsense):
    assert normaliser().try_resolve(nonsense) == (None, "unknown municipality")
    with pytest.raises(UnknownName):
        resolve_municipality(nonsense)


def test_lookalikes_are_different_municipalities():
    assert resolve_municipality("Drvar") != resolve_municipality("Istočni Drvar")
    assert resolve_municipality("Bosanski Petrovac") != resolve_municipality("Petrovac (RS)")
    assert reference.entity_of(resolve_municipality("Kupres (RS)")) == "RS"
    assert reference.entity_of(resolve_municipality("Kupres (FBiH)")) == "FBiH"


def test_transliteration_round_trips_digraphs():
    assert to_latin("Мркоњић Град, Љубиње, Џемал") == "Mrkonjić Grad, Ljubinje, Džemal"
    assert to_cyrillic("Mrkonjić Grad, Ljubinje, Džemal") == "Мркоњић Град, Љубиње, Џемал"
    assert fold("Đorđević") == fold("Djordjevic") == fold("Ђорђевић") == "djordjevic"


def test_reference_table_has_the_2013_frame_and_the_example_area_resolves_to_it():
    from pipeline.project import load_project
    from pipeline.synth.area import PROJECT_MUNICIPALITIES

    m = reference.municipalities()
    assert len(m) == 142 and m["muni_id"].is_unique and m["geo_shape_id"].is_unique
    assert "is_project" not in m  # which municipalities a project covers is the project's
    assert m["entity"].value_counts().to_dict() == {"FBiH": 79, "RS": 62, "BD": 1}
    area = load_project(REPO / "examples" / "spsc").area  # written as names with diacritics
    marked = reference.with_area(area)
    project = marked[marked["is_project"]].set_index("muni_id")["entity"].to_dict()
    assert project == {"bosansko_grahovo": "FBiH", "bosanski_petrovac": "FBiH", "drvar": "FBiH",
                       "glamoc": "FBiH", "kljuc": "FBiH", "livno": "FBiH", "sanski_most": "FBiH",
                       "mrkonjic_grad": "RS", "ribnik": "RS"}
    assert set(project) == set(PROJECT_MUNICIPALITIES)
    assert m.loc[m["muni_id"] == "mrkonjic_grad", "name_cyr"].item() == "Мркоњић Град"
    assert (m["entity"].eq("FBiH") == m["canton"].ne("")).all()


def test_every_alias_names_a_known_municipality():
    ids = set(reference.municipalities()["muni_id"])
    assert set(reference.aliases()["muni_id"]) <= ids


def test_census_covers_the_nine():
    from pipeline.synth.area import PROJECT_MUNICIPALITIES

    c = reference.census()
    totals = c[(c["sex"] == "total") & (c["age_group"] == "total")].set_index("muni_id")["population"]
    assert set(totals.index) == set(PROJECT_MUNICIPALITIES)
    assert totals["sanski_most"] > totals["livno"] > totals["kljuc"] > totals["bosansko_grahovo"]


def test_names_and_entities_agree_with_geoboundaries(shared_dir):
    """Every row of the shared attribute table maps to our reference by shape id, same entity."""
    with open(shared_dir / "geo" / "bih_municipality_entity.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    from pipeline.project import load_project

    ours = reference.with_area(load_project(REPO / "examples" / "spsc").area).set_index("geo_shape_id")
    assert len(rows) == len(ours) == 142
    for row in rows:
        mine = ours.loc[row["shapeID"]]
        assert mine["entity"] == row["entity"], row["shapeName"]
        assert mine["is_project"] == (row["is_target"] == "True"), row["shapeName"]
        # the corrected display name of the shared table resolves to the same municipality
        # (except bare look-alikes, which the normaliser rightly refuses)
        found = normaliser().candidates(row["name"])
        assert mine["muni_id"] in found, row["name"]
