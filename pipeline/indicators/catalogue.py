"""The indicator catalogue: a project's ``indicators.yml`` loaded and validated into typed
entries, with the targets of its results framework.

One entry per indicator: ``id``, ``label`` (a string, or ``en`` and ``bs``), ``source`` (a
form id, or ``attendance``), ``estimator``, its ``condition`` or ``variables``, and ``unit`` are
all a minimal entry needs; ``result``, ``level``, ``definition``, ``disaggregations``,
``subject``, ``headline``, ``means_of_verification`` and the targets (``baseline``,
``milestones``, ``target``, ``direction``, or better the results framework spreadsheet) are
optional. Every problem is reported in one error that names the file, the entry and the
field, e.g. ``indicators.yml: indicator 'trust_high': field 'unit': ...``. Whether the
questions an indicator names exist in its form, with a fitting type, is checked against the
warehouse's codebook when the indicators are built (:mod:`pipeline.indicators.sources`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import SpscError
from pipeline.project.config import Attendance, Text

CATALOGUE_FILE = "indicators.yml"
QUARTER = re.compile(r"^\d{4}Q[1-4]$")
ATTENDANCE = "attendance"

# the dimensions every source may have (a survey form adds its own select_one questions)
DIMENSIONS = ("total", "sex", "age_group", "municipality", "entity")
EVENT_FILTER_COLUMNS = {"event_type": str, "is_youth_event": bool, "is_inter_entity": bool}
PERSON_FILTER_COLUMNS = {"is_youth": bool, "role": str, "sex": str}
PEOPLE_NUMERATOR_COLUMNS = {"sex": str}
EVENT_NUMERATOR_COLUMNS = {"event_type": str, "is_inter_entity": bool}
ALLOWED_DIMENSIONS = {
    "people": set(DIMENSIONS),
    "events": {"total", "municipality", "entity"},  # events have a host, not a sex or an age
    "ties": {"total", "municipality"},  # every tie joins both entities: by entity = the total
}
UNITS = ("percent", "count", "mean")


class Condition(BaseModel):
    """When a respondent counts in a proportion's numerator.

    One ``variable`` (a question of the source form) with one test: ``min``/``max``
    (inclusive), ``greater_than``, ``equals``, ``in: [...]``, or ``has`` (a choice of a
    select_multiple, or a list of choices: any of them); or ``any_true``, a list of yes/no
    questions of which at least one is yes. Respondents who did not answer are left out of
    the denominator.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    variable: str | None = None
    min: float | None = None
    max: float | None = None
    greater_than: float | None = None
    equals: bool | float | str | None = None
    in_: list[str | float] | None = Field(default=None, alias="in")
    has: list[str] | None = None
    any_true: list[str] | None = None

    @field_validator("has", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value

    @field_validator("has", "in_", mode="after")
    @classmethod
    def _texts(cls, value: list | None) -> list | None:
        if value is None:
            return None
        out = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in value]
        if not out:
            raise ValueError("needs one or more values")
        return out

    def variables(self) -> list[str]:
        """The questions the condition reads."""
        return list(self.any_true) if self.any_true else [self.variable]

    @property
    def test(self) -> str | None:
        """Which test the condition makes (``range``, ``greater_than``, ``equals``, ``in``, ``has``)."""
        tests = [name for name, on in (("range", self.min is not None or self.max is not None),
                                       ("greater_than", self.greater_than is not None),
                                       ("equals", self.equals is not None), ("in", self.in_ is not None),
                                       ("has", self.has is not None)) if on]
        return tests[0] if len(tests) == 1 else None


class Target(BaseModel):
    """The end-of-project target."""

    model_config = ConfigDict(extra="forbid")
    period: str
    value: float


