"""Survey indicators: design-based estimates of every catalogue indicator of a form, per
wave and domain (see :mod:`pipeline.indicators.engine` for the whole build).

Estimates are R's ``svyby`` (full design kept for domains), through
:class:`pipeline.estimator.Design` with the weights, strata, PSUs and fpc the form's settings
declare; a form without a declared design is a simple random sample with weight 1 (each
respondent its own PSU: R's ``svydesign(ids = ~1)``), and a pre/post form is a simple random
sample of the people with both or either questionnaire. To stay vectorised at a million
respondents, DuckDB first sums the data to one row per (wave, stratum, PSU, domain) cell
(model ``indicators/survey_cells``): for each indicator the weighted total of its
per-respondent value and the weight of those who answered. A weighted mean is the ratio of
those two totals, and its linearised variance depends on the data only through PSU-by-domain
totals, so ``Design.ratios`` on the cells (each with weight 1) gives exactly ``svymean``'s
estimate and standard error, for all indicators and all domains of a dimension in one call
(:func:`estimate_domains`); all waves are estimated together with strata nested in waves,
which equals one design per wave. When the respondents also carry ``fpc2`` (people in the
PSU's population) the design has two stages, settlements then people (R's ``id = ~psu +
respondent, fpc = ~fpc + fpc2``), and the cells also hold the sums of squared weights the
second stage needs (``Design.from_cells`` / ``cell_means``). A calibrated form is estimated on
its respondents (model ``indicators/survey_respondent_values``) with calibrated weights.

The SQL is in the models; this module gives them the form's declarations as plain data
(:func:`survey_context`): which answers to read as which kind, and each indicator's rule.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.errors import SpscError
from pipeline.estimator import CellSums, Design
from pipeline.indicators.catalogue import Catalogue, Condition, Indicator
from pipeline.indicators.marts import DIMENSION_COLUMNS, PRECISION_COLUMNS, VALUE_COLUMNS
from pipeline.indicators.sources import STANDARD_DIMENSIONS, Column, SourcePlan
from pipeline.warehouse import runner


def _base_name(col: Column) -> str:
    """The column of the per-respondent rows holding a question (as a kind) or a score."""
    return f"score:{col.ref.removesuffix('_' + col.phase) if col.phase else col.ref}" if col.items \
        else f"{col.kind if col.phase != 'change' else 'number'}:{col.question}"


def _row_name(col: Column) -> str:
    """The column of the analysis rows an indicator reads (pre/post: the phase's value)."""
    base = _base_name(col)
    return f"{base}@{col.phase}" if col.phase else base


def _condition(condition: Condition, plan: SourcePlan) -> dict:
    """A proportion's rule as the model's ``condition`` macro reads it."""
    if condition.any_true:
        return {"test": "any_true", "columns": [
            {"name": _row_name(plan.columns[v]), "number": plan.columns[v].kind == "number"}
            for v in condition.any_true]}
    c = plan.columns[condition.variable]
    number = c.kind == "number"
    out = {"column": _row_name(c), "number": number, "test": condition.test}
    if condition.test == "has":
        out["values"] = [str(h) for h in condition.has]
    elif condition.test == "equals":
        value = condition.equals
        if isinstance(value, bool):
            out.update(test="yes_no", value=value)
        elif number:
            out["value"] = float(value)
        else:
            out["value"] = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    elif condition.test == "in":
        out["values"] = [float(v) for v in condition.in_] if number else [str(v) for v in condition.in_]
    elif condition.test == "greater_than":
        out["value"] = float(condition.greater_than)
    else:
        out.update(test="range", min=None if condition.min is None else float(condition.min),
                   max=None if condition.max is None else float(condition.max))
    return out


def _indicator(ind: Indicator, plan: SourcePlan) -> dict:
    """One indicator's per-respondent value as the model's ``value`` macro reads it."""
    if ind.estimator == "proportion":
        return {"id": ind.id, "kind": "proportion", "condition": _condition(ind.condition, plan)}
    columns = [_row_name(plan.columns[v]) for v in ind.variables]
    return {"id": ind.id, "kind": "mean", "columns": columns, "need": int(ind.min_items or len(columns))}


def survey_context(plan: SourcePlan) -> dict:
    """What the survey models read of one form's plan: the answers to pivot and how to type
    them, the design's weighting, the pre/post phases, the indicators and the dimensions."""
    answers: dict[str, dict] = {}
    for col in [*plan.columns.values(), *plan.dimensions.values()]:
        name = _base_name(col)
        if name not in answers:
            answers[name] = {"name": name, "items": list(col.items or []), "question": col.question,
                             "kind": "number" if col.phase == "change" else col.kind}
    settings = plan.settings
    pp = plan.pre_post
    return {
        "form_id": plan.form_id,
        "columns": {f"a:{p}": p for p in plan.questions()},
        "recodes": plan.recodes or {},
        "answers": list(answers.values()),
        "weighted": bool(settings is not None and settings.design is not None and settings.design.weights),
        "pre_post": None if pp is None else {"pre": pp.pre.lower(), "post": pp.post.lower()},
        "indicators": [_indicator(ind, plan) for ind in plan.indicators],
        "dimensions": [{"name": name, "column": _row_name(col)} for name, col in plan.dimensions.items()],
    }


def survey_cells(con: duckdb.DuckDBPyConnection, plan: SourcePlan) -> pd.DataFrame:
    """Sum one form to one row per wave, stratum, PSU and domain cell (DuckDB does the pass:
    model ``indicators/survey_cells``).

    Returns one row per cell with, for each indicator ``k``: ``num__k`` (weighted total of
    the respondent values), ``den__k`` (weight of those who answered) and ``n__k`` (how many
    answered), ``sq__k`` (weighted sum of squared values), with ``n_rows`` (respondents in the
    cell) and ``w_all`` (the sum of their weights, for calibration); question dimensions in
    ``dim:<name>`` columns. Where the form's respondents have a second-stage population
    (``fpc2``), also ``w2y2__k``, ``w2y__k``, ``w2__k`` (sums of w²y², w²y and w² over those
    who answered) and ``w2_all``: the second stage is the respondent, so cells are not split
    by ``ssu``.
    """
    context = survey_context(plan)
    # the w² sums serve a second stage only: respondents of the form with a second-stage population
    second = runner.rows(con, "indicators/second_stage_present", {"form_id": plan.form_id})[0][0]
    design = plan.settings.design if plan.settings is not None else None
    if design is not None and len(design.stages) == 2 and len(design.population) == 2:
        # the cells treat each respondent as the second-stage unit (people in settlements);
        # a second stage of larger units (households) would need cells split by it
        shared = runner.rows(con, "indicators/survey_shared_second_stage", **context)[0][0]
        if shared:
            raise SpscError(f"form {plan.form_id}: {shared} second-stage units hold several respondents; "
                            "two-stage designs are supported with the respondent as the second stage",
                            "forms/" + plan.form_id + ".yml", "declare one stage, or a second stage of people")
    cells = runner.query(con, "indicators/survey_cells", second_stage=bool(second), **context)
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
    value each indicator averages), for designs the cells cannot carry (calibrated weights):
    model ``indicators/survey_respondent_values``."""
    rows = runner.query(con, "indicators/survey_respondent_values", **survey_context(plan))
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


def form_margins(plan: SourcePlan, project) -> list | None:
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
        margins = form_margins(plan, project)
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
