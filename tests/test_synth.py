"""Tests for pipeline.synth: shapes of the sample raw files, determinism, and that truth.json
says what a correct pipeline finds in the files (recounted here from the files themselves)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pipeline.errors import SpscError
from pipeline.reference import entity_of
from pipeline.reference.names import normaliser
from pipeline.synth import generate
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.citizen import MISSPELT, spell_municipalities
from pipeline.synth.names import name_key
from pipeline.synth.xlsforms import TRUST_ITEMS, citizen_form, youth_form

WAVES = ("2023Q1", "2024Q1", "2024Q4")
SMALL = {"seed": 7, "respondents": 30, "dirty": 0.03}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(out, seed=7, respondents=30, dirty=0.0)
    return out


def _truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def _wave(folder: Path, wave: str, engine: str = "calamine") -> pd.DataFrame:
    return pd.read_excel(folder / "survey" / f"citizen_survey_{wave}.xlsx", engine=engine, dtype=str,
                         keep_default_na=False)


# --- determinism and layout ---------------------------------------------------------------

def test_same_arguments_give_identical_bytes(sample, tmp_path):
    generate(tmp_path, **SMALL)
    files = sorted(p.relative_to(sample) for p in sample.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) > 20
    for rel in files:
        assert (sample / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_files_follow_the_documented_layout(sample):
    truth = _truth(sample)
    on_disk = sorted(str(p.relative_to(sample)) for p in sample.rglob("*") if p.is_file() and p.name != "truth.json")
    assert truth["files"] == on_disk
    for name in ("survey/citizen_survey_form.xlsx", "survey/youth_prepost_form.xlsx",
                 "survey/youth_prepost_2024Q4.xlsx", "attendance/events.xlsx",
                 *(f"survey/citizen_survey_{w}.xlsx" for w in WAVES)):
        assert name in on_disk
    sheets = [f for f in on_disk if f.startswith("attendance/") and f != "attendance/events.xlsx"]
    pattern = re.compile(r"attendance/(\w+)_(2023|2024)Q[1-4]\.xlsx$")
    assert all(pattern.match(f) and pattern.match(f).group(1) in PROJECT_MUNICIPALITIES for f in sheets)


def test_regenerating_replaces_the_previous_run(tmp_path):
    generate(tmp_path, seed=3, respondents=10, dirty=0.0)
    (tmp_path / "notes.txt").write_text("mine")
    generate(tmp_path, seed=3, respondents=10, dirty=0.0, fmt="csv")
    assert not list((tmp_path / "survey").glob("citizen_survey_20*.xlsx"))
    assert len(list((tmp_path / "survey").glob("citizen_survey_20*.csv"))) == 3
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("kwargs", [{"fmt": "sav"}, {"dirty": 1.5}, {"dirty": -0.1}, {"respondents": 3}])
def test_bad_arguments_are_refused_in_one_line(tmp_path, kwargs):
    with pytest.raises(SpscError) as err:
        generate(tmp_path, **kwargs)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_cli_synth_writes_the_sample(sample, tmp_path, capsys):
    from pipeline.cli import main

    code = main(["synth", "--out", str(tmp_path), "--respondents", "10", "--dirty", "0", "--seed", "5"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "sample data written to" in printed and "seed 5" in printed
    assert _truth(tmp_path)["generator"] == {"seed": 5, "respondents_per_municipality_per_wave": 10,
                                             "dirty": 0.0, "format": "xlsx"}
    assert not set(_wave(tmp_path, "2023Q1")["_uuid"]) & set(_wave(sample, "2023Q1")["_uuid"])  # other seed


# --- the XLSForms -------------------------------------------------------------------------

@pytest.mark.parametrize("name,form", [("citizen_survey_form", citizen_form()), ("youth_prepost_form", youth_form())])
def test_xlsforms_parse_with_pyxform(sample, name, form):
    from pyxform.xls2xform import convert

    path = sample / "survey" / f"{name}.xlsx"
    assert openpyxl.load_workbook(path).sheetnames == ["survey", "choices", "settings"]
    warnings: list[str] = []
    xform = convert(str(path), warnings=warnings).xform
    assert warnings == []
    assert f'id="{form.form_id}"' in xform and 'lang="Bosanski (bs)"' in xform
    settings = pd.read_excel(path, engine="calamine", sheet_name="settings", dtype=str).iloc[0].to_dict()
    assert settings["form_id"] == form.form_id and settings["default_language"] == "English (en)"
    survey = pd.read_excel(path, engine="calamine", sheet_name="survey", dtype=str)
    assert {"label::English (en)", "label::Bosanski (bs)", "constraint", "calculation"} <= set(survey.columns)
    if name == "citizen_survey_form":
        assert "<repeat" not in xform
        assert 'constraint=". &gt;= 0 and . &lt;= 10"' in xform
        assert (survey["type"] == "begin_group").sum() == (survey["type"] == "end_group").sum() == 7
        assert "select_multiple contact" in set(survey["type"])
        calculated = set(survey.loc[survey["type"] == "calculate", "name"])
        assert calculated == {"stratum", "psu", "weight", "fpc", "fpc2"}
    else:
        assert '<repeat nodeset="/data/previous_activities"' in xform


# --- the citizen survey exports ------------------------------------------------------------

def test_survey_exports_have_kobo_headers_and_load_with_both_readers(sample):
    headers, _ = citizen_form().export_headers()
    for wave in WAVES:
        a, b = _wave(sample, wave, "calamine"), _wave(sample, wave, "openpyxl")
        assert list(a.columns) == list(b.columns) == headers
        assert a.shape == b.shape == (_truth(sample)["citizen_survey"]["waves"][wave]["rows"], len(headers))
    assert {"location/municipality", "trust/trust_mental_health", "cohesion/contact_willing/in_law",
            "design/weight", "meta/instanceID", "_uuid", "_submission_time", "_index",
            "_validation_status"} <= set(headers)
    assert openpyxl.load_workbook(sample / "survey" / "citizen_survey_2023Q1.xlsx").sheetnames == ["spsc_citizen_survey"]


def test_select_multiple_columns_agree_with_the_choice_text(sample):
    df = _wave(sample, "2024Q4")
    yes = df[df["consent"] == "yes"]
    for choice in ("neighbour", "colleague", "friend", "in_law", "none"):
        chosen = yes["cohesion/contact_willing"].str.split(" ").map(lambda xs, c=choice: c in xs)
        assert (yes[f"cohesion/contact_willing/{choice}"] == chosen.map({True: "1", False: "0"})).all()
    both = yes["cohesion/contact_willing"].str.contains("none") & (yes["cohesion/contact_willing"] != "none")
    assert not both.any()


def test_skipped_answers_are_na_in_some_waves_and_blank_in_others(sample):
    for wave, fill in (("2023Q1", "n/a"), ("2024Q1", ""), ("2024Q4", "n/a")):
        df = _wave(sample, wave)
        refused = df[df["consent"] == "no"]
        assert len(refused) == _truth(sample)["citizen_survey"]["waves"][wave]["refusals"] > 0
        gated = [c for c in df.columns if c.startswith(("demographics/", "trust/", "cohesion/", "contact/"))]
        assert (refused[gated] == fill).all().all()
        assert (refused["design/stratum"] != "").all() and (refused["location/settlement"] != "").all()


def test_design_columns_describe_a_stratified_cluster_sample(sample):
    truth = _truth(sample)["citizen_survey"]["waves"]["2024Q1"]
    df = _wave(sample, "2024Q1").drop_duplicates("_uuid", keep="last")
    for muni, design in truth["design"].items():
        rows = df[df["design/stratum"] == muni]
        assert set(rows["design/fpc"]) == {str(design["settlements"])}
        assert rows["design/psu"].nunique() == design["settlements_sampled"]
        assert (rows["consent"] == "yes").sum() == design["respondents"]
        assert (rows.groupby("design/psu")["design/weight"].nunique() == 1).all()
        # second stage: the adults of the settlement, constant within it, never fewer than the
        # interviews there; they add up to the municipality's adults over all its settlements
        adults = rows.groupby("design/psu")["design/fpc2"].agg(["nunique", "first", "size"])
        assert (adults["nunique"] == 1).all()
        assert (adults["first"].astype(int) >= adults["size"]).all()
        assert adults["first"].astype(int).sum() <= design["population_adults"]
        weights = rows["design/weight"].astype(float)
        assert weights.min() >= 1
        # inverse inclusion probabilities add up to about the adult population
        assert abs(weights[rows["consent"] == "yes"].sum() / design["population_adults"] - 1) < 0.35


def test_sample_estimate_in_truth_is_reproducible_from_the_file(sample):
    for wave in WAVES:
        df = _wave(sample, wave)
        df = df.sort_values("_submission_time", kind="stable").drop_duplicates("_uuid", keep="last")
        df = df[df["consent"] == "yes"]
        w = df["design/weight"].astype(float)
        high = (df["trust/trust_municipality"].astype(int) >= 6).astype(float)
        providers = df[[f"trust/{k}" for k in TRUST_ITEMS[1:]]].astype(int).mean(axis=1)
        est = _truth(sample)["citizen_survey"]["waves"][wave]["sample_estimate"]["total"]
        assert round(float(np.average(high, weights=w)), 6) == pytest.approx(est["trust_municipality_high"], abs=2e-6)
        assert round(float(np.average(providers, weights=w)), 6) == pytest.approx(est["provider_trust_index"], abs=2e-6)


def test_planted_survey_dirt_is_what_the_files_hold(sample):
    truth = _truth(sample)["citizen_survey"]["waves"]
    resolve = normaliser().try_resolve
    choices = set(citizen_form().choice_names("education"))
    for wave in WAVES:
        dirt = truth[wave]["dirt"]
        df = _wave(sample, wave)
        assert all(v >= 1 for v in dirt.values())
        repeated = df[df["_uuid"].duplicated(keep=False)]
        assert df["_uuid"].duplicated().sum() == dirt["duplicate_submission"] + dirt["edited_submission"]
        groups = [g for _, g in repeated.groupby("_uuid")]
        edited = [g for g in groups if g["_submission_time"].nunique() == 2]
        assert len(edited) == dirt["edited_submission"]
        for g in edited:
            differs = [k for k in TRUST_ITEMS if g[f"trust/{k}"].nunique() == 2]
            assert len(differs) == 1
        assert sum(g["_submission_time"].nunique() == 1 for g in groups) == dirt["duplicate_submission"]
        firsts = df.drop_duplicates("_uuid")
        typed = firsts[~firsts["location/municipality"].isin(PROJECT_MUNICIPALITIES)]
        resolved = typed["location/municipality"].map(lambda t: resolve(t)[0])
        assert (resolved.dropna() == typed.loc[resolved.notna(), "design/stratum"]).all()
        assert resolved.isna().sum() == dirt["municipality_misspelt"]
        cyrillic = typed["location/municipality"].str.contains("[А-Яа-яЂ-џ]")
        assert cyrillic.sum() == dirt["municipality_cyrillic"]
        assert len(typed) - cyrillic.sum() - resolved.isna().sum() == dirt["municipality_variant"]
        yes = firsts[firsts["consent"] == "yes"]
        ages = yes["demographics/age"].astype(int)
        assert (~ages.between(18, 95)).sum() == dirt["age_out_of_range"]
        assert (~yes["demographics/education"].isin(choices)).sum() == dirt["choice_not_in_form"]
        assert set(yes["demographics/education"]) - choices == {"vocational"}


def test_planted_spellings_resolve_or_are_refused():
    resolve = normaliser().try_resolve
    texts = spell_municipalities()
    for i, muni in enumerate(PROJECT_MUNICIPALITIES):
        assert texts[i] == muni
        cyr, variant, misspelt = texts[9 + 3 * i: 12 + 3 * i]
        assert resolve(cyr)[0] == muni and resolve(variant)[0] == muni
        assert misspelt == MISSPELT[muni] and resolve(misspelt)[0] is None


def test_dirty_zero_gives_clean_files(clean):
    truth = _truth(clean)
    assert all(d["count"] == 0 for d in truth["dirt"])
    choices = set(citizen_form().choice_names("education"))
    for wave in WAVES:
        df = _wave(clean, wave)
        assert not df["_uuid"].duplicated().any()
        assert df["location/municipality"].isin(PROJECT_MUNICIPALITIES).all()
        yes = df[df["consent"] == "yes"]
        assert yes["demographics/age"].astype(int).between(18, 95).all()
        assert yes["demographics/education"].isin(choices).all()
    events = pd.read_excel(clean / "attendance" / "events.xlsx", engine="calamine", dtype=str)
    assert events["date"].str.fullmatch(r"\d\d\.\d\d\.\d{4}").all()
    assert all(normaliser().try_resolve(n.strip())[0] for cell in events["municipality"] for n in cell.split(";"))
    sheets = _read_sign_ins(clean)
    assert sheets["blank_rows"] == 0
    assert all(isinstance(r["birth"], int) and 1940 < r["birth"] < 2012 for r in sheets["rows"])
    youth = pd.read_excel(clean / "survey" / "youth_prepost_2024Q4.xlsx", engine="calamine", dtype=str)
    assert not youth["_uuid"].duplicated().any()
    assert youth["participant_code"].str.fullmatch(r"[A-Z]{2}\d\d[A-Z]{2}").all()


def test_csv_format_writes_the_same_submissions_as_kobo_csv(sample, tmp_path):
    generate(tmp_path, **SMALL, fmt="csv")
    raw = (tmp_path / "survey" / "citizen_survey_2023Q1.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf\"start\",\"end\",\"today\"")
    csv = pd.read_csv(tmp_path / "survey" / "citizen_survey_2023Q1.csv", dtype=str, keep_default_na=False,
                      encoding="utf-8-sig")
    xlsx = _wave(sample, "2023Q1")
    assert list(csv.columns) == list(xlsx.columns)
    for col in ("_uuid", "location/municipality", "trust/trust_csw", "cohesion/contact_willing", "design/weight"):
        assert csv[col].tolist() == xlsx[col].tolist(), col
    assert (tmp_path / "attendance" / "events.xlsx").read_bytes() == (sample / "attendance" / "events.xlsx").read_bytes()


# --- the truth of the citizen survey ------------------------------------------------------

def test_truth_json_has_every_indicator_by_wave_and_municipality(sample):
    truth = _truth(sample)
    cs = truth["citizen_survey"]
    assert cs["mode"] == "finite_population" and cs["population_scale"] == 1
    indicators = set(cs["indicator_definitions"])
    assert indicators == {"trust_municipality_high", "provider_trust_index", "views_considered_high",
                          "dialogue_participation", "satisfied_social", "willing_contact",
                          "trust_other_entity_mean"}
    for wave in WAVES:
        for part in ("truth", "model", "sample_estimate"):
            block = cs["waves"][wave][part]
            assert set(block["total"]) == indicators
            assert list(block["by_municipality"]) == list(PROJECT_MUNICIPALITIES)
    for key in ("about", "generator", "files", "youth_prepost", "attendance", "name_variants", "dirt"):
        assert key in truth
    assert {d["kind"] for d in truth["dirt"]} >= {"duplicate_submission", "edited_submission", "blank_row",
                                                  "name_variant", "event_date_excel_serial", "age_out_of_range"}
    assert all(d["meaning"] for d in truth["dirt"])


def test_finite_population_truth_is_close_to_the_model(sample):
    for wave in WAVES:
        block = _truth(sample)["citizen_survey"]["waves"][wave]
        for k, v in block["truth"]["total"].items():
            tolerance = 0.1 if k in ("provider_trust_index", "trust_other_entity_mean") else 0.02
            assert v == pytest.approx(block["model"]["total"][k], abs=tolerance), (wave, k)


def test_trust_rises_more_where_dialogues_were_held(sample):
    cs = _truth(sample)["citizen_survey"]
    base = cs["waves"]["2023Q1"]["truth"]["by_municipality"]
    end = cs["waves"]["2024Q4"]["truth"]["by_municipality"]
    exposures = cs["planted_effects"]["exposures"]
    change = {m: end[m]["trust_municipality_high"] - base[m]["trust_municipality_high"] for m in base}
    held = [change[m] for m in change if exposures[m]["2024Q4"]["dialogues"] > 0]
    none = [change[m] for m in change if exposures[m]["2024Q4"]["dialogues"] == 0]
    assert held and none
    assert min(held) > max(none)


def test_large_runs_switch_to_the_superpopulation_model(tmp_path):
    summary = generate(tmp_path, seed=2, respondents=600, dirty=0.0, fmt="csv")
    assert "csv" in summary
    cs = _truth(tmp_path)["citizen_survey"]
    assert cs["mode"] == "superpopulation" and cs["population_scale"] == 2
    wave = cs["waves"]["2024Q4"]
    assert wave["truth"] == wave["model"]
    assert wave["sample_estimate"]["total"]["willing_contact"] == pytest.approx(wave["truth"]["total"]["willing_contact"], abs=0.03)
    df = pd.read_csv(tmp_path / "survey" / "citizen_survey_2024Q4.csv", dtype=str, keep_default_na=False,
                     encoding="utf-8-sig")
    assert len(df) == wave["rows"] and (df["consent"] == "yes").sum() == 9 * 600


# --- attendance: recount the truth from the files -----------------------------------------

_HEADER_FIRST = {"R.br.", "Р.бр.", "No."}
_COLUMN = {"Ime i prezime": "name", "Име и презиме": "name", "Name": "name",
           "Godina rođenja": "birth", "Година рођења": "birth", "Year of birth": "birth",
           "Spol": "sex", "Pol": "sex", "Пол": "sex", "Sex": "sex",
           "Mjesto prebivališta": "residence", "Mjesto stanovanja": "residence",
           "Мјесто пребивалишта": "residence", "Place of residence": "residence", "ID događaja": "event_id"}
_MALE = {"m", "м", "muško", "мушко", "male"}


def _read_sign_ins(folder: Path) -> dict:
    rows, blank, headers = [], 0, []
    for path in sorted((folder / "attendance").glob("*_20*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            values = list(ws.iter_rows(values_only=True))
            start = next(i for i, r in enumerate(values) if r and r[0] in _HEADER_FIRST)
            header = values[start]
            headers.append((path.stem, ws.title, header))
            for r in values[start + 1:]:
                if all(v is None for v in r):
                    blank += 1
                    continue
                rec = {_COLUMN[h]: v for h, v in zip(header, r, strict=False) if h in _COLUMN}
                rec.setdefault("event_id", ws.title)
                rows.append(rec)
        wb.close()
    return {"rows": rows, "blank_rows": blank, "headers": headers}


def _event_dates(folder: Path) -> dict[str, tuple[date, list[str]]]:
    ws = openpyxl.load_workbook(folder / "attendance" / "events.xlsx").active
    out = {}
    for eid, when, munis, kind, *_ in list(ws.iter_rows(values_only=True))[1:]:
        if isinstance(when, int | float):
            day = date(1899, 12, 30) + timedelta(days=int(when))
        elif re.fullmatch(r"\d{4}-\d\d-\d\d", when):
            day = date.fromisoformat(when)
        else:
            day = datetime.strptime(when, "%d.%m.%Y").date()
        out[eid] = (day, kind, [normaliser().resolve(m.strip()) for m in munis.split(";")])
    return out


def _age(birth, on: date) -> int:
    if isinstance(birth, str):
        d = datetime.strptime(birth.rstrip("."), "%d.%m.%Y").date()
        return on.year - d.year - ((on.month, on.day) < (d.month, d.day))
    if birth > 3000:
        d = date(1899, 12, 30) + timedelta(days=int(birth))
        return on.year - d.year - ((on.month, on.day) < (d.month, d.day))
    return int(birth) if birth < 200 else on.year - int(birth)


def test_attendance_truth_matches_a_recount_of_the_files(sample):
    truth = _truth(sample)
    att = truth["attendance"]
    events = _event_dates(sample)
    read = _read_sign_ins(sample)
    assert len(events) == att["events"]
    assert read["blank_rows"] == att["sign_in_blank_rows"]
    seen, attendance, sex, entity, quarantined, duplicates, spellings = set(), {}, {}, {}, 0, 0, {}
    for r in read["rows"]:
        on = events[r["event_id"]][0]
        age = _age(r["birth"], on)
        if not 10 <= age <= 100:
            quarantined += 1
            continue
        key = name_key(r["name"])
        if (r["event_id"], key) in seen:
            duplicates += 1
            continue
        seen.add((r["event_id"], key))
        attendance.setdefault(r["event_id"], []).append((key, 15 <= age <= 30))
        sex[key] = "male" if str(r["sex"]).lower() in _MALE else "female"
        entity[key] = entity_of(normaliser().resolve(r["residence"]))
        spellings.setdefault(key, set()).add(r["name"])
    assert quarantined == att["sign_in_quarantinable_rows"] > 0
    assert duplicates == att["sign_in_duplicate_rows"] > 0
    young = {k for parts in attendance.values() for k, y in parts if y}
    assert {"female": sum(sex[k] == "female" for k in young), "male": sum(sex[k] == "male" for k in young)} \
        == att["unique_young_participants_by_sex"]
    dialogue = [k for e, parts in attendance.items() if events[e][1] == "citizen_dialogue" for k, _ in parts]
    assert sum(sex[k] == "female" for k in dialogue) == att["citizen_dialogue_attendances_by_sex"]["female"]
    youth_events = [e for e, v in events.items() if v[1] in ("youth_exchange", "youth_camp", "critical_thinking_club")]
    inter = [e for e in youth_events
             if sum(entity[k] == "FBiH" for k, _ in attendance.get(e, [])) >= 2
             and sum(entity[k] == "RS" for k, _ in attendance.get(e, [])) >= 2]
    assert len(youth_events) == att["youth_events"] and len(inter) == att["inter_entity_youth_events"] > 0
    assert inter == att["inter_entity_event_ids"]
    per_person = {}
    for _e, parts in attendance.items():
        for k, y in parts:
            if y:
                per_person[k] = per_person.get(k, 0) + 1
    assert sum(n >= 3 for n in per_person.values()) == att["young_with_at_least_3_activities"]
    ties = set()
    for parts in attendance.values():
        ys = sorted(k for k, y in parts if y)
        ties |= {(a, b) for a, b in itertools.combinations(ys, 2) if entity[a] != entity[b]}
    assert len(ties) == att["cross_entity_ties"] > 0
    assert sum(len(v) - 1 for v in spellings.values()) == truth["name_variants"]["extra_spellings"] > 0


def test_sign_in_sheets_are_kept_in_local_languages(sample):
    headers = _read_sign_ins(sample)["headers"]
    rs = [h for f, _, h in headers if f.startswith(("ribnik", "mrkonjic_grad"))]
    assert any("Име и презиме" in h for h in rs) and any("Ime i prezime" in h for h in rs)
    assert all(h[3] == "Spol" for f, _, h in headers if f.startswith(("kljuc", "sanski_most")) and h[0] == "R.br.")
    livno = [h for f, _, h in headers if f.startswith("livno")]
    assert livno and all(h[1] == "ID događaja" for h in livno)
    names = [r["name"] for r in _read_sign_ins(sample)["rows"]]
    assert any(re.search("[А-Яа-я]", n) for n in names)
    ws = openpyxl.load_workbook(next((sample / "attendance").glob("ribnik_*.xlsx"))).worksheets[0]
    assert re.fullmatch(r"EV-\d{4}", ws.title)
    events = pd.read_excel(sample / "attendance" / "events.xlsx", engine="calamine", dtype=str)
    assert list(events.columns) == ["event_id", "date", "municipality", "event_type", "organiser", "title"]
    assert events["municipality"].str.contains(";").any()


# --- youth pre/post -------------------------------------------------------------------------

def test_youth_export_has_a_linked_repeat_sheet_and_the_planted_improvement(sample):
    path = sample / "survey" / "youth_prepost_2024Q4.xlsx"
    sheets = pd.read_excel(path, engine="calamine", sheet_name=None, dtype=str, keep_default_na=False)
    assert list(sheets) == ["spsc_youth_prepost", "previous_activities"]
    main, rep = sheets["spsc_youth_prepost"], sheets["previous_activities"]
    headers, repeats = youth_form().export_headers()
    assert list(main.columns) == headers and list(rep.columns) == repeats["previous_activities"]
    parents = main.set_index("_index")
    assert (rep["_parent_table_name"] == "spsc_youth_prepost").all()
    assert (parents.loc[rep["_parent_index"], "phase"] == "pre").all()
    assert (parents.loc[rep["_parent_index"], "_uuid"].to_numpy() == rep["_submission__uuid"].to_numpy()).all()
    truth = _truth(sample)["youth_prepost"]
    unique = main.drop_duplicates("_uuid")
    assert len(unique) == truth["submissions"] and len(main) == truth["rows_main_sheet"]
    unique = unique.assign(code=unique["participant_code"].str.upper().str.replace(" ", ""),
                           score=unique[[f"attitudes/att_{i}" for i in range(1, 5)]].astype(int).mean(axis=1))
    pre = unique[unique["phase"] == "pre"].set_index("code")["score"]
    post = unique[unique["phase"] == "post"].set_index("code")["score"]
    matched = pre.index.intersection(post.index)
    assert len(matched) == truth["participants_matched"]
    assert int((post[matched] > pre[matched]).sum()) == truth["participants_improved"]
    assert truth["share_improved"] == pytest.approx(0.6, abs=0.01)


@pytest.mark.slow
def test_a_large_csv_run_stays_consistent(tmp_path):
    """A benchmark-style run (270k rows per wave) in superpopulation mode."""
    generate(tmp_path, seed=1, respondents=30_000, dirty=0.03, fmt="csv")
    cs = _truth(tmp_path)["citizen_survey"]
    wave = cs["waves"]["2023Q1"]
    assert cs["mode"] == "superpopulation" and wave["consented"] == 9 * 30_000
    df = pd.read_csv(tmp_path / "survey" / "citizen_survey_2023Q1.csv", dtype=str, keep_default_na=False,
                     encoding="utf-8-sig", usecols=["_uuid", "consent", "trust/trust_municipality", "design/weight"])
    assert len(df) == wave["rows"]
    assert df["_uuid"].duplicated().sum() == wave["dirt"]["duplicate_submission"] + wave["dirt"]["edited_submission"]
    yes = df[df["consent"] == "yes"].drop_duplicates("_uuid", keep="last")
    high = (yes["trust/trust_municipality"].astype(int) >= 6).astype(float)
    assert np.average(high, weights=yes["design/weight"].astype(float)) == pytest.approx(
        wave["truth"]["total"]["trust_municipality_high"], abs=0.01)