class Result(BaseModel):
    """A result of the results framework (an outcome or output the indicators serve)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    label: Text


class Indicator(BaseModel):
    """One catalogue entry. See the module docstring and docs/project.md for the fields."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    result: str = ""
    level: Literal["outcome", "output"] | None = None
    label: Text
    subject: Text | None = None  # a short noun phrase for sentences ("Trust in the municipality")
    definition: Text | None = None
    source: str = Field(min_length=1)
    estimator: Literal["proportion", "mean", "count", "unique_count", "ratio"]
    condition: Condition | None = None
    variables: list[str] | None = None
    min_items: int | None = Field(default=None, ge=1)
    of: Literal["events", "people", "ties"] | None = None
    event_filter: dict[str, Any] = Field(default_factory=dict)
    person_filter: dict[str, Any] = Field(default_factory=dict)
    numerator_filter: dict[str, Any] = Field(default_factory=dict)
    # sustained engagement: only people who came to at least this many distinct activities
    min_activities: int | None = Field(default=None, ge=1)
    unit: Literal["percent", "count", "mean"]
    scale: tuple[float, float] | None = None  # a mean's answer scale: its CI is kept within it
    disaggregations: list[str] = Field(default_factory=lambda: ["total"])
    baseline: float | Literal["computed"] | None = None
    milestones: dict[str, float] = Field(default_factory=dict)
    target: Target | None = None
    direction: Literal["increase", "decrease"] = "increase"
    illustrative: bool = False
    frequency: Literal["survey_wave", "quarterly"] | None = None
    progress: Literal["period", "cumulative"] | None = None
    means_of_verification: Text | None = None
    headline: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy_unit(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sustained" in data:
            # the threshold was a setting (sustained_min_events): it is the indicator's own now
            raise ValueError("'sustained' is now 'min_activities: N', the number of distinct "
                             "activities a person must have come to (e.g. 3)")
        # the old unit score_0_10 is a mean on the 0-10 scale
        if isinstance(data, dict) and data.get("unit") == "score_0_10":
            data = {**data, "unit": "mean"}
            data.setdefault("scale", [0, 10])
        return data

    @field_validator("disaggregations")
    @classmethod
    def _total_first(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a dimension twice")
        return ["total", *[v for v in value if v != "total"]]

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] >= value[1]:
            raise ValueError("must be [lowest, highest], e.g. [0, 10]")
        return value

    @property
    def is_survey(self) -> bool:
        """Estimated from a survey form (has a standard error)."""
        return self.source != ATTENDANCE

    @property
    def population(self) -> str:
        """What the indicator counts over: ``survey``, ``events``, ``people`` or ``ties``."""
        return "survey" if self.is_survey else self.of

    @property
    def progress_basis(self) -> str:
        """What the donor table compares with the target: the period's value or the cumulative."""
        if self.progress:
            return self.progress
        return "period" if self.is_survey else "cumulative"

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The range a value cannot leave: 0-100 for percent, the scale of a mean."""
        return (0.0, 100.0) if self.unit == "percent" else self.scale

    @property
    def display_unit(self) -> str:
        """The unit as reports and maps read it: ``percent``, ``count``, ``mean`` or ``mean 0-10``."""
        if self.unit == "mean" and self.scale is not None:
            return f"mean {self.scale[0]:g}-{self.scale[1]:g}"
        return self.unit

    def survey_variables(self) -> list[str]:
        """The survey questions this indicator reads."""
        if self.condition is not None:
            return self.condition.variables()
        return list(self.variables or [])

    def subject_in(self, lang: str) -> str:
        """The noun phrase that opens a sentence about the indicator (its label if none)."""
        return (self.subject or self.label).get(lang)


class Catalogue(BaseModel):
    """A project's indicators with the periods of its ``spsc.yml`` and its results."""

    model_config = ConfigDict(extra="forbid")
    waves: dict[str, str] = Field(default_factory=dict)
    quarters: list[str] = Field(default_factory=list)
    results: list[Result] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)

    def get(self, indicator_id: str) -> Indicator:
        """The entry with this id (SpscError when unknown)."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise SpscError(f"no indicator '{indicator_id}'", CATALOGUE_FILE,
                        "see the project's indicators.yml for the ids")

    def has(self, indicator_id: str) -> bool:
        return any(ind.id == indicator_id for ind in self.indicators)

    @property
    def baseline_wave(self) -> str | None:
        """The survey wave the computed baselines come from."""
        return self.waves.get("baseline")

    def result_label(self, result_id: str, lang: str) -> str:
        """A result's label (its id when the catalogue gives none)."""
        for r in self.results:
            if r.id == result_id:
                return r.label.get(lang)
        return result_id

    def result_ids(self) -> list[str]:
        """Results in catalogue order: the declared ones, then any other an indicator names."""
        out = [r.id for r in self.results]
        out += [i.result for i in self.indicators if i.result not in out]
        return out

    @property
    def sources(self) -> list[str]:
        """The survey forms the indicators are estimated from, in catalogue order."""
        return list(dict.fromkeys(i.source for i in self.indicators if i.is_survey))


