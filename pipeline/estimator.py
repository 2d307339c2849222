"""Design-based survey estimation that reproduces R's ``survey`` package.

``Design`` mirrors ``svydesign()``; its methods mirror ``svymean``, ``svytotal``,
``svyratio``, ``svyciprop``, ``svyby``, ``postStratify``, ``rake``, ``calibrate`` and
``svycontrast``. Every number is checked against R in ``tests/test_survey.py`` (reference
values made by ``tests/fixtures/survey_r/make_reference.R`` with Debian's R 4.2 and
survey 4.1-1).

Example::

    d = Design(df, weights="pw", strata="stype", psu="dnum", fpc="fpc")
    d.mean("api00")                             # svymean(~api00, d, na.rm=TRUE)
    d.mean("api00", by="stype")                 # svyby(~api00, ~stype, d, svymean, na.rm=TRUE)
    d.proportion("sch.wide", "Yes", by="stype")  # + svyciprop(method="logit", df=degf(domain))
    d.means(["api00", "enroll"], by=["stype", "awards"])   # long format
    two = Design(df, psu=("dnum", "snum"), fpc=("fpc1", "fpc2"))  # id=~dnum+snum, fpc=~fpc1+fpc2
    cal = d.rake([("stype", pop_stype), ("sch.wide", pop_sw)])   # rake(d, list(~stype, ~sch.wide), ...)
    d.differences("mean", "api00", between="sch.wide", first="Yes", second="No", by="stype")

Every estimate carries ``estimate, se, df, ci_low, ci_high, ci_method, n, n_weighted,
deff, note``:

* ``df`` is R's ``degf()`` of the domain's design (``svyby`` subsets the design, and
  ``svyciprop`` inside ``svyby`` uses that subset's ``degf``): PSUs minus strata among the
  domain's rows with a non-zero weight, rows with a missing value of the variable included.
* Means, totals and ratios get a t interval on ``df`` (R ``confint(est, df = df)``);
  proportions the logit interval on ``df`` (R ``svyciprop(method = "logit", df = df)``),
  which stays inside (0, 1). No interval is clipped.
* ``n`` counts the rows with a value (complete rows for ratios), ``n_weighted`` is their
  weight (the estimate's base, R's ``psum``), ``deff`` is R's ``deff = TRUE`` (SRS without
  replacement of the same size from a population of ``n_weighted``; ``Design(...,
  deff="replace")`` for ``deff = "replace"``).
* ``note`` says when a number is not what it seems (codes joined by ``;``):
  ``lonely_psu_<rule>`` (a stratum of the domain had a single PSU and the rule was applied),
  ``variance_not_estimable`` (se and interval NaN: R's variance is NaN, or the variance is
  exactly 0 although the values vary and the domain has no degree of freedom, e.g. a domain
  inside one PSU or a lonely PSU under ``"remove"``), ``no_degrees_of_freedom`` (df = 0:
  no t quantile, interval NaN, as R), ``no_variation`` (every value equal, e.g. 0% or 100%:
  se 0 as R, but no interval rather than a zero-width one) and ``no_observations``.

Variance is by Taylor linearisation (R's ``svyrecvar``): each estimator forms influence
values per row, summed to sampling units; within stratum ``h`` with ``n_h`` sampled PSUs
and ``f_h = n_h / N_h``

    V1 = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (z_hi - zbar_h)^2.

Multistage designs (``psu=("psu", "ssu")``, ``fpc=("fpc1", "fpc2")``) add, as R's
``multistage()`` does when an fpc is given for every stage, the variance of each later
stage within its parent unit, multiplied by the parent's sampling fraction:

    V = V1 + sum_i f_h(i) V2_i,  V2_i = (1 - n_i/N_i) n_i/(n_i - 1) sum_j (z_ij - zbar_i)^2,

(recursively for further stages). Without ``fpc`` only the first stage enters (the
ultimate-cluster approximation, R's behaviour without fpc). Units of a stage are nested in
those of the previous stage and PSUs in strata (R's ``nest=TRUE``).

How R's conventions are matched (survey 4.1-1 unless said):

* Domains (``by=``) as ``svyby``: the domain's rows keep the full design's unit counts
  (``n_h``, ``n_i``), units without domain rows count as zero totals; a stratum without a
  domain row (after ``na.rm``) is absent from the domain's design. Domains whose ``by``
  value is missing are dropped. ``na.rm=TRUE`` is treated like a domain of the rows with
  a value, each variable on its own.
* Lonely PSUs (a stratum, or at a later stage a parent unit, with one sampled unit and
  more than one in the population), ``lonely_psu=`` as ``options(survey.lonely.psu=)``:
  ``"adjust"`` centres the lonely unit at the grand mean of the domain's PSU totals
  (survey >= 4.2; at a later stage the parent's mean, i.e. no contribution),
  ``"adjust_zero"`` at zero (survey <= 4.1, which the fixture was made with; both agree for
  means, proportions and ratios, whose scores sum to zero), ``"average"`` replaces the
  stratum's contribution by the average of the others (NaN when there is none, as R),
  ``"remove"`` and ``"certainty"`` drop it, ``"fail"`` raises. A stratum whose population
  size equals its sample (``f_h = 1``) contributes nothing.
* ``adjust_domain_lonely=True`` is ``options(survey.adjust.domain.lonely=TRUE)``: a stratum
  with several PSUs of which only one holds the domain is treated as lonely too
  (``"adjust"``: the PSU total is centred at the grand mean/zero and the stratum's other PSUs
  enter as zeros centred the same way; ``"average"``: the stratum counts as missing). The
  default ``False`` centres at the stratum mean, absent PSUs counting as zeros.
* Calibrated designs (``post_stratify``, ``rake``, ``calibrate``) keep every row (R sets the
  weights outside a domain to zero instead of dropping rows), so every stratum and PSU of
  the design enters each domain's variance. Scores are replaced by the residuals of the
  calibration model before they are summed to PSUs, exactly as ``svyrecvar`` does:
  ``postStratify`` subtracts post-stratum means (of ``x * oldweights / weights``),
  ``calibrate`` the weighted least-squares fit on the calibration variables
  (``qr.resid``), ``rake`` ten sweeps of the post-stratum mean removals of its margins.
* ``differences``/``contrast`` are ``svyby(..., covmat = TRUE)`` + ``svycontrast``: the
  combined influence functions of the domains go through the full design's variance (every
  stratum present), which gives the covariance of the two domains. Their ``df`` is the
  ``degf`` of the rows of the domains in the contrast (R leaves df to the user).
* Without weights, weights are 1 unless ``fpc`` is given, in which case they are the
  product over stages of ``N / n`` as ``svydesign`` derives them.

``Design.from_cells`` runs the same estimator on cells that already sum the respondents of
one PSU (what the indicator engine gets from DuckDB); see :meth:`Design.cell_means`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse, stats

__all__ = ["CellSums", "Design", "Difference", "difference", "logit_interval", "t_interval"]

LonelyPSU = Literal["adjust", "adjust_zero", "average", "remove", "certainty", "fail"]
DeffKind = Literal["srswor", "replace"]
Estimator = Literal["mean", "total", "proportion", "ratio"]
By = str | Sequence[str] | None
Columns = str | Sequence[str] | None

_LONELY_OPTIONS = ("adjust", "adjust_zero", "average", "remove", "certainty", "fail")
_UNSET: Any = object()
# Columns of every estimate, after the by columns.
STAT_COLUMNS = ["estimate", "se", "df", "ci_low", "ci_high", "ci_method", "n", "n_weighted",
                "deff", "note"]
# Dense blocks of the calibrated/contrast variance are cut to about this many numbers.
_CHUNK = 4_000_000


def _indicator(codes: np.ndarray, n_groups: int) -> sparse.csr_array:
    """Sparse (n_groups x len(codes)) matrix that sums rows into their group."""
    n = len(codes)
    return sparse.csr_array((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n), dtype=float)


def _as_float(series: pd.Series, name: str) -> np.ndarray:
    """Column as a float array with NaN for missing values."""
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("float64")
    try:
        numeric = pd.to_numeric(series)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"column {name!r} is not numeric") from exc
    return np.asarray(numeric.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise ValueError(f"confidence level must be a number in (0, 1), got {level!r}")
    return float(level)


def _columns(spec: Columns) -> list[str]:
    if spec is None:
        return []
    return [spec] if isinstance(spec, str) else list(spec)


# ------------------------------------------------------------------------------ intervals
def t_interval(estimate: Any, se: Any, df: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``confint(stat, df = df)``: estimate -/+ qt(1 - alpha/2, df) * se (NaN where df < 1)."""
    est, s, dfs = (np.asarray(a, dtype=float) for a in (estimate, se, df))
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(0.5 + level / 2, np.where(dfs > 0, dfs, np.nan))
    return est - q * s, est + q * s


