"""A wave's two-stage sample and its fieldwork.

Settlements drawn by systematic PPS in each municipality (certainty when too big), the
adults allocated to them, the ``Sample`` of one wave (refusals included) and the
fieldwork columns of each interview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipeline.reference import entity_of
from pipeline.synth import kobo
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.citizen.answers import (
    INDICATORS,
    draw_answers,
    expect_indicators,
    score_indicators,
)
from pipeline.synth.citizen.population import Frame, _categorical, draw_people
from pipeline.synth.names import FIRST_NAMES, NAME_MIX, PHONE_PREFIXES, SURNAMES, TRADITIONS
from pipeline.synth.xlsforms import TRUST_ITEMS

WAVES = ("2023Q1", "2024Q1", "2024Q4")
FIELDWORK = {"2023Q1": (date(2023, 1, 16), date(2023, 2, 24)),
             "2024Q1": (date(2024, 2, 5), date(2024, 3, 15)),
             "2024Q4": (date(2024, 10, 14), date(2024, 11, 22))}
SKIPPED_AS = {"2023Q1": "n/a", "2024Q1": None, "2024Q4": "n/a"}  # None: left blank

CLUSTER_TAKE = 25  # adults interviewed per settlement, roughly
REFUSAL_RATE = 0.03


# --- sampling ---------------------------------------------------------------------------

def select_psus(rng: np.random.Generator, sizes: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Systematic PPS of ``m`` settlements; units with m*N_i/N >= 1 are taken with certainty.

    Returns the chosen settlement indices (certainty units first) and their inclusion
    probabilities.
    """
    S = len(sizes)
    m = min(m, S)
    certain = np.zeros(S, dtype=bool)
    while True:
        m_rest = m - int(certain.sum())
        rest = ~certain
        if m_rest <= 0:
            pi = np.zeros(S)
            break
        pi = np.where(rest, m_rest * sizes / sizes[rest].sum(), 0.0)
        new = rest & (pi >= 1.0)
        if not new.any():
            break
        certain |= new
    pi[certain] = 1.0
    chosen = list(np.flatnonzero(certain))
    if m_rest > 0:
        order = rng.permutation(np.flatnonzero(~certain))
        cum = np.cumsum(pi[order])
        points = rng.random() + np.arange(m_rest)
        picks = np.minimum(np.searchsorted(cum, points, side="right"), len(order) - 1)
        chosen += list(order[picks])
    chosen_arr = np.array(chosen, dtype=np.int64)
    return chosen_arr, pi[chosen_arr]


