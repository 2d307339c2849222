"""Readers never block the pipeline, and the pipeline never blocks readers.

Writers open the warehouse one at a time and end by publishing a read copy beside it
(``spsc.read.duckdb``); notebooks, reports, ``spsc status`` and the other readers open the
copy. Proved with real processes, real kernels and real DuckDB files:

- ``explore.ipynb`` executed in a live Jupyter kernel keeps its connection open while
  ``spsc ingest survey`` and ``spsc build`` run and succeed; the kernel keeps its view until it
  reconnects, then sees the new wave;
- ``spsc report`` runs while the ingest of a large export (28,000 submissions) is in
  progress and reports the numbers published before it. The ingest is paused (SIGSTOP) once
  it holds the warehouse, so that it is certainly in progress for the whole report on any
  machine; it then resumes and finishes;
- a writer killed (SIGKILL) while publishing leaves the previous copy, whole and consistent;
  readers still open it and are told the warehouse has unpublished work; the next writer
  clears the killed writer's lock and publishes;
- a second writer waits for the first with a progress line, or gives up after the configured
  time with one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from adversarial.demo import demo_copy
from adversarial.make_corpus import write_events

from pipeline.checks.integrity import check_warehouse, fingerprint
from pipeline.checks.snapshots import current_values
from pipeline.warehouse import connect, freshness, open_published, published_path
from pipeline.warehouse.publish import TMP_MARK, read_publication
from pipeline.warehouse.writer_lock import current_writer, lock_path, read_holder

SPSC = Path(sys.executable).with_name("spsc")
PYTHON = sys.executable
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PERIOD = "2024Q4"
NEW_WAVE = "2025Q1"


def _env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(settings.db),
               SPSC_SECRET=str(settings.secret_path), SPSC_REPORTS=str(settings.reports_dir),
               **extra)
    return env


def _spsc(settings, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SPSC), *args], env=_env(settings, **extra), capture_output=True,
                          text=True, timeout=600)


def _copy_state(settings) -> tuple[dict, tuple[int, ...]]:
    """The read copy as a new reader sees it: every table's fingerprint and the batches."""
    con = open_published(settings.db)
    try:
        assert check_warehouse(con).problems == []
        prints = {k: v for k, v in fingerprint(con).items() if k != "publication"}
        batches = tuple(r[0] for r in con.execute(
            "select batch_id from load_batches where status = 'loaded' order by 1").fetchall())
    finally:
        con.close()
    return prints, batches


@pytest.fixture(scope="module")
def big_export(tmp_path_factory) -> Path:
    """A large citizen-survey export (3,000 respondents per municipality: 28,000 rows)."""
    from pipeline.synth import generate

    folder = tmp_path_factory.mktemp("big_export")
    generate(folder, seed=11, respondents=3000, fmt="csv")
    path = folder / "survey" / f"citizen_survey_{NEW_WAVE}.csv"
    (folder / "survey" / "citizen_survey_2024Q4.csv").rename(path)
    return path


def _ingest_args(settings, export: Path) -> list[str]:
    form = settings.raw_dir / "sample" / "survey" / "citizen_survey_form.xlsx"
    return ["ingest", "survey", str(export), "--form", str(form), "--wave", NEW_WAVE]


