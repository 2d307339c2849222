"""The indicator engine behind ``spsc build``: every catalogue indicator, period and domain.

Writes two marts in one transaction (the old rows are replaced, never mixed with new ones):

- ``indicator_values``: one row per indicator, period, dimension and dimension value, with
  estimate, se, 95% CI, ``n`` (people behind the cell), ``suppressed`` and the load batches
  the cell was computed from. Survey indicators have one period per wave; attendance
  indicators one per quarter plus ``cumulative`` (all quarters loaded).
- ``indicator_changes``: one row per survey indicator and dimension value, baseline wave vs
  latest wave, with the change's se (independent samples: ``sqrt(se1² + se2²)``) and whether
  it is significant at 95%.

Survey indicators are design-based, as R's ``svyby`` (full design kept for domains), through
:class:`pipeline.survey.Design` with weights ``weight``, strata ``stratum``, PSUs ``psu`` and
fpc ``fpc``; when the respondents mart also has ``fpc2`` (people in the PSU's population) the
design has two stages, settlements then people (R's ``id = ~psu + respondent, fpc = ~fpc +
fpc2``), and the second stage enters the variance. To stay vectorised at a million
respondents, DuckDB first sums the data to one row per (wave, stratum, PSU, sex, age group,
municipality, entity) cell: for each indicator the weighted total of its per-respondent value,
the weight and number of those who answered, the weighted sum of squares (for the design
effect) and the sums of squared weights the second stage needs. ``Design.from_cells`` /
``cell_means`` turn these into exactly ``svymean``'s estimate, standard error and deff on the
respondent rows, for all indicators and all domains of a dimension in one call; all waves are
estimated together with strata nested in waves, which equals one design per wave.

Every survey cell carries ``df`` (the design degrees of freedom of its domain: PSUs minus
strata holding the domain), ``n`` (people who answered), ``n_weighted`` (their weight),
``deff`` and ``ci_method``: proportions get the logit interval on ``df`` (R ``svyciprop(method
= "logit")``), means a t interval on ``df``, clipped to their scale (0-10). A cell whose
variance cannot be estimated (a domain inside one PSU, no lonely-PSU rule applicable) is
published with its estimate, no se and no interval, and says why in ``note``; never with
se = 0. Attendance counts have none of these (a register, not a sample).

Units: proportions and shares are stored as percentages (0-100), means on their 0-10 scale,
counts as numbers with se and CI NULL (attendance is a register, not a sample).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.indicators.catalogue import (
    YOUTH_ITEMS,
    Catalogue,
    Condition,
    Indicator,
    load_catalogue,
)
from pipeline.indicators.suppression import suppress
from pipeline.survey import CellSums, Design, difference
from pipeline.warehouse import connect, transaction

# The part of the warehouse contract (docs/warehouse.md) this stage reads: table -> column -> type.
INPUT_TABLES: dict[str, dict[str, str]] = {
    "respondents": {
        "respondent_key": "varchar", "form_id": "varchar", "wave": "varchar", "muni_id": "varchar",
        "entity": "varchar", "sex": "varchar", "age": "integer", "age_group": "varchar",
        "urban_rural": "varchar", "weight": "double", "stratum": "varchar", "psu": "varchar",
        "fpc": "double", "batch_id": "integer", "submitted_at": "timestamp",
    },
    "citizen_responses": {
        "respondent_key": "varchar", "wave": "varchar", "trust_municipality": "integer",
        "trust_csw": "integer", "trust_employment": "integer", "trust_health": "integer",
        "trust_mental_health": "integer", "trust_schools": "integer", "views_considered": "integer",
        "satisfaction_social": "integer", "dialogue_participation": "boolean",
        "trust_other_entity": "integer", "contact_neighbour": "boolean",
        "contact_colleague": "boolean", "contact_friend": "boolean", "contact_in_law": "boolean",
        "education": "varchar", "employment": "varchar", "displacement": "varchar",
    },
    "youth_responses": {
        "participant_key": "varchar", "wave": "varchar", "phase": "varchar", "muni_id": "varchar",
        "entity": "varchar", "sex": "varchar", "age": "integer", "age_group": "varchar",
        "activity_type": "varchar", "att_1": "integer", "att_2": "integer", "att_3": "integer",
        "att_4": "integer", "eff_1": "integer", "eff_2": "integer", "eff_3": "integer",
        "attitude_score": "double", "batch_id": "integer",
    },
    "events": {
        "event_id": "varchar", "date": "date", "quarter": "varchar", "muni_ids": "varchar[]",
        "muni_id": "varchar", "entity": "varchar", "event_type": "varchar",
        "is_youth_event": "boolean", "is_inter_entity": "boolean", "n_participants": "integer",
        "batch_id": "integer",
    },
    "participants": {
        "person_key": "varchar", "sex": "varchar", "birth_year": "integer", "age_group": "varchar",
        "muni_id": "varchar", "entity": "varchar",
    },
    "attendances": {
        "person_key": "varchar", "event_id": "varchar", "quarter": "varchar",
        "age_at_event": "integer", "is_youth": "boolean", "role": "varchar", "batch_id": "integer",
    },
    "cross_entity_ties": {
        "period": "varchar", "muni_id_a": "varchar", "muni_id_b": "varchar", "entity_a": "varchar",
        "entity_b": "varchar", "n_ties": "bigint",
    },
}

# dimension -> the column holding its values
DIMENSION_COLUMNS = {"total": None, "sex": "sex", "age_group": "age_group",
                     "municipality": "muni_id", "entity": "entity"}
VALUE_COLUMNS = ["indicator_id", "period", "dimension", "dimension_value", "estimate", "se",
                 "ci_low", "ci_high", "n", "suppressed", "batch_ids", "df", "n_weighted", "deff",
                 "ci_method", "note"]
# the design columns of a survey cell (NULL for attendance)
PRECISION_COLUMNS = ["df", "n_weighted", "deff", "ci_method", "note"]
# respondents columns the engine uses when a form declares them (a second sampling stage)
OPTIONAL_INPUTS: dict[str, dict[str, str]] = {"respondents": {"fpc2": "double"}}
CHANGE_COLUMNS = ["indicator_id", "dimension", "dimension_value", "baseline_period",
                  "latest_period", "baseline_estimate", "latest_estimate", "change", "se",
                  "ci_low", "ci_high", "p_value", "significant", "suppressed"]
OUTPUT_TABLES = ("indicator_values", "indicator_changes", "indicator_catalogue", "indicator_builds")
CUMULATIVE = "cumulative"
SCALE = {"percent": (100.0, 0.0, 100.0), "score_0_10": (1.0, 0.0, 10.0)}  # factor, floor, ceiling
_PERSON_FILTER_TABLE = {"is_youth": "a", "role": "a", "sex": "p"}
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class BuildSummary:
    """What one ``spsc build`` wrote."""

    values: int
    suppressed: int
    changes: int
    indicators: int
    periods: tuple[str, ...]


def _q(name: str) -> str:
    """A quoted identifier (names come from the validated catalogue, quoting is belt and braces)."""
    return '"' + name.replace('"', '""') + '"'


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether ``table`` has ``column`` (for the optional inputs, e.g. a second stage)."""
    return bool(con.execute(
        "select count(*) from information_schema.columns where table_schema = current_schema()"
        " and table_name = ? and column_name = ?", [table, column]).fetchall()[0][0])


