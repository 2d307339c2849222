"""Project folders (``pipeline/project``): ``spsc new``, ``spsc.yml``, form settings, the results
framework, and a project built from scratch on real Kobo forms nobody here wrote."""

from __future__ import annotations

import csv
import math
import re
import textwrap

import numpy as np
import pytest
from helpers import query
from scipy import stats

from pipeline.cli import main
from pipeline.config import get_settings
from pipeline.errors import SpscError
from pipeline.project import ProjectError, load_project
from pipeline.project.scaffold import new_project

Z = 1.959963984540054


@pytest.fixture
def clean_env(monkeypatch):
    for var in ("SPSC_PROJECT", "SPSC_HOME", "SPSC_DB", "SPSC_RAW", "SPSC_PROCESSED", "SPSC_REPORTS",
                "SPSC_SECRET", "SPSC_MIN_CELL", "SPSC_BOUNDARIES_DIR"):
        monkeypatch.delenv(var, raising=False)


# ------------------------------------------------------------------------- spsc new
def test_spsc_new_writes_a_project_that_loads(tmp_path, clean_env, capsys):
    folder = tmp_path / "my_project"
    assert main(["new", str(folder)]) == 0
    assert "empty project written to" in capsys.readouterr().out
    for name in ("spsc.yml", "indicators.yml", "results_framework.xlsx", "forms/README.md",
                 "aliases/attendance_headers.csv", "aliases/attendance_values.csv", ".gitignore",
                 "data/raw/.gitkeep"):
        assert (folder / name).is_file(), name
    project = load_project(folder)
    assert project.config.short_name == "my_project" and project.area == () and len(project.config.quarters) == 8
    assert "data/raw/*" in (folder / ".gitignore").read_text() and ".spsc/" in (folder / ".gitignore").read_text()
    # a project's defaults put everything inside it
    s = get_settings(project=folder)
    assert s.db == folder.resolve() / "data" / "processed" / "spsc.duckdb"
    assert s.reports_dir == folder.resolve() / "reports" and s.secret_path == folder.resolve() / ".spsc" / "secret.key"
    assert main(["--project", str(folder), "project"]) == 0
    shown = capsys.readouterr().out
    assert "project my_project" in shown and "0 indicators" in shown and "area: none" in shown
    # a new project builds before it declares an indicator: nothing to compute is not an error
    assert main(["--project", str(folder), "init"]) == 0
    assert main(["--project", str(folder), "build"]) == 0
    assert "indicator_values: 0 cells of 0 indicators" in capsys.readouterr().out
    # a second project cannot be written over the first
    assert main(["new", str(folder)]) == 1
    assert "the folder is not empty" in capsys.readouterr().err


def test_spsc_new_copies_the_example(tmp_path, clean_env):
    written = new_project(tmp_path / "spsc_copy", example="spsc")
    assert {p.name for p in written} >= {"spsc.yml", "indicators.yml", "results_framework.xlsx",
                                         "spsc_citizen_survey.yml", "spsc_youth_prepost.yml"}
    assert not (tmp_path / "spsc_copy" / "data" / "processed").exists()
    project = load_project(tmp_path / "spsc_copy")
    assert project.area[:3] == ("bosansko_grahovo", "bosanski_petrovac", "drvar") and len(project.area) == 9
    # two stages: settlements, then the respondent (no question holds it)
    design = project.form("spsc_citizen_survey").design
    assert design.roles() == {"weight": "design/weight", "stratum": "design/stratum", "psu": "design/psu",
                              "fpc": "design/fpc", "fpc2": "design/fpc2"}
    assert design.stages == ["design/psu", "respondent"]
    with pytest.raises(ProjectError, match="no example project 'unicef'"):
        new_project(tmp_path / "other", example="unicef")


def test_the_project_is_found_from_the_option_the_environment_or_the_folder(tmp_path, clean_env, monkeypatch):
    new_project(tmp_path / "a", example="spsc")
    new_project(tmp_path / "b")
    monkeypatch.chdir(tmp_path / "b")
    assert get_settings().project.name == "b"
    monkeypatch.setenv("SPSC_PROJECT", str(tmp_path / "a"))
    assert get_settings().project.name == "SPSC"
    assert get_settings(project=tmp_path / "b").project.name == "b"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPSC_PROJECT")
    assert get_settings().project is None
    with pytest.raises(ProjectError, match=r"no spsc\.yml here"):
        get_settings(project=tmp_path)
    # min_cell: the option, then the environment, then spsc.yml
    assert get_settings(project=tmp_path / "a").min_cell == 10
    monkeypatch.setenv("SPSC_MIN_CELL", "5")
    assert get_settings(project=tmp_path / "a").min_cell == 5
    assert get_settings(project=tmp_path / "a", min_cell=3).min_cell == 3


