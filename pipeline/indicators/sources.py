"""Survey forms as indicator sources: the codebook, the names an indicator may use, and the
``respondents`` mart built from the project's form settings.

Any loaded form is a source. Its questions are addressed by their XLSForm name, with the group
path only where the name is not unique (``trust_csw`` or ``trust/trust_csw``); a form's
settings add scores (the mean of some questions) and, for a pre/post form, ``<name>_pre``,
``<name>_post`` and ``<name>_change`` (post minus pre) of every number. Names are checked
against the warehouse's codebook when the indicators are built, so a typo fails before any
number is computed and the error names the file, the indicator, the field and the question.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import duckdb
import pandas as pd

from pipeline.errors import SpscError
from pipeline.indicators.catalogue import DIMENSIONS, Catalogue, CatalogueError, Indicator
from pipeline.project.forms import FormSettings

NUMERIC_TYPES = {"integer", "decimal", "range", "calculate", "text", "hidden", "barcode"}
STANDARD_DIMENSIONS = set(DIMENSIONS)
PRE_POST_SUFFIXES = ("_change", "_post", "_pre")


@dataclass
class QuestionInfo:
    """One question of a form (its latest loaded version)."""

    path: str
    name: str
    type: str
    list_name: str | None
    repeat_path: str | None
    label_en: str | None = None
    label_bs: str | None = None


@dataclass
class FormCodebook:
    """A loaded form's questions (every version, the latest one's type) and choice labels."""

    form_id: str
    questions: dict[str, QuestionInfo] = field(default_factory=dict)
    choices: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # list -> choice -> labels

    def find(self, ref: str) -> tuple[QuestionInfo | None, str | None]:
        """The question a name refers to, or why none does."""
        if ref in self.questions:
            return self.questions[ref], None
        named = [q for q in self.questions.values() if q.name == ref]
        if len(named) == 1:
            return named[0], None
        if named:
            return None, f"question name {ref!r} is not unique in form {self.form_id} (write one of " \
                         f"{', '.join(sorted(q.path for q in named))})"
        close = sorted(q.path for q in self.questions.values()
                       if ref.rsplit("/", 1)[-1][:4].lower() in q.name.lower())[:3]
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return None, f"form {self.form_id} has no question {ref!r}{hint}"

    def choice_names(self, q: QuestionInfo) -> list[str]:
        return list(self.choices.get(q.list_name or "", {}))

    def numeric(self, q: QuestionInfo) -> bool:
        """Whether the question's answers are numbers (or choices named by numbers: 1-5 scales)."""
        if q.type in NUMERIC_TYPES:
            return True
        if q.type == "select_one":
            names = self.choice_names(q)
            return bool(names) and all(_is_number(n) for n in names)
        return False

    def dimension_name(self, q: QuestionInfo) -> str:
        """How a question is named as a dimension: its bare name where unique, else its path."""
        same = [x for x in self.questions.values() if x.name == q.name]
        return q.name if len(same) == 1 else q.path


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_codebooks(con: duckdb.DuckDBPyConnection) -> dict[str, FormCodebook]:
    """Every loaded form's codebook, from ``codebook_questions`` / ``codebook_choices``."""
    have = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    if "codebook_questions" not in have or "survey_forms" not in have:
        return {}
    rows = con.execute("""
        with versions as (
            select form_id, form_version, max(loaded_at) as loaded_at from survey_forms group by all
        ),
        ranked as (
            select q.*, row_number() over (partition by q.form_id, q.question
                                           order by v.loaded_at desc nulls last) as latest
            from codebook_questions as q
            left join versions as v using (form_id, form_version)
        )
        select form_id, question, name, type, list_name, repeat_path, label_en, coalesce(label_bs, label_en, label)
        from ranked where latest = 1 order by form_id, position
    """).fetchall()
    books: dict[str, FormCodebook] = {}
    for form_id, path, name, qtype, list_name, repeat_path, en, bs in rows:
        book = books.setdefault(form_id, FormCodebook(form_id))
        book.questions[path] = QuestionInfo(path, name, qtype, list_name, repeat_path, en, bs)
    for form_id, list_name, choice, label, en, bs in con.execute("""
        select form_id, list_name, choice, label, label_en, label_bs from codebook_choices
        order by form_id, form_version, list_name, position
    """).fetchall():
        if form_id in books:
            labels = books[form_id].choices.setdefault(list_name, {})
            labels.setdefault(choice, {"en": en or label or choice, "bs": bs or en or label or choice})
    return books


