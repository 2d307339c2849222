"""Indicator catalogue, engine (``spsc build``) and donor table (``spsc indicators``).

Fixture warehouses are real DuckDB files in a copy of the example project: the survey rows
below are written as Kobo exports of the example's forms and loaded by ``spsc ingest survey``;
the attendance marts hold a few rows with known values (docs/warehouse.md). Every expected
number below can be computed by hand (the comments show how).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from fixtures import survey_exports
from helpers import drop_calibration

from pipeline.warehouse.setup import init_warehouse

EXAMPLE = REPO / "examples" / "spsc"

# ---------------------------------------------------------------- fixture warehouse
# 2024Q4 citizen survey: strata livno (FBiH, weight 2, 10 PSUs in the population) and ribnik
# (RS, weight 1, 8 PSUs), two PSUs each, three respondents per PSU.
# columns: key, muni, psu, sex, age_group, trust_municipality, providers (csw, employment,
# health, mental_health, schools), views, satisfaction, dialogue, trust_other_entity,
# contacts (neighbour, colleague, friend, in_law)
N = None
CITIZENS = [
    ("r01", "livno", "L1", "female", "18-29", 8, (6, 6, 6, 6, 6), 4, 5, True, 7, (True, False, False, False)),
    ("r02", "livno", "L1", "male", "30-44", 3, (4, 4, 4, 4, 4), 2, 3, False, 3, (False, False, False, False)),
    ("r03", "livno", "L1", "female", "45-64", 6, (5, N, 5, N, 5), 5, 4, False, 5, (False, True, False, False)),
    ("r04", "livno", "L2", "male", "65+", N, (8, 8, N, N, 8), N, 2, N, N, (N, N, N, N)),
    ("r05", "livno", "L2", "female", "18-29", 10, (2, 2, N, N, N), 3, 4, True, 9, (False, False, True, True)),
    ("r06", "livno", "L2", "male", "30-44", 5, (7, 7, 7, 7, 7), 3, 1, False, 6, (False, False, False, False)),
    ("r07", "ribnik", "R1", "female", "30-44", 7, (3, 3, 3, 3, 3), 1, 5, False, 2, (False, False, False, False)),
    ("r08", "ribnik", "R1", "male", "18-29", 2, (9, 9, 9, 9, 9), 5, 5, True, 8, (True, True, True, True)),
    ("r09", "ribnik", "R1", "female", "65+", 9, (5, 5, 5, 5, 5), 3, 3, False, 4, (False, False, False, True)),
    ("r10", "ribnik", "R2", "male", "45-64", 6, (10, 10, 10, 10, 10), 4, 4, False, 10, (True, False, False, False)),
    ("r11", "ribnik", "R2", "female", "18-29", 0, (0, 0, 0, 0, 0), 2, 2, True, 0, (False, False, False, False)),
    ("r12", "ribnik", "R2", "male", "45-64", 1, (1, 2, 3, 4, 5), 5, N, False, 5, (False, True, False, False)),
]
WEIGHT = {"livno": 2.0, "ribnik": 1.0}
FPC = {"livno": 10.0, "ribnik": 8.0}
ENTITY = {"livno": "FBiH", "ribnik": "RS", "drvar": "FBiH", "kljuc": "FBiH", "mrkonjic_grad": "RS"}
AGE = {"18-29": 25, "30-44": 35, "45-64": 50, "65+": 70}
PROVIDERS = ("trust_csw", "trust_employment", "trust_health", "trust_mental_health", "trust_schools")


# Values for bookkeeping columns the ingest migrations add beyond the contract (NOT NULL there).
_FILLERS = {"INTEGER": 0, "BIGINT": 0, "DOUBLE": 0.0, "BOOLEAN": False, "DATE": "2024-01-01",
            "TIMESTAMP": "2024-01-01 00:00:00"}


def _insert(con, table: str, rows: list[dict]) -> None:
    """Insert by column name; NOT NULL columns outside the contract get a neutral value."""
    if not rows:
        return
    frame = pd.DataFrame(rows)
    extra = con.execute(
        "select column_name, data_type from information_schema.columns where table_name = ?"
        " and is_nullable = 'NO'", [table]).fetchall()
    for column, kind in extra:
        if column not in frame.columns:
            frame[column] = _FILLERS.get(kind, "")
    con.register("_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from _rows")
    finally:
        con.unregister("_rows")


def citizen_rows(wave: str, shift: int = 0, batch_id: int = 1) -> tuple[list[dict], list[dict]]:
    """Respondents and their answers (canonical names) of one wave; ``shift`` lowers
    trust_municipality. Used to check the engine against a design on respondent rows."""
    resp, answers = [], []
    for key, muni, psu, sex, age_group, trust, prov, views, sat, dial, other, _ in CITIZENS:
        rkey = f"{wave}-{key}"
        resp.append({
            "respondent_key": rkey, "wave": wave, "muni_id": muni, "entity": ENTITY[muni], "sex": sex,
            "age_group": age_group, "weight": WEIGHT[muni], "stratum": muni, "psu": psu,
            "fpc": FPC[muni], "batch_id": batch_id})
        answers.append({
            "respondent_key": rkey, "wave": wave,
            "trust_municipality": None if trust is None else max(trust - shift, 0),
            **dict(zip(PROVIDERS, prov, strict=True)), "views_considered": views,
            "satisfaction_social": sat, "dialogue_participation": dial, "trust_other_entity": other})
    return resp, answers


def _yes_no(flag):
    return None if flag is None else ("yes" if flag else "no")


def citizen_export(wave: str, shift: int = 0, fpc: dict | None = None) -> list[dict]:
    """The citizen rows of one wave as an export of the example's citizen form (XLSForm paths)."""
    rows = []
    for key, muni, psu, sex, age_group, trust, prov, views, sat, dial, other, contact in CITIZENS:
        picked = [c for c, on in zip(("neighbour", "colleague", "friend", "in_law"), contact, strict=True) if on]
        willing = None if contact[0] is None else (" ".join(picked) or "none")
        rows.append({
            "_uuid": f"{wave}-{key}", "_submission_time": "2024-11-01T10:00:00", "consent": "yes",
            "location/municipality": muni, "location/settlement": f"{muni} {psu}",
            "location/urban_rural": "rural", "demographics/sex": sex, "demographics/age": AGE[age_group],
            "trust/trust_municipality": None if trust is None else max(trust - shift, 0),
            **{f"trust/{name}": v for name, v in zip(PROVIDERS, prov, strict=True)},
            "governance/views_considered": views, "governance/satisfaction_social": sat,
            "governance/dialogue_participation": _yes_no(dial), "cohesion/trust_other_entity": other,
            "cohesion/contact_willing": willing,
            "design/stratum": muni, "design/psu": psu, "design/weight": WEIGHT[muni],
            "design/fpc": (fpc or FPC)[muni]})
    return rows


