"""``spsc clean checks``: findings drafted as a cleaning log for the analyst to review.

One row per finding, in the log's columns with ``change_type`` empty and ``issue`` saying what
was found, plus ``check`` (which check), ``form_id``, ``wave`` and ``related_uuid`` (the other
submission of a soft duplicate). The checks read the marts (current submissions, cleaning
logs applied, refusals left out) and skip findings a registered log already decided:

* ``short_interview``: ``end`` minus ``start`` shorter than ``min_duration_minutes``;
* ``straight_lining``: the same answer to every item of a battery of at least
  ``battery_min_items`` items (the form's scores, else every group of numeric or same-list
  questions), other than
  the scale's lowest or highest answer (trusting no one is an attitude, not a pattern);
* ``outlier``: a numeric answer far from its form's and municipality's median, robustly
  (``|x - median| / (1.4826 MAD) > outlier_mad``, groups of at least 10 answers); rating
  scales (every answer within 0-10) and battery items are not checked;
* ``soft_duplicate``: two submissions of a form on one day in one municipality (Kobo's
  enumerator account is dropped at load as personal) that agree on at least
  ``duplicate_share`` of the answers both gave;
* ``other_repeats_choice``: an "other" text that is the name or label of a choice of its question;
* ``quarantined_cell``: a cell the load quarantined (loaded as missing), with its reason.

Raw uuids are never stored: the draft's ``uuid`` column is read back from the raw export files
the batches were loaded from (``load_batches.path``); where a file is gone, ``uuid`` stays empty
and ``respondent_key`` (accepted by ``spsc clean apply``) names the submission.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import SpscError

COLUMNS = ["uuid", "question", "change_type", "new_value", "old_value", "issue", "checked_by", "checked_date",
           "check", "form_id", "wave", "related_uuid", "respondent_key"]
DEFAULTS = {"min_duration_minutes": 10.0, "battery_min_items": 5, "outlier_mad": 3.5,
            "duplicate_share": 0.9, "duplicate_min_answers": 10}
_NUMERIC = {"integer", "decimal", "range"}
_META = {"start", "end", "today", "deviceid", "username", "simserial", "subscriberid", "phonenumber",
         "audit", "calculate", "note"}


def thresholds(project) -> dict:
    """The checks' thresholds: the project's ``cleaning:`` settings over the defaults."""
    own = getattr(project.config, "cleaning", None)
    values = own.model_dump() if own is not None and hasattr(own, "model_dump") else dict(own or {})
    return {**DEFAULTS, **{k: v for k, v in values.items() if v is not None}}


def _finding(key, question, old, issue, check, form_id, wave, related=None) -> dict:
    return {"respondent_key": key, "question": question, "old_value": old, "issue": issue, "check": check,
            "form_id": form_id, "wave": wave, "related_key": related}


def _wide(con, form_id: str, wave: str | None) -> pd.DataFrame:
    sql = ("select respondent_key, wave, question, value from survey_responses_long where form_id = ?"
           + (" and wave = ?" if wave else ""))
    long = con.execute(sql, [form_id, wave] if wave else [form_id]).df()
    if long.empty:
        return pd.DataFrame()
    return long.pivot_table(index=["respondent_key", "wave"], columns="question", values="value",
                            aggfunc="first", dropna=False).reset_index()


def check_form(wide: pd.DataFrame, book, roles: dict[str, str], scores: list[list[str]], t: dict,
               form_id: str) -> list[dict]:
    """Every finding in one form's current submissions (one row per respondent and wave)."""
    out: list[dict] = []
    if wide.empty:
        return out
    consent = roles.get("consent")
    if consent in wide:
        ok = wide[consent].str.strip().str.lower().isin(("yes", "true", "1", "da", "да")) | wide[consent].isna()
        wide = wide[ok]
    questions = {p: q for p, q in book.questions.items() if p in wide and not q.repeat_path}
    types = {p: q.type for p, q in questions.items()}
    starts = [p for p, ty in types.items() if ty == "start"]
    ends = [p for p, ty in types.items() if ty == "end"]
    start_t = pd.to_datetime(wide[starts[0]], errors="coerce") if starts else None
    # short interviews
    limit = t["min_duration_minutes"]
    if isinstance(limit, dict):
        limit = limit.get(form_id, limit.get("default", DEFAULTS["min_duration_minutes"]))
    if starts and ends:
        end_t = pd.to_datetime(wide[ends[0]], errors="coerce")
        minutes = (end_t - start_t).dt.total_seconds() / 60
        short = minutes < limit
        for i in np.flatnonzero(short.fillna(False).to_numpy()):
            r = wide.iloc[i]
            out.append(_finding(r["respondent_key"], ends[0], r[ends[0]],
                                f"interview lasted {minutes.iloc[i]:.1f} minutes (start {r[starts[0]]}, end "
                                f"{r[ends[0]]}): shorter than {limit:g} minutes",
                                "short_interview", form_id, r["wave"]))
    # straight-lining
    # fewer items than battery_min_items agree by chance too often (4 items on a 1-5 scale)
    batteries = [b for b in scores if len(b) >= t["battery_min_items"]] or \
        _batteries(questions, book, t["battery_min_items"])
    for items in batteries:
        items = [p for p in items if p in wide]
        if len(items) < 3:
            continue
        block = wide[items]
        full = block.notna().all(axis=1)
        # the same floor or ceiling answer everywhere is an attitude (trusts no one), not a pattern
        numbers = block.apply(pd.to_numeric, errors="coerce")
        ends_ = {numbers.min().min(), numbers.max().max()} if numbers.notna().any().any() else set()
        same = full & block.nunique(axis=1, dropna=True).eq(1) & ~numbers.iloc[:, 0].isin(ends_)
        group = items[0].rsplit("/", 1)[0] if "/" in items[0] else "the battery"
        for i in np.flatnonzero(same.to_numpy()):
            r = wide.iloc[i]
            out.append(_finding(r["respondent_key"], items[0], r[items[0]],
                                f"the same answer ({r[items[0]]}) to all {len(items)} items of {group}: "
                                f"{', '.join(p.rsplit('/', 1)[-1] for p in items)}",
                                "straight_lining", form_id, r["wave"]))
    role_paths = set(roles.values())
    muni = roles.get("municipality")
    # outliers on numeric questions, per municipality
    in_battery = {p for items in batteries for p in items}
    for p, ty in types.items():
        if ty not in _NUMERIC or p in role_paths or p in in_battery:
            continue
        x = pd.to_numeric(wide[p], errors="coerce")
        if x.dropna().between(0, 10).all():
            continue  # a rating scale (0-10): its ends are answers, not outliers
        groups = wide[muni].fillna("") if muni in wide else pd.Series("", index=wide.index)
        for _, idx in x.groupby([groups, wide["wave"]]).groups.items():
            v = x.loc[idx].dropna()
            if len(v) < 10:
                continue
            med = v.median()
            mad = (v - med).abs().median() * 1.4826
            if not mad:
                continue
            far = v[(v - med).abs() / mad > t["outlier_mad"]]
            for j, val in far.items():
                r = wide.loc[j]
                out.append(_finding(r["respondent_key"], p, r[p],
                                    f"{val:g} is far from the median {med:g} of {p.rsplit('/', 1)[-1]} in "
                                    f"{r[muni] if muni in wide else 'the form'} ({abs(val - med) / mad:.1f} robust SDs; "
                                    f"more than {t['outlier_mad']:g})", "outlier", form_id, r["wave"]))
    # soft duplicates: one municipality, one day
    compared = [p for p, ty in types.items() if ty not in _META and p not in role_paths]
    if start_t is not None and compared:
        day = start_t.dt.date
        keys = [wide[muni].fillna("") if muni in wide else pd.Series("", index=wide.index), wide["wave"], day]
        values = wide[compared].to_numpy(dtype=object)
        present = pd.notna(values)
        for _, idx in wide.groupby(keys, dropna=True).indices.items():
            if len(idx) < 2:
                continue
            for a, b in combinations(idx, 2):
                both = present[a] & present[b]
                n = int(both.sum())
                if n < t["duplicate_min_answers"]:
                    continue
                agree = int((values[a][both] == values[b][both]).sum())
                if agree / n >= t["duplicate_share"]:
                    first, second = (a, b) if start_t.iloc[a] <= start_t.iloc[b] else (b, a)
                    r = wide.iloc[second]
                    out.append(_finding(r["respondent_key"], None, None,
                                        f"agrees on {agree} of {n} answers with another submission of the same day "
                                        f"and municipality (related_uuid): a copied interview?",
                                        "soft_duplicate", form_id, r["wave"], wide.iloc[first]["respondent_key"]))
    # "other" texts that repeat a choice
    for p, q in questions.items():
        if q.type != "text" or not any(s in q.name.lower() for s in ("other", "oth", "drugo")):
            continue
        base = q.name.lower().replace("_other", "").replace("other_", "").replace("_oth", "")
        sib = next((s for s in questions.values() if s.type in ("select_one", "select_multiple")
                    and s.name.lower() == base), None)
        if sib is None or not sib.list_name:
            continue
        names = {}
        for c, labels in book.choices.get(sib.list_name, {}).items():
            for text in (c, *labels.values()):
                names[str(text).strip().lower()] = c
        for j, val in wide[p].dropna().items():
            hit = names.get(str(val).strip().lower())
            if hit:
                r = wide.loc[j]
                out.append(_finding(r["respondent_key"], p, val,
                                    f"the 'other' text {val!r} is the choice {hit!r} of {sib.path}",
                                    "other_repeats_choice", form_id, r["wave"]))
    return out


