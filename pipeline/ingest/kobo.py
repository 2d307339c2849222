"""KoboToolbox exports: which column is which question, and which table is which repeat.

Kobo exports come in many shapes (see ``../shared/kobo/SOURCES.md``): XLSX with one sheet per
repeat group linked by ``_index``/``_parent_index``/``_parent_table_name``; wide CSV with
``group/question`` headers or bare names and ``[1]``-indexed repeat columns; a multi-table
export as one CSV per repeat level; headers as XML names or as labels in any language;
select_multiple as one space-separated column and/or one 0/1 (True/False) column per choice.
This module resolves every header against the form (the codebook) and says what it is;
:mod:`pipeline.ingest.survey_engine` turns that into rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from pipeline.errors import RejectedFile
from pipeline.ingest.survey_land import Landed
from pipeline.ingest.xlsform import Form, Question

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
_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")
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
        geo = _GEO_PART.match(parts[-1])
        if geo:
            inner = "/".join([*parts[:-1], geo.group(1)])
            cand = self.by_path.get(inner) or self._pick(self.by_name.get(geo.group(1), []), "*", 0)
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
        return self._by_label(h, scope, idx)

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


def _scope_of(landed: Landed, resolver: HeaderResolver) -> str | None:
    form = resolver.form
    votes: Counter = Counter()
    for h in landed.headers:
        r = resolver.resolve(h, "*")
        if r.kind in ("question", "option") and r.path and "/" in h and not r.indices:
            q = form.question(r.path)
            votes[q.repeat_path if q else None] += 1
    if votes:
        return votes.most_common(1)[0][0]
    name = landed.sheet.strip().casefold()
    for rp in form.repeats:
        last = rp.rsplit("/", 1)[-1]
        if name in {rp.casefold(), last.casefold(), rp.replace("/", "_").casefold(),
                    last[:31].casefold(), rp[:31].casefold()}:
            return rp
    return None


def read_export_tables(landed: list[Landed], form: Form, personal: set[str] | None = None) -> Export:
    """Classify landed tables (sheets or files of one export) into main and repeat tables.

    Raises:
        RejectedFile: no main table, two main tables, or columns that do not fit the form.
    """
    resolver = HeaderResolver(form, personal)
    tables = []
    for t in landed:
        scope = _scope_of(t, resolver)
        t.repeat_path = scope
        cols = {h: resolver.resolve(h, scope) for h in t.headers}
        tables.append(ExportTable(t, scope, cols))
    for t in tables:
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
    return export


def _check_fits(t: ExportTable, form: Form) -> None:
    data = {h: r for h, r in t.columns.items() if r.kind not in ("meta",) and
            not (r.kind == "drop" and r.path is None)}
    if not data:
        return
    matched = sum(1 for r in data.values() if r.kind != "unknown")
    if matched / len(data) < _MIN_MATCH_SHARE:
        raise RejectedFile(
            f"does not look like an export of form {form.form_id} (only {matched} of {len(data)} "
            f"columns of sheet {t.landed.sheet!r} are questions of the form)", str(t.landed.file),
            "give the XLSForm this export was made from (--form)")