def test_commands_without_a_project_say_how_to_get_one(tmp_path, clean_env, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 1
    err = capsys.readouterr().err
    assert "no project" in err and "spsc new DIR" in err and err.count("\n") == 1


# ------------------------------------------------------------------------- errors in project files
def _project_with(tmp_path, relative: str, old: str, new: str):
    new_project(tmp_path / "p", example="spsc")
    path = tmp_path / "p" / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path / "p"


@pytest.mark.parametrize(("relative", "old", "new", "message"), [
    ("spsc.yml", "Glamoč, Ključ", "Glamoč, Kljuc, Petrovac",  # Kljuc (no diacritic) is Ključ
     r"spsc.yml: field 'area.5': 'Petrovac': ambiguous municipality: Bosanski Petrovac or Petrovac \(RS\)"),
    ("spsc.yml", "Drvar,", "Drvarr,", r"spsc.yml: field 'area.2': 'Drvarr': unknown municipality"),
    ("spsc.yml", "min_cell: 10", "min_cell: 0", r"spsc.yml: field 'min_cell': Input should be greater than or equal to 1"),
    ("spsc.yml", "2024Q3, 2024Q4]", "2024Q3, 2024-Q4]", r"spsc.yml: field '\(file\)': periods are quarters like 2024Q4"),
    ("spsc.yml", "donor:", "doner:", r"spsc.yml: field 'doner': Extra inputs are not permitted"),
    ("forms/spsc_citizen_survey.yml", "  weights: design/weight", "  weight: design/weight",
     r"spsc_citizen_survey.yml: field 'design.weight': Extra inputs are not permitted"),
    ("forms/spsc_youth_prepost.yml", "pre_post: {link: participant_code, phase: phase, pre: pre, post: post}",
     "pre_post: {phase: phase}", r"spsc_youth_prepost.yml: field 'pre_post.link': Field required"),
])
def test_errors_in_project_files_name_the_file_the_entry_and_the_field(tmp_path, clean_env, relative, old, new,
                                                                       message):
    folder = _project_with(tmp_path, relative, old, new)
    with pytest.raises(ProjectError, match=message):
        project = load_project(folder)
        project.forms()


def test_results_framework_errors_name_the_row_and_the_column(tmp_path):
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.project.results import ResultsFrameworkError, write_results_framework

    new_project(tmp_path / "p", example="spsc")
    project = load_project(tmp_path / "p")
    rows = [{"id": "trust_municipality_high", "baseline": "computed", "milestones": {"2024Q1": "forty"},
             "target": 50, "target_period": "2024Q4"},
            {"id": "no_such_indicator", "target": 1},
            {"id": "citizen_dialogues", "baseline": 30, "target": 20, "target_period": "2024Q4"}]
    write_results_framework(project.results_framework_path, rows, ["2024Q1"])
    with pytest.raises(ResultsFrameworkError) as err:
        load_catalogue(project)
    msg = str(err.value)
    assert msg.startswith("results_framework.xlsx: ")
    assert "row 5 (indicator 'trust_municipality_high'): column 'Milestone 2024Q1': 'forty' is not a number" in msg
    assert "row 6 (indicator 'no_such_indicator'): column 'Indicator id': no such indicator in indicators.yml" in msg
    write_results_framework(project.results_framework_path, rows[2:], [])
    with pytest.raises(ResultsFrameworkError, match="indicator 'citizen_dialogues': column 'End-of-project target': "
                                                    "does not increase from the baseline 30"):
        load_catalogue(project)


def test_results_framework_as_csv_with_bosnian_headers_and_decimal_commas(tmp_path):
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.project.results import read_rows

    new_project(tmp_path / "p")
    (tmp_path / "p" / "indicators.yml").write_text(textwrap.dedent("""
        indicators:
          - {id: satisfied, label: Satisfied, source: feedback, estimator: proportion,
             condition: {variable: q1, in: ["4", "5"]}, unit: percent}
    """), encoding="utf-8")
    path = tmp_path / "p" / "targets.csv"
    path.write_text("Okvir rezultata\n\nŠifra indikatora;Početna vrijednost;Međucilj 2026Q4;Cilj;Period cilja\n"
                    "satisfied;42,5;50;60;2027Q3\n", encoding="utf-8")
    text = (tmp_path / "p" / "spsc.yml").read_text(encoding="utf-8")
    (tmp_path / "p" / "spsc.yml").write_text(
        re.sub(r"start: .*\nend: .*", "start: 2026-01-01\nend: 2027-09-30", text).replace(
            "results_framework: results_framework.xlsx", "results_framework: targets.csv"), encoding="utf-8")
    assert read_rows(path)[2][0] == "Šifra indikatora"
    ind = load_catalogue(load_project(tmp_path / "p")).get("satisfied")
    assert (ind.baseline, ind.milestones, ind.target.value, ind.target.period) == (42.5, {"2026Q4": 50.0}, 60.0,
                                                                                   "2027Q3")
    assert not ind.illustrative


# ------------------------------------------------------------------------- a project from scratch
LONG_LABELS = "formpack_long_unicode_labels"


def _people() -> list[dict]:
    """30 answers to the real form 'long_labels' (formpack's long_unicode_labels fixture)."""
    rows = []
    for i in range(30):
        picked = [e for k, e in enumerate(("tv", "radio", "laptop", "tamagotchi")) if (i * 7 >> k) & 1] or ["radio"]
        rows.append({
            "age": 18 + (i * 7) % 50,
            "q_2241": "1" if i % 3 == 0 else "2",
            "approval": None if i % 10 == 9 else ("1" if (i * 5) % 7 < 4 else "2"),
            "electronics": None if i % 11 == 10 else picked,
        })
    return rows


def _write_kpi_csv(path, header: list[str], people: list[dict]) -> None:
    """The rows as KPI writes a CSV export: ';'-separated, every field quoted, the real header."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        out.writerow(header)
        for i, p in enumerate(people):
            values = {
                "start": f"2024-05-{1 + i % 28:02d}T09:00:00.000+02:00", "end": f"2024-05-{1 + i % 28:02d}T09:12:00.000+02:00",
                "What_is_your_age": str(p["age"]), "q_2241": p["q_2241"], "approval": p["approval"] or "",
                "electronics_owned": " ".join(p["electronics"]) if p["electronics"] else "",
                "_id": str(5000 + i), "_uuid": f"7d1c0b8e-0000-4000-8000-{i:012d}",
                "_submission_time": f"2024-05-{1 + i % 28:02d}T08:00:00", "_status": "submitted_via_web",
                "__version__": "long_unicode_labels_v1", "_index": str(i + 1)}
            for e in ("tv", "radio", "laptop", "tamagotchi"):
                values[f"electronics_owned/{e}"] = "" if not p["electronics"] else str(int(e in p["electronics"]))
            out.writerow([values.get(h, "") for h in header])


def srs(y: list[float | None], domain: list[bool] | None = None) -> tuple[float, float]:
    """Mean and SE of a simple random sample (R: svydesign(ids = ~1), svymean(na.rm = TRUE),
    svyby for a domain): the whole sample's n, zero scores outside the domain."""
    n = len(y)
    keep = [v is not None and (domain is None or domain[i]) for i, v in enumerate(y)]
    vals = np.array([v for v, k in zip(y, keep, strict=True) if k], dtype=float)
    mean = vals.mean()
    return float(mean), math.sqrt(n / (n - 1) * float(((vals - mean) ** 2).sum())) / len(vals)


INDICATORS = """
results:
  - id: "1"
    label: {en: "Families know and use their services"}
indicators:
  - id: approves
    label: {en: "% who approve of the interview", bs: "% koji odobravaju razgovor"}
    source: long_labels
    estimator: proportion
    condition: {variable: approval, equals: "1"}
    unit: percent
    disaggregations: [total, q_2241]
    result: "1"
  - id: mean_age
    label: Mean age of respondents
    source: long_labels
    estimator: mean
    variables: [What_is_your_age]
    unit: mean
    disaggregations: [total, q_2241]
    result: "1"
  - id: owns_laptop
    label: "% of households owning a laptop"
    source: long_labels
    estimator: proportion
    condition: {variable: electronics_owned, has: laptop}
    unit: percent
    disaggregations: [total, q_2241]
    result: "1"
"""


@pytest.mark.shared
def test_a_project_from_scratch_on_a_real_kobo_form(tmp_path, clean_env, shared_dir, capsys, monkeypatch):
    folder = tmp_path / "families"
    assert main(["new", str(folder)]) == 0
    text = (folder / "spsc.yml").read_text(encoding="utf-8")
    # a small monitoring survey: cells of fewer than 5 people are suppressed
    (folder / "spsc.yml").write_text(
        re.sub(r"start: .*\nend: .*", "start: 2024-01-01\nend: 2025-12-31", text).replace(
            "min_cell: 10", "min_cell: 5"), encoding="utf-8")
    (folder / "indicators.yml").write_text(INDICATORS, encoding="utf-8")
    from pipeline.project.results import write_results_framework

    write_results_framework(folder / "results_framework.xlsx",
                            [{"id": "approves", "baseline": "computed", "target": 70, "target_period": "2025Q4"}],
                            [])
    source = shared_dir / "kobo" / LONG_LABELS
    with open(source / f"{LONG_LABELS}_xml.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh, delimiter=";"))  # the real export's header row
    people = _people()
    export = tmp_path / "long_labels_2024Q2.csv"
    _write_kpi_csv(export, header, people)
    monkeypatch.chdir(folder)  # commands find the project in the current folder
    assert main(["ingest", "survey", str(export), "--form", str(source / f"{LONG_LABELS}_form.xlsx")]) == 0
    assert "read 30 = loaded 30 + quarantined 0" in capsys.readouterr().out
    assert main(["build"]) == 0
    built = capsys.readouterr().out
    assert "respondents: 30" in built and "of 3 indicators" in built
    s = get_settings()
    values = {(r[0], r[1], r[2]): r[3:] for r in query(
        s, "select indicator_id, dimension, dimension_value, estimate, se, ci_low, ci_high, n"
           " from indicator_values where period = '2024Q2'")}
    families_missing = [p["q_2241"] == "1" for p in people]
    approves = [None if p["approval"] is None else float(p["approval"] == "1") for p in people]
    ages = [float(p["age"]) for p in people]
    laptops = [None if p["electronics"] is None else float("laptop" in p["electronics"]) for p in people]
    for ind, y, scale in (("approves", approves, 100.0), ("mean_age", ages, 1.0), ("owns_laptop", laptops, 100.0)):
        for dim, value, domain in (("total", "total", None), ("q_2241", "1", families_missing),
                                   ("q_2241", "2", [not f for f in families_missing])):
            est, se = srs(y, domain)
            got = values[(ind, dim, value)]
            assert got[0] == pytest.approx(scale * est, rel=1e-9), (ind, dim, value)
            assert got[1] == pytest.approx(scale * se, rel=1e-9), (ind, dim, value)
            # the design's df: respondents (each its own PSU) in the domain, minus one; a
            # proportion's interval is R's svyciprop(method = "logit") on it, a mean's a t interval
            df = sum(1 for i in range(len(y)) if domain is None or domain[i]) - 1
            t = stats.t.ppf(0.975, df)
            if scale == 100:
                half = t * se / (est * (1 - est))
                low = 100 / (1 + math.exp(-(math.log(est / (1 - est)) - half)))
            else:
                low = est - t * se
            assert got[2] == pytest.approx(low, rel=1e-9), (ind, dim, value)
            n = sum(1 for i, v in enumerate(y) if v is not None and (domain is None or domain[i]))
            assert got[4] == n
    # the breakdown is the form's own question, its values the choice names; min_cell from spsc.yml
    assert query(s, "select min_cell from indicator_builds") == [(5,)]
    assert query(s, "select count(*) from indicator_values where suppressed") == [(0,)]

    assert main(["indicators", "--period", "2024Q2", "--format", "csv"]) == 0
    donor = list(csv.reader(capsys.readouterr().out.splitlines()))
    head = donor[0]
    rows = {r[1]: dict(zip(head, r, strict=True)) for r in donor[1:]}
    assert set(rows) == {"% who approve of the interview", "Mean age of respondents", "% of households owning a laptop"}
    est, _ = srs(approves)
    approve, age = rows["% who approve of the interview"], rows["Mean age of respondents"]
    progress = head[7]
    assert approve[progress] == f"{100 * est:.1f}"
    assert approve[head[4]] == "70.0" and age["Status"] == "no target"
    assert age[progress] == f"{srs(ages)[0]:.2f}"
    # n next to every figure and the interval method (a logit interval on the design's 29 df)
    assert approve["n (people)"] == str(sum(v is not None for v in approves))
    assert approve["CI method"] == "logit, 29 df"

    assert main(["report", "--period", "2024Q2", "--all", "--no-pdf", "--lang", "en"]) == 0
    assert "1 of 1 reports" in capsys.readouterr().out  # no municipalities: no profiles
    page = (folder / "reports" / "2024Q2" / "project.en.html").read_text(encoding="utf-8")
    assert "<h1>families quarterly report 2024Q2</h1>" in page
    assert "<h2>Result 1: Families know and use their services</h2>" in page
    for label in ("% who approve of the interview", "Mean age of respondents", "% of households owning a laptop"):
        assert f"<h3>{label}</h3>" in page
    assert f"Mean age of respondents in 2024Q2: {srs(ages)[0]:.1f}" in page
    assert "Is your family missing a child" in page  # the breakdown, labelled from the codebook
    assert "Maps" not in page and "Participation" not in page and "Activities held" not in page
    assert (folder / "reports" / "2024Q2" / "figures" / "project.en__owns_laptop.png").is_file()


@pytest.mark.shared
def test_real_export_rows_of_the_transportation_form(tmp_path, clean_env, shared_dir):
    """kobocat's transportation form and its four real submissions: a select_multiple (answered
    only in 0/1 columns) broken down by a select_one of the form's loop."""
    from pipeline.indicators.engine import build
    from pipeline.ingest.survey.load import ingest_survey
    from pipeline.warehouse.setup import init_warehouse

    new_project(tmp_path / "p")
    (tmp_path / "p" / "indicators.yml").write_text(textwrap.dedent("""
        indicators:
          - id: ambulance
            label: "% of facilities reachable by ambulance"
            source: transportation_2011_07_25
            estimator: proportion
            condition: {variable: available_transportation_types_to_referral_facility, has: ambulance}
            unit: percent
            disaggregations:
              - total
              - transport/loop_over_transport_types_frequency/ambulance/frequency_to_referral_facility
    """), encoding="utf-8")
    s = get_settings(project=tmp_path / "p", min_cell=1)
    init_warehouse(s)
    folder = shared_dir / "kobo" / "kobocat_transportation"
    result = ingest_survey(s, [folder / "transportation_export_legacy.csv"], form=folder / "transportation.xls",
                           wave="2013Q1")[-1]
    assert (result.rows_read, result.rows_loaded) == (4, 4)
    build(s)
    got = dict(((d, v), (e, se, n)) for d, v, e, se, n in query(
        s, "select dimension, dimension_value, estimate, se, n from indicator_values"))
    # row 1 ticked nothing (no answer), rows 2 and 3 ambulance, row 4 taxi and other: 2 of 3
    est, se = srs([None, 1.0, 1.0, 0.0])
    assert got[("total", "total")] == (pytest.approx(100 * est), pytest.approx(100 * se), 3)
    # the loop's question is named by its path (its bare name is in every loop column)
    dim = "transport/loop_over_transport_types_frequency/ambulance/frequency_to_referral_facility"
    for value, domain in (("daily", [False, True, False, False]), ("weekly", [False, False, True, False])):
        est, se = srs([None, 1.0, 1.0, 0.0], domain)
        assert got[(dim, value)] == (pytest.approx(100 * est), pytest.approx(100 * se), 1)
    assert {v for d, v in got if d == dim} == {"daily", "weekly"}


def test_a_form_without_settings_gets_its_file_stem_and_is_a_simple_random_sample(tmp_path, shared_dir):
    from pipeline.ingest.survey.xlsform import read_form

    form = read_form(shared_dir / "kobo" / "kobocat_childrens_survey" / "childrens_survey.xls")
    assert form.form_id == "childrens_survey"  # no settings sheet: the file's stem, as pyxform
    with pytest.raises(SpscError):
        load_project(tmp_path)
