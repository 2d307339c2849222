"""Point estimates, influence values (scores) and SRS variances per domain.

Also the frame of statistics (se, df, interval, deff, notes) every estimator returns.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.estimator.common import (
    By,
    _as_float,
    _check_level,
    _indicator,
    _Prepared,
)
from pipeline.estimator.intervals import logit_interval, t_interval


class _Estimation:
    """``Design``'s estimation internals."""

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
