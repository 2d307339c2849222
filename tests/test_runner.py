"""The model runner: models by name, values bound as parameters, views with literals, marts
refilled whole."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.warehouse import connect, runner
from pipeline.warehouse.db import migrate


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    migrate(con)
    yield con
    con.close()


def test_a_template_binds_every_value_as_a_parameter():
    sql, params = runner.render("intermediate/int_survey__answers_pivoted", form_id="f'1",
                                columns={"a:x": "g/x", "a:y": "g/y"}, recodes={"g/x": {1: "one", "2": None}})
    assert "f'1" not in sql and "'g/x'" not in sql and "'one'" not in sql
    assert sorted(v for v in params.values() if v is not None) == sorted(
        ["g/x", "1", "one", "2", "g/y", "g/x", "g/y", "f'1"])
    assert '"a:x"' in sql and '"a:y"' in sql


def test_a_view_gets_its_values_as_quoted_literals():
    sql, params = runner.render("intermediate/int_survey__answers_pivoted", inline=True,
                                form_id="o'brien", columns={}, recodes={})
    assert params == {} and "'o''brien'" in sql


def test_bound_values_give_the_rows_of_the_literal_query(con):
    con.execute("insert into stg_survey__submissions (submission_id, batch_id, form_id, form_version, wave,"
                " respondent_key, source_sheet, source_row, is_current) values"
                " (1, 1, 'f', 'v', 'w', 'r1', 's', 2, true), (2, 1, 'f', 'v', 'w', 'r2', 's', 3, true),"
                " (3, 1, 'g', 'v', 'w', 'r3', 's', 2, true)")
    con.execute("insert into stg_survey__answers values (1, 'g/x', '1'), (2, 'g/x', '2'), (3, 'g/x', '1')")
    from pipeline.cleaning.apply import ensure_cleaned_answers

    ensure_cleaned_answers(con)
    bound = runner.query(con, "intermediate/int_survey__answers_pivoted", form_id="f",
                         columns={"x": "g/x"}, recodes={"g/x": {"1": "one"}}).sort_values("submission_id")
    assert bound.to_dict("list") == {"submission_id": [1, 2], "x": ["one", "2"]}
    inline, _ = runner.render("intermediate/int_survey__answers_pivoted", inline=True, form_id="f",
                              columns={"x": "g/x"}, recodes={"g/x": {"1": "one"}})
    assert sorted(con.execute(inline).fetchall()) == sorted(bound.itertuples(index=False, name=None))


def test_refill_replaces_every_row_of_a_mart(con):
    con.register("_catalogue_in", pd.DataFrame([{
        "indicator_id": "a", "result": "1.1", "level": "", "label_en": "A", "label_bs": "A", "source": "survey",
        "estimator": "mean", "unit": "score", "illustrative": False, "position": 0}]))
    assert runner.refill(con, "indicator_catalogue") == 1
    assert runner.refill(con, "indicator_catalogue") == 1
    assert con.execute("select indicator_id from indicator_catalogue").fetchall() == [("a",)]


def test_a_plain_model_takes_parameters_not_a_context_and_a_view_takes_none(con):
    with pytest.raises(TypeError, match="plain SQL"):
        runner.render("indicators/second_stage_present", form_id="f")
    with pytest.raises(TypeError, match="cannot take parameters"):
        runner.create(con, "indicators/second_stage_present", "temp view", params={"form_id": "f"})
    with pytest.raises(LookupError, match="no model"):
        runner.render("marts/nothing_of_that_name")
    assert runner.rows(con, "indicators/second_stage_present", {"form_id": "f"}) == [(False,)]
