"""Citizen perception survey: frame, population, two-stage sample, answers, dirt, export.

Grain: a ``Frame`` per municipality (its settlements, their adult populations and
effects); a ``Sample`` per wave (one row per contacted adult, refusals included, before and
after dirt); the export has one row per Kobo submission.

Design: stratified by municipality; in each stratum, settlements (PSUs) are drawn by
systematic PPS (settlements too big for PPS are taken with certainty), then a fixed number of
adults by simple random sampling in each drawn settlement. The design weight is the inverse
of the inclusion probability, ``fpc`` the number of settlements in the stratum and ``fpc2``
the adults of the settlement (the second stage's population).

Answers come from one model with a person latent (``g``: trust in institutions, ``c``:
openness to the other entity), settlement and municipality effects, sex/age/displacement
shifts and the planted effect of project activities (citizen dialogues raise trust in the
municipality and the sense of being heard, trainings raise trust in providers, inter-entity
youth events raise trust in the other entity). For default sizes a finite population is
built and the truth is its exact value; for large runs (a sample too large for the real
population) respondents are drawn from the model and the truth is the model's exact
expectation (``superpopulation`` mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr

from pipeline.reference import census, entity_of, municipalities
from pipeline.reference.names import normaliser
from pipeline.synth import kobo
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.attendance import RESIDENCE_VARIANTS, count_dirt
from pipeline.synth.names import (
    FIRST_NAMES,
    NAME_MIX,
    PHONE_PREFIXES,
    SETTLEMENTS,
    SURNAMES,
    TRADITIONS,
)
from pipeline.synth.xlsforms import (
    CONTACT_CHOICES,
    DISPLACEMENT,
    EDUCATION,
    EMPLOYMENT,
    TRUST_ITEMS,
)

WAVES = ("2023Q1", "2024Q1", "2024Q4")
FIELDWORK = {"2023Q1": (date(2023, 1, 16), date(2023, 2, 24)),
             "2024Q1": (date(2024, 2, 5), date(2024, 3, 15)),
             "2024Q4": (date(2024, 10, 14), date(2024, 11, 22))}
SKIPPED_AS = {"2023Q1": "n/a", "2024Q1": None, "2024Q4": "n/a"}  # None: left blank
ADULT_SHARE = 0.82  # adults (18+) among the 2013 census population
MAX_SAMPLING_FRACTION = 0.25  # above this, the finite population is too small: superpopulation
CLUSTER_TAKE = 25  # adults interviewed per settlement, roughly
REFUSAL_RATE = 0.03

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

# the model: shifts by sex (male, female), age group and displacement
_INST_SEX = np.array([0.0, 0.15])
_INST_AGE = np.array([-0.35, -0.10, 0.0, 0.35])
_INST_DISP = np.array([0.0, -0.30, -0.20])
_COH_AGE = np.array([0.60, 0.25, 0.0, -0.45])
_COH_DISP = np.array([0.0, -0.60, -0.50])
_DIAL_AGE = np.array([-0.25, 0.05, 0.10, -0.10])
_ITEM_BASE = (4.6, 5.0, 3.9, 5.4, 4.7, 6.2)
DRIFT = {"2023Q1": 0.0, "2024Q1": 0.05, "2024Q4": 0.10}
EFFECTS = {  # the planted effects of project activities, per activity held before the wave
    "trust_municipality_per_dialogue": 0.20,
    "provider_trust_per_dialogue": 0.04,
    "provider_trust_per_training": 0.12,
    "views_considered_per_dialogue": 0.10,
    "satisfaction_social_per_training": 0.08,
    "participation_probit_per_dialogue_12m": 0.12,
    "trust_other_entity_per_inter_entity_youth_event": 0.10,
    "contact_willing_probit_per_inter_entity_youth_event": 0.05,
}
# variable: (latent, loading, noise sd)
_SPEC = {**dict.fromkeys(TRUST_ITEMS, ("g", 1.6, 1.5)),
         "views_considered": ("g", 0.5, 0.85), "satisfaction_social": ("g", 0.4, 0.9),
         "dialogue_participation": ("g", 0.25, 1.0), "trust_other_entity": ("c", 1.4, 1.4),
         "contact_willing": ("c", 0.8, 1.0)}
_CONTACT_P = np.array([0.80, 0.65, 0.55, 0.20])  # neighbour, colleague, friend, in_law if willing

INDICATORS = {
    "trust_municipality_high": "share of adults whose trust in the municipal administration is 6-10 on the 0-10 scale",
    "provider_trust_index": "mean over adults of each adult's mean trust (0-10) in the centre for social work, "
                            "the employment bureau, the health centre, the mental health centre and schools",
    "views_considered_high": "share of adults answering 4 or 5 (a lot, completely) to whether people like them "
                             "have a say in what the municipality does (SDG 16.7.2 spirit)",
    "dialogue_participation": "share of adults who took part in a public meeting or dialogue with the "
                              "municipality in the past 12 months",
    "satisfied_social": "share of adults satisfied or very satisfied (4-5) with social services",
    "willing_contact": "share of adults who accept a person from the other entity in at least one role "
                       "(neighbour, colleague, friend, in-law), i.e. who did not answer only 'none'",
    "trust_other_entity_mean": "mean trust (0-10) in people living in the other entity",
}

MISSPELT = {  # typed names the normaliser must refuse (checked in tests)
    "bosansko_grahovo": "Bosansko Grahvo", "bosanski_petrovac": "Petrovac", "drvar": "Drvra",
    "glamoc": "Glamos", "kljuc": "Kljić", "livno": "Livnno", "sanski_most": "Sanksi Most",
    "mrkonjic_grad": "Mrkonjič Gard", "ribnik": "Ribnk",
}
SURVEY_DIRT = {  # kind: share of the dirt budget (dirty x consented submissions)
    "municipality_cyrillic": 0.10, "municipality_variant": 0.10, "municipality_misspelt": 0.10,
    "age_out_of_range": 0.15, "choice_not_in_form": 0.20, "duplicate_submission": 0.25,
    "edited_submission": 0.10,
}
OUT_OF_RANGE_AGES = np.array([0, 7, 15, 16, 17, 99, 104, 117, 199])
NOT_IN_FORM_EDUCATION = "vocational"  # a choice of an older form version


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


# --- people and answers -----------------------------------------------------------------

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


def _predictors(frame: Frame, exposure: dict, wave: str, s, sex, ag, disp) -> dict[str, np.ndarray]:
    """Mean of each answer's latent scale, before the person latent and noise."""
    e = EFFECTS
    d, d12, t, y = (exposure["dialogues"], exposure["dialogues_12m"], exposure["trainings"],
                    exposure["inter_entity_youth"])
    inst = frame.muni_effect + frame.effect[s] + _INST_SEX[sex] + _INST_AGE[ag] + _INST_DISP[disp]
    coh = frame.muni_effect_c + frame.effect_c[s] + _COH_AGE[ag] + _COH_DISP[disp]
    drift = DRIFT[wave]
    out = {TRUST_ITEMS[0]: _ITEM_BASE[0] + inst + drift + e["trust_municipality_per_dialogue"] * d}
    for k in range(1, len(TRUST_ITEMS)):
        out[TRUST_ITEMS[k]] = (_ITEM_BASE[k] + inst + drift + e["provider_trust_per_dialogue"] * d
                               + e["provider_trust_per_training"] * t)
    out["views_considered"] = 2.55 + 0.3 * inst + drift / 2 + e["views_considered_per_dialogue"] * d
    out["satisfaction_social"] = (2.75 + 0.3 * (frame.muni_effect + frame.effect[s])
                                  + e["satisfaction_social_per_training"] * t)
    out["dialogue_participation"] = -1.75 + _DIAL_AGE[ag] + e["participation_probit_per_dialogue_12m"] * d12
    out["trust_other_entity"] = 4.3 + coh + e["trust_other_entity_per_inter_entity_youth_event"] * y
    out["contact_willing"] = 0.35 + 0.5 * coh + e["contact_willing_probit_per_inter_entity_youth_event"] * y
    return out


