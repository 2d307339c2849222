"""The indicator catalogue: ``catalogue.yml`` loaded and validated into typed entries.

One entry per indicator (id, result, labels and definitions in English and Bosnian, source,
estimator, condition or variables, unit, disaggregations, baseline, milestones, target,
frequency, means of verification). Every problem is reported in one error that names the
entry and the field, e.g. ``catalogue.yml: indicator 'trust_municipality_high': field 'unit':
...``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import SpscError

CATALOGUE_FILE = "catalogue.yml"
QUARTER = re.compile(r"^\d{4}Q[1-4]$")

DIMENSIONS = ("total", "sex", "age_group", "municipality", "entity")

# Columns an indicator may name, by source: a typo fails on load, not in the middle of a build.
CITIZEN_VARIABLES = {
    "trust_municipality": "numeric", "trust_csw": "numeric", "trust_employment": "numeric",
    "trust_health": "numeric", "trust_mental_health": "numeric", "trust_schools": "numeric",
    "views_considered": "numeric", "satisfaction_social": "numeric",
    "dialogue_participation": "boolean", "trust_other_entity": "numeric",
    "contact_neighbour": "boolean", "contact_colleague": "boolean", "contact_friend": "boolean",
    "contact_in_law": "boolean",
}
# The youth questionnaire is linked pre to post per participant: each item exists as
# <item>_pre, <item>_post and <item>_change (post minus pre).
YOUTH_ITEMS = ("att_1", "att_2", "att_3", "att_4", "eff_1", "eff_2", "eff_3", "attitude_score")
YOUTH_VARIABLES = {f"{item}_{suffix}": "numeric" for item in YOUTH_ITEMS
                   for suffix in ("pre", "post", "change")}
EVENT_FILTER_COLUMNS = {"event_type": str, "is_youth_event": bool, "is_inter_entity": bool}
PERSON_FILTER_COLUMNS = {"is_youth": bool, "role": str, "sex": str}
PEOPLE_NUMERATOR_COLUMNS = {"sex": str}
EVENT_NUMERATOR_COLUMNS = {"event_type": str, "is_inter_entity": bool}

ALLOWED_DIMENSIONS = {
    "survey": set(DIMENSIONS),
    "people": set(DIMENSIONS),
    "events": {"total", "municipality", "entity"},  # events have a host, not a sex or an age
    "ties": {"total", "municipality"},  # every tie joins both entities: by entity = the total
}


class Text(BaseModel):
    """A text in English and Bosnian."""

    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    bs: str = Field(min_length=1)


class Condition(BaseModel):
    """When a respondent counts in a proportion's numerator.

    Either one ``variable`` with a test (``min``/``max`` inclusive, ``greater_than``,
    ``equals``), or ``any_true``: a list of boolean variables of which at least one is true.
    Respondents with a missing answer are left out of the denominator.
    """

    model_config = ConfigDict(extra="forbid")
    variable: str | None = None
    min: float | None = None
    max: float | None = None
    greater_than: float | None = None
    equals: bool | float | None = None
    any_true: list[str] | None = None

    def variables(self) -> list[str]:
        """The variables the condition reads."""
        return list(self.any_true) if self.any_true else [self.variable]


class Target(BaseModel):
    """The end-of-project target."""

    model_config = ConfigDict(extra="forbid")
    period: str
    value: float


class Indicator(BaseModel):
    """One catalogue entry. See ``catalogue.yml`` for the meaning of each field."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    result: Literal["1.1", "1.2"]
    level: Literal["outcome", "output"]
    label: Text
    definition: Text
    source: Literal["citizen_survey", "youth_survey", "attendance"]
    estimator: Literal["proportion", "mean", "count", "unique_count", "ratio"]
    condition: Condition | None = None
    variables: list[str] | None = None
    min_items: int | None = Field(default=None, ge=1)
    of: Literal["events", "people", "ties"] | None = None
    event_filter: dict[str, Any] = Field(default_factory=dict)
    person_filter: dict[str, Any] = Field(default_factory=dict)
    numerator_filter: dict[str, Any] = Field(default_factory=dict)
    sustained: bool = False
    unit: Literal["percent", "score_0_10", "count"]
    disaggregations: list[Literal["total", "sex", "age_group", "municipality", "entity"]]
    baseline: float | Literal["computed"]
    milestones: dict[str, float] = Field(default_factory=dict)
    target: Target
    direction: Literal["increase", "decrease"] = "increase"
    illustrative: bool = False
    frequency: Literal["survey_wave", "quarterly"]
    progress: Literal["period", "cumulative"] | None = None
    means_of_verification: Text

    @field_validator("disaggregations")
    @classmethod
    def _total_first(cls, value: list[str]) -> list[str]:
        if not value or value[0] != "total":
            raise ValueError("must start with 'total'")
        if len(set(value)) != len(value):
            raise ValueError("lists a dimension twice")
        return value

    @property
    def is_survey(self) -> bool:
        """Estimated from a sample survey (has a standard error)."""
        return self.source != "attendance"

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

    def survey_variables(self) -> list[str]:
        """The survey columns this indicator reads."""
        if self.condition is not None:
            return self.condition.variables()
        return list(self.variables or [])