def allocate(n: int, sizes: np.ndarray, pi: np.ndarray, population: float, cap: bool) -> np.ndarray:
    """Interviews per chosen settlement.

    Certainty settlements get their share of ``n`` by size, the others split the rest
    equally, so every weight is close to population / n; ``cap`` limits a take to the
    settlement's adults (finite population).
    """
    certain = pi >= 1.0
    takes = np.zeros(len(sizes), dtype=np.int64)
    takes[certain] = np.maximum(1, np.rint(n * sizes[certain] / population))
    rest = int(max(0, n - takes[certain].sum()))
    k = int((~certain).sum())
    if k:
        share = np.full(k, rest // k, dtype=np.int64)
        share[: rest % k] += 1
        takes[~certain] = np.maximum(1, share)
    if cap:
        takes = np.minimum(takes, sizes)
    return takes


@dataclass
class Sample:
    """One wave: one entry per contacted adult (refusals included), columns as arrays."""

    rows: dict[str, np.ndarray]
    truth: dict
    model: dict
    estimate: dict
    design: dict


def draw_wave(rng: np.random.Generator, wave: str, frames: list[Frame], exposures: dict,
              respondents: int, populations: list[dict] | None) -> Sample:
    """Sample a wave and answer it.

    ``populations`` (finite mode) holds each municipality's adults (from ``draw_people``); the
    truth is then their exact indicator values in this wave. Without it, respondents are drawn
    from the model and the truth is the model expectation.
    """
    parts: list[dict[str, np.ndarray]] = []
    truth_by_m, model_by_m, est_by_m, design_by_m = {}, {}, {}, {}
    pop_totals, psu_offset = {}, 0
    for mi, fr in enumerate(frames):
        exp = exposures[fr.muni_id][wave]
        S = len(fr.settlements)
        m_psu = min(max(3, round(respondents / CLUSTER_TAKE)), int(0.6 * S))
        chosen, pi = select_psus(rng, fr.sizes, m_psu)
        takes = allocate(respondents, fr.sizes[chosen], pi, float(fr.sizes.sum()),
                         cap=populations is not None)
        s_rows = np.repeat(chosen, takes)
        if populations is not None:
            pop = populations[mi]
            answers_all = draw_answers(rng, fr, exp, wave, pop)
            ind_all = score_indicators(answers_all)
            truth_by_m[fr.muni_id] = {k: float(v.mean()) for k, v in ind_all.items()}
            starts = np.concatenate([[0], np.cumsum(fr.sizes)])
            picked = np.concatenate([starts[s] + rng.choice(int(fr.sizes[s]), size=int(t), replace=False)
                                     for s, t in zip(chosen, takes, strict=True)])
            people = {k: v[picked] for k, v in pop.items()}
            answers = {k: v[picked] for k, v in answers_all.items()}
        else:
            people = draw_people(rng, fr, s_rows)
            answers = draw_answers(rng, fr, exp, wave, people)
        model_by_m[fr.muni_id] = expect_indicators(fr, exp, wave)
        pop_totals[fr.muni_id] = float(fr.sizes.sum())
        weight_psu = fr.sizes[chosen] / (pi * takes)
        weights = np.repeat(weight_psu, takes)
        ind = score_indicators(answers)
        est_by_m[fr.muni_id] = {k: float(np.average(v, weights=weights)) for k, v in ind.items()}
        n_ref = round(REFUSAL_RATE * len(s_rows))
        ref_pos = rng.choice(len(s_rows), size=n_ref, replace=True) if n_ref else np.zeros(0, np.int64)
        n = len(s_rows)
        part = {
            "muni": np.full(n + n_ref, mi, dtype=np.int8),
            "psu": np.concatenate([s_rows, s_rows[ref_pos]]).astype(np.int32) + psu_offset,
            "settlement": np.concatenate([s_rows, s_rows[ref_pos]]).astype(np.int16),
            "weight": np.concatenate([weights, weights[ref_pos]]),
            "fpc": np.full(n + n_ref, S, dtype=np.int16),
            "fpc2": fr.sizes[np.concatenate([s_rows, s_rows[ref_pos]])].astype(np.int64),
            "consent": np.concatenate([np.ones(n, bool), np.zeros(n_ref, bool)]),
        }
        for k in ("sex", "age", "education", "employment", "displacement"):
            part[k] = np.concatenate([people[k], np.zeros(n_ref, people[k].dtype)])
        for k in (*TRUST_ITEMS, "views_considered", "satisfaction_social", "dialogue_participation",
                  "trust_other_entity"):
            part[k] = np.concatenate([answers[k], np.zeros(n_ref, answers[k].dtype)])
        part["contact"] = np.concatenate([answers["contact"], np.zeros((n_ref, 5), bool)])
        parts.append(part)
        design_by_m[fr.muni_id] = {"settlements": S, "settlements_sampled": len(chosen),
                                   "settlements_with_certainty": int((pi >= 1).sum()),
                                   "respondents": n, "refusals": n_ref,
                                   "population_adults": int(fr.sizes.sum())}
        psu_offset += S
    rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    weights_total = np.array(list(pop_totals.values()))

    def overall(by_m: dict) -> dict:
        return {k: float(np.dot([by_m[m][k] for m in by_m], weights_total) / weights_total.sum())
                for k in INDICATORS}

    consented = rows["consent"]
    all_ind = score_indicators({k: rows[k][consented] for k in (*TRUST_ITEMS, "views_considered", "satisfaction_social",
                                                                "dialogue_participation", "trust_other_entity", "contact")})
    est_total = {k: float(np.average(v, weights=rows["weight"][consented])) for k, v in all_ind.items()}
    truth = {"total": overall(truth_by_m), "by_municipality": truth_by_m} if populations is not None else None
    return Sample(rows, truth, {"total": overall(model_by_m), "by_municipality": model_by_m},
                  {"total": est_total, "by_municipality": est_by_m}, design_by_m)


def add_fieldwork(rng: np.random.Generator, rows: dict[str, np.ndarray], wave: str, n_enumerators: int = 3) -> None:
    """Interview times, enumerators, respondent names and phones for each row (in place)."""
    n = len(rows["muni"])
    start, end = FIELDWORK[wave]
    n_days = (end - start).days + 1
    psu_ids, psu_of_row = np.unique(rows["psu"], return_inverse=True)
    psu_day = rng.integers(0, n_days, len(psu_ids))
    day = psu_day[psu_of_row] + (rng.random(n) < 0.3)
    day_ms = (np.datetime64(start, "ms").astype(np.int64) + day.astype(np.int64) * 86_400_000)
    start_ms = day_ms + (8.5 * 3600_000 + rng.random(n) * 10.5 * 3600_000).astype(np.int64)
    end_ms = start_ms + (14 * 60_000 + rng.random(n) * 34 * 60_000).astype(np.int64)
    end_ms[~rows["consent"]] = start_ms[~rows["consent"]] + 90_000 + rng.integers(0, 120_000, int((~rows["consent"]).sum()))
    delay_s = rng.exponential(6 * 3600, n) + (rng.random(n) < 0.3) * rng.random(n) * 3 * 86_400
    rows["start_ms"] = start_ms
    rows["end_ms"] = end_ms
    rows["offset_h"] = kobo.utc_offset_hours(start_ms)
    rows["submitted_s"] = end_ms // 1000 + delay_s.astype(np.int64) - rows["offset_h"] * 3600
    rows["enumerator"] = (rows["muni"].astype(np.int32) * n_enumerators
                          + rng.integers(0, n_enumerators, len(psu_ids))[psu_of_row]).astype(np.int16)
    trad_p = np.array([NAME_MIX[m] for m in PROJECT_MUNICIPALITIES])
    trad = _categorical(rng, trad_p[rows["muni"]] / trad_p[rows["muni"]].sum(axis=1, keepdims=True))
    first_off, first_len = _pool_offsets([FIRST_NAMES[t][s] for t in TRADITIONS for s in ("male", "female")])
    last_off, last_len = _pool_offsets([SURNAMES[t] for t in TRADITIONS])
    fk = trad.astype(np.int64) * 2 + rows["sex"]
    rows["first_name"] = (first_off[fk] + np.floor(rng.random(n) * first_len[fk])).astype(np.int32)
    rows["last_name"] = (last_off[trad] + np.floor(rng.random(n) * last_len[trad])).astype(np.int32)
    rows["phone_given"] = rows["consent"] & (rng.random(n) < 0.75)
    rs = np.array([entity_of(m) == "RS" for m in PROJECT_MUNICIPALITIES])[rows["muni"]]
    n_fbih, n_rs = len(PHONE_PREFIXES["FBiH"]), len(PHONE_PREFIXES["RS"])
    rows["phone_prefix"] = np.where(rs, n_fbih + rng.integers(0, n_rs, n), rng.integers(0, n_fbih, n)).astype(np.int8)
    rows["phone_digits"] = rng.integers(100_000, 1_000_000, n).astype(np.int32)
    rows["phone_style"] = rng.integers(0, 4, n).astype(np.int8)
    rows["uuid_row"] = np.arange(n, dtype=np.int64)
    rows["approved"] = rng.random(n) < 0.7


def _pool_offsets(pools: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.array([len(p) for p in pools])
    return np.concatenate([[0], np.cumsum(lens)[:-1]]), lens
