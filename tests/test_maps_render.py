"""Rendered maps carry what a reader needs: size, legend, units, CIs, suppression, attribution.

Most renders run at a low dpi; one overview is written at 300 dpi to check the slide size.
The SVG keeps its text as text, so tests read the labels from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import project_settings
from PIL import Image

from pipeline.cli import main
from pipeline.maps import geography as g
from pipeline.maps import render
from pipeline.maps.furniture import nice_length, north_angle
from pipeline.maps.scales import nice_ceiling, resolve_scale, scale_for_unit
from pipeline.maps.style import ATTRIBUTION
from pipeline.synth.area import PROJECT_MUNICIPALITIES

REPO = Path(__file__).resolve().parents[1]
LOW_DPI = 40


@pytest.fixture(scope="module")
def geo(shared_dir, tmp_path_factory):
    from pipeline.maps.boundaries import import_boundaries

    home = tmp_path_factory.mktemp("render_home")
    s = project_settings(home, boundaries_dir=home / "boundaries")
    import_boundaries(s, shared_dir / "geo")
    return g.build_cache(s)


def svg_text(fig, tmp_path, name="map") -> str:
    _, svg = render.save_map(fig, tmp_path / name, dpi=LOW_DPI)
    return svg.read_text(encoding="utf-8")


def value_rows(period="2024Q4", indicator="trust_high", shift=0.0, wide="glamoc",
               suppressed="ribnik", missing="livno") -> pd.DataFrame:
    """One row per project municipality: estimate 50..66 % (+shift), CI +-6 (+-15 for wide)."""
    rows = []
    for i, m in enumerate(PROJECT_MUNICIPALITIES):
        if m == missing:
            continue
        est = 50.0 + 2 * i + shift
        half = 15.0 if m == wide else 6.0
        sup = m == suppressed
        rows.append({"indicator_id": indicator, "period": period, "dimension": "municipality",
                     "dimension_value": m, "estimate": None if sup else est,
                     "se": None if sup else half / 1.96, "ci_low": None if sup else est - half,
                     "ci_high": None if sup else est + half, "n": 7 if sup else 120,
                     "suppressed": sup})
    # a row of another dimension must not be drawn
    rows.append({"indicator_id": indicator, "period": period, "dimension": "total",
                 "dimension_value": "total", "estimate": 99.0, "se": 1.0, "ci_low": 97.0,
                 "ci_high": 100.0, "n": 900, "suppressed": False})
    return pd.DataFrame(rows)


# --- scales and furniture ---------------------------------------------------------------------

def test_units_fix_the_scale():
    pct = scale_for_unit("percent")
    assert (pct.vmin, pct.vmax, pct.factor, pct.suffix, pct.wide_threshold) == (0, 100, 1, "%", 20)
    score = scale_for_unit("score_0_10", "bs")
    assert (score.vmin, score.vmax, score.unit_label, score.wide_threshold) == (
        0, 10, "Rezultat (0–10)", 2)
    prop = scale_for_unit("proportion")
    assert (prop.factor, prop.fmt(0.456), prop.fmt_ci(0.4, 0.5)) == (100, "46%", "40–50")
    assert scale_for_unit("count") is None


def test_count_scale_is_the_same_in_every_quarter_and_skips_cumulative():
    rows = pd.DataFrame({"indicator_id": "n", "dimension": "municipality",
                         "period": ["2024Q3", "2024Q4", "cumulative"],
                         "estimate": [17.0, 4.0, 210.0]})
    q4 = resolve_scale(rows[rows["period"] != "cumulative"], "count")
    assert (q4.vmin, q4.vmax, q4.decimals, q4.unit_label) == (0, 20, 0, "Number")
    assert [nice_ceiling(x) for x in (0.8, 17, 210, 1000)] == [1, 20, 250, 1000]


def test_bosnian_numbers_use_a_decimal_comma():
    sc = resolve_scale(pd.DataFrame(), "score_0_10", lang="bs")
    assert (sc.fmt(6.43), sc.fmt_ci(5.9, 6.95)) == ("6,4", "5,9–7,0")


def test_scale_bar_lengths_and_true_north():
    assert [nice_length(x) for x in (23_000, 61_000, 9_999)] == [20_000, 50_000, 5_000]
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", g.PLOT_CRS, always_xy=True)
    assert north_angle(*to_utm.transform(15.0, 44.0)) == pytest.approx(0, abs=0.01)
    # east of the UTM 33N central meridian true north leans left by ~(lon - 15) * sin(lat)
    assert north_angle(*to_utm.transform(17.5, 44.4)) == pytest.approx(1.75, abs=0.1)


# --- the maps ---------------------------------------------------------------------------------

def test_overview_is_a_300_dpi_slide_with_legend_and_attribution(geo, tmp_path):
    png, svg = render.save_map(render.overview_map(geo), tmp_path / "overview")
    assert Image.open(png).size == (4000, 2250)
    text = svg.read_text(encoding="utf-8")
    assert "<text" in text  # text kept as text, so slides can be edited and searched
    for needed in ("The project area: 9 municipalities",  # no project in this process: no name
                   "Inter-Entity Boundary Line", "Republika Srpska", "Brčko District",
                   "Mrkonjić Grad", "Bosansko Grahovo", "Ključ", "Glamoč", "50 km",
                   "IEBL length in this map's source:", "1,079 km", ATTRIBUTION["en"]):
        assert needed in text, needed


def test_indicator_map_shows_values_cis_suppression_and_wide_intervals(geo, tmp_path):
    fig = render.indicator_map(value_rows(), "trust_high", "2024Q4", label="Trust is high",
                               unit="percent", geo=geo)
    text = svg_text(fig, tmp_path)
    for needed in ("Trust is high", "9 project municipalities, 2024Q4",
                   "50% (44–56)",  # Bosansko Grahovo
                   "56% (41–71) †",  # Glamoč: CI 30 points wide
                   "n &lt; 10", "Suppressed: fewer than 10 people (n &lt; 10)",
                   "No data",  # Livno has no row
                   "† 95% CI wider than 20 pp: interpret with care", "Percent (%)",
                   "Labels: estimate (95% confidence interval)", "Period: 2024Q4",
                   ATTRIBUTION["en"]):
        assert needed in text, needed
    assert "99%" not in text  # the total row is not a municipality
    colorbar = [ax for ax in fig.axes if ax.get_label() == "colorbar"]
    assert colorbar[0].get_xlim() == (0, 100)  # fixed 0-100 % scale
    hatched = [c for ax in fig.axes for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == 1  # only Ribnik


def test_no_dagger_note_without_wide_intervals(geo, tmp_path):
    fig = render.indicator_map(value_rows(wide=None, suppressed=None, missing=None),
                               "trust_high", "2024Q4", unit="percent", geo=geo)
    text = svg_text(fig, tmp_path)
    assert "†" not in text and "n &lt; 10" not in text and "No data" not in text


def test_count_map_promises_no_confidence_interval(geo, tmp_path):
    rows = pd.DataFrame({"indicator_id": "dialogues", "dimension": "municipality",
                         "period": ["2024Q3", "2024Q4", "2024Q4", "cumulative"],
                         "dimension_value": ["drvar", "drvar", "ribnik", "drvar"],
                         "estimate": [7.0, 3.0, 1.0, 40.0], "suppressed": False})
    fig = render.indicator_map(rows, "dialogues", "2024Q4", label="Dialogues held",
                               unit="count", geo=geo)
    text = svg_text(fig, tmp_path)
    for needed in ("counted from the attendance registers", "Labels: value (a count",
                   "Number", ">3<", ">1<"):
        assert needed in text, needed
    assert "confidence interval" not in text
    colorbar = [ax for ax in fig.axes if ax.get_label() == "colorbar"]
    assert colorbar[0].get_xlim() == (0, 10)  # 0 to a round number above 7, not 40


def test_indicator_map_in_bosnian(geo, tmp_path):
    rows = value_rows(wide=None)
    rows[["estimate", "ci_low", "ci_high"]] /= 10  # a 0-10 score
    fig = render.indicator_map(rows, "trust_high", "2024Q4", label="Povjerenje",
                               unit="score_0_10", geo=geo, lang="bs")
    text = svg_text(fig, tmp_path)
    for needed in ("Povjerenje", "Projektne općine (9), 2024Q4", "5,0 (4,4–5,6)",
                   "Rezultat (0–10)", "Međuentitetska linija razgraničenja (IEBL)",
                   "Potisnuto: manje od 10 osoba", "Mrkonjić Grad", ATTRIBUTION["bs"]):
        assert needed in text, needed


def test_indicator_map_in_serbian_cyrillic(geo, tmp_path):
    """Names, entities and words in Cyrillic, as text in the SVG (the PNG of the same figure
    was looked at: DejaVu Sans draws every glyph, see tests/test_lang.py for the coverage)."""
    fig = render.indicator_map(value_rows(), "trust_high", "2024Q4", label="Повјерење у општинску управу",
                               unit="percent", geo=geo, lang="sr")
    text = svg_text(fig, tmp_path)
    for needed in ("Повјерење у општинску управу", "Пројектне општине (9), 2024Q4", "Мркоњић Град",
                   "Рибник", "Ливно", "Сански Мост", "РЕПУБЛИКА СРПСКА", "ФЕДЕРАЦИЈА БИХ", "ХРВАТСКА",
                   "Међуентитетска линија разграничења (IEBL)", "Није објављено: мање од 10 особа",
                   "Проценат (%)", ATTRIBUTION["sr"]):
        assert needed in text, needed
    assert "Mrkonjić" not in text and "Ribnik" not in text and "općin" not in text


def test_change_map_marks_significant_changes(geo, tmp_path):
    values = pd.concat([value_rows("2023Q1"), value_rows("2024Q4", shift=8)])
    changes = pd.DataFrame({"indicator_id": "trust_high", "dimension": "municipality",
                            "dimension_value": ["drvar", "kljuc"], "change": [8.0, 8.0],
                            "significant": [True, False]})
    fig = render.change_map(values, "trust_high", "2023Q1", "2024Q4", changes_df=changes,
                            unit="percent", geo=geo)
    text = svg_text(fig, tmp_path)
    for needed in ("Baseline: 2023Q1", "Latest: 2024Q4", "▲ 8 pp*", "▲ 8 pp",
                   "* change statistically significant (95% level)",
                   "Period: 2023Q1 → 2024Q4"):
        assert needed in text, needed
    assert text.count("▲ 8 pp*") == 1
    untested = svg_text(render.change_map(values, "trust_high", "2023Q1", "2024Q4",
                                          unit="percent", geo=geo), tmp_path, "untested")
    assert "Changes not tested for significance" in untested and "pp*" not in untested


def test_ties_map_emphasises_ties_across_the_line(geo, tmp_path):
    ties = pd.DataFrame([
        ("2024Q4", "drvar", "ribnik", "FBiH", "RS", 30),
        ("2024Q4", "kljuc", "mrkonjic_grad", "FBiH", "RS", 10),
        ("2024Q4", "bosansko_grahovo", "drvar", "FBiH", "FBiH", 5),  # same side: no crossing
        ("2024Q3", "livno", "ribnik", "FBiH", "RS", 99),  # another period
        ("2024Q4", "nowhere", "ribnik", "FBiH", "RS", 7),  # unknown id: not drawn
    ], columns=["period", "muni_id_a", "muni_id_b", "entity_a", "entity_b", "n_ties"])
    fig = render.ties_map(ties, "2024Q4", geo=geo)
    text = svg_text(fig, tmp_path)
    for needed in ("Ties across the inter-entity line", "Tie crosses the IEBL",
                   "Tie does not cross the IEBL", "45 ties between 3 pairs of municipalities",
                   "Number of ties", ATTRIBUTION["en"]):
        assert needed in text, needed
    widths = sorted(p.get_linewidth() for ax in fig.axes for p in ax.patches
                    if type(p).__name__ == "FancyArrowPatch")
    assert len(widths) == 3 and widths[0] < widths[1] < widths[2]


def test_synthetic_geography_renders_without_shared_data(tmp_path):
    from test_maps_geography import synthetic_sources

    geo = g.build_geography(*synthetic_sources())
    rows = pd.DataFrame({"indicator_id": "x", "period": "2024Q4", "dimension": "municipality",
                         "dimension_value": ["m1", "e1"], "estimate": [40.0, 70.0],
                         "ci_low": [35.0, 60.0], "ci_high": [45.0, 80.0], "suppressed": False})
    png, svg = render.save_map(render.indicator_map(rows, "x", "2024Q4", unit="percent",
                                                    geo=geo), tmp_path / "synthetic", dpi=30)
    assert Image.open(png).size == (400, 225)
    text = svg.read_text(encoding="utf-8")
    assert "Krupa na Uni" in text and "70% (60–80)" in text


# --- spsc maps --------------------------------------------------------------------------------

def _fill_marts(db: Path) -> None:
    from pipeline.warehouse import connect

    values = pd.concat([value_rows("2023Q1"), value_rows("2024Q4", shift=8)])
    values["batch_ids"] = [[1]] * len(values)
    con = connect(db)
    try:
        con.register("v", values)
        con.execute("insert into indicator_values by name select * from v")
        con.execute("insert into indicator_catalogue values ('trust_high', '1.1', 'outcome',"
                    " 'Residents who trust the municipality', 'Stanovnici koji vjeruju općini',"
                    " 'survey', 'proportion', 'percent', true, 1)")
        con.execute("insert into indicator_changes (indicator_id, dimension, dimension_value,"
                    " baseline_period, latest_period, change, significant, suppressed) values"
                    " ('trust_high', 'municipality', 'drvar', '2023Q1', '2024Q4', 8, true, false)")
        con.execute("insert into cross_entity_ties values"
                    " ('2024Q4', 'drvar', 'ribnik', 'FBiH', 'RS', 12)")
    finally:
        con.close()


def test_spsc_maps_draws_every_map_from_the_warehouse(warehouse, shared_dir, tmp_path, capsys):
    assert main(["boundaries", "import", str(shared_dir / "geo")]) == 0
    _fill_marts(warehouse.db)
    out = tmp_path / "maps"
    assert main(["maps", "--period", "2024Q4", "--out", str(out), "--dpi", "30"]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.png")) == [
        "change_trust_high_2023Q1_2024Q4_en.png", "indicator_trust_high_2024Q4_en.png",
        "overview_en.png", "ties_2024Q4_en.png"]
    assert "4 maps in" in printed
    svg = (out / "indicator_trust_high_2024Q4_en.svg").read_text(encoding="utf-8")
    assert "Residents who trust the municipality" in svg  # label from the catalogue table


def test_spsc_maps_says_which_maps_it_cannot_draw(warehouse, shared_dir, tmp_path, capsys):
    assert main(["boundaries", "import", str(shared_dir / "geo")]) == 0
    capsys.readouterr()
    out = tmp_path / "maps"
    assert main(["maps", "--period", "2024Q4", "--out", str(out), "--dpi", "30",
                 "--lang", "bs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1:] == [
        "indicator maps skipped: table indicator_values is empty (run 'spsc build')",
        "change maps skipped: table indicator_values is empty (run 'spsc build')",
        "ties map skipped: table cross_entity_ties is empty",
        f"1 maps in {out}"]
    assert [p.name for p in out.glob("*.png")] == ["overview_bs.png"]


def test_cli_help_does_not_load_geopandas():
    code = ("import sys; import pipeline.cli as c; c._load_stage_commands();"
            " print('geopandas' in sys.modules, 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=True)
    assert done.stdout.split() == ["False", "False"]