# youth pre/post 2024Q4: (code, muni, sex, age_group, attitude pre, attitude post)
YOUTH = [
    ("y01", "livno", "female", "15-19", 2.0, 3.0),   # improved
    ("y02", "livno", "male", "20-24", 3.0, 3.5),     # improved
    ("y03", "livno", "female", "20-24", 4.0, 4.0),   # same
    ("y04", "drvar", "male", "15-19", 2.5, 2.0),     # worse
    ("y05", "drvar", "female", "25-30", 1.0, 4.0),   # improved
    ("y06", "ribnik", "male", "20-24", 3.25, 3.5),   # improved
    ("y07", "ribnik", "female", "15-19", 5.0, 4.75),  # worse
    ("y08", "ribnik", "male", "25-30", 2.0, 2.75),   # improved
    ("y09", "mrkonjic_grad", "female", "20-24", 3.0, 3.0),  # same
    ("y10", "mrkonjic_grad", "male", "20-24", 1.5, 2.5),    # improved
    ("y11", "livno", "female", "20-24", 2.0, None),  # no post: not counted
    ("y12", "ribnik", "male", "20-24", None, 4.0),   # no pre: not counted
]


def _items(score: float) -> list[int]:
    """Four 1-5 answers whose mean is ``score`` (a multiple of 0.25)."""
    total = round(score * 4)
    base = total // 4
    return [base + (1 if k < total - 4 * base else 0) for k in range(4)]


def youth_export() -> list[dict]:
    """The youth questionnaires (pre and post) as an export of the example's youth form."""
    rows = []
    ages = {"15-19": 16, "20-24": 20, "25-30": 27}
    for code, muni, sex, age_group, pre, post in YOUTH:
        for phase, score in (("pre", pre), ("post", post)):
            if score is None:
                continue
            att = _items(score)
            rows.append({
                "_uuid": f"{code}-{phase}", "_submission_time": "2024-11-20T10:00:00",
                "participant_code": f"P{code.upper()}", "phase": phase, "municipality": muni,
                "sex": sex, "age": ages[age_group], "activity_type": "youth_camp",
                **{f"attitudes/att_{k + 1}": v for k, v in enumerate(att)},
                **{f"efficacy/eff_{k + 1}": 3 for k in range(3)}})
    return rows


# events: (id, quarter, host, type, youth event, inter-entity)
EVENTS = [
    ("EV-1", "2023Q4", "livno", "citizen_dialogue", False, False),
    ("EV-2", "2024Q1", "ribnik", "citizen_dialogue", False, False),
    ("EV-3", "2024Q1", "livno", "youth_camp", True, True),
    ("EV-4", "2024Q1", "ribnik", "youth_exchange", True, False),
    ("EV-5", "2024Q2", "drvar", "critical_thinking_club", True, True),
    ("EV-6", "2024Q2", "livno", "citizen_dialogue", False, False),
]
# participants: (key, sex, age_group, residence)
PEOPLE = [
    ("c1", "female", "30-44", "livno"), ("c2", "male", "45-64", "livno"),
    ("c3", "female", "65+", "ribnik"), ("c4", "male", "30-44", "ribnik"),
    ("u1", "female", "15-19", "livno"), ("u2", "male", "20-24", "livno"),
    ("u3", "female", "20-24", "ribnik"), ("u4", "female", "25-30", "drvar"),
    ("u5", "male", "15-19", "ribnik"), ("u6", "female", "20-24", "kljuc"),
]
# attendances: event -> [(person, is_youth)]
ATTEND = {
    "EV-1": [("c1", False), ("c2", False), ("u2", True)],
    "EV-2": [("c3", False), ("c4", False), ("c1", False)],
    "EV-3": [("u1", True), ("u2", True), ("u3", True), ("u5", True), ("c2", False)],
    "EV-4": [("u1", True), ("u3", True), ("u4", True)],
    "EV-5": [("u1", True), ("u2", True), ("u3", True), ("u6", True)],
    "EV-6": [("c1", False), ("u6", True)],
}
# cross_entity_ties: (period, muni_a, muni_b, ties)
TIES = [
    ("2024Q1", "livno", "ribnik", 4),
    ("2024Q2", "drvar", "ribnik", 0),
    ("2024Q2", "livno", "ribnik", 2),
    ("cumulative", "livno", "ribnik", 5),
    ("cumulative", "kljuc", "ribnik", 3),
]


def attendance_rows() -> dict[str, list[dict]]:
    quarter = {e[0]: e[1] for e in EVENTS}
    events = [{
        "event_id": eid, "date": pd.Timestamp(int(q[:4]), 3 * int(q[-1]) - 1, 15).date(),
        "quarter": q, "muni_ids": [host], "muni_id": host, "entity": ENTITY[host], "event_type": kind,
        "is_youth_event": youth, "is_inter_entity": inter, "n_participants": len(ATTEND[eid]),
        "batch_id": 10} for eid, q, host, kind, youth, inter in EVENTS]
    people = [{"person_key": k, "sex": sex, "birth_year": 1990, "age_group": age, "muni_id": muni,
               "entity": ENTITY[muni]} for k, sex, age, muni in PEOPLE]
    attendances = [{
        "person_key": person, "event_id": eid, "quarter": quarter[eid], "age_at_event": 20,
        "is_youth": youth, "role": "mladi" if youth else "građanin",
        "batch_id": 11 if quarter[eid] < "2024Q2" else 12}
        for eid, rows in ATTEND.items() for person, youth in rows]
    ties = [{"period": p, "muni_id_a": a, "muni_id_b": b, "entity_a": ENTITY[a],
             "entity_b": ENTITY[b], "n_ties": t} for p, a, b, t in TIES]
    return {"events": events, "participants": people, "attendances": attendances,
            "cross_entity_ties": ties}


def make_warehouse(settings, baseline: bool = True, fpc: dict | None = None) -> None:
    """Initialise the warehouse, load the survey exports (the baseline wave first, so its
    batch ids are 1 and 2) and fill the attendance marts with the fixture rows."""
    from pipeline.warehouse import connect
    from pipeline.warehouse.setup import init_warehouse

    init_warehouse(settings)
    raw = settings.raw_dir / "fixture"
    waves = ([("2023Q1", 2)] if baseline else []) + [("2024Q4", 0)]
    for wave, shift in waves:
        survey_exports.load(settings, raw, "citizen", wave, citizen_export(wave, shift, fpc))
    survey_exports.load(settings, raw, "youth", "2024Q4", youth_export())
    con = connect(settings.db)
    try:
        for table, rows in attendance_rows().items():
            _insert(con, table, rows)
    finally:
        con.close()


