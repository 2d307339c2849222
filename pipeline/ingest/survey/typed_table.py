"""Typing one landed survey table, in DuckDB, over whole columns.

Every field is typed ``TRY_CAST``-style (a bad cell is a NULL plus a flag, never an
exception) and identities are pseudonymised with a keyed SQL HMAC, in one pass over the rows
(model ``ingest/typed_rows``); select_multiple answers of a labels export are read back as
choice names, and municipality spellings resolved to ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from pipeline.ingest.survey.kobo import ExportTable
from pipeline.ingest.survey.plan import Field, TablePlan
from pipeline.ingest.survey.sql import clean_text, pseudonym_sql
from pipeline.ingest.survey.xlsform import Form
from pipeline.reference.names import normaliser
from pipeline.warehouse import runner
from pipeline.warehouse.runner import ident, literal

PROBLEM_COLUMNS = ["sheet", "source_row", "column_name", "value", "rule", "reason", "action"]
# what a problem does to the load: the row is not loaded, the cell is loaded as missing, or
# the value is loaded as it is with a note
ROW, CELL, NOTE = "row", "cell", "note"


def arrow_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A query's rows as a DataFrame of Arrow-backed columns (no copy into NumPy)."""
    return con.sql(sql).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def register_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame | pa.Table) -> None:
    """Copy ``frame`` into the temporary table ``name`` of ``con``."""
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
    if main:
        meta = {"__id": plan.id_sql, "__submitted": plan.submitted_sql,
                "__submitted_text": plan.submitted_text_sql, "__status": plan.status_sql,
                "__version": plan.version_sql, "__index": plan.index_sql}
    else:
        meta = {"__index": plan.index_sql, "__parent_index": plan.parent_index_sql,
                "__version": plan.version_sql}
    meta["__ever"] = plan.effective_version_sql
    key = None
    if main:
        prefix_parts = ["__id"] if plan.id_is_uuid else [literal(form_id), "__id"]
        # no id at all (some Kobo test exports): the answers themselves identify the submission
        stored = sorted((f for f in plan.fields if f.stored), key=lambda f: (f.name, f.indices))
        parts = ", ".join(f"{literal(f.name)}, coalesce(cast({ident(f.column)} as varchar), chr(0))"
                          for f in stored) or "''"
        content_id = f"'content:' || md5(concat_ws(chr(31), {parts}))"
        key = (f"case when __id is not null then {pseudonym_sql('r', *prefix_parts)} "
               f"else {pseudonym_sql('r', literal(form_id), content_id)} end")
    data = f"{name}_data"
    runner.create(
        con, "ingest/typed_rows", "temp table", as_name=data, source=landed.rows_view,
        # coalesce stops at the first filled cell, so a normal row costs one test
        filled=[clean_text("s." + ident(h), trim=False) for h in content],
        repeat_index=None if main else plan.index_sql,
        meta=[{"name": n, "value": expr} for n, expr in meta.items()],
        fields=[{"column": f.column, "text": f.text_sql, "typed": f.typed_from(ident("t_" + f.column)),
                 "checked": f.type_checked} for f in plan.fields],
        key=key, no_id=main and plan.id_source is not None)
    n_rows, n_blank = con.execute(
        f"select count(*), count(*) filter (where __blank) from {ident(data)}").fetchall()[0]
    if n_blank:
        con.execute(f"delete from {ident(data)} where __blank")
    runner.create(con, "ingest/numbered_rows", "temp view", as_name=name, data=data, first_row=landed.first_row)
    typed = Typed(plan, name, landed.sheet, n_rows, n_blank)
    if plan.version_sql is not None:
        counts = dict(con.execute(f"select __version, count(*) from {ident(data)} group by all").fetchall())
        given = set(plan.versions or ())
        # a version column that never names a given version is not comparable (a form without
        # a version in its settings): every row is then read with the form given
        if given and given & set(counts):
            typed.other_versions = {v: n for v, n in counts.items() if v is not None and v not in given}
        if typed.other_versions:
            typed.other_version_rows = {int(r) for (r,) in con.execute(
                f"select __row from {ident(name)} where list_contains($versions, __version)",
                {"versions": list(typed.other_versions)}).fetchall()}
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
    register_table(con, name, frame)
    return name


def municipality_maps(con: duckdb.DuckDBPyConnection, typed: Typed) -> dict[str, str]:
    """Map tables (raw spelling -> muni_id, reason) for every municipality field."""
    return {f.column: _municipality_map(con, typed, f) for f in typed.plan.fields
            if f.kind == "municipality"}


def resolved_select(maps: dict[str, str], fields: list[Field]) -> tuple[list[str], str]:
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
