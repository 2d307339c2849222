"""Typing, validating and storing one landed survey export, in DuckDB.

The steps, each over whole columns: type every field (``TRY_CAST``-style, so a bad cell is a
NULL plus a flag, never an exception) and pseudonymise identities with a keyed SQL HMAC; find
problems (types, municipality names, then ranges, choices and required answers with pandera,
lazily, so one run reports them all); link repeat rows to their parents; and write the
submissions, staging rows, repeat rows and quarantine inside the caller's transaction.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa

from pipeline.ingest.survey.kobo import ExportTable
from pipeline.ingest.survey.plan import Field, TablePlan
from pipeline.ingest.survey.schema import validate_frame
from pipeline.ingest.survey.sql import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    clean_text,
    ident,
    literal,
    looks_personal_sql,
    pseudonym_sql,
)
from pipeline.ingest.survey.xlsform import Form
from pipeline.reference.names import normaliser

PERSONAL_VALUE = "<personal>"
PROBLEM_COLUMNS = ["sheet", "source_row", "column_name", "value", "rule", "reason", "action"]
# what a problem does to the load: the row is not loaded, the cell is loaded as missing, or
# the value is loaded as it is with a note
ROW, CELL, NOTE = "row", "cell", "note"
_PERSONAL_SHARE = 0.05  # a free-text column with more phone/e-mail-like values than this is dropped
_TYPE_REASON = {
    "integer": "not a whole number", "number": "not a number", "boolean": "not yes/no (1/0, True/False)",
    "date": "not a date (dd.mm.yyyy, ISO or Excel date)", "datetime": "not a date and time",
}
_PHONE_RE = re.compile(PHONE_PATTERN)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def safe_value(value) -> str | None:
    """A cell value fit for the quarantine: phone- or e-mail-like values become ``<personal>``."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    digits = sum(ch.isdigit() for ch in text)
    if _EMAIL_RE.search(text) or (_PHONE_RE.match(text) and 8 <= digits <= 15
                                  and text.strip()[:1] in "+0"):
        return PERSONAL_VALUE
    return text[:200]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.sql(sql).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame | pa.Table) -> None:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    con.register(f"_{name}_in", table)
    try:
        con.execute(f"create or replace temp table {ident(name)} as select * from {ident('_' + name + '_in')}")
    finally:
        con.unregister(f"_{name}_in")


@dataclass
class Typed:
    """A landed table after typing: its temporary table and bookkeeping."""

    plan: TablePlan
    table: str                  # temporary view (over <table>_data): __row, keys, one column per field
    sheet: str
    n_rows: int                 # data rows of the sheet
    n_blank: int
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    bad_rows: set[int] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)   # fields dropped by the personal safety net
    other_versions: dict[str, int] = field(default_factory=dict)  # versions not given: rows read with the latest

    other_version_rows: set[int] = field(default_factory=set)
    # (row, source column) -> (code, label) of answers a source declared missing (SPSS 98, 99)
    missing_codes: dict[tuple[int, str], tuple[str, str | None]] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        """Cells of loaded rows set missing."""
        if self.problems.empty:
            return 0
        p = self.problems
        return int(((p["action"] == CELL) & ~p["source_row"].isin(self.bad_rows)).sum())

    @property
    def landed(self):
        return self.plan.table.landed


def _bookkeeping(table: ExportTable) -> set[str]:
    """Columns that do not make a row non-blank (Kobo's row links and non-personal bookkeeping)."""
    links = {"index", "parent_index", "parent_table", "submission_uuid", "version", "validation_status"}
    return {h for h, r in table.columns.items()
            if (r.kind == "meta" and r.meta in links) or (r.kind == "drop" and not r.personal)}


