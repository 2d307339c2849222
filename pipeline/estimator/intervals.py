"""Confidence intervals and the change between two independent samples.

R's t interval (``confint``) and ``svyciprop``'s logit interval; ``difference`` tests a
change between independent samples such as two waves.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from pipeline.estimator.common import _check_level


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
