"""``spsc audit``: personal data and small cells in the warehouse and in what leaves it.

A small demo (synth --respondents 30, everything ingested and built) with its exports (donor
table CSV/XLSX, quarantine CSV/XLSX, the donor deck) must audit clean; leaks planted into a
copy (a participant's name into a report HTML and a notebook, a phone into a CSV, an e-mail,
an unsuppressed small cell in a report table and in the warehouse, a formula in a CSV, a
name in a warehouse table) must each be found, and printed masked. The pseudonymisation
secret is owner-only, and an ingest refuses to run when it is gone.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from adversarial.demo import demo_copy

from pipeline.checks.audit import (
    PersonalValues,
    Scanner,
    audit,
    mask_email,
    mask_phone,
    mask_words,
)

SPSC = Path(sys.executable).with_name("spsc")
PERIOD = "2024Q4"


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(settings.db),
               SPSC_SECRET=str(settings.secret_path), SPSC_REPORTS=str(settings.reports_dir))
    return env


def write_exports(settings) -> Path:
    """The donor table (CSV, XLSX), the quarantine (CSV, XLSX) and the deck of the period."""
    from pipeline.indicators import donor_table
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.ingest.survey.quarantine import export_quarantine, read_quarantine
    from pipeline.reports.deck import write_deck
    from pipeline.warehouse import connect

    folder = settings.reports_dir / PERIOD
    con = connect(settings.db, read_only=True)
    try:
        table = donor_table.donor_rows(con, load_catalogue(settings.project), settings, PERIOD)
    finally:
        con.close()
    donor_table.write_csv(table, folder / f"indicators_{PERIOD}.csv", "en", table.attrs["min_cell"])
    donor_table.write_xlsx(table, folder / f"indicators_{PERIOD}.xlsx", PERIOD, "bs",
                           table.attrs["min_cell"])
    quarantine = read_quarantine(settings)
    export_quarantine(quarantine, folder / "quarantine.csv")
    export_quarantine(quarantine, folder / "quarantine.xlsx")
    write_deck(settings, PERIOD)
    return folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = demo_copy(tmp_path_factory.mktemp("audit"))
    write_exports(settings)
    return settings


def _raw_person(settings) -> tuple[str, str]:
    """A participant's name and phone as written in a raw sign-in sheet of the demo."""
    sheets = sorted((settings.raw_dir / "sample" / "attendance").glob("*_2024Q*.xlsx"))
    for path in sheets:
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            for i, row in enumerate(rows):
                if row and "Ime i prezime" in row and "Kontakt telefon" in row:
                    name_at, phone_at = row.index("Ime i prezime"), row.index("Kontakt telefon")
                    for person in rows[i + 1:]:
                        if person[name_at] and person[phone_at]:
                            wb.close()
                            return str(person[name_at]), str(person[phone_at])
        wb.close()
    raise AssertionError("no sign-in row with a name and a phone in the demo")


