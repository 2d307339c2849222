"""The indicator engine behind ``spsc build``: every catalogue indicator, period and domain.

A build first refills the ``respondents`` mart from the project's form settings
(:mod:`pipeline.indicators.sources`), then writes two marts in one transaction (the old rows
are replaced, never mixed with new ones):

- ``indicator_values``: one row per indicator, period, dimension and dimension value, with
  estimate, se, 95% CI, ``n`` (people behind the cell), ``suppressed`` and the load batches
  the cell was computed from. Survey indicators have one period per wave; attendance
  indicators one per quarter plus ``cumulative`` (all quarters loaded). Dimensions are
  ``total``, ``sex``, ``age_group``, ``municipality``, ``entity`` and any select_one question
  of the source form (by its name; values are choice names).
- ``indicator_changes``: one row per survey indicator and dimension value, baseline wave vs
  latest wave, with the change's se (independent samples: ``sqrt(se1² + se2²)``) and whether
  it is significant at 95%.

Survey indicators are design-based, as R's ``svyby`` (full design kept for domains), through
:class:`pipeline.estimator.Design` with the weights, strata, PSUs and fpc the form's settings
declare; a form without a declared design is a simple random sample with weight 1 (each
respondent its own PSU: R's ``svydesign(ids = ~1)``), and a pre/post form is a simple random
sample of the people with both or either questionnaire. To stay vectorised at a million
respondents, DuckDB first sums the data to one row per (wave, stratum, PSU, domain) cell: for
each indicator the weighted total of its per-respondent value and the weight of those who
answered. A weighted mean is the ratio of those two totals, and its linearised variance
depends on the data only through PSU-by-domain totals, so ``Design.ratios`` on the cells (each
with weight 1) gives exactly ``svymean``'s estimate and standard error, for all indicators and
all domains of a dimension in one call (:func:`estimate_domains`); all waves are estimated
together with strata nested in waves, which equals one design per wave. When the respondents
also carry ``fpc2`` (people in the PSU's population) the design has two stages, settlements
then people (R's ``id = ~psu + respondent, fpc = ~fpc + fpc2``), and the cells also hold the
sums of squared weights the second stage needs (``Design.from_cells`` / ``cell_means``).

Every survey cell carries ``df`` (the design degrees of freedom of its domain: PSUs minus
strata holding the domain), ``n`` (people who answered), ``n_weighted`` (their weight),
``deff`` and ``ci_method``: proportions get the logit interval on ``df`` (R ``svyciprop(method
= "logit")``), means a t interval on ``df``, clipped to their scale. A cell whose
variance cannot be estimated (a domain inside one PSU, no lonely-PSU rule applicable) is
published with its estimate, no se and no interval, and says why in ``note``; never with
se = 0. Attendance counts have none of these (a register, not a sample).

Units: proportions and shares are stored as percentages (0-100), means on their own scale,
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
from pipeline.estimator import CellSums, Design, difference
from pipeline.indicators.catalogue import Catalogue, Condition, Indicator, load_catalogue
from pipeline.indicators.sources import (
    STANDARD_DIMENSIONS,
    Column,
    FormCodebook,
    SourcePlan,
    build_respondents,
    pivot_sql,
    plan_sources,
    read_codebooks,
)
from pipeline.indicators.suppression import suppress
from pipeline.warehouse import connect, transaction
from pipeline.warehouse.contract import INPUT_TABLES  # the input contract: contract.yml

# the standard dimensions -> the column holding their values
DIMENSION_COLUMNS = {"total": None, "sex": "sex", "age_group": "age_group",
                     "municipality": "muni_id", "entity": "entity"}
VALUE_COLUMNS = ["indicator_id", "period", "dimension", "dimension_value", "estimate", "se",
                 "ci_low", "ci_high", "n", "suppressed", "batch_ids", "df", "n_weighted", "deff",
                 "ci_method", "note"]
# the design columns of a survey cell (NULL for attendance)
PRECISION_COLUMNS = ["df", "n_weighted", "deff", "ci_method", "note"]
CHANGE_COLUMNS = ["indicator_id", "dimension", "dimension_value", "baseline_period",
                  "latest_period", "baseline_estimate", "latest_estimate", "change", "se",
                  "ci_low", "ci_high", "p_value", "significant", "suppressed"]
OUTPUT_TABLES = ("indicator_values", "indicator_changes", "indicator_gaps", "indicator_catalogue",
                 "indicator_builds")
CUMULATIVE = "cumulative"
YES = ("yes", "true", "1", "da", "да")
NO = ("no", "false", "0", "ne", "не")
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
    respondents: int = 0
    notes: tuple[str, ...] = ()


def _q(name: str) -> str:
    """A quoted identifier (names come from the validated catalogue, quoting is belt and braces)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether ``table`` has ``column`` (for the optional inputs, e.g. a second stage)."""
    return bool(con.execute(
        "select count(*) from information_schema.columns where table_schema = current_schema()"
        " and table_name = ? and column_name = ?", [table, column]).fetchall()[0][0])


def check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to build when an input table, a contract column or an output table is missing."""
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
def _typed(kind: str, text: str) -> str:
    """An answer's text as the kind an indicator reads it."""
    if kind == "number":
        return f"try_cast({text} as double)"
    if kind == "multi":
        return f"string_split({text}, ' ')"
    return text


