"""Sample raw data with a known truth: the files ``spsc ingest`` reads, and ``truth.json``.

``generate`` writes the shapes of ``docs/raw_data.md`` into one folder: the citizen
perception survey (XLSForm and three Kobo exports), the youth pre/post questionnaire (XLSForm
and a Kobo export with a repeat sheet), the events list and the municipal sign-in sheets,
and ``truth.json`` with the values a correct pipeline must find and the dirt it must handle.
The same arguments give the same bytes: every random draw comes from a PCG64 stream seeded
from ``(seed, component)``, and no file carries the wall clock.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from pipeline.errors import SpscError

FORMATS = ("xlsx", "csv")
_STREAMS = {"events": 1, "people": 2, "participants": 3, "sign_in": 4, "events_file": 5,
            "sheets": 6, "frames": 10, "population": 11, "wave": 20, "youth": 30, "agency": 40,
            "cleaning": 50}


def _stream(seed: int, name: str, offset: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAMS[name] + offset])))


def generate(out: Path, *, seed: int = 20231, respondents: int = 400, dirty: float = 0.03,
             fmt: str = "xlsx") -> str:
    """Write the sample raw files into ``out`` and return a one-line summary.

    Args:
        out: folder to write (files a previous run listed in its ``truth.json`` are replaced).
        seed: random seed; the same arguments give byte-identical files.
        respondents: citizen survey respondents per municipality per wave (9 municipalities).
            Above about 500 the real populations are too small and the survey switches to a
            superpopulation model (for benchmarks: 111112 gives about 1M rows per wave).
        dirty: share of rows given realistic dirt (0 to 1; each kind of dirt gets its share of
            it, at least one row); 0 gives clean files.
        fmt: ``xlsx`` (Kobo XLSX exports) or ``csv`` (Kobo CSV exports of the citizen survey).
    """
    from pipeline.synth import attendance as att
    from pipeline.synth import citizen, kobo, youth
    from pipeline.synth.workbooks import workbook, write_csv, write_rows
    from pipeline.synth.xlsforms import citizen_form, write_xlsform, youth_form

    if fmt not in FORMATS:
        raise SpscError(f"unknown format {fmt!r}", "--format", "use xlsx or csv")
    if not 0 <= dirty <= 1:
        raise SpscError(f"dirty share {dirty} out of range", "--dirty", "use a share from 0 to 1")
    if respondents < 10:
        raise SpscError(f"{respondents} respondents per municipality is too few", "--respondents",
                        "use at least 10")
    started = time.perf_counter()
    out = Path(out)
    _remove_previous(out)
    written: list[str] = []

    events = att.plan_events(_stream(seed, "events"))
    people = att.make_people(_stream(seed, "people"))
    att.assign_participants(_stream(seed, "participants"), events, people)
    ledger, sign_in_dirt = att.sign_in_rows(_stream(seed, "sign_in"), events, people, dirty)
    events_dirt = att.write_events(out / "attendance" / "events.xlsx", _stream(seed, "events_file"), events, dirty)
    written.append("attendance/events.xlsx")
    written += [f"attendance/{f}" for f in att.write_attendance(out / "attendance", _stream(seed, "sheets"),
                                                                 events, ledger)]
    attendance_truth = att.compute_attendance_truth(events, people, ledger)

    citizen.check_texts()
    exposures = att.count_exposures(events, {w: citizen.FIELDWORK[w][0] for w in citizen.WAVES})
    scale = citizen.choose_population_scale(respondents)
    frames = citizen.build_frames(_stream(seed, "frames"), scale)
    populations = None
    if scale == 1:
        rng = _stream(seed, "population")
        # the population has exactly the adults by sex and age group the example calibrates to
        margins = citizen.adult_margins()
        populations = [citizen.draw_people(rng, fr, np.repeat(np.arange(len(fr.sizes)), fr.sizes),
                                           citizen.margin_counts(margins, fr.muni_id)) for fr in frames]
    form = citizen_form()
    write_xlsform(out / "survey" / "citizen_survey_form.xlsx", form)
    written.append("survey/citizen_survey_form.xlsx")
    headers, _ = form.export_headers()
    waves, survey_dirt_total, survey_rows = {}, {}, 0
    agency_truth = None
    for wi, wave in enumerate(citizen.WAVES):
        rng = _stream(seed, "wave", wi)
        sample = citizen.draw_wave(rng, wave, frames, exposures, respondents, populations)
        citizen.add_fieldwork(rng, sample.rows, wave)
        # the cleaning checks' cases come from their own stream: the rest of the sample is unchanged
        planted = citizen.plant_cleaning_cases(_stream(seed, "cleaning", wi), sample.rows)
        citizen.recompute_estimate(sample, frames)
        uuid_text = kobo.uuids(rng, len(sample.rows["muni"]))
        rows, counts = citizen.plant_dirt(rng, sample.rows, dirty)
        # a planted case whose municipality was misspelt is quarantined with its row: not a case
        lost = set(rows["uuid_row"][citizen.misspelt_rows(rows)].tolist())
        uuids = uuid_text.to_pylist()
        cleaning = {k: [([uuids[r] for r in v] if isinstance(v, list) else uuids[v]) for v in found
                        if not (set(v) if isinstance(v, list) else {v}) & lost]
                    for k, found in planted.items()}
        cols = citizen.export_columns(rows, frames, headers, uuid_text, kobo.version_uid(rng),
                                      first_id=200_000_000 + 10_000_000 * wi)
        skipped_as = citizen.SKIPPED_AS[wave]
        name = f"survey/citizen_survey_{wave}.{fmt}"
        if fmt == "csv":
            write_csv(out / name, citizen.export_table(cols, rows["consent"], skipped_as, as_text=True))
        else:
            columns = citizen.export_table(cols, rows["consent"], skipped_as, as_text=False)
            with workbook(out / name) as wb:
                ws = wb.add_worksheet(form.form_id[:31])
                write_rows(ws, [headers])
                write_rows(ws, zip(*columns, strict=True), 1)
        written.append(name)
        if wave == citizen.WAVES[-1] and scale == 1:
            # the last wave also as a survey agency delivers it (SPSS), with its mapping
            text = citizen.export_table(cols, rows["consent"], None, as_text=True)
            from pipeline.synth.agency import write_agency_sav

            agency_truth = write_agency_sav(out / "survey" / "agency", text, citizen.misspelt_rows(rows),
                                            _stream(seed, "agency"), wave)
            written += [agency_truth["file"], agency_truth["mapping"]]
        n_rows = len(rows["muni"])
        survey_rows += n_rows
        for k, v in counts.items():
            survey_dirt_total[k] = survey_dirt_total.get(k, 0) + v
        consented = int(sample.rows["consent"].sum())
        waves[wave] = {
            "file": name,
            "fieldwork": [d.isoformat() for d in citizen.FIELDWORK[wave]],
            "skipped_written_as": skipped_as or "blank",
            "rows": n_rows,
            "submissions": len(sample.rows["muni"]),
            "consented": consented,
            "refusals": len(sample.rows["muni"]) - consented,
            "design": sample.design,
            "truth": sample.truth if sample.truth is not None else sample.model,
            "model": sample.model,
            "sample_estimate": sample.estimate,
            "dirt": counts,
            "cleaning": cleaning,
        }
        del sample, rows, cols

    yform = youth_form()
    write_xlsform(out / "survey" / "youth_prepost_form.xlsx", yform)
    sheets, youth_truth, youth_dirt = youth.build(_stream(seed, "youth"), yform, events, people, ledger, dirty)
    with workbook(out / youth_truth["file"]) as wb:
        for sheet, rows_ in sheets.items():
            write_rows(wb.add_worksheet(sheet[:31]), rows_)
    written += ["survey/youth_prepost_form.xlsx", youth_truth["file"]]

    truth = _truth(seed, respondents, dirty, fmt, scale, written, waves, exposures, attendance_truth,
                   youth_truth, survey_dirt_total, sign_in_dirt, events_dirt, youth_dirt)
    if agency_truth is not None:
        truth["citizen_survey"]["agency_file"] = {**agency_truth, "wave": citizen.WAVES[-1]}
    (out / "truth.json").write_text(json.dumps(_rounded(truth), ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    seconds = time.perf_counter() - started
    sheets_files = sum(f.startswith("attendance/") and f != "attendance/events.xlsx" for f in written)
    return (f"3 survey waves, {survey_rows:,} rows ({fmt}); youth pre/post {youth_truth['rows_main_sheet']} rows; "
            f"{attendance_truth['events']} events, {attendance_truth['sign_in_person_rows']:,} sign-ins in "
            f"{sheets_files} sign-in files; dirt {dirty:.0%}; seed {seed}; {seconds:.1f} s")


def _remove_previous(out: Path) -> None:
    """Delete the files a previous run listed in its truth.json (and nothing else)."""
    truth = out / "truth.json"
    if not truth.exists():
        return
    try:
        files = json.loads(truth.read_text(encoding="utf-8")).get("files", [])
    except (ValueError, AttributeError) as exc:
        raise SpscError("cannot read the previous truth.json", str(truth), "remove the folder or choose another --out") from exc
    root = out.resolve()
    for rel in files:
        path = (out / rel).resolve()
        if root in path.parents and path.is_file():
            path.unlink()
    truth.unlink()


def _rounded(x):
    if isinstance(x, float):
        return round(x, 6)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_rounded(v) for v in x]
    return x


_DIRT_MEANING = {
    "municipality_cyrillic": "location/municipality holds the Cyrillic name (the normaliser resolves it)",
    "municipality_variant": "location/municipality holds a spelling the normaliser resolves "
        "(no diacritics, 'Grad Livno', 'Bos. Petrovac'...)",
    "municipality_misspelt": "location/municipality holds a misspelling the normaliser refuses "
        "(design/stratum still holds the id)",
    "age_out_of_range": "demographics/age outside 18-95",
    "choice_not_in_form": "demographics/education = 'vocational', not a choice of the form",
    "duplicate_submission": "an extra row repeating a submission: same _uuid and _submission_time",
    "edited_submission": "an extra row with the same _uuid and a later _submission_time; the "
        "earlier row differs in one trust answer; the later row is the right one",
    "blank_row": "an empty row between people in a sign-in sheet",
    "duplicate_signin": "the same person signed in twice to one event (identical row)",
    "birth_out_of_range": "year of birth implying an age below 10 or above 100 at the event: "
        "quarantine the row (it is not counted in the truth)",
    "birth_full_date": "'Godina rođenja' holds the full birth date (dd.mm.yyyy or dd.mm.yyyy.)",
    "birth_excel_serial": "'Godina rođenja' holds the birth date as an Excel serial number",
    "birth_as_age": "'Godina rođenja' holds the age at the event date",
    "name_variant": "a person's name spelled another way (no diacritics, surname first, other "
        "script): the same person, to be linked, not an error",
    "residence_variant": "place of residence spelled another way that the normaliser resolves",
    "event_date_iso": "events.xlsx date written as yyyy-mm-dd",
    "event_date_excel_serial": "events.xlsx date written as an Excel serial number",
    "event_municipality_cyrillic": "events.xlsx municipality names in Cyrillic",
    "event_municipality_variant": "events.xlsx municipality names in a resolvable variant spelling",
    "participant_code_variant": "a post participant_code in lower case or with spaces: upper-case and "
        "remove spaces to match it to the pre code",
}


def _truth(seed, respondents, dirty, fmt, scale, written, waves, exposures, attendance_truth,
           youth_truth, survey_dirt, sign_in_dirt, events_dirt, youth_dirt) -> dict:
    from pipeline.synth import citizen

    dirt = []
    for source, counts in (("survey", survey_dirt), ("attendance", sign_in_dirt), ("events", events_dirt),
                           ("youth", youth_dirt)):
        for kind, count in counts.items():
            meaning = _DIRT_MEANING[kind]
            if kind == "duplicate_submission" and source == "youth":
                meaning = "an extra row repeating a youth submission: same _uuid"
            dirt.append({"kind": kind, "where": source, "count": int(count), "meaning": meaning})
    name_variants = attendance_truth.pop("name_variants")
    return {
        "about": "Values planted by `spsc synth`. Survey truths are exact values over the (finite or model) "
                 "population, not sample estimates; attendance truths are what a correct pipeline counts from "
                 "the files. Numbers are rounded to 6 decimals.",
        "generator": {"seed": seed, "respondents_per_municipality_per_wave": respondents, "dirty": dirty,
                      "format": fmt},
        "files": sorted(written),
        "citizen_survey": {
            "mode": "finite_population" if scale == 1 else "superpopulation",
            "population_scale": scale,
            "meaning": {
                "truth": "the indicator over all adults of the population: in finite_population mode the exact "
                         "value over the generated adults; in superpopulation mode (large runs) the model's "
                         "expectation. 'total' pools the nine municipalities (weighted by adults).",
                "model": "the model's exact expectation (equal to truth in superpopulation mode)",
                "sample_estimate": "the design-weighted (Hajek) estimate from the consented submissions of the "
                                   "file, one per _uuid (the latest), dirty cells included: a pipeline that "
                                   "keeps every consented respondent must reproduce it exactly",
                "design": "per municipality (stratum): settlements in the frame (= design/fpc), settlements "
                          "sampled, of which with certainty, consented respondents, refusals (consent = no), "
                          "adults in the population (x population_scale)",
                "planted_effects": "shift of the latent scale per activity held in the municipality before "
                                   "the wave's fieldwork (exposures); probit effects move a standard-normal index",
            },
            "indicator_definitions": citizen.INDICATORS,
            "planted_effects": {"per_activity": citizen.EFFECTS, "drift_all_municipalities": citizen.DRIFT,
                                "exposures": exposures},
            "waves": waves,
        },
        "youth_prepost": youth_truth,
        "attendance": {
            "files": "attendance/events.xlsx and attendance/<muni_id>_<YYYYQn>.xlsx",
            "definitions": {
                "valid sign-in": "a person row that is not quarantinable (implied age at the event 10-100); "
                                 "blank rows are not rows; duplicate sign-ins of one person to one event count once",
                "person": "spellings of one name (script, diacritics, word order) with a year of birth within "
                          "one year of each other are one person; no two different people share a folded name",
                "young": "aged 15-30 at the event date; the files never make this depend on whether the age is "
                         "taken from the year, the full date or the stated age",
                "youth event": "youth_exchange, youth_camp or critical_thinking_club",
                "inter_entity_share": "youth events with >= 2 valid participants residing in FBiH and >= 2 in "
                                      "RS, over all youth events (the same with all participants or only the young)",
                "young_with_at_least_3_activities": "young people with >= 3 distinct events at which they were young",
                "cross_entity_ties": "distinct pairs of young people residing in different entities who were "
                                     "both young at one same event (any event type); by municipality pair and "
                                     "by quarter of the event (pairs may recur across quarters)",
                "citizen_dialogue_attendances_by_sex": "person-event pairs at citizen dialogues, by sex",
            },
            **attendance_truth,
        },
        "name_variants": {
            "meaning": "distinct spellings per person among valid sign-ins; 'extra_spellings' = sum over people "
                       "of (spellings - 1): pairs a correct pipeline links",
            **name_variants,
        },
        "dirt": dirt,
    }
