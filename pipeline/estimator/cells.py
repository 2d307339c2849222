"""Designs whose rows are cells that sum the respondents of one PSU and domain cell.

What the indicator engine gets from DuckDB: ``CellSums``, ``Design.from_cells``,
``Design.cell_means`` and the post-stratification residuals of cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.estimator.calibration import _population_table
from pipeline.estimator.common import (
    By,
    Columns,
    DeffKind,
    LonelyPSU,
    _as_float,
    _check_level,
    _columns,
    _indicator,
    _Prepared,
    _Stage,
)

if TYPE_CHECKING:
    from pipeline.estimator.design import Design


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



class _Cells:
    """``Design``'s methods for designs of cells."""

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
