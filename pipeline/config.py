"""One settings object for the whole pipeline.

Where things are and which thresholds apply, in this order of precedence: CLI options (which
call :func:`get_settings` with keyword overrides), then ``SPSC_*`` environment variables, then
the same variables in a ``.env`` file (the project folder's, else the current folder's; read
with pydantic-settings), then the project's ``spsc.yml`` (the project is found from
``--project``, ``SPSC_PROJECT`` or the current folder), then defaults relative to the project
folder (or, without a project, to ``SPSC_HOME`` or the current folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.project import Project

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
    "write_wait": "SPSC_WRITE_WAIT",
}


def _defaults() -> dict[str, int]:
    """The thresholds of a project that sets none: the defaults of ``spsc.yml``'s schema, so
    each is written once (pipeline.project.config)."""
    from pipeline.project.config import Attendance, ProjectConfig

    a = Attendance()
    return {"min_cell": ProjectConfig.model_fields["min_cell"].default, "youth_min_age": a.youth_ages[0],
            "youth_max_age": a.youth_ages[1], "inter_entity_min_per_side": a.inter_entity_min_per_side}


@dataclass(frozen=True)
class Settings:
    """Paths and thresholds. Values left as ``None`` come from the project, else defaults."""

    home: Path = field(default_factory=Path.cwd)
    raw_dir: Path | None = None
    processed_dir: Path | None = None
    reports_dir: Path | None = None
    db: Path | None = None
    secret_path: Path | None = None
    boundaries_dir: Path | None = None
    min_cell: int | None = None  # published cells built from fewer people are suppressed
    youth_min_age: int | None = None  # youth = aged youth_min_age..youth_max_age at the event
    youth_max_age: int | None = None
    inter_entity_min_per_side: int | None = None  # an event is inter-entity with >= this many from each entity
    youth_event_types: tuple[str, ...] | None = None  # events for young people, by type
    write_wait: float = 600.0  # seconds a writer waits for the one before it, then gives up
    project: Project | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        p = self.project
        home = Path(self.home).resolve()
        object.__setattr__(self, "home", home)
        paths = p.config.paths if p is not None else None

        def at(relative: str) -> Path:
            return p.path(relative) if p is not None else home / relative

        defaults = {
            "raw_dir": at(paths.raw) if paths else home / "data" / "raw",
            "processed_dir": at(paths.warehouse).parent if paths else home / "data" / "processed",
            "reports_dir": at(paths.reports) if paths else home / "reports",
            "secret_path": (p.root if p is not None else home) / ".spsc" / "secret.key",
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            object.__setattr__(self, name, Path(value) if value is not None else default)
        if self.db is not None:
            object.__setattr__(self, "db", Path(self.db))
        elif paths is not None:
            object.__setattr__(self, "db", at(paths.warehouse))
        else:
            object.__setattr__(self, "db", self.processed_dir / "spsc.duckdb")
        if self.boundaries_dir is not None:
            object.__setattr__(self, "boundaries_dir", Path(self.boundaries_dir))
        elif paths is not None and paths.boundaries:
            object.__setattr__(self, "boundaries_dir", at(paths.boundaries))
        else:
            object.__setattr__(self, "boundaries_dir", self.raw_dir / "boundaries")
        from_project = {}
        if p is not None:
            a = p.config.attendance
            from_project = {"min_cell": p.config.min_cell, "youth_min_age": a.youth_ages[0],
                            "youth_max_age": a.youth_ages[1],
                            "inter_entity_min_per_side": a.inter_entity_min_per_side}
        for name, default in _defaults().items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, from_project.get(name, default))
        if self.youth_event_types is None:
            from pipeline.ingest.attendance.values import YOUTH_EVENT_TYPES

            own = p.config.attendance.youth_event_types if p is not None else None
            object.__setattr__(self, "youth_event_types", tuple(own if own is not None else YOUTH_EVENT_TYPES))
        else:
            object.__setattr__(self, "youth_event_types", tuple(self.youth_event_types))

    def with_(self, **overrides) -> Settings:
        """A copy with some values replaced (``None`` values are ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "processed_dir" in clean and "db" not in clean:
            clean["db"] = Path(clean["processed_dir"]) / "spsc.duckdb"
        return replace(self, **clean)

    def require_project(self) -> Project:
        """The project, or a one-line error saying how to give one."""
        if self.project is None:
            from pipeline.project import ProjectError

            raise ProjectError("no project: this folder holds no spsc.yml", str(self.home),
                               "run the command inside a project folder, give --project DIR "
                               "(or SPSC_PROJECT), or create one with 'spsc new DIR'")
        return self.project


def _coerce(name: str, raw: str):
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        try:
            return float(raw)
        except ValueError:
            from pipeline.errors import SpscError

            raise SpscError(f"'{raw}' is not a number of seconds", _ENV[name]) from None
    return Path(raw)


ENV_FILE = ".env"


@cache
def _environment_model():
    """The ``SPSC_*`` variables as a pydantic-settings model (fields by setting name)."""
    from pydantic import Field, create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Base(BaseSettings):
        model_config = SettingsConfigDict(extra="ignore", case_sensitive=True, env_file_encoding="utf-8")

    names = {**_ENV, "project": "SPSC_PROJECT"}
    return create_model("Environment", __base__=Base,
                        **{name: (str | None, Field(default=None, validation_alias=env)) for name, env in names.items()})


def read_environment(folders: list[Path | None]) -> dict[str, str]:
    """The ``SPSC_*`` variables set (non-empty) in the environment or in the ``.env`` files of
    ``folders`` (a later folder's file wins; the environment wins over every file), by
    setting name, ``project`` for ``SPSC_PROJECT``."""
    files = [Path(f) / ENV_FILE for f in folders if f is not None and (Path(f) / ENV_FILE).is_file()]
    found = _environment_model()(_env_file=tuple(files) or None).model_dump()
    return {name: value for name, value in found.items() if value}


def get_settings(**overrides) -> Settings:
    """Settings from the project, the environment (``SPSC_*``, or a ``.env`` file), then keyword
    overrides.

    ``project`` may be given as a folder (or a loaded :class:`~pipeline.project.Project`);
    ``None`` values are ignored.
    """
    from pipeline.project import Project, find_project

    chosen = overrides.get("project")
    here = [Path.cwd()]
    env = read_environment(here)
    if chosen is None and env.get("project"):
        chosen = env["project"]
    project = chosen if isinstance(chosen, Project) else find_project(
        chosen, home=overrides.get("home") or env.get("home"))
    if project is not None:
        env = read_environment([*here, project.root])
    values = {name: _coerce(name, raw) for name, raw in env.items() if name != "project"}
    values.update({k: v for k, v in overrides.items() if v is not None and k != "project"})
    if project is not None and "home" not in overrides:
        values["home"] = project.root
    if "processed_dir" in values and "db" not in values:
        values["db"] = Path(values["processed_dir"]) / "spsc.duckdb"
    return Settings(**values, project=project)
