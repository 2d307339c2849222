"""Crash safety: a load killed with SIGKILL inside it leaves the whole file or none of it.

Each load runs in a child forked from this process after a clean load ran here (imports
done and caches warm, so no kill is spent on interpreter start-up). The child listens to the load's own progress
(:mod:`pipeline.warehouse.progress`: the transaction's begin and commit, the batch opened
and closed, each table written, the marts, the read copy checkpointed, written, published)
and kills itself with SIGKILL at a chosen step, or a drawn delay after it. A normal load,
run in this process with a listener that notes the steps, gives them and the clean outcome.

For at least :data:`KILLS` kills per ingest kind (sign-in sheets, a survey export), the test
asserts that the warehouse passes the integrity checks and holds exactly what it held before
the load or exactly what a clean load leaves (every table's rows, load times aside); then
that running the load again succeeds and leaves exactly what a clean load leaves.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from adversarial.make_corpus import write_events, write_long_register
from helpers import project_settings

from pipeline.checks.integrity import check_warehouse
from pipeline.warehouse.progress import on_step

KILLS = 20  # per ingest kind
CHAIN = 4  # kills in a row on one warehouse before a load runs to its end
PEOPLE = 400
SPSC_CHECK = Path(sys.executable).with_name("spsc")


def _settings(home: Path, db: Path):
    return project_settings(home, db=db, secret_path=home / "secret.key")


def _in_child(load: Callable[[], object], listener: Callable[[str], None] | None,
              log: Path) -> int:
    """Run ``load`` in a forked child (``listener`` on its progress); returns the wait status.

    The child writes a traceback to ``log`` when the load raises, and never returns into
    pytest (``os._exit``)."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 70
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            if listener is not None:
                on_step(listener)
            load()
            code = 0
        except BaseException:
            log.write_text(traceback.format_exc(), encoding="utf-8")
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _ok(status: int, log: Path) -> None:
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (
        log.read_text(encoding="utf-8") if log.exists() else f"wait status {status}")


def _killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def _trace(load: Callable[[], object]) -> list[tuple[str, float]]:
    """Run a normal load here, in this process (so that the children forked later find every
    import and cache warm); returns its steps and when each came (seconds from the first)."""
    seen: list[tuple[str, float]] = []
    stop = on_step(lambda name: seen.append((name, time.perf_counter())))
    try:
        load()
    finally:
        stop()
    return [(name, t - seen[0][1]) for name, t in seen]


def _killer(name: str, nth: int, delay: float) -> Callable[[str], None]:
    """SIGKILL this process at the ``nth`` step called ``name`` (0 = the first), or ``delay``
    seconds after it."""
    seen = [0]

    def listener(step: str) -> None:
        if step != name:
            return
        if seen[0] == nth:
            if delay <= 0:
                os.kill(os.getpid(), signal.SIGKILL)
            timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL))
            timer.daemon = True
            timer.start()
        seen[0] += 1

    return listener


def _copy(base_db: Path, db: Path) -> None:
    """The warehouse and its published read copy (a warehouse in use has one)."""
    from pipeline.warehouse import published_path

    shutil.copy2(base_db, db)
    shutil.copy2(published_path(base_db), published_path(db))