def type_table(con: duckdb.DuckDBPyConnection, plan: TablePlan, name: str, form_id: str,
               *, main: bool) -> Typed:
    """Type one landed table into a temporary table, in one pass over the rows (blank rows
    are counted and left out).

    Columns: ``__row``; the identity (main table: ``__key`` pseudonym, ``__submitted``,
    ``__status``, ``__version``, ``__index``; repeat tables: ``__index``, ``__parent_index``);
    one column per field; ``__bad``: a cell of the row did not type (see :func:`failed_cells`).
    """
    landed = plan.table.landed
    content = [h for h in landed.headers if h not in _bookkeeping(plan.table)]
    # coalesce stops at the first filled cell, so a normal row costs one test
    filled = ", ".join(f"case when {clean_text('s.' + ident(h), trim=False)} is not null then 1 end"
                       for h in content)
    blank = f"coalesce({filled}) is null" if content else "true"
    if not main and plan.index_sql is not None:
        # a repeat instance is a row even without a stored answer (a group holding only nested
        # repeats, or a household member whose only answer is a name)
        blank = f"({blank}) and ({plan.index_sql}) is null"
    # three steps, so each cell is cleaned once and typed once: text, typed value, checks
    texts = [f"{f.text_sql} as {ident('t_' + f.column)}" for f in plan.fields]
    typed = [f"{f.typed_from(ident('t_' + f.column))} as {ident(f.column)}" for f in plan.fields]
    fails = [f"({ident('t_' + f.column)} is not null and {ident(f.column)} is null)"
             for f in plan.fields if f.type_checked]
    if main:
        meta = {"__id": plan.id_sql, "__submitted": plan.submitted_sql,
                "__submitted_text": plan.submitted_text_sql, "__status": plan.status_sql,
                "__version": plan.version_sql, "__index": plan.index_sql}
    else:
        meta = {"__index": plan.index_sql, "__parent_index": plan.parent_index_sql,
                "__version": plan.version_sql}
    meta["__ever"] = plan.effective_version_sql
    meta_sql = [f"{expr or 'null'} as {ident(n)}" for n, expr in meta.items()]
    step1 = (f"select {blank} as __blank, {', '.join([*meta_sql, *texts])} "
             f"from {ident(landed.rows_view)} s")
    step2 = f"select *, {', '.join(typed)} from ({step1})" if typed else step1
    keep = ", ".join(["__blank", *(ident(n) for n in meta), *(ident(f.column) for f in plan.fields)])
    final = f"select {keep}, {' or '.join(fails) or 'false'} as __bad from ({step2})"
    if main:
        prefix_parts = ["__id"] if plan.id_is_uuid else [literal(form_id), "__id"]
        # no id at all (some Kobo test exports): the answers themselves identify the submission
        stored = sorted((f for f in plan.fields if f.stored), key=lambda f: (f.name, f.indices))
        parts = ", ".join(f"{literal(f.name)}, coalesce(cast({ident(f.column)} as varchar), chr(0))"
                          for f in stored) or "''"
        content_id = f"'content:' || md5(concat_ws(chr(31), {parts}))"
        key = (f"case when __id is not null then {pseudonym_sql('r', *prefix_parts)} "
               f"else {pseudonym_sql('r', literal(form_id), content_id)} end")
        # the raw ids leave here: only their keyed pseudonyms are kept
        no_id = ", __id is null as __no_id" if plan.id_source is not None else ""
        final = f"select * exclude (__id), {key} as __key{no_id} from ({final})"
    # rows keep file order (DuckDB preserves insertion order), so rowid gives the row number
    # for free: a numbering window over the rows would make the whole read single-threaded
    data = f"{name}_data"
    con.execute(f"create or replace temp table {ident(data)} as {final}")
    n_rows, n_blank = con.execute(
        f"select count(*), count(*) filter (where __blank) from {ident(data)}").fetchall()[0]
    if n_blank:
        con.execute(f"delete from {ident(data)} where __blank")
    con.execute(f"create or replace temp view {ident(name)} as select rowid + {landed.first_row} as __row, "
                f"* exclude (__index), coalesce(__index, rowid + 1) as __index from {ident(data)}")
    typed = Typed(plan, name, landed.sheet, n_rows, n_blank)
    if plan.version_sql is not None:
        counts = dict(con.execute(f"select __version, count(*) from {ident(data)} group by all").fetchall())
        given = set(plan.versions or ())
        # a version column that never names a given version is not comparable (a form without
        # a version in its settings): every row is then read with the form given
        if given and given & set(counts):
            typed.other_versions = {v: n for v, n in counts.items() if v is not None and v not in given}
        if typed.other_versions:
            others = ", ".join(literal(v) for v in typed.other_versions)
            typed.other_version_rows = {int(r) for (r,) in con.execute(
                f"select __row from {ident(name)} where __version in ({others})").fetchall()}
    return typed


def label_value_maps(con: duckdb.DuckDBPyConnection, table: ExportTable, form: Form) -> dict[str, dict[str, str]]:
    """For a labels export: each select_multiple column's distinct values (space-joined choice
    labels, which may hold spaces) read as choice names; values not made of labels are left out
    (they pass unchanged, to be checked)."""
    from pipeline.ingest.survey.plan import parse_labels

    if not table.label_values:
        return {}
    out: dict[str, dict[str, str]] = {}
    for header, r in table.of_kind("question").items():
        q = form.question(r.path)
        if q is None or q.type != "select_multiple":
            continue
        col = ident(header)
        values = [v for (v,) in con.execute(
            f"select distinct trim({col}) from {ident(table.landed.rows_view)} where {col} is not null").fetchall()]
        mapping = {}
        for v in values:
            names = parse_labels(v, form, q.list_name)
            if names is not None and names != v:
                mapping[v] = names
        out[header] = mapping
    return out


def _municipality_map(con: duckdb.DuckDBPyConnection, typed: Typed, f: Field) -> str:
    """Resolve the distinct municipality spellings of a field; returns the map's table name."""
    values = [r[0] for r in con.execute(
        f"select distinct {ident(f.column)} from {ident(typed.table)} where {ident(f.column)} is not null"
    ).fetchall()]
    norm = normaliser()
    rows = []
    for v in values:
        muni_id, reason = norm.try_resolve(v)
        rows.append((v, muni_id, reason))
    name = f"{typed.table}_muni_{f.column}"
    frame = pa.table({"raw": pa.array([r[0] for r in rows], pa.string()),
                      "muni_id": pa.array([r[1] for r in rows], pa.string()),
                      "reason": pa.array([r[2] for r in rows], pa.string())})
    _register(con, name, frame)
    return name


