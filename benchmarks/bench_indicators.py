"""Indicator engine at scale: the whole catalogue vs one DuckDB GROUP BY of weighted means.

A 1,000,000-respondent citizen survey (one wave, 9 strata, 540 settlements as PSUs, weights,
fpc, and the second stage's population fpc2, so the variance has both stages) is generated with numpy straight into the ``respondents`` / ``citizen_responses`` marts of
a real warehouse file, beside a youth pre/post survey (2,000 participants) and a project-sized
attendance register (600 events, 6,000 people, 30,000 attendances, ties). Then, in the same run:

- reference: one DuckDB query over the same join computing the weighted mean of every survey
  indicator's per-respondent value for the same domains (total, sex, age group, municipality,
  entity) with GROUPING SETS: the cheapest possible pass, with no standard errors;
- step: ``pipeline.indicators.engine.compute_values``: every catalogue indicator (survey and
  attendance), every period and domain, design-based standard errors and CIs, suppression.

Target: step <= 3x reference. Prints both times and the ratio.

    .venv/bin/python benchmarks/bench_indicators.py [--respondents 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import compare, peak_rss_mb, time_it

from pipeline.config import get_settings
from pipeline.indicators.catalogue import load_catalogue
from pipeline.indicators.engine import _value_sql, compute_values
from pipeline.reference import PROJECT_MUNICIPALITIES, entity_of
from pipeline.warehouse import connect
from pipeline.warehouse.setup import init_warehouse

LIMIT = 3.0
WAVE = "2024Q4"
QUARTERS = ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4"]


def _answers(rng: np.random.Generator, n: int, low: int, high: int, missing: float = 0.04) -> pd.array:
    values = pd.array(rng.integers(low, high + 1, n), dtype="Int64")
    values[rng.random(n) < missing] = pd.NA
    return values


def _flags(rng: np.random.Generator, n: int, p: float, missing: float = 0.03) -> pd.array:
    values = pd.array(rng.random(n) < p, dtype="boolean")
    values[rng.random(n) < missing] = pd.NA
    return values


def survey_frames(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """respondents and citizen_responses rows of one wave, n respondents."""
    munis = np.array(PROJECT_MUNICIPALITIES)
    stratum = rng.integers(0, len(munis), n)
    psus_per_stratum = 60
    psu_local = rng.integers(0, psus_per_stratum, n)
    keys = np.char.add("R", np.arange(n).astype(str))
    muni = munis[stratum]
    respondents = pd.DataFrame({
        "respondent_key": keys, "form_id": "spsc_citizen_survey", "wave": WAVE, "muni_id": muni,
        "entity": np.array([entity_of(m) for m in munis])[stratum],
        "sex": np.where(rng.random(n) < 0.52, "female", "male"),
        "age": rng.integers(18, 90, n),
        "age_group": np.array(["18-29", "30-44", "45-64", "65+"])[rng.integers(0, 4, n)],
        "urban_rural": np.where(rng.random(n) < 0.4, "urban", "rural"),
        "weight": rng.uniform(0.5, 3.0, n), "stratum": muni,
        "psu": np.char.add(np.char.add(muni, "-"), psu_local.astype(str)),
        "fpc": 150.0, "fpc2": 4000.0, "batch_id": 1, "submitted_at": pd.Timestamp("2024-11-15"),
    })
    answers = pd.DataFrame({"respondent_key": keys, "wave": WAVE})
    for name in ("trust_municipality", "trust_csw", "trust_employment", "trust_health",
                 "trust_mental_health", "trust_schools", "trust_other_entity"):
        answers[name] = _answers(rng, n, 0, 10)
    answers["views_considered"] = _answers(rng, n, 1, 5)
    answers["satisfaction_social"] = _answers(rng, n, 1, 5)
    answers["dialogue_participation"] = _flags(rng, n, 0.08)
    for name in ("contact_neighbour", "contact_colleague", "contact_friend", "contact_in_law"):
        answers[name] = _flags(rng, n, 0.4)
    answers["education"] = "secondary"
    answers["employment"] = "employed"
    answers["displacement"] = "never"
    return respondents, answers


def attendance_frames(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """A project-sized register: events, people, attendances and ties."""
    n_events, n_people, n_att = 600, 6000, 30000
    munis = np.array(PROJECT_MUNICIPALITIES)
    host = munis[rng.integers(0, len(munis), n_events)]
    kinds = np.array(["citizen_dialogue", "youth_exchange", "youth_camp", "critical_thinking_club",
                      "mental_health_training", "service_provider_training"])
    kind = kinds[rng.integers(0, len(kinds), n_events)]
    quarter = np.array(QUARTERS)[rng.integers(0, len(QUARTERS), n_events)]
    event_ids = np.char.add("EV-", np.arange(n_events).astype(str))
    events = pd.DataFrame({
        "event_id": event_ids, "date": pd.Timestamp("2024-01-15").date(), "quarter": quarter,
        "muni_ids": [[h] for h in host], "muni_id": host, "entity": [entity_of(h) for h in host],
        "event_type": kind, "is_youth_event": np.isin(kind, kinds[1:4]),
        "is_inter_entity": rng.random(n_events) < 0.4, "n_participants": 50, "batch_id": 2,
        "n_young": 20, "n_fbih": 25, "n_rs": 25, "n_signins": 50, "n_duplicates": 0})
    home = munis[rng.integers(0, len(munis), n_people)]
    person_keys = np.char.add("P", np.arange(n_people).astype(str))
    participants = pd.DataFrame({
        "person_key": person_keys, "sex": np.where(rng.random(n_people) < 0.5, "female", "male"),
        "birth_year": 2000, "age_group": np.array(["15-17", "18-24", "25-30", "31+"])[rng.integers(0, 4, n_people)],
        "muni_id": home, "entity": [entity_of(h) for h in home], "n_events": 5,
        "n_events_as_youth": 3, "first_event_date": pd.Timestamp("2023-01-15").date(),
        "last_event_date": pd.Timestamp("2024-12-15").date()})
    pairs = pd.DataFrame({"person_key": person_keys[rng.integers(0, n_people, n_att)],
                          "event_id": event_ids[rng.integers(0, n_events, n_att)]}).drop_duplicates()
    pairs["quarter"] = pairs["event_id"].map(dict(zip(event_ids, quarter, strict=True)))
    attendances = pairs.assign(age_at_event=20, is_youth=rng.random(len(pairs)) < 0.6, role="mladi",
                               batch_id=3, date=pd.Timestamp("2024-01-15").date(), n_signins=1)
    ties = pd.DataFrame([
        {"period": p, "muni_id_a": a, "muni_id_b": b, "entity_a": entity_of(a), "entity_b": entity_of(b),
         "n_ties": int(rng.integers(0, 200))}
        for p in [*QUARTERS, "cumulative"] for a in munis for b in munis
        if a < b and entity_of(a) != entity_of(b)])
    return {"events": events, "participants": participants, "attendances": attendances,
            "cross_entity_ties": ties}


def youth_frame(rng: np.random.Generator, n: int = 2000) -> pd.DataFrame:
    """youth_responses: n participants with a pre and a post questionnaire."""
    munis = np.array(PROJECT_MUNICIPALITIES)
    muni = munis[rng.integers(0, len(munis), n)]
    base = pd.DataFrame({
        "participant_key": np.char.add("Y", np.arange(n).astype(str)), "wave": WAVE, "muni_id": muni,
        "entity": [entity_of(m) for m in muni], "sex": np.where(rng.random(n) < 0.5, "female", "male"),
        "age": 19, "age_group": "18-24", "activity_type": "youth_camp", "batch_id": 4})
    frames = []
    for phase in ("pre", "post"):
        frame = base.assign(phase=phase)
        for item in ("att_1", "att_2", "att_3", "att_4", "eff_1", "eff_2", "eff_3"):
            frame[item] = rng.integers(1, 6, n)
        frame["attitude_score"] = frame[["att_1", "att_2", "att_3", "att_4"]].mean(axis=1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def reference_sql(catalogue) -> str:
    """One GROUP BY: weighted means of the survey indicators' values, same domains, no SEs."""
    inds = [i for i in catalogue.indicators if i.source == "citizen_survey"]
    values = ", ".join(f"{_value_sql(i)} as y{k}" for k, i in enumerate(inds))
    means = ", ".join(f"sum(weight * y{k}) / sum(weight) filter (where y{k} is not null) as m{k}"
                      for k in range(len(inds)))
    return f"""
        with rows as (
            select r.wave, r.weight, r.sex, r.age_group, r.muni_id, r.entity, {values}
            from respondents as r
            join citizen_responses as c on c.respondent_key = r.respondent_key and c.wave = r.wave
        )
        select wave, sex, age_group, muni_id, entity, count(*) as n, {means}
        from rows
        group by grouping sets ((wave), (wave, sex), (wave, age_group), (wave, muni_id), (wave, entity))
    """


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2024)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        s = get_settings(home=home, db=home / "bench.duckdb", secret_path=home / "secret.key")
        init_warehouse(s)
        respondents, answers = survey_frames(rng, args.respondents)
        con = connect(s.db)
        try:
            # a form declaring two stages (settlements, then people) gives respondents fpc2
            con.execute("alter table respondents add column if not exists fpc2 double")
            for table, frame in [("respondents", respondents), ("citizen_responses", answers),
                                 ("youth_responses", youth_frame(rng)), *attendance_frames(rng).items()]:
                con.register("_bench_in", frame)
                con.execute(f"insert into {table} by name select * from _bench_in")
                con.unregister("_bench_in")
            del respondents, answers
            catalogue = load_catalogue()
            sql = reference_sql(catalogue)
            reference = time_it("one GROUP BY of weighted means",
                                lambda: con.execute(sql).fetchall(), repeat=args.repeat)
            values = None

            def step():
                nonlocal values
                values = compute_values(con, catalogue, s)

            engine = time_it("whole catalogue (all periods, domains, SEs, CIs, suppression)", step,
                             repeat=args.repeat)
        finally:
            con.close()
    print(f"{args.respondents:,} respondents; {len(values):,} indicator cells of "
          f"{values['indicator_id'].nunique()} indicators; peak memory {peak_rss_mb():.0f} MB")
    ratio = compare(engine, reference, LIMIT)
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
