"""What a survey load writes besides the answers, and what a corrected delivery removes.

A form version's codebook (``survey_forms``, ``stg_codebook__questions`` and
``stg_codebook__choices``), and every row of the loaded batches a new file replaces.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.ingest.survey.land import RawFile
from pipeline.ingest.survey.xlsform import Form


def _labels_array(dicts: list[dict[str, str]]) -> pa.Array:
    return pa.array([list(d.items()) for d in dicts], type=pa.map_(pa.string(), pa.string()))


def _store_codebook(con: duckdb.DuckDBPyConnection, form: Form, raw: RawFile, kind: str, batch_id: int) -> int:
    """Write a form version's codebook (questions and choices); returns rows written."""
    con.execute("insert into survey_forms values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [form.form_id, form.version, form.title, form.default_language, form.languages, kind,
                 raw.path.name, raw.sha256, batch_id, datetime.now()])
    qs = form.questions
    questions = pa.table({
        "form_id": [form.form_id] * len(qs), "form_version": [form.version] * len(qs),
        "position": pa.array([q.position for q in qs], pa.int32()), "question": [q.path for q in qs],
        "name": [q.name for q in qs], "type": [q.type for q in qs], "list_name": pa.array([q.list_name for q in qs], pa.string()),
        "group_path": [q.group_path for q in qs], "repeat_path": pa.array([q.repeat_path for q in qs], pa.string()),
        "required": [q.required for q in qs], "relevant": pa.array([q.relevant for q in qs], pa.string()),
        "constraint_expr": pa.array([q.constraint for q in qs], pa.string()),
        "is_personal": [q.personal is not None for q in qs],
        "personal_reason": pa.array([q.personal for q in qs], pa.string()),
        "labels": _labels_array([q.labels for q in qs]), "batch_id": pa.array([batch_id] * len(qs), pa.int32()),
        "missing_codes": pa.array([list(q.missing_codes) or None for q in qs], pa.list_(pa.string())),
    })
    missing = {(q.list_name, c) for q in qs if q.list_name for c in q.missing_codes}
    cs = form.choices
    choices = pa.table({
        "form_id": pa.array([form.form_id] * len(cs), pa.string()),
        "form_version": pa.array([form.version] * len(cs), pa.string()),
        "list_name": pa.array([c.list_name for c in cs], pa.string()),
        "position": pa.array([c.position for c in cs], pa.int32()),
        "choice": pa.array([c.name for c in cs], pa.string()), "labels": _labels_array([c.labels for c in cs]),
        "is_missing": pa.array([(c.list_name, c.name) in missing for c in cs], pa.bool_()),
        "batch_id": pa.array([batch_id] * len(cs), pa.int32()),
    })
    for name, table in (("stg_codebook__questions", questions), ("stg_codebook__choices", choices)):
        con.register("_spsc_codebook", table)
        try:
            con.execute(f"insert into {name} by name select * from _spsc_codebook")
        finally:
            con.unregister("_spsc_codebook")
    return len(qs) + len(cs)


_BATCH_TABLES = ("quarantine",)
# respondents is rebuilt by spsc build: until then it only loses the replaced submissions
_SUBMISSION_TABLES = ("stg_survey__answers", "stg_survey__missing_codes", "respondents")
_BATCH_ROW_TABLES = ("stg_survey__repeat_rows", "stg_survey__repeat_instances", "stg_codebook__questions",
                     "stg_codebook__choices", "survey_forms")


def replace_batches(con: duckdb.DuckDBPyConnection, raw: RawFile, kind: str) -> list[dict]:
    """Remove every row written by the loaded batches of a file (the same bytes, or a file of
    the same name: a corrected delivery) inside the caller's transaction, and mark them
    ``replaced``; returns those batches (``batch_id``, ``wave``)."""
    rows = con.execute("select batch_id, wave from load_batches where (sha256 = ? or file_name = ?) and kind = ? "
                       "and status = 'loaded'", [raw.sha256, raw.path.name, kind]).fetchall()
    out = []
    for batch_id, wave in rows:
        con.execute("create or replace temp table _spsc_gone as select submission_id from stg_survey__submissions "
                    "where batch_id = ?", [batch_id])
        for table in _SUBMISSION_TABLES:
            con.execute(f"delete from {table} where submission_id in (select submission_id from _spsc_gone)")
        con.execute("delete from survey_replacements where old_submission_id in (select submission_id from _spsc_gone)"
                    " or new_submission_id in (select submission_id from _spsc_gone)")
        for table in (*_BATCH_ROW_TABLES, *_BATCH_TABLES):
            con.execute(f"delete from {table} where batch_id = ?", [batch_id])
        con.execute("delete from stg_survey__submissions where batch_id = ?", [batch_id])
        con.execute("update load_batches set status = 'replaced' where batch_id = ?", [batch_id])
        out.append({"batch_id": batch_id, "wave": wave})
    return out
