"""Concurrent use of one warehouse by real processes.

DuckDB lets one process write, or several read, at a time. What the pipeline promises:

- readers (reports, notebooks, ``spsc status``) open the published read copy: while an
  ingest writes they read the copy published before it, at once, and never hold it up (see
  also ``test_publish.py``);
- a process that opens the warehouse file itself read-only while an ingest writes (``spsc
  check``, a DuckDB shell) gets a consistent view (before or after the load, never half of
  it) or, at once when it does not wait, the one-line "warehouse is busy ... retry" message;
  nothing hangs;
- two ingests at once: the second waits for the first (up to ``SPSC_WRITE_WAIT`` seconds),
  saying whom it waits for, and loads after the first finished (asserted by the order of
  events: the first is held inside its transaction until the second says it waits); when a process outside the writers' queue keeps the warehouse file itself
  open longer, the ingest fails with one line naming it, and changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from adversarial.make_corpus import write_events, write_long_register
from helpers import project_settings

from pipeline.checks.integrity import check_warehouse, fingerprint
from pipeline.errors import WarehouseBusy
from pipeline.warehouse import connect

SPSC = Path(sys.executable).with_name("spsc")


WAIT = 3  # seconds an ingest here waits for the warehouse (SPSC_WRITE_WAIT)


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(settings.db),
               SPSC_SECRET=str(settings.secret_path), SPSC_WRITE_WAIT=str(WAIT))
    return env


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.warehouse.setup import init_warehouse

    home = tmp_path_factory.mktemp("concurrency")
    settings = project_settings(home, db=home / "base.duckdb", secret_path=home / "secret.key")
    init_warehouse(settings)
    ingest_events(settings, write_events(home / "events.xlsx"))
    big = write_long_register(home / "big_2024Q1.xlsx", 1500, seed=1)
    small = write_long_register(home / "small_2024Q2.xlsx", 40, seed=2)
    return settings, big, small


def _copy(base_settings, tmp_path: Path):
    settings = project_settings(base_settings.home, db=tmp_path / "w.duckdb",
                            secret_path=base_settings.secret_path)
    shutil.copy2(base_settings.db, settings.db)
    return settings


def _wait_for_lock(db: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Return once another process holds the warehouse; fail clearly when the process ended
    first or the lock was not seen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            connect(db, read_only=True).close()
        except WarehouseBusy:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{proc.args}: never seen holding {db} in {timeout:.0f} s")
        time.sleep(0.02)
    raise AssertionError(f"{proc.args}: ended (exit {proc.returncode}) before it was seen"
                         f" holding {db}")


class _HeldLoad:
    """An attendance load in a child forked from this process (imports done), stopped at a
    step of its own progress until :meth:`release`: the test knows the writer holds the
    warehouse at that step, by order of events, not by waiting some time."""

    def __init__(self, settings, register: Path, at: str):
        from pipeline.ingest.attendance.load import ingest_attendance
        from pipeline.warehouse.progress import on_step

        r_held, w_held = os.pipe()
        r_go, w_go = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: load, stopping once at ``at``
            code = 70
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                os.close(r_held)
                os.close(w_go)

                def hold(name: str) -> None:
                    if name == at:
                        os.write(w_held, b"x")
                        os.read(r_go, 1)

                on_step(hold)
                ingest_attendance(settings, [register])
                code = 0
            finally:
                os._exit(code)
        os.close(w_held)
        os.close(r_go)
        self.pid, self._go = pid, w_go
        held = os.read(r_held, 1)  # blocks until the child reached the step (b"" if it died)
        os.close(r_held)
        if held != b"x":
            self.release()
            raise AssertionError(f"the load ended before its step {at!r}")

    def release(self) -> int:
        """Let the load go on; returns its exit code once it finished."""
        with contextlib.suppress(BrokenPipeError):  # it ended already
            os.write(self._go, b"x")
        os.close(self._go)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def _consistent(con) -> None:
    report = check_warehouse(con)
    assert report.problems == []
    ledger = con.execute("select coalesce(sum(rows_loaded), 0) from load_batches"
                         " where kind = 'attendance' and status = 'loaded'").fetchall()[0][0]
    assert con.execute("select count(*) from raw_signins").fetchall()[0][0] == ledger


def test_readers_during_an_ingest_see_before_or_after_or_are_told_to_retry(base, tmp_path):
    settings = _copy(base[0], tmp_path)
    writer = subprocess.Popen([str(SPSC), "ingest", "attendance", str(base[1])],
                              env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    _wait_for_lock(settings.db, writer)
    busy, seen, during = [], set(), 0
    while writer.poll() is None:
        try:
            con = connect(settings.db, read_only=True)
        except WarehouseBusy as exc:
            busy.append(str(exc))
        else:
            try:
                _consistent(con)
                seen.add(con.execute("select count(*) from raw_signins").fetchall()[0][0])
            finally:
                con.close()
        during += writer.poll() is None  # answered (or refused) while the writer still ran
        time.sleep(0.1)
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert busy, "the writer held the warehouse, so some reads must have been refused"
    assert during, "no reader was answered before the writer finished: readers waited"
    assert all(m.endswith("retry when it finishes") and "warehouse is busy" in m for m in busy)
    assert all("\n" not in m for m in busy)
    con = connect(settings.db, read_only=True)
    try:
        _consistent(con)
        after = con.execute("select count(*) from raw_signins").fetchall()[0][0]
    finally:
        con.close()
    assert seen <= {0, after}  # before the load or after it, never a part of it
    assert after > 1000


def test_a_report_reader_opens_at_once_and_sees_the_copy_published_before_the_load(base, tmp_path):
    """Reports open the published copy: no wait, no error, the state before the load (the
    writer publishes the new state when it finishes). The writer is held inside its load's
    transaction, its sign-ins written, while the reader reads."""
    from pipeline.reports.data import open_warehouse

    settings = _copy(base[0], tmp_path)
    con = open_warehouse(settings.db)  # publishes the copied warehouse's first read copy
    con.close()
    writer = _HeldLoad(settings, base[1], at="signins inserted")
    try:
        con = open_warehouse(settings.db)
        try:
            _consistent(con)
            seen = con.execute("select count(*) from raw_signins").fetchall()[0][0]
        finally:
            con.close()
    finally:
        assert writer.release() == 0
    con = open_warehouse(settings.db)
    try:
        _consistent(con)
        after = con.execute("select count(*) from raw_signins").fetchall()[0][0]
    finally:
        con.close()
    assert seen == 0 and after > 1000


def test_two_ingests_at_once_the_second_waits_then_loads(base, tmp_path):
    """The first ingest is held inside its transaction; the second, a real ``spsc`` process,
    says it waits for that writer (naming its PID); only then is the first let go. Both load,
    the second after the first (by the ledger)."""
    settings = _copy(base[0], tmp_path)
    first = _HeldLoad(settings, base[1], at="signins inserted")
    try:
        env = _env(settings) | {"SPSC_WRITE_WAIT": "600"}
        second = subprocess.Popen([str(SPSC), "ingest", "attendance", str(base[2])], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = second.stderr.readline()  # blocks until the second says it waits
    finally:
        first_code = first.release()
    _, err = second.communicate(timeout=300)
    assert first_code == 0
    assert second.returncode == 0, waiting + err
    assert waiting.startswith("waiting for the warehouse: ") and "is writing" in waiting, waiting
    assert f"(PID {first.pid})" in waiting
    con = connect(settings.db, read_only=True)
    try:
        _consistent(con)
        loaded = con.execute("select file_name, rows_read, rows_loaded + rows_quarantined"
                             " + rows_blank, started_at, finished_at from load_batches"
                             " where kind = 'attendance' order by batch_id").fetchall()
    finally:
        con.close()
    assert [r[0] for r in loaded] == [base[1].name, base[2].name]
    assert all(r[1] == r[2] for r in loaded)
    assert loaded[1][3] >= loaded[0][4]  # the second began its load after the first finished


def test_an_ingest_fails_clearly_while_another_process_holds_the_warehouse_file(base, tmp_path):
    """Outside the writers' queue (a DuckDB shell, an old notebook opening the warehouse file
    itself): the ingest waits SPSC_WRITE_WAIT with a progress line, then fails in one line."""
    settings = _copy(base[0], tmp_path)
    other = duckdb.connect(str(settings.db), read_only=True)  # left open, as kernels do
    try:
        before = fingerprint(other)
        done = subprocess.run([str(SPSC), "ingest", "attendance", str(base[2])],
                              env=_env(settings), capture_output=True, text=True, timeout=120)
    finally:
        other.close()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    *progress, error = done.stderr.strip().splitlines()
    assert progress and all(line.startswith("waiting for the warehouse: ") for line in progress)
    assert f"PID {os.getpid()} has it open outside the writers' queue" in progress[0]
    assert error.startswith(f"error: {settings.db}: warehouse is busy (held by ")
    assert f"PID {os.getpid()}" in error and error.endswith("retry when it finishes")
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        assert fingerprint(con) == before
    finally:
        con.close()
