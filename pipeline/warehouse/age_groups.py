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


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


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


def age_group_sql(config: ProjectConfig) -> list[str]:
    """The ``create macro`` statements of the project's age groups (see the module docstring)."""
    by_population = []
    for population in config.age_groups:
        whens = " ".join(
            f"when age between {low} and {high} then {_literal(label)}" if high is not None
            else f"when age >= {low} then {_literal(label)}"
            for low, high, label in config.age_bands(population))
        by_population.append(f"when {_literal(population)} then (case {whens} end)")
    first = next(iter(config.age_groups))
    attendance = ", ".join(f"age_group(age, {_literal(p)})" for p in config.attendance.age_groups)
    return [
        f"create or replace temp macro age_group(age, population) as case population "
        f"{' '.join(by_population)} end",
        f"create or replace temp macro attendance_age_group(age) as coalesce({attendance}, null)",
        # a survey row of a form without a population of its own (benchmarks' reference query)
        f"create or replace temp macro survey_age_group(age) as age_group(age, {_literal(first)})",
        f"create or replace temp macro form_population(form_id) as {_literal(first)}",
    ]


def create_age_group_macros(con: duckdb.DuckDBPyConnection, project) -> None:
    """Create the age-group macros of ``project`` (``None``: the default bands) in ``con``."""
    config = _config(project)
    statements = age_group_sql(config)
    forms = form_populations(project)
    if forms:
        whens = " ".join(f"when {_literal(f)} then {_literal(p)}" for f, p in sorted(forms.items()))
        statements[-1] = (f"create or replace temp macro form_population(form_id) as case form_id "
                          f"{whens} else {_literal(next(iter(config.age_groups)))} end")
    for sql in statements:
        con.execute(sql)
