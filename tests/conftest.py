"""Shared fixtures. Tests mirror the package: tests/test_<module>.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (real Kobo exports, real boundaries), or skip."""
    if not (SHARED / "kobo").is_dir() or not (SHARED / "geo").is_dir():
        pytest.skip(f"needs the shared data folder {SHARED} (real Kobo exports and boundaries); CI has it")
    return SHARED


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings of a temporary copy of the example project (examples/spsc), with its own
    secret and warehouse under ``tmp_path``."""
    from pipeline.config import get_settings
    from pipeline.project.scaffold import new_project

    for var in [v for v in os.environ if v.startswith("SPSC_")]:
        monkeypatch.delenv(var, raising=False)
    new_project(tmp_path, example="spsc")
    monkeypatch.setenv("SPSC_HOME", str(tmp_path))
    monkeypatch.setenv("SPSC_PROJECT", str(tmp_path))
    return get_settings(home=tmp_path)


@pytest.fixture
def warehouse(settings):
    """An initialised warehouse (migrated, reference loaded); returns the settings."""
    from pipeline.warehouse.setup import init_warehouse

    init_warehouse(settings)
    return settings
