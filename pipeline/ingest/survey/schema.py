"""What a survey column is checked against: kinds, ranges from XLSForm constraints, and the
lazy pandera validation of a typed export.

Every question keeps its own name; a project's form settings (``forms/<form_id>.yml``) only say
which questions play a role the pipeline needs (municipality, design columns, link codes,
consent), which changes how they are typed and checked (see :mod:`pipeline.ingest.survey.plan`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# kinds: how a column is typed and validated (``municipality`` resolves names to ``muni_id``;
# ``code`` is a link code replaced by a keyed pseudonym)
KINDS = ("integer", "number", "boolean", "category", "multi", "text", "date", "datetime",
         "municipality", "code")


@dataclass(frozen=True)
class RoleRule:
    """How a question playing a role is typed and checked.

    Attributes:
        kind: one of :data:`KINDS`.
        lo, hi: inclusive valid range for numbers (narrowed by the form's own constraint).
        required: ``always``, ``answering`` (only when the respondent consented) or ``None``
            (keep the form's own rule).
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    required: str | None = None


# role -> rule; design columns are what a weighted survey cannot do without
ROLE_RULES = {
    "municipality": RoleRule("municipality"),
    "weight": RoleRule("number", lo=0.0, required="always"),
    "stratum": RoleRule("text", required="always"),
    "psu": RoleRule("text", required="always"),
    "ssu": RoleRule("text", required="always"),
    "fpc": RoleRule("number", lo=1.0),
    "fpc2": RoleRule("number", lo=1.0),
    "age": RoleRule("integer", lo=0, hi=120),
    "birth_year": RoleRule("integer", lo=1900, hi=2100),
    "code": RoleRule("code"),
}


_BOUND = re.compile(r"^\s*\.\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


def constraint_range(expr: str | None) -> tuple[float | None, float | None]:
    """Bounds stated by a simple XLSForm constraint (``. >= 18 and . <= 95``), else ``(None, None)``.

    Strict bounds on integers are turned into inclusive ones; anything more complex than
    comparisons of ``.`` joined by ``and`` is ignored (the form enforced it on the phone).
    """
    if not expr:
        return None, None
    lo = hi = None
    for part in re.split(r"\s+and\s+", expr.strip()):
        m = _BOUND.match(part)
        if not m:
            return None, None
        op, num = m.group(1), float(m.group(2))
        if op == ">=":
            lo = num
        elif op == ">":
            lo = num + 1 if num.is_integer() else num
        elif op == "<=":
            hi = num
        else:
            hi = num - 1 if num.is_integer() else num
    return lo, hi


@dataclass(frozen=True)
class Rule:
    """One validated column: what pandera checks on its typed values."""

    column: str          # column of the typed frame
    source: str          # source header, for the quarantine
    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    required: str | None = None
    label: str = ""      # name shown in reasons


def _range_text(lo, hi) -> str:
    def fmt(x):
        return str(int(x)) if float(x).is_integer() else str(x)

    if lo is not None and hi is not None:
        return f"{fmt(lo)}-{fmt(hi)}"
    return f">= {fmt(lo)}" if lo is not None else f"<= {fmt(hi)}"


def build_schemas(rules: list[Rule], consent_column: str | None):
    """Lazy pandera schemas over the typed frame: ranges, choices and required answers by
    column; answers required only of consenting respondents by a second schema, run on just
    those columns and the consent (pandera reports a frame-wide check for every column).

    Check errors carry the rule and column (``range:age``) so failures map back to cells.
    """
    import pandera.pandas as pa

    columns, conditional = {}, []
    for r in rules:
        checks = []
        if r.kind in {"integer", "number"} and (r.lo is not None or r.hi is not None):
            if r.lo is not None and r.hi is not None:
                check = pa.Check.in_range(r.lo, r.hi, error=f"range:{r.column}")
            elif r.lo is not None:
                check = pa.Check.greater_than_or_equal_to(r.lo, error=f"range:{r.column}")
            else:
                check = pa.Check.less_than_or_equal_to(r.hi, error=f"range:{r.column}")
            checks.append(check)
        if r.kind in {"category", "municipality"} and r.choices:
            checks.append(pa.Check.isin(list(r.choices), error=f"choice:{r.column}"))
        if r.kind == "multi" and r.choices:
            alt = "|".join(re.escape(c) for c in r.choices)
            checks.append(pa.Check.str_matches(rf"^(?:{alt})(?: (?:{alt}))*$", error=f"choice:{r.column}"))
        always = r.required == "always" or (r.required == "answering" and consent_column is None)
        columns[r.column] = pa.Column(checks=checks, nullable=not always, required=True)
        if r.required == "answering" and consent_column is not None:
            conditional.append(pa.Check(
                lambda d, c=r.column: d[c].notna() | d[consent_column].ne("yes").fillna(True),
                error=f"required:{r.column}"))
    main = pa.DataFrameSchema(columns, coerce=False)
    answering = pa.DataFrameSchema(checks=conditional) if conditional else None
    return main, answering


def _failures(schema, frame: pd.DataFrame) -> pd.DataFrame | None:
    import pandera.pandas as pa

    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    return None


def validate_frame(frame: pd.DataFrame, rules: list[Rule], consent_column: str | None) -> pd.DataFrame:
    """Every failed check of the typed frame (index = source row), one run, all problems.

    Returns one row per failed cell: ``source_row``, ``column``, ``value``, ``rule``, ``reason``.
    """
    out = pd.DataFrame(columns=["source_row", "column", "value", "rule", "reason"])
    if frame.empty or not rules:
        return out
    main, answering = build_schemas(rules, consent_column)
    found = [_failures(main, frame)]
    if answering is not None:
        narrow = [r.column for r in rules if r.required == "answering"] + [consent_column]
        found.append(_failures(answering, frame[list(dict.fromkeys(narrow))]))
    found = [f for f in found if f is not None and not f.empty]
    if not found:
        return out
    cases = pd.concat(found, ignore_index=True)
    by_col = {r.column: r for r in rules}
    checks = cases["check"].astype(str)
    # pandera names its own not-null check "not_nullable": that is a missing required answer
    named = {c: (c.split(":", 1) if ":" in c else ["required", None]) for c in checks.unique()}
    cases["rule"] = checks.map(lambda c: named[c][0])
    cases["col"] = [named[c][1] or col for c, col in zip(checks, cases["column"], strict=True)]
    cases = cases[cases["col"].isin(by_col.keys())].drop_duplicates(["index", "rule", "col"])
    rows = []
    for rule, col, idx, failure in zip(cases["rule"], cases["col"], cases["index"],
                                       cases["failure_case"], strict=True):
        r = by_col[col]
        value = None if rule == "required" else _fmt(failure)
        if rule == "range":
            reason = f"{r.label} {_fmt(failure)} is outside {_range_text(r.lo, r.hi)}"
        elif rule == "choice":
            reason = f"{r.label} {_fmt(failure)!r} is not one of the form's choices"
        else:
            reason = f"{r.label} is required but missing"
        rows.append((int(idx), r.source, value, rule, reason))
    return pd.DataFrame(rows, columns=["source_row", "column", "value", "rule", "reason"])


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