# ------------------------------------------------------------------------- name resolution
@dataclass(frozen=True)
class Column:
    """A per-respondent value an indicator reads: ``kind`` number, text or multi."""

    ref: str
    kind: str
    question: str | None = None  # the codebook path (None for a score)
    items: tuple[str, ...] = ()  # a score's question paths
    phase: str | None = None  # pre, post, change (pre/post forms), None = the answer itself


@dataclass
class SourcePlan:
    """What a build reads of one form: columns by reference, and its question dimensions."""

    form_id: str
    settings: FormSettings | None
    book: FormCodebook
    columns: dict[str, Column] = field(default_factory=dict)
    dimensions: dict[str, Column] = field(default_factory=dict)  # dimension name -> column
    indicators: list[Indicator] = field(default_factory=list)
    recodes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # path -> {raw: new}

    @property
    def pre_post(self):
        return self.settings.pre_post if self.settings else None

    def questions(self) -> list[str]:
        """Every codebook path the build needs the answers of."""
        out = []
        for c in [*self.columns.values(), *self.dimensions.values()]:
            out += [c.question] if c.question else list(c.items)
        return list(dict.fromkeys(out))

    def dimension_of(self, ind: Indicator, dim: str) -> str:
        """The dimension name a disaggregation is stored under (question dims normalised)."""
        if dim in STANDARD_DIMENSIONS:
            return dim
        q, _ = self.book.find(dim)
        return self.book.dimension_name(q)


def _resolve_base(plan: SourcePlan, ref: str) -> tuple[Column | None, str | None]:
    """A question or score by name (no pre/post suffix)."""
    settings = plan.settings
    if settings is not None and ref in settings.scores:
        paths = []
        for item in settings.scores[ref]:
            q, why = plan.book.find(item)
            if q is None:
                return None, f"score {ref!r}: {why}"
            if not plan.book.numeric(q):
                return None, f"score {ref!r}: {q.path} is a {q.type}, not a number"
            paths.append(q.path)
        return Column(ref, "number", items=tuple(paths)), None
    q, why = plan.book.find(ref)
    if q is None:
        return None, why
    if q.repeat_path:
        return None, (f"{q.path} is inside the repeat group {q.repeat_path}; indicators count "
                      "submissions, not repeat rows")
    kind = "multi" if q.type == "select_multiple" else "number" if plan.book.numeric(q) else "text"
    recode = (plan.recodes or {}).get(q.path)
    if kind == "number" and recode and any(v is not None and not _is_number(str(v)) for v in recode.values()):
        kind = "text"  # codes recoded to names (1 -> yes): the indicator reads the names
    return Column(ref, kind, question=q.path), None


def resolve_variable(plan: SourcePlan, ref: str) -> tuple[Column | None, str | None]:
    """A name an indicator uses: a question, a score, or (pre/post forms) ``<name>_pre`` ..."""
    if plan.pre_post is not None:
        for suffix in PRE_POST_SUFFIXES:
            if ref.endswith(suffix):
                base, _ = _resolve_base(plan, ref[: -len(suffix)])
                if base is not None:
                    if suffix == "_change" and base.kind != "number":
                        return None, f"{ref}: a change needs a number, {base.question} is not one"
                    kind = "number" if suffix == "_change" else base.kind
                    return Column(ref, kind, base.question, base.items, suffix[1:]), None
    return _resolve_base(plan, ref)


def _check_condition(plan: SourcePlan, ind: Indicator) -> list[tuple[str, str]]:
    c = ind.condition
    problems = []
    for ref in c.variables():
        col, why = resolve_variable(plan, ref)
        if col is None:
            problems.append(("condition", why))
            continue
        plan.columns[ref] = col
        test = "any_true" if c.any_true else c.test
        if test in ("range", "greater_than") and col.kind != "number":
            problems.append(("condition", f"{ref} is not a number (min/max/greater_than need one)"))
        elif test == "has" and col.question and plan.book.questions[col.question].type == "text":
            # a multiple response delivered as text (an agency's space-separated codes) reads
            # as a select_multiple: 'has' looks for the word
            plan.columns[ref] = replace(col, kind="multi")
        elif test == "has" and col.kind != "multi":
            problems.append(("condition", f"{ref} is not a select_multiple ('has' needs one; use equals or in)"))
        elif test in ("equals", "in", "any_true") and col.kind == "multi":
            problems.append(("condition", f"{ref} is a select_multiple: use 'has: CHOICE'"))
        elif test == "has" and col.question:
            choices = plan.book.choice_names(plan.book.questions[col.question])
            unknown = [h for h in c.has if choices and h not in choices]
            if unknown:
                problems.append(("condition", f"{', '.join(unknown)} not a choice of {col.question} "
                                              f"({', '.join(choices)})"))
    return problems