class CatalogueError(SpscError):
    """The catalogue file is invalid; the message names each entry and field."""


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part != "in_") or "(entry)"


def _check_filters(ind: Indicator, field: str, allowed: dict[str, type]) -> list[tuple[str, str]]:
    problems = []
    for column, value in getattr(ind, field).items():
        if column not in allowed:
            problems.append((f"{field}.{column}", f"unknown column (use one of {', '.join(sorted(allowed))})"))
        elif not isinstance(value, allowed[column]):
            problems.append((f"{field}.{column}", f"must be a {allowed[column].__name__}, got {value!r}"))
    return problems


def check_indicator(ind: Indicator, periods: set[str]) -> list[tuple[str, str]]:
    """Cross-field rules pydantic cannot express field by field: (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    survey = ind.is_survey
    if survey and ind.estimator not in ("proportion", "mean"):
        problems.append(("estimator", "a survey indicator is a proportion or a mean"))
    if not survey and ind.estimator not in ("count", "unique_count", "ratio"):
        problems.append(("estimator", "an attendance indicator is a count, unique_count or ratio"))
    if ind.estimator == "proportion" and ind.condition is None:
        problems.append(("condition", "a proportion needs a condition"))
    if ind.estimator != "proportion" and ind.condition is not None:
        problems.append(("condition", f"only a proportion has a condition, not a {ind.estimator}"))
    if ind.estimator == "mean" and not ind.variables:
        problems.append(("variables", "a mean needs one or more questions"))
    if ind.estimator != "mean" and ind.variables:
        problems.append(("variables", "only a mean lists variables (a proportion uses condition)"))
    if ind.min_items is not None and (ind.estimator != "mean" or ind.min_items > len(ind.variables or [])):
        problems.append(("min_items", "must be a number of the mean's variables"))
    if ind.condition is not None:
        c = ind.condition
        if c.any_true and (c.variable or c.test):
            problems.append(("condition", "any_true stands alone (no variable or test)"))
        elif not c.any_true and (not c.variable or c.test is None):
            problems.append(("condition", "needs a variable and exactly one test: min/max, greater_than, "
                                          "equals, in or has"))
    if not survey:
        if ind.of is None:
            problems.append(("of", "an attendance indicator counts events, people or ties"))
        if ind.estimator == "unique_count" and ind.of != "people":
            problems.append(("of", "a unique_count counts people"))
        if ind.estimator == "ratio" and ind.of not in ("events", "people"):
            problems.append(("of", "a ratio is a share of events or of people"))
        if ind.estimator == "ratio" and not ind.numerator_filter:
            problems.append(("numerator_filter", "a ratio needs the numerator's filter"))
        if ind.estimator != "ratio" and ind.numerator_filter:
            problems.append(("numerator_filter", "only a ratio has a numerator filter"))
        if ind.min_activities is not None and ind.of != "people":
            problems.append(("min_activities", "only people can be sustained participants"))
        if ind.of == "ties" and (ind.event_filter or ind.person_filter):
            problems.append(("event_filter", "ties come from the cross_entity_ties mart, unfiltered"))
        problems += _check_filters(ind, "event_filter", EVENT_FILTER_COLUMNS)
        problems += _check_filters(ind, "person_filter", PERSON_FILTER_COLUMNS)
        allowed = PEOPLE_NUMERATOR_COLUMNS if ind.of == "people" else EVENT_NUMERATOR_COLUMNS
        problems += _check_filters(ind, "numerator_filter", allowed)
        if ind.of in ALLOWED_DIMENSIONS:
            extra = [d for d in ind.disaggregations if d not in ALLOWED_DIMENSIONS[ind.of]]
            if extra:
                problems.append(("disaggregations", f"{', '.join(extra)} not available for {ind.of}"))
    if survey and (ind.of or ind.event_filter or ind.person_filter or ind.min_activities):
        problems.append(("of", "a survey indicator has no of/event_filter/person_filter/min_activities"))
    expected_unit = {"proportion": "percent", "ratio": "percent", "count": "count",
                     "unique_count": "count", "mean": "mean"}[ind.estimator]
    if ind.unit != expected_unit:
        problems.append(("unit", f"a {ind.estimator} is in '{expected_unit}', not '{ind.unit}'"))
    if ind.scale is not None and ind.unit != "mean":
        problems.append(("scale", "only a mean has a scale"))
    problems += check_targets(ind, periods)
    return problems


def check_targets(ind: Indicator, periods: set[str]) -> list[tuple[str, str]]:
    """Baseline, milestones, target and direction agree with each other and the periods."""
    problems: list[tuple[str, str]] = []
    if ind.baseline == "computed" and not ind.is_survey:
        problems.append(("baseline", "only survey indicators can compute their baseline"))
    if ind.target is not None:
        if isinstance(ind.baseline, float | int) and not isinstance(ind.baseline, bool):
            up = ind.target.value >= ind.baseline
            if ind.target.value != ind.baseline and up != (ind.direction == "increase"):
                problems.append(("target.value", f"does not {ind.direction} from the baseline {ind.baseline:g}"))
        if ind.target.period not in periods:
            problems.append(("target.period", f"'{ind.target.period}' is not a period of the project "
                                              "(spsc.yml quarters and waves)"))
    for period in ind.milestones:
        if period not in periods:
            problems.append((f"milestones.{period}", "not a period of the project (spsc.yml quarters and waves)"))
        elif ind.target is not None and period >= ind.target.period:
            problems.append((f"milestones.{period}", "a milestone comes before the target period"))
    if ind.milestones and ind.target is None:
        problems.append(("milestones", "milestones need an end-of-project target"))
    if ind.progress == "cumulative" and ind.is_survey:
        problems.append(("progress", "survey indicators are assessed per wave"))
    return problems


# words of a label, subject or definition filled from the numbers they name, so that a
# threshold is written once: "{min_activities} or more activities", "aged {youth_ages}"
PLACEHOLDERS = re.compile(r"\{(min_activities|youth_ages)\}")
_TEXT_FIELDS = ("label", "subject", "definition", "means_of_verification")


def fill_texts(ind: Indicator, youth_ages: tuple[int, int]) -> tuple[Indicator, list[tuple[str, str]]]:
    """The indicator with ``{min_activities}`` (its own threshold) and ``{youth_ages}`` (the
    project's, spsc.yml ``attendance.youth_ages``) written into its texts; and the problems
    (a placeholder the indicator has no value for)."""
    values = {"youth_ages": f"{youth_ages[0]}-{youth_ages[1]}"}
    if ind.min_activities is not None:
        values["min_activities"] = str(ind.min_activities)
    problems, update = [], {}
    for field in _TEXT_FIELDS:
        text = getattr(ind, field)
        if text is None:
            continue
        texts = text.texts()
        missing = {m for t in texts.values() for m in PLACEHOLDERS.findall(t)} - set(values)
        problems += [(field, f"says {{{m}}} but the indicator has no {m}") for m in sorted(missing)]
        if not missing:
            update[field] = Text.model_validate({lang: PLACEHOLDERS.sub(lambda m: values[m.group(1)], t)
                                                 for lang, t in texts.items()})
    return ind.model_copy(update=update), problems


def parse_catalogue(text: str, name: str = CATALOGUE_FILE, *, waves: dict[str, str] | None = None,
                    quarters: list[str] | None = None,
                    youth_ages: tuple[int, int] | None = None) -> Catalogue:
    """Validate ``indicators.yml`` text; raises :class:`CatalogueError` listing every problem.

    Each problem reads ``<name>: indicator '<id>': field '<field>': <message>``. ``waves`` and
    ``quarters`` are the project's (``spsc.yml``); a catalogue may also state its own.
    ``youth_ages`` (the project's ``attendance.youth_ages``) fills ``{youth_ages}`` in texts.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"not valid YAML ({str(exc).splitlines()[0]})", name) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CatalogueError("must be a mapping with 'indicators' (and optionally 'results')", name)
    entries = raw.get("indicators") or []
    if not isinstance(entries, list):
        raise CatalogueError("field 'indicators': must be a list of indicators", name)
    head_raw = {k: v for k, v in raw.items() if k != "indicators"}
    head_raw.setdefault("waves", dict(waves or {}))
    head_raw.setdefault("quarters", list(quarters or []))
    try:
        head = Catalogue.model_validate({**head_raw, "indicators": []})
    except ValidationError as exc:
        msgs = [f"field '{_where(e['loc'])}': {e['msg']}" for e in exc.errors()]
        raise CatalogueError("; ".join(msgs), name) from exc
    problems: list[str] = []
    for period in [*head.waves.values(), *head.quarters]:
        if not QUARTER.match(period):
            problems.append(f"field 'waves/quarters': '{period}' is not a quarter like 2024Q4")
    periods = set(head.waves.values()) | set(head.quarters)
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        ident = entry.get("id") if isinstance(entry, dict) else None
        label = f"indicator '{ident}'" if ident else f"indicator #{i + 1}"
        if ident in seen:
            problems.append(f"{label}: field 'id': duplicate id")
        seen.add(ident)
        try:
            ind = Indicator.model_validate(entry)
        except ValidationError as exc:
            problems += [f"{label}: field '{_where(e['loc'])}': {e['msg'].removeprefix('Value error, ')}"
                         for e in exc.errors()]
            continue
        ind, unfilled = fill_texts(ind, youth_ages or Attendance().youth_ages)
        problems += [f"{label}: field '{f}': {m}" for f, m in [*check_indicator(ind, periods), *unfilled]]
        indicators.append(ind)
    if problems:
        raise CatalogueError("; ".join(problems), name)
    return head.model_copy(update={"indicators": indicators})


def load_catalogue(project=None, *, path: Path | str | None = None) -> Catalogue:
    """The catalogue of ``project`` (default: the project of this invocation), its targets
    merged from the results framework spreadsheet when the project has one.

    ``path`` reads another catalogue file with the project's periods (tests, checks).
    """
    if project is None:
        from pipeline.config import get_settings

        project = get_settings().require_project()
    config = project.config
    file = Path(path) if path is not None else project.indicators_path
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read the indicator catalogue ({exc.strerror})", str(file),
                             "every project has one (spsc new writes it)") from exc
    catalogue = parse_catalogue(text, file.name, waves=config.waves, quarters=config.quarters,
                                youth_ages=config.attendance.youth_ages)
    if path is None and project.results_framework_path.exists():
        from pipeline.project.results import apply_results_framework

        catalogue = apply_results_framework(catalogue, project.results_framework_path)
    return catalogue
