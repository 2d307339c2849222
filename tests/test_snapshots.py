"""Published numbers stay put: snapshots of a reported quarter, ``spsc snapshot``, ``spsc diff``.

On the demo (synth --respondents 30, everything loaded and built): 2024Q3 is snapshotted; a
late sign-in sheet for a 2024Q3 event is then loaded and the indicators rebuilt. The
published values of 2024Q3 must not move, the current ones must, and ``spsc diff`` must list
each changed cell with the new batch; restating publishes the new numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from adversarial.demo import demo_copy

from pipeline.checks.integrity import check_warehouse
from pipeline.checks.snapshots import (
    current_values,
    diff_period,
    published_values,
    snapshot_period,
)
from pipeline.errors import SpscError
from pipeline.warehouse import connect

SPSC = Path(sys.executable).with_name("spsc")
PERIOD = "2024Q3"
LATE_PEOPLE = 12


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSC_")}
    env.update(SPSC_HOME=str(settings.home), SPSC_DB=str(settings.db),
               SPSC_SECRET=str(settings.secret_path))
    return env


def _spsc(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SPSC), *args], env=_env(settings), capture_output=True, text=True,
                          timeout=300)


def _read(where, func, *args, **kwargs):
    con = connect(where.db, read_only=True)
    try:
        return func(con, *args, **kwargs)
    finally:
        con.close()


def _late_sheet(settings, folder: Path) -> tuple[Path, str]:
    """A sign-in sheet found late: 12 young people from Drvar at a 2024Q3 youth event."""
    con = connect(settings.db, read_only=True)
    try:
        event_id = con.execute(
            "select event_id from events where quarter = ? and is_youth_event order by event_id"
            " limit 1", [PERIOD]).fetchall()[0][0]
    finally:
        con.close()
    path = folder / "drvar_2024Q3_late.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = event_id
    for row in [["Evidencija prisustva"], [f"ID događaja: {event_id}"], [],
                ["R.br.", "Ime i prezime", "Godina rođenja", "Spol", "Mjesto prebivališta",
                 "Uloga"],
                *[[i + 1, f"Kasna Osoba{chr(97 + i)}", 2004, "Ž", "Drvar", "mladi"]
                  for i in range(LATE_PEOPLE)]]:
        ws.append(row)
    wb.save(path)
    return path, event_id


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Snapshot 2024Q3, load a late sheet, rebuild; returns what each step saw."""
    from pipeline.indicators.engine import build
    from pipeline.ingest.attendance.load import ingest_attendance

    home = tmp_path_factory.mktemp("snapshots")
    settings = demo_copy(home)
    before = _read(settings, current_values, PERIOD, settings=settings)
    taken = _spsc(settings, "snapshot", "--period", PERIOD, "--reason", "Q3 report to PBF")
    late, event_id = _late_sheet(settings, home)
    batch = ingest_attendance(settings, [late])[0].batch_id
    build(settings)
    return {"settings": settings, "before": before, "taken": taken, "batch": batch,
            "late": late, "event_id": event_id}


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["batch_ids"] = out["batch_ids"].map(tuple)
    out["n"] = out["n"].astype("Int64")
    return out.reset_index(drop=True)


def test_a_snapshot_holds_the_period_as_reported(story):
    settings, before = story["settings"], story["before"]
    assert story["taken"].returncode == 0, story["taken"].stderr
    assert story["taken"].stdout.strip() == f"snapshot 1 of {PERIOD} taken (Q3 report to PBF)"
    periods = set(before["period"])
    assert max(p for p in periods if p != "cumulative") == PERIOD
    assert "2024Q4" not in periods and "cumulative" in periods
    # cumulative through 2024Q3 is recomputed: distinct young people up to the quarter
    con = connect(settings.db, read_only=True)
    try:
        young = con.execute(
            "select count(distinct person_key) from attendances where is_youth and quarter <= ?"
            " and batch_id <> ?", [PERIOD, story["batch"]]).fetchall()[0][0]
        latest = con.execute("select estimate from indicator_values where indicator_id ="
                             " 'unique_youth' and period = 'cumulative' and dimension = 'total'"
                             ).fetchall()[0][0]
    finally:
        con.close()
    cell = before[(before["indicator_id"] == "unique_youth") & (before["period"] == "cumulative")
                  & (before["dimension"] == "total")]
    assert cell["estimate"].tolist() == [float(young)]
    assert young < latest


def test_published_numbers_stay_put_after_a_late_sheet(story):
    settings, before = story["settings"], story["before"]
    published = _read(settings, published_values, PERIOD, settings=settings)
    assert published.attrs["snapshot_id"] == 1
    expected = before.copy()
    expected["n"] = expected["n"].astype("Int64").mask(expected["suppressed"])
    pd.testing.assert_frame_equal(_comparable(published), _comparable(expected))
    now = _read(settings, current_values, PERIOD, settings=settings)
    assert not _comparable(now).equals(_comparable(before))