def municipality_maps(con: duckdb.DuckDBPyConnection, typed: Typed) -> dict[str, str]:
    """Map tables (raw spelling -> muni_id, reason) for every municipality field."""
    return {f.column: _municipality_map(con, typed, f) for f in typed.plan.fields
            if f.kind == "municipality"}


def _resolved_select(maps: dict[str, str], fields: list[Field]) -> tuple[list[str], str]:
    """Value expressions (one per field) and joins that replace municipality spellings by ids."""
    exprs, joins = [], []
    for f in fields:
        if f.column in maps:
            alias = f"m_{f.column}"
            joins.append(f"left join {ident(maps[f.column])} {alias} on {alias}.raw = t.{ident(f.column)}")
            exprs.append(f"{alias}.muni_id")
        else:
            exprs.append(f"t.{ident(f.column)}")
    return exprs, " ".join(joins)


@dataclass
class Checks:
    """What pandera is to check of a typed table: the frame (index = source row) and rules;
    with ``versions`` (the form version each row is read with), each version's own rules."""

    frame: pd.DataFrame | None
    rules: list
    consent_column: str | None
    fields: list[Field] | None = None
    versions: pd.Series | None = None


def failed_cells(con: duckdb.DuckDBPyConnection, typed: Typed) -> list[tuple[int, str, str]]:
    """(row, field column, raw text) of every cell that did not type.

    Reads the rows flagged ``__bad`` again from the landed table (a CSV read in place is
    parsed once more, numbered by a window: slow, but only when a file has such cells).
    """
    checked = [f for f in typed.plan.fields if f.type_checked]
    flagged = f"(select __row from {ident(typed.table)} where __bad)"
    if not checked or not _scalar(con, f"select count(*) from {flagged}"):
        return []
    landed = typed.landed
    if landed.raw is None:
        source, number = ident(landed.table), f"rowid + {landed.first_row}"
    else:
        source, number = ident(landed.rows_view), "row_number() over () + 1"
    texts = ", ".join(f"{f.text_sql} as {ident('t_' + f.column)}" for f in checked)
    pairs = ", ".join(
        f"case when t.{ident('t_' + f.column)} is not null and v.{ident(f.column)} is null then "
        f"{{'col': {literal(f.column)}, 'val': t.{ident('t_' + f.column)}}} end" for f in checked)
    rows = con.execute(
        f"select __row, unnest(list_filter([{pairs}], lambda p: p is not null), recursive := true) from "
        f"(select {number} as __row, {texts} from {source} s) t semi join {flagged} b using (__row) "
        f"join {ident(typed.table)} v using (__row)").fetchall()
    return [(int(r), col, val) for r, col, val in rows]


def sql_problems(con: duckdb.DuckDBPyConnection, typed: Typed, maps: dict[str, str]) -> pd.DataFrame:
    """Cells that did not type, and municipality names the normaliser refused."""
    by_col = {f.column: f for f in typed.plan.fields}
    found = [pd.DataFrame(columns=PROBLEM_COLUMNS)]
    bad = failed_cells(con, typed)
    if bad:
        rows = [(typed.sheet, r, by_col[col].source, _shown(by_col[col], val), "type",
                 f"{by_col[col].name.rsplit('/', 1)[-1]} {_TYPE_REASON[by_col[col].kind]}", None)
                for r, col, val in bad]
        found.append(pd.DataFrame(rows, columns=PROBLEM_COLUMNS))
    for col, map_table in maps.items():
        f = by_col[col]
        rows = con.execute(
            f"select t.__row, t.{ident(col)}, m.reason from {ident(typed.table)} t join {ident(map_table)} m "
            f"on m.raw = t.{ident(col)} where m.muni_id is null").fetchall()
        found.append(pd.DataFrame(
            [(typed.sheet, r, f.source, v, "municipality", f"{reason} {v!r}", None) for r, v, reason in rows],
            columns=PROBLEM_COLUMNS))
    plan = typed.plan
    if plan.id_source is not None and "__no_id" in _columns(con, typed.table):
        rows = con.execute(f"select __row from {ident(typed.table)} where __no_id").fetchall()
        found.append(pd.DataFrame(
            [(typed.sheet, r, plan.id_source, None, "identity",
              f"no respondent id ({plan.id_source} is blank or a declared missing code)", ROW) for (r,) in rows],
            columns=PROBLEM_COLUMNS))
    if plan.submitted_text_sql is not None and "__submitted_text" in _columns(con, typed.table):
        rows = con.execute(f"select __row, __submitted_text from {ident(typed.table)} "
                           "where __submitted_text is not null and __submitted is null").fetchall()
        found.append(pd.DataFrame(
            [(typed.sheet, r, plan.submitted_source, v, "type",
              "_submission_time is not a date and time: which edit of a submission counts falls back to "
              "the order of the files and rows", NOTE) for r, v in rows], columns=PROBLEM_COLUMNS))
    return pd.concat([f for f in found if not f.empty] or found[:1], ignore_index=True)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"select * from {ident(table)} limit 0").description}


