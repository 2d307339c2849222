"""KoboToolbox exports: which column is which question, and which table is which repeat.

Kobo exports come in many shapes (see ``../shared/kobo/SOURCES.md``): XLSX with one sheet per
repeat group linked by ``_index``/``_parent_index``/``_parent_table_name``; wide CSV with
``group/question`` headers or bare names and ``[1]``-indexed repeat columns; a multi-table
export as one CSV per repeat level; headers as XML names or as labels in any language;
select_multiple as one space-separated column and/or one 0/1 (True/False) column per choice.
This module resolves every header against the form (the codebook) and says what it is;
:mod:`pipeline.ingest.survey.typed_table`, :mod:`~pipeline.ingest.survey.problems` and :mod:`~pipeline.ingest.survey.store` turn that into rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.land import Landed
from pipeline.ingest.survey.xlsform import META_TYPES, Form, Question
from pipeline.warehouse.runner import ident

# Kobo metadata kept (under these keys)
META_COLUMNS = {
    "_uuid": "uuid",
    "meta/instanceID": "instance_id",
    "_submission_time": "submitted_at",
    "_validation_status": "validation_status",
    "__version__": "version",
    "_version_": "version",
    "_index": "index",
    "_parent_index": "parent_index",
    "_parent_table_name": "parent_table",
    "_submission__uuid": "submission_uuid",
    "_submission___version__": "version",   # a repeat row's copy of its submission's version
    "__case": "case",                        # an agency file's case (file name and number)
}
# Kobo bookkeeping that is not kept: why (personal ones are never read further)
DROPPED_COLUMNS = {
    "_id": "Kobo record number",
    "_tags": "Kobo tags",
    "_notes": "reviewers' notes (free text)",
    "_status": "Kobo record status",
    "_submitted_by": "personal: Kobo account of the enumerator",
    "_attachments": "personal: attachments",
    "_geolocation": "personal: GPS coordinates",
    "meta/instanceName": "personal: instance name (often built from names)",
    "meta/deprecatedID": "Kobo edit bookkeeping",
    "meta/rootUuid": "Kobo edit bookkeeping",
    "meta/audit": "personal: audit log",
    "formhub/uuid": "Kobo form bookkeeping",
    "_xform_id_string": "Kobo form bookkeeping",
    "_duration": "Kobo bookkeeping",
    "_media_all_received": "Kobo bookkeeping",
    "_total_media": "Kobo bookkeeping",
    "_attachments_count": "Kobo bookkeeping",
}
# device and account metadata written by ODK/Kobo: never read, whether or not the form declares it
DEVICE_COLUMNS = {"audit", "deviceid", "imei", "phonenumber", "subscriberid", "simserial", "username",
                  "email", "start-geopoint"}
_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")
# KPI's analysis columns (transcripts, translations, qualitative coding) follow their question:
# "<question header> - transcript (en)", "<question header> - <coding question>[/<choice>]"
_ANALYSIS = re.compile(r"^(.+?) - (.+)$")
_GEO_PART = re.compile(r"^_(.+)_(latitude|longitude|altitude|precision)$")
_MIN_MATCH_SHARE = 0.5  # fewer question columns than this share matching the form: wrong form


@dataclass(frozen=True)
class Resolved:
    """What one export column is.

    Attributes:
        kind: ``question``, ``option`` (0/1 column of one choice of a select_multiple),
            ``meta``, ``drop`` (not kept, with ``reason``) or ``unknown``.
        path: the question's path (question and option).
        choice: the choice of an option column.
        meta: the metadata key (``uuid``, ``submitted_at``, ``index`` ...).
        indices: the ``[n]`` instance numbers of a wide-CSV repeat column, outermost first.
        reason: why a column is dropped.
        personal: the column holds personal data (dropped, never read).
    """

    kind: str
    path: str | None = None
    choice: str | None = None
    meta: str | None = None
    indices: tuple[int, ...] = ()
    reason: str | None = None
    personal: bool = False
    by_label: bool = False
    analysis: str | None = None   # the question a KPI analysis column belongs to


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


class HeaderResolver:
    """Resolves export headers to the questions of a form."""

    def __init__(self, form: Form, personal: set[str] | None = None):
        self.form = form
        self.personal = set(personal or ())
        self.by_path = {q.path: q for q in form.questions}
        self.by_name: dict[str, list[Question]] = {}
        self.by_label: dict[str, list[Question]] = {}
        for q in form.questions:
            self.by_name.setdefault(q.name, []).append(q)
            for label in q.labels.values():
                self.by_label.setdefault(_norm(label), []).append(q)
        self.choice_labels: dict[tuple[str, str], str] = {}
        for c in form.choices:
            for label in c.labels.values():
                self.choice_labels.setdefault((c.list_name, _norm(label)), c.name)

    def is_personal(self, q: Question) -> bool:
        return bool(q.personal) or q.path in self.personal or q.name in self.personal

    def _question(self, q: Question, indices: tuple[int, ...]) -> Resolved:
        if self.is_personal(q):
            return Resolved("drop", path=q.path, reason=f"personal: {q.personal or 'named in the mapping'}",
                            personal=True)
        return Resolved("question", path=q.path, indices=indices)

    def _option(self, q: Question, choice: str, indices: tuple[int, ...]) -> Resolved:
        if self.is_personal(q):
            return Resolved("drop", path=q.path, reason="personal", personal=True)
        return Resolved("option", path=q.path, choice=choice, indices=indices)

    def _pick(self, candidates: list[Question], scope: str | None, depth: int) -> Question | None:
        if scope == "*":
            fitting = candidates
        else:
            fitting = [q for q in candidates if q.repeat_path == scope
                       or (depth and scope is None and q.repeat_path
                           and self.form.repeats_depth(q.repeat_path) == depth)]
        return fitting[0] if len(fitting) == 1 else None

    def resolve(self, header: str, scope: str | None) -> Resolved:
        """Resolve one header within a table of ``scope`` (a repeat path, ``None`` for the
        main table, ``"*"`` for any)."""
        h = header.strip()
        if h in META_COLUMNS:
            return Resolved("meta", meta=META_COLUMNS[h])
        if h in DROPPED_COLUMNS:
            reason = DROPPED_COLUMNS[h]
            return Resolved("drop", reason=reason, personal=reason.startswith("personal"))
        if h.startswith("_submission_"):
            return Resolved("drop", reason="copy of the submission's metadata")
        parts, indices = [], []
        for part in h.split("/"):
            m = _INDEXED.match(part)
            if m:
                parts.append(m.group(1))
                indices.append(int(m.group(2)))
            else:
                parts.append(part)
        path = "/".join(parts)
        idx = tuple(indices)
        depth = len(idx)
        q = self.by_path.get(path)
        if q is not None and (scope in ("*", q.repeat_path) or (scope is None and depth)):
            return self._question(q, idx)
        if len(parts) >= 2:
            parent = self.by_path.get("/".join(parts[:-1]))
            if parent is not None and parent.type == "select_multiple" \
                    and parts[-1] in self.form.choice_names(parent.list_name):
                return self._option(parent, parts[-1], idx)
        geo = _GEO_PART.match(parts[-1]) or _GEO_PART.match(h)
        if geo:
            inner = geo.group(1)
            cand = (self.by_path.get("/".join([*parts[:-1], inner])) or self.by_path.get(inner)
                    or self._pick(self.by_name.get(inner.rsplit("/", 1)[-1], []), "*", 0)
                    or self._pick(self.by_label.get(_norm(inner), []), "*", 0))
            if cand is not None and cand.type.endswith("geopoint"):
                return Resolved("drop", path=cand.path, reason="personal: GPS coordinates", personal=True)
        q = self._pick(self.by_name.get(parts[-1], []), scope, depth)
        if q is not None and (len(parts) == 1 or q.path.endswith(path)):
            return self._question(q, idx)
        if len(parts) >= 2:
            q = self._pick([c for c in self.by_name.get(parts[-2], []) if c.type == "select_multiple"],
                           scope, depth)
            if q is not None and parts[-1] in self.form.choice_names(q.list_name):
                return self._option(q, parts[-1], idx)
        found = self._by_label(h, scope, idx)
        if found.kind == "unknown":
            if parts[-1].casefold() in DEVICE_COLUMNS:
                return Resolved("drop", reason=f"personal: device metadata ({parts[-1]})", personal=True)
            return self._analysis(h, scope) or found
        return found

    def _analysis(self, header: str, scope: str | None) -> Resolved | None:
        """A KPI analysis column of a question (transcript, translation, coding): not a
        question of the form; transcripts and comments are free text, so never read."""
        m = _ANALYSIS.match(header)
        if not m:
            return None
        of = self.resolve(m.group(1), scope)
        if of.kind in ("question", "drop") and of.path:
            return Resolved("drop", path=None, reason=f"Kobo analysis column of {of.path} (transcript, "
                            "translation or coding: free text, not a question of the form)", personal=True,
                            analysis=of.path)
        return None

    def _by_label(self, header: str, scope: str | None, idx: tuple[int, ...]) -> Resolved:
        q = self._pick(self.by_label.get(_norm(header), []), scope, len(idx))
        if q is not None:
            return replace(self._question(q, idx), by_label=True)
        # "Question label/Choice label", group labels possibly in front
        pieces = header.split("/")
        for cut in range(len(pieces) - 1, 0, -1):
            left, right = "/".join(pieces[:cut]), "/".join(pieces[cut:])
            for start in range(cut):
                qlabel = "/".join(pieces[start:cut])
                q = self._pick([c for c in self.by_label.get(_norm(qlabel), [])
                                if c.type == "select_multiple"], scope, len(idx))
                if q is not None:
                    choice = self.choice_labels.get((q.list_name or "", _norm(right)))
                    if choice is None and right in self.form.choice_names(q.list_name):
                        choice = right
                    if choice is not None:
                        return replace(self._option(q, choice, idx), by_label=True)
            q = self._pick(self.by_label.get(_norm(right), []), scope, len(idx))
            if q is not None and left:
                return replace(self._question(q, idx), by_label=True)
        return Resolved("unknown")


@dataclass
class ExportTable:
    """A landed table and what each of its columns is."""

    landed: Landed
    scope: str | None                 # the repeat path, None for the main table
    columns: dict[str, Resolved]

    def of_kind(self, kind: str) -> dict[str, Resolved]:
        return {h: r for h, r in self.columns.items() if r.kind == kind}

    @property
    def label_values(self) -> bool:
        """Headers are labels: Kobo's label exports write choice labels as values too."""
        return any(r.by_label for r in self.columns.values() if r.kind == "question")

    def meta(self, key: str) -> str | None:
        """The header holding a metadata key, if the table has it."""
        return next((h for h, r in self.columns.items() if r.kind == "meta" and r.meta == key), None)


