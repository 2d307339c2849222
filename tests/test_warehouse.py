"""The warehouse: migrations, locking, load batches."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pipeline.errors import SpscError, WarehouseBusy
from pipeline.warehouse import (
    connect,
    file_sha256,
    finish_batch,
    migrate,
    quarantine_rows,
    register_file,
    schema_version,
    start_batch,
    transaction,
)
from pipeline.warehouse.setup import init_warehouse


def test_init_creates_schema_and_reference_and_is_idempotent(settings):
    first = init_warehouse(settings)
    assert first[:2] == ["001_core", "002_reference"]
    assert init_warehouse(settings) == []
    con = connect(settings.db, read_only=True)
    try:
        assert schema_version(con) == int(first[-1][:3])
        assert con.execute("select count(*) from ref_municipalities").fetchall()[0][0] == 142
        assert con.execute("select count(*) from ref_municipalities where is_project").fetchall()[0][0] == 9
    finally:
        con.close()


def test_secret_is_created_owner_only_and_never_in_the_warehouse(warehouse):
    mode = warehouse.secret_path.stat().st_mode & 0o777
    assert mode == 0o600
    secret = warehouse.secret_path.read_bytes()
    assert secret not in warehouse.db.read_bytes()


def test_missing_secret_is_refused_once_the_warehouse_is_bound(warehouse):
    warehouse.secret_path.unlink()
    with pytest.raises(SpscError, match="secret is missing"):
        init_warehouse(warehouse)


def _hold_lock(db, read_only: bool) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(db)!r}, read_only={read_only})
        print("held", flush=True)
        sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_gets_a_clear_busy_error(warehouse):
    holder = _hold_lock(warehouse.db, read_only=False)
    try:
        with pytest.raises(WarehouseBusy) as err:
            connect(warehouse.db, wait=0.3)
        message = str(err.value)
        assert "warehouse is busy (held by" in message and f"PID {holder.pid}" in message
        assert "retry when it finishes" in message and "\n" not in message
        with pytest.raises(WarehouseBusy):
            connect(warehouse.db, read_only=True)
    finally:
        holder.communicate("\n")


def test_several_readers_at_once(warehouse):
    readers = [_hold_lock(warehouse.db, read_only=True) for _ in range(2)]
    try:
        con = connect(warehouse.db, read_only=True)
        assert con.execute("select count(*) from ref_municipalities").fetchall()[0][0] == 142
        con.close()
        with pytest.raises(WarehouseBusy):
            connect(warehouse.db, wait=0)  # no queueing: DuckDB says at once that readers hold it
    finally:
        for r in readers:
            r.communicate("\n")


def test_reading_a_missing_warehouse_says_what_to_do(tmp_path):
    with pytest.raises(SpscError, match="run 'spsc init'"):
        connect(tmp_path / "none.duckdb", read_only=True)


def test_batches_account_for_every_row_and_roll_back_together(warehouse, tmp_path):
    raw = tmp_path / "sheet.csv"
    raw.write_text("a\n1\n2\n", encoding="utf-8")
    sha = file_sha256(raw)
    con = connect(warehouse.db)
    try:
        batch_id, created = register_file(con, raw, "attendance")
        assert created and register_file(con, raw, "attendance") == (batch_id, False)
        with pytest.raises(RuntimeError), transaction(con):
            start_batch(con, raw, sha, "attendance")
            raise RuntimeError("killed half-way")
        assert con.execute("select status from load_batches").fetchall() == [("registered",)]
        with transaction(con):
            bid = start_batch(con, raw, sha, "attendance")
            import pandas as pd
            problems = pd.DataFrame([{"sheet": "s", "source_row": 3, "column_name": "age", "value": 240,
                                      "rule": "range", "reason": "age 240 is outside 15-100"}])
            assert quarantine_rows(con, bid, raw.name, problems) == 1
            finish_batch(con, bid, rows_read=2, rows_loaded=1, rows_quarantined=1)
        assert bid == batch_id
        row = con.execute("select status, rows_read, rows_loaded, rows_quarantined from load_batches").fetchall()[0]
        assert row == ("loaded", 2, 1, 1)
        assert con.execute("select value, reason from quarantine").fetchall()[0] == ("240", "age 240 is outside 15-100")
        with pytest.raises(AssertionError, match="rows read"):
            finish_batch(con, bid, rows_read=3, rows_loaded=1, rows_quarantined=1)
    finally:
        con.close()


def test_migrate_is_a_no_op_on_a_current_warehouse(warehouse):
    con = connect(warehouse.db)
    try:
        assert migrate(con) == []
    finally:
        con.close()


# ------------------------------------------------------------------ the engine's input contract
def test_migrations_create_the_input_contract_with_its_types():
    """contract.yml is the one declaration of what the engine reads: a fresh warehouse's
    migrations create every table and column of it, with the declared types."""
    import duckdb

    from pipeline.warehouse.contract import INPUT_TABLES

    con = duckdb.connect()
    migrate(con)
    have = {(t, c): ty.lower() for t, c, ty in con.execute(
        "select table_name, column_name, data_type from information_schema.columns").fetchall()}
    wrong = {(t, c): (ty, have.get((t, c), "missing")) for t, cols in INPUT_TABLES.items()
             for c, ty in cols.items() if have.get((t, c)) != ty}
    assert wrong == {}
    assert sum(len(cols) for cols in INPUT_TABLES.values()) > 60


def test_the_docs_contract_is_the_declared_one():
    """docs/warehouse.md's contract section is written from contract.yml (python -m
    pipeline.warehouse.contract rewrites it): a column added to one and not the other fails."""
    from pathlib import Path

    from pipeline.warehouse.contract import INPUT_TABLES, contract_markdown, docs_section

    docs = (Path(__file__).resolve().parents[1] / "docs" / "warehouse.md").read_text(encoding="utf-8")
    assert docs_section(docs) == contract_markdown()
    for table, columns in INPUT_TABLES.items():
        assert all(f"| `{c}` | `{ty}` |" in docs for c, ty in columns.items()), table


def test_build_refuses_a_warehouse_without_a_contract_column():
    import duckdb

    from pipeline.indicators.engine import check_inputs

    con = duckdb.connect()
    migrate(con)
    con.execute("alter table attendances drop column is_youth")
    with pytest.raises(SpscError, match="attendances lacks is_youth"):
        check_inputs(con)


# ------------------------------------------------------------------ age groups: the project's bands
def _age_groups(project, sql: str) -> list[tuple]:
    import duckdb

    from pipeline.warehouse.age_groups import create_age_group_macros

    con = duckdb.connect()
    create_age_group_macros(con, project)
    return con.execute(sql).fetchall()


def test_age_groups_come_from_the_project_bands_per_population(settings):
    rows = _age_groups(settings.project, """
        select age, attendance_age_group(age), age_group(age, form_population('spsc_citizen_survey')),
            age_group(age, form_population('spsc_youth_prepost'))
        from (values (12), (15), (19), (20), (30), (31), (64), (65), (null)) t(age)""")
    assert rows == [
        (12, None, None, None),  # in no band: left out of the breakdowns, kept in the totals
        (15, "15-19", None, "15-19"), (19, "15-19", "18-29", "15-19"), (20, "20-24", "18-29", "20-24"),
        (30, "25-30", "30-44", "25-30"),  # young at an activity: the youth band
        (31, "30-44", "30-44", None), (64, "45-64", "45-64", None), (65, "65+", "65+", None),
        (None, None, None, None)]


def test_age_groups_are_declared_once_and_checked(settings):
    import re
    from pathlib import Path

    from pipeline.project.config import ProjectError, parse_config

    text = (settings.project.root / "spsc.yml").read_text(encoding="utf-8")
    bad = text.replace("youth: [15-19, 20-24, 25-30]", "youth: [15-19, 19-24]")
    with pytest.raises(ProjectError, match="population 'youth': bands must rise without overlap"):
        parse_config(bad)
    bad = text.replace("age_groups: [youth, adults]", "age_groups: [young]")
    with pytest.raises(ProjectError, match=r"attendance\.age_groups names young, not a population"):
        parse_config(bad)
    form = settings.project.root / "forms" / "spsc_youth_prepost.yml"
    form.write_text(form.read_text(encoding="utf-8").replace("population: youth", "population: kids"),
                    encoding="utf-8")
    from pipeline.project import load_project

    with pytest.raises(ProjectError, match="field 'population': 'kids' is not a population"):
        _age_groups(load_project(settings.project.root), "select 1")
    # no model or module of the package writes an age band of its own
    root = Path(__file__).resolve().parents[1] / "pipeline"
    band = re.compile(r"'(1[58]-(17|19|29)|25-30|30-44|45-64|65\+)'")
    code = {p: re.sub(r"(--|#).*", "", p.read_text(encoding="utf-8"))  # comments may give examples
            for p in root.rglob("*") if p.suffix in (".py", ".sql", ".j2") and "synth" not in p.parts}
    found = [str(p.relative_to(root)) for p, text in code.items() if band.search(text)]
    assert found == []
