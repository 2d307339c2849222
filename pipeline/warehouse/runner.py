"""The one model runner: every mart and every query of the warehouse from its model file.

A model is a file under ``pipeline/warehouse/models/<layer>/`` and is loaded by its name
(``"marts/respondents"``), never assembled in Python:

- ``<name>.sql`` is plain SQL, run as written;
- ``<name>.sql.j2`` is a Jinja template (as dbt's models are) for SQL whose shape follows a
  declaration: which questions a form has, which indicators the catalogue holds. The template
  gets those declarations as plain data and writes the SQL; Python writes none.

Values never enter the text. A template writes ``{{ bind(value) }}`` and the runner passes the
value as a named parameter (``$p0``) of the statement; a plain model names its parameters
(``$form_id``) and the caller gives them. The only exception is a view, which DuckDB cannot
prepare: there ``bind`` writes the value as a quoted SQL literal, and plain models with
parameters cannot be made views.

How a model is materialised is the runner's job too: :func:`create` makes a temporary view or
table (or a view of the warehouse) of it, :func:`refill` replaces the rows of a mart table with
it (the mart's table itself is created by a migration), :func:`query` reads it.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache, lru_cache
from importlib import resources

import duckdb
import jinja2
import pandas as pd

KINDS = ("temp view", "temp table", "view")


def ident(name: str) -> str:
    """A quoted SQL identifier (any header, with slashes, dots or quotes)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value) -> str:
    """A value as a SQL literal (for views only; everything else binds its values)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"no SQL literal for {value!r}")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dt.date):
        return f"{'timestamp' if isinstance(value, dt.datetime) else 'date'} '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


class _Binder:
    """``bind`` of a template: each value becomes a named parameter (or, in a view, a literal)."""

    def __init__(self, inline: bool, prefix: str = "p") -> None:
        self.inline = inline
        self.prefix = prefix
        self.params: dict[str, object] = {}

    def __call__(self, value) -> str:
        if self.inline:
            return literal(value)
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = list(value) if isinstance(value, tuple) else value
        return "$" + name


@cache
def _source(name: str) -> tuple[str, bool]:
    """The text of model ``name`` and whether it is a template."""
    base = resources.files("pipeline.warehouse").joinpath("models")
    for suffix, template in ((".sql", False), (".sql.j2", True)):
        path = base.joinpath(*f"{name}{suffix}".split("/"))
        if path.is_file():
            return path.read_text(encoding="utf-8"), template
    raise LookupError(f"no model {name!r} (models/{name}.sql or .sql.j2)")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _source(name.removesuffix(".sql.j2"))[0]),
        undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters["ident"] = ident
    return env


def render(name: str, /, *, inline: bool = False, **context) -> tuple[str, dict[str, object]]:
    """The SQL of model ``name`` and the parameters its template bound.

    Args:
        inline: write bound values as literals (for a view).
        context: what the template reads (declarations, as plain data).
    """
    text, template = _source(name)
    if not template:
        if context:
            raise TypeError(f"model {name} is plain SQL: it takes parameters, not a context")
        return text, {}
    binder = _Binder(inline)
    sql = _environment().get_template(name + ".sql.j2").render(bind=binder, **context)
    return sql, binder.params


def _merge(bound: dict, params: dict | None) -> dict | None:
    out = {**(params or {}), **bound}
    return out or None


def execute(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None, /,
            **context) -> duckdb.DuckDBPyConnection:
    """Run model ``name`` (a statement or a query) with its parameters; returns the cursor."""
    sql, bound = render(name, **context)
    merged = _merge(bound, params)
    return con.execute(sql, merged) if merged else con.execute(sql)


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None, /,
          **context) -> pd.DataFrame:
    """The rows of query model ``name`` as a DataFrame."""
    return execute(con, name, params, **context).df()


def rows(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None, /, **context) -> list[tuple]:
    """The rows of query model ``name`` as tuples."""
    return execute(con, name, params, **context).fetchall()


def create(con: duckdb.DuckDBPyConnection, name: str, kind: str, /, *, as_name: str | None = None,
           params: dict | None = None, **context) -> str:
    """Materialise model ``name`` as a relation of ``kind`` (:data:`KINDS`), named after the
    model's file (or ``as_name``), replacing one of an earlier build; returns its name."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    target = as_name or name.rsplit("/", 1)[-1]
    view = kind.endswith("view")
    if view and params:
        raise TypeError(f"model {name}: a view cannot take parameters")
    sql, bound = render(name, inline=view, **context)
    _drop_temp(con, target)
    where = "main." if kind == "view" else ""
    statement = f"create or replace {kind} {where}{ident(target)} as {sql}"
    merged = _merge(bound, params)
    con.execute(statement, merged) if merged else con.execute(statement)
    return target


def refill(con: duckdb.DuckDBPyConnection, table: str, name: str | None = None, /, *,
           params: dict | None = None, **context) -> int:
    """Replace every row of mart ``table`` by model ``name`` (default: the model of the same
    name under ``marts/``); returns the mart's rows. Call it inside the writer's transaction:
    readers never see it half-filled."""
    sql, bound = render(name or f"marts/{table}", **context)
    con.execute(f"delete from main.{ident(table)}")
    merged = _merge(bound, params)
    insert = f"insert into main.{ident(table)} by name select * from ({sql})"
    con.execute(insert, merged) if merged else con.execute(insert)
    return con.execute(f"select count(*) from main.{ident(table)}").fetchall()[0][0]


def append(con: duckdb.DuckDBPyConnection, table: str, name: str, /, *, params: dict | None = None,
           **context) -> None:
    """Insert the rows of model ``name`` into ``table`` (by column name): a load adding its
    rows to a staging table, inside its transaction."""
    sql, bound = render(name, **context)
    merged = _merge(bound, params)
    insert = f"insert into main.{ident(table)} by name select * from ({sql})"
    con.execute(insert, merged) if merged else con.execute(insert)


def build(con: duckdb.DuckDBPyConnection, models, /, **context) -> dict[str, int]:
    """Build ``models`` in order: ``(name, kind)`` pairs, where kind ``table`` refills the mart
    table of that name and the others are :data:`KINDS`; returns rows per refilled mart."""
    counts = {}
    for name, kind in models:
        if kind == "table":
            counts[name.rsplit("/", 1)[-1]] = refill(con, name.rsplit("/", 1)[-1], name, **context)
        else:
            create(con, name, kind, **context)
    return counts


def _drop_temp(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a temporary view or table ``name`` of an earlier build in this connection (one of
    the other kind would block ``create or replace``)."""
    kinds = con.execute(
        "select 'table' from duckdb_tables() where temporary and table_name = $1"
        " union all select 'view' from duckdb_views() where temporary and view_name = $1",
        [name],
    ).fetchall()
    for (kind,) in kinds:
        con.execute(f"drop {kind} temp.{ident(name)}")
