"""Linear combinations of domain estimates, with the covariance of the domains.

``Design.contrast`` and ``Design.differences``: R's ``svyby(..., covmat = TRUE)`` +
``svycontrast``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from pipeline.estimator.common import (
    By,
    Estimator,
    _columns,
    _Prepared,
)
from pipeline.estimator.intervals import t_interval


class _Contrasts:
    """``Design``'s contrast methods."""

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
