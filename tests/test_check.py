"""``spsc check``: the integrity check finds each kind of damage, one line per problem.

A small healthy warehouse (events list, one sign-in sheet, the indicators built, a
snapshot) passes; copies of it damaged in one way each must fail with the expected line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from adversarial.make_corpus import signin_rows, write_events, write_openpyxl
from helpers import project_settings

from pipeline.checks.integrity import check_warehouse, fingerprint

SPSC = Path(sys.executable).with_name("spsc")


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    from pipeline.checks.snapshots import snapshot_period
    from pipeline.indicators.engine import build
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.ingest.attendance.load import ingest_attendance
    from pipeline.warehouse import connect
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("check")
    settings = project_settings(home, db=home / "w.duckdb", secret_path=home / "secret.key")
    init_warehouse(settings)
    ingest_events(settings, write_events(home / "events.xlsx"))
    ingest_attendance(settings, [write_openpyxl(home / "drvar_2024Q1.xlsx",
                                                {"EV-0001": signin_rows()})])
    build(settings)
    con = connect(settings.db)
    try:
        snapshot_period(con, "2024Q1", "test", settings=settings)
    finally:
        con.close()
    return settings


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(settings.db),
               SPSC_SECRET=str(settings.secret_path))
    return env


def _problems(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return check_warehouse(con).problems
    finally:
        con.close()


def test_a_healthy_warehouse_passes(healthy):
    assert _problems(healthy.db) == []
    done = subprocess.run([str(SPSC), "check"], env=_env(healthy), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("checks passed")
    assert done.stdout.strip().startswith(f"warehouse {healthy.db}: ")


DAMAGE = {
    "interrupted load": (
        "update load_batches set status = 'loading' where kind = 'attendance'",
        "load_batches: 1 batches left in status 'loading' (an interrupted load): (2, 'drvar_2024Q1.xlsx')"),
    "unknown status": (
        "update load_batches set status = 'half' where kind = 'events'",
        "load_batches: 1 batches with an unknown status: (1, 'half')"),
    "ledger off": (
        "update load_batches set rows_read = rows_read + 1 where kind = 'attendance'",
        "load_batches: 1 loaded batches whose rows read != loaded + quarantined + blank:"
        " (2, 'drvar_2024Q1.xlsx')"),
    "sign-in lost": (
        "delete from raw_signins where source_row = (select min(source_row) from raw_signins)",
        "raw_signins: 1 attendance batches whose sign-ins present differ from rows_loaded"
        " (batch, ledger, present): (2, 5, 4)"),
    "event lost": (
        "delete from raw_events where event_id = 'EV-0002'",
        "raw_events: 1 events batches whose events present differ from rows_loaded"
        " (batch, ledger, present): (1, 2, 1)"),
    "orphan quarantine": (
        "insert into quarantine values (99, 'x.xlsx', 's', 3, 'c', 'v', 'r', 'why', 'row')",
        "quarantine: rows of 1 batches that are not loaded (orphans; batch, rows): (99, 1)"),
    "quarantine count": (
        "insert into quarantine values (2, 'x.xlsx', 'EV-0001', 3, 'c', 'v', 'r', 'why', 'row')",
        "quarantine: 1 batches whose quarantined rows present differ from rows_quarantined"
        " (batch, ledger, present): (2, 0, 1)"),
    "participant lost": (
        "delete from participants where person_key = (select min(person_key) from participants)",
        "attendances: 1 person keys not in participants: "),
    "event of attendances lost": (
        "delete from events where event_id = 'EV-0001'",
        "attendances: 1 event ids not in events: EV-0001"),
    "respondent without submission": (
        "insert into respondents (submission_id, respondent_key, form_id, wave)"
        " values (999, 'r1', 'spsc_citizen_survey', '2024Q1')",
        "respondents: 1 without a current submission (run 'spsc build'): ('r1', '2024Q1', 'spsc_citizen_survey')"),
    "indicator batch unknown": (
        "update indicator_values set batch_ids = [77] where indicator_id = 'unique_youth'"
        " and period = 'cumulative' and dimension = 'total'",
        "indicator_values: 1 batch ids not in load_batches: 77"),
    "snapshot batch unknown": (
        "update indicator_snapshots set batch_ids = [78] where indicator_id = 'unique_youth'"
        " and period = 'cumulative' and dimension = 'total'",
        "indicator_snapshots: 1 batch ids not in load_batches: 78"),
    "snapshot header lost": (
        "delete from period_snapshots",
        "indicator_snapshots: 1 cells of snapshots not in period_snapshots: 1"),
    "person twice": (
        "insert into participants select * from participants limit 1",
        "marts: 1 keys held twice (table, key): ('participants', "),
    "indicator cell twice": (
        "insert into indicator_values select * from indicator_values limit 1",
        "indicator_values: 1 cells held twice: "),
    "marts stale": (
        "update warehouse_meta set value = 'x' where key = 'attendance_marts_source'",
        "attendance marts: not built from the batches loaded now"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_each_kind_of_damage_is_found(damage, healthy, tmp_path):
    sql, expected = DAMAGE[damage]
    db = tmp_path / "w.duckdb"
    shutil.copy2(healthy.db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute(sql)
    finally:
        con.close()
    problems = _problems(db)
    assert [p for p in problems if p.startswith(expected)], problems


def test_check_prints_one_line_per_problem_and_fails(healthy, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy2(healthy.db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute(DAMAGE["sign-in lost"][0])
        con.execute(DAMAGE["orphan quarantine"][0])
        before = fingerprint(con)
    finally:
        con.close()
    done = subprocess.run([str(SPSC), "check"], env=_env(healthy.with_(db=db)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    problems = [line for line in done.stdout.splitlines() if line.startswith("problem: ")]
    assert len(problems) == len(_problems(db)) >= 2
    assert done.stderr.strip() == f"error: {db}: {len(problems)} integrity problems; see the lines above"
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert fingerprint(con) == before  # the check only reads
    finally:
        con.close()