def check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to build when an input mart, a contract column or an output table is missing."""
    found = con.execute(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = current_schema()").fetchall()
    have: dict[str, set[str]] = {}
    for table, column in found:
        have.setdefault(table, set()).add(column)
    absent = [t for t in (*OUTPUT_TABLES, *INPUT_TABLES) if t not in have]
    problems = [f"{'table' if len(absent) == 1 else 'tables'} {', '.join(absent)} missing"] if absent else []
    for table, columns in INPUT_TABLES.items():
        missing = [c for c in columns if table in have and c not in have[table]]
        if missing:
            problems.append(f"{table} lacks {', '.join(missing)}")
    if problems:
        raise SpscError("cannot build indicators: " + "; ".join(problems), "warehouse",
                        "run 'spsc init' and the ingest commands first")


# ------------------------------------------------------------------------------ survey
def _condition_sql(condition: Condition) -> str:
    """1.0 when the respondent meets the condition, 0.0 when not, NULL when unanswered."""
    if condition.any_true:
        cols = [_q(v) for v in condition.any_true]
        unanswered = " and ".join(f"{c} is null" for c in cols)
        hit = " or ".join(f"coalesce({c}, false)" for c in cols)
        return f"case when {unanswered} then null when {hit} then 1.0 else 0.0 end"
    col = _q(condition.variable)
    if condition.equals is not None:
        value = condition.equals
        test = f"{col} = {'true' if value is True else 'false' if value is False else float(value)!r}"
    elif condition.greater_than is not None:
        test = f"{col} > {float(condition.greater_than)!r}"
    else:
        bounds = []
        if condition.min is not None:
            bounds.append(f"{col} >= {float(condition.min)!r}")
        if condition.max is not None:
            bounds.append(f"{col} <= {float(condition.max)!r}")
        test = " and ".join(bounds)
    return f"case when {col} is null then null when {test} then 1.0 else 0.0 end"


def _value_sql(ind: Indicator) -> str:
    """The per-respondent value whose weighted mean is the indicator (before scaling)."""
    if ind.estimator == "proportion":
        return _condition_sql(ind.condition)
    cols = [_q(v) for v in ind.variables]
    if len(cols) == 1:
        return f"cast({cols[0]} as double)"
    need = ind.min_items or len(cols)
    answered = " + ".join(f"cast({c} is not null as integer)" for c in cols)
    return f"case when {answered} >= {need} then list_avg([{', '.join(cols)}]) end"


_CITIZEN_ROWS = """
    select r.wave, r.stratum, cast(r.psu as varchar) as psu, r.fpc, {fpc2} as fpc2, r.weight, r.sex,
        r.age_group, r.muni_id, r.entity, r.batch_id, {values}
    from respondents as r
    join citizen_responses as c on c.respondent_key = r.respondent_key and c.wave = r.wave
