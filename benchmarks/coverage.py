"""Do the engine's 95% intervals cover the truth 95% of the time, in every published cell?

A finite population like the project area is generated once: 9 municipalities (strata, the
real number of settlements of each, 33-74), settlements of 40-400 adults (PSUs) with a
settlement effect on every answer, sex and age group, and the known population value of each
checked indicator in every published cell: the total, each municipality, each sex, each
entity, each age group. Then ``--draws`` surveys are drawn with the project's design, in each
stratum ``m`` settlements by systematic PPS of their adults (a settlement big enough to be hit
twice is two PSUs, as systematic PPS makes it), then ``--per-psu`` adults by simple random
sampling without replacement: the weight is constant within a stratum; ``fpc`` is the number
of settlements in the stratum and ``fpc2`` the adults of the settlement (two stages, as R's
``svydesign(id = ~psu + person, fpc = ~fpc + fpc2)``).

Every draw goes through the engine's own path (``pipeline.indicators.survey_estimates.survey_values``:
DuckDB cell sums, ``Design.from_cells``/``cell_means``, logit intervals for proportions and t
intervals for means on the domain's design df, the second stage in the variance): all draws
at once, each a "wave", so strata are nested in draws, which equals one design per draw.

Printed: coverage per indicator and cell, and pooled per dimension (all its cells and the
three indicators), for designs with 6 and with 20 settlements per stratum. Exit code 1 when
any pooled dimension is outside 93-97%. ``--compare`` also prints what the engine published
before issue 13 (first stage only, normal intervals) on the same draws.

    .venv/bin/python benchmarks/coverage.py [--draws 1000] [--seed 7] [--psus 6 20] [--compare]

The first-stage fpc is the number of settlements (the SRS finite population correction, as
the project declares it), an approximation for PPS: at 20 of 33-74 settlements it makes the
intervals slightly conservative (about 96-97%).

The population's settlement counts and sizes roughly follow the project municipalities; at 20
settlements per stratum 27-61% of a municipality's settlements are sampled, where the
first-stage-only variance with normal intervals (what the engine published before issue 13)
covered a municipality in about 81% of draws.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.indicators.catalogue import load_catalogue
from pipeline.indicators.sources import FormCodebook, QuestionInfo, plan_sources
from pipeline.indicators.survey_estimates import survey_values
from pipeline.project import load_project
from pipeline.project.forms import Calibration

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
DIMENSIONS = {"total": None, "municipality": "stratum", "sex": "sex", "entity": "entity",
              "age_group": "age_group"}
AGE_GROUPS = ["18-29", "30-44", "45-64", "65+"]
LOW, HIGH = 0.93, 0.97


@dataclass
class Population:
    """One row per adult: stratum, settlement, sex, age group and answers."""

    people: pd.DataFrame
    sizes: pd.DataFrame  # one row per settlement: stratum, psu, size


def _score(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 0, 10).astype(int)


def make_population(rng: np.random.Generator) -> Population:
    """A fixed finite population with settlement, sex and age effects on every answer."""
    frames = []
    for k, (muni, (entity, n_settlements)) in enumerate(MUNICIPALITIES.items()):
        sizes = rng.integers(40, 400, n_settlements)
        settlement_effect = rng.normal(0, 1.2, n_settlements)
        psu = np.repeat(np.arange(n_settlements), sizes)
        n = int(sizes.sum())
        person = rng.normal(0, 1.5, n)
        sex = np.where(rng.random(n) < 0.52, "female", "male")
        age = rng.choice(AGE_GROUPS, n, p=[.2, .25, .33, .22])
        frame = pd.DataFrame({
            "stratum": muni, "entity": entity, "psu": [f"{muni}-{p:03d}" for p in psu],
            "sex": sex, "age_group": age,
        })
        base = (4.0 + 0.25 * k + settlement_effect[psu] + 0.4 * (sex == "female")
                - 0.3 * (age == "65+"))
        frame["trust_municipality"] = _score(base + person + rng.normal(0, 1.5, n))
        for j, name in enumerate(PROVIDERS):
            frame[name] = _score(base + 0.8 * person + 0.3 * j + rng.normal(0, 1.8, n))
        frame["trust_other_entity"] = _score(
            5.0 - 0.5 * (entity == "RS") + 0.8 * settlement_effect[psu] + 0.5 * (age == "18-29")
            + rng.normal(0, 2.2, n))
        frames.append(frame)
    people = pd.concat(frames, ignore_index=True)
    sizes = people.groupby(["stratum", "psu"]).size().rename("size").reset_index()
    return Population(people, sizes)


def _values(people: pd.DataFrame) -> pd.DataFrame:
    """Each adult's value of the checked indicators, in the catalogue's units."""
    return pd.DataFrame({
        "trust_municipality_high": 100.0 * (people["trust_municipality"] >= 6),
        "provider_trust_index": people[list(PROVIDERS)].mean(axis=1),
        "trust_other_entity_mean": people["trust_other_entity"].astype(float),
    })


def truths(pop: Population) -> pd.DataFrame:
    """The population value of every checked indicator in every published cell.

    Returns one row per indicator_id, dimension and dimension_value with ``truth``.
    """
    values = _values(pop.people)
    rows = []
    for dimension, column in DIMENSIONS.items():
        keys = pd.Series("total", index=values.index) if column is None else pop.people[column]
        means = values.groupby(keys.to_numpy()).mean()
        for value, row in means.iterrows():
            for ind in CHECKED:
                rows.append({"indicator_id": ind, "dimension": dimension,
                             "dimension_value": str(value), "truth": float(row[ind])})
    return pd.DataFrame(rows)


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
    project's survey; fpc = the settlements in the stratum, fpc2 = the adults of the settlement.
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
                meta.append((d, weight, float(len(names)), float(sizes[k]), names[k]))
    rows = np.concatenate(chosen_rows)
    counts = np.full(len(meta), per_psu)
    sample = people.iloc[rows].reset_index(drop=True)
    sample["wave"] = np.repeat([f"D{m[0]:04d}" for m in meta], counts)
    sample["weight"] = np.repeat([m[1] for m in meta], counts)
    sample["fpc"] = np.repeat([m[2] for m in meta], counts)
    sample["fpc2"] = np.repeat([m[3] for m in meta], counts)
    # a settlement drawn twice (possible for big ones) is two PSUs, as two hits of PPS
    sample["psu"] = np.repeat([f"{m[4]}#{j}" for j, m in enumerate(meta)], counts)
    sample["respondent_key"] = [f"R{i}" for i in range(len(sample))]
    respondents = pd.DataFrame({
        "respondent_key": sample["respondent_key"], "form_id": "spsc_citizen_survey",
        "wave": sample["wave"], "muni_id": sample["stratum"], "entity": sample["entity"],
        "sex": sample["sex"], "age": 40, "age_group": sample["age_group"], "urban_rural": "rural",
        "weight": sample["weight"], "stratum": sample["stratum"], "psu": sample["psu"],
        "fpc": sample["fpc"], "fpc2": sample["fpc2"], "batch_id": 1,
        "submitted_at": pd.Timestamp("2024-11-01")})
    answers = sample[["respondent_key", "wave", "trust_municipality", *PROVIDERS, "trust_other_entity"]]
    return respondents, answers


def estimate(respondents: pd.DataFrame, answers: pd.DataFrame, margins: Path | None = None) -> pd.DataFrame:
    """The engine's published cells of the checked indicators, every draw and dimension.

    The draws are put in the tables the engine reads (submissions, answers by the example
    form's question paths, respondents) in an in-memory DuckDB.
    """
    project = load_project(EXAMPLE)
    catalogue = load_catalogue(project)
    checked = [catalogue.get(i).model_copy(update={"disaggregations": list(DIMENSIONS)})
               for i in CHECKED]
    catalogue = catalogue.model_copy(update={"indicators": checked})
    # the questions the indicators and the form's settings name (the design is in respondents)
    paths = [*QUESTIONS.values(), *project.form(FORM).roles().values()]
    book = FormCodebook(FORM, {path: QuestionInfo(path, path.rsplit("/", 1)[-1], "integer", None, None)
                               for path in paths})
    plans, _ = plan_sources(catalogue, project, {FORM: book})
    # the example post-stratifies to its census margins; here to this population's own
    # adults by municipality x sex x age group (``margins``), or not at all
    calibration = None if margins is None else Calibration(method="poststratify", margins=[str(margins)])
    plans[FORM].settings = plans[FORM].settings.model_copy(update={"calibration": calibration})
    ids = pd.DataFrame({"respondent_key": respondents["respondent_key"],
                        "submission_id": np.arange(len(respondents), dtype="int64")})
    long = answers.merge(ids, on="respondent_key").melt(
        id_vars=["submission_id"], value_vars=list(QUESTIONS), var_name="question", value_name="value")
    long["question"] = long["question"].map(QUESTIONS)
    long["value"] = long["value"].astype("Int64").astype("string")
    con = duckdb.connect()
    try:
        con.register("_r", respondents.merge(ids, on="respondent_key").assign(
            ssu=None, link_key=None, phase=None))
        con.register("_i", ids.merge(respondents[["respondent_key", "wave"]], on="respondent_key"))
        con.register("_l", long)
        con.execute("create table respondents as select * from _r")
        con.execute(f"create table stg_survey__submissions as select submission_id, '{FORM}' as form_id,"
                    " wave, respondent_key, true as is_current, 1 as batch_id from _i")
        con.execute("create table stg_survey__answers as select * from _l")
        values = survey_values(con, catalogue, plans, project, [])
    finally:
        con.close()
    return values


def _before(values: pd.DataFrame) -> pd.DataFrame:
    """The intervals published before issue 13: normal (z = 1.96), clipped to the scale."""
    z = 1.959963984540054
    high = np.where(values["indicator_id"] == "trust_municipality_high", 100.0, 10.0)
    return values.assign(ci_low=(values["estimate"] - z * values["se"]).clip(lower=0),
                         ci_high=np.minimum(values["estimate"] + z * values["se"], high))


def run(draws: int = 1000, seed: int = 7, psus: int = 6, per_psu: int = 12,
        before: bool = False, calibrated: bool = False) -> pd.DataFrame:
    """Coverage of every published cell of the checked indicators over ``draws`` surveys.

    Args:
        before: measure the engine as it was before issue 13 instead (the same draws
            declared with the first stage only, normal intervals).
        calibrated: post-stratify every draw to the population's adults by municipality x
            sex x age group, as the example does to the census.

    Returns one row per indicator_id, dimension and dimension_value: ``covered`` (share of
    draws whose 95% interval holds the population value), ``draws`` (draws with an interval),
    ``no_interval`` (draws without one), ``mean_df``.
    """
    rng = np.random.default_rng(seed)
    pop = make_population(rng)
    truth = truths(pop)
    respondents, answers = draw_samples(pop, rng, draws, psus, per_psu)
    if before:
        respondents = respondents.drop(columns="fpc2")
    if calibrated:
        with tempfile.TemporaryDirectory() as tmp:
            margins = Path(tmp) / "margins.csv"
            (pop.people.groupby(["stratum", "sex", "age_group"]).size().rename("population").reset_index()
             .rename(columns={"stratum": "municipality"}).to_csv(margins, index=False))
            values = estimate(respondents, answers, margins)
    else:
        values = estimate(respondents, answers)
    if before:
        values = _before(values)
    values = values.merge(truth, on=["indicator_id", "dimension", "dimension_value"], how="inner")
    has_ci = values["ci_low"].notna() & values["ci_high"].notna()
    values["hit"] = (values["ci_low"] <= values["truth"]) & (values["truth"] <= values["ci_high"])
    keys = ["indicator_id", "dimension", "dimension_value"]
    shown = values[has_ci].groupby(keys).agg(covered=("hit", "mean"), draws=("hit", "size"),
                                             mean_df=("df", "mean"))
    missing = values[~has_ci].groupby(keys).size().rename("no_interval")
    out = shown.join(missing, how="outer").fillna({"no_interval": 0, "draws": 0}).reset_index()
    out["draws"] = out["draws"].astype(int)
    out["no_interval"] = out["no_interval"].astype(int)
    return out


def pooled(cells: pd.DataFrame) -> pd.DataFrame:
    """Coverage per dimension, all its cells and indicators together (draw-weighted)."""
    hits = cells["covered"] * cells["draws"]
    frame = cells.assign(hits=hits).groupby("dimension", sort=False).agg(
        hits=("hits", "sum"), draws=("draws", "sum"), cells=("dimension_value", "nunique"),
        lowest=("covered", "min"), highest=("covered", "max"), no_interval=("no_interval", "sum"))
    frame["covered"] = frame["hits"] / frame["draws"]
    return frame.reindex([d for d in DIMENSIONS if d in frame.index]).drop(columns="hits")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--psus", type=int, nargs="+", default=[6, 20],
                        help="settlements per stratum, one design each")
    parser.add_argument("--per-psu", type=int, default=12, help="adults per settlement")
    parser.add_argument("--calibrated", action="store_true",
                        help="post-stratify each draw by municipality x sex x age group (the example's "
                             "calibration), to the population's own counts")
    parser.add_argument("--compare", action="store_true",
                        help="also measure the pre-issue-13 intervals (first stage, normal)")
    args = parser.parse_args(argv)
    ok = True
    pd.set_option("display.width", 140)
    for psus in args.psus:
        started = time.perf_counter()
        cells = run(args.draws, args.seed, psus, args.per_psu, calibrated=args.calibrated)
        spent = time.perf_counter() - started
        how = ", post-stratified by municipality x sex x age group" if args.calibrated else ""
        print(f"\n=== {psus} settlements per stratum x {args.per_psu} adults, {args.draws} draws{how}"
              f" ({spent:.0f} s) ===")
        table = cells.assign(covered=(100 * cells["covered"]).round(1),
                             mean_df=cells["mean_df"].round(1))
        table["dimension"] = pd.Categorical(table["dimension"], list(DIMENSIONS))
        print(table.sort_values(["indicator_id", "dimension", "dimension_value"]).to_string(index=False))
        summary = pooled(cells)
        print(f"\npooled per dimension ({psus} settlements per stratum); target "
              f"{100 * LOW:.0f}-{100 * HIGH:.0f}%:")
        for dimension, row in summary.iterrows():
            inside = LOW <= row["covered"] <= HIGH
            ok &= bool(inside)
            print(f"  {dimension:<13} {100 * row['covered']:5.1f}%  ({int(row['cells'])} cells x 3"
                  f" indicators, {int(row['draws'])} intervals, cells {100 * row['lowest']:.1f}-"
                  f"{100 * row['highest']:.1f}%, {int(row['no_interval'])} without interval)"
                  f"  {'ok' if inside else 'OUTSIDE'}")
        if args.compare:
            old = pooled(run(args.draws, args.seed, psus, args.per_psu, before=True))
            print("before issue 13 (first stage only, normal intervals), same draws:")
            for dimension, row in old.iterrows():
                print(f"  {dimension:<13} {100 * row['covered']:5.1f}%  (cells "
                      f"{100 * row['lowest']:.1f}-{100 * row['highest']:.1f}%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
