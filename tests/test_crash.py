"""Crash safety: ``spsc ingest attendance`` and ``spsc ingest survey`` killed with SIGKILL at
random moments.

A sign-in file of 1,500 people is ingested by the real command in a subprocess; the process
is killed after a delay drawn uniformly over the measured duration of a normal ingest (22
runs; then 10 runs of a survey export of 93 submissions). After each kill the warehouse must
open, pass ``spsc check`` (ledger, keys, orphans, no batch left 'loading', marts built from
what is loaded) and hold the whole file (the same rows, quarantine and marts as an
uninterrupted ingest) or none of it. Running the command again afterwards completes the load.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from adversarial.make_corpus import write_events, write_long_register
from helpers import project_settings

from pipeline.checks.integrity import check_warehouse

SPSC = Path(sys.executable).with_name("spsc")
RUNS = 22
PEOPLE = 1500


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    return write_events(folder / "events.xlsx"), write_long_register(folder / "long_2024Q2.xlsx",
                                                                      PEOPLE)


def _settings(home: Path, db: Path):
    return project_settings(home, db=db, secret_path=home / "secret.key")


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(settings.db),
               SPSC_SECRET=str(settings.secret_path))
    return env


def _state(db: Path) -> dict:
    """What the test compares: the attendance batch and what was written from it."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        report = check_warehouse(con)
        batches = con.execute(
            "select status, rows_read, rows_loaded, rows_quarantined, rows_blank from load_batches"
            " where kind = 'attendance' order by batch_id").fetchall()
        counts = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
                  for t in ("raw_signins", "quarantine", "person_registry", "person_signatures",
                            "attendances", "participants")}
    finally:
        con.close()
    return {"problems": report.problems, "batches": batches, "counts": counts}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A warehouse with the events list loaded, the register, and a normal ingest's outcome."""
    from pipeline.ingest.events import ingest_events
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("crash")
    events, register = _write_inputs(home)
    settings = _settings(home, home / "base.duckdb")
    init_warehouse(settings)
    ingest_events(settings, events)
    normal = _settings(home, home / "normal.duckdb")
    shutil.copy2(settings.db, normal.db)
    durations = []
    for _ in range(2):  # the second run measures a warm machine (the first loads it)
        if normal.db.exists():
            normal.db.unlink()
        shutil.copy2(settings.db, normal.db)
        started = time.perf_counter()
        subprocess.run([str(SPSC), "ingest", "attendance", str(register)], env=_env(normal),
                       check=True, capture_output=True, timeout=120)
        durations.append(time.perf_counter() - started)
    return settings, register, durations[-1], _state(normal.db)