"""

# one row per youth participant with both questionnaires matched by wave and pseudonym
_YOUTH_ROWS = """
    with pre as (select * from youth_responses where phase = 'pre' and participant_key is not null),
    post as (select * from youth_responses where phase = 'post' and participant_key is not null),
    pairs as (
        select
            coalesce(post.participant_key, pre.participant_key) as participant_key,
            coalesce(post.wave, pre.wave) as wave,
            coalesce(post.sex, pre.sex) as sex,
            coalesce(post.age_group, pre.age_group) as age_group,
            coalesce(post.muni_id, pre.muni_id) as muni_id,
            coalesce(post.entity, pre.entity) as entity,
            coalesce(post.batch_id, pre.batch_id) as batch_id,
            {items}
        from pre
        full join post on post.participant_key = pre.participant_key and post.wave = pre.wave
    )
    select wave, 'all' as stratum, participant_key as psu, cast(null as double) as fpc,
        cast(null as double) as fpc2, 1.0 as weight, sex, age_group, muni_id, entity, batch_id,
        {values}
    from pairs
"""

_CELLS = """
    with survey_rows as ({rows}),
    final as (
        select wave, stratum, psu, fpc, fpc2, sex, age_group, muni_id, entity, batch_id,
            count(*) filter (where weight is null) as missing_weights,
            count(*) as n_rows,
            {sums}
        from survey_rows
        group by all
    )
    select * from final
