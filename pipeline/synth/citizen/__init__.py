"""Citizen perception survey: frame, population, two-stage sample, answers, dirt, export.

Grain: a ``Frame`` per municipality (its settlements, their adult populations and
effects); a ``Sample`` per wave (one row per contacted adult, refusals included, before and
after dirt); the export has one row per Kobo submission.

Design: stratified by municipality; in each stratum, settlements (PSUs) are drawn by
systematic PPS (settlements too big for PPS are taken with certainty), then a fixed number of
adults by simple random sampling in each drawn settlement. The design weight is the inverse
of the inclusion probability, ``fpc`` the number of settlements in the stratum and ``fpc2``
the adults of the settlement (the second stage's population).

Answers come from one model with a person latent (``g``: trust in institutions, ``c``:
openness to the other entity), settlement and municipality effects, sex/age/displacement
shifts and the planted effect of project activities (citizen dialogues raise trust in the
municipality and the sense of being heard, trainings raise trust in providers, inter-entity
youth events raise trust in the other entity). For default sizes a finite population is
built and the truth is its exact value; for large runs (a sample too large for the real
population) respondents are drawn from the model and the truth is the model's exact
expectation (``superpopulation`` mode).

Modules: ``population`` (frames, people and adult margins), ``answers`` (the answer model,
the indicators and their expected values), ``sample`` (PSUs, allocation, a wave's sample and
its fieldwork), ``export`` (misspellings, dirt and the Kobo export) and ``cleaning`` (the
cases planted for the cleaning log).
"""

from pipeline.synth.citizen.answers import (
    DRIFT,
    EFFECTS,
    INDICATORS,
    draw_answers,
    expect_indicators,
    score_indicators,
)
from pipeline.synth.citizen.cleaning import (
    CLEANING_PLANTS,
    SHORT_MINUTES,
    plant_cleaning_cases,
    recompute_estimate,
)
from pipeline.synth.citizen.export import (
    MISSPELT,
    NOT_IN_FORM_EDUCATION,
    OUT_OF_RANGE_AGES,
    SURVEY_DIRT,
    check_texts,
    export_columns,
    export_table,
    misspelt_rows,
    plant_dirt,
    spell_municipalities,
)
from pipeline.synth.citizen.population import (
    ADULT_SHARE,
    AGE_GROUPS,
    DISPLACEMENT_P,
    MAX_SAMPLING_FRACTION,
    Frame,
    adult_margins,
    build_frames,
    choose_population_scale,
    draw_people,
    margin_counts,
)
from pipeline.synth.citizen.sample import (
    CLUSTER_TAKE,
    FIELDWORK,
    REFUSAL_RATE,
    SKIPPED_AS,
    WAVES,
    Sample,
    add_fieldwork,
    allocate,
    draw_wave,
    select_psus,
)

__all__ = ["ADULT_SHARE", "AGE_GROUPS", "CLEANING_PLANTS", "CLUSTER_TAKE", "DISPLACEMENT_P",
           "DRIFT", "EFFECTS", "FIELDWORK", "INDICATORS", "MAX_SAMPLING_FRACTION", "MISSPELT",
           "NOT_IN_FORM_EDUCATION", "OUT_OF_RANGE_AGES", "REFUSAL_RATE", "SHORT_MINUTES",
           "SKIPPED_AS", "SURVEY_DIRT", "WAVES", "Frame", "Sample", "add_fieldwork",
           "adult_margins", "allocate", "build_frames", "check_texts", "choose_population_scale",
           "draw_answers", "draw_people", "draw_wave", "expect_indicators", "export_columns",
           "export_table", "margin_counts", "misspelt_rows", "plant_cleaning_cases", "plant_dirt",
           "recompute_estimate", "score_indicators", "select_psus", "spell_municipalities"]
