"""``spsc deck``: the donor slides open with python-pptx and hold the expected slides."""

from __future__ import annotations

import pytest
from fixtures.warehouse_builder import SHARED_GEO, configured_warehouse
from pptx import Presentation
from pptx.util import Inches

from pipeline.cli import main


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    with configured_warehouse(tmp_path_factory.mktemp("deck_home")) as settings:
        yield settings


def _texts(slide) -> list[str]:
    return [s.text_frame.text for s in slide.shapes if s.has_text_frame]


def test_deck_has_the_expected_slides(warehouse, capsys):
    assert main(["deck", "--period", "2024Q4"]) == 0
    path = warehouse.reports_dir / "2024Q4" / "spsc_2024Q4_deck.en.pptx"
    assert f"written to {path}" in capsys.readouterr().out
    deck = Presentation(str(path))
    assert (deck.slide_width, deck.slide_height) == (Inches(13.333), Inches(7.5))
    slides = list(deck.slides)
    maps = 4 if SHARED_GEO.is_dir() else 0
    assert len(slides) == 6 + maps
    assert "SPSC quarterly results" in _texts(slides[0]) and "2024Q4" in _texts(slides[0])
    # headline: 98 of 168 respondents trust the municipal administration in 2024Q4 (fixture)
    assert _texts(slides[1])[0] == "Headline figures" and "58%" in _texts(slides[1])
    tables = [s.table for s in slides[2].shapes if s.has_table] + \
             [s.table for s in slides[3].shapes if s.has_table]
    assert [len(t.rows) for t in tables] == [1 + 7, 1 + 8]  # header + indicators of results 1.1, 1.2
    assert tables[0].cell(1, 0).text == "% of residents who trust the municipal administration"
    # the logit interval on the design's df (a normal interval gave 50–67%)
    assert tables[0].cell(1, 3).text == "58% (48–68%)"
    for slide in slides[4:4 + maps]:  # each map fills its slide
        (picture,) = [s for s in slide.shapes if s.shape_type == 13]
        assert picture.width == deck.slide_width and picture.image.content_type == "image/png"
    youth, notes = slides[4 + maps], slides[5 + maps]
    assert _texts(youth)[0] == "Participation and youth engagement"
    assert any("Young people in inter-community activities in 2024Q4: 24 (women: 12, men: 12)." in t
               for t in _texts(youth))
    # the result slides say what each result is (indicators.yml: results)
    assert any("Young people and communities across the entity line" in t for t in _texts(slides[3]))
    assert any("5 cells in 2 files of 2024Q4 were quarantined" in t for t in _texts(notes))


def test_deck_in_serbian_beside_the_english_one(warehouse):
    assert main(["deck", "--period", "2024Q4", "--lang", "sr"]) == 0
    folder = warehouse.reports_dir / "2024Q4"
    deck = Presentation(str(folder / "spsc_2024Q4_deck.sr.pptx"))
    first = [t for s in deck.slides for t in _texts(s)]
    assert "SPSC квартални резултати" in first and "Кључни показатељи" in first
    assert "Headline figures" not in first
    tables = [s.table for slide in deck.slides for s in slide.shapes if s.has_table]
    assert tables[0].cell(0, 0).text == "Индикатор"
    assert tables[0].cell(1, 0).text == "% становника који имају повјерење у општинску управу"
    assert (folder / "spsc_2024Q4_deck.en.pptx").is_file()  # the English deck stays beside it
