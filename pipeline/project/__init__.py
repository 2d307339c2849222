"""The project: a folder the M&E officer owns, holding ``spsc.yml`` and the project's files.

The package is the engine and knows no project. A project folder holds its settings
(``spsc.yml``), its indicator catalogue (``indicators.yml``), its results framework (targets,
a spreadsheet), per-form settings (``forms/*.yml``), alias tables that extend the packaged ones
(``aliases/``), and by default its raw files, warehouse and reports. Every command finds the
project from ``--project DIR``, ``SPSC_PROJECT`` or the current folder (see
:func:`find_project`); ``spsc new`` makes one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.project.config import PROJECT_FILE, ProjectConfig, ProjectError, Text, read_config
from pipeline.project.forms import FormSettings, read_forms_folder

__all__ = ["PROJECT_FILE", "FormSettings", "Project", "ProjectConfig", "ProjectError", "Text",
           "find_project", "load_project"]


@dataclass(eq=False)
class Project:
    """A loaded project: its folder, its validated ``spsc.yml`` and the area's municipality ids.

    Other project files (form settings, the catalogue) are read when first asked for.
    """

    root: Path
    config: ProjectConfig
    area: tuple[str, ...]
    _forms: dict[str, FormSettings] | None = field(default=None, repr=False)

    def path(self, relative: str) -> Path:
        """A path of ``spsc.yml``'s ``paths`` made absolute (relative to the project folder)."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def forms_dir(self) -> Path:
        return self.path(self.config.paths.forms)

    @property
    def indicators_path(self) -> Path:
        return self.path(self.config.paths.indicators)

    @property
    def results_framework_path(self) -> Path:
        return self.path(self.config.paths.results_framework)

    @property
    def aliases_dir(self) -> Path:
        return self.path(self.config.paths.aliases)

    @property
    def name(self) -> str:
        return self.config.short_name

    def forms(self) -> dict[str, FormSettings]:
        """Per-form settings by form id (``forms/*.yml``; a form without a file has none)."""
        if self._forms is None:
            self._forms = read_forms_folder(self.forms_dir)
        return self._forms

    def form(self, form_id: str) -> FormSettings | None:
        """The settings of one form, ``None`` when the project declares none."""
        return self.forms().get(form_id)

    @property
    def has_municipalities(self) -> bool:
        """Whether the project works in named municipalities (profiles, maps)."""
        return bool(self.area)


def load_project(folder: Path | str) -> Project:
    """The project in ``folder`` (which must hold ``spsc.yml``)."""
    root = Path(folder).expanduser().resolve()
    if not (root / PROJECT_FILE).is_file():
        raise ProjectError(f"no {PROJECT_FILE} here, so this is not a project folder", str(root),
                           f"create one with 'spsc new {folder}' or point --project at one")
    config, area = read_config(root)
    return Project(root=root, config=config, area=area)


def find_project(explicit: Path | str | None = None, home: Path | str | None = None) -> Project | None:
    """The project of this invocation, or ``None`` when there is none.

    ``explicit`` (``--project``) first, then ``SPSC_PROJECT``, then ``home`` or the current
    folder when it holds ``spsc.yml``. An explicit folder without ``spsc.yml`` is an error.
    """
    chosen = explicit or os.environ.get("SPSC_PROJECT") or None
    if chosen:
        return load_project(chosen)
    for folder in (home, Path.cwd()):
        if folder is not None and (Path(folder) / PROJECT_FILE).is_file():
            return load_project(folder)
    return None
