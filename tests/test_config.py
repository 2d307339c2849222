"""Settings: defaults, environment, overrides."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import get_settings


def test_defaults_follow_the_project_layout(tmp_path, monkeypatch):
    for var in ("SPSC_DB", "SPSC_MIN_CELL", "SPSC_HOME"):
        monkeypatch.delenv(var, raising=False)
    s = get_settings(home=tmp_path)
    assert s.db == tmp_path / "data" / "processed" / "spsc.duckdb"
    assert s.raw_dir == tmp_path / "data" / "raw"
    assert s.reports_dir == tmp_path / "reports"
    assert s.secret_path == tmp_path / ".spsc" / "secret.key"
    assert s.min_cell == 10


def test_environment_then_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("SPSC_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("SPSC_MIN_CELL", "5")
    s = get_settings(home=tmp_path)
    assert s.db == tmp_path / "x.duckdb" and s.min_cell == 5
    s2 = get_settings(home=tmp_path, db=Path("/tmp/other.duckdb"), min_cell=None)
    assert s2.db == Path("/tmp/other.duckdb") and s2.min_cell == 5


def test_secret_is_git_ignored():
    ignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text()
    assert ".spsc/" in ignore and "*.duckdb" in ignore