def _batteries(questions: dict, book, min_items: int) -> list[list[str]]:
    groups: dict[tuple, list[str]] = {}
    for p, q in questions.items():
        if q.type in _NUMERIC or q.type == "select_one":
            parent = p.rsplit("/", 1)[0] if "/" in p else ""
            kind = "number" if q.type in _NUMERIC else q.list_name
            groups.setdefault((parent, kind), []).append(p)
    return [items for (parent, _), items in groups.items() if parent and len(items) >= min_items]


def quarantined_cells(con, wave: str | None, form: str | None) -> list[dict]:
    """Cells the load set missing, with the submission they belong to (current versions)."""
    sql = """
        select s.respondent_key, q.column_name, q.value, q.reason, s.form_id, s.wave
        from quarantine q
        join stg_survey__submissions s on s.batch_id = q.batch_id and s.source_row = q.source_row
            and s.source_sheet is not distinct from q.sheet and s.is_current
        where q.action = 'cell'"""
    params = []
    if wave:
        sql += " and s.wave = ?"
        params.append(wave)
    if form:
        sql += " and s.form_id = ?"
        params.append(form)
    # the answer as loaded is empty: that is the old_value a decision on it is checked against
    return [_finding(k, c, None, f"the load set this answer ({v!r}) missing: {why}", "quarantined_cell", f, w)
            for k, c, v, why, f, w in con.execute(sql + " order by s.wave, s.submission_id", params).fetchall()]