def _build_fixture(s):
    from pipeline.indicators.engine import build

    make_warehouse(s)
    build(s)
    return s


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture warehouse built with min_cell=1 (every cell published), shared read-only."""
    from pipeline.config import get_settings
    from pipeline.project.scaffold import new_project

    home = tmp_path_factory.mktemp("built")
    new_project(home, example="spsc")
    drop_calibration(home)
    return _build_fixture(get_settings(home=home, project=home, min_cell=1))


@pytest.fixture
def settings(settings):
    """The example project's copy without calibration (hand-made respondents, see helpers)."""
    drop_calibration(settings.project.root)
    from pipeline.config import get_settings

    return get_settings(home=settings.home)


@pytest.fixture
def fresh(settings):
    """Like ``built``, but a warehouse of this test's own (for tests that rebuild)."""
    return _build_fixture(settings.with_(min_cell=1))


@pytest.fixture(scope="module")
def values(built) -> pd.DataFrame:
    return read_values(built)


def read_values(s) -> pd.DataFrame:
    con = duckdb.connect(str(s.db), read_only=True)
    try:
        return con.execute("select * from indicator_values").df()
    finally:
        con.close()


def cell(values: pd.DataFrame, indicator: str, period: str, dimension="total", value="total"):
    rows = values[(values["indicator_id"] == indicator) & (values["period"] == period)
                  & (values["dimension"] == dimension) & (values["dimension_value"] == value)]
    assert len(rows) == 1, f"{indicator} {period} {dimension}={value}: {len(rows)} rows"
    return rows.iloc[0]


# ---------------------------------------------------------------- catalogue
def _example():
    from pipeline.project import load_project

    return load_project(EXAMPLE)


def test_example_catalogue_has_the_issue_indicators_and_the_targets_of_its_results_framework():
    from pipeline.indicators.catalogue import load_catalogue

    cat = load_catalogue(_example())
    ids = {i.id: i for i in cat.indicators}
    assert {"trust_municipality_high", "provider_trust_index", "views_considered_high",
            "dialogue_participation", "satisfied_social", "citizen_dialogues",
            "dialogue_participants", "unique_youth", "inter_entity_share", "sustained_youth",
            "cross_entity_ties", "attitude_improved", "willing_contact",
            "women_share_youth"} <= set(ids)
    assert cat.waves == {"baseline": "2023Q1", "midline": "2024Q1", "endline": "2024Q4"}
    assert cat.quarters[0] == "2023Q1" and cat.quarters[-1] == "2024Q4" and len(cat.quarters) == 8
    assert ids["trust_municipality_high"].condition.min == 6
    assert ids["trust_municipality_high"].source == "spsc_citizen_survey"
    assert ids["provider_trust_index"].variables == [
        "trust_csw", "trust_employment", "trust_health", "trust_mental_health", "trust_schools"]
    assert (ids["provider_trust_index"].unit, ids["provider_trust_index"].scale) == ("mean", (0, 10))
    assert ids["willing_contact"].condition.has == ["neighbour", "colleague", "friend", "in_law"]
    # from results_framework.xlsx: the example's targets are illustrative
    assert all(i.illustrative for i in cat.indicators)
    assert ids["trust_municipality_high"].baseline == "computed"
    assert ids["trust_municipality_high"].milestones == {"2024Q1": 40.0}
    assert (ids["citizen_dialogues"].target.period, ids["citizen_dialogues"].target.value) == ("2024Q4", 27.0)
    assert {i.unit for i in cat.indicators if i.estimator in ("proportion", "ratio")} == {"percent"}


def _mutated(old: str, new: str) -> str:
    text = (EXAMPLE / "indicators.yml").read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)


def _parse(text: str):
    from pipeline.indicators.catalogue import parse_catalogue

    config = _example().config
    return parse_catalogue(text, "indicators.yml", waves=config.waves, quarters=config.quarters)


def test_thresholds_are_written_into_the_texts_from_the_catalogue_and_the_project():
    """The sustained threshold is the indicator's own (min_activities) and the youth ages the
    project's: labels, subjects and definitions state them from there, in every language."""
    from pipeline.indicators.catalogue import parse_catalogue

    text = _mutated("    min_activities: 3", "    min_activities: 4")
    config = _example().config
    cat = parse_catalogue(text, "indicators.yml", waves=config.waves, quarters=config.quarters,
                          youth_ages=(16, 29))
    ind = next(i for i in cat.indicators if i.id == "sustained_youth")
    assert ind.min_activities == 4
    assert ind.label.en == "Young people engaged in 4 or more activities"
    assert ind.label.get("sr") == "Млади укључени у 4 или више активности"
    assert ind.definition.en.endswith("at least 4 distinct project activities in the period while aged 16-29.")
    assert all("{" not in t for i in cat.indicators for f in (i.label, i.subject, i.definition) if f
               for t in f.texts().values())


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    unit: percent\n    disaggregations: [total, sex, age_group, municipality, entity, urban_rural]",
     "    unit: percnt\n    disaggregations: [total, sex, age_group, municipality, entity, urban_rural]",
     "indicators.yml: indicator 'trust_municipality_high': field 'unit': Input should be"),
    ("    of: events\n    event_filter: {event_type: citizen_dialogue}\n    unit: count\n    disaggregations: [total, municipality, entity]",
     "    of: events\n    event_filter: {event_type: citizen_dialogue}\n    unit: count\n    disaggregations: [total, sex]",
     "indicator 'citizen_dialogues': field 'disaggregations': sex not available for events"),
    ("  - id: provider_trust_index", "  - id: trust_municipality_high",
     "indicator 'trust_municipality_high': field 'id': duplicate id"),
    ("    min_activities: 3", "    min_activities: 3\n    colour: red\n",
     "indicator 'sustained_youth': field 'colour': Extra inputs are not permitted"),
    ("    min_activities: 3", "    sustained: true",
     "indicator 'sustained_youth': field '(entry)': 'sustained' is now 'min_activities: N'"),
    ("    min_activities: 3", "    illustrative: false",
     "indicator 'sustained_youth': field 'label': says {min_activities} but the indicator has no min_activities"),
    ("numerator_filter: {sex: female}", "numerator_filter: {sex: 1}",
     "indicator 'women_share_youth': field 'numerator_filter.sex': must be a str, got 1"),
    ("condition: {variable: trust_municipality, min: 6, max: 10}", "condition: {variable: trust_municipality}",
     "indicator 'trust_municipality_high': field 'condition': needs a variable and exactly one test"),
    ("    unit: mean\n    scale: [0, 10]\n    disaggregations: [total, sex, age_group, municipality, entity]\n    frequency: survey_wave\n    means_of_verification:\n      en: \"Citizen perception survey, trust block",
     "    unit: mean\n    scale: [10, 0]\n    disaggregations: [total, sex, age_group, municipality, entity]\n    frequency: survey_wave\n    means_of_verification:\n      en: \"Citizen perception survey, trust block",
     "indicator 'provider_trust_index': field 'scale': must be [lowest, highest]"),
])
def test_catalogue_errors_name_the_file_the_entry_and_the_field(old, new, message):
    from pipeline.indicators.catalogue import CatalogueError

    with pytest.raises(CatalogueError) as err:
        _parse(_mutated(old, new))
    assert message in str(err.value)
    assert str(err.value).startswith("indicators.yml: ")


