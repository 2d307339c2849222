"""Indicator engine at scale: the whole catalogue vs one DuckDB GROUP BY of weighted means.

In a copy of the example project: a 1,000,000-respondent citizen survey (one wave, 9 strata,
540 settlements as PSUs, weights, fpc) is generated with numpy and written as the loader
stores it (one row per submission, one row per answer, by the XLSForm's question paths, the
forms' codebooks loaded for real), beside a youth pre/post survey (2,000 participants) and a
project-sized attendance register (600 events, 6,000 people, 30,000 attendances, ties) in the
attendance marts. Then, in the same run:

- reference: one DuckDB query over the same answers as the warehouse stores them (one row per
  submission and question, so pivoted to one column per question first, as any query of them
  must), computing the weighted mean of every citizen indicator's per-respondent value for the
  same domains (total, sex, age group, municipality, entity, urban/rural) with GROUPING SETS:
  the cheapest pass that gives the point estimates from the warehouse, with no standard errors;
- step: what ``spsc build`` computes: the ``respondents`` mart from the form settings, then
  every catalogue indicator (survey and attendance), every period and domain, design-based
  standard errors and CIs, calibration, suppression (``compute_values``).

Timed interleaved (reference, step, ...; medians of ``--repeat`` >= 3 runs each). Goal: step
<= 3x reference; prints both times and the ratio, and exits non-zero when it is missed.

For the record (no goal): the same GROUP BY over a wide typed table of the generated answers
(one column per question), which the warehouse does not hold; it measures what the pivot costs.

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

from harness import check, compare, finish, interleaved, peak_rss_mb, time_it

from pipeline.config import get_settings
from pipeline.indicators.catalogue import load_catalogue
from pipeline.indicators.engine import compute_values
from pipeline.indicators.sources import build_respondents, pivot_sql, plan_sources, read_codebooks
from pipeline.reference import entity_of
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.warehouse import connect, transaction
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


def _text(values: pd.array) -> pd.array:
    return values.astype("string")


def survey_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """One wave of the citizen survey, n respondents: one column per question path (as text)."""
    munis = np.array(PROJECT_MUNICIPALITIES)
    stratum = rng.integers(0, len(munis), n)
    psu_local = rng.integers(0, 60, n)
    muni = munis[stratum]
    frame = pd.DataFrame({
        "respondent_key": np.char.add("R", np.arange(n).astype(str)), "consent": "yes",
        "location/municipality": muni, "location/urban_rural": np.where(rng.random(n) < 0.4, "urban", "rural"),
        "demographics/sex": np.where(rng.random(n) < 0.52, "female", "male"),
        "demographics/age": rng.integers(18, 90, n).astype(str),
        "design/stratum": muni, "design/psu": np.char.add(np.char.add(muni, "-"), psu_local.astype(str)),
        "design/weight": rng.uniform(0.5, 3.0, n).astype(str), "design/fpc": "150.0"})
    for name in ("trust_municipality", "trust_csw", "trust_employment", "trust_health",
                 "trust_mental_health", "trust_schools"):
        frame[f"trust/{name}"] = _text(_answers(rng, n, 0, 10))
    frame["cohesion/trust_other_entity"] = _text(_answers(rng, n, 0, 10))
    frame["governance/views_considered"] = _text(_answers(rng, n, 1, 5))
    frame["governance/satisfaction_social"] = _text(_answers(rng, n, 1, 5))
    dialogue = _flags(rng, n, 0.08)
    frame["governance/dialogue_participation"] = pd.array(
        np.where(dialogue.fillna(False), "yes", "no"), dtype="string")
    frame.loc[dialogue.isna(), "governance/dialogue_participation"] = pd.NA
    picks = [np.where(rng.random(n) < 0.4, c, "") for c in ("neighbour", "colleague", "friend", "in_law")]
    joined = pd.Series([" ".join(w for w in ws if w) or "none" for ws in zip(*picks, strict=True)], dtype="string")
    joined[rng.random(n) < 0.03] = pd.NA
    frame["cohesion/contact_willing"] = joined
    return frame


def youth_frame(rng: np.random.Generator, n: int = 2000) -> pd.DataFrame:
    """The youth questionnaire: n participants with a pre and a post submission."""
    munis = np.array(PROJECT_MUNICIPALITIES)
    muni = munis[rng.integers(0, len(munis), n)]
    frames = []
    for phase in ("pre", "post"):
        frame = pd.DataFrame({
            "respondent_key": np.char.add(f"Y{phase}", np.arange(n).astype(str)),
            "participant_code": np.char.add("K", np.arange(n).astype(str)), "phase": phase,
            "municipality": muni, "sex": np.where(np.arange(n) % 2, "female", "male"), "age": "19",
            "activity_type": "youth_camp"})
        for item in ("att_1", "att_2", "att_3", "att_4"):
            frame[f"attitudes/{item}"] = rng.integers(1, 6, n).astype(str)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def store(con, frame: pd.DataFrame, form_id: str, first_id: int, batch_id: int) -> int:
    """Write a frame as the loader stores submissions and answers; returns the next id."""
    questions = [c for c in frame.columns if c != "respondent_key"]
    ids = frame.assign(submission_id=np.arange(first_id, first_id + len(frame), dtype="int64"))
    con.register("_bench_in", ids)
    try:
        con.execute(
            "insert into stg_survey__submissions (submission_id, batch_id, form_id, form_version, wave,"
            " respondent_key, is_current) select submission_id, ?, ?, 'bench', ?, respondent_key, true"
            " from _bench_in", [batch_id, form_id, WAVE])
        names = ", ".join(f'"{q}"' for q in questions)
        con.execute(
            "insert into stg_survey__answers (submission_id, question, value) select submission_id,"
            f" question, value from (select submission_id, {names} from _bench_in)"
            f" unpivot include nulls (value for question in ({names}))")
    finally:
        con.unregister("_bench_in")
    return first_id + len(frame)


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
        "birth_year": 2000, "age_group": np.array(["15-19", "20-24", "25-30", "30-44"])[rng.integers(0, 4, n_people)],
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


STORED_QUESTIONS = ("trust/trust_municipality", "trust/trust_csw", "trust/trust_employment", "trust/trust_health",
                    "trust/trust_mental_health", "trust/trust_schools", "governance/views_considered",
                    "governance/dialogue_participation", "governance/satisfaction_social",
                    "cohesion/contact_willing", "cohesion/trust_other_entity", "design/weight",
                    "demographics/sex", "demographics/age", "location/municipality", "location/urban_rural")


def reference_sql(table: str = "bench_wide") -> str:
    """One GROUP BY over the wide table: weighted means of the citizen indicators' values, the
    same domains, no SEs. ``table``: another relation with the same columns (the answers as
    the warehouse stores them, pivoted)."""
    trust = [f'try_cast("trust/{n}" as double)' for n in ("trust_csw", "trust_employment", "trust_health",
                                                          "trust_mental_health", "trust_schools")]
    answered = " + ".join(f"cast({t} is not null as integer)" for t in trust)
    values = [
        'case when "trust/trust_municipality" is null then null when try_cast("trust/trust_municipality"'
        ' as double) between 6 and 10 then 1.0 else 0.0 end',
        f"case when {answered} >= 3 then list_avg([{', '.join(trust)}]) end",
        'case when "governance/views_considered" is null then null when try_cast("governance/views_considered"'
        ' as double) between 4 and 5 then 1.0 else 0.0 end',
        'case when "governance/dialogue_participation" is null then null'
        ' when "governance/dialogue_participation" = \'yes\' then 1.0 else 0.0 end',
        'case when "governance/satisfaction_social" is null then null when try_cast('
        '"governance/satisfaction_social" as double) between 4 and 5 then 1.0 else 0.0 end',
        'case when "cohesion/contact_willing" is null then null when list_has_any(string_split('
        '"cohesion/contact_willing", \' \'), [\'neighbour\', \'colleague\', \'friend\', \'in_law\']) then 1.0 else 0.0 end',
        'try_cast("cohesion/trust_other_entity" as double)',
    ]
    ys = ", ".join(f"{v} as y{k}" for k, v in enumerate(values))
    means = ", ".join(f"sum(weight * y{k}) / sum(weight) filter (where y{k} is not null) as m{k}"
                      for k in range(len(values)))
    return f"""
        with rows as (
            select try_cast("design/weight" as double) as weight, "demographics/sex" as sex,
                survey_age_group(try_cast("demographics/age" as integer)) as age_group,
                "location/municipality" as muni_id, m.entity, "location/urban_rural" as urban_rural, {ys}
            from {table} as w
            join ref_municipalities as m on m.muni_id = w."location/municipality"
        )
        select sex, age_group, muni_id, entity, urban_rural, count(*) as n, {means}
        from rows
        group by grouping sets ((), (sex), (age_group), (muni_id), (entity), (urban_rural))
    """


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2024)
    with tempfile.TemporaryDirectory() as tmp:
        from pipeline.ingest.survey.load import ingest_survey
        from pipeline.ingest.survey.models import create_survey_views
        from pipeline.project.scaffold import new_project
        from pipeline.synth.xlsforms import citizen_form, write_xlsform, youth_form

        home = Path(tmp) / "project"
        new_project(home, example="spsc")
        s = get_settings(home=home, project=home, db=home / "bench.duckdb", secret_path=home / "secret.key")
        init_warehouse(s)
        for name, form in (("citizen", citizen_form()), ("youth", youth_form())):
            write_xlsform(home / f"{name}_form.xlsx", form)
            ingest_survey(s, [], form=home / f"{name}_form.xlsx")  # the codebooks, loaded for real
        wide = survey_frame(rng, args.respondents)
        con = connect(s.db)
        try:
            next_id = store(con, wide, "spsc_citizen_survey", 1, 10)
            store(con, youth_frame(rng), "spsc_youth_prepost", next_id, 11)
            con.register("_bench_in", wide)
            con.execute("create table bench_wide as select * from _bench_in")
            con.unregister("_bench_in")
            del wide
            for table, frame in attendance_frames(rng).items():
                con.register("_bench_in", frame)
                con.execute(f"insert into {table} by name select * from _bench_in")
                con.unregister("_bench_in")
            project = s.project
            catalogue = load_catalogue(project)
            books = read_codebooks(con)
            plans, _ = plan_sources(catalogue, project, books)
            create_survey_views(con)
            sql = reference_sql()
            values = None

            def step():
                nonlocal values
                with transaction(con):
                    build_respondents(con, project, books)
                values = compute_values(con, catalogue, s, plans=plans)

            # the reference reads the answers as the warehouse stores them (one row per
            # submission and question), so it pivots them first, as the build must
            stored = f"({pivot_sql('spsc_citizen_survey', {q: q for q in STORED_QUESTIONS})})"
            reference, engine = interleaved(
                ("one GROUP BY of weighted means over the answers as stored (pivot included)",
                 lambda: con.execute(reference_sql(stored)).fetchall()),
                ("respondents and the whole catalogue (all periods, domains, SEs, CIs,"
                 " calibration, suppression)", step), repeat=args.repeat)
            # for the record: the same GROUP BY over a wide table the warehouse does not hold
            wide_ref = time_it("the same GROUP BY over a pre-pivoted wide table (not in the warehouse)",
                               lambda: con.execute(sql).fetchall(), repeat=args.repeat)
        finally:
            con.close()
    print(f"{args.respondents:,} respondents; {len(values):,} indicator cells of "
          f"{values['indicator_id'].nunique()} indicators; peak memory {peak_rss_mb():.0f} MB")
    wide_ratio = compare(engine, wide_ref)
    check("indicators", engine, reference, LIMIT,
          note=f"{args.respondents:,} respondents; {wide_ratio:.1f}x a GROUP BY over a pre-pivoted wide table")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