def uuids_of(con, secret: bytes, keys: set[str], roots: tuple = ()) -> dict[str, str]:
    """Raw uuids of some respondent keys, read back from the export files they were loaded from
    (found as :func:`pipeline.warehouse.batches.locate_raw` finds them, under ``roots``)."""
    from pipeline.cleaning.apply import respondent_key_of
    from pipeline.ingest.readers import read_text_table, read_workbook
    from pipeline.warehouse.batches import locate_raw

    if not keys:
        return {}
    con.register("_uuid_keys", pd.DataFrame({"k": sorted(keys)}, dtype=object))
    try:
        paths = [r[0] for r in con.execute(
            "select distinct b.path from stg_survey__submissions s join load_batches b using (batch_id) "
            "where s.respondent_key in (select k from _uuid_keys)").fetchall()]
    finally:
        con.unregister("_uuid_keys")
    found: dict[str, str] = {}
    for path in paths:
        p = locate_raw(path, roots)
        if p is None:
            continue
        try:
            sheets = [read_text_table(p)] if p.suffix.lower() == ".csv" else read_workbook(p)
        except Exception:  # a file that cannot be read back leaves its uuids empty
            continue
        for sheet in sheets:
            if not sheet.rows:
                continue
            header = [str(h).strip() if h is not None else "" for h in sheet.rows[0]]
            col = next((header.index(h) for h in ("_uuid", "meta/instanceID") if h in header), None)
            if col is None or "_submission__uuid" in header:
                continue
            for row in sheet.rows[1:]:
                if col < len(row) and row[col]:
                    uuid = str(row[col]).strip()
                    uuid = uuid[5:] if uuid.lower().startswith("uuid:") else uuid
                    key = respondent_key_of(secret, uuid)
                    if key in keys:
                        found[key] = uuid
    return found