def test_catalogue_reports_every_problem_at_once():
    from pipeline.indicators.catalogue import CatalogueError

    text = _mutated("estimator: mean\n    variables: [trust_other_entity]", "estimator: count\n    variables: [trust_other_entity]")
    text = text.replace("level: output", "level: outptu", 1)
    with pytest.raises(CatalogueError) as err:
        _parse(text)
    msg = str(err.value)
    assert "indicator 'citizen_dialogues': field 'level'" in msg
    assert "indicator 'trust_other_entity_mean': field 'estimator'" in msg


def test_a_minimal_entry_is_enough():
    cat = _parse("""
indicators:
  - id: trusts
    label: Share who trust
    source: any_form
    estimator: proportion
    condition: {variable: q1, in: [4, 5]}
    unit: percent
  - id: score
    label: {en: Mean score}
    source: any_form
    estimator: mean
    variables: [q2]
    unit: score_0_10
""")
    trusts, score = cat.indicators
    assert trusts.disaggregations == ["total"] and trusts.label.bs == "Share who trust"
    assert trusts.condition.in_ == ["4", "5"] and trusts.target is None and trusts.result == ""
    assert (score.unit, score.scale, score.display_unit) == ("mean", (0, 10), "mean 0-10")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("condition: {variable: views_considered, min: 4, max: 5}",
     "condition: {variable: views_consdered, min: 4, max: 5}",
     "indicator 'views_considered_high': field 'condition': form spsc_citizen_survey has no question "
     "'views_consdered' (did you mean governance/views_considered?)"),
    ("condition: {variable: dialogue_participation, equals: \"yes\"}",
     "condition: {variable: dialogue_participation, has: \"yes\"}",
     "indicator 'dialogue_participation': field 'condition': dialogue_participation is not a select_multiple"),
    ("condition: {variable: contact_willing, has: [neighbour, colleague, friend, in_law]}",
     "condition: {variable: contact_willing, has: [neighbour, cousin]}",
     "indicator 'willing_contact': field 'condition': cousin not a choice of cohesion/contact_willing"),
    ("variables: [trust_other_entity]", "variables: [contact_willing]",
     "indicator 'trust_other_entity_mean': field 'variables': contact_willing is not a number"),
    ("disaggregations: [total, sex, age_group, municipality, entity, urban_rural]",
     "disaggregations: [total, settlement]",
     "indicator 'trust_municipality_high': field 'disaggregations': location/settlement is a text; a breakdown "
     "is by a select_one question"),
    ("source: spsc_youth_prepost", "source: spsc_youth_prepst",
     "indicator 'attitude_improved': field 'source': no form 'spsc_youth_prepst' is loaded or declared"),
])
def test_a_question_the_form_does_not_have_fails_the_build_and_is_named(built, old, new, message):
    from pipeline.indicators.catalogue import CatalogueError
    from pipeline.indicators.engine import build

    path = built.project.root / "bad_indicators.yml"
    path.write_text(_mutated(old, new), encoding="utf-8")
    from pipeline.indicators.catalogue import load_catalogue

    catalogue = load_catalogue(built.project, path=path)
    with pytest.raises(CatalogueError) as err:
        build(built, catalogue)
    assert message in str(err.value), str(err.value)


# ---------------------------------------------------------------- engine: exact values
PCT = 100.0
EXPECTED = [
    # indicator, period, dimension, value, estimate, n      (weights: livno 2, ribnik 1)
    # trust 6-10: livno 3 of 5 answered (6/10), ribnik 3 of 6 (3/6) -> 9/16
    ("trust_municipality_high", "2024Q4", "total", "total", PCT * 9 / 16, 11),
    ("trust_municipality_high", "2024Q4", "sex", "female", PCT * 8 / 9, 6),
    ("trust_municipality_high", "2024Q4", "sex", "male", PCT * 1 / 7, 5),
    ("trust_municipality_high", "2024Q4", "entity", "FBiH", 60.0, 5),
    ("trust_municipality_high", "2024Q4", "municipality", "ribnik", 50.0, 6),
    # baseline wave: trust lowered by 2 -> livno 2 of 5 (4/10), ribnik 1 of 6 -> 5/16
    ("trust_municipality_high", "2023Q1", "total", "total", PCT * 5 / 16, 11),
    # provider index (>= 3 of 5 answered; r05 has 2): livno 2*(6+4+5+8+7)=60 / 10, ribnik 30 / 6
    ("provider_trust_index", "2024Q4", "total", "total", 90 / 16, 11),
    ("provider_trust_index", "2024Q4", "sex", "female", 30 / 7, 5),
    # views 4-5: livno 2 of 5 (4/10), ribnik 3 of 6 -> 7/16
    ("views_considered_high", "2024Q4", "total", "total", PCT * 7 / 16, 11),
    # dialogue yes: livno 2 of 5 (4/10), ribnik 2 of 6 -> 6/16
    ("dialogue_participation", "2024Q4", "total", "total", PCT * 6 / 16, 11),
    # satisfaction 4-5: livno 3 of 6 (6/12), ribnik 3 of 5 -> 9/17
    ("satisfied_social", "2024Q4", "total", "total", PCT * 9 / 17, 11),
    # any contact: livno 3 of 5 (6/10; r04 all missing), ribnik 4 of 6 -> 10/16
    ("willing_contact", "2024Q4", "total", "total", PCT * 10 / 16, 11),
    ("willing_contact", "2024Q4", "age_group", "45-64", 100.0, 3),
    # trust other entity: livno 2*30 / 10, ribnik 29 / 6 -> 89/16
    ("trust_other_entity_mean", "2024Q4", "total", "total", 89 / 16, 11),
    ("trust_other_entity_mean", "2024Q4", "entity", "RS", 29 / 6, 6),
    # youth pairs: 6 of 10 improved (y11, y12 have one questionnaire only)
    ("attitude_improved", "2024Q4", "total", "total", 60.0, 10),
    ("attitude_improved", "2024Q4", "sex", "female", 40.0, 5),
    ("attitude_improved", "2024Q4", "sex", "male", 80.0, 5),
    # citizen dialogues: EV-1, EV-2, EV-6 (6 distinct people); 2024Q1: EV-2 only
    ("citizen_dialogues", "cumulative", "total", "total", 3, 6),
    ("citizen_dialogues", "cumulative", "municipality", "livno", 2, 4),
    ("citizen_dialogues", "2024Q1", "total", "total", 1, 3),
    # dialogue participants: c1 c2 u2 c3 c4 u6 (each counted once)
    ("dialogue_participants", "cumulative", "total", "total", 6, 6),
    ("dialogue_participants", "cumulative", "sex", "female", 3, 3),
    ("dialogue_participants", "cumulative", "sex", "male", 3, 3),
    ("dialogue_participants", "2024Q1", "total", "total", 3, 3),
    # people who were young at an activity of any type: u1..u6 (u2 first at the EV-1 dialogue)
    ("unique_youth", "cumulative", "total", "total", 6, 6),
    ("unique_youth", "cumulative", "sex", "female", 4, 4),
    ("unique_youth", "cumulative", "entity", "RS", 2, 2),
    ("unique_youth", "2024Q1", "total", "total", 5, 5),
    ("unique_youth", "2023Q4", "total", "total", 1, 1),
    # youth events EV-3 (inter), EV-4, EV-5 (inter); 7 distinct people attended them
    ("inter_entity_share", "cumulative", "total", "total", PCT * 2 / 3, 7),
    ("inter_entity_share", "2024Q1", "total", "total", 50.0, 6),
    # u1 and u3 were young at EV-3, EV-4 and EV-5, u2 at EV-1, EV-3 and EV-5; nobody had 3
    # activities within 2024Q1
    ("sustained_youth", "cumulative", "total", "total", 3, 3),
    ("sustained_youth", "cumulative", "sex", "female", 2, 2),
    ("sustained_youth", "cumulative", "sex", "male", 1, 1),
    ("sustained_youth", "2024Q1", "total", "total", 0, 0),
    # ties: cumulative livno-ribnik 5 + kljuc-ribnik 3
    ("cross_entity_ties", "cumulative", "total", "total", 8, 8),
    ("cross_entity_ties", "cumulative", "municipality", "ribnik", 8, 8),
    ("cross_entity_ties", "cumulative", "municipality", "kljuc", 3, 3),
    ("cross_entity_ties", "2024Q1", "total", "total", 4, 4),
    # women among youth: u1 u3 u4 u6 of six; 2024Q1: u1 u3 u4 of five
    ("women_share_youth", "cumulative", "total", "total", PCT * 4 / 6, 6),
    ("women_share_youth", "2024Q1", "total", "total", 60.0, 5),
]