class Catalogue(BaseModel):
    """The whole catalogue: survey waves, attendance quarters and the indicators."""

    model_config = ConfigDict(extra="forbid")
    waves: dict[Literal["baseline", "midline", "endline"], str]
    quarters: list[str]
    indicators: list[Indicator]

    def get(self, indicator_id: str) -> Indicator:
        """The entry with this id (SpscError when unknown)."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise SpscError(f"no indicator '{indicator_id}'", CATALOGUE_FILE,
                        "see pipeline/indicators/catalogue.yml for the ids")

    @property
    def baseline_wave(self) -> str:
        """The survey wave the computed baselines come from."""
        return self.waves["baseline"]


class CatalogueError(SpscError):
    """The catalogue file is invalid; the message names each entry and field."""


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _check_filters(ind: Indicator, field: str, allowed: dict[str, type]) -> list[tuple[str, str]]:
    problems = []
    for column, value in getattr(ind, field).items():
        if column not in allowed:
            problems.append((f"{field}.{column}", f"unknown column (use one of {', '.join(sorted(allowed))})"))
        elif not isinstance(value, allowed[column]):
            problems.append((f"{field}.{column}", f"must be a {allowed[column].__name__}, got {value!r}"))
    return problems


def _check_indicator(ind: Indicator, periods: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Cross-field rules pydantic cannot express field by field: (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    survey = ind.is_survey
    if survey and ind.estimator not in ("proportion", "mean"):
        problems.append(("estimator", f"a {ind.source} indicator is a proportion or a mean"))
    if not survey and ind.estimator not in ("count", "unique_count", "ratio"):
        problems.append(("estimator", "an attendance indicator is a count, unique_count or ratio"))
    if ind.estimator == "proportion" and ind.condition is None:
        problems.append(("condition", "a proportion needs a condition"))
    if ind.estimator != "proportion" and ind.condition is not None:
        problems.append(("condition", f"only a proportion has a condition, not a {ind.estimator}"))
    if ind.estimator == "mean" and not ind.variables:
        problems.append(("variables", "a mean needs one or more variables"))
    if ind.estimator != "mean" and ind.variables:
        problems.append(("variables", "only a mean lists variables (a proportion uses condition)"))
    if ind.min_items is not None and (ind.estimator != "mean" or ind.min_items > len(ind.variables or [])):
        problems.append(("min_items", "must be a number of the mean's variables"))
    if ind.condition is not None:
        c = ind.condition
        tests = [c.min is not None or c.max is not None, c.greater_than is not None, c.equals is not None]
        if c.any_true and (c.variable or any(tests)):
            problems.append(("condition", "any_true stands alone (no variable, min, max, equals)"))
        elif not c.any_true and (not c.variable or sum(tests) != 1):
            problems.append(("condition", "needs a variable and exactly one test: min/max, greater_than or equals"))
    known = YOUTH_VARIABLES if ind.source == "youth_survey" else CITIZEN_VARIABLES
    if survey:
        for name in ind.survey_variables():
            if name and name not in known:
                field = "condition" if ind.condition is not None else "variables"
                problems.append((field, f"unknown {ind.source} variable '{name}'"))
        if ind.condition is not None and ind.condition.any_true:
            for name in ind.condition.any_true:
                if known.get(name) not in (None, "boolean"):
                    problems.append(("condition", f"any_true needs boolean variables, '{name}' is not"))
    else:
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
        if ind.sustained and ind.of != "people":
            problems.append(("sustained", "only people can be sustained participants"))
        if ind.of == "ties" and (ind.event_filter or ind.person_filter):
            problems.append(("event_filter", "ties come from the cross_entity_ties mart, unfiltered"))
        problems += _check_filters(ind, "event_filter", EVENT_FILTER_COLUMNS)
        problems += _check_filters(ind, "person_filter", PERSON_FILTER_COLUMNS)
        allowed = PEOPLE_NUMERATOR_COLUMNS if ind.of == "people" else EVENT_NUMERATOR_COLUMNS
        problems += _check_filters(ind, "numerator_filter", allowed)
    if survey and (ind.of or ind.event_filter or ind.person_filter or ind.sustained):
        problems.append(("of", "a survey indicator has no of/event_filter/person_filter/sustained"))
    expected_unit = {"proportion": "percent", "ratio": "percent", "count": "count",
                     "unique_count": "count", "mean": "score_0_10"}[ind.estimator]
    if ind.unit != expected_unit:
        problems.append(("unit", f"a {ind.estimator} is in '{expected_unit}', not '{ind.unit}'"))
    population = ind.population
    if population in ALLOWED_DIMENSIONS:
        extra = [d for d in ind.disaggregations if d not in ALLOWED_DIMENSIONS[population]]
        if extra:
            problems.append(("disaggregations", f"{', '.join(extra)} not available for {population}"))
    if ind.baseline != "computed":
        up = ind.target.value >= ind.baseline
        if up != (ind.direction == "increase"):
            problems.append(("target.value", f"does not {ind.direction} from the baseline {ind.baseline:g}"))
    if ind.baseline == "computed" and not survey:
        problems.append(("baseline", "only survey indicators can compute their baseline"))
    valid = periods["survey" if survey else "attendance"]
    if ind.target.period not in valid:
        problems.append(("target.period", f"'{ind.target.period}' is not one of {', '.join(sorted(valid))}"))
    for period in ind.milestones:
        if period not in valid:
            problems.append((f"milestones.{period}", f"not one of {', '.join(sorted(valid))}"))
        elif period >= ind.target.period:
            problems.append((f"milestones.{period}", "a milestone comes before the target period"))
    if ind.progress == "cumulative" and survey:
        problems.append(("progress", "survey indicators are assessed per wave"))
    return problems


def parse_catalogue(text: str, name: str = CATALOGUE_FILE) -> Catalogue:
    """Validate catalogue YAML text; raises :class:`CatalogueError` listing every problem.

    Each problem reads ``<name>: indicator '<id>': field '<field>': <message>``.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"not valid YAML ({str(exc).splitlines()[0]})", name) from exc
    if not isinstance(raw, dict):
        raise CatalogueError("must be a mapping with waves, quarters and indicators", name)
    problems: list[str] = []
    entries = raw.get("indicators")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError("field 'indicators': must be a non-empty list", name)
    try:
        head = Catalogue.model_validate({**raw, "indicators": []})
    except ValidationError as exc:
        msgs = [f"field '{_where(e['loc'])}': {e['msg']}" for e in exc.errors()]
        raise CatalogueError("; ".join(msgs), name) from exc
    for period in [*head.waves.values(), *head.quarters]:
        if not QUARTER.match(period):
            problems.append(f"field 'waves/quarters': '{period}' is not a quarter like 2024Q4")
    periods = {"survey": set(head.waves.values()), "attendance": set(head.quarters)}
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
            problems += [f"{label}: field '{_where(e['loc'])}': {e['msg']}" for e in exc.errors()]
            continue
        problems += [f"{label}: field '{f}': {m}" for f, m in _check_indicator(ind, periods)]
        indicators.append(ind)
    if problems:
        raise CatalogueError("; ".join(problems), name)
    return head.model_copy(update={"indicators": indicators})


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """The catalogue at ``path``, or the packaged ``catalogue.yml`` (cached)."""
    if path is None:
        return _packaged()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read the catalogue ({exc.strerror})", str(path)) from exc
    return parse_catalogue(text, path.name)


@lru_cache(maxsize=1)
def _packaged() -> Catalogue:
    text = resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return parse_catalogue(text)
