"""XLSForms read with pyxform (the XLSForm project's own parser) into a codebook.

A :class:`Form` holds one row per question (groups and loops flattened into paths, repeats
kept as the repeat each question belongs to) and one row per choice, with labels in every
language of the form, and which questions are personal (names, phones, e-mails, addresses,
birth dates, GPS, media). Nothing here touches the warehouse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import RejectedFile

DEFAULT_LANGUAGE = "default"

# pyxform spells some types in words; the codebook uses the XLSForm short names
_TYPE_ALIASES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "string": "text",
    "gps": "geopoint",
    "int": "integer",
}
_SELECT_TYPES = {"select_one", "select_multiple", "rank"}
_GEO_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint", "background-geopoint"}
# pyxform reports an ``image`` question as ``photo``; ``audit`` is the enumerator's key log
_MEDIA_TYPES = {"image", "photo", "audio", "video", "file", "signature", "background-audio", "audit",
                "background-video", "osm"}
# device and account metadata: identify the enumerator or the phone
_DEVICE_TYPES = {"deviceid", "imei", "phonenumber", "subscriberid", "simserial", "username", "email",
                 "start-geopoint"}
# metadata questions: not evidence that an export belongs to a form (every form has them)
META_TYPES = {"start", "end", "today", "deviceid", "imei", "phonenumber", "subscriberid", "simserial",
              "username", "email", "audit", "start-geopoint", "background-audio"}
_TEXT_TYPES = {"text", "calculate", "barcode", "hidden"}
# words that make a free-text question personal when they appear in its name
_PERSONAL_WORDS = (
    "name", "ime", "prezime", "phone", "tel", "telefon", "mobile", "mobitel", "gsm", "email", "mail",
    "address", "adresa", "jmbg", "signature", "potpis",
)
_BIRTH_WORDS = ("birth", "dob", "rodjen", "rođen", "rodjenja", "rođenja")


@dataclass(frozen=True)
class Question:
    """One question of a form (grain: one per form version and question path).

    Attributes:
        path: XML path from the form root, e.g. ``location/municipality`` (no ``[n]`` indices).
        name: the question's own name (last part of the path).
        type: XLSForm type in short form (``select_one``, ``integer``, ``text``, ``geopoint`` ...).
        list_name: choice list of a select question.
        group_path: enclosing groups and repeats (``''`` at the top level).
        repeat_path: the innermost repeat the question belongs to (``None`` outside repeats).
        labels: label per language (``default`` when the form has no languages).
        required: the form marks it required.
        relevant: the question's relevance expression (skip logic), if any.
        constraint: the question's constraint expression, if any.
        personal: why the question is personal (its values never reach the warehouse), or ``None``.
        position: order in the form.
        missing_codes: codes the source declares missing (an SPSS file's user-missing values,
            ``98``, ``99``, ``1..5`` for a range; Stata's ``.a``...): they load as missing, the code kept.
    """

    path: str
    name: str
    type: str
    list_name: str | None
    group_path: str
    repeat_path: str | None
    labels: dict[str, str]
    required: bool
    relevant: str | None
    constraint: str | None
    personal: str | None
    position: int
    missing_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    """One choice of a choice list (grain: one per form version, list and choice name)."""

    list_name: str
    name: str
    labels: dict[str, str]
    position: int


@dataclass
class Form:
    """A form version: its identity, questions, repeats and choice lists."""

    form_id: str
    version: str
    title: str
    default_language: str
    languages: list[str]
    questions: list[Question]
    choices: list[Choice]
    repeats: list[str]
    relevant_groups: set[str] = field(default_factory=set)
    path: Path | None = None
    # the versions this form unites (see merge_versions); empty for a single version
    versions: dict[str, Form] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_path = {q.path: q for q in self.questions}
        self._lists: dict[str, list[str]] = {}
        for c in self.choices:
            self._lists.setdefault(c.list_name, []).append(c.name)

    def question(self, path: str) -> Question | None:
        """The question at ``path`` (``None`` if the form has none)."""
        return self._by_path.get(path)

    def choice_names(self, list_name: str | None) -> list[str]:
        """Choice names of a list, in form order (empty for unknown lists)."""
        return list(self._lists.get(list_name or "", []))

    def repeats_depth(self, repeat_path: str) -> int:
        """How many repeats enclose a repeat path, itself included (1 for a top-level repeat)."""
        return sum(1 for r in self.repeats if repeat_path == r or repeat_path.startswith(r + "/"))

    def parent_repeat(self, repeat_path: str) -> str | None:
        """The repeat enclosing a repeat, ``None`` for a top-level one."""
        enclosing = [r for r in self.repeats if repeat_path.startswith(r + "/")]
        return max(enclosing, key=len) if enclosing else None

    def is_conditional(self, q: Question) -> bool:
        """Whether skip logic may hide the question (its own or an enclosing group's relevance)."""
        if q.relevant:
            return True
        parts = q.group_path.split("/") if q.group_path else []
        return any("/".join(parts[: i + 1]) in self.relevant_groups for i in range(len(parts)))


    def of_version(self, version: str | None) -> Form:
        """The form a row of ``version`` is read with: that version when it was given, else
        the latest (this form itself when it is a single version)."""
        if version is not None and version in self.versions:
            return self.versions[version]
        return self.versions.get(self.version, self)

    @property
    def version_names(self) -> list[str]:
        """The versions given, latest first."""
        return list(self.versions) or [self.version]


def merge_versions(forms: list[Form]) -> Form:
    """One form for reading an export that holds rows of several versions (KPI exports all).

    ``forms[0]`` is the latest version. The result has the latest version's questions (with
    their types: KPI exports a question under its newest type), then the questions only older
    versions have; every choice any version offers (labels of every version); and
    ``versions`` to read each row with its own version.

    Raises:
        RejectedFile: the forms are not versions of one form, or two share a version.
    """
    if len(forms) == 1:
        return forms[0]
    latest = forms[0]
    seen: dict[str, Path | None] = {}
    for f in forms:
        if f.form_id != latest.form_id:
            raise RejectedFile(f"--form files are versions of different forms ({latest.form_id}, "
                               f"{f.form_id}); give the versions of one form", str(f.path))
        if f.version in seen:
            raise RejectedFile(f"two --form files have version {f.version!r} ({seen[f.version]})", str(f.path))
        seen[f.version] = f.path
    questions = list(latest.questions)
    paths = {q.path for q in questions}
    for f in forms[1:]:
        for q in f.questions:
            if q.path not in paths:
                paths.add(q.path)
                questions.append(q)
    choices: dict[tuple[str, str], Choice] = {}
    for f in forms:
        for c in f.choices:
            key = (c.list_name, c.name)
            if key in choices:
                old = choices[key]
                choices[key] = Choice(c.list_name, c.name, {**c.labels, **old.labels}, old.position)
            else:
                choices[key] = c
    repeats = list(dict.fromkeys(r for f in forms for r in f.repeats))
    languages = list(dict.fromkeys(lang for f in forms for lang in f.languages))
    return Form(
        form_id=latest.form_id, version=latest.version, title=latest.title,
        default_language=latest.default_language, languages=languages, questions=questions,
        choices=list(choices.values()), repeats=repeats,
        relevant_groups=set().union(*(f.relevant_groups for f in forms)), path=latest.path,
        versions={f.version: f for f in forms},
    )


def short_type(raw: str) -> str:
    """pyxform's type spelling as the XLSForm short name (``select one`` -> ``select_one``)."""
    t = str(raw).strip().lower()
    return _TYPE_ALIASES.get(t, t.replace(" ", "_"))


def personal_reason(name: str, qtype: str) -> str | None:
    """Why a question of this name and type holds personal data, or ``None``.

    Free-text questions named like a name, phone, e-mail or address; dates named like a birth
    date; every GPS and media question (photos, signatures).
    """
    words = [w for w in re.split(r"[^a-z0-9đćčšž]+", name.lower()) if w]
    joined = "_".join(words)
    if qtype in _DEVICE_TYPES:
        return f"device metadata ({qtype})"
    if qtype in _GEO_TYPES:
        return "GPS coordinates"
    if qtype in _MEDIA_TYPES:
        return f"{qtype} attachment"
    if qtype in {"date", "datetime"} and any(b in joined for b in _BIRTH_WORDS):
        return "exact birth date"
    if qtype in _TEXT_TYPES:
        for w in _PERSONAL_WORDS:
            if w in words or any(part.startswith(w) or part.endswith(w) for part in words if len(w) >= 4):
                return f"free text named like '{w}'"
    return None


_PERSONAL_LABEL_WORDS = (
    "name", "names", "surname", "ime", "prezime", "име", "презиме", "phone", "telephone", "mobile",
    "telefon", "телефон", "mobitel", "e-mail", "email", "address", "adresa", "адреса", "jmbg", "јмбг",
    "signature", "potpis", "потпис",
)
_BIRTH_LABEL_WORDS = ("birth", "rođenja", "rodjenja", "рођења", "born")


def personal_label_reason(labels: dict[str, str], qtype: str) -> str | None:
    """Why a free-text question (or a date) is personal by what its label asks, or ``None``.

    A text question labelled "Name?" or "Broj telefona" holds names or phone numbers whatever
    the question is called; a date labelled like a birth date is an exact birth date.
    """
    for text in labels.values():
        words = set(re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)?", text.casefold()))
        if qtype in _TEXT_TYPES:
            hit = next((w for w in _PERSONAL_LABEL_WORDS if w in words), None)
            if hit:
                return f"free text labelled like '{hit}'"
        if qtype in {"date", "datetime"} and any(w in words for w in _BIRTH_LABEL_WORDS):
            return "exact birth date (by its label)"
    return None


def _labels(value, languages: set[str]) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        out = {str(k): str(v) for k, v in value.items() if v not in (None, "")}
    else:
        out = {DEFAULT_LANGUAGE: str(value)}
    languages.update(out)
    return out


def _loop_label(labels: dict[str, str], column_labels: dict[str, str], column_name: str) -> dict[str, str]:
    out = {}
    for lang, text in labels.items():
        col = column_labels.get(lang) or column_labels.get(DEFAULT_LANGUAGE) or column_name
        out[lang] = text.replace("%(label)s", col).replace("%(name)s", column_name)
    return out


class _Walker:
    """Flattens pyxform's nested survey JSON into questions."""

    def __init__(self) -> None:
        self.questions: list[Question] = []
        self.repeats: list[str] = []
        self.relevant_groups: set[str] = set()
        self.languages: set[str] = set()
        self.version: str | None = None

    def walk(self, children: list[dict], prefix: str, repeat: str | None,
             loop: tuple[str, dict[str, str]] | None = None) -> None:
        for node in children:
            qtype = short_type(node.get("type", ""))
            name = str(node.get("name", ""))
            path = f"{prefix}/{name}" if prefix else name
            bind = node.get("bind") or {}
            if qtype == "group" and name == "meta" and not prefix:
                continue  # instanceID and friends are Kobo metadata, handled by the export reader
            if name == "__version__" and not prefix:
                # KPI's calculate that stamps the deployed version on each submission
                self.version = str(bind.get("calculate") or "").strip().strip("'\"") or None
                continue
            if qtype in {"group", "repeat"}:
                if bind.get("relevant"):
                    self.relevant_groups.add(path)
                self._labels_of(node)
                if qtype == "repeat":
                    self.repeats.append(path)
                self.walk(node.get("children") or [], path, path if qtype == "repeat" else repeat, loop)
                continue
            if qtype == "loop":
                if bind.get("relevant"):
                    self.relevant_groups.add(path)
                for col in node.get("columns") or []:
                    col_name = str(col["name"])
                    col_labels = _labels(col.get("label"), set())
                    self.walk(node.get("children") or [], f"{path}/{col_name}", repeat,
                              (col_name, col_labels))
                continue
            labels = self._labels_of(node)
            if loop is not None:
                labels = _loop_label(labels, loop[1], loop[0])
            relevant = bind.get("relevant")
            if relevant and loop is not None:
                relevant = relevant.replace("%(name)s", loop[0])
            required = str(bind.get("required", "")).strip().lower() in {"yes", "true", "true()"}
            list_name = node.get("list_name") or node.get("itemset") if qtype in _SELECT_TYPES else None
            personal = personal_reason(name, qtype) or personal_label_reason(labels, qtype)
            if personal is None and list_name and str(list_name).startswith("${"):
                # choices are earlier answers: personal when those answers are
                source = str(list_name)[2:].rstrip("}")
                earlier = next((q for q in self.questions if q.name == source), None)
                if earlier is not None and earlier.personal:
                    personal = f"choices are the answers to {earlier.name} ({earlier.personal})"
            self.questions.append(Question(
                path=path, name=name, type=qtype, list_name=list_name,
                group_path=prefix, repeat_path=repeat, labels=labels, required=required,
                relevant=relevant or None, constraint=bind.get("constraint") or None,
                personal=personal, position=len(self.questions) + 1,
            ))

    def _labels_of(self, node: dict) -> dict[str, str]:
        return _labels(node.get("label"), self.languages)


def read_form(path: Path | str, *, fallback_version: str | None = None) -> Form:
    """Read an XLSForm (.xlsx or .xls) into a :class:`Form`.

    Args:
        path: the XLSForm file.
        fallback_version: the version to record when the form's settings sheet states none
            (callers pass a prefix of the file's sha256, so one file is one version).

    Raises:
        RejectedFile: the file is not a readable XLSForm (pyxform's message says why).
    """
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    path = Path(path)
    if not path.exists():
        raise RejectedFile("no such file", str(path))
    if path.stat().st_size == 0:
        raise RejectedFile("the form file is empty (0 bytes)", str(path))
    try:
        data = parse_file_to_json(str(path))
    except PyXFormError as exc:
        raise RejectedFile(f"not a valid XLSForm ({exc})", str(path)) from exc
    except Exception as exc:  # xlrd/openpyxl raise their own types on damaged files
        raise RejectedFile(f"not a readable XLSForm ({type(exc).__name__}: {exc})", str(path)) from exc
    walker = _Walker()
    walker.walk(data.get("children") or [], "", None)
    choices: list[Choice] = []
    for list_name, items in (data.get("choices") or {}).items():
        for i, item in enumerate(items, start=1):
            choices.append(Choice(list_name=str(list_name), name=str(item.get("name")),
                                  labels=_labels(item.get("label"), walker.languages), position=i))
    version = str(data.get("version") or walker.version or fallback_version or "")
    default_language = str(data.get("default_language") or DEFAULT_LANGUAGE)
    languages = sorted(walker.languages, key=lambda lang: (lang != default_language, lang))
    return Form(
        form_id=str(data.get("id_string") or path.stem), version=version,
        title=str(data.get("title") or ""), default_language=default_language,
        languages=languages or [DEFAULT_LANGUAGE], questions=walker.questions, choices=choices,
        repeats=walker.repeats, relevant_groups=walker.relevant_groups, path=path,
    )


def default_label(labels: dict[str, str], form: Form) -> str | None:
    """The label in the form's default language, else the first one there is."""
    if not labels:
        return None
    return labels.get(form.default_language) or labels.get(DEFAULT_LANGUAGE) or next(iter(labels.values()))


def label_in(labels: dict[str, str], code: str) -> str | None:
    """The label in the language whose name ends in ``(code)`` (``English (en)``) or is ``code``."""
    for lang, text in labels.items():
        low = lang.lower()
        if low == code or low.endswith(f"({code})"):
            return text
    return None