def test_every_catalogue_indicator_has_an_exact_expectation():
    from pipeline.indicators.catalogue import load_catalogue

    assert {i.id for i in load_catalogue(_example()).indicators} == {row[0] for row in EXPECTED}


@pytest.mark.parametrize(("indicator", "period", "dimension", "value", "estimate", "n"), EXPECTED)
def test_indicator_values_are_exact(values, indicator, period, dimension, value, estimate, n):
    row = cell(values, indicator, period, dimension, value)
    assert row["estimate"] == pytest.approx(estimate, abs=1e-9)
    assert row["n"] == n
    assert not row["suppressed"]


def test_counts_have_no_standard_error_and_batches_are_recorded(built):
    values = read_values(built)
    counts = values[values["indicator_id"].isin(["unique_youth", "citizen_dialogues"])]
    assert counts[["se", "ci_low", "ci_high"]].isna().all().all()
    assert list(cell(values, "unique_youth", "cumulative")["batch_ids"]) == [10, 11, 12]
    assert list(cell(values, "unique_youth", "2024Q1")["batch_ids"]) == [10, 11]
    # batches: 1 the citizen form, 2 the 2023Q1 export, 3 the 2024Q4 one, 4 the youth form, 5 its export
    assert list(cell(values, "trust_municipality_high", "2024Q4")["batch_ids"]) == [3]
    assert list(cell(values, "trust_municipality_high", "2023Q1")["batch_ids"]) == [2]
    assert list(cell(values, "attitude_improved", "2024Q4")["batch_ids"]) == [5]


def _design_rows(wave: str = "2024Q4") -> pd.DataFrame:
    resp, answers = citizen_rows(wave)
    return pd.DataFrame(resp).merge(pd.DataFrame(answers), on=["respondent_key", "wave"])


def test_standard_errors_equal_the_design_on_respondent_rows(built):
    from pipeline.estimator import Design

    df = _design_rows()
    df["trust_high"] = df["trust_municipality"].map(lambda v: np.nan if pd.isna(v) else float(v >= 6))
    design = Design(df, weights="weight", strata="stratum", psu="psu", fpc="fpc")
    values = read_values(built)
    direct = design.proportion("trust_high", 1.0, by="sex").set_index("sex")
    for sex in ("female", "male"):
        row = cell(values, "trust_municipality_high", "2024Q4", "sex", sex)
        assert row["se"] == pytest.approx(100 * direct.loc[sex, "se"], rel=1e-12)
        assert row["ci_low"] == pytest.approx(max(0.0, 100 * direct.loc[sex, "ci_low"]), rel=1e-12)
    total = design.proportion("trust_high", 1.0)
    row = cell(values, "trust_municipality_high", "2024Q4")
    assert row["se"] == pytest.approx(100 * total["se"].iloc[0], rel=1e-12)
    assert row["ci_high"] == pytest.approx(100 * total["ci_high"].iloc[0], rel=1e-12)
    means = design.mean("trust_other_entity", by="entity").set_index("entity")
    row = cell(values, "trust_other_entity_mean", "2024Q4", "entity", "FBiH")
    assert row["se"] == pytest.approx(means.loc["FBiH", "se"], rel=1e-12)


def test_survey_cells_carry_df_weighted_n_deff_and_their_interval_method(built):
    from pipeline.estimator import Design

    df = _design_rows()
    df["trust_high"] = df["trust_municipality"].map(lambda v: np.nan if pd.isna(v) else float(v >= 6))
    design = Design(df, weights="weight", strata="stratum", psu="psu", fpc="fpc")
    values = read_values(built)
    for dimension, column in (("total", None), ("sex", "sex"), ("municipality", "muni_id")):
        direct = design.proportion("trust_high", 1.0, by=column)
        for _, want in direct.iterrows():
            value = "total" if column is None else want[column]
            row = cell(values, "trust_municipality_high", "2024Q4", dimension, value)
            assert row["ci_method"] == "logit" and row["df"] == want["df"]
            assert row["n"] == want["n"] and row["n_weighted"] == pytest.approx(want["n_weighted"])
            assert row["deff"] == pytest.approx(want["deff"], rel=1e-9)
            assert row["ci_low"] == pytest.approx(100 * want["ci_low"], rel=1e-9)
            assert row["ci_high"] == pytest.approx(100 * want["ci_high"], rel=1e-9)
    # 4 PSUs in 2 strata: 2 df; a municipality (2 PSUs, 1 stratum) has 1: its logit interval
    # on t(1) spans 0-100, which is what two PSUs can tell
    assert cell(values, "trust_municipality_high", "2024Q4")["df"] == 2
    livno = cell(values, "trust_municipality_high", "2024Q4", "municipality", "livno")
    assert livno["df"] == 1 and (livno["ci_low"], livno["ci_high"]) == (0.0, 100.0)
    mean = cell(values, "trust_other_entity_mean", "2024Q4", "entity", "FBiH")
    want = design.mean("trust_other_entity", by="entity").set_index("entity").loc["FBiH"]
    assert mean["ci_method"] == "t" and mean["df"] == 1
    assert mean["ci_low"] == pytest.approx(max(0.0, want["ci_low"]), rel=1e-9)  # clipped to 0-10
    counts = values[values["indicator_id"] == "unique_youth"]
    assert counts[["df", "n_weighted", "deff", "ci_method"]].isna().all().all()
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        published = con.execute("select * from indicator_values_published").df()
    finally:
        con.close()
    assert {"df", "n_weighted", "deff", "ci_method", "note"} <= set(published.columns)


