"""Registering cleaning logs and applying their decisions between staging and the marts.

Staging keeps every answer as loaded; ``cleaning_effects`` says, for the current data, what
each registered decision does (refreshed by every survey load and every build, so a
re-downloaded export gets the same corrections), and the model ``int_survey__answers_cleaned``
is the answers with the applied changes. The marts (``survey_responses_long``,
``respondents``, the indicators) read that model; a removed submission stays in staging and
leaves the marts.

A decision is:

* ``applied``: its submission is current, its ``old_value`` is the answer as loaded and its
  new value is valid for the question (``no_action``: confirmed, nothing changes);
* ``stale``: the answer is no longer ``old_value`` (the data changed since the decision);
* ``not_found``: no current submission has that uuid (not loaded yet, or another wave);
* ``refused``: the question is not in the submission's form, or the new value is not valid
  for it (not a choice, not a number...);
* ``overridden``: a later decision (a later log, or a later row) on the same answer wins.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.cleaning.log import CleaningLog, Decision
from pipeline.errors import SpscError
from pipeline.ingest.survey.sql import python_pseudonym

UUID_PREFIX = "r"  # respondent keys of Kobo submissions are pseudonym("r", _uuid)
STATUSES = ("applied", "stale", "not_found", "refused", "overridden")
_NUMBER_TYPES = {"integer", "decimal", "range"}


def respondent_key_of(secret: bytes, uuid: str) -> str:
    """The keyed pseudonym a Kobo ``_uuid`` is stored as (``uuid:`` prefix of an instanceID removed)."""
    text = uuid.strip()
    if text.lower().startswith("uuid:"):
        text = text[5:]
    return python_pseudonym(secret, text, UUID_PREFIX)


# --------------------------------------------------------------------------- values

def typed_value(qtype: str, choices: list[str], value: str | None,
                bounds: tuple[float | None, float | None] = (None, None)) -> tuple[str | None, str | None]:
    """The text a value is stored as for a question of ``qtype``, or why it is not valid.

    The same rules as raw answers: a select_one must be a choice, a select_multiple choices
    separated by spaces, a number a number (integers without decimals) within the range of
    the form's constraint (``bounds``), a date a date.
    """
    if value is None:
        return None, None
    text = str(value).strip()
    if qtype == "select_one":
        if choices and text not in choices:
            return None, f"{text!r} is not a choice of the question ({', '.join(choices[:12])})"
        return text, None
    if qtype == "select_multiple":
        picks = list(dict.fromkeys(text.split()))
        bad = [p for p in picks if choices and p not in choices]
        if bad:
            return None, f"{', '.join(map(repr, bad))} not a choice of the question ({', '.join(choices[:12])})"
        return " ".join(picks), None
    if qtype in _NUMBER_TYPES:
        try:
            number = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
        except ValueError:
            return None, f"{text!r} is not a number"
        if number != number or number in (float("inf"), float("-inf")):
            return None, f"{text!r} is not a number"
        lo, hi = bounds
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            return None, f"{text} is outside {lo if lo is not None else '-inf':g}-{hi if hi is not None else 'inf':g} " \
                         "(the form's constraint)"
        if qtype == "integer":
            if not number.is_integer():
                return None, f"{text!r} is not a whole number"
            return str(int(number)), None
        return str(number), None
    if qtype == "date":
        try:
            return date.fromisoformat(text[:10]).isoformat(), None
        except ValueError:
            return None, f"{text!r} is not a date (YYYY-MM-DD)"
    if qtype in ("datetime", "start", "end"):
        try:
            return str(datetime.fromisoformat(text)), None
        except ValueError:
            return None, f"{text!r} is not a date and time"
    return text, None


def same_value(qtype: str, choices: list[str], expected: str | None, actual: str | None) -> bool:
    """Whether the log's ``old_value`` is the answer as loaded (numbers by value, choices of a
    select_multiple in any order; an empty ``old_value`` expects an empty answer)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if qtype == "select_multiple":
        return set(expected.split()) == set(actual.split())
    if qtype in _NUMBER_TYPES:
        try:
            return float(expected) == float(actual)
        except ValueError:
            pass
    if qtype in ("datetime", "start", "end"):
        try:
            return datetime.fromisoformat(expected.strip()) == datetime.fromisoformat(actual.strip())
        except ValueError:
            pass
    return expected.strip() == actual.strip()


# --------------------------------------------------------------------------- registering

def _codebooks(con: duckdb.DuckDBPyConnection):
    from pipeline.indicators.sources import read_codebooks

    return read_codebooks(con)


def _choices(book, q) -> list[str]:
    return book.choice_names(q) if q.list_name else []


