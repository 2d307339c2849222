"""Activity attendance: a population of people, the events list and the sign-in sheets.

Grain: ``plan_events`` gives one event per row of ``events.xlsx``; ``assign_participants``
one list of people per event; ``sign_in_rows`` one ledger row per written sheet row (people,
duplicates and blank rows), which is what ``write_attendance`` puts in the files and what
``attendance_truth`` counts. People keep one identity (name, birth date, sex, residence) and
come back to several events; the sheets spell them in the script of the sheet, and dirt adds
other spellings, birth dates in other forms, duplicates and blank rows.

Ages are planted so that whether someone is young (15 to 30 at the event date) never depends
on how the age is worked out: nobody attends in a year in which the year difference
(event year minus birth year) is 15 or 31, the only two values where the exact age and the
year difference disagree about youth.

Modules: ``plan`` (people, events and who attends which), ``sheets`` (the sign-in rows, the
events list and the sign-in workbooks, with their dirt) and ``truth`` (what a correct
pipeline finds, and each wave's exposure to activities).
"""

from pipeline.synth.attendance.plan import (
    PAIRS_INTER_ENTITY,
    PAIRS_SAME_ENTITY,
    QUARANTINE_AGE,
    QUARTERS,
    TRAINING_TYPES,
    YOUTH_EVENT_TYPES,
    YOUTH_MAX_AGE,
    YOUTH_MIN_AGE,
    Event,
    Person,
    assign_participants,
    make_people,
    plan_events,
    quarter_span,
)
from pipeline.synth.attendance.sheets import (
    ATTENDANCE_DIRT,
    EVENTS_DIRT,
    EXCEL_EPOCH,
    HEADERS,
    RESIDENCE_VARIANTS,
    ROLE_WORDS,
    SEX_STYLES,
    TITLE_BLOCK,
    count_dirt,
    sign_in_rows,
    write_attendance,
    write_events,
)
from pipeline.synth.attendance.truth import compute_attendance_truth, count_exposures

__all__ = ["ATTENDANCE_DIRT", "EVENTS_DIRT", "EXCEL_EPOCH", "HEADERS", "PAIRS_INTER_ENTITY",
           "PAIRS_SAME_ENTITY", "QUARANTINE_AGE", "QUARTERS", "RESIDENCE_VARIANTS", "ROLE_WORDS",
           "SEX_STYLES", "TITLE_BLOCK", "TRAINING_TYPES", "YOUTH_EVENT_TYPES",
           "YOUTH_MAX_AGE", "YOUTH_MIN_AGE", "Event", "Person", "assign_participants",
           "compute_attendance_truth", "count_dirt", "count_exposures", "make_people",
           "plan_events", "quarter_span", "sign_in_rows", "write_attendance", "write_events"]