def test_second_stage_enters_when_the_form_declares_it(settings):
    """The example's citizen form declares two stages (settlements, then people: ``psu:
    [design/psu, respondent]``, ``fpc: [design/fpc, design/fpc2]``): R's ``id = ~psu + person,
    fpc = ~fpc + fpc2`` variance."""
    from pipeline.estimator import Design
    from pipeline.indicators.engine import build

    people = {"L1": 40.0, "L2": 12.0, "R1": 25.0, "R2": 5.0}
    forms = settings.project.root / "forms" / "spsc_citizen_survey.yml"
    assert "psu: [design/psu, respondent]" in forms.read_text(encoding="utf-8")
    init_warehouse(settings)
    rows = citizen_export("2024Q4")
    for r in rows:  # the people in the PSU's population
        r["design/fpc2"] = people[r["design/psu"]]
    survey_exports.load(settings, settings.raw_dir / "fixture", "citizen", "2024Q4", rows)
    build(settings.with_(min_cell=1))
    values = read_values(settings)
    df = _design_rows().assign(fpc2=lambda f: f["psu"].map(people))
    df["trust_high"] = df["trust_municipality"].map(lambda v: np.nan if pd.isna(v) else float(v >= 6))
    two = Design(df, weights="weight", strata="stratum", psu=("psu", "respondent_key"),
                 fpc=("fpc", "fpc2"))
    one = Design(df, weights="weight", strata="stratum", psu="psu", fpc="fpc")
    for column, dimension in ((None, "total"), ("sex", "sex"), ("muni_id", "municipality")):
        want = two.proportion("trust_high", 1.0, by=column)
        first = one.proportion("trust_high", 1.0, by=column)
        for (_, w), (_, f) in zip(want.iterrows(), first.iterrows(), strict=True):
            row = cell(values, "trust_municipality_high", "2024Q4", dimension,
                       "total" if column is None else w[column])
            assert row["se"] == pytest.approx(100 * w["se"], rel=1e-9)
            assert row["se"] > 100 * f["se"]  # the second stage adds variance
            assert row["deff"] == pytest.approx(w["deff"], rel=1e-9)
            assert row["ci_high"] == pytest.approx(100 * w["ci_high"], rel=1e-9)
    score = cell(values, "provider_trust_index", "2024Q4")
    assert score["ci_method"] == "t" and score["se"] > 0


def test_a_second_stage_of_several_people_is_refused_not_misestimated(settings):
    from pipeline.errors import SpscError
    from pipeline.indicators.engine import build

    forms = settings.project.root / "forms" / "spsc_citizen_survey.yml"
    forms.write_text(forms.read_text(encoding="utf-8").replace(
        "psu: [design/psu, respondent]", "psu: [design/psu, location/settlement]"), encoding="utf-8")
    init_warehouse(settings)
    rows = citizen_export("2024Q4")
    for r in rows:  # the settlement field names the PSU: three people share each "unit"
        r["design/fpc2"] = 30
    survey_exports.load(settings, settings.raw_dir / "fixture", "citizen", "2024Q4", rows)
    with pytest.raises(SpscError, match="second-stage units hold several respondents"):
        build(settings.with_(min_cell=1))


def test_a_cell_without_an_estimable_variance_is_published_with_a_note_not_se_0(settings):
    from pipeline.indicators.engine import build

    make_warehouse(settings)
    # a wave whose respondents all live in one PSU: no PSU-to-PSU variation to measure
    rows = [r for r in citizen_export("2024Q2") if r["design/psu"] == "L1"]
    survey_exports.load(settings, settings.raw_dir / "fixture", "citizen", "2024Q2", rows)
    build(settings.with_(min_cell=1))
    row = cell(read_values(settings), "trust_municipality_high", "2024Q2")
    assert row["estimate"] == pytest.approx(200 / 3) and row["n"] == 3 and row["df"] == 0
    assert pd.isna(row["se"]) and pd.isna(row["ci_low"]) and pd.isna(row["ci_high"])
    assert "variance_not_estimable" in row["note"]


def connect_rw(settings):
    from pipeline.warehouse import connect

    return connect(settings.db)


def test_youth_se_is_simple_random_sampling_of_participants(built):
    # ten pairs with p = 0.6 and two unpaired participants kept in the design as R does:
    # V = 12/11 * sum((y - 0.6)/10)^2 = 12/11 * 2.4/100
    row = cell(read_values(built), "attitude_improved", "2024Q4")
    assert row["se"] == pytest.approx(100 * math.sqrt(12 / 11 * 2.4 / 100), rel=1e-12)
    # no population size declared: the deff's yardstick is sampling with replacement (R's
    # deff = "replace", s²/n with s² = 2.4/9), not R's default, infinite here (weights 1: N = n)
    assert row["deff"] == pytest.approx((12 / 11 * 2.4 / 100) / (2.4 / 9 / 10), rel=1e-12)


def test_changes_baseline_to_latest_with_independent_samples(built):
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        changes = con.execute("select * from indicator_changes where dimension = 'total'").df()
    finally:
        con.close()
    values = read_values(built)
    trust = changes.set_index("indicator_id").loc["trust_municipality_high"]
    assert (trust["baseline_period"], trust["latest_period"]) == ("2023Q1", "2024Q4")
    assert trust["change"] == pytest.approx(25.0)
    se1 = cell(values, "trust_municipality_high", "2023Q1")["se"]
    se2 = cell(values, "trust_municipality_high", "2024Q4")["se"]
    assert trust["se"] == pytest.approx(math.hypot(se1, se2))
    assert bool(trust["significant"]) == (abs(25.0 / math.hypot(se1, se2)) > 1.959963984540054)
    same = changes.set_index("indicator_id").loc["willing_contact"]
    assert same["change"] == pytest.approx(0.0) and not same["significant"]
    assert set(changes["indicator_id"]) == {
        "trust_municipality_high", "provider_trust_index", "views_considered_high",
        "dialogue_participation", "satisfied_social", "willing_contact", "trust_other_entity_mean"}


