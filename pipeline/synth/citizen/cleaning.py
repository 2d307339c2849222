"""The cases planted for the cleaning log, and the estimate they move."""

from __future__ import annotations

import numpy as np

from pipeline.synth.citizen.answers import score_indicators
from pipeline.synth.citizen.population import Frame
from pipeline.synth.citizen.sample import Sample
from pipeline.synth.xlsforms import TRUST_ITEMS

# --- cases for the cleaning checks (issue 14) -------------------------------------------

# per wave: interviews far too short, straight-liners on the trust battery, and a soft duplicate
# (an interviewer's second interview copied from the first on the same day, two answers changed)
CLEANING_PLANTS = {"short_interview": 5, "straight_lining": 2, "soft_duplicate": 1}
SHORT_MINUTES = (2.0, 6.0)  # a planted short interview lasts this long (real ones 14-48 minutes)
_COPIED = ("sex", "age", "education", "employment", "displacement", *TRUST_ITEMS, "views_considered",
           "satisfaction_social", "dialogue_participation", "trust_other_entity", "contact")


def plant_cleaning_cases(rng: np.random.Generator, rows: dict[str, np.ndarray]) -> dict[str, list]:
    """Plant the cases ``spsc clean checks`` looks for, on distinct consented rows (in place).

    Returns the planted rows (positions, before dirt) per check: ``short_interview`` and
    ``straight_lining`` lists of rows, ``soft_duplicate`` a list of ``[first, copy]`` pairs.
    A straight-liner answers every trust item the same (a value no one gives to all six by
    chance often: 2, 3 or 4); the copy keeps its own design, place and times.
    """
    consented = np.flatnonzero(rows["consent"])
    free = set(rng.permutation(consented).tolist())
    out: dict[str, list] = {"short_interview": [], "straight_lining": [], "soft_duplicate": []}

    def take() -> int:
        return free.pop()

    for _ in range(CLEANING_PLANTS["short_interview"]):
        r = take()
        minutes = rng.uniform(*SHORT_MINUTES)
        rows["end_ms"][r] = rows["start_ms"][r] + int(minutes * 60_000)
        out["short_interview"].append(r)
    for _ in range(CLEANING_PLANTS["straight_lining"]):
        r = take()
        value = int(rng.integers(2, 5))
        for k in TRUST_ITEMS:
            rows[k][r] = value
        out["straight_lining"].append(r)
    day = rows["start_ms"] // 86_400_000
    for _ in range(CLEANING_PLANTS["soft_duplicate"]):
        for a in sorted(free):
            mates = [b for b in free if b != a and rows["enumerator"][b] == rows["enumerator"][a]
                     and day[b] == day[a] and rows["muni"][b] == rows["muni"][a]]
            if mates:
                b = mates[0]
                break
        else:
            break
        free.discard(a)
        free.discard(b)
        for k in _COPIED:
            rows[k][b] = rows[k][a]
        # two answers differ, as a copy made to look like another interview
        rows["age"][b] = rows["age"][a] + int(rng.integers(1, 3))
        k = TRUST_ITEMS[int(rng.integers(0, len(TRUST_ITEMS)))]
        rows[k][b] = (int(rows[k][a]) + int(rng.integers(1, 3))) % 11
        out["soft_duplicate"].append([a, b])
    return out


def recompute_estimate(sample: Sample, frames: list[Frame]) -> None:
    """The sample's design-based estimates again, after planting changed some answers."""
    rows = sample.rows
    consented = rows["consent"]
    keys = (*TRUST_ITEMS, "views_considered", "satisfaction_social", "dialogue_participation",
            "trust_other_entity", "contact")
    ind = score_indicators({k: rows[k][consented] for k in keys})
    w = rows["weight"][consented]
    sample.estimate["total"] = {k: float(np.average(v, weights=w)) for k, v in ind.items()}
    munis = rows["muni"][consented]
    for mi, mid in enumerate(fr.muni_id for fr in frames):
        if mid in sample.estimate["by_municipality"]:
            m = munis == mi
            sample.estimate["by_municipality"][mid] = {k: float(np.average(v[m], weights=w[m])) for k, v in ind.items()}