def _wait_until(condition, proc: subprocess.Popen | None = None, timeout: float = 300,
                poll: float = 0.02) -> bool:
    """Wait for ``condition``; ``False`` when ``proc`` ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(poll)
    return True


# ---------------------------------------------------------------------------- publishing
def test_writes_publish_and_a_write_that_changes_nothing_does_not(warehouse, tmp_path):
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.warehouse.setup import init_warehouse

    read = published_path(warehouse.db)
    assert read == warehouse.db.with_name("spsc.read.duckdb")
    first = read_publication(read)  # spsc init published the empty warehouse
    assert first is not None and first.batch_ids == () and first.built_at is None

    ingest_events(warehouse, write_events(tmp_path / "events.xlsx"))
    second = read_publication(read)
    assert second.batch_ids == (1,) and second.published_at > first.published_at
    con = open_published(warehouse.db)
    try:
        assert con.execute("select count(*) from raw_events").fetchall()[0][0] == 2
        fresh = freshness(warehouse.db, con)
    finally:
        con.close()
    assert fresh.warning() is None and fresh.writer is None and not fresh.unpublished
    assert "1 load batch (1), no indicator build" in fresh.summary()

    init_warehouse(warehouse)  # opens for writing, changes nothing: the copy stays as it is
    assert read_publication(read) == second
    assert not list(read.parent.glob(f"*{TMP_MARK}*"))


def test_a_reader_keeps_its_copy_while_a_writer_publishes(warehouse, tmp_path):
    """On Linux the renamed-over copy lives on while a reader has it open."""
    reader = open_published(warehouse.db)
    try:
        before = fingerprint(reader)
        done = _spsc(warehouse, "ingest", "events", str(write_events(tmp_path / "events.xlsx")),
                     SPSC_WRITE_WAIT="0")  # a reader never holds up a writer: no wait needed
        assert done.returncode == 0, done.stderr
        assert "waiting" not in done.stderr
        assert fingerprint(reader) == before  # the old copy, whole
        assert reader.execute("select count(*) from load_batches").fetchall()[0][0] == 0
        assert "reconnect" in freshness(warehouse.db, reader).warning()
        again = open_published(warehouse.db)  # reconnecting, even in the same process
        try:
            assert again.execute("select count(*) from load_batches").fetchall()[0][0] == 1
        finally:
            again.close()
    finally:
        reader.close()


# ---------------------------------------------------------------------------- explore.ipynb
def test_explore_notebook_open_in_a_live_kernel_while_ingest_and_build_run(tmp_path, big_export,
                                                                          monkeypatch):
    from nbclient import NotebookClient

    settings = demo_copy(tmp_path)
    for var in [v for v in os.environ if v.startswith("SPSC_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SPSC_HOME", str(settings.home))
    nb = nbformat.read(NOTEBOOKS / "explore.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = params.source.replace('warehouse: str = ""', f'warehouse: str = "{settings.db}"')
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert nb.cells[code[-1]].source.strip() == "con.close()"

    def run(client, source: str) -> str:
        nb.cells.append(nbformat.v4.new_code_cell(source))
        cell = client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
        return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                       for o in cell.outputs)

    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for i in code[:-1]:  # every cell but the last, which closes the connection
            client.execute_cell(nb.cells[i], i)
        waves_sql = "select string_agg(distinct wave, ',' order by wave) from respondents"
        assert run(client, f"print(con.execute({waves_sql!r}).fetchall()[0][0])").strip() == \
            "2023Q1,2024Q1,2024Q4"

        ingest = _spsc(settings, *_ingest_args(settings, big_export), SPSC_WRITE_WAIT="0")
        assert ingest.returncode == 0, ingest.stderr
        build = _spsc(settings, "build", SPSC_WRITE_WAIT="0")
        assert build.returncode == 0, build.stderr
        assert "waiting" not in ingest.stderr + build.stderr

        # the kernel still holds its copy: the view it opened, untouched
        assert run(client, f"print(con.execute({waves_sql!r}).fetchall()[0][0])").strip() == \
            "2023Q1,2024Q1,2024Q4"
        assert "reconnect" in run(client, "from pipeline.warehouse import freshness\n"
                                          "print(freshness(settings.db, con).warning())")
        # re-running the notebook's opening cell reads the new copy
        opening = next(nb.cells[i].source for i in code if "open_warehouse(" in nb.cells[i].source)
        run(client, opening)
        assert run(client, f"print(con.execute({waves_sql!r}).fetchall()[0][0])").strip() == \
            f"2023Q1,2024Q1,2024Q4,{NEW_WAVE}"
        run(client, nb.cells[code[-1]].source)
    _, batches = _copy_state(settings)
    con = connect(settings.db, read_only=True)
    try:
        assert batches == tuple(r[0] for r in con.execute(
            "select batch_id from load_batches where status = 'loaded' order by 1").fetchall())
        assert con.execute("select count(*) from respondents where wave = ?",
                           [NEW_WAVE]).fetchall()[0][0] > 20000
    finally:
        con.close()


# ---------------------------------------------------------------------------- spsc report
def test_report_during_a_large_ingest_shows_the_published_numbers(tmp_path, big_export):
    settings = demo_copy(tmp_path)
    con = open_published(settings.db)
    try:
        published = current_values(con, PERIOD, settings).set_index(
            ["indicator_id", "period", "dimension", "dimension_value"])
        batches_before = tuple(r[0] for r in con.execute(
            "select batch_id from load_batches where status = 'loaded' order by 1").fetchall())
    finally:
        con.close()
    ingest = subprocess.Popen([str(SPSC), *_ingest_args(settings, big_export)],
                              env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        # in progress: it holds the warehouse (and reads, lands and merges for seconds more
        # before its one commit)
        assert _wait_until(lambda: (w := current_writer(settings.db)) is not None
                           and w.pid == ingest.pid, ingest), ingest.communicate()
        ingest.send_signal(signal.SIGSTOP)
        assert read_publication(published_path(settings.db)).batch_ids == batches_before
        report = _spsc(settings, "report", "--period", PERIOD, "--no-pdf", "--workers", "1", "--lang", "en")
        status = _spsc(settings, "status")
        assert ingest.poll() is None  # the ingest was in progress all along
    finally:
        ingest.send_signal(signal.SIGCONT)
    _, err = ingest.communicate(timeout=600)
    assert ingest.returncode == 0, err
    assert report.returncode == 0, report.stdout + report.stderr
    assert status.returncode == 0, status.stderr
    assert (f"warning: the warehouse is being written by spsc ingest survey (PID {ingest.pid})"
            in status.stdout)
    assert f"{PERIOD}: not snapshotted yet" in report.stdout
    assert f"spsc ingest survey (PID {ingest.pid})" in report.stdout

    folder = settings.reports_dir / PERIOD
    # result 1.1 of the example project: trust and perception indicators of the citizen survey
    trust = pd.read_csv(folder / "tables" / "project.en__result_1_1.csv", encoding="utf-8-sig")
    assert len(trust) > 10
    for row in trust.itertuples():
        cell = published.loc[(row.indicator_id, row.period, row.dimension, row.dimension_value)]
        if row.suppressed:
            assert bool(cell["suppressed"])
        else:
            assert row.estimate == pytest.approx(cell["estimate"])
    page = (folder / "project.en.html").read_text(encoding="utf-8")
    assert "was writing the warehouse; that work is not in these numbers" in page
    assert f"spsc ingest survey (PID {ingest.pid})" in page
    # the provenance footer names the copy's batches, which the ingest's is not part of
    _, batches_after = _copy_state(settings)
    assert batches_after == (*batches_before, batches_before[-1] + 1)
    assert f"({batches_before[0]}-{batches_before[-1]})" in page


# ---------------------------------------------------------------------------- killed mid-publish
def _killed_at(step: str, load) -> int:
    """Run ``load`` in a child forked from this process (imports done) that kills itself with
    SIGKILL when the load reaches ``step`` (:mod:`pipeline.warehouse.progress`); its PID."""
    from pipeline.warehouse.progress import on_step

    pid = os.fork()
    if pid == 0:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            on_step(lambda name: name == step and os.kill(os.getpid(), signal.SIGKILL))
            load()
        finally:
            os._exit(70)  # the load ended without reaching the step
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    return pid


def test_a_writer_killed_while_publishing_leaves_a_consistent_copy(tmp_path, big_export):
    """The ingest is killed once the read copy is written beside the old one, before it is
    renamed into place (a step of the load's own progress, so the kill lands there)."""
    from pipeline.ingest.survey.load import ingest_survey

    settings = demo_copy(tmp_path)
    before = _copy_state(settings)  # (publishes the copy of the copied warehouse)
    read = published_path(settings.db)
    published_before = read_publication(read)
    form = settings.raw_dir / "sample" / "survey" / "citizen_survey_form.xlsx"
    pid = _killed_at("read copy written",
                     lambda: ingest_survey(settings, [big_export], form=form, wave=NEW_WAVE))
    assert list(read.parent.glob(f"{read.name}{TMP_MARK}{pid}")), "no copy was being written"

    # readers open the previous copy, whole: the load committed but was never published
    assert _copy_state(settings) == before
    assert read_publication(read) == published_before
    status = _spsc(settings, "status")
    assert status.returncode == 0, status.stderr
    assert "warning: the warehouse holds newer work that was not published" in status.stdout
    assert read_holder(settings.db).pid == pid  # its record is left in the lock file

    # the next writer clears the dead writer's lock and the leftover, and publishes
    done = _spsc(settings, "publish")
    assert done.returncode == 0, done.stderr
    assert "cleared a stale warehouse lock left by " in done.stderr
    assert f"(PID {pid}) since" in done.stderr
    assert not list(read.parent.glob(f"{read.name}{TMP_MARK}*"))
    assert read_holder(settings.db) is None
    prints, batches = _copy_state(settings)
    assert batches == (*before[1], before[1][-1] + 1)
    con = connect(settings.db, read_only=True)
    try:
        assert prints == fingerprint(con)  # the copy holds exactly what the warehouse does
    finally:
        con.close()
    assert "warning" not in _spsc(settings, "status").stdout


# ---------------------------------------------------------------------------- the writers' queue
HOLD = """
import sys, time
from pipeline.warehouse import connect
con = connect(sys.argv[1])
print("holding", flush=True)
if sys.argv[2] == "until-told":
    sys.stdin.readline()
else:
    time.sleep(float(sys.argv[2]))
con.close()
"""


def _holder(settings, seconds: float | None) -> subprocess.Popen:
    """A real writer that holds the warehouse for ``seconds``, or (``None``) until a line is
    written to its stdin."""
    proc = subprocess.Popen([PYTHON, "-c", HOLD, str(settings.db),
                             "until-told" if seconds is None else str(seconds)],
                            env=_env(settings), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_writer_waits_with_a_progress_line_then_loads(warehouse, tmp_path):
    holder = _holder(warehouse, None)
    writer = subprocess.Popen(
        [str(SPSC), "ingest", "events", str(write_events(tmp_path / "events.xlsx"))],
        env=_env(warehouse, SPSC_WRITE_WAIT="600"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        waiting = writer.stderr.readline()  # blocks until the writer says it waits
    finally:
        holder.communicate("go\n", timeout=60)  # then the holder lets go
    _, err = writer.communicate(timeout=300)
    assert holder.returncode == 0
    assert writer.returncode == 0, waiting + err
    assert waiting.startswith("waiting for the warehouse: python"), waiting
    assert f"(PID {holder.pid}) since" in waiting and "is writing; waited" in waiting
    assert read_publication(published_path(warehouse.db)).batch_ids == (1,)


def test_a_writer_gives_up_after_the_configured_wait_with_one_line(warehouse, tmp_path):
    before = _copy_state(warehouse)
    holder = _holder(warehouse, 60)
    try:
        done = _spsc(warehouse, "ingest", "events", str(write_events(tmp_path / "events.xlsx")),
                     SPSC_WRITE_WAIT="2")
        still_holding = holder.poll() is None  # it gave up while the lock was still held
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("waiting for the warehouse:")
    assert lines[-1].startswith(f"error: {warehouse.db}: warehouse is busy (written by python")
    assert f"(PID {holder.pid})" in lines[-1]
    assert lines[-1].endswith("retry when it finishes, or wait longer with SPSC_WRITE_WAIT")
    assert still_holding
    assert _copy_state(warehouse) == before


def test_a_stale_lock_of_a_killed_writer_is_cleared(warehouse, tmp_path):
    holder = _holder(warehouse, 600)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_holder(warehouse.db).pid == holder.pid and current_writer(warehouse.db) is None
    done = _spsc(warehouse, "ingest", "events", str(write_events(tmp_path / "events.xlsx")),
                 SPSC_WRITE_WAIT="0")
    assert done.returncode == 0, done.stderr
    assert "cleared a stale warehouse lock left by python" in done.stderr
    assert f"(PID {holder.pid})" in done.stderr
    assert lock_path(warehouse.db).read_text() == ""  # released: nobody is writing


def test_the_wait_is_a_setting(tmp_path, monkeypatch):
    from pipeline.config import get_settings
    from pipeline.errors import SpscError

    monkeypatch.setenv("SPSC_WRITE_WAIT", "2.5")
    assert get_settings(home=tmp_path).write_wait == 2.5
    assert get_settings(home=tmp_path, write_wait=7).write_wait == 7
    monkeypatch.setenv("SPSC_WRITE_WAIT", "soon")
    with pytest.raises(SpscError, match="'soon' is not a number of seconds"):
        get_settings(home=tmp_path)
    monkeypatch.delenv("SPSC_WRITE_WAIT")
    assert get_settings(home=tmp_path).write_wait == 600


def test_the_copy_is_a_whole_database_readers_cannot_write(warehouse):
    con = open_published(warehouse.db)
    try:
        with pytest.raises(duckdb.Error, match=r"read-only|read only|Cannot execute"):
            con.execute("create table scribble (x integer)")
        assert con.execute("select count(*) from ref_municipalities").fetchall()[0][0] == 142
    finally:
        con.close()


def test_the_sql_copy_used_where_files_cannot_be_copied_is_the_same_database(warehouse, tmp_path):
    """Windows refuses to copy a file the writer has open: DuckDB then writes the copy."""
    from pipeline.ingest.attendance.events import ingest_events
    from pipeline.warehouse.publish import publish

    ingest_events(warehouse, write_events(tmp_path / "events.xlsx"))
    con = connect(warehouse.db)
    try:
        made = publish(con.raw, warehouse.db, method="sql")
        expected = fingerprint(con.raw)
        views = sorted(r[0] for r in con.execute(
            "select view_name from duckdb_views() where not internal").fetchall())
    finally:
        con.close()  # already current: nothing published again
    assert read_publication(published_path(warehouse.db)) == made and made.batch_ids == (1,)
    copy = open_published(warehouse.db)
    try:
        assert {k: v for k, v in fingerprint(copy).items() if k != "publication"} == expected
        assert sorted(r[0] for r in copy.execute(
            "select view_name from duckdb_views() where not internal").fetchall()) == views
        assert freshness(warehouse.db, copy).warning() is None
    finally:
        copy.close()