"""


def survey_cells(con: duckdb.DuckDBPyConnection, indicators: list[Indicator], source: str) -> pd.DataFrame:
    """Sum a survey to one row per wave, stratum, PSU and domain cell (DuckDB does the pass).

    Returns one row per cell with ``n_rows`` (respondents in the cell) and, for each
    indicator ``k``: ``num__k`` (weighted total of the respondent values), ``den__k`` (weight
    of those who answered), ``n__k`` (how many answered), ``sq__k`` (weighted sum of squared
    values) and ``w2y2__k``, ``w2y__k``, ``w2__k`` (sums of w²y², w²y and w² over those who
    answered, for a second sampling stage).
    """
    values = ", ".join(f"{_value_sql(ind)} as {_q('y__' + ind.id)}" for ind in indicators)
    if source == "citizen_survey":
        rows = _CITIZEN_ROWS.format(values=values, fpc2="r.fpc2" if _has_column(
            con, "respondents", "fpc2") else "cast(null as double)")
    else:
        items = ", ".join(
            f"pre.{item} as {item}_pre, post.{item} as {item}_post,"
            f" post.{item} - pre.{item} as {item}_change" for item in YOUTH_ITEMS)
        rows = _YOUTH_ROWS.format(items=items, values=values)
    sums = ", ".join(
        f"sum(weight * {_q('y__' + i.id)}) as {_q('num__' + i.id)},"
        f" sum(weight) filter (where {_q('y__' + i.id)} is not null) as {_q('den__' + i.id)},"
        f" count({_q('y__' + i.id)}) as {_q('n__' + i.id)},"
        f" sum(weight * {_q('y__' + i.id)} * {_q('y__' + i.id)}) as {_q('sq__' + i.id)},"
        f" sum(weight * weight * {_q('y__' + i.id)} * {_q('y__' + i.id)}) as {_q('w2y2__' + i.id)},"
        f" sum(weight * weight * {_q('y__' + i.id)}) as {_q('w2y__' + i.id)},"
        f" sum(weight * weight) filter (where {_q('y__' + i.id)} is not null) as {_q('w2__' + i.id)}"
        for i in indicators)
    cells = con.execute(_CELLS.format(rows=rows, sums=sums)).df()
    bad = cells.loc[cells["missing_weights"] > 0, "wave"].unique()
    if len(bad):
        raise SpscError(f"respondents without a weight in wave {', '.join(map(str, bad))}",
                        "respondents", "fix the design weights at ingest")
    return cells


def estimate_domains(cells: pd.DataFrame, indicators: list[Indicator], dimension: str,
                     fpc: bool = True) -> pd.DataFrame:
    """Every domain of one dimension for several survey indicators, in one ``Design`` call.

    Args:
        cells: output of :func:`survey_cells` (any number of waves).
        indicators: survey indicators disaggregated by ``dimension``.
        dimension: ``total``, ``sex``, ``age_group``, ``municipality`` or ``entity``.
        fpc: use the ``fpc`` columns (False for designs sampled with replacement).

    Returns:
        One row per indicator, wave and dimension value: indicator_id, period, dimension,
        dimension_value, estimate, se, ci_low, ci_high, n, df, n_weighted, deff, ci_method,
        note (unscaled, unsuppressed).
    """
    if cells.empty or not indicators:
        return pd.DataFrame(columns=[*VALUE_COLUMNS[:9], *PRECISION_COLUMNS])
    frame = cells.assign(
        design_stratum=cells["wave"].astype(str) + "|" + cells["stratum"].astype(str))
    use_fpc = fpc and frame["fpc"].notna().any()
    if use_fpc and frame["fpc"].isna().any():
        raise SpscError("some respondents have an fpc and others not", "respondents",
                        "give every stratum its number of PSUs in the population")
    two_stage = use_fpc and "fpc2" in frame and frame["fpc2"].notna().any()
    if two_stage and frame["fpc2"].isna().any():
        raise SpscError("some respondents have a second-stage population (fpc2) and others not",
                        "respondents", "give every PSU its number of people in the population")
    stages = ("fpc", "fpc2") if two_stage else "fpc" if use_fpc else None
    try:
        design = Design.from_cells(frame, strata="design_stratum", psu="psu",
                                   respondents="n_rows", fpc=stages)
    except ValueError as exc:  # missing PSUs or strata, an fpc smaller than the sample...
        raise SpscError(f"the survey design is not usable ({exc})", "respondents",
                        "fix stratum, psu and fpc at ingest") from exc
    column = DIMENSION_COLUMNS[dimension]
    by = ["wave"] if column is None else ["wave", column]
    spec = {ind.id: CellSums(
        total=f"num__{ind.id}", weight=f"den__{ind.id}", count=f"n__{ind.id}",
        squares=f"sq__{ind.id}", w2y2=f"w2y2__{ind.id}", w2y=f"w2y__{ind.id}", w2=f"w2__{ind.id}",
        proportion=ind.estimator == "proportion") for ind in indicators}
    est = design.cell_means(spec, by=by)
    return pd.DataFrame({
        "indicator_id": est["variable"].astype(str),
        "period": est["wave"].astype(str),
        "dimension": dimension,
        "dimension_value": "total" if column is None else est[column].astype(str),
        "estimate": est["estimate"], "se": est["se"], "ci_low": est["ci_low"],
        "ci_high": est["ci_high"], "n": est["n"].astype("int64"), "df": est["df"].astype(float),
        "n_weighted": est["n_weighted"], "deff": est["deff"], "ci_method": est["ci_method"],
        "note": est["note"],
    })


def _scale(values: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Percent on 0-100, scores as they are; t intervals of means clipped to their scale.

    A proportion's logit interval lies inside (0, 100) and is never clipped.
    """
    units = values["indicator_id"].map({i.id: i.unit for i in catalogue.indicators})
    out = values.copy()
    for unit, (factor, low, high) in SCALE.items():
        rows = units.eq(unit).to_numpy()
        for col in ("estimate", "se", "ci_low", "ci_high"):
            out.loc[rows, col] = out.loc[rows, col].astype(float) * factor
        out.loc[rows, "ci_low"] = out.loc[rows, "ci_low"].clip(lower=low, upper=high)
        out.loc[rows, "ci_high"] = out.loc[rows, "ci_high"].clip(lower=low, upper=high)
    return out