def test_a_fresh_demo_and_its_exports_audit_clean(demo):
    done = subprocess.run([str(SPSC), "audit"], env=_env(demo), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit clean: 53 raw files read for" in done.stdout  # 4 survey exports, 49 sheets
    result = audit(demo)
    assert result.findings == [] and result.notes == []
    assert result.report_files == 5 and result.personal_values > 1000


def test_planted_leaks_are_each_found_and_never_printed_in_full(demo, tmp_path):
    from pipeline.warehouse import connect

    name, phone = _raw_person(demo)
    first, last = name.split(" ", 1)
    reports = tmp_path / "reports"
    shutil.copytree(demo.reports_dir, reports)
    (reports / "leak.html").write_text(
        f"<html><body><h1>Dijalog</h1><p>Govorila je {last.upper()} {first}.</p>"
        "<script>var x = 1;</script></body></html>", encoding="utf-8")
    with open(reports / PERIOD / "quarantine.csv", "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow([99, "x.xlsx", "EV-1", 3, "Telefon", phone, "r", "why"])
    notebook = {"cells": [{"cell_type": "code", "source": ["print(contact)"], "metadata": {},
                           "outputs": [{"output_type": "stream", "name": "stdout",
                                        "text": ["pitati: ana.petrovic@example.ba\n"]}],
                           "execution_count": 1}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (reports / "executed.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    con = connect(demo.db, read_only=True)
    try:
        small = con.execute(
            "select indicator_id, period, dimension, dimension_value, n from indicator_values"
            " where suppressed and n between 1 and 9 and period <> 'cumulative'"
            " order by all limit 1").fetchall()[0]
    finally:
        con.close()
    with open(reports / "small.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["indicator_id", "period", "dimension", "dimension_value", "estimate",
                         "suppressed"])
        writer.writerow([*small[:4], 42.0, False])
        writer.writerow(["x", "2024Q4", "total", "total", "=1+1", False])
    with open(reports / "counts.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["group", "estimate", "n"], ["Ribnik", 40.0, 4],
                                  ["Drvar", 0, 0], ["Ključ", 55.5, 31]])

    result = audit(demo, reports)
    found = {(f.kind, Path(f.where.split(" ")[0]).name) for f in result.findings}
    assert ("name", "leak.html") in found
    assert ("phone", "quarantine.csv") in found
    assert ("email", "executed.ipynb") in found
    assert ("small_cell", "small.csv") in found and ("small_cell", "counts.csv") in found
    assert ("formula", "small.csv") in found
    assert len([f for f in result.findings if f.where.startswith(str(reports / "counts.csv"))]) == 1
    assert not [f for f in result.findings if "indicator" in f.where]  # the real exports

    done = subprocess.run([str(SPSC), "audit", "--reports", str(reports)], env=_env(demo),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: ") and "findings" in done.stderr
    printed = done.stdout + done.stderr
    assert f"finding: {reports / 'leak.html'}: name {mask_words(name)}" in printed
    assert mask_phone(phone) in printed
    for secret in (first, last, last.upper(), phone, "ana.petrovic@example.ba"):
        assert secret not in printed


def test_leaks_inside_the_warehouse_are_found(demo, tmp_path):
    name, _ = _raw_person(demo)
    db = tmp_path / "w.duckdb"
    shutil.copy2(demo.db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute("update events set title = ? where event_id = (select min(event_id) from"
                    " events)", [f"Radionica ({name})"])
        con.execute("update indicator_values set suppressed = false, estimate = 12.5 where"
                    " (indicator_id, period, dimension, dimension_value) = (select (indicator_id,"
                    " period, dimension, dimension_value) from indicator_values where suppressed"
                    " and n between 1 and 9 order by all limit 1)")
    finally:
        con.close()
    result = audit(demo.with_(db=db), tmp_path / "no_reports")
    kinds = sorted((f.kind, f.where) for f in result.findings)
    assert kinds == [("name", "warehouse events.title"),
                     ("small_cell", "warehouse indicator_values_published")]


def test_names_are_matched_whole_folded_and_in_either_order():
    personal = PersonalValues()
    for value in ("Ana Petrović", "Đorđe Šarić", "Ivo", "Al Ba", "Marko Marković Kovač"):
        personal.add_name(value)
    scanner = Scanner(personal)

    def names(text: str) -> list[str]:
        return [f.shown for f in scanner.scan(text, "t") if f.kind == "name"]

    assert names("Prisutni: PETROVIC ANA, drugi.") == ["An* Pe******"]
    assert names("Шарић Ђорђе је говорио") == ["Đo*** Ša***"]
    assert names("djordje sarić") == ["Đo*** Ša***"]
    assert names("Anastasija Petrovićeva; Ana Petrovićka; Ivo; Al Ba; ana") == []
    assert names("Marko Marković Kovač") == ["Ma*** Ma****** Ko***"]


@pytest.mark.parametrize("text, kind, shown", [
    ("Pozovite 061 234 567 sutra", "phone", "061******"),
    ("+387 65/111-222", "phone", "387********"),
    ("tel:033-555-1234.", "phone", "033*******"),
    ("ana.p@example.ba", "email", "an***@ex********"),
])
def test_phone_and_email_patterns(text, kind, shown):
    findings = list(Scanner(PersonalValues()).scan(text, "t"))
    assert [(f.kind, f.shown.split(" ")[0]) for f in findings] == [(kind, shown)]


@pytest.mark.parametrize("text", ["0.6123456789", "p0612345678abcd", "2023-02-06T08:20:11",
                                  "14.8182", "sha 0612345678901234567890", "EV-0061"])
def test_numbers_that_are_not_phones(text):
    assert list(Scanner(PersonalValues()).scan(text, "t")) == []


def test_masks():
    assert mask_words("Ana Petrović") == "An* Pe******"
    assert mask_phone("065/111-222") == "065******"
    assert mask_email("ana@ex.ba") == "an*@ex***"


def test_the_secret_is_owner_only(tmp_path):
    from pipeline.config import get_settings
    from pipeline.warehouse.setup import init_warehouse

    settings = get_settings(home=tmp_path)
    init_warehouse(settings)
    assert stat.S_IMODE(settings.secret_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.secret_path.parent.stat().st_mode) == 0o700


def test_an_ingest_refuses_to_run_without_the_secret_of_its_pseudonyms(demo, tmp_path):
    from pipeline.checks.integrity import fingerprint

    db = tmp_path / "w.duckdb"
    shutil.copy2(demo.db, db)
    settings = demo.with_(db=db, secret_path=tmp_path / "gone" / "secret.key")
    sheet = sorted((demo.raw_dir / "sample" / "attendance").glob("drvar_*.xlsx"))[0]
    late = tmp_path / "drvar_late.xlsx"
    wb = openpyxl.load_workbook(sheet)
    wb.worksheets[0].append([99, "Nova Osoba", 2001, "Ž", "Drvar", "mladi"])
    wb.save(late)
    con = duckdb.connect(str(db), read_only=True)
    before = fingerprint(con)
    con.close()
    done = subprocess.run([str(SPSC), "ingest", "attendance", str(late)], env=_env(settings),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {settings.secret_path}: the pseudonymisation secret is missing but the warehouse"
        " already holds pseudonyms; restore the secret from your backup (a new one would break"
        " the links between quarters)")
    assert not settings.secret_path.exists()
    con = duckdb.connect(str(db), read_only=True)
    assert fingerprint(con) == before
    con.close()


def test_exporters_neutralise_formula_text(tmp_path):
    """Report tables, the donor table and the quarantine export write formula-like text as
    text: the audit's formula check reads them back clean."""
    import pandas as pd

    from pipeline.checks.audit.reports import _sheet_content
    from pipeline.ingest.survey.quarantine import export_quarantine
    from pipeline.reports.tables import write_table

    hostile = pd.DataFrame({"batch_id": [1, 2], "file_name": ["=cmd|' /C calc'!A0", "a.xlsx"],
                            "sheet": ["@SUM(A1)", "s"], "source_row": [3, 4],
                            "column_name": ["+x", "-y"], "value": ["-12", '=HYPERLINK("h")'],
                            "rule": ["r", "r"], "reason": ["\tx", "ok"]})
    paths = [*write_table(hostile, tmp_path / "t"),
             export_quarantine(hostile, tmp_path / "q.csv"),
             export_quarantine(hostile, tmp_path / "q.xlsx")]
    for path in paths:
        pieces, _, formulas = _sheet_content(path)
        assert formulas == [], path
        assert "'=HYPERLINK(\"h\")" in [text for text, _ in pieces], path


def test_the_quarantine_xlsx_keeps_urls_as_text(tmp_path):
    import pandas as pd

    from pipeline.checks.audit.reports import _external_links
    from pipeline.ingest.survey.quarantine import export_quarantine

    frame = pd.DataFrame({"batch_id": [1], "file_name": ["a.xlsx"], "sheet": ["s"],
                          "source_row": [2], "column_name": ["Mjesto"],
                          "value": ["http://phish.example/login"], "rule": ["r"],
                          "reason": ["unknown municipality"]})
    assert _external_links(export_quarantine(frame, tmp_path / "q.xlsx")) == []


@pytest.mark.slow
def test_a_fresh_demo_report_audits_clean(demo, tmp_path):
    """The quarter's real report (HTML, tables, executed notebook): about 30 s."""
    done = subprocess.run([str(SPSC), "report", "--period", PERIOD, "--no-pdf", "--lang", "en"], env=_env(demo),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = audit(demo)
    assert result.findings == []
    assert result.report_files > 10


def test_loaded_files_are_found_again_from_the_project_folder(tmp_path, monkeypatch):
    """``load_batches.path`` is the path as given to the load (``make demo`` runs from the
    repository's top: examples/spsc/data/raw/...). The audit and ``spsc clean checks`` read the
    raw files again from wherever they run, the project folder included."""
    from pipeline.warehouse.batches import locate_raw

    repo = tmp_path / "repo"
    project = repo / "examples" / "p"
    raw = project / "data" / "raw" / "sheet.csv"
    raw.parent.mkdir(parents=True)
    raw.write_text("Ime i prezime\nAna\n", encoding="utf-8")
    stored = "examples/p/data/raw/sheet.csv"
    monkeypatch.chdir(project)
    assert locate_raw(stored) is None  # as stored, from here: not found
    assert locate_raw(stored, (project,)).resolve() == raw.resolve()
    assert locate_raw("data/raw/sheet.csv", (project,)).resolve() == raw.resolve()
    monkeypatch.chdir(repo)
    assert locate_raw(stored, (project,)) == Path(stored)
    assert locate_raw(str(raw)) == raw and locate_raw(str(project / "gone.csv"), (project,)) is None
    assert locate_raw("nowhere/sheet.csv", (project,)) is None
