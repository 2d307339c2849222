"""``spsc.yml``: what makes a folder a project, validated into :class:`ProjectConfig`.

The file names the project (English and Bosnian), its donor and dates, the reporting quarters
and survey waves, the project area (municipalities by id or by any spelling the normaliser
resolves; the entity of each is derived), the report languages, the small-cell threshold and
where the project's files live, relative to the folder. Every problem is reported at once,
each naming the file and the field (``spsc.yml: field 'area.3': unknown municipality 'Drvr'``).
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import SpscError

PROJECT_FILE = "spsc.yml"
QUARTER = re.compile(r"^\d{4}Q[1-4]$")
LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Za-z]{2,4})?$")


class ProjectError(SpscError):
    """A project file is missing or invalid; the message names the file, entry and field."""


class Text(BaseModel):
    """A text in several languages: a plain string (the same in every language) or a mapping
    ``{en: ..., bs: ..., hr: ..., sr: ...}`` (``sr`` in Cyrillic, or ``sr-Latn``). A language
    without its own text falls back to English, then to the first one given, so ``text.bs``
    always reads."""

    model_config = ConfigDict(extra="allow", frozen=True)
    en: str = Field(min_length=1)
    bs: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"en": value, "bs": value, "hr": value, "sr": value}  # the same in every language
        if isinstance(value, dict) and value:
            texts = {str(k): v for k, v in value.items()}
            first = texts.get("en") or next(iter(texts.values()))
            texts.setdefault("en", first)
            texts.setdefault("bs", texts["en"])
            return texts
        return value

    def texts(self) -> dict[str, str]:
        """Every language given: ``{en: ..., bs: ..., hr: ..., sr: ...}``."""
        return {"en": self.en, "bs": self.bs, **{k: str(v) for k, v in (self.model_extra or {}).items()}}

    def get(self, lang: str) -> str:
        """The text in ``lang``: Serbian in either script serves the other (transliterated);
        English when the language has none (see :meth:`has`)."""
        from pipeline.lang import pick

        return pick(self.texts(), lang)[0]

    def has(self, lang: str) -> bool:
        """Whether the text is given in ``lang`` (or, for Serbian, in the other script)."""
        from pipeline.lang import pick

        return pick(self.texts(), lang)[1]


def quarter_range(start: date, end: date) -> list[str]:
    """The quarters from the one holding ``start`` to the one holding ``end``."""
    out, y, q = [], start.year, (start.month - 1) // 3 + 1
    last = (end.year, (end.month - 1) // 3 + 1)
    while (y, q) <= last:
        out.append(f"{y}Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


class Paths(BaseModel):
    """Where the project's files live, relative to the project folder."""

    model_config = ConfigDict(extra="forbid")
    raw: str = "data/raw"
    warehouse: str = "data/processed/spsc.duckdb"
    reports: str = "reports"
    forms: str = "forms"
    indicators: str = "indicators.yml"
    results_framework: str = "results_framework.xlsx"
    aliases: str = "aliases"
    cleaning: str = "cleaning"
    boundaries: str | None = None  # default: <raw>/boundaries


AGE_BAND = re.compile(r"^(\d{1,3})(?:-(\d{1,3})|\+)$")
POPULATION = re.compile(r"^[a-z][a-z0-9_]*$")
# one set of age bands per population (spsc.yml age_groups): adults are the census margins'
# groups; young people's split the youth ages (15-30) in five-year steps
DEFAULT_AGE_GROUPS: dict[str, list[str]] = {"adults": ["18-29", "30-44", "45-64", "65+"],
                                            "youth": ["15-19", "20-24", "25-30"]}


def age_band(label: str) -> tuple[int, int | None]:
    """``"18-29"`` -> (18, 29); ``"65+"`` -> (65, None)."""
    m = AGE_BAND.match(label)
    if m is None:
        raise ValueError(f"age band {label!r} is not like 18-29 or 65+")
    low, high = int(m.group(1)), None if m.group(2) is None else int(m.group(2))
    if high is not None and high < low:
        raise ValueError(f"age band {label!r} ends before it starts")
    return low, high


class Attendance(BaseModel):
    """How sign-in sheets are read into people and events (see docs/project.md)."""

    model_config = ConfigDict(extra="forbid")
    youth_ages: tuple[int, int] = (15, 30)  # youth = aged from..to at the event date
    # a participant's age group: the first of these populations (age_groups) with a band holding it
    age_groups: list[str] = Field(default_factory=lambda: ["youth", "adults"], min_length=1)
    youth_event_types: list[str] | None = None  # events for young people, by type (default: the packaged)
    inter_entity_min_per_side: int = Field(default=2, ge=1)  # an inter-entity event has this many from each entity
    event_types: dict[str, Text] = Field(default_factory=dict)  # labels of the event types in reports

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sustained_min_events" in data:
            raise ValueError("sustained_min_events has moved to the indicator catalogue: "
                             "'min_activities: N' on the sustained-engagement indicator")
        return data

    @field_validator("youth_ages")
    @classmethod
    def _ages(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1] <= 120:
            raise ValueError("must be [youngest, oldest], e.g. [15, 30]")
        return value


