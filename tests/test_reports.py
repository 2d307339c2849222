"""Reports without a kernel: narrative text, number formats, exports, HTML export, provenance,
and the report sections run in-process on a fixture warehouse (tests/fixtures/warehouse_builder.py).

The kernel-backed runs (papermill, the batch, the CLI) are in tests/test_notebooks.py.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import asdict
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from fixtures.warehouse_builder import configured_warehouse

from pipeline.errors import SpscError
from pipeline.reports import html as report_html
from pipeline.reports import narrative, sections, text
from pipeline.reports.provenance import git_commit
from pipeline.reports.report import Report
from pipeline.reports.tables import to_html, write_table

Z = narrative.Z95
REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- narrative
@pytest.mark.parametrize(("lang", "significant", "expected"), [
    ("en", True, "Trust in the municipal administration rose from 38% to 47% (±4), a significant change."),
    ("en", False, "Trust in the municipal administration went from 38% to 47% (±4); the change is not "
                  "statistically significant."),
    ("bs", True, "Povjerenje u općinsku upravu: porast sa 38% na 47% (±4), statistički značajna promjena."),
    ("bs", False, "Povjerenje u općinsku upravu: promjena sa 38% na 47% (±4) nije statistički značajna."),
])
def test_change_sentence_percent(lang, significant, expected):
    subj = {"en": "Trust in the municipal administration", "bs": "Povjerenje u općinsku upravu"}[lang]
    assert narrative.change_sentence(subj, "percent", 38.2, 47.1, 4.0 / Z, significant, lang) == expected


def test_change_sentence_fall_score_count_and_suppressed():
    subj = "Mean trust in people from the other entity"
    assert narrative.change_sentence(subj, "mean 0-10", 5.64, 5.11, 0.2 / Z, True, "en") == (
        "Mean trust in people from the other entity fell from 5.6 to 5.1 on the 0-10 scale (±0.2),"
        " a significant change.")
    assert narrative.change_sentence("Znanje", "mean 1-5", 2.5, 3.25, 0.1 / Z, True, "bs") == (
        "Znanje: porast sa 2,5 na 3,2 na skali 1-5 (±0,1), statistički značajna promjena.")
    assert narrative.change_sentence("Score", "mean", 2.5, 3.0, None, None, "en") == (
        "Score rose from 2.5 to 3.0.")
    assert narrative.change_sentence("Broj", "count", 1200, 1534, None, None, "bs") == (
        "Broj: porast sa 1.200 na 1.534.")
    assert narrative.change_sentence("Trust", "percent", None, 47.0, 2.0, True, "en") == (
        "Trust: not published (n < 10).")
    assert narrative.change_sentence("Povjerenje", "percent", 40.0, None, 2.0, True, "bs") == (
        "Povjerenje: n < 10 (potisnuto), vrijednost se ne objavljuje.")


def test_level_comparison_and_youth_sentences():
    assert narrative.level_sentence("Trust", "percent", 49.2, 40.4, 57.4, "2024Q4", "en") == (
        "Trust in 2024Q4: 49% (95% CI 40–57%).")
    assert narrative.level_sentence("Mladi", "count", 1234, None, None, "cumulative", "bs",
                                    through="2024Q4") == "Mladi do 2024Q4 (kumulativno): 1.234."
    # the project average outside the municipality's interval: higher / lower; inside: close
    assert narrative.comparison_sentence("Trust", "percent", "Drvar", 70.0, 61.0, 79.0, 58.3, "en") == (
        "Trust in Drvar: 70%, higher than the project average of 58%.")
    assert narrative.comparison_sentence("Povjerenje", "percent", "Glamoč", 40.0, 31.0, 49.0, 58.3,
                                         "bs") == "Povjerenje u općini Glamoč: 40%, niže od prosjeka projekta (58%)."
    assert narrative.comparison_sentence("Trust", "percent", "Ključ", 60.0, 40.0, 80.0, 58.3, "en") == (
        "Trust in Ključ: 60%, close to the project average of 58%.")
    assert narrative.people_sentence("Young people in activities", 24, None, 15, "2024Q4", "en") == (
        "Young people in activities in 2024Q4: 24 (women: n < 10, men: 15).")
    assert narrative.people_sentence("Broj mladih", 24, 12, 12, "2024Q4", "bs") == (
        "Broj mladih u periodu 2024Q4: 24 (žene: 12, muškarci: 12).")
    assert narrative.people_sentence("Trainees", 7, None, None, "2024Q4", "en", by_sex=False) == (
        "Trainees in 2024Q4: 7.")


@pytest.mark.parametrize(("value", "unit", "lang", "expected"), [
    (47.25, "percent", "en", "47%"), (5.66, "mean 0-10", "bs", "5,7"),
    (1234567, "count", "en", "1,234,567"), (1234567, "count", "bs", "1.234.567"),
    (-0.04, "mean 0-10", "en", "0.0"), (3.333, "mean", "en", "3.3"), (None, "percent", "en", ""),
])
def test_number_formats(value, unit, lang, expected):
    assert text.value(value, unit, lang) == expected


def test_interval_and_suppressed_text():
    assert text.interval(40.4, 57.5, "percent", "bs") == "40–58%"
    assert text.interval(None, 5.0, "mean 0-10", "en") == ""
    assert text.suppressed_text("en") == "n < 10"
    assert text.suppressed_text("bs", 5) == "n < 5 (potisnuto)"
    with pytest.raises(SpscError, match="no report language 'de'"):
        text.check_lang("de")


def test_every_text_is_in_every_language():
    # the catalogues themselves are checked in tests/test_lang.py
    assert all(set(v) == {"en", "bs", "hr", "sr", "sr-Latn"} and all(v.values()) for v in text.TEXT.values())


# ---------------------------------------------------------------------------- exports
def test_write_table_neutralises_formulas(tmp_path):
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+381 61", "-SUM(A1)", "@cmd", "Drvar"],
                          "change": [-3.5, 1.0, 2.0, 0.0, -1.0]})
    csv_path, xlsx_path = write_table(frame, tmp_path / "t")
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'+381 61", "'-SUM(A1)", "'@cmd", "Drvar"]
    assert rows[1][1] == "-3.5"  # numbers stay numbers
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx_path).active
    assert sheet["A2"].value == "'=HYPERLINK(\"http://x\")" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -3.5 and sheet["B2"].data_type == "n"


def test_table_html_is_escaped():
    out = to_html(pd.DataFrame({"a": ["<script>x</script>"], "n": [1.5]}))
    assert "<script>" not in out and "&lt;script&gt;" in out and '<td class="num">1.5</td>' in out


# ---------------------------------------------------------------------------- HTML export
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    note = nbformat.v4.new_markdown_cell("analyst note", metadata={"tags": ["remove_cell"]})
    cell = nbformat.v4.new_code_cell("secret_code = open_report(period)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<h2>Headline figures</h2>"}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG}),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noisy"),
        nbformat.v4.new_output("display_data", data={
            "text/html": '<script src="https://cdn.example.org/x.js"></script><p>after</p>'}),
        nbformat.v4.new_output("error", ename="SpscError", evalue="no indicator values for 2031Q1",
                               traceback=["Traceback ... secret_code = open_report(period)"]),
    ]
    nb.cells = [note, cell]
    return nb


def test_notebook_to_html_has_no_code_and_loads_nothing():
    page = report_html.notebook_to_html(_notebook(), "Report", "bs")
    assert "secret_code" not in page and "open_report" not in page  # neither input nor traceback
    assert "analyst note" not in page and "noisy" not in page
    assert "<h2>Headline figures</h2>" in page and f"data:image/png;base64,{PNG}" in page
    assert "SpscError: no indicator values for 2031Q1" in page
    assert "<script" not in page.lower() and "cdn.example.org" not in page
    assert report_html.external_references(page) == []
    assert page.startswith("<!DOCTYPE html>") and '<html lang="bs">' in page


def test_external_references_are_found():
    found = report_html.external_references(
        '<link rel="stylesheet" href="https://cdn.x/y.css"><img src="//x/y.png"><a href="https://ok">')
    assert len(found) == 2


def test_git_commit(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    here = git_commit()
    assert here == "unknown" or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", here)


# ---------------------------------------------------------------------------- sections in-process
@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The fixture warehouse; settings from its home only (no SPSC_* leaking in)."""
    with configured_warehouse(tmp_path_factory.mktemp("reports_home"), boundaries=False) as settings:
        yield settings