def survey_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> pd.DataFrame:
    """All survey indicators x waves x domains (scaled, not yet suppressed), with batch ids."""
    parts = []
    for source, fpc in (("citizen_survey", True), ("youth_survey", False)):
        inds = [i for i in catalogue.indicators if i.source == source]
        if not inds:
            continue
        cells = survey_cells(con, inds, source)
        if cells.empty:
            continue
        batches = (cells.dropna(subset=["batch_id"]).groupby("wave")["batch_id"]
                   .agg(lambda s: sorted({int(b) for b in s})))
        for dimension in DIMENSION_COLUMNS:
            chosen = [i for i in inds if dimension in i.disaggregations]
            part = estimate_domains(cells, chosen, dimension, fpc=fpc)
            part["batch_ids"] = part["period"].map(batches)
            parts.append(part)
    if not parts:
        return pd.DataFrame(columns=[*VALUE_COLUMNS[:9], "batch_ids", *PRECISION_COLUMNS])
    return _scale(pd.concat(parts, ignore_index=True), catalogue)


# --------------------------------------------------------------------------- attendance
def _filters(mapping: dict, alias_of) -> tuple[list[str], list]:
    clauses, params = [], []
    for column, value in mapping.items():
        clauses.append(f"{alias_of(column)}.{_q(column)} = ?")
        params.append(value)
    return clauses, params


def _grouping(dims: list[str], period: str = "period") -> tuple[str, str, str]:
    """GROUP BY GROUPING SETS over the dimensions, and the SQL naming each row's dimension."""
    cols = [DIMENSION_COLUMNS[d] for d in dims if d != "total"]
    sets = ", ".join([f"({period})"] + [f"({period}, {c})" for c in cols])
    which = " ".join(f"when grouping({c}) = 0 then '{d}'" for d, c in zip(
        [d for d in dims if d != "total"], cols, strict=True))
    value = " ".join(f"when grouping({c}) = 0 then cast({c} as varchar)" for c in cols)
    dimension = f"case {which} else 'total' end" if cols else "'total'"
    dimension_value = f"case {value} else 'total' end" if cols else "'total'"
    return sets, dimension, dimension_value


def _through(through: str | None, column: str) -> tuple[str, list]:
    return (f" and {column} <= ?", [through]) if through else ("", [])


def _people_sql(ind: Indicator, min_events: int, through: str | None) -> tuple[str, list]:
    ev, ev_params = _filters(ind.event_filter, lambda c: "e")
    pf, pf_params = _filters(ind.person_filter, lambda c: _PERSON_FILTER_TABLE[c])
    limit, limit_params = _through(through, "a.quarter")
    where = " and ".join(["true", *ev, *pf])
    sets, dimension, dimension_value = _grouping(ind.disaggregations)
    having = f"having count(distinct event_id) >= {int(min_events)}" if ind.sustained else ""
    if ind.estimator == "ratio":
        num, num_params = _filters(ind.numerator_filter, lambda c: "per_person")
        known = " and ".join(f"{_q(c)} is not null" for c in ind.numerator_filter)
        estimate = (f"100.0 * count(*) filter (where {' and '.join(num)})"
                    f" / nullif(count(*) filter (where {known}), 0)")
        n = f"count(*) filter (where {known})"
    else:
        num_params, estimate, n = [], "count(*)", "count(*)"
    sql = f"""
        with base as (
            select a.person_key, a.event_id, a.quarter, p.sex, p.age_group, p.muni_id, p.entity
            from attendances as a
            join events as e on e.event_id = a.event_id
            left join participants as p on p.person_key = a.person_key
            where {where}{limit}
        ),
        periods as (
            select quarter as period, * exclude (quarter) from base
            union all
            select '{CUMULATIVE}' as period, * exclude (quarter) from base
        ),
        per_person as (
            select period, person_key, any_value(sex) as sex, any_value(age_group) as age_group,
                any_value(muni_id) as muni_id, any_value(entity) as entity
            from periods
            group by period, person_key
            {having}
        ),
        final as (
            select period, {dimension} as dimension, {dimension_value} as dimension_value,
                cast({estimate} as double) as estimate, {n} as n
            from per_person
            group by grouping sets ({sets})
        )
        select * from final
    """
    return sql, [*ev_params, *pf_params, *limit_params, *num_params]