def _contents(db: Path, kind: str) -> dict:
    """The integrity problems and every table's rows (count and order-free hash), without the
    columns that record when (a second load at another moment writes other times)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        problems = check_warehouse(con).problems
        columns: dict[str, list[str]] = {}
        for table, column, kind_ in con.execute(
                "select c.table_name, c.column_name, c.data_type from information_schema.columns c"
                " join information_schema.tables t using (table_schema, table_name)"
                " where c.table_schema = 'main' and t.table_type = 'BASE TABLE'"
                " order by c.table_name, c.ordinal_position").fetchall():
            if not (kind_.startswith("TIMESTAMP") or (kind_ == "DATE" and column.endswith("_at"))):
                columns.setdefault(table, []).append(f'"{column}"')
        tables = {}
        for table, cols in columns.items():
            tables[table] = con.execute(
                f"select count(*), coalesce(sum(hash(row({', '.join(cols)})::varchar)::hugeint), 0)"
                f' from "{table}"').fetchall()[0]
        batches = con.execute("select status from load_batches where kind = ? order by batch_id",
                              [kind]).fetchall()
    finally:
        con.close()
    return {"problems": problems, "batches": [b[0] for b in batches], "tables": tables}


def _plan(steps: list[tuple[str, float]], rng: random.Random) -> list[tuple[int, float]]:
    """Kill points: every step at once (in a drawn order), then drawn steps each after a delay
    drawn within the time to its next step (so the kill lands before the load moves on,
    mostly), and spares for delays that outlive the load."""
    at_once = [(i, 0.0) for i in range(len(steps))]
    rng.shuffle(at_once)
    gaps = [(i, steps[i + 1][1] - steps[i][1]) for i in range(len(steps) - 1)]
    later = []
    for _ in range(3 * KILLS):
        i, gap = rng.choice(gaps)
        later.append((i, rng.uniform(0.0, gap)))
    return at_once + later


def _kill_loads(base_db: Path, load_on: Callable[[Path], Callable[[], object]], kind: str,
                tmp: Path, seed: int) -> dict:
    """Kill loads of ``kind`` at the planned points until :data:`KILLS` kills landed.

    After every kill the warehouse must hold exactly what it held before the load or exactly
    what a clean load leaves. The load is then run again on that warehouse, with whatever the
    kill left on disk (a write-ahead log, a half-written read copy, the dead writer's lock
    record): after a kill that left the whole file, that run must succeed and change nothing;
    after one that left none of it, that run is the next kill's load, and so on for up to
    :data:`CHAIN` kills in a row, after which it runs to the end and must equal a clean load.
    """
    before = _contents(base_db, kind)
    assert before["problems"] == []
    clean_db = tmp / "clean.duckdb"
    _copy(base_db, clean_db)
    steps = _trace(load_on(clean_db))
    whole = _contents(clean_db, kind)
    assert whole["problems"] == [] and whole["batches"] == ["loaded"]
    assert whole != before
    names = [name for name, _ in steps]
    keys = [(name, names[:i].count(name)) for i, name in enumerate(names)]  # (step, nth)
    for expected in ("begin", "batch started", "batch finished", "commit", "committed",
                     "read copy published"):
        assert expected in names, names
    outcomes = {"none": 0, "whole": 0, "completed after kills": 0}
    kills, points, chain, db = 0, set(), 0, None
    log = tmp / "run.log"

    def run_to_the_end(db: Path, where: str) -> None:
        _ok(_in_child(load_on(db), None, log), log)
        assert _contents(db, kind) == whole, f"{where}: the load run again differs from a clean one"

    for run, (at, delay) in enumerate(_plan(steps, random.Random(seed))):
        if kills >= KILLS and len(points) == len(steps):
            break
        if db is None:
            db, chain = tmp / f"run{run}.duckdb", 0
            _copy(base_db, db)
        status = _in_child(load_on(db), _killer(*keys[at], delay), log)
        if _killed(status):
            kills += 1
            points.add(keys[at])
        else:
            _ok(status, log)  # the delay outlived the load: it finished normally
        state = _contents(db, kind)
        where = f"run {run}: killed {delay:.3f} s after step {keys[at]}"
        assert state["problems"] == [], f"{where}: {state['problems']}"
        if state == before:
            outcomes["none"] += 1
            chain += 1
            if chain < CHAIN:
                continue  # the next kill's load runs on this warehouse
            run_to_the_end(db, where)
            outcomes["completed after kills"] += 1
        else:
            assert state == whole, f"{where}: neither the warehouse before nor after the load"
            outcomes["whole"] += 1
            run_to_the_end(db, where)  # already loaded: nothing changes
        db = None
    if db is not None:
        run_to_the_end(db, "the last chain")
        outcomes["completed after kills"] += 1
    assert kills >= KILLS, f"only {kills} kills landed inside the load"
    assert points == set(keys), f"steps never killed at: {set(keys) - points}"
    assert outcomes["none"] and outcomes["whole"] and outcomes["completed after kills"], outcomes
    return {"kills": kills, "steps": names, **outcomes}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A warehouse with the events list loaded, and a register of PEOPLE sign-ins."""
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("crash")
    events = write_events(home / "events.xlsx")
    register = write_long_register(home / "long_2024Q2.xlsx", PEOPLE)
    settings = _settings(home, home / "base.duckdb")
    init_warehouse(settings)
    ingest_events(settings, events)
    return settings, register