def _open(settings, **kw) -> Report:
    return Report(warehouse=str(settings.db), output_dir=str(settings.home / "out"), **kw)


def test_report_parameters_are_checked(warehouse):
    with pytest.raises(SpscError, match="'2024-Q4' is not a quarter"):
        _open(warehouse, period="2024-Q4")
    with pytest.raises(SpscError, match="no indicator values for 2031Q1"):
        _open(warehouse, period="2031Q1")
    with pytest.raises(SpscError, match=r"'Bihać' is not a municipality of the project \(spsc.yml: area\)"):
        _open(warehouse, period="2024Q4", municipality="Bihać")
    rep = _open(warehouse, period="2024Q4", municipality="Мркоњић Град", kind="profile")
    assert (rep.muni, rep.slug, rep.title) == (
        "mrkonjic_grad", "mrkonjic_grad", "Municipality profile: Mrkonjić Grad, 2024Q4")
    rep.close()


def test_sections_write_published_numbers(warehouse, capsys):
    rep = _open(warehouse, period="2024Q4")
    sections.results(rep)
    sections.change(rep)
    sections.data_quality(rep)
    sections.provenance(rep)
    rep.close()
    tables = warehouse.home / "out" / "tables"
    # one table per result of the catalogue, one chart per indicator over its breakdowns
    result = pd.read_csv(tables / "project.en__result_1_1.csv", encoding="utf-8-sig")
    high = result[(result["indicator_id"] == "trust_municipality_high")
                  & (result["dimension"] != "urban_rural")].set_index("dimension_value")
    # 98 of 168 respondents trust in 2024Q4 (fixture design); Drvar 14 of 20; Ribnik has 8: hidden
    assert high.loc["total", "estimate"] == pytest.approx(100 * 98 / 168)
    assert high.loc["drvar", "estimate"] == pytest.approx(70.0)
    assert bool(high.loc["ribnik", "suppressed"]) and pd.isna(high.loc["ribnik", "estimate"])
    # a breakdown by the form's own question, labelled from the codebook
    rural = result[(result["indicator_id"] == "trust_municipality_high") & (result["dimension"] == "urban_rural")]
    assert set(rural["group"]) == {"Type of settlement: Urban", "Type of settlement: Rural"}
    figures = {p.name for p in (warehouse.home / "out" / "figures").iterdir()}
    assert {"project.en__trust_municipality_high.png", "project.en__cross_entity_ties.png"} <= figures
    assert pd.read_csv(tables / "project.en__result_1_2.csv", encoding="utf-8-sig")["indicator_id"].nunique() == 8
    quarantine = pd.read_csv(tables / "project.en__quarantine.csv", encoding="utf-8-sig")
    assert dict(zip(quarantine["rule"], quarantine["cells"], strict=True)) == {
        "municipality": 2, "birth_year": 1, "duplicate_person": 1, "required": 1}
    provenance = pd.read_csv(tables / "project.en__provenance.csv", encoding="utf-8-sig")
    assert {"citizen_survey_2023Q1.csv", "citizen_survey_2024Q4.csv"} <= set(provenance["file_name"])
    shown = capsys.readouterr().out  # outside a kernel, display() prints the objects
    assert shown.count("IPython.core.display") > 5


