"""Plans: for each column of a landed survey table, what it becomes and how it is checked.

A plan is a list of :class:`Field` s, each with the SQL that cleans and types one source
column (or a select_multiple's 0/1 columns) into one typed column named by the question's
codebook path. A form's settings (the project's ``forms/<form_id>.yml`` or ``--mapping``) say
which questions play a role (municipality names resolved to ids, design columns required and
numeric, link codes pseudonymised); that changes how those fields are typed and checked, not
their names. Personal columns never get a field: they are not read past the landing table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.kobo import ExportTable
from pipeline.ingest.survey.mapping import Mapping
from pipeline.ingest.survey.schema import ROLE_RULES, Rule, constraint_range
from pipeline.ingest.survey.sql import (
    as_boolean,
    as_date,
    as_integer,
    as_number,
    as_timestamp,
    clean_text,
    recode,
)
from pipeline.ingest.survey.xlsform import Form, Question
from pipeline.warehouse.runner import ident, literal

# XLSForm type -> kind of the typed value
_KIND_OF_TYPE = {
    "integer": "integer", "decimal": "number", "range": "number",
    "select_one": "category", "select_one_external": "text", "select_multiple": "multi",
    "date": "date", "today": "date", "datetime": "datetime", "start": "datetime",
    "end": "datetime",
}


@dataclass
class Field:
    """One typed column of a plan.

    Attributes:
        column: name in the typed table (``c0``, ``c1`` ...: headers can be anything).
        name: output name: the question's codebook path.
        source: the source header(s), as the quarantine reports them.
        kind: how the value is typed (see :data:`pipeline.ingest.survey.schema.KINDS`).
        text_sql: the cleaned, recoded text over the landed rows (alias ``s``).
        stored: ``False`` for columns only checked (the 0/1 columns behind a select_multiple).
        role: the role the form's settings give the question (``municipality``, ``weight`` ...).
    """

    column: str
    name: str
    source: str
    kind: str
    text_sql: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    required: str | None = None
    stored: bool = True
    role: str | None = None
    repeat_path: str | None = None
    indices: tuple[int, ...] = ()
    row_level: bool = False        # a problem here quarantines the row (else: the cell)
    # how rows of each given form version are checked, where versions differ (None: all alike);
    # a version absent from the map did not ask the question
    variants: dict[str, Field] | None = None

    @property
    def typed_sql(self) -> str:
        return self.typed_from(self.text_sql)

    def typed_from(self, t: str) -> str:
        """The typed value of the cleaned text ``t`` (an expression or a column holding it)."""
        return {
            "integer": as_integer(t), "number": as_number(t), "boolean": as_boolean(t),
            "date": as_date(t), "datetime": as_timestamp(t),
        }.get(self.kind, t)

    @property
    def type_checked(self) -> bool:
        return self.kind in {"integer", "number", "boolean", "date", "datetime"}

    def rule(self, version: str | None = None) -> Rule | None:
        """The checks of this field (for rows of ``version``: ``None`` when that version did
        not ask the question)."""
        spec = self
        if version is not None and self.variants is not None:
            spec = self.variants.get(version)
            if spec is None:
                return None
        kind = spec.kind
        if kind in {"integer", "number"} and self.kind not in {"integer", "number"}:
            kind = "text"  # typed as text for every version: ranges are not checked
        return Rule(column=self.column, source=self.source, kind=kind, lo=spec.lo, hi=spec.hi,
                    choices=spec.choices, required=spec.required, label=self.name.rsplit("/", 1)[-1])


@dataclass
class TablePlan:
    """The fields of one landed table and where its identity comes from."""

    table: ExportTable
    fields: list[Field] = field(default_factory=list)
    id_sql: str | None = None          # submission identity text (uuid or the source's id)
    id_is_uuid: bool = True            # a Kobo uuid (global) rather than an id scoped to the form
    id_source: str | None = None       # the column holding a source's own respondent id
    submitted_sql: str | None = None
    submitted_text_sql: str | None = None
    submitted_source: str | None = None
    status_sql: str | None = None
    version_sql: str | None = None
    effective_version_sql: str | None = None   # the given version a row is read with
    versions: tuple[str, ...] = ()             # the given versions, latest first
    index_sql: str | None = None
    parent_index_sql: str | None = None
    notes: list[str] = field(default_factory=list)

    def by_name(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name and f.stored), None)


def _col(header: str) -> str:
    return f"s.{ident(header)}"


_UNTRIMMED = {"integer", "number", "date", "datetime", "boolean"}


def _clean(header: str, kind: str) -> str:
    return clean_text(_col(header), trim=kind not in _UNTRIMMED)


def _multi_sql(agg: str | None, options: list[tuple[str, str]]) -> str:
    parts = []
    if agg is not None:
        parts.append(clean_text(_col(agg)))
    if options:
        picks = ", ".join(f"case when {as_boolean(_clean(h, 'boolean'))} then {literal(c)} end"
                          for c, h in options)
        any_answer = " or ".join(f"{_clean(h, 'boolean')} is not null" for _, h in options)
        parts.append(f"(case when {any_answer} then nullif(concat_ws(' ', {picks}), '') end)")
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"c{self.n}"


# roles whose problems quarantine the row (the municipality too, in a weighted survey)
ROW_LEVEL_ROLES = frozenset({"weight", "stratum", "psu", "ssu", "code", "link", "consent"})

_TEXTLIKE = {"text", "category", "multi"}
AMBIGUOUS = "\x00ambiguous"  # joined labels that read as two different sets of choices


def _versioned(table: ExportTable, form: Form) -> tuple[str | None, tuple[str, ...]]:
    """The SQL of the given version each row is read with, and the given versions (latest
    first); ``(None, ())`` for a single version or an export without ``__version__``."""
    h = table.meta("version")
    if h is None:
        return None, ()
    names = tuple(form.version_names)
    if len(form.versions) < 2:
        return None, names
    given = ", ".join(literal(v) for v in names)
    raw = _clean(h, "text")
    return f"(case when {raw} in ({given}) then {raw} else {literal(form.version)} end)", names


def _question_fields(table: ExportTable, form: Form, counter: _Counter, *, skip: set[str],
                     with_indices: bool, value_maps: dict[str, dict[str, str]] | None = None) -> list[Field]:
    """Generic fields: one per question column of the table (codebook kinds and choices), each
    row read with its own form version where the versions differ."""
    fields: list[Field] = []
    questions = table.of_kind("question")
    options = table.of_kind("option")
    version_sql, versions = _versioned(table, form)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    for header, r in questions.items():
        if r.path in skip or bool(r.indices) != with_indices or (r.path, r.indices) in seen:
            continue  # a second column for the same question (a repeated header) is not read
        seen.add((r.path, r.indices))
        opts = [(x.choice, h) for h, x in options.items() if x.path == r.path and x.indices == r.indices]
        fields += _fields_of(table, form, counter, r.path, header, opts, r.indices, version_sql, versions,
                             value_maps or {})
    for _header, o in options.items():  # 0/1 columns without their space-separated column
        if (o.path, o.indices) in seen or o.path in skip or bool(o.indices) != with_indices:
            continue
        seen.add((o.path, o.indices))
        opts = [(x.choice, h) for h, x in options.items() if x.path == o.path and x.indices == o.indices]
        fields += _fields_of(table, form, counter, o.path, None, opts, o.indices, version_sql, versions,
                             value_maps or {})
    return fields


def _text_of(q: Question, form: Form, table: ExportTable, header: str | None,
             opts: list[tuple[str, str]], value_maps: dict[str, dict[str, str]]) -> str:
    """The cleaned text of one question as one form version reads it."""
    kind = _KIND_OF_TYPE.get(q.type, "text")
    if header is None:
        return _multi_sql(None, opts) if kind == "multi" else "null"
    if kind == "multi":
        if table.label_values:
            # labels may hold spaces: the joined labels are parsed against the choice labels
            # (value_maps); where they read two ways, the 0/1 columns decide; text that is not
            # made of the labels is kept as it is (then checked), never cut to the known part
            raw = _clean(header, "text")
            found = value_maps.get(header, {})
            parsed = {k: v for k, v in found.items() if v != AMBIGUOUS}
            ambiguous = [k for k, v in found.items() if v == AMBIGUOUS]
            options = _multi_sql(None, opts) if opts else "null"
            whens = " ".join(f"when {raw} = {literal(k)} then {literal(v)}" for k, v in parsed.items())
            if ambiguous:
                whens += f" when {raw} in ({', '.join(literal(k) for k in ambiguous)}) then coalesce({options}, {raw})"
            return f"(case {whens} else coalesce({raw}, {options}) end)" if whens else f"coalesce({raw}, {options})"
        return _multi_sql(header, [])
    text = _clean(header, kind)
    if table.label_values and kind == "category":
        text = recode(text, label_recode(form, q.list_name))
    return text


def _fields_of(table: ExportTable, form: Form, counter: _Counter, path: str, header: str | None,
               opts: list[tuple[str, str]], indices: tuple[int, ...], version_sql: str | None,
               versions: tuple[str, ...], value_maps: dict[str, dict[str, str]]) -> list[Field]:
    q = form.question(path)
    source = header or ", ".join(h for _, h in opts)
    main = _generic(q, form, counter, source, _text_of(q, form, table, header, opts, value_maps))
    checks = [_option_check(h, q, counter) for _, h in opts] if header is None else []
    if versions and version_sql is not None:
        variants: dict[str, Field] = {}
        for v in versions:
            vf = form.versions[v]
            vq = vf.question(path)
            if vq is None:
                continue
            text = _text_of(vq, vf, table, header, opts if vq.type == "select_multiple" else [], value_maps) \
                if header is not None or vq.type == "select_multiple" else "null"
            variants[v] = _generic(vq, vf, _Counter(), source, text)
        alike = all((f.text_sql, f.kind, f.choices, f.lo, f.hi, f.required) ==
                    (main.text_sql, main.kind, main.choices, main.lo, main.hi, main.required)
                    for f in variants.values()) and len(variants) == len(versions)
        if not alike:
            texts = {v: f.text_sql for v, f in variants.items()}
            if len(set(texts.values())) > 1 or len(texts) < len(versions):
                whens = " ".join(f"when {literal(v)} then {t}" for v, t in texts.items())
                main.text_sql = f"(case {version_sql} {whens} else null end)"
            kinds = {f.kind for f in variants.values()}
            if len(kinds) > 1:
                main.kind = "text" if kinds <= _TEXTLIKE or not kinds <= {"integer", "number"} else "number"
                main.lo = main.hi = None
            main.variants = variants
    for f in [main, *checks]:
        f.repeat_path, f.indices = q.repeat_path, indices
    return [main, *checks]


def label_recode(form: Form, list_name: str | None) -> dict[str, str]:
    """Choice labels (every language) to choice names, for exports written with labels."""
    names = set(form.choice_names(list_name))
    seen: dict[str, set[str]] = {}
    for c in form.choices:
        if c.list_name == list_name:
            for label in c.labels.values():
                seen.setdefault(label.strip(), set()).add(c.name)
    return {label: next(iter(n)) for label, n in seen.items() if len(n) == 1 and label not in names}


def parse_labels(text: str, form: Form, list_name: str | None) -> str | None:
    """Space-joined choice labels (a labels export's select_multiple, labels may hold spaces)
    as space-joined choice names; ``None`` when the text is not made of the list's labels,
    :data:`AMBIGUOUS` when it can be read two ways."""
    labels: dict[str, set[str]] = {}
    for c in form.choices:
        if c.list_name == list_name:
            for label in [*c.labels.values(), c.name]:
                labels.setdefault(" ".join(label.split()).casefold(), set()).add(c.name)
    words = text.split()
    ways: list[list[list[str]]] = [[] for _ in range(len(words) + 1)]
    ways[0] = [[]]
    for end in range(1, len(words) + 1):
        for start in range(end):
            names = labels.get(" ".join(words[start:end]).casefold())
            if names and ways[start] and len(names) == 1:
                ways[end] += [[*w, next(iter(names))] for w in ways[start][:2]]
        ways[end] = ways[end][:2]
    found = {tuple(w) for w in ways[-1]}
    if len(found) > 1:
        return AMBIGUOUS
    if not found:
        return None
    return " ".join(next(iter(found)))


def _generic(q: Question, form: Form, counter: _Counter, header: str, text_sql: str,
             source: str | None = None) -> Field:
    kind = _KIND_OF_TYPE.get(q.type, "text")
    lo, hi = constraint_range(q.constraint) if kind in {"integer", "number"} else (None, None)
    choices = tuple(form.choice_names(q.list_name)) if kind in {"category", "multi"} else None
    required = "always" if q.required and not form.is_conditional(q) else None
    return Field(column=counter.next(), name=q.path, source=source or header, kind=kind,
                 text_sql=text_sql, lo=lo, hi=hi, choices=choices or None, required=required)


def _option_check(header: str, q: Question, counter: _Counter) -> Field:
    return Field(column=counter.next(), name=f"{q.path}/{header.rsplit('/', 1)[-1]}", source=header,
                 kind="boolean", text_sql=_clean(header, "boolean"), stored=False)


def _meta_sql(table: ExportTable, key: str) -> str | None:
    h = table.meta(key)
    return _clean(h, "text") if h else None


def plan_main(table: ExportTable, form: Form, mapping: Mapping | None, *, kobo: bool,
              value_maps: dict[str, dict[str, str]] | None = None,
              id_column: str | None = None) -> TablePlan:
    """The plan of a main table: one field per question, typed and checked as the form's
    settings (if any) say for the questions that play a role.

    Raises:
        RejectedFile: the identity column or a required role's question (design columns) is
            not in the file.
    """
    plan = TablePlan(table)
    counter = _Counter()
    uuid = _meta_sql(table, "uuid")
    # Kobo's _uuid is the instanceID without its 'uuid:': either identifies the submission
    instance = _meta_sql(table, "instance_id")
    if kobo and (mapping is None or mapping.respondent_id in (None, "_uuid", "meta/instanceID")):
        stripped = f"regexp_replace({instance}, '^uuid:', '')" if instance else None
        parts = [p for p in (uuid, stripped) if p]
        plan.id_sql = f"coalesce({', '.join(parts)})" if len(parts) > 1 else (parts[0] if parts else None)
    elif (mapping is not None and mapping.respondent_id) or id_column:
        wanted = mapping.respondent_id if mapping is not None and mapping.respondent_id else id_column
        header = _find_header(table, wanted)
        if header is None:
            raise RejectedFile(f"the respondent id column {wanted!r} named by the form's "
                               "settings is missing", str(table.landed.file))
        plan.id_sql = _clean(header, "text")
        plan.id_is_uuid = False
        plan.id_source = header
    submitted = mapping.submitted_at if mapping and mapping.submitted_at else None
    sub_header = _find_header(table, submitted) if submitted else table.meta("submitted_at")
    if sub_header:
        plan.submitted_text_sql = _clean(sub_header, "datetime")
        plan.submitted_sql = as_timestamp(plan.submitted_text_sql)
        plan.submitted_source = sub_header
    status = _meta_sql(table, "validation_status")
    if status:
        # Kobo writes {} for "no status" and prefixes statuses with validation_status_
        plan.status_sql = f"nullif(replace({status}, 'validation_status_', ''), '{{}}')"
    plan.version_sql = _meta_sql(table, "version")
    plan.effective_version_sql, plan.versions = _versioned(table, form)
    index = _meta_sql(table, "index")
    # without _index (CSV exports), the data row number stands in (see type_table)
    plan.index_sql = as_integer(index) if index else None
    # the raw id never reaches a table: only its keyed pseudonym does
    id_paths: set[str] = set()
    if plan.id_source is not None:
        r = table.columns.get(plan.id_source)
        id_paths.add(r.path if r is not None and r.path else plan.id_source)
    plan.fields += _question_fields(table, form, counter, skip=id_paths, with_indices=False,
                                    value_maps=value_maps)
    if mapping is not None:
        _apply_roles(plan, table, form, mapping)
    # repeat instances held as [n] columns (wide CSV) are typed and checked with their row
    plan.fields += _question_fields(table, form, counter, skip=set(), with_indices=True, value_maps=value_maps)
    return plan


def role_paths(form: Form, mapping: Mapping) -> tuple[dict[str, str], dict[str, str]]:
    """Question path -> role for the questions the settings give a role in this form, and
    the roles whose question the form does not have (reference -> role).

    A question may be named by its path or, where unique, by its bare name.
    """
    wanted = {q: r for r, q in mapping.roles().items()}
    wanted.update({q: "code" for q in mapping.link_codes()})
    by_name: dict[str, list[str]] = {}
    for q in form.questions:
        by_name.setdefault(q.name, []).append(q.path)
    found, absent = {}, {}
    for ref, role in wanted.items():
        if form.question(ref) is not None:
            found[ref] = role
        elif len(by_name.get(ref, [])) == 1:
            found[by_name[ref][0]] = role
        else:
            absent[ref] = role
    return found, absent


def _apply_roles(plan: TablePlan, table: ExportTable, form: Form, mapping: Mapping) -> None:
    paths, absent = role_paths(form, mapping)
    seen = set()
    for f in plan.fields:
        role = paths.get(f.name)
        if role is None or not f.stored:
            continue
        seen.add(f.name)
        rule = ROLE_RULES.get(role)
        f.role = role
        # what makes a row unusable quarantines the row: a design column, a link code, the
        # consent, and the municipality of a weighted survey (its domains); any other bad
        # cell is loaded as missing
        f.row_level = role in ROW_LEVEL_ROLES or (role == "municipality" and mapping.weighted)
        if rule is None:  # sex, consent, phase: the form's own choices and checks
            continue
        if f.kind == "multi":
            raise RejectedFile(f"{f.name} is a select_multiple and cannot be the {role}", str(table.landed.file))
        for spec, vf in [(f, form), *((v, form.versions[name]) for name, v in (f.variants or {}).items())]:
            _role_rule(spec, vf.question(f.name), rule, role, mapping)
        if role == "municipality" and mapping.municipality is not None and mapping.municipality.recode:
            # coded municipalities (an agency's 1..9) become names before they are resolved
            f.text_sql = recode(f.text_sql, mapping.municipality.recode)
    names = [q for q, role in {**paths, **absent}.items()
             if role in ROLE_RULES and ROLE_RULES[role].required == "always" and q not in seen]
    if names:
        raise RejectedFile(f"missing required columns: {', '.join(names)}", str(table.landed.file),
                           "is this an export of the right form, with XML names or labels as headers?")


def _role_rule(f: Field, q: Question | None, rule, role: str, mapping: Mapping) -> None:
    """Type and check one field (or one form version's reading of it) as its role needs."""
    if rule.kind != f.kind:
        f.kind = rule.kind
        f.choices = None
    if rule.kind in {"integer", "number"}:
        lo, hi = constraint_range(q.constraint) if q is not None else (None, None)
        f.lo = rule.lo if lo is None else (lo if rule.lo is None else max(lo, rule.lo))
        f.hi = rule.hi if hi is None else (hi if rule.hi is None else min(hi, rule.hi))
    else:
        f.lo = f.hi = None
    if rule.required:
        f.required = rule.required
    elif role == "municipality" and mapping.weighted:
        f.required = "always"  # a weighted survey's domains need the municipality


def _find_header(table: ExportTable, source: str) -> str | None:
    """The header of a source column: exact, resolved to the same question, or case-insensitive."""
    if source in table.columns:
        return source
    for h, r in table.columns.items():
        if r.kind == "question" and r.path == source and not r.indices:
            return h
        if r.kind == "meta" and source in ("_uuid", "_submission_time") and h.strip() == source:
            return h
    low = source.strip().casefold()
    return next((h for h in table.columns if h.strip().casefold() == low), None)


def plan_repeat(table: ExportTable, form: Form, value_maps: dict[str, dict[str, str]] | None = None) -> TablePlan:
    """The plan of a repeat table (a sheet or a file of its own): generic fields, links."""
    plan = TablePlan(table)
    counter = _Counter()
    plan.fields = _question_fields(table, form, counter, skip=set(), with_indices=False, value_maps=value_maps)
    plan.version_sql = _meta_sql(table, "version")
    plan.effective_version_sql, plan.versions = _versioned(table, form)
    index = _meta_sql(table, "index")
    parent = _meta_sql(table, "parent_index")
    if index is None or parent is None:
        raise RejectedFile(f"repeat table {table.landed.sheet!r} has no _index/_parent_index columns "
                           "to link its rows", str(table.landed.file))
    plan.index_sql = as_integer(index)
    plan.parent_index_sql = as_integer(parent)
    return plan


def wide_instances(plan: TablePlan, form: Form) -> dict[str, list[tuple[tuple[int, ...], list[Field]]]]:
    """Repeat instances held as ``[n]``-indexed columns of a wide CSV main table.

    Returns, per repeat path (outer repeats first), its instances: the ``[n]`` chain and the
    fields of that instance.
    """
    out: dict[str, dict[tuple[int, ...], list[Field]]] = {}
    for f in plan.fields:
        if not f.indices or f.repeat_path is None or len(f.indices) != form.repeats_depth(f.repeat_path):
            continue
        out.setdefault(f.repeat_path, {}).setdefault(f.indices, []).append(f)
    return {rp: sorted(inst.items()) for rp, inst in sorted(out.items(), key=lambda kv: kv[0].count("/"))}