def validation_checks(con: duckdb.DuckDBPyConnection, typed: Typed, maps: dict[str, str],
                      consent: str | None) -> Checks:
    """The frame and rules pandera validates (municipalities already replaced by their ids)."""
    plan = typed.plan
    checked = [f for f in plan.fields
               if f.lo is not None or f.hi is not None or f.choices or f.required or f.variants]
    if not checked:
        return Checks(None, [], None)
    exprs, joins = _resolved_select(maps, checked)
    select = ", ".join(f"{e} as {ident(f.column)}" for e, f in zip(exprs, checked, strict=True))
    consent_col = None
    if consent is not None:
        cf = plan.by_name(consent)
        consent_col = cf.column if cf is not None else None
        if consent_col is not None and cf not in checked:
            select += f", t.{ident(consent_col)}"
    by_version = any(f.variants for f in checked)
    if by_version:
        select += ", t.__ever"
    frame = _frame(con, f"select t.__row, {select} from {ident(typed.table)} t {joins}").set_index("__row")
    versions = frame.pop("__ever") if by_version else None
    if consent is not None and consent_col is None:  # no consent question: everyone consented
        consent_col = "__no_consent_column"
        frame[consent_col] = pd.Series("yes", index=frame.index, dtype="string")
    return Checks(frame, [f.rule() for f in checked], consent_col, checked, versions)


_PARALLEL_ROWS = 100_000  # above this, two threads validate half of the columns each


def run_checks(checks: Checks) -> pd.DataFrame:
    """Validate with pandera; rows of each form version with that version's rules; big frames
    in two threads (Arrow kernels release the GIL)."""
    if checks.frame is None:
        return _no_failures()
    if checks.versions is not None:
        parts = []
        for version in checks.versions.dropna().unique():
            rows = (checks.versions == version).fillna(False).to_numpy(dtype=bool)
            rules = [r for r in (f.rule(version) for f in checks.fields) if r is not None]
            parts.append(run_checks(Checks(checks.frame[rows], rules, checks.consent_column)))
        parts = [p for p in parts if not p.empty]
        return pd.concat(parts, ignore_index=True) if parts else _no_failures()
    if len(checks.frame) < _PARALLEL_ROWS or len(checks.rules) < 2:
        return validate_frame(checks.frame, checks.rules, checks.consent_column)

    def half(rules: list) -> pd.DataFrame:
        cols = list(dict.fromkeys([r.column for r in rules] + ([checks.consent_column] if checks.consent_column
                                                                else [])))
        return validate_frame(checks.frame[cols], rules, checks.consent_column)

    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(half, [checks.rules[0::2], checks.rules[1::2]]))
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else _no_failures()


def _no_failures() -> pd.DataFrame:
    return pd.DataFrame(columns=["source_row", "column", "value", "rule", "reason"])


def _actions(typed: Typed, problems: pd.DataFrame) -> pd.Series:
    """What each problem does: quarantine the row (a row-level field: identity, design,
    consent; an orphan), note a value kept as it is (a required answer left blank; a value of a
    row whose form version was not given), or load the cell as missing (everything else)."""
    by_source = {f.source: f for f in typed.plan.fields}
    other_rows = typed.other_version_rows
    out = []
    for row, col, rule in zip(problems["source_row"], problems["column_name"], problems["rule"], strict=True):
        f = by_source.get(col)
        if rule in ("orphan", "parent_quarantined") or (f is not None and (f.row_level or f.kind == "code")):
            out.append(ROW)
        elif rule == "required" or (f is not None and f.role is None and int(row) in other_rows):
            out.append(NOTE)
        else:
            out.append(CELL)
    return pd.Series(out, index=problems.index, dtype=object)


def set_problems(typed: Typed, found_sql: pd.DataFrame, found_checks: pd.DataFrame | None = None) -> None:
    """Merge the problems of a table into ``typed.problems`` (with their action) and
    ``typed.bad_rows`` (rows not loaded)."""
    parts = [found_sql]
    if found_checks is not None and not found_checks.empty:
        result = found_checks.rename(columns={"column": "column_name"})
        result.insert(0, "sheet", typed.sheet)
        codes = {f.source for f in typed.plan.fields if f.kind == "code"}
        result["value"] = [PERSONAL_VALUE if src in codes and v is not None else v
                           for src, v in zip(result["column_name"], result["value"], strict=True)]
        result["action"] = None
        parts.append(result[PROBLEM_COLUMNS])
    parts = [p for p in parts if not p.empty]
    problems = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PROBLEM_COLUMNS)
    if not problems.empty:
        # a cell that did not type (or name a municipality) is reported once, not again as missing
        first = problems[problems["rule"].isin(["type", "municipality"])]
        seen = set(zip(first["source_row"], first["column_name"], strict=True))
        keep = [not (rule == "required" and (row, col) in seen) for row, col, rule in
                zip(problems["source_row"], problems["column_name"], problems["rule"], strict=True)]
        problems = problems[keep].reset_index(drop=True)
        problems["value"] = problems["value"].map(safe_value).astype(object)
        if typed.missing_codes:
            # a required answer the source declared missing: say which code it was
            for i, (row, col, rule) in enumerate(zip(problems["source_row"], problems["column_name"],
                                                     problems["rule"], strict=True)):
                found = typed.missing_codes.get((int(row), col)) if rule == "required" else None
                if found is not None:
                    code, label = found
                    problems.loc[problems.index[i], "value"] = code
                    problems.loc[problems.index[i], "reason"] += (
                        f" (declared missing in the file: {code}" + (f" = {label})" if label else ")"))
        fixed = problems["action"].notna()
        problems["action"] = problems["action"].where(fixed, _actions(typed, problems))
    typed.problems = problems
    rows = problems["source_row"][problems["action"] == ROW] if not problems.empty else []
    typed.bad_rows = {int(r) for r in rows}