def _youth_indicators(settings) -> list[str]:
    """The catalogue's figures about young people: attendance indicators of young people or
    youth events, and the youth pre/post questionnaire's."""
    from pipeline.indicators.catalogue import load_catalogue

    return [i.id for i in load_catalogue(settings.project).indicators
            if i.person_filter.get("is_youth") or i.event_filter.get("is_youth_event")
            or i.of == "ties" or i.source == "spsc_youth_prepost"]


def test_every_youth_figure_in_any_table_is_the_engines(warehouse):
    """One source for youth figures (issue 15): the report's result tables, the donor table and
    its CSV export show exactly the cells of indicator_values, and no warehouse table counts
    young people per period on its own."""
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.donor_table import DECIMALS, donor_rows, headers, write_csv
    from pipeline.warehouse import connect

    youth = _youth_indicators(warehouse)
    assert {"unique_youth", "sustained_youth", "women_share_youth", "inter_entity_share",
            "cross_entity_ties", "attitude_improved"} <= set(youth)
    con = connect(warehouse.db, read_only=True)
    try:
        cells = con.execute("select * from indicator_values where indicator_id in (select unnest(?))",
                            [youth]).df()
        tables = {t: set(c) for t, c in con.execute(
            "select table_name, list(column_name) from information_schema.columns"
            " group by table_name").fetchall()}
        donor = donor_rows(con, load_catalogue(warehouse.project), warehouse, "2024Q4")
    finally:
        con.close()
    assert "youth_engagement" not in tables
    recount = {"n_young_sustained", "n_young_women", "young_women_share", "inter_entity_share"}
    assert {t for t, c in tables.items() if c & recount} == set()
    key = ["indicator_id", "period", "dimension", "dimension_value"]
    published = cells.set_index(key)
    assert len(published) > 100  # every breakdown of every youth indicator, many periods

    # the report's result tables (one per result): the period's cells, as built
    rep = _open(warehouse, period="2024Q4")
    sections.results(rep)
    rep.close()
    shown = pd.concat([pd.read_csv(path, encoding="utf-8-sig") for path in
                       (warehouse.home / "out" / "tables").glob("project.en__result_*.csv")])
    shown = shown[shown["indicator_id"].isin(youth)]
    assert set(shown["indicator_id"]) == set(youth)
    for row in shown.itertuples():
        cell = published.loc[(row.indicator_id, row.period, row.dimension, str(row.dimension_value))]
        assert bool(row.suppressed) == bool(cell["suppressed"]), row
        if not row.suppressed:
            assert row.estimate == pytest.approx(cell["estimate"]), row

    # the donor table and its export: attendance cumulative through 2024Q4, survey latest wave
    by_id = donor.set_index("indicator_id")
    exported = pd.read_csv(io.StringIO(write_csv(donor, None, "en", donor.attrs["min_cell"])))
    # the export has no ids: its rows are the donor table's, in order
    exported = pd.Series(exported[headers(["progress"], "en")[0]].to_numpy(), index=donor["indicator_id"])
    for ind in youth:
        own = cells[(cells["indicator_id"] == ind) & (cells["dimension"] == "total")]
        period = "cumulative" if "cumulative" in set(own["period"]) else own["period"].max()
        cell = own[own["period"] == period].iloc[0]
        expected = None if cell["suppressed"] else cell["estimate"]
        assert by_id.loc[ind, "progress"] == pytest.approx(expected, nan_ok=True), ind
        decimals = DECIMALS[by_id.loc[ind, "unit"]]
        written = exported.loc[ind]
        assert (pd.isna(written) if expected is None else float(written) == round(expected, decimals)), ind


