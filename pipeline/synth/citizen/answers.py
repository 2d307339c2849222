"""The answer model and the indicators it makes true.

One model with a person latent, settlement and municipality effects, sex/age/displacement
shifts and the planted effect of project activities; the indicators scored from answers and
their exact expected values (the truth of ``superpopulation`` runs).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from pipeline.synth.citizen.population import _AGE_P, _SEX_P, DISPLACEMENT_P, Frame
from pipeline.synth.xlsforms import TRUST_ITEMS

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
