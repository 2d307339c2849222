"""The notebooks run through papermill on a real kernel, against a fixture warehouse.

Kept to five kernels: one municipality profile in Serbian (Cyrillic, the language the example
project gives it) through ``spsc report`` beside an earlier run's reports (parameters injected
and respected, HTML without code or external URLs, tables, figures, provenance, the PDF's
text layer when Chromium is there), a batch where one notebook fails and the other succeeds, the CLI on a
quarter without data (exit non-zero), and explore.ipynb.
"""

from __future__ import annotations

import json
import re
import shutil
import sys

import nbformat
import pytest
from fixtures.warehouse_builder import SHARED_GEO, configured_warehouse

from pipeline.cli import main
from pipeline.reports.batch import NOTEBOOKS_DIR, plan, run_batch
from pipeline.reports.html import external_references
from pipeline.reports.pdf import find_browser
from pipeline.warehouse.batches import file_sha256

PERIOD = "2024Q4"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The fixture warehouse as the configured one (SPSC_HOME), with boundaries when available."""
    with configured_warehouse(tmp_path_factory.mktemp("notebooks_home")) as settings:
        yield settings


def _visible_text(page: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)


def test_profile_in_serbian_through_the_cli(warehouse, capsys):
    """Mrkonjić Grad's profile without --lang: Serbian in Cyrillic (the example's settings),
    beside the reports of an earlier run, which it keeps."""
    folder = warehouse.reports_dir / PERIOD
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    (folder / "livno.hr.html").write_text("a Croatian profile of an earlier run")
    (folder / "tables" / "livno.hr__indicators.csv").write_text("its table")
    (folder / "figures" / "mrkonjic_grad.sr__dropped_chart.png").write_bytes(b"remade: goes")
    (folder / "reports.json").write_text(json.dumps([{
        "name": "livno.hr", "title": "Profil općine: Livno, 2024Q4", "ok": True, "html": "livno.hr.html",
        "lang": "hr", "report": "livno", "made_at": "2025-01-10T09:00:00+01:00"}]))
    (folder / f"spsc_{PERIOD}_deck.en.pptx").write_bytes(b"deck made by spsc deck")
    (folder / f"indicators_{PERIOD}.xlsx").write_bytes(b"made by spsc indicators")

    code = main(["report", "--period", PERIOD, "--municipality", "Mrkonjić Grad"])
    captured = capsys.readouterr()
    printed = captured.out
    assert code == 0, captured.err
    assert "ok     mrkonjic_grad.sr" in printed and "1 of 1 reports" in printed
    # a run replaces only what it remakes: the Croatian profile and other commands' files stay
    assert (folder / "livno.hr.html").read_text() == "a Croatian profile of an earlier run"
    assert (folder / "tables" / "livno.hr__indicators.csv").is_file()
    assert not (folder / "figures" / "mrkonjic_grad.sr__dropped_chart.png").exists()
    assert (folder / f"spsc_{PERIOD}_deck.en.pptx").read_bytes() == b"deck made by spsc deck"
    assert (folder / f"indicators_{PERIOD}.xlsx").read_bytes() == b"made by spsc indicators"
    assert not [p for p in warehouse.reports_dir.iterdir() if p.name.startswith(".")]

    page = (folder / "mrkonjic_grad.sr.html").read_text(encoding="utf-8")
    text = _visible_text(page)
    assert '<html lang="sr-Cyrl">' in page
    assert "<h1>Профил општине: Мркоњић Град, 2024Q4</h1>" in text
    # the sections follow the example's catalogue: a section per result, titled in Serbian
    for heading in ("Кључни показатељи", "Индикатори оквира резултата",
                    "Резултат 1.1: Општине и пружаоци услуга сарађују у пружању услуга којима грађани вјерују",
                    "Резултат 1.2: Млади и заједнице са обје стране ентитетске линије граде повјерење и везе",
                    "Промјена од почетног мјерења", "Учешће и укљученост младих", "Квалитет података",
                    "Како је извјештај направљен"):
        assert f"<h2>{heading}</h2>" in text
    assert "Headline figures" not in text and "Profil" not in text and "Mrkonjić Grad" not in text
    assert "Јачање социјалне кохезије кроз сарадњу у пружању локалних услуга" in text
    # dialogue participants by municipality are 1-2 people each: shown as text, never a number
    assert "n &lt; 10 (није објављено)" in text
    assert "у општини Мркоњић Град" in text and "Приказано на енглеском" not in text
    assert "open_report" not in text and "sections." not in text and "In&nbsp;[" not in text
    assert "<script" not in page.lower() and external_references(page) == []
    assert page.count("data:image/png;base64,") >= 5
    # provenance: the raw files behind the numbers, by name and sha256, and the kernel's python
    survey = warehouse.raw_dir / "fixture" / "survey" / "citizen_survey_2024Q4.csv"
    assert file_sha256(survey) in text and "citizen_survey_2024Q4.csv" in text
    assert f"Python: {sys.executable}" in text
    assert "Параметри: period='2024Q4', municipality='mrkonjic_grad', lang='sr', warehouse=" in text

    executed = nbformat.read(folder / "executed" / "mrkonjic_grad.sr.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'municipality = "mrkonjic_grad"' in injected[0].source and 'lang = "sr"' in injected[0].source
    assert (folder / "tables" / "mrkonjic_grad.sr__indicators.xlsx").is_file()
    assert (folder / "tables" / "mrkonjic_grad.sr__result_1_1.csv").is_file()
    assert (folder / "figures" / "mrkonjic_grad.sr__trust_municipality_high.png").is_file()
    maps = json.loads((folder / "figures" / "maps.sr.json").read_text())
    if SHARED_GEO.is_dir():
        assert sorted(maps["maps"]) == ["change", "indicator", "overview", "ties"]
        assert (folder / "figures" / "map_overview.sr.png").is_file()
    # the index lists every report of the period in every language (in the project's first)
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert 'href="mrkonjic_grad.sr.html"' in index and 'href="livno.hr.html"' in index
    assert "Профил општине: Мркоњић Град, 2024Q4" in index and "Profil općine: Livno, 2024Q4" in index
    assert "српски" in index and "hrvatski" in index and "<th>Report</th>" in index
    assert f'href="indicators_{PERIOD}.xlsx"' in index
    if find_browser():
        pdf = folder / "mrkonjic_grad.sr.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-" and 'href="mrkonjic_grad.sr.pdf"' in index
        # the PDF's text layer holds the Cyrillic as text (the glyphs are real, not boxes)
        from pypdf import PdfReader

        first = PdfReader(pdf).pages[0].extract_text()
        assert "Мркоњић Град" in first and "Кључни показатељи" in first
    else:
        assert "PDF skipped: no chromium" in printed


def test_a_failing_notebook_does_not_stop_the_others(warehouse, tmp_path):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, notebooks)
    broken = nbformat.read(notebooks / "municipality_profile.ipynb", as_version=4)
    broken.cells.insert(4, nbformat.v4.new_code_cell('raise RuntimeError("deliberate failure")'))
    nbformat.write(broken, notebooks / "municipality_profile.ipynb")
    jobs = plan(PERIOD, ["drvar"], "en", {"drvar": "Drvar"}, notebooks=notebooks, name="SPSC")
    result = run_batch(warehouse, PERIOD, jobs, workers=2, pdf=False)

    by_name = {o.name: o for o in result.outcomes}
    assert by_name["project.en"].ok and not by_name["drvar.en"].ok
    assert by_name["drvar.en"].error == "RuntimeError: deliberate failure"
    folder = result.folder
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert index.count('class="bad"') == 1 and "RuntimeError: deliberate failure" in index
    drvar = (folder / "drvar.en.html").read_text(encoding="utf-8")
    assert "RuntimeError: deliberate failure" in drvar and "raise RuntimeError" not in drvar
    assert "An Exception was encountered" not in drvar  # papermill's banner quotes In [n]
    project = _visible_text((folder / "project.en.html").read_text(encoding="utf-8"))
    assert "<h1>SPSC quarterly report 2024Q4</h1>" in project
    # narrative from the numbers: 72 of 180 trusted at baseline, 98 of 168 at endline
    assert "Trust in the municipal administration rose from 40% to 58% (±" in project
    assert "a significant change." in project


def test_cli_exits_non_zero_when_a_report_fails(warehouse, capsys):
    code = main(["report", "--period", "2031Q1", "--no-pdf", "--lang", "en"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED project" in captured.out and "no indicator values for 2031Q1" in captured.out
    assert "1 of 1 reports failed: project.en (SpscError:" in captured.err
    index = (warehouse.reports_dir / "2031Q1" / "index.html").read_text(encoding="utf-8")
    assert "failed" in index and "no indicator values for 2031Q1" in index


def test_cli_rejects_bad_options(warehouse, capsys):
    assert main(["report", "--period", PERIOD, "--all", "--municipality", "Drvar"]) == 1
    assert main(["report", "--period", PERIOD, "--municipality", "Bihać"]) == 1
    err = capsys.readouterr().err
    assert "--municipality and --all exclude each other" in err
    assert "'Bihać' is not a municipality of the project (spsc.yml: area)" in err


def test_explore_notebook_runs(warehouse, tmp_path):
    import papermill as pm

    out = tmp_path / "explore.ipynb"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "explore.ipynb"), str(out), kernel_name="python3",
                        parameters={"warehouse": str(warehouse.db), "wave": PERIOD},
                        progress_bar=False)
    nb = nbformat.read(out, as_version=4)

    def shown(marker: str) -> str:
        cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
        return "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)

    tables = shown("duckdb_tables()")
    assert "indicator_values" in tables and "respondents" in tables
    estimate = shown("Design(")  # trust by municipality, with the design's CIs
    assert "drvar" in estimate and "ci_low" in estimate and "sanski_most" in estimate


@pytest.mark.parametrize("name", ["quarterly_report", "municipality_profile", "explore"])
def test_notebooks_are_committed_clean(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for line in params[0].source.splitlines():
        assert re.match(r'^\w+: ("?[\w\[\]]+"?) = ("[^"]*"|None) +# \S', line), line