def test_the_donor_table_says_how_intervals_are_made(warehouse):
    rep = _open(warehouse, period="2024Q4")
    written: list[str] = []
    show = rep.html
    rep.html = lambda text: (written.append(text), show(text))[1]  # what the reader gets
    sections.donor_table(rep)
    rep.close()
    shown = "".join(written)
    assert "logit intervals for percentages and t intervals for means" in shown
    assert "degrees of freedom; n is the people who answered" in shown


def test_profile_donor_table_shows_suppressed_as_text(warehouse):
    rep = _open(warehouse, period="2024Q4", municipality="ribnik", kind="profile", lang="bs")
    sections.donor_table(rep)
    rep.close()
    table = pd.read_csv(warehouse.home / "out" / "tables" / "ribnik.bs__indicators.csv", encoding="utf-8-sig")
    row = table.set_index("indicator_id").loc["trust_municipality_high"]
    assert bool(row["suppressed"]) and pd.isna(row["estimate"])
    assert row["project_estimate"] == pytest.approx(100 * 98 / 168)


def test_comparison_of_counts_and_shares_without_interval():
    assert narrative.comparison_sentence("Ties", "count", "Drvar", 63, None, None, 127, "en") == (
        "Ties in Drvar: 63, of 127 in the whole project.")
    assert narrative.comparison_sentence("Udio", "percent", "Ribnik", 100.0, None, None, 75.0, "bs") == (
        "Udio u općini Ribnik: 100% (projekat: 75%).")


def test_maps_are_skipped_with_a_reason_without_boundaries(warehouse, tmp_path):
    from pipeline.reports import data, report_maps

    settings = warehouse.with_(boundaries_dir=tmp_path / "no_boundaries")
    con = data.open_warehouse(settings.db)
    try:
        values, ties = data.indicator_values(con), data.ties(con)
        manifest = report_maps.write_maps(tmp_path / "figures", settings, values,
                                          data.indicator_changes(con), ties, "2024Q4", "en")
    finally:
        con.close()
    assert manifest["maps"] == {} and "boundaries not found" in manifest["unavailable"]
    assert report_maps.cached_maps(tmp_path / "figures", "2024Q4", "en") == manifest
    assert report_maps.cached_maps(tmp_path / "figures", "2024Q4", "bs") is None


# ---------------------------------------------------------------------------- side by side
def test_plan_names_each_report_by_its_language():
    from pipeline.project import load_project
    from pipeline.reports.batch import plan

    config = load_project(REPO / "examples" / "spsc").config
    names = {"livno": "Livno", "ribnik": "Ribnik", "drvar": "Drvar"}
    jobs = plan("2024Q4", ["drvar", "livno", "ribnik"], None, names, name="SPSC", languages=config.languages,
                profile_language=config.profile_language, cities=set(config.cities))
    assert [(j.name, j.title) for j in jobs] == [
        ("project.en", "SPSC quarterly report 2024Q4"), ("project.bs", "SPSC kvartalni izvještaj 2024Q4"),
        ("drvar.bs", "Profil općine: Drvar, 2024Q4"), ("livno.hr", "Profil grada: Livno, 2024Q4"),
        ("ribnik.sr", "Профил општине: Рибник, 2024Q4")]
    assert all(j.parameters["lang"] == j.lang for j in jobs)
    assert [j.name for j in plan("2024Q4", ["ribnik"], "sr-Latn", names, project=False)] == ["ribnik.sr-Latn"]