def _events_sql(ind: Indicator, through: str | None) -> tuple[str, list]:
    ev, ev_params = _filters(ind.event_filter, lambda c: "e")
    limit, limit_params = _through(through, "e.quarter")
    where = " and ".join(["true", *ev])
    sets, dimension, dimension_value = _grouping(ind.disaggregations)
    if ind.estimator == "ratio":
        num, num_params = _filters(ind.numerator_filter, lambda c: "periods")
        estimate = (f"100.0 * count(distinct periods.event_id) filter (where {' and '.join(num)})"
                    " / nullif(count(distinct periods.event_id), 0)")
    else:
        num_params, estimate = [], "count(distinct periods.event_id)"
    sql = f"""
        with base as (
            select e.event_id, e.quarter, e.muni_id, e.entity, e.event_type, e.is_inter_entity
            from events as e
            where {where}{limit}
        ),
        periods as (
            select quarter as period, * exclude (quarter) from base
            union all
            select '{CUMULATIVE}' as period, * exclude (quarter) from base
        ),
        final as (
            select period, {dimension} as dimension, {dimension_value} as dimension_value,
                cast({estimate} as double) as estimate,
                count(distinct a.person_key) as n
            from periods
            left join attendances as a on a.event_id = periods.event_id
            group by grouping sets ({sets})
        )
        select * from final
    """
    return sql, [*ev_params, *limit_params, *num_params]


def _ties_sql(ind: Indicator) -> tuple[str, list]:
    by_muni = "municipality" in ind.disaggregations
    muni_part = """
        union all
        select period, 'municipality' as dimension, muni_id as dimension_value,
            cast(sum(n_ties) as double) as estimate, sum(n_ties) as n
        from (select period, muni_id_a as muni_id, n_ties from cross_entity_ties
              union all
              select period, muni_id_b as muni_id, n_ties from cross_entity_ties)
        group by period, muni_id
    """ if by_muni else ""
    # n is the number of ties: each joins two people, so it never understates the people behind
    sql = f"""
        with final as (
            select period, 'total' as dimension, 'total' as dimension_value,
                cast(sum(n_ties) as double) as estimate, sum(n_ties) as n
            from cross_entity_ties
            group by period
            {muni_part}
        )
        select * from final
    """
    return sql, []


def _attendance_batches(con: duckdb.DuckDBPyConnection, through: str | None) -> dict[str, list[int]]:
    """period -> the load batches of its events and sign-in sheets (``cumulative``: all)."""
    limit, params = _through(through, "quarter")
    rows = con.execute(f"""
        with batches as (
            select quarter, batch_id from events where batch_id is not null{limit}
            union
            select quarter, batch_id from attendances where batch_id is not null{limit}
        ),
        final as (
            select quarter as period, list_sort(list(distinct batch_id)) as batch_ids
            from batches group by quarter
            union all
            select '{CUMULATIVE}', list_sort(list(distinct batch_id)) from batches
        )
        select * from final
    """, params * 2).fetchall()
    return {period: list(ids or []) for period, ids in rows if ids}


def _zero_totals(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, found: pd.DataFrame,
                 through: str | None) -> pd.DataFrame:
    """Explicit zero totals for counts of events and people in periods that had events.

    "Nobody attended 3+ activities this quarter" is a result, not missing data.
    """
    limit, params = _through(through, "quarter")
    quarters = [q for (q,) in con.execute(
        f"select distinct quarter from events where quarter is not null{limit}", params).fetchall()]
    periods = [*quarters, CUMULATIVE] if quarters else []
    have = set(zip(found["indicator_id"], found["period"], found["dimension"], strict=True))
    rows = [{"indicator_id": ind.id, "period": p, "dimension": "total", "dimension_value": "total",
             "estimate": 0.0, "n": 0}
            for ind in catalogue.indicators
            if not ind.is_survey and ind.unit == "count" and ind.of != "ties"
            for p in periods if (ind.id, p, "total") not in have]
    return pd.DataFrame(rows, columns=["indicator_id", "period", "dimension", "dimension_value",
                                       "estimate", "n"])


