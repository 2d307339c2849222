"""Do the engine's 95% confidence intervals cover the truth 95% of the time?

A finite population like the project area (9 municipalities as strata, settlements of unequal
size as PSUs, a settlement effect on every answer) is generated once, with known values of the
main trust indicators. Then ``--draws`` surveys are drawn with the project's design: in each
stratum 6 settlements by systematic PPS, then 12 adults in each by simple random sampling, so
the design weight is constant within a stratum, with fpc = the number of settlements in the
stratum. All draws go through the engine at once (each draw is a "wave", so strata are nested
in draws, which equals one design per draw) and the share of draws whose 95% interval covers
the population value is printed. Expected: 92-98% (exit code 1 outside it).

Found on the way (1,000 draws): the ultimate-cluster variance with the first-stage fpc ignores
the second stage, so it understates the variance as the share of settlements sampled grows;
at 6 of 33-74 settlements the coverage is 94-95%, with simple random sampling of settlements
and weights proportional to their size it fell to 92-93%.

    .venv/bin/python benchmarks/coverage.py [--draws 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.indicators.catalogue import load_catalogue
from pipeline.indicators.engine import survey_values
from pipeline.indicators.sources import FormCodebook, QuestionInfo, plan_sources
from pipeline.project import load_project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "spsc"
FORM = "spsc_citizen_survey"
QUESTIONS = {"trust_municipality": "trust/trust_municipality", "trust_other_entity": "cohesion/trust_other_entity",
             **{name: f"trust/{name}" for name in ("trust_csw", "trust_employment", "trust_health",
                                                    "trust_mental_health", "trust_schools")}}

MUNICIPALITIES = {  # stratum -> (entity, settlements in the population, roughly the real count)
    "bosansko_grahovo": ("FBiH", 35), "bosanski_petrovac": ("FBiH", 35), "drvar": ("FBiH", 33),
    "glamoc": ("FBiH", 74), "kljuc": ("FBiH", 54), "livno": ("FBiH", 66),
    "sanski_most": ("FBiH", 71), "mrkonjic_grad": ("RS", 63), "ribnik": ("RS", 37),
}
PROVIDERS = ("trust_csw", "trust_employment", "trust_health", "trust_mental_health", "trust_schools")
CHECKED = ("trust_municipality_high", "provider_trust_index", "trust_other_entity_mean")
LOW, HIGH = 0.92, 0.98


@dataclass
class Population:
    """One row per adult: stratum, settlement, sex, age group and answers."""

    people: pd.DataFrame
    sizes: pd.DataFrame  # one row per settlement: stratum, psu, size


def _score(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 0, 10).astype(int)


def make_population(rng: np.random.Generator) -> Population:
    """A fixed finite population with a settlement effect on every answer."""
    frames = []
    for k, (muni, (entity, n_settlements)) in enumerate(MUNICIPALITIES.items()):
        sizes = rng.integers(40, 400, n_settlements)
        settlement_effect = rng.normal(0, 1.2, n_settlements)
        psu = np.repeat(np.arange(n_settlements), sizes)
        n = int(sizes.sum())
        person = rng.normal(0, 1.5, n)
        frame = pd.DataFrame({
            "stratum": muni, "entity": entity, "psu": [f"{muni}-{p:03d}" for p in psu],
            "sex": np.where(rng.random(n) < 0.52, "female", "male"),
            "age_group": rng.choice(["18-29", "30-44", "45-64", "65+"], n, p=[.2, .25, .33, .22]),
        })
        base = 4.0 + 0.25 * k + settlement_effect[psu]
        frame["trust_municipality"] = _score(base + person + rng.normal(0, 1.5, n))
        for j, name in enumerate(PROVIDERS):
            frame[name] = _score(base + 0.8 * person + 0.3 * j + rng.normal(0, 1.8, n))
        frame["trust_other_entity"] = _score(
            5.0 - 0.5 * (entity == "RS") + 0.8 * settlement_effect[psu] + rng.normal(0, 2.2, n))
        frames.append(frame)
    people = pd.concat(frames, ignore_index=True)
    sizes = people.groupby(["stratum", "psu"]).size().rename("size").reset_index()
    return Population(people, sizes)


def truths(pop: Population) -> dict[str, float]:
    """The population values, in the catalogue's units."""
    people = pop.people
    return {
        "trust_municipality_high": 100 * float((people["trust_municipality"] >= 6).mean()),
        "provider_trust_index": float(people[list(PROVIDERS)].mean(axis=1).mean()),
        "trust_other_entity_mean": float(people["trust_other_entity"].mean()),
    }


