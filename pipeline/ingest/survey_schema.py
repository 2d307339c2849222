"""The canonical survey questions: one definition per question, whatever wave or source.

Each mapped source (a Kobo export of a project form, an SPSS file, a plain CSV) is renamed,
typed and recoded into these questions; validation (pandera, lazy) checks them here, so one
indicator definition serves every wave and source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pandas as pd

# kinds: how a canonical question is typed and validated
KINDS = ("integer", "number", "boolean", "category", "multi", "text", "date", "datetime",
         "municipality", "code")


@dataclass(frozen=True)
class Canonical:
    """One canonical question.

    Attributes:
        name: column name in staging (``trust_municipality``).
        kind: one of :data:`KINDS` (``municipality`` resolves names to ``muni_id``; ``code``
            is a link code replaced by a keyed pseudonym).
        lo, hi: inclusive valid range for numbers.
        choices: valid values of a category; ``None`` takes them from the source codebook.
        required: ``always``, ``answering`` (only when the respondent consented) or ``None``.
        sql_type: the staging column type.
        row_level: the row is unusable without a valid value (an identity, a design column,
            the consent): a problem quarantines the row. Any other bad cell is loaded as
            missing, with the value and reason in the quarantine.
    """

    name: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    required: str | None = None
    sql_type: str = "varchar"
    row_level: bool = False


@dataclass(frozen=True)
class Target:
    """A canonical model: its staging table and questions."""

    name: str
    table: str
    form_id: str
    questions: tuple[Canonical, ...]
    consent: str | None = None  # the question whose 'yes' makes 'answering' fields required

    def get(self, name: str) -> Canonical | None:
        return next((q for q in self.questions if q.name == name), None)

    @property
    def columns(self) -> list[str]:
        return [q.name if q.kind != "municipality" else "muni_id" for q in self.questions]


def _int(name, lo, hi, required=None):
    return Canonical(name, "integer", lo, hi, required=required, sql_type="integer")


def _cat(name, choices=None, required=None, row_level=False):
    return Canonical(name, "category", choices=choices, required=required, row_level=row_level)


_TIMES = (Canonical("started_at", "datetime", sql_type="timestamp"),
          Canonical("ended_at", "datetime", sql_type="timestamp"),
          Canonical("interview_date", "date", sql_type="date"))
_TRUST = ("trust_municipality", "trust_csw", "trust_employment", "trust_health",
          "trust_mental_health", "trust_schools")

CITIZEN = Target(
    name="citizen", table="stg_survey__citizen", form_id="spsc_citizen_survey", consent="consent",
    questions=(
        *_TIMES,
        _cat("consent", ("yes", "no"), required="always", row_level=True),
        Canonical("municipality", "municipality", required="always", row_level=True),
        Canonical("settlement", "text"),
        _cat("urban_rural", ("urban", "rural")),
        _cat("sex", ("male", "female"), required="answering"),
        _int("age", 18, 100, required="answering"),
        _cat("education"), _cat("employment"), _cat("displacement"),
        *(_int(t, 0, 10) for t in _TRUST),
        _int("views_considered", 1, 5), _int("satisfaction_social", 1, 5),
        Canonical("dialogue_participation", "boolean", sql_type="boolean"),
        _int("trust_other_entity", 0, 10),
        Canonical("contact_willing", "multi", choices=("neighbour", "colleague", "friend", "in_law", "none")),
        _cat("stratum", required="always", row_level=True),
        _cat("psu", required="always", row_level=True),
        Canonical("weight", "number", lo=0.0, required="always", sql_type="double", row_level=True),
        Canonical("fpc", "number", lo=1.0, sql_type="double"),
    ),
)

YOUTH = Target(
    name="youth", table="stg_survey__youth", form_id="spsc_youth_prepost",
    questions=(
        *_TIMES,
        Canonical("participant_code", "code", required="always", row_level=True),
        _cat("phase", ("pre", "post"), required="always", row_level=True),
        Canonical("municipality", "municipality", required="always"),
        _cat("sex", ("male", "female"), required="always"),
        _int("age", 15, 100, required="always"),
        _cat("activity_type"),
        *(_int(f"att_{i}", 1, 5) for i in range(1, 5)),
        *(_int(f"eff_{i}", 1, 5) for i in range(1, 4)),
    ),
)

TARGETS = {t.name: t for t in (CITIZEN, YOUTH)}

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


def narrowed(q: Canonical, lo: float | None, hi: float | None) -> Canonical:
    """The question with its range narrowed by a form's own constraint."""
    new_lo = lo if q.lo is None else (q.lo if lo is None else max(q.lo, lo))
    new_hi = hi if q.hi is None else (q.hi if hi is None else min(q.hi, hi))
    return replace(q, lo=new_lo, hi=new_hi)


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