def run_checks(settings, project, *, wave: str | None = None, form: str | None = None) -> pd.DataFrame:
    """Every check on the published warehouse; returns the draft log (see :data:`COLUMNS`)."""
    from pipeline.indicators.sources import read_codebooks, resolve_settings
    from pipeline.privacy import load_secret
    from pipeline.warehouse import open_published

    t = thresholds(project)
    con = open_published(settings.db)
    try:
        books = read_codebooks(con)
        if form is not None and form not in books:
            raise SpscError(f"no form {form!r} is loaded", "spsc clean checks", f"loaded: {', '.join(books)}")
        resolved = resolve_settings(project, books)
        forms_cfg = project.forms()
        rows: list[dict] = []
        for form_id, book in books.items():
            if form is not None and form_id != form:
                continue
            roles = resolved[form_id].roles if form_id in resolved else {}
            scores = []
            if form_id in forms_cfg:
                for items in forms_cfg[form_id].scores.values():
                    scores.append([q.path for q in (book.find(i)[0] for i in items) if q is not None])
            rows += check_form(_wide(con, form_id, wave), book, roles, scores, t, form_id)
        rows += quarantined_cells(con, wave, form)
        decided = _decided(con)
        rows = [r for r in rows if (r["respondent_key"], r["question"]) not in decided
                and (r["respondent_key"], None) not in decided]
        secret = load_secret(settings.secret_path, create=False)
        keys = {r["respondent_key"] for r in rows} | {r["related_key"] for r in rows if r["related_key"]}
        uuids = uuids_of(con, secret, keys, (project.root,))
    finally:
        con.close()
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "related_key"])
    frame["uuid"] = frame["respondent_key"].map(uuids)
    frame["related_uuid"] = frame["related_key"].map(uuids)
    # a submission whose uuid was read back needs no pseudonym in the draft
    frame.loc[frame["uuid"].notna(), "respondent_key"] = None
    return frame[COLUMNS].sort_values(["form_id", "wave", "check"], kind="stable").reset_index(drop=True)


def _decided(con) -> set[tuple]:
    """(respondent key, question path or None for the submission) a registered log decided."""
    have = con.execute("select count(*) from information_schema.tables where table_name = 'cleaning_effects'").fetchall()
    if not have[0][0]:
        return set()
    rows = con.execute("""
        select d.respondent_key, coalesce(e.question, d.question), d.change_type
        from cleaning_decisions d
        join cleaning_logs l on l.log_id = d.log_id and l.is_current
        left join cleaning_effects e on e.log_id = d.log_id and e.log_row = d.log_row
    """).fetchall()
    return {(k, None if ct == "remove_survey" else q) for k, q, ct in rows}


def write_draft(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a draft log (.csv UTF-8 with BOM, opens right in Excel; or .xlsx)."""
    from pipeline.exports import neutralise_frame

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = neutralise_frame(frame)
    if path.suffix.lower() == ".xlsx":
        safe.to_excel(path, index=False, sheet_name="cleaning_log")
    elif path.suffix.lower() == ".csv":
        safe.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        raise SpscError("a draft log is written as .csv or .xlsx", str(path))
    return path