def attendance_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, settings: Settings,
                      through: str | None = None) -> pd.DataFrame:
    """All attendance indicators x quarters (+ ``cumulative``) x domains, one query each.

    Args:
        through: only quarters up to this one (``cumulative`` then means "through it").
            Ties come from the ``cross_entity_ties`` mart, which is not cut by quarter, so
            they are left out when ``through`` is given.

    Returns:
        indicator_values rows (not yet suppressed); se and CI are NULL.
    """
    parts = []
    for ind in catalogue.indicators:
        if ind.source != "attendance":
            continue
        if ind.of == "ties":
            if through:
                continue
            sql, params = _ties_sql(ind)
        elif ind.of == "people":
            sql, params = _people_sql(ind, settings.sustained_min_events, through)
        else:
            sql, params = _events_sql(ind, through)
        part = con.execute(sql, params).df()
        part = part[part["dimension_value"].notna()]
        part.insert(0, "indicator_id", ind.id)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=[*VALUE_COLUMNS[:9], "batch_ids"])
    out = pd.concat(parts, ignore_index=True)
    # a cell whose dimension value is unknown (NULL) is not published; it stays in the total
    out = out[~((out["dimension"] != "total") & (out["dimension_value"] == "total"))]
    out = pd.concat([out, _zero_totals(con, catalogue, out, through)], ignore_index=True)
    batches = _attendance_batches(con, through)
    out["batch_ids"] = out["period"].map(lambda p: batches.get(p, []))
    for col in ("se", "ci_low", "ci_high", "df", "n_weighted", "deff"):
        out[col] = np.nan
    out["ci_method"] = None
    out["note"] = None
    out["n"] = out["n"].fillna(0).astype("int64")
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------ build
def _order(values: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    rank = {ind.id: k for k, ind in enumerate(catalogue.indicators)}
    dim_rank = {d: k for k, d in enumerate(DIMENSION_COLUMNS)}
    key = pd.DataFrame({
        "i": values["indicator_id"].map(rank), "p": values["period"].eq(CUMULATIVE),
        "period": values["period"], "d": values["dimension"].map(dim_rank),
        "v": values["dimension_value"]})
    order = key.sort_values(["i", "p", "period", "d", "v"]).index
    return values.loc[order, VALUE_COLUMNS].reset_index(drop=True)


def compute_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, settings: Settings,
                   through: str | None = None) -> pd.DataFrame:
    """``indicator_values`` rows for the whole catalogue, suppressed by ``settings.min_cell``.

    Args:
        through: cut attendance at this quarter (survey waves are unaffected); used for a
            donor table of a past period.
    """
    check_inputs(con)
    survey = survey_values(con, catalogue)
    attendance = attendance_values(con, catalogue, settings, through)
    frames = [p for p in (survey, attendance) if not p.empty]
    values = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VALUE_COLUMNS)
    counts = {i.id for i in catalogue.indicators if i.unit == "count"}
    values = suppress(values, settings.min_cell, counts)
    values["batch_ids"] = values["batch_ids"].map(lambda b: b if isinstance(b, list) else [])
    return _order(values, catalogue)


