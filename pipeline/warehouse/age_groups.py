"""Age groups as SQL: the project's bands (spsc.yml ``age_groups``, one set per population)
written into the temporary macros the models call, so no model holds an age band.

- ``age_group(age, population)``: the label of the population's band holding ``age``, NULL
  when none does (a NULL age group is left out of the breakdowns, kept in the totals);
- ``form_population(form_id)``: the population a survey form's respondents belong to (its
  settings' ``population``, by default the first of ``age_groups``);
- ``survey_age_group(age)``: the band of the first population (a form declaring none);
- ``attendance_age_group(age)``: the first population of ``attendance.age_groups`` with a band
  holding the age (the example's: youth bands for the young, adult bands for the others).
"""

from __future__ import annotations

import duckdb

from pipeline.project.config import DEFAULT_AGE_GROUPS, ProjectConfig, ProjectError
from pipeline.warehouse import runner


def _config(project) -> ProjectConfig:
    if project is not None:
        return project.config
    return ProjectConfig.model_validate({"name": "-", "short_name": "-", "start": "2000-01-01",
                                         "end": "2000-12-31", "age_groups": DEFAULT_AGE_GROUPS})


def form_populations(project) -> dict[str, str]:
    """form_id -> population, for the forms whose settings name one (checked against
    ``age_groups``)."""
    config = _config(project)
    out, problems = {}, []
    for form_id, settings in (project.forms() if project is not None else {}).items():
        if settings.population is None:
            continue
        if settings.population not in config.age_groups:
            problems.append(f"{settings.path or f'forms/{form_id}.yml'}: field 'population': "
                            f"{settings.population!r} is not a population of spsc.yml age_groups "
                            f"({', '.join(config.age_groups)})")
        out[form_id] = settings.population
    if problems:
        raise ProjectError("; ".join(problems), "forms", "name a population of spsc.yml age_groups")
    return out


def age_group_context(config: ProjectConfig, forms: dict[str, str] | None = None) -> dict:
    """What model ``macros/age_groups`` reads of the project's age groups."""
    return {
        "populations": [{"name": population, "bands": [{"low": low, "high": high, "label": label}
                                                       for low, high, label in config.age_bands(population)]}
                        for population in config.age_groups],
        "attendance": list(config.attendance.age_groups),
        "forms": forms or {},
    }


def create_age_group_macros(con: duckdb.DuckDBPyConnection, project) -> None:
    """Create the age-group macros of ``project`` (``None``: the default bands) in ``con``."""
    context = age_group_context(_config(project), form_populations(project))
    sql, _ = runner.render("macros/age_groups", inline=True, **context)  # macros cannot be prepared
    con.execute(sql)