def _attendance_load(settings, register: Path) -> Callable[[Path], Callable[[], object]]:
    from pipeline.ingest.attendance.load import ingest_attendance

    def on(db: Path) -> Callable[[], object]:
        return lambda: ingest_attendance(_settings(settings.home, db), [register])

    return on


def test_sigkill_inside_an_attendance_load_leaves_the_whole_file_or_none(base, tmp_path):
    settings, register = base
    done = _kill_loads(settings.db, _attendance_load(settings, register),
                       "attendance", tmp_path, seed=20240917)
    for step in ("signins inserted", "persons registered", "attendance marts built"):
        assert step in done["steps"]
    print(f"attendance: {done}")


def test_a_load_committed_before_its_marts_were_rebuilt_is_reported_and_healed(base, tmp_path):
    """The marts of an interrupted multi-file ingest are stale: check says so, and running the
    command again (every file already loaded) rebuilds them."""
    import subprocess

    from pipeline.ingest.attendance.load import ingest_attendance, load_register
    from pipeline.warehouse import connect
    from pipeline.warehouse.setup import bound_secret

    settings, register = base
    clean = _settings(settings.home, tmp_path / "clean.duckdb")
    shutil.copy2(settings.db, clean.db)
    ingest_attendance(clean, [register])
    whole = _contents(clean.db, "attendance")
    db = tmp_path / "stale.duckdb"
    shutil.copy2(settings.db, db)
    target = _settings(settings.home, db)
    con = connect(db)
    try:
        load_register(con, register, bound_secret(target, con))  # committed, marts not rebuilt
    finally:
        con.close()
    problems = _contents(db, "attendance")["problems"]
    assert len(problems) == 1 and problems[0].startswith("attendance marts: not built from")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(db), SPSC_SECRET=str(settings.secret_path))
    done = subprocess.run([str(SPSC_CHECK), "check"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "problem: attendance marts" in done.stdout
    assert done.stderr.strip().startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    again = ingest_attendance(target, [register])
    assert again[0].skipped
    assert _contents(db, "attendance") == whole


@pytest.fixture(scope="module")
def survey_base(tmp_path_factory):
    """A warehouse holding the citizen survey's form, and an export of it."""
    from pipeline.ingest.survey.load import ingest_survey
    from pipeline.synth import generate
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("crash_survey")
    generate(home / "sample", respondents=10)
    form = home / "sample" / "survey" / "citizen_survey_form.xlsx"
    export = home / "sample" / "survey" / "citizen_survey_2023Q1.xlsx"
    settings = _settings(home, home / "base.duckdb")
    init_warehouse(settings)
    ingest_survey(settings, [], form=form)
    return settings, export, form


def test_sigkill_inside_a_survey_load_leaves_the_whole_export_or_none(survey_base, tmp_path):
    from pipeline.ingest.survey.load import ingest_survey

    settings, export, form = survey_base

    def on(db: Path) -> Callable[[], object]:
        return lambda: ingest_survey(_settings(settings.home, db), [export], form=form,
                                     wave="2023Q1")

    done = _kill_loads(settings.db, on, "survey", tmp_path, seed=4)
    for step in ("export typed and checked", "submissions stored", "survey marts built"):
        assert step in done["steps"]
    print(f"survey: {done}")