def plan_sources(catalogue: Catalogue, project, books: dict[str, FormCodebook]) -> tuple[
        dict[str, SourcePlan], list[str]]:
    """Resolve every survey indicator's names against its form's codebook.

    Returns the plans of the forms that are loaded, and notes on indicators whose form is not
    loaded yet (declared in ``forms/`` but with no data: nothing to compute).

    Raises:
        CatalogueError: an unknown form, question or choice, or a question of the wrong type;
            every problem at once, each naming the indicator and the field.
    """
    forms = project.forms() if project is not None else {}
    resolved = resolve_settings(project, books)
    plans: dict[str, SourcePlan] = {}
    problems: list[str] = []
    notes: dict[str, list[str]] = {}
    for ind in catalogue.indicators:
        if not ind.is_survey:
            continue
        book = books.get(ind.source)
        if book is None:
            if ind.source in forms:
                notes.setdefault(ind.source, []).append(ind.id)
            else:
                known = sorted(set(books) | set(forms))
                problems.append(f"indicator '{ind.id}': field 'source': no form {ind.source!r} is loaded or "
                                f"declared in forms/ (known: {', '.join(known) or 'none'}; or 'attendance')")
            continue
        plan = plans.setdefault(ind.source, SourcePlan(
            ind.source, forms.get(ind.source), book,
            recodes=resolved[ind.source].recodes if ind.source in resolved else {}))
        found: list[tuple[str, str]] = []
        if ind.condition is not None:
            found += _check_condition(plan, ind)
        for ref in ind.variables or []:
            col, why = resolve_variable(plan, ref)
            if col is None:
                found.append(("variables", why))
            elif col.kind != "number":
                found.append(("variables", f"{ref} is not a number (a mean needs numbers)"))
            else:
                plan.columns[ref] = col
        for dim in ind.disaggregations:
            if dim in STANDARD_DIMENSIONS:
                continue
            q, why = book.find(dim)
            if q is None:
                found.append(("disaggregations", why))
            elif q.type != "select_one" or q.repeat_path:
                found.append(("disaggregations", f"{q.path} is a {q.type}; a breakdown is by a select_one "
                                                 f"question (or {', '.join(DIMENSIONS[1:])})"))
            else:
                plan.dimensions[book.dimension_name(q)] = Column(dim, "text", question=q.path)
        problems += [f"indicator '{ind.id}': field '{f}': {m}" for f, m in found]
        plan.indicators.append(ind)
    if problems:
        raise CatalogueError("; ".join(problems), "indicators.yml")
    return plans, [f"form {f} is not loaded yet: {', '.join(ids)} not computed" for f, ids in notes.items()]


# ------------------------------------------------------------------------ respondents mart
ROLE_COLUMNS = ("municipality", "sex", "age", "birth_year", "weight", "stratum", "psu", "ssu", "fpc",
                "fpc2", "link", "phase", "consent")


@dataclass
class ResolvedSettings:
    """A loaded form's settings with every question name resolved to its codebook path."""

    form_id: str
    roles: dict[str, str] = field(default_factory=dict)  # role -> path
    recodes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # path -> {raw: new}


