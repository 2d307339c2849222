"""One settings object for the whole pipeline.

Every value has a default relative to the project root (the current directory unless
``SPSC_HOME`` says otherwise), can be overridden by an ``SPSC_*`` environment variable, and
by CLI options, which call :func:`get_settings` with keyword overrides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

_ENV = {
    "home": "SPSC_HOME",
    "raw_dir": "SPSC_RAW",
    "processed_dir": "SPSC_PROCESSED",
    "reports_dir": "SPSC_REPORTS",
    "db": "SPSC_DB",
    "secret_path": "SPSC_SECRET",
    "min_cell": "SPSC_MIN_CELL",
    "boundaries_dir": "SPSC_BOUNDARIES_DIR",
    "youth_min_age": "SPSC_YOUTH_MIN_AGE",
    "youth_max_age": "SPSC_YOUTH_MAX_AGE",
    "inter_entity_min_per_side": "SPSC_INTER_ENTITY_MIN",
    "sustained_min_events": "SPSC_SUSTAINED_MIN",
    "write_wait": "SPSC_WRITE_WAIT",
}


@dataclass(frozen=True)
class Settings:
    """Paths and thresholds. Paths left as ``None`` are derived from ``home``."""

    home: Path = field(default_factory=Path.cwd)
    raw_dir: Path | None = None
    processed_dir: Path | None = None
    reports_dir: Path | None = None
    db: Path | None = None
    secret_path: Path | None = None
    boundaries_dir: Path | None = None
    min_cell: int = 10  # published cells built from fewer people are suppressed
    youth_min_age: int = 15  # youth = aged youth_min_age..youth_max_age at the event date
    youth_max_age: int = 30
    inter_entity_min_per_side: int = 2  # an event is inter-entity with >= this many from each entity
    sustained_min_events: int = 3  # sustained engagement = this many activities or more
    write_wait: float = 600.0  # seconds a writer waits for the one before it, then gives up

    def __post_init__(self) -> None:
        home = Path(self.home).resolve()
        object.__setattr__(self, "home", home)
        defaults = {
            "raw_dir": home / "data" / "raw",
            "processed_dir": home / "data" / "processed",
            "reports_dir": home / "reports",
            "secret_path": home / ".spsc" / "secret.key",
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            object.__setattr__(self, name, Path(value) if value is not None else default)
        if self.db is None:
            object.__setattr__(self, "db", self.processed_dir / "spsc.duckdb")
        else:
            object.__setattr__(self, "db", Path(self.db))
        if self.boundaries_dir is None:
            object.__setattr__(self, "boundaries_dir", self.raw_dir / "boundaries")
        else:
            object.__setattr__(self, "boundaries_dir", Path(self.boundaries_dir))

    def with_(self, **overrides) -> Settings:
        """A copy with some values replaced (``None`` values are ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **clean)


def _coerce(name: str, raw: str):
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "int":
        return int(raw)
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            from pipeline.errors import SpscError

            raise SpscError(f"'{raw}' is not a number of seconds", _ENV[name]) from None
    return Path(raw)


def get_settings(**overrides) -> Settings:
    """Settings from the environment (``SPSC_*``), then keyword overrides (``None`` ignored)."""
    values = {}
    for name, env in _ENV.items():
        raw = os.environ.get(env)
        if raw:
            values[name] = _coerce(name, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
