"""Types, constants and records shared by the estimator's modules.

The records are what a design keeps: its sampling stages, its calibration steps and a
prepared estimate (row scores and domain bookkeeping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

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
