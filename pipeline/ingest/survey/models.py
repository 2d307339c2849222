"""Building the survey marts from the SQL models in ``pipeline/warehouse/models``.

Intermediate models are temporary views of the connection; the codebook marts are tables
(created by migration ``010_survey``) refilled from their model inside the load's transaction;
the two long marts (``survey_responses_long``, ``survey_repeat_rows``) are views, since a million
respondents times thirty questions is a lot of rows to copy for nothing. ``respondents`` needs
the project's form settings and is built by ``spsc build``
(:func:`pipeline.indicators.sources.build_respondents`).
"""

from __future__ import annotations

from importlib import resources

import duckdb

# in dependency order: (layer, model name, materialisation)
SURVEY_MODELS: tuple[tuple[str, str, str], ...] = (
    ("intermediate", "int_survey__current_submissions", "temp view"),
    ("intermediate", "int_survey__answers_cleaned", "view"),
    ("marts", "codebook_questions", "table"),
    ("marts", "codebook_choices", "table"),
    ("marts", "survey_responses_long", "view"),
    ("marts", "survey_repeat_rows", "view"),
    ("marts", "survey_repeat_instances", "view"),
)
# marts refilled one wave at a time (the others are small or views)
_BY_WAVE: set[str] = set()

def model_sql(layer: str, name: str) -> str:
    """The SQL text of one model, by layer and name."""
    path = resources.files("pipeline.warehouse").joinpath("models", layer, f"{name}.sql")
    return path.read_text(encoding="utf-8")


def create_survey_views(con: duckdb.DuckDBPyConnection, project=None) -> None:
    """Create the intermediate survey models (temporary) and the long marts (views), and the
    age-group macros of ``project`` (its spsc.yml ``age_groups``; ``None``: the default bands)."""
    from pipeline.warehouse.age_groups import create_age_group_macros

    create_age_group_macros(con, project)
    for layer, name, kind in SURVEY_MODELS:
        if kind == "temp view":
            con.execute(f"create or replace temp view {name} as {model_sql(layer, name)}")
        elif kind == "view":
            con.execute(f"create or replace view main.{name} as {model_sql(layer, name)}")


def build_survey_marts(con: duckdb.DuckDBPyConnection, waves: list[str] | None = None) -> dict[str, int]:
    """Refill the survey marts from their models (call inside the load's transaction).

    Args:
        waves: refill only these waves of the per-wave marts (``None``: everything).

    Returns rows per mart table after the refill.
    """
    from pipeline.cleaning.apply import refresh_effects

    refresh_effects(con)  # the cleaning logs' decisions, against the data as now loaded
    create_survey_views(con)
    counts = {}
    for layer, name, kind in SURVEY_MODELS:
        if kind != "table":
            continue
        sql = model_sql(layer, name)
        if name in _BY_WAVE and waves is not None:
            con.execute(f"delete from main.{name} where wave in (select unnest(?))", [waves])
            con.execute(f"insert into main.{name} by name select * from ({sql}) "
                        f"where wave in (select unnest(?))", [waves])
        else:
            con.execute(f"delete from main.{name}")
            con.execute(f"insert into main.{name} by name select * from ({sql})")
        counts[name] = con.execute(f"select count(*) from main.{name}").fetchall()[0][0]
    return counts
