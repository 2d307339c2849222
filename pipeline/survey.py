"""Design-based survey estimation that reproduces R's ``survey`` package.

``Design`` mirrors ``svydesign()`` and its methods mirror ``svymean``,
``svytotal``, ``svyratio``, ``svyciprop`` and ``svyby``; every number is
checked against R in ``tests/test_survey.py`` (reference values made by
``tests/fixtures/survey_r/make_reference.R``).

Example::

    d = Design(df, weights="pw", strata="stype", psu="dnum", fpc="fpc")
    d.mean("api00")                             # svymean(~api00, d, na.rm=TRUE)
    d.mean("api00", by="stype")                 # svyby(~api00, ~stype, d, svymean, na.rm=TRUE)
    d.proportion("sch.wide", "Yes", by="stype")
    d.means(["api00", "enroll"], by=["stype", "awards"])   # long format

Variance is by Taylor linearisation with the ultimate-cluster
approximation: each estimator forms influence values (linearised scores) per
row, which are summed to PSU totals ``z_hi`` within strata, and

    V = sum_h (1 - f_h) * n_h / (n_h - 1) * sum_i (z_hi - zbar_h)^2,

with ``n_h`` the number of PSUs sampled in stratum ``h`` and ``f_h = n_h / N_h``
(``f_h = 0`` without ``fpc``, i.e. with-replacement sampling).

How R's conventions are matched:

* Domains (``by=``) are estimated as ``svyby`` does: the full design is kept,
  rows outside the domain have zero scores, so ``n_h`` is the number of PSUs
  of the whole sample in stratum ``h`` (PSUs without domain rows count as
  zero totals). Domains whose ``by`` value is missing are dropped.
* Missing values are handled as ``na.rm=TRUE``: R drops the rows from the
  design, which again keeps the PSU counts of the full design, so a missing
  value is treated exactly like a row outside the domain. ``means()`` and the
  other multi-variable methods treat each variable's missing values on their
  own (as separate ``svymean`` calls, not one call on complete cases).
  ``n`` is the number of non-missing rows in the domain.
* Strata with a single PSU follow ``options(survey.lonely.psu="adjust")``:
  that PSU total is centred at the grand mean of PSU totals (the sum of the
  scores over the strata present in the domain divided by their number of
  PSUs) instead of the stratum mean, with no ``n/(n-1)`` factor. That is what
  survey >= 4.2 does. survey <= 4.1 centres at zero instead; ask for that
  with ``lonely_psu="adjust_zero"``. Both give identical variances for means,
  proportions and ratios (their scores sum to zero) and differ for totals.
  A stratum with one PSU whose population size is 1 is a certainty stratum
  and contributes nothing.
* Strata that have several PSUs in the design but only one within a domain
  are *not* treated as lonely: R's default
  ``survey.adjust.domain.lonely=FALSE`` centres them at the stratum mean over
  all the stratum's PSUs, the absent ones counting as zero.
* ``deff`` is what R's ``deff=TRUE`` returns: the design variance over the
  variance of simple random sampling *without* replacement of the same size
  from a population of size sum(weights), ``s^2 * (1/n - 1/N_hat)`` for a
  mean (``s^2`` the weighted variance with the ``n/(n-1)`` factor). For a
  mean whose weights sum to less than ``n`` R reports NA, and so do we.
  ``Design(..., deff="replace")`` gives R's ``deff="replace"`` (``s^2/n``).
* ``ci_low``/``ci_high`` use the normal quantile (``confint`` on svystat and
  svyby objects). The proportion's ``ci_low_logit``/``ci_high_logit`` are
  ``svyciprop(method="logit")``: ``expit(logit(p) +/- t * se / (p(1-p)))``
  with ``t`` the Student quantile on ``df`` degrees of freedom, ``df`` being
  ``degf()`` of the domain design: PSUs minus strata among the domain's rows
  (rows with a missing value of the variable included, as in R). R gets ``t``
  by converting it to a normal confidence level and back (confint.svyglm);
  we take the same path, so for ``df = 1`` at 95% the multiplier is
  infinite and the interval is (0, 1), as in R (whose upper bound prints as
  NaN there, expit(Inf)). When p is exactly 0 or 1 the logit interval
  collapses to p (R's glm does not converge there and returns noise).
* Without weights, weights are 1 unless ``fpc`` is given, in which case they
  are ``N_h / n_h`` as ``svydesign`` derives them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse, stats

__all__ = ["Design", "Difference", "difference"]

LonelyPSU = Literal["adjust", "adjust_zero", "remove", "certainty", "fail"]
DeffKind = Literal["srswor", "replace"]
By = str | Sequence[str] | None

_LONELY_OPTIONS = ("adjust", "adjust_zero", "remove", "certainty", "fail")
_STAT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "deff"]
_LOGIT_COLUMNS = ["ci_low_logit", "ci_high_logit"]
_UNSET: Any = object()


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


class Design:
    """A survey design, like R's ``svydesign()``.

    Args:
        data: One row per respondent.
        weights: Column of sampling weights. Absent: 1, or ``N_h / n_h`` when
            ``fpc`` is given (as ``svydesign`` derives them).
        strata: Column of strata. Absent: one stratum.
        psu: Column of primary sampling units (first-stage clusters); ids are
            nested within strata (R's ``nest=TRUE``). Absent: each row is its
            own PSU.
        fpc: Column of population sizes, constant within a stratum: the
            stratum size for an element design, the number of PSUs in the
            stratum population for a cluster design. Values all <= 1 are read
            as sampling fractions, as R does. Absent: sampling with
            replacement (no finite population correction).
        lonely_psu: Treatment of strata with a single PSU, as
            ``options(survey.lonely.psu=)``: ``"adjust"`` (centre at the grand
            mean, survey >= 4.2), ``"adjust_zero"`` (centre at zero, survey <=
            4.1), ``"remove"``/``"certainty"`` (contribute nothing), ``"fail"``
            (raise).
        deff: ``"srswor"`` for R's ``deff=TRUE``, ``"replace"`` for
            ``deff="replace"``.

    Raises:
        ValueError: On missing design values, an fpc that varies within a
            stratum or implies more than 100% sampling, or a lonely PSU with
            ``lonely_psu="fail"``.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str | None = None,
        strata: str | None = None,
        psu: str | None = None,
        fpc: str | None = None,
        *,
        lonely_psu: LonelyPSU = "adjust",
        deff: DeffKind = "srswor",
    ) -> None:
        if lonely_psu not in _LONELY_OPTIONS:
            raise ValueError(f"lonely_psu must be one of {_LONELY_OPTIONS}, got {lonely_psu!r}")
        if deff not in ("srswor", "replace"):
            raise ValueError(f"deff must be 'srswor' or 'replace', got {deff!r}")
        self.data = data
        self.weights, self.strata, self.psu, self.fpc = weights, strata, psu, fpc
        self.lonely_psu: LonelyPSU = lonely_psu
        self.deff_kind: DeffKind = deff
        n = len(data)

        if strata is None:
            h = np.zeros(n, dtype=np.intp)
            n_strata = 1
        else:
            h, labels = pd.factorize(data[strata], sort=True)
            if (h < 0).any():
                raise ValueError(f"missing values in strata column {strata!r}")
            n_strata = len(labels)

        if psu is None:
            g = np.arange(n, dtype=np.intp)
        else:
            p, _ = pd.factorize(data[psu])
            if (p < 0).any():
                raise ValueError(f"missing values in psu column {psu!r}")
            # The same PSU id in two strata is two PSUs (R's nest=TRUE).
            g, _ = pd.factorize(h.astype(np.int64) * (int(p.max()) + 1) + p)
        n_psu_total = int(g.max()) + 1 if n else 0
        psu_stratum = np.zeros(n_psu_total, dtype=np.intp)
        psu_stratum[g] = h
        n_h = np.bincount(psu_stratum, minlength=n_strata).astype(float)

        pop_h = np.full(n_strata, np.inf)
        if fpc is not None:
            raw = _as_float(data[fpc], fpc)
            if np.isnan(raw).any():
                raise ValueError(f"missing values in fpc column {fpc!r}")
            is_popsize = bool((raw > 1).any())
            if is_popsize != bool((raw >= 1).all()):
                raise ValueError("fpc must be all population sizes (>= 1) or all fractions (<= 1)")
            with np.errstate(divide="ignore"):
                pop = raw if is_popsize else n_h[h] / raw
            lo = np.full(n_strata, np.inf)
            hi = np.full(n_strata, -np.inf)
            np.minimum.at(lo, h, pop)
            np.maximum.at(hi, h, pop)
            if not np.allclose(lo, hi, rtol=1e-12, atol=0):
                raise ValueError(f"fpc column {fpc!r} varies within strata")
            pop_h = lo
            if (pop_h < n_h).any():
                raise ValueError("fpc implies more than 100% sampling in some strata")

        if weights is not None:
            w = _as_float(data[weights], weights)
            if np.isnan(w).any():
                raise ValueError(f"missing values in weights column {weights!r}")
        elif fpc is not None:
            w = (pop_h / n_h)[h]
            if not np.isfinite(w).all():
                raise ValueError("weights not supplied and can't be computed from fpc")
        else:
            w = np.ones(n)

        one_minus_f = np.where(np.isfinite(pop_h), 1.0 - n_h / pop_h, 1.0)
        # A single sampled PSU out of more than one in the population cannot
        # estimate its stratum's variance; a certainty PSU (N_h == 1) needs none.
        lonely = (n_h < 2) & (pop_h > 1)
        if lonely_psu == "fail" and lonely.any():
            raise ValueError(f"{int(lonely.sum())} strata have only one PSU")
        with np.errstate(divide="ignore", invalid="ignore"):
            self._scale = np.where(n_h >= 2, one_minus_f * n_h / (n_h - 1), 0.0)
        adjust = lonely_psu in ("adjust", "adjust_zero")
        self._lonely_scale = np.where(lonely & adjust, one_minus_f, 0.0)
        self._any_lonely = bool(adjust and lonely.any())

        self._h, self._g, self._w = h, g, w
        self._psu_stratum = psu_stratum
        self._n_h = n_h
        self.n_strata = n_strata
        self.n_psu = n_psu_total
        self.n_lonely_strata = int(lonely.sum())

    # ------------------------------------------------------------ public API
    @property
    def degf(self) -> int:
        """Design degrees of freedom as R's ``degf()``: PSUs minus strata."""
        nonzero = self._w != 0
        return len(np.unique(self._g[nonzero])) - len(np.unique(self._h[nonzero]))

    def mean(self, variable: str, by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Mean of one variable, like ``svymean``/``svyby(..., svymean)``.

        Args:
            variable: Numeric column (missing values are dropped).
            by: Domain column(s).
            level: Confidence level.

        Returns:
            by columns, estimate, se, ci_low, ci_high, n, deff, df.
        """
        return self.means([variable], by, level=level).drop(columns="variable")

    def means(
        self, variables: Sequence[str], by: By = None, *, level: float = 0.95
    ) -> pd.DataFrame:
        """Means of several variables over all domains at once.

        Returns:
            Long format: variable, by columns, then the statistics of
            :meth:`mean`.
        """
        names = list(variables)
        ys = [_as_float(self._column(v), v) for v in names]
        return self._estimate("mean", names, ys, None, by, level)

    def total(self, variable: str, by: By = None, *, level: float = 0.95) -> pd.DataFrame:
        """Total of one variable, like ``svytotal``."""
        return self.totals([variable], by, level=level).drop(columns="variable")

    def totals(
        self, variables: Sequence[str], by: By = None, *, level: float = 0.95
    ) -> pd.DataFrame:
        """Totals of several variables over all domains, long format."""
        names = list(variables)
        ys = [_as_float(self._column(v), v) for v in names]
        return self._estimate("total", names, ys, None, by, level)

    def proportion(
        self,
        variable: str,
        value: Any = _UNSET,
        by: By = None,
        *,
        level: Any = 0.95,
    ) -> pd.DataFrame:
        """Proportion of rows where ``variable == value``, like ``svymean(~I(x == value))``.

        For compatibility with the spelling ``d.proportion("sch.wide",
        level="Yes")``, a ``level`` that is not a float (a string, bool or int)
        is taken as the category when ``value`` is not given; the confidence
        level is then 0.95.

        Args:
            variable: Column compared with ``value``; rows where it is missing
                are dropped.
            value: Category whose proportion (in [0, 1]) is estimated.
            by: Domain column(s).
            level: Confidence level (or the category, see above).

        Returns:
            by columns, estimate, se, ci_low, ci_high, n, deff,
            ci_low_logit, ci_high_logit (``svyciprop(method="logit")``), df.
        """
        value, level = self._value_and_level(value, level)
        return self.proportions({variable: (variable, value)}, by, level=level).drop(
            columns="variable"
        )

    def proportions(
        self,
        spec: Mapping[str, tuple[str, Any]] | Iterable[tuple[str, Any]],
        by: By = None,
        *,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Several proportions over all domains at once.

        Args:
            spec: ``{name: (column, value)}``, or ``(column, value)`` pairs
                (named ``"column==value"``).
            by: Domain column(s).
            level: Confidence level.

        Returns:
            Long format: variable (the name), by columns, then the columns of
            :meth:`proportion`.
        """
        items = (
            list(spec.items())
            if isinstance(spec, Mapping)
            else [(f"{col}=={val}", (col, val)) for col, val in spec]
        )
        names, ys = [], []
        for name, (column, value) in items:
            series = self._column(column)
            missing = series.isna().to_numpy()
            hit = (series == value).fillna(False).to_numpy(dtype=bool)
            names.append(name)
            ys.append(np.where(missing, np.nan, hit.astype(float)))
        return self._estimate("proportion", names, ys, None, by, level)

    def ratio(
        self, numerator: str, denominator: str, by: By = None, *, level: float = 0.95
    ) -> pd.DataFrame:
        """Ratio of totals, like ``svyratio`` (``svyby(..., denominator=, svyratio)``).

        Rows missing either variable are dropped; ``n`` counts complete rows.
        """
        return self.ratios({numerator: (numerator, denominator)}, by, level=level).drop(
            columns="variable"
        )

    def ratios(
        self,
        spec: Mapping[str, tuple[str, str]] | Iterable[tuple[str, str]],
        by: By = None,
        *,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Several ratios, ``{name: (numerator, denominator)}`` or pairs, long format."""
        items = (
            list(spec.items())
            if isinstance(spec, Mapping)
            else [(f"{num}/{den}", (num, den)) for num, den in spec]
        )
        names = [name for name, _ in items]
        ys = [_as_float(self._column(num), num) for _, (num, _) in items]
        xs = [_as_float(self._column(den), den) for _, (_, den) in items]
        return self._estimate("ratio", names, ys, xs, by, level)

    # ------------------------------------------------------------- internals
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

    def _domains(self, by: By) -> tuple[np.ndarray, pd.DataFrame]:
        """Domain code per row (-1: missing by value) and the domain keys, sorted."""
        if by is None or (not isinstance(by, str) and len(by) == 0):
            return np.zeros(len(self.data), dtype=np.intp), pd.DataFrame(index=range(1))
        columns = [by] if isinstance(by, str) else list(by)
        for column in columns:
            self._column(column)
        grouped = self.data.groupby(columns, sort=True, dropna=True, observed=True)
        codes = grouped.ngroup().fillna(-1).to_numpy(dtype=np.intp)
        keys = grouped.size().index.to_frame(index=False)
        return codes, keys

    def _estimate(
        self,
        kind: str,
        names: list[Hashable],
        ys: list[np.ndarray],
        xs: list[np.ndarray] | None,
        by: By,
        level: Any,
    ) -> pd.DataFrame:
        level = _check_level(level)
        dom_all, keys = self._domains(by)
        rows = np.flatnonzero(dom_all >= 0)
        d = dom_all[rows]
        n_dom, n_var = len(keys), len(names)
        w, h, g = self._w[rows], self._h[rows], self._g[rows]

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
            variance = self._variance(scores, valid, d, g, h, n_dom)

            # Weighted element variance with R's n/(n-1) (svyvar), for deff.
            s2 = (member @ (wv * spread**2)) / psum * n_pos / (n_pos - 1)
            srs = s2 if kind in ("mean", "proportion") else s2 * psum**2
            if self.deff_kind == "replace":
                deff = variance / (srs / n_pos)
            else:
                deff = variance / (srs * (psum - n_pos) / (psum * n_pos))
                if kind in ("mean", "proportion"):
                    deff = np.where(psum < n_pos, np.nan, deff)

        se = np.sqrt(np.maximum(variance, 0.0))
        z = stats.norm.ppf(0.5 + level / 2)
        df = self._domain_degf(d, g, h, w, n_dom)
        out: dict[str, np.ndarray] = {
            "estimate": est,
            "se": se,
            "ci_low": est - z * se,
            "ci_high": est + z * se,
            "n": n_obs.astype(np.int64),
            "deff": deff,
        }
        if kind == "proportion":
            out["ci_low_logit"], out["ci_high_logit"] = _logit_ci(est, se, df, level)
        out["df"] = np.broadcast_to(df[:, None], (n_dom, n_var))

        # Long format, variable-major: all domains of the first variable first.
        frame = pd.concat([keys] * n_var, ignore_index=True) if n_var else keys.iloc[:0]
        frame.insert(0, "variable", np.repeat(np.asarray(names, dtype=object), n_dom))
        for column, values in out.items():
            frame[column] = np.asarray(values).T.reshape(-1)
        return frame

    def _variance(
        self,
        scores: np.ndarray,
        valid: np.ndarray,
        d: np.ndarray,
        g: np.ndarray,
        h: np.ndarray,
        n_dom: int,
    ) -> np.ndarray:
        """Linearisation variance per (domain, variable) from row scores."""
        n_strata, n_var = self.n_strata, scores.shape[1]
        # PSU totals per domain: only (PSU, domain) pairs that have rows; the
        # other PSUs of the stratum have zero totals, which enter through n_h.
        pair, pair_key = pd.factorize(g.astype(np.int64) * n_dom + d)
        pair_d = pair_key % n_dom
        pair_h = self._psu_stratum[pair_key // n_dom]
        totals = _indicator(pair, len(pair_key)) @ scores
        to_hd = _indicator(pair_h * n_dom + pair_d, n_strata * n_dom)
        s1 = (to_hd @ totals).reshape(n_strata, n_dom, n_var)
        s2 = (to_hd @ totals**2).reshape(n_strata, n_dom, n_var)
        n_h = self._n_h[:, None, None]
        # sum_i (z_hi - zbar_h)^2 over all n_h PSUs = sum z^2 - (sum z)^2 / n_h.
        variance = np.einsum("h,hdv->dv", self._scale, s2 - s1**2 / n_h)
        if self._any_lonely:
            # R sees a stratum only if the domain has non-missing rows in it.
            rows_hd = _indicator(h * n_dom + d, n_strata * n_dom) @ valid.astype(float)
            present = rows_hd.reshape(n_strata, n_dom, n_var) > 0
            if self.lonely_psu == "adjust":
                psus = np.einsum("h,hdv->dv", self._n_h, present)
                centre = s1.sum(axis=0) / psus
            else:
                centre = np.zeros((n_dom, n_var))
            deviation = np.where(present, s1 - centre, 0.0)
            variance = variance + np.einsum("h,hdv->dv", self._lonely_scale, deviation**2)
        return variance

    def _domain_degf(
        self, d: np.ndarray, g: np.ndarray, h: np.ndarray, w: np.ndarray, n_dom: int
    ) -> np.ndarray:
        """R's ``degf()`` of each domain's design: PSUs minus strata with rows in it."""
        keep = w != 0
        d, g, h = d[keep], g[keep], h[keep]
        psus = pd.unique(g.astype(np.int64) * n_dom + d) % n_dom
        strata = pd.unique(h.astype(np.int64) * n_dom + d) % n_dom
        return np.bincount(psus, minlength=n_dom) - np.bincount(strata, minlength=n_dom)


def _logit_ci(
    p: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """``svyciprop(method="logit")``: a t interval on the logit scale, back-transformed."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        df_safe = np.where(df > 0, df.astype(float), np.nan)
        # R's confint.svyglm turns the t quantile into a normal confidence
        # level and back; following that path keeps its rounding, notably an
        # infinite multiplier (interval (0, 1)) for df = 1 at 95%.
        t_level = 1 - 2 * stats.norm.cdf(stats.t.ppf((1 - level) / 2, df_safe))
        tail = (1 - t_level) / 2
        fac_low = stats.norm.ppf(tail)[:, None]
        fac_high = stats.norm.ppf(1 - tail)[:, None]
        interior = (p > 0) & (p < 1)
        p_in = np.where(interior, p, 0.5)
        centre = np.log(p_in / (1 - p_in))
        se_logit = se / (p_in * (1 - p_in))
        low = np.where(interior, 1 / (1 + np.exp(-(centre + fac_low * se_logit))), p)
        high = np.where(interior, 1 / (1 + np.exp(-(centre + fac_high * se_logit))), p)
    return low, high


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