def null_cells(con: duckdb.DuckDBPyConnection, typed: Typed) -> int:
    """Load the quarantined cells of loaded rows as missing; returns how many cells."""
    p = typed.problems
    if p.empty:
        return 0
    by_source = {f.source: f for f in typed.plan.fields}
    cells = p[(p["action"] == CELL) & ~p["source_row"].isin(typed.bad_rows)]
    done = 0
    for source, group in cells.groupby("column_name"):
        f = by_source.get(source)
        if f is None:
            continue
        rows = ", ".join(str(int(r) - typed.landed.first_row) for r in group["source_row"].unique())
        con.execute(f"update {ident(typed.table + '_data')} set {ident(f.column)} = null where rowid in ({rows})")
        done += len(group)
    return done


def find_problems(con: duckdb.DuckDBPyConnection, typed: Typed, maps: dict[str, str],
                  consent: str | None) -> None:
    """Every problem of a typed table, in one run: types, municipalities, ranges, choices,
    required answers. Fills ``typed.problems`` and ``typed.bad_rows``."""
    found_sql = sql_problems(con, typed, maps)
    set_problems(typed, found_sql, run_checks(validation_checks(con, typed, maps, consent)))


def _shown(f: Field, value) -> str | None:
    return PERSONAL_VALUE if f.kind == "code" and value is not None else value


def personal_safety_net(con: duckdb.DuckDBPyConnection, typed: Typed) -> list[str]:
    """Drop (or blank cells of) free-text fields holding phone- or e-mail-like values nobody
    declared personal; returns notes saying what was done."""
    texts = [f for f in typed.plan.fields if f.kind == "text" and f.stored]
    if not texts:
        return []
    counts = ", ".join(
        f"count({ident(f.column)}), count(*) filter (where {looks_personal_sql(ident(f.column))})"
        for f in texts)
    row = con.execute(f"select {counts} from {ident(typed.table)}").fetchall()[0]
    notes = []
    for i, f in enumerate(texts):
        n, hits = row[2 * i], row[2 * i + 1]
        if not hits:
            continue
        if hits >= max(1, _PERSONAL_SHARE * n):
            typed.plan.fields.remove(f)
            typed.dropped.append(f.source)
            notes.append(f"{typed.sheet}: column {f.source} dropped: {hits} of {n} values look like "
                         "phone numbers or e-mail addresses")
        else:
            con.execute(f"update {ident(typed.table + '_data')} set {ident(f.column)} = null "
                        f"where {looks_personal_sql(ident(f.column))}")
            notes.append(f"{typed.sheet}: {hits} phone- or e-mail-like values in {f.source} blanked")
    return notes


@dataclass
class Link:
    """How a repeat table's rows hang on the submission: its typed table and parent."""

    typed: Typed
    repeat_path: str
    parent_path: str | None     # None: the parent is the submission (main table)
    parents: dict[int, int]     # repeat row -> parent row (the main row for top-level repeats)
    sub_rows: dict[int, int]    # repeat row -> main __row it belongs to
    orphans: set[int]


def link_repeats(con: duckdb.DuckDBPyConnection, main: Typed, repeats: list[Typed], form: Form) -> list[Link]:
    """Link every repeat row to its parent (by ``_parent_index`` = parent's ``_index``) and to
    the submission (main row); rows whose parent is missing are orphans."""
    links: list[Link] = []
    by_path: dict[str, Link] = {}
    for typed in sorted(repeats, key=lambda t: form.repeats_depth(t.plan.table.scope)):
        path = typed.plan.table.scope
        parent_path = form.parent_repeat(path)
        parent = by_path.get(parent_path) if parent_path else None
        parent_table = main.table if parent_path is None else (parent.typed.table if parent else None)
        if parent_table is None:
            pairs = con.execute(f"select __row, null from {ident(typed.table)}").fetchall()
        else:
            pairs = con.execute(
                f"select r.__row, p.__row from {ident(typed.table)} r left join {ident(parent_table)} p "
                f"on p.__index = r.__parent_index").fetchall()
        parents = {r: p for r, p in pairs if p is not None}
        if parent_path is None:
            sub = dict(parents)
        else:
            sub = {r: parent.sub_rows[p] for r, p in parents.items() if p in parent.sub_rows}
        link = Link(typed, path, parent_path, parents, sub, {r for r, _ in pairs} - set(sub))
        links.append(link)
        by_path[path] = link
    return links