def draw_answers(rng: np.random.Generator, frame: Frame, exposure: dict, wave: str,
                 people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each person's answers in ``wave`` (fresh noise per wave, persistent latents)."""
    n = len(people["sex"])
    mu = _predictors(frame, exposure, wave, people["settlement"], people["sex"], people["age_group"],
                     people["displacement"])
    out: dict[str, np.ndarray] = {}
    for name, mean in mu.items():
        latent, loading, noise = _SPEC[name]
        x = mean + loading * people[latent] + noise * rng.standard_normal(n)
        if name in TRUST_ITEMS or name == "trust_other_entity":
            out[name] = np.clip(np.rint(x), 0, 10).astype(np.int8)
        elif name in ("views_considered", "satisfaction_social"):
            out[name] = np.clip(np.rint(x), 1, 5).astype(np.int8)
        else:
            out[name] = x > 0
    chosen = (rng.random((n, 4)) < _CONTACT_P) & out["contact_willing"][:, None]
    chosen[:, 0] |= out["contact_willing"] & ~chosen.any(axis=1)
    out["contact"] = np.column_stack([chosen, ~out["contact_willing"]])
    del out["contact_willing"]
    return out


def score_indicators(ans: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each person's contribution to each indicator (0/1 or a score)."""
    items = np.column_stack([ans[k] for k in TRUST_ITEMS[1:]]).astype(np.float64)
    return {
        "trust_municipality_high": (ans["trust_municipality"] >= 6).astype(np.float64),
        "provider_trust_index": items.mean(axis=1),
        "views_considered_high": (ans["views_considered"] >= 4).astype(np.float64),
        "dialogue_participation": ans["dialogue_participation"].astype(np.float64),
        "satisfied_social": (ans["satisfaction_social"] >= 4).astype(np.float64),
        "willing_contact": ans["contact"][:, :4].any(axis=1).astype(np.float64),
        "trust_other_entity_mean": ans["trust_other_entity"].astype(np.float64),
    }


def _expected_rounded(mu: np.ndarray, sd: float, lo: int, hi: int) -> np.ndarray:
    """E[clip(round(X), lo, hi)] for X ~ N(mu, sd^2)."""
    out = np.full(np.shape(mu), float(lo))
    for k in range(lo, hi):
        out += ndtr((mu - (k + 0.5)) / sd)
    return out


def expect_indicators(frame: Frame, exposure: dict, wave: str) -> dict[str, float]:
    """The model's exact expectation of each indicator over the municipality's adults."""
    S = len(frame.settlements)
    s = np.arange(S)[:, None, None, None]
    sex = np.arange(2)[None, :, None, None]
    ag = np.arange(4)[None, None, :, None]
    disp = np.arange(3)[None, None, None, :]
    w = ((frame.sizes / frame.sizes.sum())[:, None, None, None] * _SEX_P[None, :, None, None]
         * _AGE_P[None, None, :, None] * np.array(DISPLACEMENT_P[frame.muni_id])[None, None, None, :])
    mu = {k: np.broadcast_to(v, w.shape) for k, v in _predictors(frame, exposure, wave, s, sex, ag, disp).items()}

    def sd(name: str) -> float:
        _, loading, noise = _SPEC[name]
        return math.hypot(loading, noise)

    def avg(x: np.ndarray) -> float:
        return float((w * x).sum())

    providers = [avg(_expected_rounded(mu[k], sd(k), 0, 10)) for k in TRUST_ITEMS[1:]]
    return {
        "trust_municipality_high": avg(ndtr((mu["trust_municipality"] - 5.5) / sd("trust_municipality"))),
        "provider_trust_index": float(np.mean(providers)),
        "views_considered_high": avg(ndtr((mu["views_considered"] - 3.5) / sd("views_considered"))),
        "dialogue_participation": avg(ndtr(mu["dialogue_participation"] / sd("dialogue_participation"))),
        "satisfied_social": avg(ndtr((mu["satisfaction_social"] - 3.5) / sd("satisfaction_social"))),
        "willing_contact": avg(ndtr(mu["contact_willing"] / sd("contact_willing"))),
        "trust_other_entity_mean": avg(_expected_rounded(mu["trust_other_entity"], sd("trust_other_entity"), 0, 10)),
    }


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


# --- dirt -------------------------------------------------------------------------------

def spell_municipalities() -> list[str]:
    """What ``location/municipality`` can hold: the ids, then per municipality its Cyrillic
    name, a resolvable variant and a misspelling the normaliser refuses."""
    m = municipalities().set_index("muni_id")
    texts = list(PROJECT_MUNICIPALITIES)
    for mid in PROJECT_MUNICIPALITIES:
        texts += [m.loc[mid, "name_cyr"], RESIDENCE_VARIANTS[mid][0], MISSPELT[mid]]
    return texts


def plant_dirt(rng: np.random.Generator, rows: dict[str, np.ndarray], dirty: float) -> tuple[dict, dict[str, int]]:
    """Dirty copies and cells, on consented submissions only; returns new rows and counts.

    Duplicates repeat a submission unchanged (same ``_uuid`` and times). An edited submission
    appears twice with the same ``_uuid``: the later one carries the true answers, the earlier
    one a different trust answer.
    """
    consented = np.flatnonzero(rows["consent"])
    counts = count_dirt(len(consented), dirty, SURVEY_DIRT)
    perm = rng.permutation(consented)
    picked, pos = {}, 0
    for k, c in counts.items():
        picked[k] = np.sort(perm[pos: pos + c])
        pos += c
    n = len(rows["muni"])
    rows["muni_text"] = rows["muni"].astype(np.int16)
    for j, k in enumerate(("municipality_cyrillic", "municipality_variant", "municipality_misspelt")):
        r = picked[k]
        rows["muni_text"][r] = len(PROJECT_MUNICIPALITIES) + rows["muni"][r].astype(np.int16) * 3 + j
    r = picked["age_out_of_range"]
    rows["age"][r] = OUT_OF_RANGE_AGES[rng.integers(0, len(OUT_OF_RANGE_AGES), len(r))]
    rows["education"][picked["choice_not_in_form"]] = len(EDUCATION)
    dup, edit = picked["duplicate_submission"], picked["edited_submission"]
    idx = np.concatenate([np.arange(n), dup, edit])
    copy = np.concatenate([np.zeros(n, np.int8), np.ones(len(dup) + len(edit), np.int8)])
    out = {k: v[idx].copy() for k, v in rows.items()}
    later = n + len(dup) + np.arange(len(edit))
    out["submitted_s"][later] += rng.integers(3600, 10 * 86_400, len(edit))
    item = rng.integers(0, len(TRUST_ITEMS), len(edit))
    for e, k in zip(edit, item, strict=True):
        col = out[TRUST_ITEMS[k]]
        col[e] = (int(col[e]) + int(rng.integers(1, 11))) % 11
    order = np.lexsort((copy, idx, out["submitted_s"]))
    return {k: v[order] for k, v in out.items()}, counts


def misspelt_rows(rows: dict[str, np.ndarray]) -> np.ndarray:
    """Rows whose municipality carries a planted misspelling (the normaliser refuses them)."""
    text = rows["muni_text"].astype(np.int64) - len(PROJECT_MUNICIPALITIES)
    return (text >= 0) & (text % 3 == 2)


# --- the export -------------------------------------------------------------------------

_CONSENT_GATED = ("demographics/", "trust/", "governance/", "cohesion/", "contact/")
_INT_COLUMNS = {"demographics/age", *(f"trust/{k}" for k in TRUST_ITEMS), "cohesion/trust_other_entity",
                *(f"cohesion/contact_willing/{c}" for c in CONTACT_CHOICES), "_id", "_index"}


def export_columns(rows: dict[str, np.ndarray], frames: list[Frame], headers: list[str],
                   uuid_text: pa.Array, version: str, first_id: int) -> dict[str, pa.Array]:
    """The export's columns in header order, before skipped cells are written."""
    n = len(rows["muni"])

    def take(values: list[str], codes: np.ndarray) -> pa.Array:
        return pa.array(values, pa.string()).take(pa.array(codes.astype(np.int64)))

    settlements = [s for fr in frames for s in fr.settlements]
    psus = [c for fr in frames for c in fr.psu_codes]
    uid = uuid_text.take(pa.array(rows["uuid_row"]))
    contact = rows["contact"]
    combo_codes = (contact.astype(np.int64) * (1 << np.arange(5))).sum(axis=1)
    combos = [" ".join(c for j, c in enumerate(CONTACT_CHOICES) if code >> j & 1) for code in range(32)]
    first_pool = [x for t in TRADITIONS for s in ("male", "female") for x in FIRST_NAMES[t][s]]
    last_pool = [x for t in TRADITIONS for x in SURNAMES[t]]
    names = pc.binary_join_element_wise(take(first_pool, rows["first_name"]), take(last_pool, rows["last_name"]), " ")
    pre = take([*PHONE_PREFIXES["FBiH"], *PHONE_PREFIXES["RS"]], rows["phone_prefix"])
    digits = pc.utf8_lpad(pa.array(rows["phone_digits"]).cast(pa.string()), 6, "0")
    d1, d2 = pc.utf8_slice_codeunits(digits, 0, 3), pc.utf8_slice_codeunits(digits, 3, 6)
    styles = [pc.binary_join_element_wise(pre, d1, d2, " "),
              pc.binary_join_element_wise(pc.binary_join_element_wise(pre, d1, "/"), d2, "-"),
              pc.binary_join_element_wise("+387", pc.utf8_slice_codeunits(pre, 1, 3), d1, d2, " "),
              pc.binary_join_element_wise(pre, d1, d2, "")]
    phone = pc.choose(pa.array(rows["phone_style"]), *styles)
    phone = pc.if_else(pa.array(rows["phone_given"]), phone, pa.nulls(n, pa.string()))
    def ints(a: np.ndarray) -> pa.Array:
        return pa.array(a.astype(np.int64))

    def yes_no(a: np.ndarray) -> pa.Array:
        return take(["no", "yes"], a.astype(np.int8))

    cols = {
        "start": kobo.local_timestamps(rows["start_ms"], rows["offset_h"]),
        "end": kobo.local_timestamps(rows["end_ms"], rows["offset_h"]),
        "today": kobo.day_text(rows["start_ms"]),
        "location/municipality": take(spell_municipalities(), rows["muni_text"]),
        "location/settlement": take(settlements, rows["psu"]),
        "location/urban_rural": take(["rural", "urban"], (rows["settlement"] == 0).astype(np.int8)),
        "consent": yes_no(rows["consent"]),
        "demographics/sex": take(["male", "female"], rows["sex"]),
        "demographics/age": ints(rows["age"]),
        "demographics/education": take([*EDUCATION, NOT_IN_FORM_EDUCATION], rows["education"]),
        "demographics/employment": take(list(EMPLOYMENT), rows["employment"]),
        "demographics/displacement": take(list(DISPLACEMENT), rows["displacement"]),
        **{f"trust/{k}": ints(rows[k]) for k in TRUST_ITEMS},
        "governance/views_considered": take(["0", "1", "2", "3", "4", "5"], rows["views_considered"]),
        "governance/satisfaction_social": take(["0", "1", "2", "3", "4", "5"], rows["satisfaction_social"]),
        "governance/dialogue_participation": yes_no(rows["dialogue_participation"]),
        "cohesion/trust_other_entity": ints(rows["trust_other_entity"]),
        "cohesion/contact_willing": take(combos, combo_codes),
        **{f"cohesion/contact_willing/{c}": ints(contact[:, j]) for j, c in enumerate(CONTACT_CHOICES)},
        "contact/phone": phone,
        "contact/respondent_name": names,
        "design/stratum": take(list(PROJECT_MUNICIPALITIES), rows["muni"]),
        "design/psu": take(psus, rows["psu"]),
        "design/weight": pa.array(np.round(rows["weight"], 4)).cast(pa.string()),
        "design/fpc": pa.array(rows["fpc"].astype(np.int64)).cast(pa.string()),
        "design/fpc2": pa.array(rows["fpc2"].astype(np.int64)).cast(pa.string()),
        "meta/instanceID": pc.binary_join_element_wise("uuid:", uid, ""),
        "_id": pa.array(first_id + np.arange(n, dtype=np.int64)),
        "_uuid": uid,
        "_submission_time": kobo.utc_seconds_text(rows["submitted_s"]),
        "_validation_status": pc.if_else(pa.array(rows["approved"]), "validation_status_approved",
                                         pa.nulls(n, pa.string())),
        "_notes": pa.nulls(n, pa.string()),
        "_status": pa.repeat(pa.scalar("submitted_via_web"), n),
        "_submitted_by": take([f"spsc_enum{i + 1:02d}" for i in range(int(rows["enumerator"].max()) + 1)],
                              rows["enumerator"]),
        "__version__": pa.repeat(pa.scalar(version), n),
        "_tags": pa.nulls(n, pa.string()),
        "_index": pa.array(np.arange(1, n + 1, dtype=np.int64)),
    }
    assert list(cols) == headers, "export columns drifted from the form"
    return cols


def export_table(cols: dict[str, pa.Array], consent: np.ndarray, skipped_as: str | None,
                 as_text: bool) -> pa.Table | list[list]:
    """The export with skipped cells filled: a text table (CSV) or Python columns (XLSX)."""
    gated = [h for h in cols if h.startswith(_CONSENT_GATED)]
    skip = pa.array(~consent)
    fill = pa.scalar(skipped_as, pa.string())
    if as_text:
        out = {}
        for h, a in cols.items():
            text = a if pa.types.is_string(a.type) else a.cast(pa.string())
            out[h] = pc.if_else(skip, fill, text) if h in gated else text
        return pa.table(out)
    columns = []
    skipped = np.flatnonzero(~consent)
    for h, a in cols.items():
        values = a.to_pylist()
        if h in gated:
            for i in skipped:
                values[i] = skipped_as
        columns.append(values)
    return columns


def check_texts() -> None:
    """Fail loudly if a planted spelling stops behaving as planted (resolves or refuses)."""
    resolve = normaliser().try_resolve
    texts = spell_municipalities()
    for i, mid in enumerate(PROJECT_MUNICIPALITIES):
        cyr, variant, misspelt = texts[9 + 3 * i: 12 + 3 * i]
        assert resolve(cyr)[0] == mid and resolve(variant)[0] == mid, mid
        assert resolve(misspelt)[0] is None, misspelt


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
