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

Survey indicators are design-based estimates (:mod:`pipeline.indicators.survey_estimates`),
attendance indicators counts from the registers (:mod:`pipeline.indicators.attendance_counts`);
their SQL is in model files (``pipeline/warehouse/models/indicators``), run by
:mod:`pipeline.warehouse.runner`, and the marts are written by :mod:`pipeline.indicators.marts`.

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

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.estimator import difference
from pipeline.indicators.attendance_counts import attendance_values
from pipeline.indicators.catalogue import Catalogue, load_catalogue
from pipeline.indicators.marts import (
    CHANGE_COLUMNS,
    CUMULATIVE,
    DIMENSION_COLUMNS,
    GAP_COLUMNS,
    GAPS,
    OUTPUT_TABLES,
    VALUE_COLUMNS,
    write_indicators,
)
from pipeline.indicators.sources import (
    FormCodebook,
    SourcePlan,
    build_respondents,
    plan_sources,
    read_codebooks,
)
from pipeline.indicators.suppression import suppress
from pipeline.indicators.survey_estimates import (
    form_margins,
    respondent_design,
    survey_respondent_values,
    survey_values,
)
from pipeline.warehouse import connect, transaction
from pipeline.warehouse.contract import INPUT_TABLES  # the input contract: contract.yml

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
        design = respondent_design(rows, plan, form_margins(plan, project), [])
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
