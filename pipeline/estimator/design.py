"""The ``Design`` class, like R's ``svydesign()``.

Construction from respondent rows, degrees of freedom, weighting efficiency, the public
estimators (``mean``, ``total``, ``proportion``, ``ratio`` and their plural forms) and
domains. Calibration, contrasts, cells, estimation and variance come from the mixins of
the sibling modules.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.estimator.calibration import _Calibration
from pipeline.estimator.cells import _Cells
from pipeline.estimator.common import (
    _LONELY_OPTIONS,
    _UNSET,
    By,
    Columns,
    DeffKind,
    LonelyPSU,
    _as_float,
    _check_level,
    _columns,
    _indicator,
    _Stage,
    _Step,
)
from pipeline.estimator.contrasts import _Contrasts
from pipeline.estimator.estimation import _Estimation
from pipeline.estimator.variance import _Variance


class Design(_Cells, _Calibration, _Contrasts, _Estimation, _Variance):
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
