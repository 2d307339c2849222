"""The notebooks run through papermill on a real kernel, against a fixture warehouse.

Kept to five kernels: one municipality profile in Bosnian through ``spsc report`` (parameters
injected and respected, HTML without code or external URLs, tables, figures, provenance, PDF
when Chromium is there), a batch where one notebook fails and the other succeeds, the CLI on a
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


def test_profile_in_bosnian_through_the_cli(warehouse, capsys):
    folder = warehouse.reports_dir / PERIOD
    folder.mkdir(parents=True)
    (folder / "livno.html").write_text("a report of an earlier run")
    (folder / f"spsc_{PERIOD}_deck.pptx").write_bytes(b"deck made by spsc deck")
    (folder / f"indicators_{PERIOD}.xlsx").write_bytes(b"made by spsc indicators")

    code = main(["report", "--period", PERIOD, "--municipality", "Mrkonjić Grad", "--lang", "bs"])
    captured = capsys.readouterr()
    printed = captured.out
    assert code == 0, captured.err
    assert "ok     mrkonjic_grad" in printed and "1 of 1 reports" in printed
    # a rerun replaces the reports (the old one is gone); other commands' files are kept
    assert not (folder / "livno.html").exists()
    assert (folder / f"spsc_{PERIOD}_deck.pptx").read_bytes() == b"deck made by spsc deck"
    assert (folder / f"indicators_{PERIOD}.xlsx").read_bytes() == b"made by spsc indicators"
    assert not [p for p in warehouse.reports_dir.iterdir() if p.name.startswith(".")]

    page = (folder / "mrkonjic_grad.html").read_text(encoding="utf-8")
    text = _visible_text(page)
    assert "<h1>Profil općine: Mrkonjić Grad, 2024Q4</h1>" in text
    # the sections follow the example's catalogue: a section per result, titled in Bosnian
    for heading in ("Ključni pokazatelji", "Indikatori okvira rezultata",
                    "Rezultat 1.1: Općine i pružatelji usluga sarađuju u pružanju usluga kojima građani vjeruju",
                    "Rezultat 1.2: Mladi i zajednice s obje strane entitetske linije grade povjerenje i veze",
                    "Promjena od početnog mjerenja", "Učešće i uključenost mladih", "Kvalitet podataka",
                    "Kako je izvještaj napravljen"):
        assert f"<h2>{heading}</h2>" in text
    assert "Headline figures" not in text
    # dialogue participants by municipality are 1-2 people each: shown as text, never a number
    assert "n &lt; 10 (potisnuto)" in text
    assert "open_report" not in text and "sections." not in text and "In&nbsp;[" not in text
    assert "<script" not in page.lower() and external_references(page) == []
    assert page.count("data:image/png;base64,") >= 5
    # provenance: the raw files behind the numbers, by name and sha256, and the kernel's python
    survey = warehouse.raw_dir / "fixture" / "survey" / "citizen_survey_2024Q4.csv"
    assert file_sha256(survey) in text and "citizen_survey_2024Q4.csv" in text
    assert f"Python: {sys.executable}" in text
    assert "Parametri: period='2024Q4', municipality='mrkonjic_grad', lang='bs', warehouse=" in text

    executed = nbformat.read(folder / "executed" / "mrkonjic_grad.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'municipality = "mrkonjic_grad"' in injected[0].source and 'lang = "bs"' in injected[0].source
    assert (folder / "tables" / "mrkonjic_grad__indicators.xlsx").is_file()
    assert (folder / "tables" / "mrkonjic_grad__result_1_1.csv").is_file()
    assert (folder / "figures" / "mrkonjic_grad__trust_municipality_high.png").is_file()
    maps = json.loads((folder / "figures" / "maps.json").read_text())
    if SHARED_GEO.is_dir():
        assert sorted(maps["maps"]) == ["change", "indicator", "overview", "ties"]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert 'href="mrkonjic_grad.html"' in index and "uspješno" in index
    assert f'href="indicators_{PERIOD}.xlsx"' in index and 'href="livno.html"' not in index
    if find_browser():
        assert (folder / "mrkonjic_grad.pdf").read_bytes()[:5] == b"%PDF-"
        assert 'href="mrkonjic_grad.pdf"' in index
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
    assert by_name["project"].ok and not by_name["drvar"].ok
    assert by_name["drvar"].error == "RuntimeError: deliberate failure"
    folder = result.folder
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert index.count('class="bad"') == 1 and "RuntimeError: deliberate failure" in index
    drvar = (folder / "drvar.html").read_text(encoding="utf-8")
    assert "RuntimeError: deliberate failure" in drvar and "raise RuntimeError" not in drvar
    assert "An Exception was encountered" not in drvar  # papermill's banner quotes In [n]
    project = _visible_text((folder / "project.html").read_text(encoding="utf-8"))
    assert "<h1>SPSC quarterly report 2024Q4</h1>" in project
    # narrative from the numbers: 72 of 180 trusted at baseline, 98 of 168 at endline
    assert "Trust in the municipal administration rose from 40% to 58% (±" in project
    assert "a significant change." in project


def test_cli_exits_non_zero_when_a_report_fails(warehouse, capsys):
    code = main(["report", "--period", "2031Q1", "--no-pdf"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED project" in captured.out and "no indicator values for 2031Q1" in captured.out
    assert "1 of 1 reports failed: project (SpscError:" in captured.err
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