def _base_name(col: Column) -> str:
    """The column of the per-respondent rows holding a question (as a kind) or a score."""
    return f"score:{col.ref.removesuffix('_' + col.phase) if col.phase else col.ref}" if col.items \
        else f"{col.kind if col.phase != 'change' else 'number'}:{col.question}"


def _row_name(col: Column) -> str:
    """The column of the analysis rows an indicator reads (pre/post: the phase's value)."""
    base = _base_name(col)
    return f"{base}@{col.phase}" if col.phase else base


def survey_rows_sql(plan: SourcePlan) -> str:
    """One row per respondent (pre/post forms: per participant) with design, domains and the
    answers the indicators read, recoded and typed."""
    form = _lit(plan.form_id)
    paths = plan.questions()
    columns = [*plan.columns.values(), *plan.dimensions.values()]
    base_cols: dict[str, str] = {}
    for col in columns:
        name = _base_name(col)
        if name in base_cols:
            continue
        if col.items:
            items = ", ".join(_typed("number", f"w.{_q('a:' + p)}") for p in col.items)
            base_cols[name] = f"list_avg(list_filter([{items}], lambda x: x is not null))"
        else:
            kind = "number" if col.phase == "change" else col.kind
            base_cols[name] = _typed(kind, f"w.{_q('a:' + col.question)}")
    weighted = plan.settings is not None and plan.settings.design is not None and plan.settings.design.weights
    weight = "r.weight" if weighted else "1.0"
    selected = "".join(f", {expr} as {_q(name)}" for name, expr in base_cols.items())
    # one row per current submission: the answers the indicators read, recoded (text)
    wide = pivot_sql(plan.form_id, {f"a:{p}": p for p in paths}, plan.recodes)
    base = f"""
        with wide as ({wide}),
        base as (
            select r.wave, r.respondent_key, r.link_key, r.phase, r.submitted_at,
                coalesce(r.stratum, 'all') as stratum, coalesce(r.psu, r.respondent_key) as psu,
                r.ssu, r.fpc, r.fpc2, {weight} as weight, r.sex, r.age_group, r.muni_id, r.entity,
                r.batch_id{selected}
            from respondents as r
            left join wide as w on w.submission_id = r.submission_id
            where r.form_id = {form}
        )"""
    pp = plan.pre_post
    if pp is None:
        return base + "\n        select * from base"
    # one row per participant and wave with both questionnaires matched by the link pseudonym
    pairs = []
    for name in base_cols:
        pairs.append(f"coalesce(post.{_q(name)}, pre.{_q(name)}) as {_q(name)}")
        pairs.append(f"pre.{_q(name)} as {_q(name + '@pre')}, post.{_q(name)} as {_q(name + '@post')}")
        if name.startswith(("number:", "score:")):
            pairs.append(f"post.{_q(name)} - pre.{_q(name)} as {_q(name + '@change')}")
    keep = ", ".join(f"coalesce(post.{c}, pre.{c}) as {c}"
                     for c in ("sex", "age_group", "muni_id", "entity", "batch_id"))
    # a participant who filled the same phase twice counts with the latest submission
    latest = ("row_number() over (partition by link_key, wave, phase"
              " order by submitted_at desc nulls last, batch_id desc, respondent_key) = 1")
    return base + f""",
        pre as (select * from base where phase = {_lit(pp.pre.lower())} and link_key is not null
                qualify {latest}),
        post as (select * from base where phase = {_lit(pp.post.lower())} and link_key is not null
                 qualify {latest})
        select coalesce(post.wave, pre.wave) as wave, 'all' as stratum,
            coalesce(post.link_key, pre.link_key) as psu, cast(null as varchar) as ssu,
            cast(null as double) as fpc, cast(null as double) as fpc2, 1.0 as weight, {keep}
            {''.join(', ' + p for p in pairs)}
        from pre
        full join post on post.link_key = pre.link_key and post.wave = pre.wave"""