def cascade(main: Typed, links: list[Link]) -> None:
    """Quarantine repeat rows whose submission or parent row is quarantined, and orphans."""
    bad_of: dict[str | None, set[int]] = {None: main.bad_rows}
    for link in links:
        t = link.typed
        parent_bad = bad_of.get(link.parent_path, set())
        extra = [(t.sheet, r, "_parent_index", None, "orphan",
                  f"no parent row for this {link.repeat_path} row in the export", ROW)
                 for r in sorted(link.orphans) if r not in t.bad_rows]
        where = f"sheet {main.sheet}" if link.parent_path is None else f"repeat {link.parent_path}"
        for r, p in sorted(link.parents.items()):
            if r not in t.bad_rows and r not in link.orphans and p in parent_bad:
                extra.append((t.sheet, r, None, None, "parent_quarantined",
                              f"its parent row ({where}, row {p}) is quarantined", ROW))
        if extra:
            add = pd.DataFrame(extra, columns=PROBLEM_COLUMNS)
            t.problems = pd.concat([t.problems, add], ignore_index=True) if not t.problems.empty else add
            t.bad_rows |= {int(x[1]) for x in extra}
        bad_of[link.repeat_path] = t.bad_rows


@dataclass
class StoreContext:
    """Where rows go: batch ids, form identity, wave."""

    form_id: str
    form_version: str
    wave: str
    batch_of_sheet: dict[tuple[str, str], int]   # (file path, sheet) -> batch id
    main_batch: int
    now: datetime = field(default_factory=datetime.now)


def _exclusion(con: duckdb.DuckDBPyConnection, name: str, rows: set[int]) -> str:
    _register(con, name, pa.table({"__row": pa.array(sorted(rows), pa.int64())}))
    return name


def store_main(con: duckdb.DuckDBPyConnection, ctx: StoreContext, main: Typed,
               maps: dict[str, str]) -> str:
    """Insert the main table's loaded rows (submissions and their answers, one row per
    question: municipality names as ids, link codes as keyed pseudonyms).

    Returns the temporary view mapping ``__row`` to ``submission_id``.
    """
    excluded = _exclusion(con, f"{main.table}_excluded", main.bad_rows)
    base = _scalar(con, "select coalesce(max(submission_id), 0) from stg_survey__submissions")
    ids = f"{main.table}_ids"
    # a view: repeat rows and the version check read it, a plain load of a million rows does not
    con.execute(
        f"create or replace temp view {ident(ids)} as select t.__row, {base} + t.__row as submission_id, "
        f"t.__key, t.__index from {ident(main.table)} t anti join {ident(excluded)} x on x.__row = t.__row")
    con.execute(
        "insert into stg_survey__submissions (submission_id, batch_id, form_id, form_version, wave, target,"
        " respondent_key, source_sheet, source_row, source_index, submitted_at,"
        " validation_status, kobo_version, is_current)"
        f" select {base} + t.__row, ?, ?, coalesce(t.__ever, ?), ?, null, t.__key, ?, t.__row, t.__index,"
        f" t.__submitted, t.__status, t.__version, true from {ident(main.table)} t"
        f" anti join {ident(excluded)} x on x.__row = t.__row",
        [ctx.main_batch, ctx.form_id, ctx.form_version, ctx.wave, main.sheet])
    generic = [f for f in main.plan.fields if f.stored and not f.indices and f.source not in main.dropped]
    if generic:
        _store_answers(con, main, generic, base, excluded, maps)
    return ids


def _stored_value(f: Field, expr: str) -> str:
    """The text stored for a field: link codes as keyed pseudonyms, the rest as typed."""
    if f.kind == "code":
        # self-generated codes come back in any case and spacing: compare them bare
        return pseudonym_sql("y", f"upper(regexp_replace({expr}, '\\s', '', 'g'))")
    return f"cast({expr} as varchar)"


def _store_answers(con: duckdb.DuckDBPyConnection, main: Typed, fields: list[Field], base: int,
                   excluded: str, maps: dict[str, str]) -> None:
    exprs, joins = _resolved_select(maps, fields)
    casts = ", ".join(f"{_stored_value(f, e)} as {ident(f.name)}" for f, e in zip(fields, exprs, strict=True))
    names = ", ".join(ident(f.name) for f in fields)
    con.execute(
        "insert into stg_survey__answers (submission_id, question, value) "
        f"select submission_id, question, value from (select {base} + t.__row as submission_id, {casts} "
        f"from {ident(main.table)} t {joins} anti join {ident(excluded)} x on x.__row = t.__row) "
        f"unpivot include nulls (value for question in ({names}))")


def store_missing_codes(con: duckdb.DuckDBPyConnection, main: Typed, ids: str,
                        missing: list[tuple[int, str, str, str | None]]) -> int:
    """Keep the code of every answer a source declared missing (loaded rows only), under the
    question name the answer is stored by (a canonical name where the source is mapped)."""
    if not missing:
        return 0
    names = {f.source: f.name for f in main.plan.fields if f.stored}
    rows = [(r + main.landed.first_row, names[v], code, label) for r, v, code, label in missing if v in names]
    if not rows:
        return 0
    _register(con, f"{main.table}_missing", pa.table({
        "__row": pa.array([r[0] for r in rows], pa.int64()), "question": pa.array([r[1] for r in rows], pa.string()),
        "code": pa.array([r[2] for r in rows], pa.string()), "label": pa.array([r[3] for r in rows], pa.string())}))
    con.execute("insert into stg_survey__missing_codes (submission_id, question, code, label) "
                f"select i.submission_id, m.question, m.code, m.label from {ident(main.table + '_missing')} m "
                f"join {ident(ids)} i on i.__row = m.__row")
    return len(rows)


