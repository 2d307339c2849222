"""Storing one typed survey export: submissions, answers, repeat rows, missing codes, and
which version of each respondent counts, inside the caller's transaction.

Every statement is a model under ``pipeline/warehouse/models/ingest`` run by
:mod:`pipeline.warehouse.runner`; the batch, form, wave and sheet are bound as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.ingest.survey.plan import Field
from pipeline.ingest.survey.problems import Link
from pipeline.ingest.survey.sql import pseudonym_sql
from pipeline.ingest.survey.typed_table import Typed, register_table, resolved_select
from pipeline.ingest.survey.xlsform import Form
from pipeline.warehouse import runner, scalar


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
    register_table(con, name, pa.table({"__row": pa.array(sorted(rows), pa.int64())}))
    return name


def store_main(con: duckdb.DuckDBPyConnection, ctx: StoreContext, main: Typed,
               maps: dict[str, str]) -> str:
    """Insert the main table's loaded rows (submissions and their answers, one row per
    question: municipality names as ids, link codes as keyed pseudonyms).

    Returns the temporary view mapping ``__row`` to ``submission_id``.
    """
    excluded = _exclusion(con, f"{main.table}_excluded", main.bad_rows)
    base = scalar(con, "select coalesce(max(submission_id), 0) from stg_survey__submissions")
    # a view: repeat rows and the version check read it, a plain load of a million rows does not
    ids = runner.create(con, "ingest/submission_ids", "temp view", as_name=f"{main.table}_ids",
                        table=main.table, excluded=excluded, base=base)
    runner.append(con, "stg_survey__submissions", "ingest/new_submissions", table=main.table,
                  excluded=excluded, base=base, batch_id=ctx.main_batch, form_id=ctx.form_id,
                  form_version=ctx.form_version, wave=ctx.wave, sheet=main.sheet)
    generic = [f for f in main.plan.fields if f.stored and not f.indices and f.source not in main.dropped]
    if generic:
        exprs, _ = resolved_select(maps, generic)
        runner.append(
            con, "stg_survey__answers", "ingest/new_answers", table=main.table, excluded=excluded, base=base,
            answers=[{"name": f.name, "value": _stored_value(f, e)} for f, e in zip(generic, exprs, strict=True)],
            municipalities=[{"alias": f"m_{f.column}", "map": maps[f.column], "column": f.column}
                            for f in generic if f.column in maps])
    return ids


def _stored_value(f: Field, expr: str) -> str:
    """The text stored for a field: link codes as keyed pseudonyms, the rest as typed."""
    if f.kind == "code":
        # self-generated codes come back in any case and spacing: compare them bare
        return pseudonym_sql("y", f"upper(regexp_replace({expr}, '\\s', '', 'g'))")
    return f"cast({expr} as varchar)"


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
    codes = f"{main.table}_missing"
    register_table(con, codes, pa.table({
        "__row": pa.array([r[0] for r in rows], pa.int64()), "question": pa.array([r[1] for r in rows], pa.string()),
        "code": pa.array([r[2] for r in rows], pa.string()), "label": pa.array([r[3] for r in rows], pa.string())}))
    runner.append(con, "stg_survey__missing_codes", "ingest/new_missing_codes", codes=codes, ids=ids)
    return len(rows)


def recompute_current(con: duckdb.DuckDBPyConnection, form_id: str, wave: str) -> None:
    """After a batch was replaced: the current version of each respondent (form, wave) anew,
    the latest submission time, then the latest batch, then the last row."""
    runner.execute(con, "ingest/current_versions", {"form_id": form_id, "wave": wave})


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
        register_table(con, sub, pa.table({"__row": pa.array(list(good), pa.int64()),
                                           "__main_row": pa.array(list(good.values()), pa.int64())}))
        context = {"table": t.table, "rows": sub, "ids": ids, "repeat_path": link.repeat_path,
                   "parent_path": link.parent_path, "sheet": t.sheet,
                   "batch_id": ctx.batch_of_sheet[(str(t.landed.file), t.sheet)]}
        # every instance, with its links, whether or not an answer of it is stored
        runner.append(con, "stg_survey__repeat_instances", "ingest/new_repeat_instances", **context)
        if fields:
            runner.append(con, "stg_survey__repeat_rows", "ingest/new_repeat_rows",
                          questions=[{"name": f.name, "column": f.column} for f in fields], **context)
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
        parent_path = form.parent_repeat(path)
        parent = numbered.get(parent_path) if parent_path is not None else None
        inst = runner.create(
            con, "ingest/wide_repeat_numbered", "temp table", as_name=f"{main.table}_wide_{len(numbered)}",
            table=main.table, ids=ids, parent=parent,
            instances=[{"chain": list(chain), "columns": [f.column for f in fields if f.stored]}
                       for chain, fields in instances])
        numbered[path] = inst
        out[path] = scalar(con, f"select count(*) from {runner.ident(inst)}")
        context = {"table": main.table, "numbered": inst, "ids": ids, "repeat_path": path,
                   "parent_path": parent_path, "sheet": main.sheet, "batch_id": ctx.main_batch}
        runner.append(con, "stg_survey__repeat_instances", "ingest/new_wide_repeat_instances", **context)
        answers = [{"chain": list(chain), "name": f.name, "column": f.column}
                   for chain, fields in instances for f in fields if f.stored]
        if answers:
            runner.append(con, "stg_survey__repeat_rows", "ingest/new_wide_repeat_rows", answers=answers, **context)
    return out


def settle_versions(con: duckdb.DuckDBPyConnection, ctx: StoreContext, keys: str) -> tuple[int, int]:
    """Keep one current version per respondent (form, wave): the latest submission time, then
    the latest batch, then the last row; record replacements where the content changed.

    Args:
        keys: a table of the respondent keys (``__key``) this load stored.

    Returns ``(replaced, unchanged)``: versions replaced by different content, and repeated
    rows (re-exports, duplicates) identical to the version that counts.
    """
    wave = {"form_id": ctx.form_id, "wave": ctx.wave}
    earlier = scalar(con, "select count(*) from stg_survey__submissions where form_id = ? and wave = ? "
                          "and batch_id <> ? and is_current", [ctx.form_id, ctx.wave, ctx.main_batch])
    runner.create(con, "ingest/version_conflicts", "temp table", as_name="_spsc_conflicts",
                  params=wave if earlier else None, keys=keys, earlier=bool(earlier))
    if not scalar(con, "select count(*) from _spsc_conflicts"):
        return 0, 0
    runner.create(con, "ingest/version_candidates", "temp table", as_name="_spsc_ranked", params=wave)
    replaced = runner.rows(con, "ingest/version_replacements", {**wave, "now": ctx.now})
    unchanged = scalar(con, "select count(*) from _spsc_ranked where rank > 1") - len(replaced)
    runner.append(con, "survey_replacements", "ingest/version_replacements", params={**wave, "now": ctx.now})
    runner.execute(con, "ingest/version_settled")
    return len(replaced), unchanged
