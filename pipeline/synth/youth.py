"""Youth pre/post questionnaire: the young people of the 2024 youth activities, before and after.

Grain: one submission per participant per phase (``pre``, ``post``; some never fill the
post questionnaire), plus one repeat row per earlier activity listed in the ``pre``
questionnaire. Participants are the young people who signed in (validly) to a youth activity
between July and November 2024; a known number of those who answered both phases improve
their attitude score (mean of ``att_1``..``att_4``), the others do not.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from pipeline.synth import kobo
from pipeline.synth.attendance import YOUTH_EVENT_TYPES, Event, Person, count_dirt
from pipeline.synth.names import FIRST_NAMES, strip_diacritics
from pipeline.synth.xlsforms import Form

WAVE = "2024Q4"
WINDOW = (date(2024, 7, 1), date(2024, 11, 30))
IMPROVING_SHARE = 0.6
POST_RESPONSE = 0.9
POST_BY = date(2024, 12, 20)
YOUTH_DIRT = {"duplicate_submission": 0.5, "participant_code_variant": 0.5}
ACTIVITY_KINDS = ("youth_exchange", "youth_camp", "critical_thinking_club", "volunteering", "sports", "other")


def select_participants(events: list[Event], people: list[Person], ledger: list[dict]) -> list[tuple[Person, Event]]:
    """Each young person (15-30) validly signed in to a youth activity in the window, with the
    first such activity."""
    by_id = {ev.event_id: ev for ev in events}
    first: dict[int, Event] = {}
    for row in ledger:
        if row["kind"] != "person" or row["quarantine"]:
            continue
        ev = by_id[row["event_id"]]
        p = people[row["pid"]]
        if (ev.event_type in YOUTH_EVENT_TYPES and WINDOW[0] <= ev.date <= WINDOW[1]
                and 15 <= p.age_on(ev.date) <= 30 and row["pid"] not in first):
            first[row["pid"]] = ev
    return [(people[pid], first[pid]) for pid in sorted(first, key=lambda pid: (first[pid].date, pid))]


def _code(rng: np.random.Generator, p: Person, used: set[str]) -> str:
    mothers = FIRST_NAMES["b"]["female"] + FIRST_NAMES["s"]["female"] + FIRST_NAMES["c"]["female"]
    tail = strip_diacritics(p.last)[-2:].upper()
    while True:
        mother = strip_diacritics(mothers[int(rng.integers(len(mothers)))])[:2].upper()
        code = f"{mother}{p.birth.day:02d}{tail}"
        if code not in used:
            used.add(code)
            return code


def _at(day: date, rng: np.random.Generator) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(seconds=int(rng.integers(9 * 3600, 18 * 3600)))


def build(rng: np.random.Generator, form: Form, events: list[Event], people: list[Person],
          ledger: list[dict], dirty: float) -> tuple[dict[str, list[list]], dict, dict[str, int]]:
    """The export's sheets (name -> rows with header), the truth and the planted dirt counts."""
    who = select_participants(events, people, ledger)
    subs: list[dict] = []
    used: set[str] = set()
    matched = []
    for p, ev in who:
        code = _code(rng, p, used)
        latent = rng.standard_normal()
        att = np.clip(np.rint(3.1 + 0.8 * latent + 0.7 * rng.standard_normal(4)), 1, 5).astype(int)
        eff = np.clip(np.rint(3.0 + rng.standard_normal(3)), 1, 5).astype(int)
        pre_day = ev.date - timedelta(days=int(rng.integers(0, 3)))
        base = {"code": code, "person": p, "event": ev, "age": p.age_on(ev.date)}
        previous = [(ACTIVITY_KINDS[int(rng.integers(len(ACTIVITY_KINDS)))], int(rng.integers(2018, 2025)))
                    for _ in range(int(rng.integers(0, 4)))]
        subs.append({**base, "phase": "pre", "when": _at(pre_day, rng), "att": att, "eff": eff,
                     "previous": previous})
        if rng.random() < POST_RESPONSE:
            post_day = min(POST_BY, ev.date + timedelta(days=int(rng.integers(14, 46))))
            post = {**base, "phase": "post", "when": _at(post_day, rng), "att": att.copy(),
                    "eff": np.minimum(5, eff + (rng.random(3) < 0.3)), "previous": []}
            subs.append(post)
            matched.append((subs[-2], post))
    n_improve = round(IMPROVING_SHARE * len(matched))
    improvers = set(int(i) for i in rng.permutation(len(matched))[:n_improve])
    for i, (pre, post) in enumerate(matched):
        if i in improvers:
            if (pre["att"] == 5).all():
                pre["att"][int(rng.integers(4))] = 4
                post["att"] = pre["att"].copy()
            room = np.flatnonzero(post["att"] < 5)
            for j in rng.permutation(room)[: int(rng.integers(1, 3))]:
                post["att"][j] += 1
        else:
            down = np.flatnonzero(post["att"] > 1)
            if len(down) and rng.random() < 0.5:
                post["att"][int(rng.permutation(down)[0])] -= 1
    improved = sum(post["att"].mean() > pre["att"].mean() for pre, post in matched)
    assert improved == n_improve

    counts = count_dirt(len(subs), dirty, YOUTH_DIRT)
    posts = [s for s in subs if s["phase"] == "post"]
    counts["participant_code_variant"] = min(counts["participant_code_variant"], len(posts))
    for s in [posts[int(i)] for i in rng.permutation(len(posts))[: counts["participant_code_variant"]]]:
        c = s["code"]
        s["code"] = (c.lower(), f"{c[:2]} {c[2:4]} {c[4:]}", f" {c.lower()}")[int(rng.integers(3))]
    uid = kobo.uuids(rng, len(subs)).to_pylist()
    for s, u in zip(subs, uid, strict=True):
        s["uuid"] = u
        s["duration"] = int(rng.integers(6 * 60, 20 * 60))
        s["delay"] = int(rng.integers(60, 4 * 3600))
    dups = [dict(subs[int(i)]) for i in rng.permutation(len(subs))[: counts["duplicate_submission"]]]
    rows = sorted(subs + dups, key=lambda s: s["when"] + timedelta(seconds=s["duration"] + s["delay"]))

    main_headers, repeat_headers = form.export_headers()
    rep_headers = repeat_headers["previous_activities"]
    version = kobo.version_uid(rng)
    main, repeat = [main_headers], [rep_headers]
    for i, s in enumerate(rows):
        start = s["when"]
        end = start + timedelta(seconds=s["duration"])
        offset = int(kobo.utc_offset_hours(np.array([_ms(start)]))[0])
        submitted = end + timedelta(seconds=s["delay"]) - timedelta(hours=offset)
        p: Person = s["person"]
        values = {
            "start": f"{start:%Y-%m-%dT%H:%M:%S}.000+0{offset}:00",
            "end": f"{end:%Y-%m-%dT%H:%M:%S}.000+0{offset}:00",
            "today": f"{start:%Y-%m-%d}", "participant_code": s["code"], "phase": s["phase"],
            "municipality": p.muni_id, "sex": p.sex, "age": s["age"],
            "activity_type": s["event"].event_type,
            **{f"attitudes/att_{j + 1}": str(int(v)) for j, v in enumerate(s["att"])},
            **{f"efficacy/eff_{j + 1}": str(int(v)) for j, v in enumerate(s["eff"])},
            "participant_name": f"{p.first} {p.last}", "meta/instanceID": f"uuid:{s['uuid']}",
            "_id": 310_000_000 + i + 1, "_uuid": s["uuid"], "_submission_time": f"{submitted:%Y-%m-%dT%H:%M:%S}",
            "_validation_status": None, "_notes": None, "_status": "submitted_via_web",
            "_submitted_by": None, "__version__": version, "_tags": None, "_index": i + 1,
        }
        main.append([values[h] for h in main_headers])
        for kind, year in s["previous"]:
            rep = {"previous_activities/activity_kind": kind, "previous_activities/activity_year": year,
                   "_index": len(repeat), "_parent_table_name": form.form_id, "_parent_index": i + 1,
                   "_submission__id": values["_id"], "_submission__uuid": s["uuid"],
                   "_submission__submission_time": values["_submission_time"],
                   "_submission__validation_status": None, "_submission__notes": None,
                   "_submission__status": "submitted_via_web", "_submission__submitted_by": None,
                   "_submission___version__": version, "_submission__tags": None}
            repeat.append([rep[h] for h in rep_headers])
    pre_scores = [pre["att"].mean() for pre, _ in matched]
    post_scores = [post["att"].mean() for _, post in matched]
    truth = {
        "file": f"survey/youth_prepost_{WAVE}.xlsx",
        "wave": WAVE,
        "submissions": len(subs),
        "rows_main_sheet": len(rows),
        "rows_repeat_sheet": len(repeat) - 1,
        "participants_pre": len(who),
        "participants_post": len(matched),
        "participants_matched": len(matched),
        "participants_improved": int(improved),
        "share_improved": round(improved / len(matched), 6) if matched else None,
        "attitude_score_pre_mean_matched": round(float(np.mean(pre_scores)), 6) if matched else None,
        "attitude_score_post_mean_matched": round(float(np.mean(post_scores)), 6) if matched else None,
        "definitions": {
            "attitude_score": "mean of attitudes/att_1..att_4 (1-5) of one submission",
            "participants_matched": "participants with a pre and a post submission, matched on "
                                    "participant_code after upper-casing and removing spaces",
            "share_improved": "among matched participants, the share whose post attitude score "
                              "is higher than their pre score",
            "duplicates": "a duplicate repeats a submission with the same _uuid: count it once",
        },
    }
    return {form.form_id: main, "previous_activities": repeat}, truth, counts


def _ms(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1)).total_seconds() * 1000)