def _bounds(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(form, question path) -> the range of its constraint (the latest form version's)."""
    from pipeline.ingest.survey.schema import constraint_range

    rows = con.execute("""
        select q.form_id, q.question, arg_max(q.constraint_expr, f.loaded_at)
        from codebook_questions q left join survey_forms f using (form_id, form_version)
        where q.constraint_expr is not null group by all""").fetchall()
    return {(f, q): constraint_range(c) for f, q, c in rows}


def check_against_forms(con: duckdb.DuckDBPyConnection, decisions: list[Decision],
                        keys: list[str]) -> list[str]:
    """Problems of decisions that no data can fix: a question no loaded form has, or a new
    value that is not valid for the question (checked against the form of the submission the
    uuid names, else every form that has the question)."""
    books = _codebooks(con)
    bounds = _bounds(con)
    forms_of: dict[str, set[str]] = {}
    if keys:
        con.register("_clean_keys", pd.DataFrame({"respondent_key": keys}, dtype=object))
        try:
            for key, form_id in con.execute(
                    "select distinct respondent_key, form_id from stg_survey__submissions "
                    "where respondent_key in (select respondent_key from _clean_keys)").fetchall():
                forms_of.setdefault(key, set()).add(form_id)
        finally:
            con.unregister("_clean_keys")
    problems = []
    for d, key in zip(decisions, keys, strict=True):
        if d.change_type == "remove_survey":
            continue
        forms = forms_of.get(key) or set(books)
        found = [(b, b.find(d.question)) for f, b in books.items() if f in forms]
        hits = [(b, q) for b, (q, _) in found if q is not None]
        hits = [(b, q) for b, q in hits if not q.repeat_path] or hits
        if hits and all(q.repeat_path for _, q in hits):
            problems.append(f"row {d.row}: {hits[0][1].path} is inside the repeat group {hits[0][1].repeat_path}: "
                            "decisions on repeat-group answers are not supported yet (remove_survey is)")
            continue
        if not hits:
            why = next((w for _, (_, w) in found if w), None) if len(found) == 1 else None
            problems.append(f"row {d.row}: {why or f'no loaded form has a question {d.question!r}'}")
            continue
        if d.change_type == "change_response":
            errors = [typed_value(q.type, _choices(b, q), d.new_value, bounds.get((b.form_id, q.path), (None, None)))[1]
                      for b, q in hits]
            if all(errors):
                problems.append(f"row {d.row}: new_value {errors[0]} ({hits[0][1].path})")
    return problems


def register_log(con: duckdb.DuckDBPyConnection, log: CleaningLog, secret: bytes, name: str) -> tuple[int, bool]:
    """Validate a read log against the loaded forms and store its decisions (call inside a
    transaction). Returns ``(log_id, changed)``: an unchanged file registered again changes
    nothing; a changed one replaces its earlier decisions.

    Raises:
        SpscError: the log has bad rows (every one named with its row and reason): nothing of
            the log is registered.
    """
    keys = [d.respondent_key if not d.uuid else respondent_key_of(secret, d.uuid) for d in log.decisions]
    problems = list(log.problems) + check_against_forms(con, log.decisions, keys)
    if problems:
        problems.sort(key=lambda p: int(p.split(":")[0].split()[1]))
        raise SpscError(f"{len(problems)} bad row{'s' if len(problems) > 1 else ''}, nothing of this log "
                        f"applied: {'; '.join(problems)}", str(log.path), "fix the rows and run 'spsc clean apply' again")
    row = con.execute("select log_id, sha256 from cleaning_logs where file_name = ? and is_current",
                      [name]).fetchall()
    if row and row[0][1] == log.sha256:
        return row[0][0], False
    if row:
        con.execute("update cleaning_logs set is_current = false where log_id = ?", [row[0][0]])
        con.execute("delete from cleaning_decisions where log_id = ?", [row[0][0]])
    log_id = con.execute("select coalesce(max(log_id), 0) + 1 from cleaning_logs").fetchall()[0][0]
    con.execute("insert into cleaning_logs values (?, ?, ?, ?, ?, true)",
                [log_id, name, log.sha256, len(log.decisions), datetime.now()])
    frame = pd.DataFrame([{
        "log_id": log_id, "log_row": d.row, "respondent_key": k, "question": d.question,
        "change_type": d.change_type, "new_value": d.new_value, "old_value": d.old_value, "issue": d.issue,
        "checked_by": d.checked_by, "checked_date": d.checked_date} for d, k in zip(log.decisions, keys, strict=True)],
        columns=["log_id", "log_row", "respondent_key", "question", "change_type", "new_value", "old_value",
                 "issue", "checked_by", "checked_date"])
    if not frame.empty:
        con.register("_clean_in", frame.astype(object))
        try:
            con.execute("insert into cleaning_decisions by name select * from _clean_in")
        finally:
            con.unregister("_clean_in")
    return log_id, True


def unregister_log(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Stop applying a log (its registration history stays). Returns whether it was registered."""
    row = con.execute("select log_id from cleaning_logs where file_name = ? and is_current", [name]).fetchall()
    if not row:
        return False
    con.execute("update cleaning_logs set is_current = false where log_id = ?", [row[0][0]])
    con.execute("delete from cleaning_decisions where log_id = ?", [row[0][0]])
    return True


# --------------------------------------------------------------------------- applying

def _has_cleaning(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = 'cleaning_effects'"
                            " and table_schema = 'main'").fetchall()[0][0])


_EFFECTS_COLUMNS = ("log_id integer, log_row integer, submission_id bigint, form_id varchar, wave varchar, "
                    "question varchar, change_type varchar, value_before varchar, new_value varchar, "
                    "has_answer boolean, status varchar, detail varchar")


def ensure_cleaned_answers(con: duckdb.DuckDBPyConnection) -> None:
    """Make sure the cleaned answers the indicator engine reads exist: a warehouse creates them
    at every load and build; tables assembled by hand (benchmarks) get the model over an empty
    ``cleaning_effects``, i.e. the answers as loaded."""
    from pipeline.warehouse import runner

    def exists(name: str) -> bool:
        return bool(con.execute("select count(*) from (select view_name as n from duckdb_views() union all "
                                "select table_name from duckdb_tables()) where n = ?", [name]).fetchall()[0][0])

    if exists("int_survey__answers_cleaned"):
        return
    if not exists("cleaning_effects"):
        con.execute(f"create temp table cleaning_effects ({_EFFECTS_COLUMNS})")
    runner.create(con, "intermediate/int_survey__answers_cleaned", "temp view")


def refresh_effects(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recompute ``cleaning_effects`` for the current data (call inside the load's or build's
    transaction). Returns decisions per status."""
    if not _has_cleaning(con):
        return {}
    con.execute("delete from cleaning_effects")
    decisions = con.execute(
        "select d.log_id, d.log_row, d.respondent_key, d.question, d.change_type, d.new_value, d.old_value "
        "from cleaning_decisions d join cleaning_logs l on l.log_id = d.log_id and l.is_current "
        "order by l.registered_at, d.log_id, d.log_row").df()
    if decisions.empty:
        return {}
    con.register("_clean_dec", decisions.astype(object))
    try:
        matched = con.execute(
            "select d.log_id, d.log_row, s.submission_id, s.form_id, s.wave from _clean_dec d "
            "join stg_survey__submissions s on s.respondent_key = d.respondent_key and s.is_current").df()
    finally:
        con.unregister("_clean_dec")
    books = _codebooks(con)
    bounds = _bounds(con)
    subs: dict[tuple[int, int], list[tuple]] = {}
    for r in matched.itertuples(index=False):
        subs.setdefault((int(r.log_id), int(r.log_row)), []).append((int(r.submission_id), r.form_id, r.wave))
    rows: list[dict] = []
    for d in decisions.itertuples(index=False):
        base = {"log_id": int(d.log_id), "log_row": int(d.log_row), "change_type": d.change_type}
        found = subs.get((base["log_id"], base["log_row"]))
        if not found:
            rows.append({**base, "status": "not_found",
                         "detail": "no current submission has this uuid (not loaded yet, or removed from the export)"})
            continue
        for submission_id, form_id, wave in found:
            row = {**base, "submission_id": submission_id, "form_id": form_id, "wave": wave}
            if d.change_type == "remove_survey":
                rows.append({**row, "status": "applied", "detail": None})
                continue
            book = books.get(form_id)
            q, why = book.find(d.question) if book is not None else (None, f"form {form_id} has no codebook")
            if q is None or q.repeat_path:
                why = why or f"{q.path} is inside a repeat group (not supported yet)"
                rows.append({**row, "status": "refused", "detail": why})
                continue
            row["question"] = q.path
            row["_type"], row["_choices"] = q.type, _choices(book, q)
            row["_bounds"] = bounds.get((form_id, q.path), (None, None))
            row["_old"], row["_new"] = _none(d.old_value), _none(d.new_value)
            rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("submission_id", "form_id", "wave", "question", "value_before", "new_value", "has_answer",
                "detail", "status"):
        frame[col] = frame[col].astype(object) if col in frame else pd.Series([None] * len(frame), dtype=object)
    pending = frame[frame["question"].notna() & frame["status"].isna()]
    if not pending.empty:
        con.register("_clean_cells", pending[["submission_id", "question"]].astype(object))
        try:
            before = {(int(s), q): (v, True) for s, q, v in con.execute(
                "select a.submission_id, a.question, a.value from stg_survey__answers a "
                "semi join _clean_cells c on c.submission_id = a.submission_id and c.question = a.question").fetchall()}
        finally:
            con.unregister("_clean_cells")
        for i, r in pending.iterrows():
            value, has = before.get((int(r["submission_id"]), r["question"]), (None, False))
            frame.at[i, "value_before"] = value
            frame.at[i, "has_answer"] = has
            old = _none(r["_old"])
            if not same_value(r["_type"], r["_choices"], old, value):
                shown = "empty" if value is None else repr(value)
                expected = "empty" if old is None else repr(old)
                frame.at[i, "status"] = "stale"
                frame.at[i, "detail"] = f"the data changed since this decision: the answer is {shown}, the log expected {expected}"
                continue
            if r["change_type"] == "change_response":
                new, why = typed_value(r["_type"], r["_choices"], _none(r["_new"]), r["_bounds"])
                if why:
                    frame.at[i, "status"], frame.at[i, "detail"] = "refused", f"new_value {why}"
                    continue
                frame.at[i, "new_value"] = new
            frame.at[i, "status"] = "applied"
    # the last decision on an answer (or a submission's removal) wins
    applied = frame["status"] == "applied"
    target = frame["submission_id"].astype(str) + "\x1f" + frame["question"].fillna("\x00" + frame["change_type"])
    later = applied & target.where(applied).duplicated(keep="last")
    frame.loc[later, "status"] = "overridden"
    frame.loc[later, "detail"] = "a later decision on the same answer is applied"
    frame = frame[["log_id", "log_row", "submission_id", "form_id", "wave", "question", "change_type",
                   "value_before", "new_value", "has_answer", "status", "detail"]]
    con.register("_clean_out", frame.astype(object))
    try:
        con.execute("insert into cleaning_effects by name select * from _clean_out")
    finally:
        con.unregister("_clean_out")
    return {k: int(v) for k, v in frame.drop_duplicates(["log_id", "log_row"])["status"].value_counts().items()}


def _none(value):
    """``None`` for every missing marker pandas may put in an object column (None, NaN, NA)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value


# --------------------------------------------------------------------------- reading back

def status_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per registered log and change type: decisions applied, stale, not found,
    refused, overridden (a decision naming a submission loaded in two waves counts once)."""
    if not _has_cleaning(con):
        return pd.DataFrame(columns=["file_name", "sha256", "change_type", "decisions", *STATUSES])
    return con.execute(f"""
        with per_decision as (
            select d.log_id, d.log_row, d.change_type,
                -- a decision applied to any current submission counts as applied
                coalesce(min(case e.status {' '.join(f"when '{s}' then {i}" for i, s in enumerate(STATUSES))} end), 2)
                    as rank
            from cleaning_decisions d
            left join cleaning_effects e on e.log_id = d.log_id and e.log_row = d.log_row
            group by all
        ),
        final as (
            select l.file_name, l.sha256, p.change_type, count(*) as decisions,
                {', '.join(f"count(*) filter (where p.rank = {i}) as {s}" for i, s in enumerate(STATUSES))}
            from per_decision p join cleaning_logs l on l.log_id = p.log_id and l.is_current
            group by all
            order by l.file_name, p.change_type
        )
        select * from final
    """).df()


def not_applied(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every decision that does nothing now, with why (stale first)."""
    if not _has_cleaning(con):
        return pd.DataFrame(columns=["file_name", "log_row", "change_type", "question", "status", "detail"])
    return con.execute("""
        select distinct l.file_name, e.log_row, e.change_type, coalesce(e.question, d.question) as question,
            e.status, e.detail
        from cleaning_effects e
        join cleaning_logs l on l.log_id = e.log_id and l.is_current
        join cleaning_decisions d on d.log_id = e.log_id and d.log_row = e.log_row
        where e.status <> 'applied'
            and not exists (select 1 from cleaning_effects a where a.log_id = e.log_id
                            and a.log_row = e.log_row and a.status = 'applied')
        order by e.status = 'stale' desc, l.file_name, e.log_row
    """).df()


def provenance(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The cleaning logs behind the current marts: file, sha256, decisions applied (for
    reports, snapshots and ``spsc diff``)."""
    if not _has_cleaning(con):
        return []
    rows = con.execute("""
        select l.file_name, l.sha256, l.n_decisions,
            count(distinct (e.log_row)) filter (where e.status = 'applied') as applied
        from cleaning_logs l
        left join cleaning_effects e on e.log_id = l.log_id
        where l.is_current
        group by all order by l.file_name
    """).fetchall()
    return [{"file": f, "sha256": s, "decisions": int(n), "applied": int(a)} for f, s, n, a in rows]


def provenance_json(con: duckdb.DuckDBPyConnection) -> str:
    return json.dumps(provenance(con), sort_keys=True)


def project_relative(path: Path, root: Path | None) -> str:
    """How a log file is named in the warehouse: relative to the project folder when inside it."""
    path = Path(path).resolve()
    if root is not None:
        try:
            return path.relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)