def recompute_current(con: duckdb.DuckDBPyConnection, form_id: str, wave: str) -> None:
    """After a batch was replaced: the current version of each respondent (form, wave) anew,
    the latest submission time, then the latest batch, then the last row."""
    con.execute(
        "update stg_survey__submissions s set is_current = r.rank = 1 from (select submission_id, "
        "row_number() over (partition by respondent_key order by submitted_at desc nulls last, batch_id desc, "
        "source_row desc) as rank from stg_survey__submissions where form_id = ? and wave = ?) r "
        "where s.submission_id = r.submission_id", [form_id, wave])


def store_repeats(con: duckdb.DuckDBPyConnection, ctx: StoreContext, main: Typed, ids: str,
                  links: list[Link]) -> dict[str, int]:
    """Insert the loaded rows of repeat sheets/files; returns rows stored per repeat path."""
    out = {}
    for link in links:
        t = link.typed
        fields = [f for f in t.plan.fields if f.stored and f.source not in t.dropped]
        good = {r: m for r, m in link.sub_rows.items() if r not in t.bad_rows}
        out[link.repeat_path] = len(good)
        if not good:
            continue
        sub = f"{t.table}_sub"
        _register(con, sub, pa.table({"__row": pa.array(list(good), pa.int64()),
                                      "__main_row": pa.array(list(good.values()), pa.int64())}))
        batch = ctx.batch_of_sheet[(str(t.landed.file), t.sheet)]
        # every instance, with its links, whether or not an answer of it is stored
        con.execute(
            "insert into stg_survey__repeat_instances (submission_id, batch_id, repeat_path, row_index,"
            " parent_path, parent_index, source_sheet, source_row)"
            f" select i.submission_id, {batch}, {literal(link.repeat_path)}, t.__index,"
            f" {literal(link.parent_path)}, t.__parent_index, {literal(t.sheet)}, t.__row"
            f" from {ident(t.table)} t join {ident(sub)} g on g.__row = t.__row"
            f" join {ident(ids)} i on i.__row = g.__main_row")
        if not fields:
            continue
        casts = ", ".join(f"cast(t.{ident(f.column)} as varchar) as {ident(f.name)}" for f in fields)
        names = ", ".join(ident(f.name) for f in fields)
        con.execute(
            "insert into stg_survey__repeat_rows (submission_id, batch_id, repeat_path, row_index,"
            " parent_path, parent_index, source_sheet, source_row, question, value)"
            f" select i.submission_id, {batch}, {literal(link.repeat_path)}, u.__index,"
            f" {literal(link.parent_path)}, u.__parent_index, {literal(t.sheet)}, u.__row, u.question, u.value"
            f" from (select t.__row, t.__index, t.__parent_index, {casts} from {ident(t.table)} t)"
            f" unpivot include nulls (value for question in ({names})) u"
            f" join {ident(sub)} g on g.__row = u.__row join {ident(ids)} i on i.__row = g.__main_row")
    return out


def store_wide_repeats(con: duckdb.DuckDBPyConnection, ctx: StoreContext, main: Typed, ids: str,
                       wide: dict[str, list[tuple[tuple[int, ...], list[Field]]]], form: Form) -> dict[str, int]:
    """Insert repeat instances held as ``[n]`` columns of the main table (wide CSV).

    Instances are numbered in reading order within the batch (``row_index``); a nested
    instance points to its parent instance's number.
    """
    out: dict[str, int] = {}
    numbered: dict[str, str] = {}
    for path, instances in wide.items():
        parts = []
        for chain, fields in instances:
            present = " or ".join(f"t.{ident(f.column)} is not null" for f in fields if f.stored)
            parts.append(f"select t.__row, [{', '.join(str(i) for i in chain)}] as chain from "
                         f"{ident(main.table)} t semi join {ident(ids)} i on i.__row = t.__row where {present}")
        inst = f"{main.table}_wide_{len(numbered)}"
        parent_path = form.parent_repeat(path)
        if parent_path is None or parent_path not in numbered:
            parent_sql = "i.__index"
            parent_join = f"join {ident(ids)} i on i.__row = w.__row"
        else:
            parent_sql = "p.row_index"
            parent_join = (f"join {ident(numbered[parent_path])} p on p.__row = w.__row "
                           f"and p.chain = w.chain[1:len(w.chain) - 1]")
        con.execute(
            f"create or replace temp table {ident(inst)} as select w.__row, w.chain, "
            f"row_number() over (order by w.__row, w.chain) as row_index, {parent_sql} as parent_index "
            f"from ({' union all '.join(parts)}) w {parent_join}")
        numbered[path] = inst
        out[path] = _scalar(con, f"select count(*) from {ident(inst)}")
        con.execute(
            "insert into stg_survey__repeat_instances (submission_id, batch_id, repeat_path, row_index,"
            " parent_path, parent_index, source_sheet, source_row)"
            f" select i.submission_id, {ctx.main_batch}, {literal(path)}, w.row_index, {literal(parent_path)},"
            f" w.parent_index, {literal(main.sheet)}, w.__row from {ident(inst)} w"
            f" join {ident(ids)} i on i.__row = w.__row")
        values = []
        for chain, fields in instances:
            for f in fields:
                if not f.stored:
                    continue
                values.append(
                    f"select t.__row, [{', '.join(str(i) for i in chain)}] as chain, {literal(f.name)} as question, "
                    f"cast(t.{ident(f.column)} as varchar) as value from {ident(main.table)} t")
        con.execute(
            "insert into stg_survey__repeat_rows (submission_id, batch_id, repeat_path, row_index,"
            " parent_path, parent_index, source_sheet, source_row, question, value)"
            f" select i.submission_id, {ctx.main_batch}, {literal(path)}, w.row_index, {literal(parent_path)},"
            f" w.parent_index, {literal(main.sheet)}, w.__row, v.question, v.value"
            f" from ({' union all '.join(values)}) v join {ident(inst)} w on w.__row = v.__row"
            f" and w.chain = v.chain join {ident(ids)} i on i.__row = w.__row")
    return out