def test_each_dimension_is_one_design_call_for_all_its_domains(settings, monkeypatch):
    from pipeline.estimator import Design
    from pipeline.indicators import engine

    make_warehouse(settings)
    calls = []
    original = Design.cell_means

    def counting(self, spec, by=None, **kw):
        calls.append((len(spec), tuple(by)))
        return original(self, spec, by=by, **kw)

    monkeypatch.setattr(Design, "cell_means", counting)
    engine.build(settings.with_(min_cell=1))
    # 5 dimensions x (citizen survey, youth survey) and the citizen form's own urban_rural,
    # each call all waves and all indicators of the dimension
    assert len(calls) == 11
    assert (7, ("wave", "sex")) in calls and (1, ("wave", "muni_id")) in calls
    assert (1, ("wave", "dim:urban_rural")) in calls


def test_age_groups_are_the_bands_of_each_population(built, values):
    """One set of age bands per population (spsc.yml age_groups): the youth questionnaire's
    respondents (forms/spsc_youth_prepost.yml: population: youth) in the young people's bands,
    so result 1.2's breakdowns by age line up; the citizen survey's in the adults' (census)."""
    config = built.project.config
    ages = values[values["dimension"] == "age_group"]
    youth = set(ages.loc[ages["indicator_id"] == "attitude_improved", "dimension_value"])
    adults = set(ages.loc[ages["indicator_id"] == "trust_municipality_high", "dimension_value"])
    assert youth == set(config.age_groups["youth"]) == {"15-19", "20-24", "25-30"}
    assert adults == set(config.age_groups["adults"]) == {"18-29", "30-44", "45-64", "65+"}
    # y01, y04, y07 (aged 16): one improved of three
    assert cell(values, "attitude_improved", "2024Q4", "age_group", "15-19")["estimate"] == pytest.approx(100 / 3)


# ---------------------------------------------------------------- engine: suppression, atomicity
def test_default_threshold_publishes_no_small_cell(settings):
    from pipeline.indicators.engine import build

    make_warehouse(settings)
    summary = build(settings)
    assert summary.suppressed > 0
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        small = con.execute(
            "select count(*) from indicator_values where not suppressed and n < 10 and estimate <> 0").fetchall()[0][0]
        leaked = con.execute(
            "select count(*) from indicator_values where suppressed and"
            " (estimate is not null or se is not null or ci_low is not null or ci_high is not null)").fetchall()[0][0]
        published_n = con.execute(
            "select count(*) from indicator_values_published where suppressed and n is not null").fetchall()[0][0]
        trust = con.execute(
            "select estimate, suppressed from indicator_values where indicator_id = 'trust_municipality_high'"
            " and period = '2024Q4' and dimension_value in ('total', 'female') order by dimension").fetchall()
    finally:
        con.close()
    assert (small, leaked, published_n) == (0, 0, 0)
    assert trust[0] == (None, True)  # female: 6 respondents
    assert trust[1][0] == pytest.approx(56.25) and trust[1][1] is False  # total: 11


def test_complementary_suppression_in_a_build(settings):
    from pipeline.indicators.engine import build

    make_warehouse(settings)
    build(settings.with_(min_cell=3))
    values = read_values(settings)
    youth = values[(values["indicator_id"] == "unique_youth") & (values["period"] == "cumulative")]
    hidden = dict(zip(youth["dimension_value"], youth["suppressed"], strict=True))
    # male (2) is below 3, so female (4) goes too; RS (2) takes FBiH (4) with it
    assert hidden["male"] and hidden["female"] and hidden["RS"] and hidden["FBiH"]
    # age: 15-19 (2) and 25-30 (1) are two unknowns already, so 20-24 (3) stays
    assert not hidden["20-24"] and hidden["15-19"] and hidden["25-30"]
    assert not hidden["total"]


def test_a_failed_build_leaves_the_previous_marts(fresh, monkeypatch):
    from pipeline.indicators import engine, marts

    built = fresh
    before = read_values(built)
    monkeypatch.setattr(marts, "catalogue_rows", lambda cat: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError, match="disk full"):
        engine.build(built.with_(min_cell=5))
    after = read_values(built)
    assert len(after) == len(before) and after["suppressed"].sum() == before["suppressed"].sum()


def test_rebuild_replaces_rather_than_appends(fresh):
    from pipeline.indicators.engine import build

    built = fresh
    first = len(read_values(built))
    build(built)
    assert len(read_values(built)) == first


def test_missing_input_mart_is_a_clear_error(settings):
    from pipeline.errors import SpscError
    from pipeline.indicators.engine import build

    make_warehouse(settings)
    con = duckdb.connect(str(settings.db))
    con.execute("drop table cross_entity_ties")
    con.close()
    with pytest.raises(SpscError, match="table cross_entity_ties missing"):
        build(settings)


# ---------------------------------------------------------------- donor table
def test_status_rule():
    from pipeline.indicators.donor_table import assess

    # baseline 30, milestone 50: CI upper reaches 50 -> on track
    assert assess(30, 50, 45, 40, 51, increasing=True) == "on_track"
    # upper bound 39 < 30 + half of 20 = 40 -> off track
    assert assess(30, 50, 35, 31, 39, increasing=True) == "off_track"
    assert assess(30, 50, 40, 35, 45, increasing=True) == "at_risk"
    # counts have no CI: the count itself
    assert assess(0, 100, 49, None, None, increasing=True) == "off_track"
    assert assess(0, 100, 50, None, None, increasing=True) == "at_risk"
    assert assess(0, 100, 100, None, None, increasing=True) == "on_track"
    # a decrease is judged on the CI's lower bound
    assert assess(50, 30, 36, 29, 43, increasing=False) == "on_track"
    assert assess(50, 30, 48, 45, 51, increasing=False) == "off_track"
    assert assess(None, 30, 48, 45, 51, increasing=True) == "no_data"


def test_expected_value_follows_milestones_then_the_straight_line():
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.donor_table import expected_value

    cat = load_catalogue(_example())
    dialogues = cat.get("citizen_dialogues")  # 0 before 2023Q1, 9 at 2023Q4, 18 at 2024Q2, 27 at 2024Q4
    assert expected_value(dialogues, cat, 0.0, "2023Q4") == (9, False)
    assert expected_value(dialogues, cat, 0.0, "2024Q1") == (13.5, True)
    assert expected_value(dialogues, cat, 0.0, "2023Q2") == (pytest.approx(4.5), True)
    trust = cat.get("trust_municipality_high")  # computed baseline at 2023Q1, 40 at 2024Q1, 50 at 2024Q4
    assert expected_value(trust, cat, 30.0, "2024Q1") == (40, False)
    assert expected_value(trust, cat, 30.0, "2024Q4") == (50, False)


