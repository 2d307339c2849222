"""Calibration of a design's weights: ``post_stratify``, ``rake`` and ``calibrate``.

R's ``postStratify``, ``rake``, ``calibrate`` and ``grake``, with the linear steps whose
residuals the variance uses, and the population tables they read.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.estimator.common import (
    _as_float,
    _columns,
    _indicator,
    _Step,
)

if TYPE_CHECKING:
    from pipeline.estimator.design import Design


class _Calibration:
    """``Design``'s calibration methods."""

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
