"""What a correct pipeline finds in the attendance files, and each wave's exposure."""

from __future__ import annotations

import itertools
from datetime import date

from pipeline.reference import entity_of
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.attendance.plan import (
    QUARTERS,
    TRAINING_TYPES,
    YOUTH_EVENT_TYPES,
    YOUTH_MAX_AGE,
    YOUTH_MIN_AGE,
    Event,
    Person,
)

# --- what a correct pipeline finds ------------------------------------------------------

def compute_attendance_truth(events: list[Event], people: list[Person], ledger: list[dict],
                     min_per_side: int = 2, sustained: int = 3) -> dict:
    """The attendance figures a correct pipeline computes from the files.

    Counts use person rows that are not quarantinable (implied age 10..100), after linking
    spellings of the same person and removing duplicate sign-ins within an event.
    """
    attended: dict[str, list[int]] = {ev.event_id: [] for ev in events}
    for row in ledger:
        if row["kind"] == "person" and not row["quarantine"] and row["pid"] not in attended[row["event_id"]]:
            attended[row["event_id"]].append(row["pid"])

    def young(pid: int, ev: Event) -> bool:
        p = people[pid]
        exact = YOUTH_MIN_AGE <= p.age_on(ev.date) <= YOUTH_MAX_AGE
        assert exact == (YOUTH_MIN_AGE <= p.year_diff(ev.date) <= YOUTH_MAX_AGE), (pid, ev.event_id)
        return exact

    def by_sex(pids) -> dict[str, int]:
        out = {"female": 0, "male": 0}
        for pid in pids:
            out[people[pid].sex] += 1
        return out

    dialogues = [ev for ev in events if ev.event_type == "citizen_dialogue"]
    dialogue_attendances = [pid for ev in dialogues for pid in attended[ev.event_id]]
    youth_events: dict[int, set[str]] = {}
    for ev in events:
        for pid in attended[ev.event_id]:
            if young(pid, ev):
                youth_events.setdefault(pid, set()).add(ev.event_id)
    young_pids = sorted(youth_events)

    inter, inter_youth_only, youth_type_events = [], [], []
    for ev in events:
        if ev.event_type not in YOUTH_EVENT_TYPES:
            continue
        youth_type_events.append(ev.event_id)
        ents = [people[pid].entity for pid in attended[ev.event_id]]
        yents = [people[pid].entity for pid in attended[ev.event_id] if young(pid, ev)]
        if ents.count("FBiH") >= min_per_side and ents.count("RS") >= min_per_side:
            inter.append(ev.event_id)
        if yents.count("FBiH") >= min_per_side and yents.count("RS") >= min_per_side:
            inter_youth_only.append(ev.event_id)

    ties: set[tuple[int, int]] = set()
    ties_by_quarter: dict[str, set[tuple[int, int]]] = {q: set() for q in QUARTERS}
    for ev in events:
        ys = sorted(pid for pid in attended[ev.event_id] if young(pid, ev))
        for a, b in itertools.combinations(ys, 2):
            if people[a].entity != people[b].entity:
                ties.add((a, b))
                ties_by_quarter[ev.quarter].add((a, b))
    pair_counts: dict[str, int] = {}
    for a, b in sorted(ties):
        ma, mb = sorted((people[a].muni_id, people[b].muni_id))
        key = f"{ma}|{mb}"
        pair_counts[key] = pair_counts.get(key, 0) + 1

    spellings: dict[int, list[str]] = {}
    for row in ledger:
        if row["kind"] == "person" and not row["quarantine"]:
            names = spellings.setdefault(row["pid"], [])
            if row["name"] not in names:
                names.append(row["name"])
    n_types = {t: sum(ev.event_type == t for ev in events) for t in
               ("citizen_dialogue", *YOUTH_EVENT_TYPES, *TRAINING_TYPES)}
    person_rows = [r for r in ledger if r["kind"] == "person"]
    return {
        "events": len(events),
        "events_by_type": n_types,
        "events_by_quarter": {q: sum(ev.quarter == q for ev in events) for q in QUARTERS},
        "joint_events": sum(len(ev.munis) > 1 for ev in events),
        "citizen_dialogues": len(dialogues),
        "citizen_dialogues_by_municipality": {m: sum(ev.host == m for ev in dialogues) for m in PROJECT_MUNICIPALITIES},
        "citizen_dialogue_attendances_by_sex": by_sex(dialogue_attendances),
        "citizen_dialogue_unique_participants_by_sex": by_sex(sorted(set(dialogue_attendances))),
        "attendances": sum(len(v) for v in attended.values()),
        "unique_participants": len({pid for v in attended.values() for pid in v}),
        "unique_young_participants_by_sex": by_sex(young_pids),
        "unique_young_participants": len(young_pids),
        "youth_events": len(youth_type_events),
        "inter_entity_youth_events": len(inter),
        "inter_entity_share": round(len(inter) / len(youth_type_events), 6) if youth_type_events else None,
        "inter_entity_youth_events_counting_only_young": len(inter_youth_only),
        "inter_entity_event_ids": inter,
        "young_with_at_least_3_activities": sum(len(v) >= sustained for v in youth_events.values()),
        "cross_entity_ties": len(ties),
        "cross_entity_ties_by_municipality_pair": pair_counts,
        "cross_entity_ties_by_quarter": {q: len(v) for q, v in ties_by_quarter.items()},
        "sign_in_person_rows": len(person_rows),
        "sign_in_duplicate_rows": sum(r["kind"] == "duplicate" for r in ledger),
        "sign_in_blank_rows": sum(r["kind"] == "blank" for r in ledger),
        "sign_in_quarantinable_rows": sum(r["quarantine"] for r in person_rows),
        "name_variants": {
            "persons_with_several_spellings": sum(len(v) > 1 for v in spellings.values()),
            "extra_spellings": sum(len(v) - 1 for v in spellings.values()),
            "rows_by_spelling": {s: sum(r["spelling"] == s for r in person_rows)
                                 for s in ("latin", "cyrillic", "no_diacritics", "swapped",
                                           "cyrillic_swapped")},
        },
    }


def count_exposures(events: list[Event], fieldwork_start: dict[str, date]) -> dict[str, dict[str, dict[str, int]]]:
    """Activities each municipality had before each survey wave: the drivers of planted change.

    ``dialogues`` (citizen dialogues hosted before fieldwork), ``dialogues_12m`` (in the 365
    days before), ``trainings`` (service-provider and mental-health trainings it took part
    in), ``inter_entity_youth`` (joint youth events with the other entity).
    """
    out: dict[str, dict[str, dict[str, int]]] = {}
    for m in PROJECT_MUNICIPALITIES:
        out[m] = {}
        for wave, start in fieldwork_start.items():
            before = [ev for ev in events if ev.date < start and m in ev.munis]
            out[m][wave] = {
                "dialogues": sum(ev.event_type == "citizen_dialogue" for ev in before),
                "dialogues_12m": sum(ev.event_type == "citizen_dialogue" and (start - ev.date).days <= 365
                                     for ev in before),
                "trainings": sum(ev.event_type in TRAINING_TYPES for ev in before),
                "inter_entity_youth": sum(
                    ev.event_type in YOUTH_EVENT_TYPES and len({entity_of(x) for x in ev.munis}) > 1
                    for ev in before),
            }
    return out