def test_donor_rows_for_the_endline(built):
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.donor_table import donor_rows

    con = duckdb.connect(str(built.db), read_only=True)
    try:
        table = donor_rows(con, load_catalogue(built.project), built, "2024Q4").set_index("indicator_id")
    finally:
        con.close()
    trust = table.loc["trust_municipality_high"]
    assert trust["baseline"] == pytest.approx(31.25) and trust["progress"] == pytest.approx(56.25)
    assert trust["milestone"] == 50 and trust["measured_in"] == "2024Q4"
    assert trust["status"] == "on_track"  # CI upper bound above 50
    # n people answered; the interval is svyciprop's logit on the design's 2 df
    assert (trust["n"], trust["ci_method"], trust["df"]) == (11, "logit", 2)
    assert table.loc["provider_trust_index", "ci_method"] == "t"
    youth = table.loc["unique_youth"]
    assert youth["progress"] == 6 and youth["measured_in"] == "2023Q1-2024Q2"
    assert youth["status"] == "off_track"  # 6 of 900 expected
    # 62.5 vs 75: the fixture's design has 2 df, so the logit interval on t(2) reaches 78.3
    # (a normal interval stopped at 70.7 and called it at risk)
    assert table.loc["willing_contact", "status"] == "on_track"
    assert table["reasons"].eq("").all()


def test_donor_rows_for_a_past_period_cut_attendance_there(built):
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.indicators.donor_table import donor_rows

    con = duckdb.connect(str(built.db), read_only=True)
    try:
        table = donor_rows(con, load_catalogue(built.project), built, "2024Q1").set_index("indicator_id")
    finally:
        con.close()
    assert table.loc["unique_youth", "progress"] == 5  # u1..u5 through 2024Q1
    assert table.loc["citizen_dialogues", "progress"] == 2  # EV-1, EV-2
    assert table.loc["citizen_dialogues", "milestone"] == 13.5  # between 9 (2023Q4) and 18 (2024Q2)
    assert table.loc["trust_municipality_high", "status"] == "baseline"
    assert np.isnan(table.loc["cross_entity_ties", "progress"])


def run_cli(args: list[str]) -> int:
    from pipeline.cli import main

    return main(args)


def test_cli_build_and_xlsx_donor_table(settings, tmp_path, capsys):
    import openpyxl

    make_warehouse(settings)
    assert run_cli(["--min-cell", "1", "build"]) == 0
    assert "indicator_values: " in capsys.readouterr().out
    out = tmp_path / "donor.xlsx"
    assert run_cli(["--min-cell", "1", "indicators", "--period", "2024Q4", "--format", "xlsx",
                    "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    sheet = book["Indicators 2024Q4"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Result / Rezultat", "Indicator (English) / Indikator (engleski)",
                          "Indicator (Bosnian) / Indikator (bosanski)", "Unit / Jedinica"]
    assert "Reasons for variance / Razlozi odstupanja" in header
    assert sheet.cell(2, header.index("n (people) / n (osoba)") + 1).value == 11
    assert sheet.cell(2, header.index("CI method / Metoda IP") + 1).value == "logit, 2 df"
    assert sheet.freeze_panes == "A2"
    assert sheet.cell(2, 2).value == "% of residents who trust the municipal administration"
    assert sheet.cell(2, 3).value == "% stanovnika koji imaju povjerenje u općinsku upravu"
    progress = sheet.cell(2, header.index("Current progress / Trenutni napredak") + 1)
    assert progress.value == pytest.approx(56.25) and progress.number_format == "0.0"
    assert sheet.cell(2, header.index("Status") + 1).value == "on track"
    assert sheet.column_dimensions["B"].width > 40 and sheet.cell(2, 2).alignment.wrap_text
    notes = " ".join(str(c.value) for c in book["Notes"]["A"] if c.value)
    assert "On track: best reaches the milestone" in notes and "Na dobrom putu" in notes
    assert "survey percentages use the logit interval" in notes and "logit interval" in notes


def test_cli_csv_in_bosnian_and_errors(settings, capsys):
    make_warehouse(settings)
    assert run_cli(["--min-cell", "1", "build"]) == 0
    capsys.readouterr()
    assert run_cli(["indicators", "--period", "2024Q4", "--format", "csv", "--lang", "bs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Rezultat,Indikator,Jedinica,Početna vrijednost")
    assert lines[1].startswith("1.1,% stanovnika koji imaju povjerenje u općinsku upravu,%,31.2,50.0,")
    assert ",na dobrom putu," in lines[1] and ",11,\"logit, 2 st. slobode\"," in lines[1]
    assert run_cli(["indicators", "--period", "2024-12", "--format", "csv"]) == 1
    assert "'2024-12' is not a period like 2024Q4" in capsys.readouterr().err
    assert run_cli(["indicators", "--period", "2024Q4", "--format", "pdf"]) == 1
    assert "unknown format 'pdf'" in capsys.readouterr().err


def test_indicators_before_any_build_says_what_to_do(warehouse, capsys):
    assert run_cli(["indicators", "--period", "2024Q4"]) == 1
    assert "run 'spsc build' first" in capsys.readouterr().err


def test_exports_neutralise_formulas(tmp_path):
    import openpyxl

    from pipeline.exports import neutralise, neutralise_frame
    from pipeline.indicators.donor_table import write_csv, write_xlsx

    assert [neutralise(v) for v in ("=1+1", "+3", "-2", "@SUM(A1)", "ok", -2.5, None)] == [
        "'=1+1", "'+3", "'-2", "'@SUM(A1)", "ok", -2.5, None]
    frame = neutralise_frame(pd.DataFrame({"a": ["=cmd|' /C calc'!A0", "fine"], "b": [-1.0, 2.0]}))
    assert frame["a"].tolist() == ["'=cmd|' /C calc'!A0", "fine"] and frame["b"].tolist() == [-1.0, 2.0]
    table = pd.DataFrame([{
        "result": "1.1", "indicator_id": "x", "label_en": "=HYPERLINK(\"http://x\")", "label_bs": "@evil",
        "unit": "count", "baseline": 0.0, "target": 10.0, "target_period": "2024Q4", "milestone": 5.0,
        "progress": -1.0, "ci_low": np.nan, "ci_high": np.nan, "measured_in": "2023Q1-2024Q4",
        "status": "off_track", "reasons": "", "notes": []}])
    text = write_csv(table, tmp_path / "t.csv", "en", 10)
    assert "'=HYPERLINK" in text and ",-1.0," in text
    write_xlsx(table, tmp_path / "t.xlsx", "2024Q4", "en", 10)
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert sheet.cell(2, 2).value == "'=HYPERLINK(\"http://x\")" and sheet.cell(2, 2).data_type == "s"
    assert sheet.cell(2, 3).value == "'@evil"


def test_unusable_design_is_a_clear_error(settings):
    from pipeline.errors import SpscError
    from pipeline.indicators.engine import build

    make_warehouse(settings, baseline=False, fpc={"livno": 10.0, "ribnik": 1.0})  # 2 PSUs sampled of 1
    with pytest.raises(SpscError, match="respondents: the survey design is not usable"):
        build(settings)
