"""Per-form settings: ``forms/<form_id>.yml`` in a project (all optional).

A form needs no settings to be loaded and used: every question is then addressable by its
XLSForm name and the form is a simple random sample with weight 1 (R's
``svydesign(ids = ~1)``). Settings say what the pipeline cannot guess::

    form_id: household_survey
    label: {en: Household survey, bs: Anketa domaćinstava}
    personal: [contact/phone]            # dropped when the file is read (names, phones ...)
    codes: [member_code]                 # link codes: stored only as keyed pseudonyms
    consent: consent                     # only respondents answering yes count
    design:                              # the survey design (omit for a simple random sample)
      weights: sample/weight
      strata: sample/stratum
      psu: sample/settlement             # or [psu, ssu] for two stages; [psu, respondent] when
                                         # people are sampled within the PSU (R: ~psu + person)
      fpc: sample/settlements            # population size per stage (one, or one per stage)
    calibration:                         # weight to known population totals (census)
      method: poststratify               # or rake, linear, raking (R postStratify/rake/calibrate)
      margins: [margins/adults.csv]      # CSV: municipality/sex/age_group/entity + population
    municipality: location/municipality  # any spelling; resolved to the municipality id
    sex: {question: about/sex, recode: {m: male, f: female}}
    age: about/age                       # or birth_year: ...
    recode: {services/income: {"99": null}}    # other questions' recodes (value -> value)
    scores: {knowledge: [k1, k2, k3]}          # per-respondent mean of the items answered
    pre_post: {link: member_code, phase: test, pre: pre, post: post}
    population: youth                    # age groups from spsc.yml age_groups (default: the first)

Questions are named by their XLSForm name, with the group path where the name is not unique
(``income`` or ``services/income``). SPSS and plain CSV sources use the same file (given
with ``--mapping`` or found by form id) and name their variables; ``respondent_id`` then
names the id column. Two options are for such sources only::

    categorical: [obraz]                 # SPSS: value labels are the complete list of values
    rename: {OPCINA: municipality, Q1: trust_municipality}   # stored under the form's names

``rename`` stores a variable under another question name (the name a project's Kobo form
gives the same question), so analysts read an agency's file by the names they know. What is
about reading the file (``personal``, ``categorical``, ``respondent_id``, ``submitted_at``)
names the variables as the file has them; what is about the answers (roles, recodes, scores,
codes) names the questions as they are stored, renamed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.project.config import ProjectError, Text

ROLES = ("municipality", "sex", "age", "birth_year")
DESIGN_ROLES = ("weight", "stratum", "psu", "ssu", "fpc", "fpc2")
RESPONDENT_STAGE = "respondent"  # ``psu: [settlement, respondent]``: people sampled within the PSU
ACCEPTING = ("yes", "true", "1", "da", "да")  # a consent answer that lets the respondent in


def _text_keys(key: Any) -> list[str]:
    # YAML reads an unquoted yes/no/true/false key as a boolean: match every spelling of it
    if isinstance(key, bool):
        return ["yes", "true", "1"] if key else ["no", "false", "0"]
    if isinstance(key, float) and key.is_integer():
        return [str(int(key))]
    return [str(key)]


def _recode_map(value: Any) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for k, v in dict(value or {}).items():
        new = None if v is None else ("yes" if v is True else "no" if v is False else
                                      str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        for text in _text_keys(k):
            out[text] = new
    return out


class QuestionRef(BaseModel):
    """A question of the form, with recodes of its values (``{raw: new}``, ``null`` = missing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str = Field(min_length=1)
    recode: dict[str, str | None] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"question": value} if isinstance(value, str) else value

    @field_validator("recode", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> dict[str, str | None]:
        return _recode_map(value)


class SurveyDesign(BaseModel):
    """The sample design: weights, strata, PSUs (one or two stages) and population sizes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: str | None = None
    strata: str | None = None
    psu: str | list[str] | None = None
    fpc: str | list[str] | None = None

    @property
    def stages(self) -> list[str]:
        """The sampling units by stage (``[psu]`` or ``[psu, ssu]``)."""
        return [self.psu] if isinstance(self.psu, str) else list(self.psu or [])

    @property
    def population(self) -> list[str]:
        """The population-size question of each stage."""
        return [self.fpc] if isinstance(self.fpc, str) else list(self.fpc or [])

    @model_validator(mode="after")
    def _stages(self) -> SurveyDesign:
        if not 0 <= len(self.stages) <= 2:
            raise ValueError("psu names one question, or two (first and second stage)")
        if self.population and len(self.population) > max(1, len(self.stages)):
            raise ValueError("give one population size (fpc) per stage")
        return self

    def roles(self) -> dict[str, str]:
        """Design role -> question (``weight``, ``stratum``, ``psu``, ``ssu``, ``fpc``, ``fpc2``)."""
        out = {}
        if self.weights:
            out["weight"] = self.weights
        if self.strata:
            out["stratum"] = self.strata
        for role, q in zip(("psu", "ssu"), self.stages, strict=False):
            if role == "ssu" and q == RESPONDENT_STAGE:
                continue  # the respondent is the second-stage unit: no question holds it
            out[role] = q
        for role, q in zip(("fpc", "fpc2"), self.population, strict=False):
            out[role] = q
        return out


CALIBRATION_COLUMNS = ("municipality", "sex", "age_group", "entity")


class Calibration(BaseModel):
    """Weights calibrated to known population totals, wave by wave.

    ``margins`` are CSV files (relative to the project folder), each with one or more of
    the columns ``municipality``, ``sex``, ``age_group``, ``entity`` and a ``population``
    column: ``poststratify`` takes one file (its rows are the post-strata, R's
    ``postStratify``); ``rake`` (R's ``rake``), ``linear`` and ``raking`` (R's
    ``calibrate(calfun=)``) take one file per margin. ``min_respondents``: a post-stratum
    with fewer respondents in a wave is merged with its siblings (``poststratify``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: Literal["poststratify", "rake", "linear", "raking"] = "poststratify"
    margins: list[str] = Field(min_length=1)
    # post-strata with fewer respondents in a wave are merged with their siblings (weighting
    # practice: a ratio on a handful of people is noisy and its linearised variance too small)
    min_respondents: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _one_table(self) -> Calibration:
        if self.method == "poststratify" and len(self.margins) != 1:
            raise ValueError("poststratify takes one margins file (the post-strata); "
                             "use rake for several margins")
        return self


class PrePost(BaseModel):
    """A form filled twice by the same people (a training's pre and post test)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    link: str  # the question with the participant's own code (stored as a keyed pseudonym)
    phase: str  # the question saying which of the two the submission is
    pre: str = "pre"
    post: str = "post"


class FormSettings(BaseModel):
    """One form's settings (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    form_id: str = Field(min_length=1)
    label: Text | None = None
    respondent_id: str | None = None
    submitted_at: str | None = None
    personal: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)  # SPSS: value labels list every value
    rename: dict[str, str] = Field(default_factory=dict)  # source variable -> stored question name
    codes: list[str] = Field(default_factory=list)
    consent: QuestionRef | None = None
    design: SurveyDesign | None = None
    calibration: Calibration | None = None
    municipality: QuestionRef | None = None
    sex: QuestionRef | None = None
    age: QuestionRef | None = None
    birth_year: QuestionRef | None = None
    recode: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    scores: dict[str, list[str]] = Field(default_factory=dict)
    pre_post: PrePost | None = None
    # whose age bands the respondents' age groups use (spsc.yml age_groups; default: the first)
    population: str | None = None
    path: str | None = None  # the file it was read from (set by the reader)

    @field_validator("recode", mode="before")
    @classmethod
    def _recodes(cls, value: Any) -> dict[str, dict[str, str | None]]:
        return {str(q): _recode_map(m) for q, m in dict(value or {}).items()}

    @field_validator("scores")
    @classmethod
    def _scores(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, items in value.items():
            if not items:
                raise ValueError(f"score {name!r} needs one or more questions")
        return value

    @model_validator(mode="after")
    def _one_age(self) -> FormSettings:
        if self.age is not None and self.birth_year is not None:
            raise ValueError("give age or birth_year, not both")
        targets = list(self.rename.values())
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise ValueError(f"rename gives two variables the name {', '.join(twice)}")
        if self.calibration is not None and self.pre_post is not None:
            raise ValueError("calibration is for cross-sectional surveys, not a pre/post form")
        return self

    def roles(self) -> dict[str, str]:
        """Role -> question, for every role and design column the settings declare."""
        out = {r: getattr(self, r).question for r in ROLES if getattr(self, r) is not None}
        if self.design is not None:
            out.update(self.design.roles())
        if self.consent is not None:
            out["consent"] = self.consent.question
        if self.pre_post is not None:
            out["link"] = self.pre_post.link
            out["phase"] = self.pre_post.phase
        return out

    def sources(self) -> list[str]:
        """Every source variable the settings name: the role questions, link codes, recoded
        and scored questions, renamed variables, the respondent id and the submission time."""
        out = list(self.roles().values()) + list(self.codes) + list(self.recode)
        out += [q for items in self.scores.values() for q in items] + list(self.rename)
        back = {new: old for old, new in self.rename.items()}  # as the file names them
        out = [back.get(q, q) for q in out] + [c for c in (self.respondent_id, self.submitted_at) if c]
        return list(dict.fromkeys(out))

    def link_codes(self) -> list[str]:
        """Questions whose values are stored only as keyed pseudonyms."""
        codes = list(self.codes)
        if self.pre_post is not None and self.pre_post.link not in codes:
            codes.append(self.pre_post.link)
        return codes

    def recodes(self) -> dict[str, dict[str, str | None]]:
        """Question -> its recode map, roles included."""
        out = {q: dict(m) for q, m in self.recode.items()}
        for role in (*ROLES, "consent"):
            ref = getattr(self, role)
            if ref is not None and ref.recode:
                out.setdefault(ref.question, {}).update(ref.recode)
        return out

    @property
    def weighted(self) -> bool:
        """Whether the form declares a sample design (else: simple random sample, weight 1)."""
        return self.design is not None and bool(self.design.roles())


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(file)"


def parse_form_settings(data: Any, name: str) -> FormSettings:
    """Validate one form's settings; every problem in one error naming the file and field."""
    if not isinstance(data, dict):
        raise ProjectError("must be a mapping (form_id, design, municipality ...)", name)
    try:
        return FormSettings.model_validate(data).model_copy(update={"path": name})
    except ValidationError as exc:
        raise ProjectError("; ".join(f"field '{_where(e['loc'])}': {e['msg'].removeprefix('Value error, ')}"
                                     for e in exc.errors()), name) from exc


def read_form_settings(path: Path | str) -> FormSettings:
    """One settings file (``forms/<form_id>.yml``, or a ``--mapping`` file)."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError("no such form settings file", str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProjectError(f"not valid YAML ({str(exc).splitlines()[0]})", str(path)) from exc
    return parse_form_settings(data, str(path))


def read_forms_folder(folder: Path) -> dict[str, FormSettings]:
    """Every ``*.yml`` of a project's forms folder, by form id (a form id given twice is an error)."""
    out: dict[str, FormSettings] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        settings = read_form_settings(path)
        if settings.form_id in out:
            raise ProjectError(f"form {settings.form_id!r} has settings in two files "
                               f"({Path(out[settings.form_id].path).name} and {path.name})", str(path))
        out[settings.form_id] = settings
    return out
