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


def test_a_dotenv_file_sets_what_the_environment_does_not(tmp_path, monkeypatch):
    from pipeline.project.scaffold import new_project

    for var in ("SPSC_DB", "SPSC_MIN_CELL", "SPSC_HOME", "SPSC_PROJECT", "SPSC_WRITE_WAIT"):
        monkeypatch.delenv(var, raising=False)
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    new_project(project)
    elsewhere.mkdir()
    (project / ".env").write_text("# local settings\nSPSC_MIN_CELL=7\nSPSC_WRITE_WAIT=12.5\n", encoding="utf-8")
    # the project's .env is read wherever the command runs from
    monkeypatch.chdir(elsewhere)
    s = get_settings(project=project)
    assert (s.min_cell, s.write_wait) == (7, 12.5)
    # a variable of the environment wins over the file, an option over both
    monkeypatch.setenv("SPSC_MIN_CELL", "5")
    assert get_settings(project=project).min_cell == 5
    assert get_settings(project=project, min_cell=3).min_cell == 3
    # a .env in the current folder can name the project
    monkeypatch.delenv("SPSC_MIN_CELL")
    (elsewhere / ".env").write_text(f"SPSC_PROJECT={project}\nSPSC_MIN_CELL=9\n", encoding="utf-8")
    s = get_settings()
    assert s.project is not None and s.project.root == project.resolve()
    assert s.min_cell == 7  # the project's own .env wins over the current folder's
    assert ".env" in (project / ".gitignore").read_text(encoding="utf-8").splitlines()
