"""Shared fixtures. Tests mirror the package: tests/test_<module>.py."""

from __future__ import annotations

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
    """Settings rooted in a temporary project folder, with its own secret and warehouse."""
    from pipeline.config import get_settings

    for var in ("SPSC_DB", "SPSC_RAW", "SPSC_PROCESSED", "SPSC_REPORTS", "SPSC_SECRET", "SPSC_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPSC_HOME", str(tmp_path))
    return get_settings(home=tmp_path)


@pytest.fixture
def warehouse(settings):
    """An initialised warehouse (migrated, reference loaded); returns the settings."""
    from pipeline.warehouse.setup import init_warehouse

    init_warehouse(settings)
    return settings
