"""The survey marts: which models build them.

Intermediate models are temporary views of the connection; the codebook marts are tables
(created by migration ``010_survey``) refilled from their model inside the load's transaction;
the long marts (``survey_responses_long``, ``survey_repeat_rows``, ``survey_repeat_instances``)
are views, since a million respondents times thirty questions is a lot of rows to copy for
nothing. ``respondents`` needs the project's form settings and is built by ``spsc build``
(:func:`pipeline.indicators.sources.build_respondents`). The runner
(:mod:`pipeline.warehouse.runner`) builds them all.
"""

from __future__ import annotations

import duckdb

from pipeline.warehouse import runner

# in dependency order: (model, materialisation; "table" refills the mart)
SURVEY_MODELS: tuple[tuple[str, str], ...] = (
    ("intermediate/int_survey__current_submissions", "temp view"),
    ("intermediate/int_survey__answers_cleaned", "view"),
    ("marts/codebook_questions", "table"),
    ("marts/codebook_choices", "table"),
    ("marts/survey_responses_long", "view"),
    ("marts/survey_repeat_rows", "view"),
    ("marts/survey_repeat_instances", "view"),
)


def create_survey_views(con: duckdb.DuckDBPyConnection, project=None) -> None:
    """Create the intermediate survey models (temporary) and the long marts (views), and the
    age-group macros of ``project`` (its spsc.yml ``age_groups``; ``None``: the default bands)."""
    from pipeline.warehouse.age_groups import create_age_group_macros

    create_age_group_macros(con, project)
    runner.build(con, [(model, kind) for model, kind in SURVEY_MODELS if kind != "table"])


def build_survey_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Refill the survey marts from their models (call inside the load's transaction).

    Returns rows per mart table after the refill.
    """
    from pipeline.cleaning.apply import refresh_effects

    refresh_effects(con)  # the cleaning logs' decisions, against the data as now loaded
    create_survey_views(con)
    return runner.build(con, [(model, kind) for model, kind in SURVEY_MODELS if kind == "table"])