def test_diff_lists_every_changed_cell_with_the_new_batch(story):
    settings, before, batch = story["settings"], story["before"], story["batch"]
    snap, changes = _read(settings, diff_period, PERIOD, settings=settings)
    assert snap.snapshot_id == 1 and not changes.empty
    now = _read(settings, current_values, PERIOD, settings=settings)
    both = before.merge(now, on=["indicator_id", "period", "dimension", "dimension_value"],
                        how="outer", suffixes=("_old", "_new"))
    # a rebuild may sum floats in another order (parallel aggregation): compare to 1e-9
    same_estimate = np.isclose(both["estimate_old"].fillna(-1), both["estimate_new"].fillna(-1),
                               rtol=1e-9, atol=0)
    moved = both[~same_estimate | (both["n_old"] != both["n_new"])
                 | (both["suppressed_old"] != both["suppressed_new"])]
    hidden = moved[moved["suppressed_old"].eq(True) & moved["suppressed_new"].eq(True)]
    assert len(changes) == len(moved) - len(hidden)
    assert all(b == [batch] for b in changes["batches_added"])
    assert changes["why"].str.contains(f"batch {batch} drvar_2024Q3_late.xlsx").all()
    assert set(changes["period"]) <= {PERIOD, "cumulative"}  # earlier quarters and waves hold
    total = changes[(changes["indicator_id"] == "unique_youth")
                    & (changes["period"] == PERIOD) & (changes["dimension"] == "total")]
    old = before[(before["indicator_id"] == "unique_youth") & (before["period"] == PERIOD)
                 & (before["dimension"] == "total")]["estimate"].iloc[0]
    assert total["now"].tolist() == [f"{old + LATE_PEOPLE:.6g} (n {int(old) + LATE_PEOPLE})"]

    done = _spsc(settings, "diff", "--period", PERIOD)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"snapshot 1 of {PERIOD}, taken ")
    assert f"unique_youth {PERIOD} total=total: published {old:.6g} (n {int(old)})," in done.stdout
    assert lines[-1] == (f"{len(changes)} numbers would change; 'spsc snapshot --period {PERIOD}"
                         " --restate' publishes the new ones")


def test_snapshots_are_kept_until_restated(story, tmp_path):
    import shutil

    settings = story["settings"].with_(db=tmp_path / "w.duckdb")
    shutil.copy2(story["settings"].db, settings.db)
    again = _spsc(settings, "snapshot", "--period", PERIOD)
    assert again.stdout.strip() == (f"{PERIOD} is already published as snapshot 1; nothing"
                                    " changed (--restate to replace it)")
    restated = _spsc(settings, "snapshot", "--period", PERIOD, "--restate", "--reason",
                     "late sheet")
    assert restated.stdout.strip() == f"snapshot 2 of {PERIOD} taken (late sheet)"
    published = _read(settings, published_values, PERIOD, settings=settings)
    now = _read(settings, current_values, PERIOD, settings=settings)
    now["n"] = now["n"].astype("Int64").mask(now["suppressed"])
    assert published.attrs["snapshot_id"] == 2
    pd.testing.assert_frame_equal(_comparable(published), _comparable(now))
    assert _read(settings, diff_period, PERIOD, settings=settings)[1].empty
    con = connect(settings.db, read_only=True)
    try:
        kept = con.execute("select snapshot_id, restates from period_snapshots order by 1"
                           ).fetchall()
        assert check_warehouse(con).problems == []
    finally:
        con.close()
    assert kept == [(1, None), (2, 1)]


def test_a_period_without_snapshot_publishes_the_current_values(story):
    settings = story["settings"]
    published = _read(settings, published_values, "2024Q4", settings=settings)
    assert published.attrs["snapshot_id"] is None
    assert "2024Q4" in set(published["period"])
    assert published.loc[published["suppressed"], "n"].isna().all()
    assert _read(settings, published_values, "2022Q4", settings=settings).empty  # before it all
    with pytest.raises(SpscError, match="no snapshot of 2024Q4 yet"):
        _read(settings, diff_period, "2024Q4", settings=settings)
    with pytest.raises(SpscError, match="'2024-3' is not a quarter"):
        _read(settings, published_values, "2024-3")


def test_snapshot_period_in_process_is_idempotent(story, tmp_path):
    import shutil

    settings = story["settings"].with_(db=tmp_path / "w.duckdb")
    shutil.copy2(story["settings"].db, settings.db)
    con = connect(settings.db)
    try:
        assert snapshot_period(con, "2024Q1", "test", settings=settings) == (2, True)
        assert snapshot_period(con, "2024Q1", "again", settings=settings) == (2, False)
        rows = con.execute("select count(*), count(distinct reporting_period) from"
                           " indicator_snapshots where snapshot_id = 2").fetchall()[0]
    finally:
        con.close()
    assert rows[0] > 0 and rows[1] == 1


def test_a_report_of_the_period_shows_its_snapshot_not_the_rebuild(story):
    """What `spsc report` reads (reports.data and the donor table) is the snapshot."""
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.donor_table import donor_rows
    from pipeline.reports import data

    s = story["settings"]
    shown = _read(s, data.indicator_values, PERIOD)
    published = _read(s, published_values, PERIOD)
    pd.testing.assert_frame_equal(_comparable(shown), _comparable(published))

    catalogue = load_catalogue(s.project)
    reported = _read(s, donor_rows, catalogue, s, PERIOD, values=shown).set_index("indicator_id")
    rebuilt = _read(s, donor_rows, catalogue, s, PERIOD).set_index("indicator_id")
    before = story["before"]
    truth = before[(before["indicator_id"] == "unique_youth") & (before["period"] == "cumulative")
                   & (before["dimension"] == "total")]["estimate"].item()
    assert reported.loc["unique_youth", "progress"] == truth
    assert rebuilt.loc["unique_youth", "progress"] == truth + LATE_PEOPLE
    assert reported.loc["trust_municipality_high", "progress"] == pytest.approx(
        rebuilt.loc["trust_municipality_high", "progress"])
