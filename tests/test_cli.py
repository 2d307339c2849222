"""The spsc command line, run as a user runs it (a real process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def spsc(*args, home, check=False):
    env = {**os.environ, "SPSC_HOME": str(home)}
    env.pop("SPSC_DB", None)
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                          env=env, cwd=home)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_lists_the_verbs(tmp_path):
    out = spsc("--help", home=tmp_path, check=True).stdout
    for verb in ("synth", "init", "status", "ingest"):
        assert verb in out


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = spsc("status", home=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "run 'spsc init'" in lines[0]


def test_debug_shows_the_traceback(tmp_path):
    proc = spsc("--debug", "status", home=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_init_register_status(tmp_path):
    spsc("init", home=tmp_path, check=True)
    raw = tmp_path / "data" / "raw" / "x" / "attendance"
    raw.mkdir(parents=True)
    (raw / "events.csv").write_text("event_id\nEV-1\n", encoding="utf-8")
    out = spsc("register", str(raw.parent), home=tmp_path, check=True).stdout
    assert "1 newly registered" in out
    assert "0 newly registered" in spsc("register", str(raw.parent), home=tmp_path, check=True).stdout
    status = spsc("status", home=tmp_path, check=True).stdout
    assert "events.csv" in status and "registered" in status and "schema version" in status


@pytest.mark.parametrize("flag", ["--db"])
def test_global_db_option(tmp_path, flag):
    target = tmp_path / "elsewhere.duckdb"
    spsc(flag, str(target), "init", home=tmp_path, check=True)
    assert target.exists()