def _yes_no(col: str, value: bool) -> str:
    words = YES if value else NO
    return f"lower(trim(cast({col} as varchar))) in ({', '.join(_lit(w) for w in words)})"


def _condition_sql(condition: Condition, plan: SourcePlan) -> str:
    """1.0 when the respondent meets the condition, 0.0 when not, NULL when unanswered."""
    if condition.any_true:
        cols = [plan.columns[v] for v in condition.any_true]
        names = [_q(_row_name(c)) for c in cols]
        unanswered = " and ".join(f"{n} is null" for n in names)
        hit = " or ".join(f"coalesce({n} = 1, false)" if c.kind == "number" else f"coalesce({_yes_no(n, True)}, false)"
                          for n, c in zip(names, cols, strict=True))
        return f"case when {unanswered} then null when {hit} then 1.0 else 0.0 end"
    c = plan.columns[condition.variable]
    col = _q(_row_name(c))
    test = condition.test
    if test == "has":
        test_sql = f"list_has_any({col}, [{', '.join(_lit(h) for h in condition.has)}])"
    elif test == "equals":
        value = condition.equals
        if isinstance(value, bool):
            test_sql = f"{col} = {1.0 if value else 0.0}" if c.kind == "number" else _yes_no(col, value)
        elif c.kind == "number":
            test_sql = f"{col} = {float(value)!r}"
        else:
            text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            test_sql = f"{col} = {_lit(text)}"
    elif test == "in":
        if c.kind == "number":
            test_sql = f"{col} in ({', '.join(repr(float(v)) for v in condition.in_)})"
        else:
            test_sql = f"{col} in ({', '.join(_lit(v) for v in condition.in_)})"
    elif test == "greater_than":
        test_sql = f"{col} > {float(condition.greater_than)!r}"
    else:
        bounds = []
        if condition.min is not None:
            bounds.append(f"{col} >= {float(condition.min)!r}")
        if condition.max is not None:
            bounds.append(f"{col} <= {float(condition.max)!r}")
        test_sql = " and ".join(bounds)
    return f"case when {col} is null then null when {test_sql} then 1.0 else 0.0 end"


def _value_sql(ind: Indicator, plan: SourcePlan) -> str:
    """The per-respondent value whose weighted mean is the indicator (before scaling)."""
    if ind.estimator == "proportion":
        return _condition_sql(ind.condition, plan)
    cols = [_q(_row_name(plan.columns[v])) for v in ind.variables]
    if len(cols) == 1:
        return f"cast({cols[0]} as double)"
    need = ind.min_items or len(cols)
    answered = " + ".join(f"cast({c} is not null as integer)" for c in cols)
    return f"case when {answered} >= {need} then list_avg([{', '.join(cols)}]) end"


def _valued_sql(plan: SourcePlan) -> tuple[str, str]:
    """Select-list parts over ``survey_rows``: each indicator's per-respondent value
    (``y__<id>``) and each question dimension (``dim:<name>``, with a leading comma)."""
    values = ", ".join(f"{_value_sql(ind, plan)} as {_q('y__' + ind.id)}" for ind in plan.indicators)
    dims = "".join(f", {_q(_row_name(col))} as {_q('dim:' + name)}" for name, col in plan.dimensions.items())
    return values, dims


