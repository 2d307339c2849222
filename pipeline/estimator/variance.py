"""Taylor linearisation variance, R's ``svyrecvar``.

Stage by stage within domains, the lonely-PSU rules, and the dense path over the full
design that calibrated designs and contrasts use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.estimator.common import (
    _CHUNK,
    _indicator,
    _Prepared,
)


class _Variance:
    """``Design``'s variance internals."""

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