def test_a_run_keeps_what_it_does_not_remake_and_clean_drops_every_report(tmp_path):
    from pipeline.reports.batch import MANIFEST, Outcome, carry_over, earlier_outcomes

    final, files = tmp_path / "2024Q4", {
        "ribnik.en.html": "kept", "ribnik.sr.html": "remade", "livno.hr.pdf": "kept", "drvar.html": "an old name",
        "executed/ribnik.en.ipynb": "kept", "executed/ribnik.sr.ipynb": "remade",
        "figures/ribnik.en__trust.png": "kept", "figures/ribnik.sr__gone.png": "remade",
        "figures/map_overview.en.png": "kept", "figures/map_overview.sr.png": "remade",
        "figures/maps.sr.json": "remade", "tables/livno.hr__indicators.csv": "kept",
        "spsc_2024Q4_deck.en.pptx": "deck", "indicators_2024Q4.xlsx": "workbook", "index.html": "rebuilt"}
    for name, body in files.items():
        (final / name).parent.mkdir(parents=True, exist_ok=True)
        (final / name).write_text(body)
    rows = [Outcome("ribnik.en", "Municipality profile: Ribnik", True, html="ribnik.en.html", lang="en"),
            Outcome("ribnik.sr", "Профил општине: Рибник", True, html="ribnik.sr.html", lang="sr"),
            Outcome("glamoc.bs", "Profil općine: Glamoč", True, html="glamoc.bs.html", lang="bs")]  # file gone
    (final / MANIFEST).write_text(json.dumps([asdict(o) for o in rows]))
    tmp = tmp_path / "new"
    tmp.mkdir()
    copied = set(carry_over(final, tmp, {"ribnik.sr"}, {"sr"}))
    assert copied == {n for n, text in files.items() if text in ("kept", "deck", "workbook", "an old name")}
    assert [o.name for o in earlier_outcomes(final, {"ribnik.sr"})] == ["ribnik.en"]
    clean = tmp_path / "clean"
    clean.mkdir()
    assert set(carry_over(final, clean, {"ribnik.sr"}, {"sr"}, clean=True)) == {
        "spsc_2024Q4_deck.en.pptx", "indicators_2024Q4.xlsx"}
    assert earlier_outcomes(final, {"ribnik.sr"}, clean=True) == []


def test_index_page_is_made_from_its_template_and_escapes_what_it_shows(tmp_path):
    from pipeline.reports.batch import Outcome, write_index

    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "map_a&b.png").write_bytes(b"x")
    (tmp_path / "indicators_2024Q4.xlsx").write_bytes(b"x")
    outcomes = [Outcome(name="livno.hr", title="Profil <općine>", ok=True, html="livno.hr.html", lang="hr",
                        report="livno", made_at="2024-12-01"),
                Outcome(name="project.en", title="Project", ok=False, error="RuntimeError: <b>x</b>",
                        lang="en", report="project")]
    page = write_index(tmp_path, "2024Q4", "en", outcomes, "2024-12-01", ["note & more"], "SPSC").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr>") == 3  # the header and two reports
    assert "Profil &lt;općine&gt;" in page and "RuntimeError: &lt;b&gt;x&lt;/b&gt;" in page
    assert '<a href="livno.hr.html" hreflang="hr">' in page and page.index("Project") < page.index("Profil")
    assert page.count('class="ok"') == 1 and page.count('class="bad"') == 1
    assert '<a href="figures/map_a&amp;b.png">' in page and 'href="indicators_2024Q4.xlsx"' in page
    assert '<p class="note">note &amp; more</p>' in page and "tables/" not in page  # no empty folder


def test_page_templates_ship_with_the_package():
    import pipeline.reports

    shipped = Path(pipeline.reports.__file__).parent / "templates"
    names = {p.name for p in shipped.glob("*.html.j2")}
    assert {"page.html.j2", "index.html.j2", "table.html.j2"} <= names
    import tomllib

    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))
    assert "**/*.j2" in config["tool"]["setuptools"]["package-data"]["pipeline"]