class Maps(BaseModel):
    """What the maps show."""

    model_config = ConfigDict(extra="forbid")
    indicator: str | None = None  # the indicator mapped by municipality (default: the first survey one)
    label_nudge: dict[str, tuple[float, float]] = Field(default_factory=dict)  # muni_id -> (dx, dy) metres


class Cleaning(BaseModel):
    """Thresholds of ``spsc clean checks`` (see docs/cleaning.md)."""

    model_config = ConfigDict(extra="forbid")
    # shorter interviews are findings: minutes, or {form_id: minutes, default: minutes}
    min_duration_minutes: float | dict[str, float] = 10.0
    battery_min_items: int = Field(default=5, ge=3)  # a group of this many items is a battery
    outlier_mad: float = Field(default=3.5, gt=0)  # robust SDs (1.4826 MAD) from the median
    duplicate_share: float = Field(default=0.9, gt=0, le=1)  # share of answers two submissions share
    duplicate_min_answers: int = Field(default=10, ge=1)  # answers both gave, at least


class ProjectConfig(BaseModel):
    """The validated content of ``spsc.yml`` (see the template ``spsc new`` writes)."""

    model_config = ConfigDict(extra="forbid")
    name: Text
    short_name: str = Field(min_length=1, max_length=40)
    donor: str = ""
    implementers: str = ""
    start: date
    end: date
    quarters: list[str] = Field(default_factory=list)  # reporting quarters (default: start to end)
    waves: dict[str, str] = Field(default_factory=dict)  # survey waves by name; 'baseline' is special
    area: list[str] = Field(default_factory=list)  # municipalities, by id or name
    languages: list[str] = Field(default_factory=lambda: ["en", "bs"])  # the project report's
    # the language of each municipality's profile, by municipality (any spelling) and 'default'
    # for the others (default: the first of 'languages'), e.g. {default: bs, Livno: hr}
    profile_languages: dict[str, str] = Field(default_factory=dict)
    # municipalities that are cities (grad, град): "Profil grada", "u gradu Livno"
    cities: list[str] = Field(default_factory=list)
    min_cell: int = Field(default=10, ge=1)
    # age bands per population, e.g. {adults: [18-29, 30-44, 45-64, 65+], youth: [15-19, ...]};
    # a survey form says its population (forms/<form_id>.yml: population), the sign-in sheets
    # theirs (attendance.age_groups); an age outside every band has no age group
    age_groups: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in
                                                                      DEFAULT_AGE_GROUPS.items()})
    paths: Paths = Field(default_factory=Paths)
    attendance: Attendance = Field(default_factory=Attendance)
    maps: Maps = Field(default_factory=Maps)
    cleaning: Cleaning = Field(default_factory=Cleaning)
    synth: dict[str, Any] = Field(default_factory=dict)  # sample-data generator settings (example only)

    @field_validator("area", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value

    @field_validator("age_groups")
    @classmethod
    def _age_groups(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("needs at least one population, e.g. {adults: [18-29, 30-44, 45-64, 65+]}")
        for population, labels in value.items():
            if not POPULATION.match(population):
                raise ValueError(f"population {population!r}: a name like adults or youth")
            if not labels:
                raise ValueError(f"population {population!r} has no age band")
            bands = [age_band(str(label)) for label in labels]
            for (_, high), (next_low, _) in itertools.pairwise(bands):
                if high is None or next_low <= high:
                    raise ValueError(f"population {population!r}: bands must rise without overlap "
                                     f"({', '.join(map(str, labels))})")
        return {p: [str(x) for x in labels] for p, labels in value.items()}

    def age_bands(self, population: str) -> list[tuple[int, int | None, str]]:
        """The bands of a population, in order: ``(low, high or None, label)``."""
        return [(*age_band(label), label) for label in self.age_groups[population]]

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        from pipeline.lang import LANGS

        bad = [v for v in value if not LANGUAGE.match(v) or v not in LANGS]
        if bad or not value:
            raise ValueError(f"languages are {', '.join(LANGS)} ({', '.join(bad) or 'none given'})")
        return value

    @field_validator("profile_languages", mode="before")
    @classmethod
    def _profile_languages(cls, value: Any) -> Any:
        from pipeline.lang import LANGS

        if not isinstance(value, dict):
            return value
        bad = [f"{k}: {v}" for k, v in value.items() if str(v) not in LANGS]
        if bad:
            raise ValueError(f"languages are {', '.join(LANGS)} ({', '.join(bad)})")
        return {str(k): str(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _populations(self) -> ProjectConfig:
        unknown = [p for p in self.attendance.age_groups if p not in self.age_groups]
        if unknown:
            raise ValueError(f"attendance.age_groups names {', '.join(unknown)}, not a population "
                             f"of age_groups ({', '.join(self.age_groups)})")
        return self

    @model_validator(mode="after")
    def _periods(self) -> ProjectConfig:
        if self.end < self.start:
            raise ValueError("end comes before start")
        if not self.quarters:
            object.__setattr__(self, "quarters", quarter_range(self.start, self.end))
        bad = [q for q in [*self.quarters, *self.waves.values()] if not QUARTER.match(str(q))]
        if bad:
            raise ValueError(f"periods are quarters like 2024Q4, not {', '.join(map(str, bad))}")
        if self.quarters != sorted(set(self.quarters)):
            raise ValueError("quarters must be listed once each, in order")
        return self

    @property
    def baseline_wave(self) -> str | None:
        """The survey wave computed baselines come from (``waves.baseline``)."""
        return self.waves.get("baseline")

    def profile_language(self, muni_id: str) -> str:
        """The language of a municipality's profile (``profile_languages``, read by
        :func:`parse_config` into municipality ids)."""
        langs = self.profile_languages
        return langs.get(muni_id) or langs.get("default") or self.languages[0]


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def parse_config(text: str, name: str = PROJECT_FILE) -> tuple[ProjectConfig, tuple[str, ...]]:
    """Validate ``spsc.yml`` text; returns the config and the area as municipality ids.

    Raises:
        ProjectError: listing every problem as ``field '<path>': <message>``.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProjectError(f"not valid YAML ({str(exc).splitlines()[0]})", name) from exc
    if not isinstance(raw, dict):
        raise ProjectError("must be a mapping of settings (name, start, end, area ...)", name)
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        raise ProjectError("; ".join(f"field '{_where(e['loc'])}': {e['msg'].removeprefix('Value error, ')}"
                                     for e in exc.errors()), name) from exc
    area, problems = resolve_area(config.area)
    if not problems:
        langs, problems = resolve_profile_languages(config.profile_languages, area)
        object.__setattr__(config, "profile_languages", langs)
        cities, more = resolve_profile_languages({c: "en" for c in config.cities}, area, "cities")
        object.__setattr__(config, "cities", list(cities))
        problems += more
    if problems:
        raise ProjectError("; ".join(problems), name,
                           "write the municipality's id or name (see pipeline/reference/municipalities.csv)")
    return config, area


def resolve_area(names: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Municipality ids of the project area (ids or any spelling), and the problems found."""
    from pipeline.reference import municipalities
    from pipeline.reference.names import normaliser

    ids = set(municipalities()["muni_id"])
    norm = normaliser()
    out, problems = [], []
    for i, name in enumerate(names):
        muni_id, reason = (name, None) if name in ids else norm.try_resolve(name)
        if muni_id is None:
            problems.append(f"field 'area.{i}': {name!r}: {reason}")
        elif muni_id in out:
            problems.append(f"field 'area.{i}': {name!r} is listed twice")
        else:
            out.append(muni_id)
    return tuple(out), problems


def resolve_profile_languages(langs: dict[str, str], area: tuple[str, ...],
                              field: str = "profile_languages") -> tuple[dict[str, str], list[str]]:
    """``profile_languages`` (or another mapping by project municipality) keyed by
    municipality id (``default`` kept), and the problems found."""
    from pipeline.reference.names import normaliser

    norm = normaliser()
    out, problems = {}, []
    for name, lang in langs.items():
        if name == "default":
            out[name] = lang
            continue
        muni_id, reason = (name, None) if name in area else norm.try_resolve(name)
        if muni_id is None:
            problems.append(f"field '{field}.{name}': {reason}")
        elif muni_id not in area:
            problems.append(f"field '{field}.{name}': not a municipality of the project (area)")
        else:
            out[muni_id] = lang
    return out, problems


def read_config(folder: Path) -> tuple[ProjectConfig, tuple[str, ...]]:
    """``<folder>/spsc.yml`` parsed (see :func:`parse_config`)."""
    path = Path(folder) / PROJECT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProjectError(f"cannot read the project file ({exc.strerror})", str(path),
                           "create a project with 'spsc new DIR'") from exc
    return parse_config(text, str(path))