def test_sigkill_at_random_moments_leaves_the_whole_file_or_none(base, tmp_path):
    settings, register, duration, whole = base
    assert whole["problems"] == [] and len(whole["batches"]) == 1
    assert whole["counts"]["raw_signins"] == whole["batches"][0][2] > PEOPLE * 0.8
    empty = _state(settings.db)
    rng = random.Random(20240917)
    outcomes = {"none": 0, "whole": 0}
    killed_running = 0
    started = time.perf_counter()
    for run in range(RUNS):
        db = tmp_path / f"run{run}.duckdb"
        shutil.copy2(settings.db, db)
        target = _settings(settings.home, db)
        proc = subprocess.Popen([str(SPSC), "ingest", "attendance", str(register)],
                                env=_env(target), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration))
        if proc.poll() is None:
            killed_running += 1
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = _state(db)
        assert state["problems"] == [], f"run {run}: {state['problems']}"
        if state["batches"]:
            assert state == whole, f"run {run}: a partial load"
            outcomes["whole"] += 1
        else:
            assert state == empty, f"run {run}: rows without their batch"
            outcomes["none"] += 1
    assert killed_running >= RUNS // 2
    print(f"{RUNS} kills over {duration:.2f} s: {outcomes}, {killed_running} while running,"
          f" {time.perf_counter() - started:.0f} s")
    db = tmp_path / "run0.duckdb"
    done = subprocess.run([str(SPSC), "check"], env=_env(_settings(settings.home, db)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "checks passed" in done.stdout, done.stdout + done.stderr
    again = subprocess.run([str(SPSC), "ingest", "attendance", str(register)],
                           env=_env(_settings(settings.home, db)), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert _state(db) == whole


def test_a_load_committed_before_its_marts_were_rebuilt_is_reported_and_healed(base, tmp_path):
    """The marts of an interrupted multi-file ingest are stale: check says so, and running the
    command again (every file already loaded) rebuilds them."""
    from pipeline.ingest.attendance import load_register
    from pipeline.warehouse import connect
    from pipeline.warehouse.setup import bound_secret

    settings, register, _, whole = base
    db = tmp_path / "stale.duckdb"
    shutil.copy2(settings.db, db)
    target = _settings(settings.home, db)
    con = connect(db)
    try:
        load_register(con, register, bound_secret(target, con))  # committed, marts not rebuilt
    finally:
        con.close()
    problems = _state(db)["problems"]
    assert len(problems) == 1 and problems[0].startswith("attendance marts: not built from")
    done = subprocess.run([str(SPSC), "check"], env=_env(target), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "problem: attendance marts" in done.stdout
    assert done.stderr.strip().startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    again = subprocess.run([str(SPSC), "ingest", "attendance", str(register)], env=_env(target),
                           capture_output=True, text=True, timeout=120)
    assert "already loaded" in again.stdout
    assert _state(db) == whole


SURVEY_RUNS = 10
SURVEY_TABLES = ("stg_survey__submissions", "stg_survey__answers", "stg_codebook__questions",
                 "quarantine", "survey_replacements")


def _survey_state(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        report = check_warehouse(con)
        batches = con.execute(
            "select status, rows_read, rows_loaded, rows_quarantined, rows_blank from load_batches"
            " where kind = 'survey' order by batch_id").fetchall()
        counts = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
                  for t in SURVEY_TABLES}
    finally:
        con.close()
    return {"problems": report.problems, "batches": batches, "counts": counts}


@pytest.fixture(scope="module")
def survey_base(tmp_path_factory):
    """A warehouse holding the citizen survey's form, an export, and a normal ingest's outcome."""
    from pipeline.ingest.survey import ingest_survey
    from pipeline.synth import generate
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("crash_survey")
    generate(home / "sample", respondents=10)
    form = home / "sample" / "survey" / "citizen_survey_form.xlsx"
    export = home / "sample" / "survey" / "citizen_survey_2023Q1.xlsx"
    settings = _settings(home, home / "base.duckdb")
    init_warehouse(settings)
    ingest_survey(settings, [], form=form)
    args = ["ingest", "survey", str(export), "--form", str(form), "--wave", "2023Q1"]
    normal = _settings(home, home / "normal.duckdb")
    durations = []
    for _ in range(2):
        shutil.copy2(settings.db, normal.db)
        started = time.perf_counter()
        subprocess.run([str(SPSC), *args], env=_env(normal), check=True, capture_output=True,
                       timeout=120)
        durations.append(time.perf_counter() - started)
    return settings, args, durations[-1], _survey_state(normal.db)


def test_sigkill_during_a_survey_ingest_leaves_the_whole_export_or_none(survey_base, tmp_path):
    settings, args, duration, whole = survey_base
    assert whole["problems"] == [] and [b[0] for b in whole["batches"]] == ["loaded"]
    assert whole["counts"]["stg_survey__submissions"] > 80
    empty = _survey_state(settings.db)
    rng = random.Random(4)
    for run in range(SURVEY_RUNS):
        db = tmp_path / f"run{run}.duckdb"
        shutil.copy2(settings.db, db)
        proc = subprocess.Popen([str(SPSC), *args], env=_env(_settings(settings.home, db)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = _survey_state(db)
        assert state["problems"] == [], f"run {run}: {state['problems']}"
        assert state in (empty, whole), f"run {run}: a partial load: {state}"