def resolve_settings(project, books: dict[str, FormCodebook]) -> dict[str, ResolvedSettings]:
    """The settings of every loaded form, names resolved against its codebook.

    Raises:
        SpscError: a role, recode or score names a question the form does not have (every
            problem at once, each naming the settings file and the field).
    """
    out, problems = {}, []
    forms = project.forms() if project is not None else {}
    for form_id, settings in forms.items():
        book = books.get(form_id)
        if book is None:
            continue
        where = settings.path or f"forms/{form_id}.yml"
        resolved = ResolvedSettings(form_id)
        for role, ref in settings.roles().items():
            q, why = book.find(ref)
            if q is None:
                problems.append(f"{where}: field '{role}': {why}")
            else:
                resolved.roles[role] = q.path
        for ref, mapping in settings.recodes().items():
            q, why = book.find(ref)
            if q is None:
                problems.append(f"{where}: field 'recode.{ref}': {why}")
                continue
            spelled = resolved.recodes.setdefault(q.path, {})
            for raw, value in mapping.items():
                # a number is stored as its typed text ("99" of a decimal question is "99.0")
                spellings = {raw}
                if _is_number(raw):
                    spellings |= {str(float(raw)), str(int(float(raw))) if float(raw).is_integer() else raw}
                spelled.update(dict.fromkeys(spellings, value))
        for score, items in settings.scores.items():
            for item in items:
                q, why = book.find(item)
                if q is None:
                    problems.append(f"{where}: field 'scores.{score}': {why}")
        out[form_id] = resolved
    if problems:
        raise SpscError("; ".join(problems), "forms", "name questions as in the form (group path optional)")
    return out


def pivot_sql(form_id: str, columns: dict[str, str], recodes: dict[str, dict] | None = None) -> str:
    """The SQL of one row per current submission of a form with one text column per question
    (``{column: path}``): model ``intermediate/int_survey__answers_pivoted``, values written in
    (for a reader outside a build, e.g. a benchmark's reference query)."""
    from pipeline.warehouse import runner

    return runner.render("intermediate/int_survey__answers_pivoted", inline=True, form_id=form_id,
                         columns=columns, recodes=recodes or {})[0]


def _role_forms(resolved: dict[str, ResolvedSettings]) -> list[dict]:
    """What model ``int_survey__respondent_roles`` reads of the forms' settings."""
    return [{"form_id": form_id, "recodes": settings.recodes or {},
             "columns": {role: path for role, path in settings.roles.items() if role in ROLE_COLUMNS}}
            for form_id, settings in sorted(resolved.items())]


def register_seeds(con: duckdb.DuckDBPyConnection, project, books: dict[str, FormCodebook]) -> dict:
    """The temporary relations the respondents model reads: the role answers of every current
    submission (``int_survey__respondent_roles``) and every municipality spelling among them,
    resolved (``seed_municipality_names``). Returns the resolved settings."""
    from pipeline.reference.names import normaliser
    from pipeline.warehouse import runner

    resolved = resolve_settings(project, books)
    runner.create(con, "intermediate/int_survey__respondent_roles", "temp view",
                  forms=_role_forms(resolved), roles=list(ROLE_COLUMNS))
    # answers loaded with the settings are ids already; others are resolved here
    raws = [r[0] for r in con.execute(
        "select distinct municipality from int_survey__respondent_roles where municipality is not null").fetchall()]
    norm = normaliser()
    names = pd.DataFrame([(raw, norm.try_resolve(raw)[0]) for raw in raws], columns=["raw", "muni_id"],
                         dtype=object)
    _temp_table(con, "seed_municipality_names", names)
    return resolved


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    con.register(f"_{name}_in", frame.astype("string") if not frame.empty else frame)
    try:
        if frame.empty:
            cols = ", ".join(f"{c} varchar" for c in frame.columns)
            con.execute(f"create or replace temp table {name} ({cols})")
        else:
            con.execute(f"create or replace temp table {name} as select * from _{name}_in")
    finally:
        con.unregister(f"_{name}_in")


def build_respondents(con: duckdb.DuckDBPyConnection, project, books: dict[str, FormCodebook]) -> int:
    """Refill the ``respondents`` mart (call inside the build's transaction); returns its rows."""
    from pipeline.ingest.survey.models import create_survey_views
    from pipeline.warehouse import runner

    register_seeds(con, project, books)
    create_survey_views(con, project)
    return runner.refill(con, "respondents")


def refresh_respondents(settings) -> int:
    """Rebuild ``respondents`` of ``settings.db`` from the project's form settings (the first
    step of ``spsc build``, on its own); returns its rows."""
    from pipeline.warehouse import connect, transaction

    project = settings.require_project()
    con = connect(settings.db, wait=30)
    try:
        with transaction(con):
            return build_respondents(con, project, read_codebooks(con))
    finally:
        con.close()
