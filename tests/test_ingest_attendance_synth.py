"""The sample's sign-in sheets end to end: the planted truth (truth.json) is recovered exactly."""

from __future__ import annotations

import json

import duckdb
import pytest
from helpers import project_settings

from pipeline.ingest.attendance.load import ingest_sample_attendance


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample written by the generator (20% dirt) and loaded into a fresh warehouse."""
    from pipeline.synth import generate

    home = tmp_path_factory.mktemp("sample")
    generate(home / "raw", seed=3, respondents=30, dirty=0.2)
    settings = project_settings(home, db=home / "spsc.duckdb", secret_path=home / "secret.key")
    results = ingest_sample_attendance(settings, home / "raw")
    truth = json.loads((home / "raw" / "truth.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(settings.db), read_only=True)
    yield con, {**truth["attendance"], "name_variants": truth["name_variants"],
                "settings": settings}, results
    con.close()


def one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_every_row_is_accounted_for(sample):
    con, truth, results = sample
    registers = results[1:]
    read, loaded, quarantined, blank = (
        sum(getattr(r, f) for r in registers)
        for f in ("rows_read", "rows_loaded", "rows_quarantined", "rows_blank")
    )
    assert read == loaded + quarantined + blank
    assert quarantined == truth["sign_in_quarantinable_rows"]
    assert (
        loaded
        == truth["sign_in_person_rows"]
        - truth["sign_in_quarantinable_rows"]
        + truth["sign_in_duplicate_rows"]
    )
    # blank rows after the last person of a sheet are not in the file, so cannot be counted
    assert 0 <= truth["sign_in_blank_rows"] - blank <= len(registers)
    assert one(con, "select count(*) from quarantine where rule <> 'impossible_age'") == 0
    assert one(con, "select sum(n_duplicates) from events") == truth["sign_in_duplicate_rows"]


def test_planted_truth_is_recovered(sample):
    con, truth, _ = sample
    assert one(con, "select count(*) from events") == truth["events"]
    assert one(con, "select count(*) from attendances") == truth["attendances"]
    assert one(con, "select count(*) from participants") == truth["unique_participants"]
    young = dict(
        con.execute(
            "select p.sex, count(distinct a.person_key) from attendances a"
            " join participants p using (person_key) where a.is_youth group by p.sex"
        ).fetchall()
    )
    assert young == truth["unique_young_participants_by_sex"]
    assert one(con, "select count(*) from events where is_youth_event") == truth["youth_events"]
    inter = [
        r[0]
        for r in con.execute(
            "select event_id from events where is_youth_event and is_inter_entity order by event_id"
        ).fetchall()
    ]
    assert inter == truth["inter_entity_event_ids"]
    # the engine's cells (the only source of youth figures) recover the planted truth
    from pipeline.indicators.attendance_counts import attendance_values
    from pipeline.indicators.catalogue import load_catalogue

    settings = truth["settings"]
    values = attendance_values(con, load_catalogue(settings.project), settings)
    total = values[(values["period"] == "cumulative") & (values["dimension"] == "total")]
    total = total.set_index("indicator_id")["estimate"]
    assert total["unique_youth"] == truth["unique_young_participants"]
    assert total["sustained_youth"] == truth["young_with_at_least_3_activities"]
    assert round(total["inter_entity_share"] / 100, 6) == truth["inter_entity_share"]
    by_sex = values[(values["indicator_id"] == "unique_youth") & (values["period"] == "cumulative")
                    & (values["dimension"] == "sex")]
    assert dict(zip(by_sex["dimension_value"], by_sex["estimate"].astype(int), strict=True)) \
        == truth["unique_young_participants_by_sex"]


def test_cross_entity_ties_by_period_and_municipality_pair(sample):
    con, truth, _ = sample
    by_pair = dict(
        con.execute(
            "select muni_id_a || '|' || muni_id_b, n_ties from cross_entity_ties"
            " where period = 'cumulative'"
        ).fetchall()
    )
    assert by_pair == truth["cross_entity_ties_by_municipality_pair"]
    assert sum(by_pair.values()) == truth["cross_entity_ties"]
    by_quarter = dict(
        con.execute(
            "select period, sum(n_ties) from cross_entity_ties"
            " where period <> 'cumulative' group by period"
        ).fetchall()
    )
    assert by_quarter == {q: n for q, n in truth["cross_entity_ties_by_quarter"].items() if n}


def test_planted_name_variants_are_linked_and_nothing_is_left_for_review(sample):
    con, truth, _ = sample
    assert truth["name_variants"]["persons_with_several_spellings"] > 50
    assert (
        sum(
            truth["name_variants"]["rows_by_spelling"][s]
            for s in ("no_diacritics", "swapped", "cyrillic_swapped")
        )
        > 10
    )
    # one key per person whatever the spelling: as many participants as planted people
    assert one(con, "select count(*) from participants") == truth["unique_participants"]
    from pipeline.config import get_settings
    from pipeline.registry.review import review_pairs

    assert review_pairs(con, get_settings()).empty