def compute_changes(values: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Baseline wave vs latest wave of every survey indicator and dimension value.

    A change involving a suppressed cell is itself suppressed (all numbers NULL).
    """
    rows = []
    baseline = catalogue.baseline_wave
    for ind in catalogue.indicators:
        if not ind.is_survey:
            continue
        own = values[values["indicator_id"] == ind.id]
        waves = sorted(p for p in own["period"].unique() if p > baseline)
        if baseline not in set(own["period"]) or not waves:
            continue
        latest = waves[-1]
        keys = ["dimension", "dimension_value"]
        pair = own[own["period"] == baseline].merge(
            own[own["period"] == latest], on=keys, suffixes=("_1", "_2"))
        if pair.empty:
            continue
        diff = difference(pair["estimate_1"], pair["se_1"], pair["estimate_2"], pair["se_2"])
        hidden = (pair["suppressed_1"] | pair["suppressed_2"]).to_numpy(dtype=bool)
        change = pd.DataFrame({
            "indicator_id": ind.id, "dimension": pair["dimension"],
            "dimension_value": pair["dimension_value"], "baseline_period": baseline,
            "latest_period": latest, "baseline_estimate": pair["estimate_1"],
            "latest_estimate": pair["estimate_2"], "change": np.asarray(diff.diff),
            "se": np.asarray(diff.se), "ci_low": np.asarray(diff.diff) - _Z95 * np.asarray(diff.se),
            "ci_high": np.asarray(diff.diff) + _Z95 * np.asarray(diff.se),
            "p_value": np.asarray(diff.p_value),
            "significant": pd.array(np.asarray(diff.significant), dtype="boolean"),
            "suppressed": hidden,
        })
        numbers = ["baseline_estimate", "latest_estimate", "change", "se", "ci_low", "ci_high", "p_value"]
        change.loc[hidden, numbers] = np.nan
        change.loc[hidden, "significant"] = pd.NA
        rows.append(change)
    if not rows:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return pd.concat(rows, ignore_index=True)[CHANGE_COLUMNS]


def catalogue_rows(catalogue: Catalogue) -> pd.DataFrame:
    """One row per indicator: the labels and units SQL readers need beside the numbers."""
    return pd.DataFrame([{
        "indicator_id": i.id, "result": i.result, "level": i.level, "label_en": i.label.en,
        "label_bs": i.label.bs, "source": i.source, "estimator": i.estimator, "unit": i.unit,
        "illustrative": i.illustrative, "position": k,
    } for k, i in enumerate(catalogue.indicators)])


def write_indicators(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, changes: pd.DataFrame,
                     catalogue: Catalogue, min_cell: int) -> None:
    """Replace the indicator marts in one transaction: readers see the old or the new, never a mix."""
    if values.duplicated(["indicator_id", "period", "dimension", "dimension_value"]).any():
        raise AssertionError("indicator_values would hold a cell twice")
    frame = values[VALUE_COLUMNS].copy()
    frame["n"] = frame["n"].astype("int64")
    for col in ("df", "n_weighted", "deff"):
        frame[col] = frame[col].astype("float64")
    for col in ("ci_method", "note"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    change_frame = changes[CHANGE_COLUMNS].copy()
    cat = catalogue_rows(catalogue)
    con.register("_values_in", frame)
    con.register("_changes_in", change_frame)
    con.register("_catalogue_in", cat)
    try:
        with transaction(con):
            con.execute("delete from indicator_values")
            con.execute(
                "insert into indicator_values by name select indicator_id, period, dimension,"
                " dimension_value, estimate, se, ci_low, ci_high, n, suppressed,"
                " cast(batch_ids as integer[]) as batch_ids, cast(df as integer) as df,"
                " n_weighted, deff, cast(ci_method as varchar) as ci_method,"
                " cast(nullif(note, '') as varchar) as note from _values_in")
            con.execute("delete from indicator_changes")
            con.execute(
                "insert into indicator_changes select indicator_id, dimension, dimension_value,"
                " baseline_period, latest_period, baseline_estimate, latest_estimate, change, se,"
                " ci_low, ci_high, p_value, cast(significant as boolean), suppressed from _changes_in")
            con.execute("delete from indicator_catalogue")
            con.execute("insert into indicator_catalogue by name select * from _catalogue_in")
            con.execute("delete from indicator_builds")
            con.execute("insert into indicator_builds values (?, ?, ?, ?, ?)",
                        [datetime.now(), catalogue_fingerprint(catalogue, min_cell), int(min_cell),
                         len(frame), int(frame["suppressed"].sum())])
    finally:
        for name in ("_values_in", "_changes_in", "_catalogue_in"):
            con.unregister(name)


def catalogue_fingerprint(catalogue: Catalogue, min_cell: int) -> str:
    """Identifies what a build was made with (the catalogue's content and the threshold)."""
    text = catalogue.model_dump_json() + f"|min_cell={min_cell}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(settings: Settings, catalogue: Catalogue | None = None, wait: float = 30.0) -> BuildSummary:
    """Compute the whole catalogue and replace the indicator marts of ``settings.db``."""
    catalogue = catalogue or load_catalogue()
    con = connect(settings.db, wait=wait)
    try:
        values = compute_values(con, catalogue, settings)
        changes = compute_changes(values, catalogue)
        write_indicators(con, values, changes, catalogue, settings.min_cell)
    finally:
        con.close()
    periods = tuple(sorted(values["period"].unique(), key=lambda p: (p == CUMULATIVE, p)))
    return BuildSummary(values=len(values), suppressed=int(values["suppressed"].sum()),
                        changes=len(changes), indicators=values["indicator_id"].nunique(),
                        periods=periods)
