"""``spsc new`` (scaffold a project) and ``spsc project`` (show and check the current one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app, console, settings


@app.command("new")
def new_command(
    folder: Annotated[Path, typer.Argument(help="The new project's folder (created; must be empty).")],
    example: Annotated[str | None, typer.Option(help="Copy an example project instead (e.g. spsc).")] = None,
) -> None:
    """Create a project folder: spsc.yml, indicators.yml, results framework, forms/, aliases/."""
    from pipeline.project import load_project
    from pipeline.project.scaffold import new_project

    written = new_project(folder, example)
    project = load_project(folder)
    what = f"example {example!r}" if example else "empty project"
    console.print(f"{what} written to {project.root} ({len(written)} files); next: edit spsc.yml, "
                  f"then see docs/project.md ('Add a form')", markup=False, highlight=False)


@app.command("project")
def project_command() -> None:
    """Show the current project and check all its files (spsc.yml, forms, indicators, targets)."""
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.reference import municipalities

    s = settings()
    project = s.require_project()
    config = project.config
    forms = project.forms()
    catalogue = load_catalogue(project)
    names = dict(zip(municipalities()["muni_id"], municipalities()["name"], strict=True))
    norm_names = [names.get(m, m) for m in project.area]
    lines = [
        f"project {config.short_name}: {config.name.en}",
        f"folder {project.root}",
        f"{config.start} to {config.end}, quarters {config.quarters[0]}-{config.quarters[-1]}"
        + (f", waves {', '.join(f'{k} {v}' for k, v in config.waves.items())}" if config.waves else ""),
        f"area: {', '.join(norm_names) or 'none (no municipality profiles or maps)'}",
        f"warehouse {s.db}; reports in {s.reports_dir}; min_cell {s.min_cell}",
        f"forms with settings: {', '.join(sorted(forms)) or 'none'}",
        f"{len(catalogue.indicators)} indicators ({sum(i.target is not None for i in catalogue.indicators)}"
        f" with targets) from {', '.join(catalogue.sources + (['attendance'] if any(not i.is_survey for i in catalogue.indicators) else [])) or 'no source yet'}",
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False)
