"""The sampling frame and the people in it.

A ``Frame`` per municipality (settlements, their adult populations and effects), the people
drawn into it (sex, age, displacement, education, employment) and the adult margins by sex
and age group that calibration reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.reference import census
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.names import SETTLEMENTS

ADULT_SHARE = 0.82  # adults (18+) among the 2013 census population
MAX_SAMPLING_FRACTION = 0.25  # above this, the finite population is too small: superpopulation

AGE_GROUPS = ("18-29", "30-44", "45-64", "65+")
_AGE_P = np.array([0.17, 0.23, 0.35, 0.25])
_AGE_LO = np.array([18, 30, 45, 65])
_AGE_HI = np.array([29, 44, 64, 95])
_FEMALE_P = 0.52
_SEX_P = np.array([1 - _FEMALE_P, _FEMALE_P])
DISPLACEMENT_P = {  # none, displaced, returnee
    "bosansko_grahovo": (0.55, 0.05, 0.40), "bosanski_petrovac": (0.60, 0.05, 0.35),
    "drvar": (0.50, 0.12, 0.38), "glamoc": (0.60, 0.08, 0.32), "kljuc": (0.70, 0.08, 0.22),
    "livno": (0.80, 0.10, 0.10), "sanski_most": (0.65, 0.10, 0.25),
    "mrkonjic_grad": (0.70, 0.25, 0.05), "ribnik": (0.72, 0.22, 0.06),
}
_EDU_P = np.array([[0.08, 0.67, 0.25], [0.12, 0.65, 0.23], [0.25, 0.62, 0.13], [0.55, 0.38, 0.07]])
_EMP_P = np.array([[0.42, 0.22, 0.00, 0.28, 0.05, 0.03], [0.62, 0.20, 0.01, 0.01, 0.12, 0.04],
                   [0.50, 0.18, 0.15, 0.00, 0.13, 0.04], [0.03, 0.01, 0.86, 0.00, 0.08, 0.02]])


@dataclass
class Frame:
    """A municipality's settlements with their adult populations and model effects."""

    muni_id: str
    settlements: tuple[str, ...]
    sizes: np.ndarray  # adults per settlement (times the scale in superpopulation mode)
    effect: np.ndarray  # settlement effect on trust in institutions
    effect_c: np.ndarray  # settlement effect on openness to the other entity
    muni_effect: float
    muni_effect_c: float

    @property
    def psu_codes(self) -> list[str]:
        return [f"{self.muni_id}-{i + 1:02d}" for i in range(len(self.settlements))]


def choose_population_scale(respondents: int) -> int:
    """1 when the real adult populations can carry the sample, else the blow-up factor."""
    pop = census().set_index("muni_id")["population"]
    smallest = min(round(ADULT_SHARE * float(pop[m])) for m in PROJECT_MUNICIPALITIES)
    return max(1, math.ceil(respondents / (MAX_SAMPLING_FRACTION * smallest)))


def build_frames(rng: np.random.Generator, scale: int) -> list[Frame]:
    """One frame per project municipality: adults spread over settlements, centre first."""
    pop = census().set_index("muni_id")["population"]
    frames = []
    for m in PROJECT_MUNICIPALITIES:
        names = SETTLEMENTS[m]
        adults = round(ADULT_SHARE * float(pop[m]))
        centre = rng.uniform(0.30, 0.50)
        w = np.concatenate([[centre], (1 - centre) * _normalise(rng.lognormal(0.0, 0.9, len(names) - 1))])
        floor = 12
        sizes = floor + _largest_remainder(w, adults - floor * len(names))
        frames.append(Frame(m, names, sizes.astype(np.int64) * scale,
                            rng.normal(0, 0.4, len(names)), rng.normal(0, 0.3, len(names)),
                            float(rng.normal(0, 0.6)), float(rng.normal(0, 0.5))))
    return frames


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / x.sum()


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    raw = shares * total
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


# --- people -----------------------------------------------------------------------------

def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of ``probs`` (n x k, rows summing to 1)."""
    cum = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[0])
    return (u[:, None] > cum[:, :-1]).sum(axis=1).astype(np.int8)


def draw_people(rng: np.random.Generator, frame: Frame, settlement: np.ndarray,
                counts: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Adults living in the given settlements (one per entry): covariates and latents.

    ``counts`` (sex x age group, summing to the number of people) fixes how many of each
    there are (the population matches the calibration margins); else each is drawn.
    """
    n = len(settlement)
    if counts is not None:
        if int(counts.sum()) != n:
            raise ValueError(f"{frame.muni_id}: margins count {int(counts.sum())} adults, the frame {n}")
        cell = rng.permutation(np.repeat(np.arange(8), counts.reshape(-1)))
        sex, ag = (cell // 4).astype(np.int8), (cell % 4).astype(np.int8)
    else:
        sex = (rng.random(n) < _FEMALE_P).astype(np.int8)
        ag = _categorical(rng, np.broadcast_to(_AGE_P, (n, 4)))
    lo, hi = _AGE_LO[ag], _AGE_HI[ag]
    age = np.where(ag < 3, lo + np.floor(rng.random(n) * (hi - lo + 1)),
                   np.minimum(95, 65 + np.floor(rng.exponential(8.0, n)))).astype(np.int16)
    disp = _categorical(rng, np.broadcast_to(np.array(DISPLACEMENT_P[frame.muni_id]), (n, 3)))
    return {
        "settlement": settlement.astype(np.int16), "sex": sex, "age_group": ag, "age": age,
        "displacement": disp, "education": _categorical(rng, _EDU_P[ag]),
        "employment": _categorical(rng, _EMP_P[ag]),
        "g": rng.standard_normal(n).astype(np.float32), "c": rng.standard_normal(n).astype(np.float32),
    }


def adult_margins() -> pd.DataFrame:
    """Adults by municipality, sex and age group: the margins the example calibrates to
    (``examples/spsc/margins/adults_2013.csv``).

    Each municipality's adults are its 2013 census population times ``ADULT_SHARE``, split by
    the generator's sex and age-group shares (largest remainder). Our reference data holds
    the census totals only; these splits stand in for the census's own table, and the sample
    population is drawn to have exactly these counts.
    """
    pop = census().set_index("muni_id")["population"]
    shares = (_SEX_P[:, None] * _AGE_P[None, :]).reshape(-1)
    rows = []
    for m in PROJECT_MUNICIPALITIES:
        counts = _largest_remainder(shares, round(ADULT_SHARE * float(pop[m])))
        for k, n in enumerate(counts):
            rows.append((m, ("male", "female")[k // 4], AGE_GROUPS[k % 4], int(n)))
    return pd.DataFrame(rows, columns=["municipality", "sex", "age_group", "population"])


def margin_counts(margins: pd.DataFrame, muni_id: str) -> np.ndarray:
    """One municipality's adults as a sex x age-group array (rows male, female)."""
    part = margins[margins["municipality"] == muni_id]
    out = np.zeros((2, 4), dtype=np.int64)
    for r in part.itertuples(index=False):
        out[("male", "female").index(r.sex), AGE_GROUPS.index(r.age_group)] = r.population
    return out