@dataclass
class Export:
    """One Kobo export: the main table and its repeat tables (sheets, or files of one export)."""

    main: ExportTable
    repeats: list[ExportTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tables(self) -> list[ExportTable]:
        return [self.main, *self.repeats]


_CUT = re.compile(r"^(.*?)\.\.\.(?: \((\d+)\))?$")
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(name: str) -> set[str]:
    """What KPI may call a sheet of this table: the name, with ``[]:*?/\\`` replaced by ``_``."""
    return {name.casefold(), _SHEET_UNSAFE.sub("_", name).casefold()}


def _sheet_fits(sheet: str, name: str) -> bool:
    """Whether a sheet named ``sheet`` can be KPI's sheet for a table named ``name``: the same,
    or cut to Excel's 31 characters (28 + ``...``, or 24 + ``... (n)`` when that collided)."""
    low = sheet.strip().casefold()
    if low in _sheet_names(name):
        return True
    m = _CUT.match(low)
    if not m or len(name) <= 31:
        return False
    prefix = m.group(1)
    return any(n.startswith(prefix) for n in _sheet_names(name)) and len(prefix) in (24, 28)


def _votes(landed: Landed, resolver: HeaderResolver) -> Counter:
    """Which repeat (``None``: the main table) the question columns of a table belong to."""
    form = resolver.form
    votes: Counter = Counter()
    for h in landed.headers:
        r = resolver.resolve(h, "*")
        if r.kind in ("question", "option", "drop") and r.path and not r.indices and r.analysis is None:
            q = form.question(r.path)
            if q is not None:
                votes[q.repeat_path] += 1
    return votes


def _scope_of(landed: Landed, resolver: HeaderResolver, parent_name: str | None) -> str | bool | None:
    """The repeat path a table holds (``None``: the main table; ``False``: not known yet).

    Its question columns decide; a table without any (a repeat that holds only nested repeats,
    or only personal questions) is known by its sheet name, cut or not, or by the table its
    rows point to (``_parent_table_name``)."""
    form = resolver.form
    votes = _votes(landed, resolver)
    is_child = parent_name is not None
    if votes:
        best = votes.most_common(1)[0][0]
        if best is not None or not is_child:
            return best
    named = [rp for rp in form.repeats
             if _sheet_fits(landed.sheet, rp.rsplit("/", 1)[-1]) or _sheet_fits(landed.sheet, rp)]
    if len(named) == 1:
        return named[0]
    if parent_name is not None:
        children = [rp for rp in form.repeats if _parent_name_fits(form, rp, parent_name)]
        if named:
            children = [rp for rp in children if rp in named]
        if len(children) == 1:
            return children[0]
        return False
    return None if not is_child else False


def _parent_name_fits(form: Form, repeat_path: str, parent_name: str) -> bool:
    """Whether KPI's ``_parent_table_name`` of a repeat's rows can be ``parent_name``: the
    enclosing repeat's name, or (top-level repeats) the form's title or id."""
    parent = form.parent_repeat(repeat_path)
    low = parent_name.strip().casefold()
    if parent is None:
        return low in {form.title.strip().casefold(), form.form_id.casefold()}
    return low in {parent.rsplit("/", 1)[-1].casefold(), parent.casefold()}


def _parent_table_name(con, landed: Landed) -> str | None:
    if con is None or "_parent_table_name" not in landed.headers:
        return None
    col = ident("_parent_table_name")
    rows = con.execute(f"select {col} from {ident(landed.rows_view)} where {col} is not null "
                       f"and trim({col}) <> '' limit 1").fetchall()
    return rows[0][0] if rows else None


def read_export_tables(landed: list[Landed], form: Form, personal: set[str] | None = None,
                       con=None) -> Export:
    """Classify landed tables (sheets or files of one export) into main and repeat tables.

    Args:
        con: the connection holding the landed tables (to read ``_parent_table_name`` of a
            table its columns do not place).

    Raises:
        RejectedFile: no main table, two main tables, a flattened export, or columns that do
            not fit the form.
    """
    resolver = HeaderResolver(form, personal)
    scopes: list[str | bool | None] = []
    for t in landed:
        scopes.append(_scope_of(t, resolver, _parent_table_name(con, t)))
    taken = {sc for sc in scopes if isinstance(sc, str)}
    for i, t in enumerate(landed):
        if scopes[i] is False:
            # a table nothing places is first of all a table of another form, maybe
            _check_fits(ExportTable(t, None, {h: resolver.resolve(h, "*") for h in t.headers}), form)
            # the last resort: the one repeat no other table holds
            left = [rp for rp in form.repeats if rp not in taken]
            if len(left) != 1:
                raise RejectedFile(f"cannot tell which repeat group of form {form.form_id} sheet "
                                   f"{t.sheet!r} holds", str(t.file),
                                   "is this an export of this form (--form), with its sheets as KPI named them?")
            scopes[i] = left[0]
            taken.add(left[0])
    tables = []
    for t, scope in zip(landed, scopes, strict=True):
        t.repeat_path = scope
        cols = {h: resolver.resolve(h, scope) for h in t.headers}
        tables.append(ExportTable(t, scope, cols))
    for t in tables:
        _check_flattened(t, form, resolver)
        _check_fits(t, form)
    mains = [t for t in tables if t.scope is None]
    first = landed[0].file
    if not mains:
        raise RejectedFile(f"no main table of form {form.form_id} (only repeat tables); load the "
                           "export's main file together with its repeat files", str(first))
    if len(mains) > 1:
        names = ", ".join(f"{t.landed.file.name}:{t.landed.sheet}" for t in mains)
        raise RejectedFile(f"several main tables ({names}); load one export at a time", str(first))
    export = Export(main=mains[0], repeats=[t for t in tables if t.scope is not None])
    for t in export.tables:
        unknown = [h for h, r in t.columns.items() if r.kind == "unknown"]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            export.notes.append(f"{t.landed.sheet}: {len(unknown)} columns not in form "
                                f"{form.form_id} {form.version} were dropped ({shown})")
        analysis = [h for h, r in t.columns.items() if r.analysis is not None]
        if analysis:
            export.notes.append(f"{t.landed.sheet}: {len(analysis)} Kobo analysis columns (transcripts, "
                                "translations, coding) not read")
    return export


def _check_flattened(t: ExportTable, form: Form, resolver: HeaderResolver) -> None:
    """Kobocat's flattened CSV has one row per repeat instance, the submission's answers
    repeated, and repeat questions without ``[n]``: read as submissions it would merge rows
    and drop answers, so it is refused."""
    if t.scope is not None:
        return
    inside = []
    for h in t.columns:
        r = resolver.resolve(h, "*")
        if r.kind in ("question", "option", "drop") and r.path and not r.indices and "/" in h and "[" not in h \
                and (q := form.question(r.path)) is not None and q.repeat_path is not None:
            inside.append(h)
    if inside:
        raise RejectedFile(
            f"a flattened export (one row per repeat instance: {len(inside)} repeat columns such as "
            f"{inside[0]!r} without [n] in the main table) cannot be read without losing answers",
            str(t.landed.file), "export from KoboToolbox as XLSX (one sheet per repeat) or as a wide CSV")


def evidence(t: ExportTable, form: Form) -> tuple[int, int]:
    """``(columns that are questions of the form, columns that could be)``.

    Kobo's bookkeeping (``_uuid``, ``__version__``, ``_index`` ...), metadata questions every
    form has (``start``, ``end``, ``today``, ``deviceid`` ...) and analysis columns are no
    evidence either way."""
    matched = considered = 0
    for r in t.columns.values():
        if r.kind == "meta" or r.analysis is not None:
            continue
        if r.kind == "drop" and r.path is None:
            continue
        if r.path is not None:
            q = form.question(r.path)
            if q is not None and q.type in META_TYPES:
                continue
        considered += 1
        matched += r.kind != "unknown"
    return matched, considered


def _check_fits(t: ExportTable, form: Form) -> None:
    matched, considered = evidence(t, form)
    if not considered:
        return
    if matched == 0 or matched / considered < _MIN_MATCH_SHARE:
        raise RejectedFile(
            f"does not look like an export of form {form.form_id}: {matched} of {considered} columns of "
            f"sheet {t.landed.sheet!r} are questions of the form", str(t.landed.file),
            "give the XLSForm this export was made from (--form)")
