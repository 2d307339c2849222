"""Mapping files: which source columns are the respondent id, the design, personal, and which
canonical question each source variable answers (with value recodes).

A mapping is a small YAML file. The project ships one per project form in
``pipeline/ingest/mappings/`` (used automatically for Kobo exports of those forms); SPSS files
and plain CSVs need one given with ``--mapping``::

    form_id: baseline_2022_spss      # the source instrument (for Kobo: the XLSForm's form_id)
    target: citizen                  # canonical model: citizen or youth (none: variables as they are)
    respondent_id: resp_id           # unique per respondent; replaced by a keyed pseudonym
    weight: wgt
    strata: strat
    psu: cluster
    population: n_psu                # population size / fpc column (alias: fpc)
    personal: [ime, telefon]         # dropped at read time, never stored (each must exist)
    categorical: [obraz]             # SPSS: value labels are the complete list of values
    questions:                       # canonical question: source column, or with a recode
      age: dob
      sex: {source: spol, recode: {1: male, 2: female}}
      trust_municipality: {source: q5, recode: {99: null}}
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import RejectedFile, SpscError
from pipeline.ingest.survey_schema import TARGETS


class SourceColumn(BaseModel):
    """A source column and how its values become canonical ones."""

    model_config = ConfigDict(extra="forbid")

    source: str
    recode: dict[str, str | bool | int | float | None] = Field(default_factory=dict)

    @field_validator("recode", mode="before")
    @classmethod
    def _keys_as_text(cls, value):
        if value is None:
            return {}
        out = {}
        for k, v in dict(value).items():
            for text in _text_keys(k):
                out[text] = v
        return out


def _text_keys(key) -> list[str]:
    # YAML reads an unquoted yes/no/true/false key as a boolean: match every spelling of it
    if isinstance(key, bool):
        return ["yes", "true", "1"] if key else ["no", "false", "0"]
    if isinstance(key, float) and key.is_integer():
        return [str(int(key))]
    return [str(key)]


class Mapping(BaseModel):
    """A parsed mapping file (see the module docstring for the format)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    form_id: str
    target: str | None = None
    respondent_id: str | None = None
    submitted_at: str | None = None
    weight: str | None = None
    strata: str | None = None
    psu: str | None = None
    population: str | None = Field(default=None, alias="fpc")
    personal: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    questions: dict[str, SourceColumn] = Field(default_factory=dict)
    path: str | None = None

    @field_validator("questions", mode="before")
    @classmethod
    def _short_form(cls, value):
        out = {}
        for name, spec in dict(value or {}).items():
            out[name] = {"source": spec} if isinstance(spec, str) else spec
        return out

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        if isinstance(data, dict) and "population" in data and "fpc" in data:
            raise ValueError("give either 'population' or 'fpc', not both")
        if isinstance(data, dict) and "population" in data:
            data = {("fpc" if k == "population" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _known(self):
        if self.target is None:
            if self.questions or self.weight or self.strata or self.psu or self.population:
                raise ValueError("questions and a design need a target (citizen or youth); without one, "
                                 "every variable loads under its own name")
            return self
        target = TARGETS.get(self.target)
        if target is None:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        unknown = [q for q in self.questions if target.get(q) is None]
        if unknown:
            raise ValueError(f"unknown canonical questions for {self.target}: {', '.join(unknown)}")
        # a source without a consent question counts its rows as consenting
        needed = [q.name for q in target.questions if q.required and q.name != target.consent]
        missing = [q for q in needed if q not in self.columns()]
        if missing:
            raise ValueError(f"the {self.target} model needs a source for {', '.join(missing)}")
        return self

    def sources(self) -> list[str]:
        """Every source column the mapping names (questions, design, id, submission time)."""
        out = [c.source for c in self.columns().values()]
        out += [c for c in (self.respondent_id, self.submitted_at) if c]
        return out

    def columns(self) -> dict[str, SourceColumn]:
        """Every canonical question with its source, design columns included."""
        out = dict(self.questions)
        for canonical, source in (("weight", self.weight), ("stratum", self.strata),
                                  ("psu", self.psu), ("fpc", self.population)):
            if source and canonical not in out:
                out[canonical] = SourceColumn(source=source)
        return out


def read_mapping(path: Path | str) -> Mapping:
    """Read and check a mapping file.

    Raises:
        SpscError: the file is missing, not YAML, or names unknown fields or questions.
    """
    path = Path(path)
    if not path.exists():
        raise SpscError("no such mapping file", str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpscError(f"the mapping is not valid YAML ({exc.__class__.__name__})", str(path)) from exc
    if not isinstance(data, dict):
        raise SpscError("the mapping must be a YAML mapping of keys to values", str(path))
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "mapping"
        raise SpscError(f"invalid mapping ({where}: {first['msg']})", str(path)) from exc
    return mapping.model_copy(update={"path": str(path)})


def default_mapping(form_id: str) -> Mapping | None:
    """The shipped mapping of a project form (``mappings/<form_id>.yml``), or ``None``."""
    entry = resources.files("pipeline.ingest").joinpath("mappings", f"{form_id}.yml")
    if not entry.is_file():
        return None
    with resources.as_file(entry) as p:
        return read_mapping(p)


def check_mapping_for(mapping: Mapping, file: Path, form_id: str | None) -> None:
    """Refuse a mapping written for another form (the export would be misread)."""
    if form_id is not None and mapping.form_id != form_id:
        raise RejectedFile(f"mapping {mapping.path or mapping.form_id} is for form {mapping.form_id!r}, "
                           f"not {form_id!r}", str(file))
