"""Finding the problems of a typed survey table, all in one run, and what each does.

Cells that did not type and municipality names nobody knows (SQL), then ranges, choices and
required answers (pandera, lazily, so one run reports them all); free-text columns holding
phone numbers or e-mail addresses nobody declared personal; repeat rows whose parent is
missing or quarantined. Each problem quarantines its row, loads its cell as missing, or loads
the value with a note (:data:`ROW`, :data:`CELL`, :data:`NOTE`).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipeline.ingest.survey.plan import Field
from pipeline.ingest.survey.schema import validate_frame
from pipeline.ingest.survey.sql import EMAIL_PATTERN, PHONE_PATTERN, looks_personal_sql
from pipeline.ingest.survey.typed_table import (
    CELL,
    NOTE,
    PROBLEM_COLUMNS,
    ROW,
    Typed,
    arrow_frame,
    resolved_select,
)
from pipeline.ingest.survey.xlsform import Form
from pipeline.warehouse import runner, scalar
from pipeline.warehouse.runner import ident

PERSONAL_VALUE = "<personal>"
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
    if not checked or not scalar(con, f"select count(*) from {flagged}"):
        return []
    landed = typed.landed
    if landed.raw is None:
        source, number = landed.table, f"rowid + {int(landed.first_row)}"
    else:
        source, number = landed.rows_view, "row_number() over () + 1"
    rows = runner.rows(con, "ingest/failed_cells", typed=typed.table, source=source, number=number,
                       fields=[{"column": f.column, "text": f.text_sql} for f in checked])
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
    exprs, joins = resolved_select(maps, checked)
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
    frame = arrow_frame(con, f"select t.__row, {select} from {ident(typed.table)} t {joins}").set_index("__row")
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
    row = runner.rows(con, "ingest/personal_values", table=typed.table,
                      columns=[{"column": f.column, "looks_personal": looks_personal_sql(ident(f.column))}
                               for f in texts])[0]
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