def pps_systematic(rng: np.random.Generator, sizes: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` units drawn by systematic PPS (random start, random order of the frame)."""
    order = rng.permutation(len(sizes))
    cum = np.cumsum(sizes[order])
    step = cum[-1] / n
    points = rng.uniform(0, step) + step * np.arange(n)
    return order[np.searchsorted(cum, points, side="right")]


def draw_samples(pop: Population, rng: np.random.Generator, draws: int, psus: int,
                 per_psu: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``draws`` two-stage samples as respondents and citizen_responses rows (wave = draw).

    Settlements by systematic PPS (size = adults), then ``per_psu`` adults by simple random
    sampling: inclusion probability psus * M_hj / M_h * per_psu / M_hj, so the design weight
    is M_h / (psus * per_psu) in every settlement of the stratum (self-weighting), as in the
    project's survey; fpc = the number of settlements in the stratum.
    """
    people = pop.people
    by_psu = people.groupby("psu").indices
    frames = {stratum: (g["psu"].to_numpy(), g["size"].to_numpy())
              for stratum, g in pop.sizes.groupby("stratum")}
    chosen_rows, meta = [], []
    for d in range(draws):
        for names, sizes in frames.values():
            weight = sizes.sum() / (psus * per_psu)
            for k in pps_systematic(rng, sizes, psus):
                rows = rng.choice(by_psu[names[k]], per_psu, replace=False)
                chosen_rows.append(rows)
                meta.append((d, weight, float(len(names)), len(rows), names[k]))
    rows = np.concatenate(chosen_rows)
    counts = np.array([m[3] for m in meta])
    sample = people.iloc[rows].reset_index(drop=True)
    sample["wave"] = np.repeat([f"D{m[0]:04d}" for m in meta], counts)
    sample["weight"] = np.repeat([m[1] for m in meta], counts)
    sample["fpc"] = np.repeat([m[2] for m in meta], counts)
    # a settlement drawn twice (possible for big ones) is two PSUs, as two hits of PPS
    sample["psu"] = np.repeat([f"{m[4]}#{j}" for j, m in enumerate(meta)], counts)
    sample["respondent_key"] = [f"R{i}" for i in range(len(sample))]
    respondents = pd.DataFrame({
        "respondent_key": sample["respondent_key"], "form_id": "spsc_citizen_survey",
        "wave": sample["wave"], "muni_id": sample["stratum"], "entity": sample["entity"],
        "sex": sample["sex"], "age": 40, "age_group": sample["age_group"], "urban_rural": "rural",
        "weight": sample["weight"], "stratum": sample["stratum"], "psu": sample["psu"],
        "fpc": sample["fpc"], "batch_id": 1, "submitted_at": pd.Timestamp("2024-11-01")})
    answers = sample[["respondent_key", "wave", "trust_municipality", *PROVIDERS, "trust_other_entity"]]
    return respondents, answers


def estimate(respondents: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """The engine's totals (estimate and 95% CI) of the checked indicators for every draw.

    The draws are put in the tables the engine reads (submissions, answers by the example
    form's question paths, respondents) in an in-memory DuckDB.
    """
    project = load_project(EXAMPLE)
    catalogue = load_catalogue(project)
    checked = [catalogue.get(i).model_copy(update={"disaggregations": ["total"]}) for i in CHECKED]
    catalogue = catalogue.model_copy(update={"indicators": checked})
    # the questions the indicators and the form's settings name (the design is in respondents)
    paths = [*QUESTIONS.values(), *project.form(FORM).roles().values()]
    book = FormCodebook(FORM, {path: QuestionInfo(path, path.rsplit("/", 1)[-1], "integer", None, None)
                               for path in paths})
    plans, _ = plan_sources(catalogue, project, {FORM: book})
    ids = pd.DataFrame({"respondent_key": respondents["respondent_key"],
                        "submission_id": np.arange(len(respondents), dtype="int64")})
    long = answers.merge(ids, on="respondent_key").melt(
        id_vars=["submission_id"], value_vars=list(QUESTIONS), var_name="question", value_name="value")
    long["question"] = long["question"].map(QUESTIONS)
    long["value"] = long["value"].astype("Int64").astype("string")
    con = duckdb.connect()
    try:
        con.register("_r", respondents.merge(ids, on="respondent_key").assign(
            ssu=None, fpc2=None, link_key=None, phase=None))
        con.register("_i", ids.merge(respondents[["respondent_key", "wave"]], on="respondent_key"))
        con.register("_l", long)
        con.execute("create table respondents as select * from _r")
        con.execute(f"create table stg_survey__submissions as select submission_id, '{FORM}' as form_id,"
                    " wave, respondent_key, true as is_current, 1 as batch_id from _i")
        con.execute("create table stg_survey__answers as select * from _l")
        values = survey_values(con, catalogue, plans)
    finally:
        con.close()
    return values


def run(draws: int = 200, seed: int = 7, psus: int = 6, per_psu: int = 12) -> dict[str, float]:
    """Coverage of the 95% CI per checked indicator over ``draws`` surveys."""
    rng = np.random.default_rng(seed)
    pop = make_population(rng)
    truth = truths(pop)
    respondents, answers = draw_samples(pop, rng, draws, psus, per_psu)
    values = estimate(respondents, answers)
    coverage = {}
    for ind in CHECKED:
        own = values[values["indicator_id"] == ind]
        hit = (own["ci_low"] <= truth[ind]) & (truth[ind] <= own["ci_high"])
        coverage[ind] = float(hit.mean())
    return coverage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    coverage = run(args.draws, args.seed)
    ok = True
    for ind, share in coverage.items():
        inside = LOW <= share <= HIGH
        ok &= inside
        print(f"{ind}: 95% CI covered the population value in {100 * share:.1f}% of {args.draws}"
              f" draws ({'within' if inside else 'OUTSIDE'} {100 * LOW:.0f}-{100 * HIGH:.0f}%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