def survey_cells(con: duckdb.DuckDBPyConnection, plan: SourcePlan) -> pd.DataFrame:
    """Sum one form to one row per wave, stratum, PSU and domain cell (DuckDB does the pass).

    Returns one row per cell with, for each indicator ``k``: ``num__k`` (weighted total of
    the respondent values), ``den__k`` (weight of those who answered) and ``n__k`` (how many
    answered), ``sq__k`` (weighted sum of squared values), with ``n_rows`` (respondents in the
    cell) and ``w_all`` (the sum of their weights, for calibration); question dimensions in
    ``dim:<name>`` columns. Where the form's respondents have a second-stage population
    (``fpc2``), also ``w2y2__k``, ``w2y__k``, ``w2__k`` (sums of w²y², w²y and w² over those
    who answered) and ``w2_all``: the second stage is the respondent, so cells are not split
    by ``ssu``.
    """
    inds = plan.indicators
    values, dims = _valued_sql(plan)
    # the w² sums serve a second stage only: respondents of the form with a second-stage population
    second = con.execute("select count(fpc2) > 0 from respondents where form_id = ?", [plan.form_id]).fetchall()[0][0]
    sums = ", ".join(
        f"sum(weight * {_q('y__' + i.id)}) as {_q('num__' + i.id)},"
        f" sum(weight) filter (where {_q('y__' + i.id)} is not null) as {_q('den__' + i.id)},"
        f" count({_q('y__' + i.id)}) as {_q('n__' + i.id)},"
        f" sum(weight * {_q('y__' + i.id)} * {_q('y__' + i.id)}) as {_q('sq__' + i.id)}"
        + (f", sum(weight * weight * {_q('y__' + i.id)} * {_q('y__' + i.id)}) as {_q('w2y2__' + i.id)},"
           f" sum(weight * weight * {_q('y__' + i.id)}) as {_q('w2y__' + i.id)},"
           f" sum(weight * weight) filter (where {_q('y__' + i.id)} is not null) as {_q('w2__' + i.id)}"
           if second else "")
        for i in inds) + ", sum(weight) as w_all" + (", sum(weight * weight) as w2_all" if second else "")
    sql = f"""
        with survey_rows as ({survey_rows_sql(plan)}),
        valued as (
            select wave, stratum, psu, fpc, fpc2, weight, sex, age_group, muni_id, entity,
                batch_id{dims}, {values}
            from survey_rows
        ),
        final as (
            select * exclude (weight, {', '.join(_q('y__' + i.id) for i in inds)}),
                count(*) filter (where weight is null) as missing_weights,
                count(*) as n_rows,
                {sums}
            from valued
            group by all
        )
        select * from final
    """
    design = plan.settings.design if plan.settings is not None else None
    if design is not None and len(design.stages) == 2 and len(design.population) == 2:
        # the cells treat each respondent as the second-stage unit (people in settlements);
        # a second stage of larger units (households) would need cells split by it
        shared = con.execute(f"with survey_rows as ({survey_rows_sql(plan)}) select count(*) from "
                             "(select 1 from survey_rows where ssu is not null group by wave, psu, ssu "
                             "having count(*) > 1)").fetchall()[0][0]
        if shared:
            raise SpscError(f"form {plan.form_id}: {shared} second-stage units hold several respondents; "
                            "two-stage designs are supported with the respondent as the second stage",
                            "forms/" + plan.form_id + ".yml", "declare one stage, or a second stage of people")
    cells = con.execute(sql).df()
    bad = cells.loc[cells["missing_weights"] > 0, "wave"].unique()
    if len(bad):
        raise SpscError(f"respondents of form {plan.form_id} without a weight in wave {', '.join(map(str, bad))}",
                        "respondents", "fix the design weights at ingest, or the form's design settings")
    return cells