def logit_interval(p: Any, se: Any, df: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``svyciprop(method = "logit", df = df)``: a t interval on the logit scale, back-transformed.

    R's ``confint.svyglm`` turns the t quantile into a normal confidence level and back; this
    follows the same path (so for df = 1 at 95% the multiplier is infinite and the interval is
    (0, 1), as in R). NaN where df < 1 (R too) and where p is 0 or 1 (R's glm does not
    converge there).
    """
    pa, s, dfs = (np.asarray(a, dtype=float) for a in (p, se, df))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        df_safe = np.where(dfs > 0, dfs, np.nan)
        t_level = 1 - 2 * stats.norm.cdf(stats.t.ppf((1 - level) / 2, df_safe))
        tail = (1 - t_level) / 2
        interior = (pa > 0) & (pa < 1)
        p_in = np.where(interior, pa, 0.5)
        centre = np.log(p_in / (1 - p_in))
        se_logit = s / (p_in * (1 - p_in))
        low = 1 / (1 + np.exp(-(centre + stats.norm.ppf(tail) * se_logit)))
        high = 1 / (1 + np.exp(-(centre + stats.norm.ppf(1 - tail) * se_logit)))
    return np.where(interior, low, np.nan), np.where(interior, high, np.nan)


# ------------------------------------------------------------------------------ structure
@dataclass
class _Stage:
    """One sampling stage: its units, their parents (strata at stage 1) and the parents' sizes."""

    unit: np.ndarray | None  # row -> unit code (None: units are not rows, see from_cells)
    parent_of_unit: np.ndarray  # unit -> parent code
    n: np.ndarray  # parent -> units sampled
    f: np.ndarray  # parent -> 1 - n/N (1 without fpc)
    mult: np.ndarray  # parent -> product of the sampling fractions of its ancestors
    n_units: int

    @property
    def selfrep(self) -> np.ndarray:
        return self.f < 1e-7


@dataclass
class _Step:
    """One linear step of calibration residuals: x <- x - A @ beta, beta = Phi @ (F' x - ...)."""

    F: int  # index into Design._mats
    A: int
    phi: np.ndarray


@dataclass
class _Prepared:
    """What an estimator needs for its variance: row scores and domain bookkeeping."""

    keys: pd.DataFrame
    rows: np.ndarray  # indices (into the data) of the rows in a domain
    d: np.ndarray  # their domain
    n_dom: int
    est: np.ndarray  # (n_dom, n_var)
    scores: np.ndarray  # (len(rows), n_var)
    valid: np.ndarray  # (len(rows), n_var)
    n_obs: np.ndarray
    psum: np.ndarray
    srs: np.ndarray  # variance under SRS (the deff denominator)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CellSums:
    """Columns of a cell frame (one row per PSU and domain cell) that sum respondents.

    Every sum runs over the cell's respondents who answered (``y`` not missing), ``w``
    their design weight.

    Attributes:
        total: sum of w * y.
        weight: sum of w.
        count: number of answering respondents.
        squares: sum of w * y^2 (for the design effect; NaN deff without it).
        w2y2: sum of w^2 * y^2  (the three w^2 sums are needed for a second stage).
        w2y: sum of w^2 * y.
        w2: sum of w^2.
        proportion: y is 0/1: logit interval instead of t.
    """

    total: str
    weight: str
    count: str
    squares: str | None = None
    w2y2: str | None = None
    w2y: str | None = None
    w2: str | None = None
    proportion: bool = False


class Design:
    """A survey design, like R's ``svydesign()``.

    Args:
        data: One row per respondent.
        weights: Column of sampling weights. Absent: 1, or the product of ``N / n`` over
            the stages when ``fpc`` is given (as ``svydesign`` derives them).
        strata: Column of strata. Absent: one stratum.
        psu: Column of primary sampling units, or a tuple of columns, one per stage
            (``("psu", "ssu")`` is R's ``id = ~psu + ssu``). Absent: each row is its own PSU.
        fpc: Column of population sizes (or one per stage, a tuple like ``psu``): at stage
            1 the number of PSUs in the stratum's population (elements for an element
            design), constant within strata; at stage 2 the number of second-stage units in
            the PSU's population, constant within PSUs. Values all <= 1 are sampling
            fractions, as R reads them. Absent: sampling with replacement, and only the
            first stage enters the variance.
        lonely_psu: Single-PSU strata, as ``options(survey.lonely.psu=)``: ``"adjust"``
            (survey >= 4.2), ``"adjust_zero"`` (survey <= 4.1), ``"average"``, ``"remove"``,
            ``"certainty"`` or ``"fail"`` (raise).
        adjust_domain_lonely: ``options(survey.adjust.domain.lonely=)``.
        deff: ``"srswor"`` for R's ``deff=TRUE``, ``"replace"`` for ``deff="replace"``.

    Raises:
        ValueError: On missing design values, an fpc that varies within a stratum (PSU) or
            implies more than 100% sampling, one fpc column for several stages, or a lonely
            PSU with ``lonely_psu="fail"``.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str | None = None,
        strata: str | None = None,
        psu: Columns = None,
        fpc: Columns = None,
        *,
        lonely_psu: LonelyPSU = "adjust",
        adjust_domain_lonely: bool = False,
        deff: DeffKind = "srswor",
    ) -> None:
        if lonely_psu not in _LONELY_OPTIONS:
            raise ValueError(f"lonely_psu must be one of {_LONELY_OPTIONS}, got {lonely_psu!r}")
        if deff not in ("srswor", "replace"):
            raise ValueError(f"deff must be 'srswor' or 'replace', got {deff!r}")
        stage_cols = _columns(psu)
        fpc_cols = _columns(fpc)
        if fpc_cols and len(fpc_cols) != max(1, len(stage_cols)):
            raise ValueError(f"fpc needs one column per stage ({max(1, len(stage_cols))}), "
                             f"got {len(fpc_cols)}")
        self.data = data
        self.weights, self.strata, self.psu, self.fpc = weights, strata, psu, fpc
        self.lonely_psu: LonelyPSU = lonely_psu
        self.adjust_domain_lonely = bool(adjust_domain_lonely)
        self.deff_kind: DeffKind = deff
        self._cells: dict | None = None
        self._mats: list[sparse.csr_array] = []
        self._steps: list[_Step] = []
        n = len(data)

        if strata is None:
            h = np.zeros(n, dtype=np.intp)
            n_strata = 1
        else:
            h, labels = pd.factorize(data[strata], sort=True)
            if (h < 0).any():
                raise ValueError(f"missing values in strata column {strata!r}")
            n_strata = len(labels)

        # Units of each stage, nested in the previous stage's units (stage 1: in strata).
        parent_codes, n_parents = h.astype(np.int64), n_strata
        units, parents_of_unit, parent_of_row = [], [], []
        for col in stage_cols or [None]:
            if col is None:
                p = np.arange(n, dtype=np.int64)
            else:
                p, _ = pd.factorize(data[col])
                if (p < 0).any():
                    raise ValueError(f"missing values in psu column {col!r}")
            g, key = pd.factorize(parent_codes * (int(p.max()) + 1 if n else 1) + p)
            n_units = len(key)
            pou = np.zeros(n_units, dtype=np.intp)
            pou[g] = parent_codes
            units.append(g.astype(np.intp))
            parents_of_unit.append((pou, n_parents))
            parent_of_row.append(parent_codes.astype(np.intp))
            parent_codes, n_parents = g.astype(np.int64), n_units

        sampled = [np.bincount(pou, minlength=npar).astype(float) for pou, npar in parents_of_unit]
        pops = [np.full(npar, np.inf) for _, npar in parents_of_unit]
        if fpc_cols:
            raws = [_as_float(data[c], c) for c in fpc_cols]
            for c, raw in zip(fpc_cols, raws, strict=True):
                if np.isnan(raw).any():
                    raise ValueError(f"missing values in fpc column {c!r}")
            is_popsize = any(bool((raw > 1).any()) for raw in raws)
            if is_popsize != all(bool((raw >= 1).all()) for raw in raws):
                raise ValueError("fpc must be all population sizes (>= 1) or all fractions (<= 1)")
            for s, (c, raw) in enumerate(zip(fpc_cols, raws, strict=True)):
                par = parent_of_row[s]
                with np.errstate(divide="ignore"):
                    pop = raw if is_popsize else sampled[s][par] / raw
                npar = parents_of_unit[s][1]
                lo = np.full(npar, np.inf)
                hi = np.full(npar, -np.inf)
                np.minimum.at(lo, par, pop)
                np.maximum.at(hi, par, pop)
                if not np.allclose(lo[np.isfinite(lo)], hi[np.isfinite(lo)], rtol=1e-12, atol=0):
                    within = "strata" if s == 0 else "sampling units"
                    raise ValueError(f"fpc column {c!r} varies within {within}")
                if (lo < sampled[s]).any():
                    raise ValueError("fpc implies more than 100% sampling in some strata")
                pops[s] = lo

        if weights is not None:
            w = _as_float(data[weights], weights)
            if np.isnan(w).any():
                raise ValueError(f"missing values in weights column {weights!r}")
        elif fpc_cols:
            w = np.ones(n)
            for s in range(len(pops)):
                w = w * (pops[s] / sampled[s])[parent_of_row[s]]
            if not np.isfinite(w).all():
                raise ValueError("weights not supplied and can't be computed from fpc")
        else:
            w = np.ones(n)

        # Later stages enter only with an fpc for every stage (R's multistage()).
        n_var_stages = len(units) if fpc_cols else 1
        self._stages: list[_Stage] = []
        mult = np.ones(n_strata)
        for s in range(n_var_stages):
            pou, npar = parents_of_unit[s]
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(np.isfinite(pops[s]), 1.0 - sampled[s] / pops[s], 1.0)
            self._stages.append(_Stage(units[s], pou, sampled[s], f, mult, len(pou)))
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(np.isfinite(pops[s]), sampled[s] / pops[s], 0.0)
            mult = (mult * frac)[pou]

        lonely = [(st.n < 2) & ~st.selfrep for st in self._stages]
        if lonely_psu == "fail" and any(x.any() for x in lonely):
            raise ValueError(f"{int(sum(x.sum() for x in lonely))} strata have only one PSU")

        self._h, self._w = h, w
        self._psu = units[0]
        self._psu_stratum = parents_of_unit[0][0]
        self.n_strata = n_strata
        self.n_psu = len(parents_of_unit[0][0])
        self.n_stages = len(units)
        self.n_lonely_strata = int(lonely[0].sum())

    # ------------------------------------------------------------ construction variants
    @classmethod
    def from_cells(
        cls,
        cells: pd.DataFrame,
        *,
        strata: str | None,
        psu: str,
        respondents: str,
        fpc: Columns = None,
        lonely_psu: LonelyPSU = "adjust",
        adjust_domain_lonely: bool = False,
        deff: DeffKind = "srswor",
        post_strata: str | None = None,
        population: Any = None,
        weight_all: str | None = None,
        w2_all: str | None = None,
    ) -> Design:
        """A design whose rows are cells: sums over the respondents of one PSU and domain cell.

        The respondents are the second-stage units (settlements, then people). Estimates go
        through :meth:`cell_means`; they equal ``mean``/``proportion`` on the respondent
        rows with ``psu=(psu, respondent)`` and the same ``fpc``.

        Args:
            cells: One row per (PSU, cell); the cells of a PSU may split it by domain
                variables (sex, age group...), never across PSUs.
            strata: Column of strata.
            psu: Column of PSUs.
            respondents: Column with the number of respondents (answering or not) the cell
                holds; their sum over a PSU is its number of second-stage units sampled.
            fpc: Number of PSUs in the stratum's population, or ``(fpc1, fpc2)`` with
                ``fpc2`` the number of people in the PSU's population (then the second
                stage enters the variance).
            post_strata: Column of post-strata (each cell lies in one): the respondents'
                weights are post-stratified to ``population`` (as :meth:`post_stratify` on
                the respondent rows, R's ``postStratify``), the variance uses the
                post-stratification residuals, which reach every cell of a post-stratum,
                in the domain or not.
            population: Population count per post-stratum (as for :meth:`post_stratify`).
            weight_all: Column with the sum of the design weights of all the cell's
                respondents (answering or not); needed with ``post_strata``.
            w2_all: Column with the sum of their squared weights (with a second stage).
        """
        fpc_cols = _columns(fpc)
        if len(fpc_cols) > 2:
            raise ValueError("cells hold two stages at most (PSUs, then respondents)")
        design = cls(cells, weights=None, strata=strata, psu=psu,
                     fpc=fpc_cols[0] if fpc_cols else None, lonely_psu=lonely_psu,
                     adjust_domain_lonely=adjust_domain_lonely, deff=deff)
        design._w = np.ones(len(cells))
        design.weights = None
        count = _as_float(cells[respondents], respondents)
        if np.isnan(count).any() or (count < 0).any():
            raise ValueError(f"column {respondents!r} must hold respondent counts")
        stage1 = design._stages[0]
        n2 = np.bincount(design._psu, weights=count, minlength=design.n_psu)
        design._cells = {"respondents": count, "two_stage": len(fpc_cols) == 2}
        if len(fpc_cols) == 2:
            raw = _as_float(cells[fpc_cols[1]], fpc_cols[1])
            if np.isnan(raw).any():
                raise ValueError(f"missing values in fpc column {fpc_cols[1]!r}")
            lo = np.full(design.n_psu, np.inf)
            hi = np.full(design.n_psu, -np.inf)
            np.minimum.at(lo, design._psu, raw)
            np.maximum.at(hi, design._psu, raw)
            if not np.allclose(lo, hi, rtol=1e-12, atol=0):
                raise ValueError(f"fpc column {fpc_cols[1]!r} varies within sampling units")
            if (lo < n2).any():
                raise ValueError("fpc implies more than 100% sampling in some PSUs")
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(np.isfinite(stage1.f), 1.0 - stage1.f, 0.0)
                f2 = 1.0 - n2 / lo
            mult2 = (stage1.mult * frac)[stage1.parent_of_unit]
            design._stages.append(_Stage(None, np.arange(design.n_psu), n2, f2, mult2,
                                         round(float(n2.sum()))))
            if lonely_psu == "fail" and ((n2 < 2) & (f2 >= 1e-7)).any():
                raise ValueError("some PSUs have only one respondent")
            design.n_stages = 2
        design._cal_cells = None
        if post_strata is not None:
            if weight_all is None or (len(fpc_cols) == 2 and w2_all is None):
                raise ValueError("post-stratified cells need weight_all (and w2_all with a second stage)")
            wall = _as_float(cells[weight_all], weight_all)
            codes, levels = design._post_strata([post_strata])
            g = design._post_stratify_factors(codes, levels, _population_table(population, [post_strata]),
                                              False, weights=wall)
            w2 = _as_float(cells[w2_all], w2_all) if w2_all else np.zeros(len(cells))
            design._cal_cells = {"g": g, "code": codes, "n_ps": len(levels), "wall": wall * g,
                                 "w2all": w2 * g**2}
        return design

    def _copy(self) -> Design:
        new = object.__new__(Design)
        new.__dict__.update(self.__dict__)
        new._mats = list(self._mats)
        new._steps = list(self._steps)
        return new

    # ------------------------------------------------------------ public API
    @property
    def degf(self) -> int:
        """Design degrees of freedom as R's ``degf()``: PSUs minus strata (rows with weight)."""
        nonzero = self._w != 0
        return len(np.unique(self._psu[nonzero])) - len(np.unique(self._h[nonzero]))

    @property
    def calibrated(self) -> bool:
        """Whether the weights were post-stratified, raked or calibrated."""
        return bool(self._steps)

    def weight_column(self) -> np.ndarray:
        """The design's (calibrated) weights, one per row."""
        return self._w.copy()

    def weighting(self, by: By = None) -> pd.DataFrame:
        """Weighting efficiency per domain: Kish's design effect of unequal weights.

        Returns:
            by columns, n, n_weighted (sum of weights), deff_weighting
            (``n * sum(w^2) / sum(w)^2``), efficiency (its inverse), weight_min, weight_max.
        """
        dom, keys = self._domains(by)
        rows = np.flatnonzero(dom >= 0)
        d, w = dom[rows], self._w[rows]
        member = _indicator(d, len(keys))
        n = member @ np.ones(len(rows))
        sw = member @ w
        sw2 = member @ w**2
        lo = np.full(len(keys), np.inf)
        hi = np.full(len(keys), -np.inf)
        np.minimum.at(lo, d, w)
        np.maximum.at(hi, d, w)
        out = keys.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["n"] = n.astype(np.int64)
            out["n_weighted"] = sw
            out["deff_weighting"] = n * sw2 / sw**2
            out["efficiency"] = 1 / out["deff_weighting"]
        out["weight_min"], out["weight_max"] = lo, hi
        return out

    def mean(self, variable: str, by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Mean of one variable, like ``svymean``/``svyby(..., svymean)``.

        Returns:
            by columns, then the statistics (see the module docstring).
        """
        return self.means([variable], by, level=level).drop(columns="variable")

    def means(self, variables: Sequence[str], by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Means of several variables over all domains at once (long format: variable, by...)."""
        names = list(variables)
        ys = [_as_float(self._column(v), v) for v in names]
        return self._estimate("mean", names, ys, None, by, level)

    def total(self, variable: str, by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Total of one variable, like ``svytotal``."""
        return self.totals([variable], by, level=level).drop(columns="variable")

    def totals(self, variables: Sequence[str], by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Totals of several variables over all domains, long format."""
        names = list(variables)
        ys = [_as_float(self._column(v), v) for v in names]
        return self._estimate("total", names, ys, None, by, level)

    def proportion(self, variable: str, value: Any = _UNSET, by: By = None, *,
                   level: Any = 0.95) -> pd.DataFrame:
        """Proportion of rows where ``variable == value``, with ``svyciprop``'s logit interval.

        A ``level`` that is not a float (a string, bool or int) is taken as the category
        when ``value`` is not given (``d.proportion("sch.wide", level="Yes")``).
        """
        value, level = self._value_and_level(value, level)
        return self.proportions({variable: (variable, value)}, by, level=level).drop(
            columns="variable")

    def proportions(self, spec: Mapping[str, tuple[str, Any]] | Iterable[tuple[str, Any]],
                    by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Several proportions: ``{name: (column, value)}`` or ``(column, value)`` pairs."""
        names, ys = self._proportion_columns(spec)
        return self._estimate("proportion", names, ys, None, by, level)

    def ratio(self, numerator: str, denominator: str, by: By = None, *,
              level: float = 0.95) -> pd.DataFrame:
        """Ratio of totals, like ``svyratio``; rows missing either variable are dropped."""
        return self.ratios({numerator: (numerator, denominator)}, by, level=level).drop(
            columns="variable")

    def ratios(self, spec: Mapping[str, tuple[str, str]] | Iterable[tuple[str, str]],
               by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Several ratios, ``{name: (numerator, denominator)}`` or pairs, long format."""
        items = (list(spec.items()) if isinstance(spec, Mapping)
                 else [(f"{num}/{den}", (num, den)) for num, den in spec])
        names = [name for name, _ in items]
        ys = [_as_float(self._column(num), num) for _, (num, _) in items]
        xs = [_as_float(self._column(den), den) for _, (_, den) in items]
        return self._estimate("ratio", names, ys, xs, by, level)

    # ------------------------------------------------------------ contrasts
    def contrast(self, estimator: Estimator, variable: str, by: By,
                 coefficients: Mapping[Any, float], *, value: Any = None,
                 denominator: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """A linear combination of domain estimates, like ``svycontrast(svyby(..., covmat=TRUE))``.

        Args:
            estimator: ``mean``, ``total``, ``proportion`` (of ``variable == value``) or
                ``ratio`` (over ``denominator``).
            by: Domain column(s).
            coefficients: domain key (a value, or a tuple for several by columns) ->
                coefficient; domains not named get 0.

        Returns:
            One row: estimate, se, df, ci_low, ci_high (t on df), p_value, n, note.
        """
        by_cols = _columns(by)
        prep = self._prepare_one(estimator, variable, value, denominator, by_cols)
        index = {tuple(k): i for i, k in enumerate(prep.keys.itertuples(index=False, name=None))}
        coef = np.zeros((1, prep.n_dom))
        for key, c in coefficients.items():
            k = key if isinstance(key, tuple) else (key,)
            if k not in index:
                raise KeyError(f"domain {key!r} has no rows")
            coef[0, index[k]] = c
        return self._contrast_frame(prep, coef, level).drop(columns="contrast")

    def differences(self, estimator: Estimator, variable: str, between: str, first: Any,
                    second: Any, by: By = None, *, value: Any = None,
                    denominator: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """``first`` minus ``second`` of ``between`` within each domain of ``by`` (e.g. women
        minus men within each wave), with the covariance of the two domains.

        Returns:
            by columns, estimate_first, estimate_second, estimate (the difference), se, df,
            ci_low, ci_high (t on df), p_value (two-sided t test on df), n, note; only
            groups where both domains have rows.
        """
        by_cols = _columns(by)
        prep = self._prepare_one(estimator, variable, value, denominator, [*by_cols, between])
        keys = prep.keys
        first_at = keys.index[keys[between] == first]
        second_at = keys.index[keys[between] == second]
        if by_cols:
            a = keys.loc[first_at, by_cols].assign(i=first_at)
            b = keys.loc[second_at, by_cols].assign(j=second_at)
            pairs = a.merge(b, on=by_cols)
        else:
            pairs = pd.DataFrame({"i": first_at[:1], "j": second_at[:1]})
        coef = np.zeros((len(pairs), prep.n_dom))
        coef[np.arange(len(pairs)), pairs["i"].to_numpy()] = 1.0
        coef[np.arange(len(pairs)), pairs["j"].to_numpy()] = -1.0
        res = self._contrast_frame(prep, coef, level).drop(columns="contrast")
        out = pairs[by_cols].reset_index(drop=True) if by_cols else pd.DataFrame(index=range(len(pairs)))
        out["estimate_first"] = prep.est[pairs["i"].to_numpy(), 0]
        out["estimate_second"] = prep.est[pairs["j"].to_numpy(), 0]
        return pd.concat([out, res.reset_index(drop=True)], axis=1)

    # ------------------------------------------------------------ calibration
    def post_stratify(self, strata: str | Sequence[str], population: Any, *,
                      partial: bool = False) -> Design:
        """Post-stratified design, like ``postStratify(design, ~strata, population)``.

        Args:
            strata: Post-stratum column(s); no missing values.
            population: Population counts: a DataFrame with the ``strata`` columns and one
                count column, a Series indexed by level (tuples for several columns), or a
                mapping level -> count.
            partial: Ignore population post-strata absent from the sample (else an error).

        Returns:
            A new design; the variance uses the post-stratification residuals.
        """
        new = self._copy()
        cols = _columns(strata)
        codes, levels = new._post_strata(cols)
        pop = _population_table(population, cols)
        g = new._post_stratify_factors(codes, levels, pop, partial)
        old = new._w
        new._w = old * g
        E = _indicator(codes, len(levels)).T.tocsr()  # rows x levels
        psw = new._w.copy()
        zero = (psw == 0) & (old == 0)
        psw[zero] = 1.0  # svyrecvar's fix for rows without weight
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(psw != 0, old / psw, 0.0)
        denom = np.bincount(codes, weights=old, minlength=len(levels))
        with np.errstate(divide="ignore"):
            phi = np.diag(np.where(denom != 0, 1.0 / denom, 0.0))
        fi = new._add_mat(sparse.csr_array(E.multiply(ratio[:, None])))
        ai = new._add_mat(sparse.csr_array(E.multiply(psw[:, None])))
        new._steps.append(_Step(fi, ai, phi))
        return new

    def rake(self, margins: Sequence[tuple[str | Sequence[str], Any]], *, maxit: int = 10,
             epsilon: float = 1.0) -> Design:
        """Raked design, like ``rake(design, sample.margins, population.margins)``.

        Iterative post-stratification on each margin in turn, up to ``maxit`` rounds, until
        no cell of the cross-classification of all margin variables moves by ``epsilon``
        (a share of the total weight when below 1), R's stopping rule. The variance sweeps
        the margins' post-stratum means ten times, as ``svyrecvar`` does.

        Args:
            margins: ``(column(s), population)`` pairs, population as in
                :meth:`post_stratify`.
        """
        new = self._copy()
        eps = epsilon * float(new._w.sum()) if epsilon < 1 else float(epsilon)
        specs = []
        for cols, population in margins:
            cols = _columns(cols)
            codes, levels = new._post_strata(cols)
            specs.append((codes, levels, _population_table(population, cols)))
        every = list(dict.fromkeys(c for cols, _ in margins for c in _columns(cols)))
        cross, _ = new._post_strata(every)
        n_cross = int(cross.max()) + 1 if len(cross) else 0
        old_table = np.bincount(cross, weights=new._w, minlength=n_cross)
        w = new._w
        converged = False
        last: list[tuple[np.ndarray, int, np.ndarray]] = []
        for _ in range(maxit):
            last = []
            for codes, levels, pop in specs:
                g = new._post_stratify_factors(codes, levels, pop, False, weights=w)
                w = w * g
                last.append((codes, len(levels), w.copy()))
            new_table = np.bincount(cross, weights=w, minlength=n_cross)
            if np.max(np.abs(old_table - new_table)) < eps:
                converged = True
                break
            old_table = new_table
        if not converged:
            warnings.warn(f"Raking did not converge after {maxit} iterations.", stacklevel=2)
        new._w = w
        mats = []
        for codes, n_levels, psw in last:
            E = _indicator(codes, n_levels).T.tocsr()
            counts = np.bincount(codes, minlength=n_levels).astype(float)
            with np.errstate(divide="ignore"):
                phi = np.diag(np.where(counts > 0, 1.0 / counts, 0.0))
                inv = np.where(psw != 0, 1.0 / psw, np.inf)
            fi = new._add_mat(sparse.csr_array(E.multiply(inv[:, None])))
            ai = new._add_mat(sparse.csr_array(E.multiply(psw[:, None])))
            mats.append((fi, ai, phi))
        for _ in range(10):  # svyrecvar's ten sweeps
            for fi, ai, phi in mats:
                new._steps.append(_Step(fi, ai, phi))
        return new

    def calibrate(self, margins: Sequence[tuple[str | Sequence[str], Any]] = (), *,
                  totals: Mapping[str, float] | None = None,
                  population_size: float | None = None,
                  calfun: Literal["linear", "raking"] = "linear",
                  bounds: tuple[float, float] = (-np.inf, np.inf), maxit: int = 50,
                  epsilon: float = 1e-7) -> Design:
        """Calibrated design, like ``calibrate(design, formula, population, calfun=)``.

        The calibration model is R's: the margins as in ``calibrate(design,
        list(~a, ~b*c), list(pop_a, pop_bc))`` (treatment-coded terms of each margin, the
        intercept's total from the first margin), plus numeric columns with known
        population totals (``totals``); with only numeric totals, ``population_size`` is
        the intercept's total.

        Args:
            margins: ``(column(s), population)`` pairs, as for :meth:`rake`.
            totals: Numeric column -> its population total.
            population_size: Total of the intercept when there are no margins.
            calfun: ``"linear"`` (GREG) or ``"raking"`` (exponential).
            bounds: Bounds on the g-weights (R's ``bounds``); linear without bounds solves
                directly as R's ``regcalibrate``.
            maxit: Newton iterations (R's ``maxit``).
            epsilon: Relative misfit to stop at (R's ``epsilon``).

        Raises:
            ValueError: calibration failed to converge, or an unknown level.
        """
        new = self._copy()
        mm, pop = new._model_matrix(margins, totals or {}, population_size)
        ww = new._w
        lower, upper = bounds
        if calfun == "linear" and np.isneginf(lower) and np.isposinf(upper):
            tmat = (mm * ww[:, None]).T @ mm
            diff = pop - (mm * ww[:, None]).sum(axis=0)
            try:
                t = np.linalg.solve(tmat, diff)
            except np.linalg.LinAlgError:
                t = np.linalg.lstsq(tmat, diff, rcond=None)[0]
            g = 1.0 + mm @ t
        elif calfun in ("linear", "raking"):
            g = _grake(mm, ww, calfun, lower, upper, pop, maxit, epsilon)
        else:
            raise ValueError(f"calfun must be 'linear' or 'raking', got {calfun!r}")
        new._w = ww * g
        wm = mm * ww[:, None]
        phi = np.linalg.pinv(wm.T @ mm)
        with np.errstate(divide="ignore", invalid="ignore"):
            fi = new._add_mat(sparse.csr_array(mm / g[:, None]))
        ai = new._add_mat(sparse.csr_array(mm * new._w[:, None]))
        new._steps.append(_Step(fi, ai, phi))
        return new

    # ------------------------------------------------------------ cells (the engine's path)
    def cell_means(self, spec: Mapping[str, CellSums], by: By = None, *,
                   level: float = 0.95) -> pd.DataFrame:
        """Means (and proportions) of respondent values from cell sums, long format.

        Equal to :meth:`means` (``mean`` of each variable; ``proportion`` for a
        ``CellSums(proportion=True)``) on the respondent rows with ``psu=(psu,
        respondent)`` and ``fpc=(fpc1, fpc2)``, while touching only the cells.

        Raises:
            ValueError: the design is not from :meth:`from_cells`, or a second stage
                without the w^2 sums.
        """
        if self._cells is None:
            raise ValueError("cell_means needs a design from Design.from_cells")
        level = _check_level(level)
        names = list(spec)
        sums = list(spec.values())
        cal = getattr(self, "_cal_cells", None)
        g = cal["g"] if cal is not None else 1.0
        ys = [_as_float(self._column(s.total), s.total) * g for s in sums]
        xs = [_as_float(self._column(s.weight), s.weight) * g for s in sums]
        prep = self._prepare("ratio", ys, xs, by)
        counts = np.column_stack([_as_float(self._column(s.count), s.count) for s in sums])
        member = _indicator(prep.d, prep.n_dom)
        cnt = np.nan_to_num(counts[prep.rows])
        prep.n_obs = member @ cnt
        prep.psum = member @ np.where(prep.valid, np.column_stack(xs)[prep.rows], 0.0)
        # s^2 of the respondent values (deff): sum w y^2 - (sum w y)^2 / sum w, with n/(n-1)
        sq = np.column_stack([
            _as_float(self._column(s.squares), s.squares) * g if s.squares else np.full(len(self.data), np.nan)
            for s in sums])[prep.rows]
        wy = member @ np.where(prep.valid, np.column_stack(ys)[prep.rows], 0.0)
        wyy = member @ np.where(prep.valid, sq, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_pos = prep.n_obs
            ss = wyy - wy**2 / prep.psum
            s2 = ss / prep.psum * n_pos / (n_pos - 1)
            # every respondent gave the same value: no variation (not the cells' means)
            prep.extra["vary"] = np.where(np.isnan(ss), member @ (prep.scores != 0).astype(float) > 0,
                                          ss > 1e-12 * np.abs(wyy))
            prep.srs = s2 / n_pos if self.deff_kind == "replace" else np.where(
                prep.psum < n_pos, np.nan, s2 * (prep.psum - n_pos) / (prep.psum * n_pos))
        if self._cells["two_stage"]:
            missing = [n for n, s in spec.items() if not (s.w2y2 and s.w2y and s.w2)]
            if missing:
                raise ValueError(f"a second stage needs w2y2, w2y and w2 for {', '.join(missing)}")
            R = prep.est[prep.d]
            X = prep.psum[prep.d]
            g2 = (g * g) if cal is not None else 1.0
            m2 = [np.column_stack([_as_float(self._column(getattr(s, a)), getattr(s, a)) * g2
                                   for s in sums])[prep.rows] for a in ("w2y2", "w2y", "w2")]
            with np.errstate(divide="ignore", invalid="ignore"):
                q = (m2[0] - 2 * R * m2[1] + R**2 * m2[2]) / X**2
                wx = (m2[1] - R * m2[2]) / X  # sum of w * (linearised value) over the cell
            prep.extra["second_stage"] = (np.where(prep.valid, q, 0.0), cnt)
            prep.extra["second_stage_wx"] = np.where(prep.valid, wx, 0.0)
        if cal is not None:
            prep.extra["calibrated_cells"] = self._cell_residuals(prep)
        kinds = ["proportion" if s.proportion else "mean" for s in sums]
        return self._finish(prep, names, kinds, level)

    def _cell_residuals(self, prep: _Prepared) -> tuple[sparse.csr_array, sparse.csr_array | None]:
        """Post-stratification residuals of the cells' linearised values, per domain column.

        Respondent i of post-stratum p has residual ``x_i - w_i beta_pd`` for domain d,
        ``beta_pd = sum_{i in p} x_i / sum_{i in p} w_i`` (calibrated weights, every
        respondent of p): so every cell of p gets ``-W_c beta_pd`` in domain d's column,
        plus its own linearised total in its own domain's. With a second stage, the sums of
        squared residuals of the cell's respondents, from the cells' moments.

        Returns the residual totals (cells x (n_dom * n_var)) and their squares' sums.
        """
        cal = self._cal_cells
        n_dom, n_var = prep.est.shape
        n_cells = len(self.data)
        p_all, wall, n_ps = cal["code"], cal["wall"], cal["n_ps"]
        wp = np.bincount(p_all, weights=wall, minlength=n_ps)
        rows, d = prep.rows, prep.d
        key = p_all[rows].astype(np.int64) * n_dom + d
        pairs, inv = np.unique(key, return_inverse=True)
        S = np.zeros((len(pairs), n_var))
        np.add.at(S, inv, prep.scores)
        pp, dd = pairs // n_dom, pairs % n_dom
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(wp[pp][:, None] > 0, S / wp[pp][:, None], 0.0)
        # every cell of p, once for each domain p reaches
        order = np.argsort(p_all, kind="stable")
        counts = np.bincount(p_all, minlength=n_ps)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        lens = counts[pp]
        pair_of = np.repeat(np.arange(len(pairs)), lens)
        offset = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
        cell = order[np.repeat(starts[pp], lens) + offset]
        var_idx = np.arange(n_var)

        def placed(r: np.ndarray, dom: np.ndarray, vals: np.ndarray) -> sparse.csr_array:
            cols = dom.astype(np.int64)[:, None] * n_var + var_idx[None, :]
            return sparse.csr_array((vals.reshape(-1), (np.repeat(r, n_var), cols.reshape(-1))),
                                    shape=(n_cells, n_dom * n_var))

        X = placed(rows, d, prep.scores) + placed(cell, dd[pair_of], -wall[cell][:, None] * beta[pair_of])
        Q = None
        if "second_stage" in prep.extra:
            q, _ = prep.extra["second_stage"]
            wx = prep.extra["second_stage_wx"]
            own = q - 2 * beta[inv] * wx
            Q = placed(rows, d, own) + placed(cell, dd[pair_of], cal["w2all"][cell][:, None] * beta[pair_of] ** 2)
        return X.tocsr(), None if Q is None else Q.tocsr()

    # ------------------------------------------------------------- internals: data
    def _column(self, name: str) -> pd.Series:
        if name not in self.data.columns:
            raise KeyError(f"column {name!r} not in the design's data")
        return self.data[name]

    @staticmethod
    def _value_and_level(value: Any, level: Any) -> tuple[Any, float]:
        # Floats are confidence levels; anything else passed as level is a category.
        level_is_category = isinstance(level, str | bool | int | np.integer | np.bool_)
        if value is _UNSET:
            if not level_is_category:
                raise TypeError("proportion() needs the category: value=...")
            return level, 0.95
        if level_is_category:
            raise TypeError("level is the confidence level (a float) when value= is given")
        return value, _check_level(level)

    def _proportion_columns(self, spec: Any) -> tuple[list[Hashable], list[np.ndarray]]:
        items = (list(spec.items()) if isinstance(spec, Mapping)
                 else [(f"{col}=={val}", (col, val)) for col, val in spec])
        names, ys = [], []
        for name, (column, value) in items:
            series = self._column(column)
            missing = series.isna().to_numpy()
            hit = (series == value).fillna(False).to_numpy(dtype=bool)
            names.append(name)
            ys.append(np.where(missing, np.nan, hit.astype(float)))
        return names, ys

    def _domains(self, by: By) -> tuple[np.ndarray, pd.DataFrame]:
        """Domain code per row (-1: missing by value) and the domain keys, sorted."""
        columns = _columns(by)
        if not columns:
            return np.zeros(len(self.data), dtype=np.intp), pd.DataFrame(index=range(1))
        for column in columns:
            self._column(column)
        grouped = self.data.groupby(columns, sort=True, dropna=True, observed=True)
        codes = grouped.ngroup().fillna(-1).to_numpy(dtype=np.intp)
        keys = grouped.size().index.to_frame(index=False)
        return codes, keys

    def _post_strata(self, cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
        """Post-stratum code per row and the levels (no missing values allowed)."""
        for c in cols:
            if self._column(c).isna().any():
                raise ValueError(f"missing values in calibration column {c!r}")
        grouped = self.data.groupby(cols, sort=True, dropna=False, observed=True)
        return grouped.ngroup().to_numpy(dtype=np.intp), grouped.size().index.to_frame(index=False)

    def _post_stratify_factors(self, codes: np.ndarray, levels: pd.DataFrame, pop: pd.Series,
                               partial: bool, weights: np.ndarray | None = None) -> np.ndarray:
        """g per row (population / sample weight of its post-stratum), as ``postStratify``."""
        w = self._w if weights is None else weights
        freq = np.bincount(codes, weights=w, minlength=len(levels))
        level_keys = [tuple(_key(v) for v in row) for row in levels.itertuples(index=False, name=None)]
        pop_keys = {tuple(_key(v) for v in (k if isinstance(k, tuple) else (k,))): float(v)
                    for k, v in pop.items()}
        absent = [k for k in level_keys if k not in pop_keys]
        if absent:
            raise ValueError(f"post-strata in the sample absent from the population: {absent[:5]}")
        sample = set(level_keys)
        only_pop = [k for k, v in pop_keys.items() if k not in sample and v != 0]
        if only_pop and not partial:
            raise ValueError(f"post-strata absent from the sample: {only_pop[:5]}; "
                             "use partial=True to ignore them")
        popv = np.array([pop_keys[k] for k in level_keys])
        with np.errstate(divide="ignore", invalid="ignore"):
            g = popv / freq
        return g[codes]

    def _model_matrix(self, margins: Sequence[tuple[Any, Any]], totals: Mapping[str, float],
                      population_size: float | None) -> tuple[np.ndarray, np.ndarray]:
        """R's model matrix of ``~ a + b*c + x`` (treatment contrasts) and its population totals."""
        terms: dict[tuple[str, ...], pd.DataFrame] = {}
        first_table: pd.DataFrame | None = None
        for cols, population in margins:
            cols = _columns(cols)
            table = _population_frame(population, cols)
            if first_table is None:
                first_table = table
            k = len(cols)
            for size in range(1, k + 1):
                for sub in _subsets(cols, size):
                    terms.setdefault(sub, table)
        columns, pop = [], []
        n = len(self.data)
        if margins:
            columns.append(np.ones(n))
            pop.append(float(first_table["__freq__"].sum()))
        elif population_size is not None:
            columns.append(np.ones(n))
            pop.append(float(population_size))
        levels_of = {}
        for term in sorted(terms, key=len):
            for c in term:
                if c not in levels_of:
                    levels_of[c] = sorted(self._column(c).dropna().unique(), key=_sort_key)
            grids = [levels_of[c][1:] for c in term]
            table = terms[term]
            for combo in _product(grids):
                ind = np.ones(n)
                mask = np.ones(len(table), dtype=bool)
                for c, lv in zip(term, combo, strict=True):
                    ind = ind * (self._column(c).to_numpy() == lv)
                    mask &= table[c].map(_key).to_numpy() == _key(lv)
                columns.append(ind)
                pop.append(float(table.loc[mask, "__freq__"].sum()))
        for name, total in totals.items():
            x = _as_float(self._column(name), name)
            if np.isnan(x).any():
                raise ValueError(f"missing values in calibration column {name!r}")
            columns.append(x)
            pop.append(float(total))
        if not columns:
            raise ValueError("calibrate needs margins or totals")
        return np.column_stack(columns), np.array(pop)

    def _add_mat(self, m: sparse.csr_array) -> int:
        self._mats.append(m)
        return len(self._mats) - 1

    # ------------------------------------------------------------- internals: estimation
    def _prepare_one(self, estimator: str, variable: str, value: Any, denominator: str | None,
                     by: list[str]) -> _Prepared:
        if estimator == "proportion":
            _, ys = self._proportion_columns({variable: (variable, value)})
            prep = self._prepare("proportion", ys, None, by)
        elif estimator == "ratio":
            if denominator is None:
                raise ValueError("a ratio needs denominator=")
            prep = self._prepare("ratio", [_as_float(self._column(variable), variable)],
                                 [_as_float(self._column(denominator), denominator)], by)
        elif estimator in ("mean", "total"):
            prep = self._prepare(estimator, [_as_float(self._column(variable), variable)], None, by)
        else:
            raise ValueError(f"unknown estimator {estimator!r}")
        return prep

    def _prepare(self, kind: str, ys: list[np.ndarray], xs: list[np.ndarray] | None,
                 by: By) -> _Prepared:
        """Estimates, row scores (influence values) and the SRS variance per domain."""
        dom_all, keys = self._domains(by)
        rows = np.flatnonzero(dom_all >= 0)
        d = dom_all[rows]
        n_dom = len(keys)
        w = self._w[rows]
        y = np.column_stack(ys)[rows] if ys else np.empty((len(rows), 0))
        valid = ~np.isnan(y)
        if xs is not None:
            x = np.column_stack(xs)[rows]
            valid &= ~np.isnan(x)
            x0 = np.where(valid, x, 0.0)
        y0 = np.where(valid, y, 0.0)
        wv = valid * w[:, None]
        member = _indicator(d, n_dom)
        n_obs = member @ valid.astype(float)
        n_pos = member @ (valid & (w != 0)[:, None]).astype(float)
        psum = member @ wv
        ty = member @ (wv * y0)
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "ratio":
                tx = member @ (wv * x0)
                est = ty / tx
                # Linearised ratio: (y - R x) / X, as svyratio.
                lin = (y0 - est[d] * x0) / tx[d]
                scores = wv * lin
                centre = (member @ (wv * lin)) / psum
                spread = lin - centre[d]
            else:
                ybar = ty / psum
                spread = y0 - ybar[d]
                if kind == "total":
                    est = ty
                    scores = wv * y0
                else:
                    est = ybar
                    scores = wv * spread / psum[d]
            # Weighted element variance with R's n/(n-1) (svyvar), for deff.
            s2 = (member @ (wv * spread**2)) / psum * n_pos / (n_pos - 1)
            base = s2 if kind in ("mean", "proportion") else s2 * psum**2
            if self.deff_kind == "replace":
                srs = base / n_pos
            else:
                srs = base * (psum - n_pos) / (psum * n_pos)
                if kind in ("mean", "proportion"):
                    srs = np.where(psum < n_pos, np.nan, srs)
            # Does any value differ (from the mean, from R x, from 0 for totals)?
            if kind == "total":
                moves = y0 != 0
            elif kind == "ratio":
                fit = est[d] * x0
                moves = np.abs(y0 - fit) > 1e-12 * (np.abs(y0) + np.abs(fit))
            else:
                moves = np.abs(spread) > 1e-12 * (1 + np.abs(ybar[d]))
        scores = np.where(valid, scores, 0.0)
        vary = (member @ (valid & moves).astype(float)) > 0
        return _Prepared(keys, rows, d, n_dom, est, scores, valid, n_obs, psum, srs,
                         {"vary": vary})

    def _estimate(self, kind: str, names: list[Hashable], ys: list[np.ndarray],
                  xs: list[np.ndarray] | None, by: By, level: Any) -> pd.DataFrame:
        level = _check_level(level)
        if self._cells is not None:
            raise ValueError("a design from cells estimates through cell_means")
        prep = self._prepare(kind, ys, xs, by)
        return self._finish(prep, names, [kind] * len(names), level)

    def _finish(self, prep: _Prepared, names: list[Hashable], kinds: list[str],
                level: float) -> pd.DataFrame:
        """Variance, intervals, notes and the long frame (variable-major)."""
        n_dom, n_var = prep.n_dom, len(names)
        variance, info = self._variance(prep)
        df = self._domain_degf(prep.rows, prep.d, n_dom)
        dfm = np.broadcast_to(df[:, None], (n_dom, n_var)).astype(float)
        vary = prep.extra["vary"]
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = variance / prep.srs
        se = np.sqrt(np.maximum(variance, 0.0))
        notes = np.full((n_dom, n_var), "", dtype=object)

        def add(mask: np.ndarray, code: str) -> None:
            notes[mask] = np.where(notes[mask] == "", code, notes[mask] + ";" + code)

        opt = "adjust" if self.lonely_psu == "adjust_zero" else self.lonely_psu
        add(info["lonely"] > 0, f"lonely_psu_{opt}")
        empty = prep.n_obs == 0
        unknown = np.isnan(variance) & ~empty
        silent_zero = ((variance == 0) & vary & (dfm <= 0) & (info["live"] > 0)
                       & (self.lonely_psu != "certainty"))
        not_estimable = unknown | silent_zero
        se = np.where(not_estimable, np.nan, se)
        deff = np.where(not_estimable, np.nan, deff)
        add(not_estimable, "variance_not_estimable")
        add((dfm <= 0) & ~empty & ~not_estimable, "no_degrees_of_freedom")
        flat = ~vary & ~empty & ~not_estimable
        add(flat, "no_variation")
        add(empty, "no_observations")

        ci_low = np.full((n_dom, n_var), np.nan)
        ci_high = np.full((n_dom, n_var), np.nan)
        methods = np.empty(n_var, dtype=object)
        for v, kind in enumerate(kinds):
            if kind == "proportion":
                lo, hi = logit_interval(prep.est[:, v], se[:, v], dfm[:, v], level)
                methods[v] = "logit"
            else:
                lo, hi = t_interval(prep.est[:, v], se[:, v], dfm[:, v], level)
                methods[v] = "t"
            ci_low[:, v] = np.where(flat[:, v], np.nan, lo)
            ci_high[:, v] = np.where(flat[:, v], np.nan, hi)
        out = {
            "estimate": prep.est, "se": se, "df": np.broadcast_to(df[:, None], (n_dom, n_var)),
            "ci_low": ci_low, "ci_high": ci_high,
            "ci_method": np.broadcast_to(methods[None, :], (n_dom, n_var)),
            "n": prep.n_obs.astype(np.int64), "n_weighted": prep.psum, "deff": deff,
            "note": notes,
        }
        keys = prep.keys
        frame = pd.concat([keys] * n_var, ignore_index=True) if n_var else keys.iloc[:0]
        frame.insert(0, "variable", np.repeat(np.asarray(names, dtype=object), n_dom))
        for column, values in out.items():
            frame[column] = np.asarray(values).T.reshape(-1)
        return frame

    def _domain_degf(self, rows: np.ndarray, d: np.ndarray, n_dom: int) -> np.ndarray:
        """R's ``degf()`` of each domain's design: PSUs minus strata with rows in it."""
        keep = self._w[rows] != 0
        dd, g, h = d[keep], self._psu[rows][keep], self._h[rows][keep]
        psus = pd.unique(g.astype(np.int64) * n_dom + dd) % n_dom
        strata = pd.unique(h.astype(np.int64) * n_dom + dd) % n_dom
        return np.bincount(psus, minlength=n_dom) - np.bincount(strata, minlength=n_dom)

    # ------------------------------------------------------------- internals: variance
    def _variance(self, prep: _Prepared) -> tuple[np.ndarray, dict]:
        """Linearisation variance per (domain, variable), and what the lonely rules did."""
        n_dom, n_var = prep.est.shape
        if "calibrated_cells" in prep.extra:
            X, Q = prep.extra["calibrated_cells"]
            var, lonely, live = self._dense_variance(X, Q)
            shape = (n_dom, n_var)
            return var.reshape(shape), {"lonely": lonely.reshape(shape), "live": live.reshape(shape)}
        if self._steps:
            cols = prep.d.astype(np.int64)[:, None] * n_var + np.arange(n_var)[None, :]
            X = sparse.csr_array(
                (prep.scores.reshape(-1), (np.repeat(prep.rows, n_var), cols.reshape(-1))),
                shape=(len(self.data), n_dom * n_var))
            var, lonely, live = self._dense_variance(X)
            shape = (n_dom, n_var)
            return var.reshape(shape), {"lonely": lonely.reshape(shape), "live": live.reshape(shape)}
        var = np.zeros((n_dom, n_var))
        info = {}
        for s, stage in enumerate(self._stages):
            if stage.unit is None:  # second stage of cells: from their moments
                q, cnt = prep.extra["second_stage"]
                psu = self._psu[prep.rows]
                gd, key = pd.factorize(psu.astype(np.int64) * n_dom + prep.d)
                agg = _indicator(gd, len(key))
                s1 = agg @ prep.scores
                s2 = agg @ q
                nsub = agg @ cnt
                grp, dom = key // n_dom, key % n_dom
            else:
                unit = stage.unit[prep.rows]
                pair, pkey = pd.factorize(unit.astype(np.int64) * n_dom + prep.d)
                to_pair = _indicator(pair, len(pkey))
                totals = to_pair @ prep.scores
                present = (to_pair @ prep.valid.astype(float)) > 0
                pgrp = stage.parent_of_unit[pkey // n_dom]
                gd, key = pd.factorize(pgrp.astype(np.int64) * n_dom + pkey % n_dom)
                agg = _indicator(gd, len(key))
                s1 = agg @ totals
                s2 = agg @ totals**2
                nsub = agg @ present.astype(float)
                grp, dom = key // n_dom, key % n_dom
            v, stage_info = self._stage_variance(s, grp, dom, s1, s2, nsub, n_dom)
            var = var + v
            if s == 0:
                info = stage_info
        return var, info

    def _stage_variance(self, s: int, grp: np.ndarray, dom: np.ndarray, s1: np.ndarray,
                        s2: np.ndarray, nsub: np.ndarray, n_dom: int
                        ) -> tuple[np.ndarray, dict]:
        """One stage of ``onestage``/``onestrat`` from per-(parent, domain) sums of unit totals.

        Args:
            s: The stage (0: PSUs within strata).
            grp, dom: Parent (stratum or unit of the previous stage) and domain of each row.
            s1, s2: Sum and sum of squares of the unit totals, (rows, n_var).
            nsub: Units with a row of the domain (for each variable).
        """
        st = self._stages[s]
        n = st.n[grp][:, None]
        f = st.f[grp][:, None]
        mult = st.mult[grp][:, None]
        selfrep = st.selfrep[grp][:, None]
        opt = self.lonely_psu
        present = nsub > 0
        to_dom = _indicator(dom, n_dom)
        adjust = opt in ("adjust", "adjust_zero")
        with np.errstate(divide="ignore", invalid="ignore"):
            if opt == "adjust":
                if s == 0:  # grand mean of PSU totals over the domain's strata (survey >= 4.2)
                    tot = to_dom @ np.where(present, s1, 0.0)
                    cnt = to_dom @ np.where(present, n, 0.0)
                    centre = (tot / cnt)[dom]
                else:  # at a later stage each parent unit is its own onestage() call
                    centre = s1 / n
            else:
                centre = np.zeros_like(s1)
            multi = n >= 2
            contrib = np.where(multi, f * n / (n - 1) * (s2 - s1**2 / n), 0.0)
            missing = np.zeros(s1.shape, dtype=bool)
            single = ~multi
            lonely = np.broadcast_to(single, s1.shape).copy()
            if self.adjust_domain_lonely:
                dl = multi & (nsub == 1)
                if adjust:
                    contrib = np.where(
                        dl, f * n / (n - 1) * ((s1 - centre) ** 2 + (n - 1) * centre**2), contrib)
                    lonely |= dl
                elif opt == "average":
                    missing |= dl
                    lonely |= dl
            if adjust:
                contrib = np.where(single, f * (s1 - centre) ** 2, contrib)
            elif opt == "average":
                missing |= single
        live = present & ~selfrep
        missing &= live
        lonely &= live
        contrib = np.where(live & ~missing, contrib, 0.0) * mult
        var = to_dom @ contrib
        if s == 0:
            nstrat = to_dom @ present.astype(float)
            nok = to_dom @ (present & ~missing).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.where(nstrat > 0, var * nstrat / nok, 0.0)
        else:
            var = np.where((to_dom @ missing.astype(float)) > 0, np.nan, var)
        return var, {"lonely": to_dom @ lonely.astype(float), "live": to_dom @ live.astype(float)}

    def _calibration_beta(self, X: sparse.csr_array) -> dict[int, np.ndarray]:
        """Coefficients of the calibration residuals: x_adj = x - sum_A mats[A] @ beta[A]."""
        cache: dict[tuple[int, int], np.ndarray] = {}
        aggregated: dict[int, np.ndarray] = {}
        betas: list[np.ndarray] = []
        for k, step in enumerate(self._steps):
            if step.F not in aggregated:
                aggregated[step.F] = np.asarray((self._mats[step.F].T @ X).todense())
            rhs = aggregated[step.F].copy()
            for j in range(k):
                prev = self._steps[j]
                key = (step.F, prev.A)
                if key not in cache:
                    cache[key] = np.asarray((self._mats[step.F].T @ self._mats[prev.A]).todense())
                rhs -= cache[key] @ betas[j]
            betas.append(step.phi @ rhs)
        merged: dict[int, np.ndarray] = {}
        for step, beta in zip(self._steps, betas, strict=True):
            merged[step.A] = merged.get(step.A, 0) + beta
        return merged

    def _dense_variance(self, X: sparse.csr_array, Q: sparse.csr_array | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``svyrecvar`` of influence columns over the full design (every stratum present).

        Used for calibrated designs (whose residuals reach every row) and for contrasts.
        ``Q``: for a design of cells with a second stage, each cell's sums of squared
        respondent values (the second stage's within-PSU moments).
        Returns the variance, the lonely-stratum count and the live-stratum count per column.
        """
        n_col = X.shape[1]
        betas = self._calibration_beta(X) if self._steps else {}
        var = np.zeros(n_col)
        lonely = np.zeros(n_col)
        live = np.zeros(n_col)
        for s, stage in enumerate(self._stages):
            if stage.unit is None:
                if Q is None:
                    raise ValueError("contrasts and calibration are not available for cells")
                to_psu = _indicator(self._psu, self.n_psu)
                psu_x, psu_q = (to_psu @ X).tocsc(), (to_psu @ Q).tocsc()
                width = max(1, _CHUNK // max(1, self.n_psu))
                for lo in range(0, n_col, width):
                    hi = min(n_col, lo + width)
                    s1 = psu_x[:, lo:hi].toarray()
                    s2 = psu_q[:, lo:hi].toarray()
                    nsub = np.broadcast_to(stage.n[:, None], s1.shape)
                    v, _ = self._stage_variance(s, np.arange(self.n_psu),
                                                np.zeros(self.n_psu, dtype=np.intp), s1, s2, nsub, 1)
                    var[lo:hi] += v[0]
                continue
            to_unit = _indicator(stage.unit, stage.n_units)
            corr = {a: np.asarray((to_unit @ self._mats[a]).todense()) for a in betas}
            grp = stage.parent_of_unit
            n_grp = len(stage.n)
            to_grp = _indicator(grp, n_grp)
            unit_x = (to_unit @ X).tocsc()
            width = max(1, _CHUNK // max(1, stage.n_units))
            for lo in range(0, n_col, width):
                hi = min(n_col, lo + width)
                T = unit_x[:, lo:hi].toarray()
                for a, beta in betas.items():
                    T -= corr[a] @ beta[:, lo:hi]
                s1 = to_grp @ T
                s2 = to_grp @ T**2
                nsub = np.broadcast_to(stage.n[:, None], s1.shape)
                # every parent is its own group, every column its own "domain"
                v, info = self._stage_variance(s, np.arange(n_grp), np.zeros(n_grp, dtype=np.intp),
                                               s1, s2, nsub, 1)
                var[lo:hi] += v[0]
                if s == 0:
                    lonely[lo:hi] = info["lonely"][0]
                    live[lo:hi] = info["live"][0]
        return var, lonely, live

    def _contrast_frame(self, prep: _Prepared, coef: np.ndarray, level: float) -> pd.DataFrame:
        """Contrasts (rows of ``coef`` over domains) of one variable's domain estimates."""
        n_con = coef.shape[0]
        # influence of contrast k at row i: coef[k, domain of i] * score of i
        placed = sparse.csr_array((prep.scores[:, 0], (prep.rows, prep.d)),
                                  shape=(len(self.data), prep.n_dom))
        X = sparse.csr_array(placed @ sparse.csr_array(coef.T))
        var, lonely, live = self._dense_variance(X)
        est = coef @ np.nan_to_num(prep.est[:, 0])
        # df: the degf of the rows of the domains in the contrast
        keep = self._w[prep.rows] != 0
        df = np.zeros(n_con, dtype=np.int64)
        n = np.zeros(n_con, dtype=np.int64)
        for k in range(n_con):
            inside = (coef[k, prep.d] != 0) & keep
            df[k] = (len(np.unique(self._psu[prep.rows][inside]))
                     - len(np.unique(self._h[prep.rows][inside])))
            n[k] = int(prep.valid[coef[k, prep.d] != 0, 0].sum())
        se = np.sqrt(np.maximum(var, 0.0))
        notes = np.where(lonely > 0, f"lonely_psu_{self.lonely_psu}", "").astype(object)
        bad = np.isnan(var) | ((var == 0) & (df <= 0) & (live > 0))
        se = np.where(bad, np.nan, se)
        notes = np.where(bad, np.where(notes == "", "variance_not_estimable",
                                       notes + ";variance_not_estimable"), notes)
        lo, hi = t_interval(est, se, df, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = est / se
            p = 2 * stats.t.sf(np.abs(tstat), np.where(df > 0, df, np.nan))
        return pd.DataFrame({"contrast": np.arange(n_con), "estimate": est, "se": se, "df": df,
                             "ci_low": lo, "ci_high": hi, "p_value": p, "n": n, "note": notes})


# ------------------------------------------------------------------------------ helpers
def _key(value: Any) -> Any:
    """A level as a comparable key (numbers as floats, the rest as strings)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return str(value)


def _sort_key(value: Any) -> tuple:
    return (0, float(value), "") if isinstance(value, int | float | np.integer | np.floating) \
        else (1, 0.0, str(value))


def _subsets(cols: list[str], size: int) -> list[tuple[str, ...]]:
    from itertools import combinations

    return [tuple(c) for c in combinations(cols, size)]


def _product(grids: list[list[Any]]) -> list[tuple]:
    from itertools import product

    return list(product(*grids))


def _population_frame(population: Any, cols: list[str]) -> pd.DataFrame:
    """Population counts as a frame: the ``cols`` and ``__freq__``."""
    if isinstance(population, pd.DataFrame):
        missing = [c for c in cols if c not in population.columns]
        if missing:
            raise ValueError(f"population table lacks {', '.join(missing)}")
        others = [c for c in population.columns if c not in cols]
        if len(others) != 1:
            raise ValueError("a population table holds the post-stratum columns and one count column")
        frame = population[cols].copy()
        frame["__freq__"] = pd.to_numeric(population[others[0]]).to_numpy(dtype=float)
        return frame.reset_index(drop=True)
    series = population if isinstance(population, pd.Series) else pd.Series(population)
    rows = [(k if isinstance(k, tuple) else (k,)) for k in series.index]
    if any(len(r) != len(cols) for r in rows):
        raise ValueError(f"population keys must have {len(cols)} parts")
    frame = pd.DataFrame(rows, columns=cols)
    frame["__freq__"] = series.to_numpy(dtype=float)
    return frame


def _population_table(population: Any, cols: list[str]) -> pd.Series:
    """Population counts as a Series keyed by level tuples."""
    frame = _population_frame(population, cols)
    keys = [tuple(r) for r in frame[cols].itertuples(index=False, name=None)]
    return pd.Series(frame["__freq__"].to_numpy(), index=pd.Index(keys, tupleize_cols=False))


def _grake(mm: np.ndarray, ww: np.ndarray, calfun: str, lower: float, upper: float,
           population: np.ndarray, maxit: int, epsilon: float) -> np.ndarray:
    """R's ``grake``: Newton iterations for the g-weights of a calibration function."""
    # R's cal.linear and cal.raking (whose derivative tests u, not exp(u), against the bounds)
    if calfun == "linear":
        def fm1(u):
            return np.minimum(np.maximum(u + 1, lower), upper) - 1

        def dfun(u):
            return ((u < upper - 1) & (u > lower - 1)).astype(float)
    else:
        def fm1(u):
            return np.minimum(np.maximum(np.exp(u), lower), upper) - 1

        def dfun(u):
            return np.where((u < upper - 1) & (u > lower - 1), np.exp(u), 0.0)

    sample_total = (mm * ww[:, None]).sum(axis=0)
    eta = np.zeros(mm.shape[1])
    xeta = mm @ eta
    g = 1 + fm1(xeta)
    deriv = dfun(xeta)
    scales = population / sample_total
    scale = None
    if np.min(scales) > 20:  # R's pre-scaling for weights far below the population
        scale = float(np.mean(scales))
        ww = ww * scale
        sample_total = sample_total * scale
    it = 1
    while True:
        tmat = (mm * (ww * deriv)[:, None]).T @ mm
        misfit = population - sample_total - (mm * (ww * fm1(xeta))[:, None]).sum(axis=0)
        deta = np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + deta
        xeta = mm @ eta
        g = 1 + fm1(xeta)
        deriv = dfun(xeta)
        while it < maxit and not (np.isfinite(g).all() and np.isfinite(deriv).all()):
            it += 1
            deta = deta / 2
            eta = eta - deta
            xeta = mm @ eta
            g = 1 + fm1(xeta)
            deriv = dfun(xeta)
        misfit = population - sample_total - (mm * (ww * fm1(xeta))[:, None]).sum(axis=0)
        if np.all(np.abs(misfit) / (1 + np.abs(population)) < epsilon):
            break
        it += 1
        if it > maxit:
            achieved = float(np.max(np.abs(misfit) / (1 + np.abs(population))))
            raise ValueError(f"calibration failed to converge: eps={achieved:g} in {it} iterations")
    if scale is not None:
        g = g * scale
    return g


# ------------------------------------------------------------------------------ waves
class Difference(NamedTuple):
    """Difference between two independent estimates (floats or arrays)."""

    diff: Any
    se: Any
    z: Any
    p_value: Any
    significant: Any


def difference(est1: Any, se1: Any, est2: Any, se2: Any, level: float = 0.95) -> Difference:
    """Change from sample 1 to sample 2 for independent samples (e.g. two waves).

    Args:
        est1: Estimate(s) of the first (e.g. baseline) sample.
        se1: Their standard error(s).
        est2: Estimate(s) of the second (e.g. latest) sample.
        se2: Their standard error(s).
        level: Confidence level of the test.

    Returns:
        ``diff = est2 - est1``, ``se = sqrt(se1^2 + se2^2)``, ``z = diff / se``,
        two-sided normal ``p_value`` and ``significant`` (p < 1 - level);
        scalars for scalar input, arrays otherwise.
    """
    level = _check_level(level)
    e1, s1, e2, s2 = (np.asarray(a, dtype=float) for a in (est1, se1, est2, se2))
    diff = e2 - e1
    se = np.sqrt(s1**2 + s2**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
    p_value = 2 * stats.norm.sf(np.abs(z))
    significant = p_value < 1 - level
    values = (diff, se, z, p_value, significant)
    if all(np.ndim(v) == 0 for v in values):
        return Difference(*(v.item() for v in values))
    return Difference(*values)