def _content_hashes(con: duckdb.DuckDBPyConnection, ctx: StoreContext) -> None:
    """Hash the stored content of the submissions in ``_spsc_candidates`` (their answers and
    repeat rows, without ids or batch numbers) into ``_spsc_hashes``."""
    parts = []
    parts.append(
        "select submission_id, md5(string_agg(question || '=' || coalesce(value, chr(0)), chr(31) "
        "order by question)) as h from stg_survey__answers semi join _spsc_candidates using (submission_id) "
        "group by submission_id")
    parts.append(
        "select submission_id, md5(string_agg(repeat_path || '/' || question || '=' || coalesce(value, chr(0)), "
        "chr(31) order by repeat_path, row_index, question)) as h from stg_survey__repeat_rows "
        "semi join _spsc_candidates using (submission_id) group by submission_id")
    union = " union all ".join(f"select submission_id, {i} as part, h from ({q})" for i, q in enumerate(parts))
    con.execute(
        "create or replace temp table _spsc_hashes as select c.submission_id, "
        "md5(coalesce(string_agg(u.h, '|' order by u.part), '')) as content_hash "
        f"from _spsc_candidates c left join ({union}) u using (submission_id) group by c.submission_id")


def settle_versions(con: duckdb.DuckDBPyConnection, ctx: StoreContext, keys: str) -> tuple[int, int]:
    """Keep one current version per respondent (form, wave): the latest submission time, then
    the latest batch, then the last row; record replacements where the content changed.

    Args:
        keys: a table of the respondent keys (``__key``) this load stored.

    Returns ``(replaced, unchanged)``: versions replaced by different content, and repeated
    rows (re-exports, duplicates) identical to the version that counts.
    """
    earlier = _scalar(con, "select count(*) from stg_survey__submissions where form_id = ? and wave = ? "
                           "and batch_id <> ? and is_current", [ctx.form_id, ctx.wave, ctx.main_batch])
    if earlier:
        con.execute(
            "create or replace temp table _spsc_conflicts as "
            "select s.respondent_key from stg_survey__submissions s semi join "
            f"(select distinct __key as respondent_key from {ident(keys)}) k on k.respondent_key = s.respondent_key "
            "where s.form_id = ? and s.wave = ? and s.is_current "
            "group by s.respondent_key having count(*) > 1", [ctx.form_id, ctx.wave])
    else:  # the wave's first export: only its own repeated rows can conflict
        con.execute("create or replace temp table _spsc_conflicts as select __key as respondent_key "
                    f"from {ident(keys)} group by __key having count(*) > 1")
    if not _scalar(con, "select count(*) from _spsc_conflicts"):
        return 0, 0
    con.execute(
        "create or replace temp table _spsc_candidates as "
        "select s.submission_id, s.batch_id, s.respondent_key, s.submitted_at, s.source_row "
        "from stg_survey__submissions s semi join _spsc_conflicts c on c.respondent_key = s.respondent_key "
        "where s.form_id = ? and s.wave = ? and s.is_current", [ctx.form_id, ctx.wave])
    _content_hashes(con, ctx)
    con.execute(
        "create or replace temp table _spsc_ranked as "
        "select c.*, h.content_hash, row_number() over (partition by c.respondent_key "
        "order by c.submitted_at desc nulls last, c.batch_id desc, c.source_row desc) as rank "
        "from _spsc_candidates c join _spsc_hashes h using (submission_id)")
    con.execute("update stg_survey__submissions s set content_hash = r.content_hash from _spsc_ranked r "
                "where s.submission_id = r.submission_id")
    changed = ("from _spsc_ranked l join _spsc_ranked w on w.respondent_key = l.respondent_key and w.rank = 1 "
               "where l.rank > 1 and l.content_hash <> w.content_hash")
    replaced = _scalar(con, f"select count(*) {changed}")
    unchanged = _scalar(con, "select count(*) from _spsc_ranked where rank > 1") - replaced
    con.execute(
        "insert into survey_replacements select ?, ?, l.respondent_key, l.submission_id, w.submission_id,"
        f" l.batch_id, w.batch_id, l.submitted_at, w.submitted_at, ? {changed}",
        [ctx.form_id, ctx.wave, ctx.now])
    con.execute("update stg_survey__submissions set is_current = false where submission_id in "
                "(select submission_id from _spsc_ranked where rank > 1)")
    return replaced, unchanged