def estimate_domains(cells: pd.DataFrame, indicators: list[Indicator], dimension: str,
                     column: str | None = None, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every domain of one dimension for several survey indicators, in one ``Design`` call.

    Args:
        cells: output of :func:`survey_cells` (any number of waves).
        indicators: survey indicators disaggregated by ``dimension``.
        dimension: the dimension's name (``total``, ``sex``, ..., or a question's name).
        column: the cells' column holding its values (default: the standard dimension's).
        population: post-strata and their population counts (``post_stratum``,
            ``population``) when the cells carry a ``post_stratum`` column: the weights are
            post-stratified to them (see :mod:`pipeline.indicators.calibration`).

    Returns:
        One row per indicator, wave and dimension value: indicator_id, period, dimension,
        dimension_value, estimate, se, ci_low, ci_high, n, df, n_weighted, deff, ci_method,
        note (unscaled, unsuppressed).
    """
    if cells.empty or not indicators:
        return pd.DataFrame(columns=[*VALUE_COLUMNS[:9], *PRECISION_COLUMNS])
    frame = cells.assign(
        design_stratum=cells["wave"].astype(str) + "|" + cells["stratum"].astype(str))
    stages = _stages(frame)
    try:
        calibration = {} if population is None else {
            "post_strata": "post_stratum", "population": population, "weight_all": "w_all",
            "w2_all": "w2_all" if "w2_all" in frame else None}
        design = Design.from_cells(frame, strata="design_stratum", psu="psu",
                                   respondents="n_rows", fpc=stages, deff=_deff_kind(stages), **calibration)
    except ValueError as exc:  # missing PSUs or strata, an fpc smaller than the sample...
        raise SpscError(f"the survey design is not usable ({exc})", "respondents",
                        "fix stratum, psu and fpc at ingest") from exc
    if column is None:
        column = DIMENSION_COLUMNS[dimension]
    by = ["wave"] if column is None else ["wave", column]
    spec = {ind.id: CellSums(
        total=f"num__{ind.id}", weight=f"den__{ind.id}", count=f"n__{ind.id}",
        squares=f"sq__{ind.id}", proportion=ind.estimator == "proportion",
        **({"w2y2": f"w2y2__{ind.id}", "w2y": f"w2y__{ind.id}", "w2": f"w2__{ind.id}"}
           if f"w2__{ind.id}" in frame else {})) for ind in indicators}
    return _domain_frame(design.cell_means(spec, by=by), dimension, column)


def _deff_kind(stages: str | tuple[str, str] | None) -> str:
    """The design effect's yardstick: simple random sampling without replacement where the
    form declares population sizes (R's ``deff = TRUE``), with replacement where it does not
    (R's ``deff = "replace"``): without a population size, R's default compares with a
    sample of the whole population (weights 1: N = n) and gives an infinite deff."""
    return "srswor" if stages is not None else "replace"


def _stages(frame: pd.DataFrame) -> str | tuple[str, str] | None:
    """The fpc columns the design uses: a declared population size is used; a form without
    one is sampled with replacement; ``fpc2`` (people in the PSU) adds the second stage."""
    use_fpc = frame["fpc"].notna().any()
    if use_fpc and frame["fpc"].isna().any():
        raise SpscError("some respondents have an fpc and others not", "respondents",
                        "give every stratum its number of PSUs in the population")
    two_stage = use_fpc and "fpc2" in frame and frame["fpc2"].notna().any()
    if two_stage and frame["fpc2"].isna().any():
        raise SpscError("some respondents have a second-stage population (fpc2) and others not",
                        "respondents", "give every PSU its number of people in the population")
    return ("fpc", "fpc2") if two_stage else "fpc" if use_fpc else None


def _domain_frame(est: pd.DataFrame, dimension: str, column: str | None) -> pd.DataFrame:
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


def survey_respondent_values(con: duckdb.DuckDBPyConnection, plan: SourcePlan) -> pd.DataFrame:
    """One row per respondent of a cross-sectional form: design, domains and ``y__<id>`` (the
    value each indicator averages), for designs the cells cannot carry (calibrated weights)."""
    values, dims = _valued_sql(plan)
    rows = con.execute(f"""
        with survey_rows as ({survey_rows_sql(plan)})
        select wave, stratum, psu, respondent_key, fpc, fpc2, weight, sex, age_group, muni_id, entity,
            batch_id{dims}, {values}
        from survey_rows order by wave, stratum, psu, respondent_key""").df()
    bad = rows.loc[rows["weight"].isna(), "wave"].unique()
    if len(bad):
        raise SpscError(f"respondents of form {plan.form_id} without a weight in wave {', '.join(map(str, bad))}",
                        "respondents", "fix the design weights at ingest, or the form's design settings")
    return rows


def respondent_design(rows: pd.DataFrame, plan: SourcePlan, margins: list | None,
                      notes: list[str]) -> Design:
    """The respondents' design (``psu`` then the respondent for two stages), calibrated to the
    form's margins wave by wave when ``margins`` are given."""
    from pipeline.indicators.calibration import calibrate

    frame = rows.assign(design_stratum=rows["wave"].astype(str) + "|" + rows["stratum"].astype(str))
    stages = _stages(frame)
    psu = ("psu", "respondent_key") if isinstance(stages, tuple) else "psu"
    try:
        design = Design(frame, weights="weight", strata="design_stratum", psu=psu, fpc=stages,
                        deff=_deff_kind(stages))
    except ValueError as exc:
        raise SpscError(f"the survey design is not usable ({exc})", "respondents",
                        "fix stratum, psu and fpc at ingest") from exc
    if margins is None:
        return design
    design, found = calibrate(design, frame, plan.settings.calibration, margins, plan.form_id)
    notes += found
    return design


def _margins(plan: SourcePlan, project) -> list | None:
    """The form's calibration margins (None: not calibrated)."""
    from pipeline.indicators.calibration import read_margins

    calibration = plan.settings.calibration if plan.settings is not None else None
    if calibration is None:
        return None
    if project is None:
        raise SpscError(f"form {plan.form_id} is calibrated: its margins are read from the project folder",
                        plan.settings.path, "run the build inside the project (or with --project)")
    return read_margins(project.root, calibration, plan.settings.path or plan.form_id)


def estimate_respondents(design: Design, indicators: list[Indicator], dimension: str,
                         column: str | None = None) -> pd.DataFrame:
    """:func:`estimate_domains` on a respondent-level design (``y__<id>`` columns)."""
    if not indicators:
        return pd.DataFrame(columns=[*VALUE_COLUMNS[:9], *PRECISION_COLUMNS])
    if column is None:
        column = DIMENSION_COLUMNS[dimension]
    by = ["wave"] if column is None else ["wave", column]
    parts = []
    means = [i.id for i in indicators if i.estimator != "proportion"]
    props = [i.id for i in indicators if i.estimator == "proportion"]
    if means:
        parts.append(design.means([f"y__{i}" for i in means], by))
    if props:
        parts.append(design.proportions({f"y__{i}": (f"y__{i}", 1.0) for i in props}, by))
    est = pd.concat(parts, ignore_index=True)
    est["variable"] = est["variable"].astype(str).str.removeprefix("y__")
    return _domain_frame(est, dimension, column)


def _scale(values: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Percent on 0-100, scores as they are; t intervals of means clipped to their scale.

    A proportion's logit interval lies inside (0, 100) and is never clipped.
    """
    out = values.copy()
    for ind in catalogue.indicators:
        rows = out["indicator_id"].eq(ind.id).to_numpy()
        if not rows.any():
            continue
        if ind.unit == "percent":
            for col in ("estimate", "se", "ci_low", "ci_high"):
                out.loc[rows, col] = out.loc[rows, col].astype(float) * 100.0
        if ind.bounds is not None:
            low, high = ind.bounds
            for col in ("ci_low", "ci_high"):
                out.loc[rows, col] = out.loc[rows, col].astype(float).clip(lower=low, upper=high)
    return out


def survey_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, plans: dict[str, SourcePlan],
                  project=None, notes: list[str] | None = None) -> pd.DataFrame:
    """All survey indicators x waves x domains (scaled, not yet suppressed), with batch ids.

    A form whose settings declare ``calibration`` is estimated with the weights calibrated to
    the margins (read from ``project``'s folder); ``notes`` receives what the calibration
    could not do as declared (respondents outside the margins, merged post-strata).
    """
    from pipeline.cleaning.apply import ensure_cleaned_answers

    ensure_cleaned_answers(con)
    notes = [] if notes is None else notes
    parts = []
    for plan in plans.values():
        if not plan.indicators:
            continue
        margins = _margins(plan, project)
        # post-stratification runs on the cells; rake and calibrate on the respondents
        calibration = margins is not None and plan.settings.calibration.method != "poststratify"
        population = None
        if calibration:
            frame = survey_respondent_values(con, plan)
            if frame.empty:
                continue
            design = respondent_design(frame, plan, margins, notes)
        else:
            frame = survey_cells(con, plan)
            if frame.empty:
                continue
            if margins is not None:
                from pipeline.indicators.calibration import post_strata

                key, population = post_strata(frame.assign(weight=frame["w_all"]), margins[0],
                                              plan.form_id, notes, plan.settings.calibration.min_respondents)
                frame = frame.assign(post_stratum=key)
        batches = (frame.dropna(subset=["batch_id"]).groupby("wave")["batch_id"]
                   .agg(lambda s: sorted({int(b) for b in s})))
        dims = list(DIMENSION_COLUMNS) + list(plan.dimensions)
        for dimension in dims:
            chosen = [i for i in plan.indicators
                      if dimension in {plan.dimension_of(i, d) for d in i.disaggregations}]
            column = None if dimension in STANDARD_DIMENSIONS else f"dim:{dimension}"
            if calibration:
                part = estimate_respondents(design, chosen, dimension, column)
            else:
                part = estimate_domains(frame, chosen, dimension, column, population)
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


def _people_sql(ind: Indicator, through: str | None) -> tuple[str, list]:
    ev, ev_params = _filters(ind.event_filter, lambda c: "e")
    pf, pf_params = _filters(ind.person_filter, lambda c: _PERSON_FILTER_TABLE[c])
    limit, limit_params = _through(through, "a.quarter")
    where = " and ".join(["true", *ev, *pf])
    sets, dimension, dimension_value = _grouping(ind.disaggregations)
    having = (f"having count(distinct event_id) >= {int(ind.min_activities)}"
              if ind.min_activities is not None else "")
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
            sql, params = _people_sql(ind, through)
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
        "period": values["period"],
        # question dimensions come after the standard ones, by name
        "d": values["dimension"].map(dim_rank).fillna(len(dim_rank)), "dn": values["dimension"],
        "v": values["dimension_value"]})
    order = key.sort_values(["i", "p", "period", "d", "dn", "v"]).index
    return values.loc[order, VALUE_COLUMNS].reset_index(drop=True)


def compute_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, settings: Settings,
                   through: str | None = None, plans: dict[str, SourcePlan] | None = None,
                   notes: list[str] | None = None) -> pd.DataFrame:
    """``indicator_values`` rows for the whole catalogue, suppressed by ``settings.min_cell``.

    Args:
        through: cut attendance at this quarter (survey waves are unaffected); used for a
            donor table of a past period.
        plans: the survey sources, resolved (default: resolved here from the codebook).
        notes: receives what the build could not do as asked (see :func:`survey_values`).
    """
    check_inputs(con)
    if plans is None:
        plans, _ = plan_sources(catalogue, settings.project, read_codebooks(con))
    survey = survey_values(con, catalogue, plans, settings.project, notes)
    attendance = attendance_values(con, catalogue, settings, through)
    frames = [p for p in (survey, attendance) if not p.empty]
    values = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VALUE_COLUMNS)
    counts = {i.id for i in catalogue.indicators if i.unit == "count"}
    values = suppress(values, settings.min_cell, counts)
    values["batch_ids"] = values["batch_ids"].map(lambda b: b if isinstance(b, list) else [])
    return _order(values, catalogue)


GAPS = (("sex", "female", "male"), ("entity", "FBiH", "RS"))  # dimension, first, second
GAP_COLUMNS = ["indicator_id", "period", "dimension", "first", "second", "estimate_first",
               "estimate_second", "gap", "se", "df", "ci_low", "ci_high", "p_value", "significant",
               "suppressed"]


def compute_gaps(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, plans: dict[str, SourcePlan],
                 values: pd.DataFrame, project=None) -> pd.DataFrame:
    """Women minus men and FBiH minus RS within each wave, for every survey indicator broken
    down by sex or entity: the difference of two domains of one sample with its covariance
    (``Design.differences``, R's ``svycontrast`` of ``svyby(covmat = TRUE)``), on the calibrated
    weights where the form is calibrated. A gap with a suppressed side is suppressed. Pre/post
    forms have no gaps here (their changes are per participant)."""
    parts = []
    published = values.set_index(["indicator_id", "period", "dimension", "dimension_value"])["suppressed"]
    for plan in plans.values():
        chosen = [(ind, dim, a, b) for ind in plan.indicators for dim, a, b in GAPS
                  if dim in {plan.dimension_of(ind, d) for d in ind.disaggregations}]
        if not chosen or plan.pre_post is not None:
            continue
        rows = survey_respondent_values(con, plan)
        if rows.empty:
            continue
        design = respondent_design(rows, plan, _margins(plan, project), [])
        for ind, dim, a, b in chosen:
            column = DIMENSION_COLUMNS[dim]
            if ind.estimator == "proportion":
                d = design.differences("proportion", f"y__{ind.id}", column, a, b, by="wave", value=1.0)
            else:
                d = design.differences("mean", f"y__{ind.id}", column, a, b, by="wave")
            if d.empty:
                continue
            scale = 100.0 if ind.unit == "percent" else 1.0
            frame = pd.DataFrame({
                "indicator_id": ind.id, "period": d["wave"].astype(str), "dimension": dim,
                "first": a, "second": b,
                **{k: d[src].astype(float) * scale for k, src in (
                    ("estimate_first", "estimate_first"), ("estimate_second", "estimate_second"),
                    ("gap", "estimate"), ("se", "se"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))},
                "df": d["df"].astype(float), "p_value": d["p_value"].astype(float),
            })
            hidden = [bool(published.get((ind.id, p, dim, a), True)) or bool(published.get((ind.id, p, dim, b), True))
                      for p in frame["period"]]
            frame["suppressed"] = hidden
            frame["significant"] = (frame["p_value"] < 0.05).astype(object)
            numbers = ["estimate_first", "estimate_second", "gap", "se", "df", "ci_low", "ci_high", "p_value"]
            frame.loc[frame["suppressed"], numbers] = np.nan
            frame.loc[frame["suppressed"] | frame["p_value"].isna(), "significant"] = None
            parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=GAP_COLUMNS)
    return pd.concat(parts, ignore_index=True)[GAP_COLUMNS]


def compute_changes(values: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Baseline wave vs latest wave of every survey indicator and dimension value.

    A change involving a suppressed cell is itself suppressed (all numbers NULL).
    """
    rows = []
    for ind in catalogue.indicators:
        if not ind.is_survey:
            continue
        own = values[values["indicator_id"] == ind.id]
        # the project's baseline wave, or the indicator's first wave when the project names none
        baseline = baseline_period(catalogue, own["period"])
        if baseline is None:
            continue
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


def baseline_period(catalogue: Catalogue, periods) -> str | None:
    """The wave a survey indicator's change and computed baseline start from."""
    if catalogue.baseline_wave:
        return catalogue.baseline_wave
    waves = sorted(p for p in set(periods) if p != CUMULATIVE)
    return waves[0] if waves else None


def catalogue_rows(catalogue: Catalogue) -> pd.DataFrame:
    """One row per indicator: the labels and units SQL readers need beside the numbers."""
    return pd.DataFrame([{
        "indicator_id": i.id, "result": i.result, "level": i.level or "", "label_en": i.label.en,
        "label_bs": i.label.bs, "source": i.source, "estimator": i.estimator, "unit": i.display_unit,
        "illustrative": i.illustrative, "position": k,
    } for k, i in enumerate(catalogue.indicators)])


def write_indicators(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, changes: pd.DataFrame,
                     catalogue: Catalogue, min_cell: int, gaps: pd.DataFrame | None = None) -> None:
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
    gap_frame = (pd.DataFrame(columns=GAP_COLUMNS) if gaps is None else gaps[GAP_COLUMNS]).copy()
    for col in GAP_COLUMNS[5:-2]:
        gap_frame[col] = gap_frame[col].astype("float64")
    gap_frame["significant"] = gap_frame["significant"].astype("boolean")
    gap_frame["suppressed"] = gap_frame["suppressed"].astype(bool)
    con.register("_gaps_in", gap_frame)
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
            con.execute("delete from indicator_gaps")
            con.execute("insert into indicator_gaps select indicator_id, period, dimension, first, second,"
                        " estimate_first, estimate_second, gap, se, cast(df as integer), ci_low, ci_high,"
                        " p_value, significant, suppressed from _gaps_in")
            con.execute("delete from indicator_catalogue")
            con.execute("insert into indicator_catalogue by name select * from _catalogue_in")
            con.execute("delete from indicator_builds")
            con.execute("insert into indicator_builds values (?, ?, ?, ?, ?)",
                        [datetime.now(), catalogue_fingerprint(catalogue, min_cell), int(min_cell),
                         len(frame), int(frame["suppressed"].sum())])
    finally:
        for name in ("_values_in", "_changes_in", "_catalogue_in", "_gaps_in"):
            con.unregister(name)


def catalogue_fingerprint(catalogue: Catalogue, min_cell: int) -> str:
    """Identifies what a build was made with (the catalogue's content and the threshold)."""
    text = catalogue.model_dump_json() + f"|min_cell={min_cell}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(settings: Settings, catalogue: Catalogue | None = None,
          wait: float | None = None) -> BuildSummary:
    """Refill ``respondents`` from the project's form settings, compute the whole catalogue and
    replace the indicator marts of ``settings.db``.

    ``wait``: seconds to queue behind another writer (default: the ``write_wait`` setting).
    """
    from pipeline.cleaning.apply import refresh_effects
    from pipeline.warehouse import migrate
    from pipeline.warehouse.setup import mark_project_area

    project = settings.require_project()
    catalogue = catalogue or load_catalogue(project)
    con = connect(settings.db, wait=settings.write_wait if wait is None else wait)
    try:
        migrate(con)
        check_inputs(con)
        books: dict[str, FormCodebook] = read_codebooks(con)
        plans, notes = plan_sources(catalogue, project, books)
        with transaction(con):
            refresh_effects(con)  # the cleaning logs' decisions, against the data as now loaded
            respondents = build_respondents(con, project, books)
            mark_project_area(con, project.area)
        values = compute_values(con, catalogue, settings, plans=plans, notes=notes)
        changes = compute_changes(values, catalogue)
        gaps = compute_gaps(con, catalogue, plans, values, project)
        write_indicators(con, values, changes, catalogue, settings.min_cell, gaps)
    finally:
        con.close()
    periods = tuple(sorted(values["period"].unique(), key=lambda p: (p == CUMULATIVE, p)))
    return BuildSummary(values=len(values), suppressed=int(values["suppressed"].sum()),
                        changes=len(changes), indicators=values["indicator_id"].nunique(),
                        periods=periods, respondents=respondents, notes=tuple(notes))
