"""The citizen survey as a survey agency delivers it: an SPSS ``.sav`` file and its mapping.

Perception surveys in BiH are often fielded by an agency that delivers SPSS. The file holds the
interviews of one wave that the Kobo export's load keeps (consenting respondents, the latest
version of an edited submission, municipalities coded, so none misspelt), as an agency codes
them: numeric codes with value labels, DATETIME interview start and end, 0-10 trust scales
labelled only at their ends, an extra trust question with user-missing codes 98 (refused) and
99 (don't know), and personal variables (name, phone, an exact birth date labelled as one).
Its form settings beside it (``mapping.yml``, also the example project's
``forms/spsc_citizen_survey_agency.yml``) store its variables under the Kobo form's question
names, so the same answers come out as from the Kobo export.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.citizen import NOT_IN_FORM_EDUCATION
from pipeline.synth.xlsforms import (
    CONTACT_CHOICES,
    DISPLACEMENT,
    EDUCATION,
    EMPLOYMENT,
    TRUST_ITEMS,
)

REFUSED, DONT_KNOW = 98, 99
_FIXED_STAMP = (b"01 Jan 25", b"00:00:00")  # the header's creation date and time: files stay byte-identical
_TRUST_VARS = {item: f"Q{i}" for i, item in enumerate(TRUST_ITEMS, start=1)}


def _codes(values: pd.Series, names: list[str]) -> pd.Series:
    """Names as 1-based codes (a name not in the list, e.g. an old choice, gets 9)."""
    lookup = {n: i for i, n in enumerate(names, start=1)}
    return values.map(lambda v: np.nan if v is None or v != v else float(lookup.get(v, 9)))


def _local(text: pd.Series) -> pd.Series:
    """Kobo's local timestamps with offset (``2023-02-06T09:14:03.118+01:00``) as naive local times."""
    return pd.to_datetime(text.str.slice(0, 19), format="%Y-%m-%dT%H:%M:%S")


def write_agency_sav(folder: Path, export: pa.Table, misspelt: np.ndarray, rng: np.random.Generator,
                     wave: str) -> dict:
    """Write ``citizen_survey_<wave>.sav`` and ``mapping.yml`` into ``folder``; returns its truth.

    Args:
        export: the wave's Kobo export as text (skipped answers empty).
        misspelt: rows whose municipality the Kobo load refuses (left out: the agency codes it).
    """
    import pyreadstat

    frame = export.to_pandas(types_mapper=pd.ArrowDtype).astype(object)
    frame = frame.where(frame.notna(), None)
    keep = (frame["consent"] == "yes").to_numpy(dtype=bool) & ~misspelt
    frame = frame[keep].copy()
    frame["_order"] = np.arange(len(frame))
    # an edited submission: the agency delivers its latest version once; duplicates once
    frame = frame.sort_values(["_uuid", "_submission_time", "_order"]).drop_duplicates("_uuid", keep="last")
    frame = frame.sort_values("_order").reset_index(drop=True)
    n = len(frame)
    start, end = _local(frame["start"]), _local(frame["end"])
    age = pd.to_numeric(frame["demographics/age"])
    interview = start.dt.date
    birth = [d - timedelta(days=int(365.25 * a) + int(rng.integers(0, 365))) if a == a and 0 < a < 120 else None
             for d, a in zip(interview, age, strict=True)]
    extra = rng.integers(0, 11, n).astype(float)
    missing = rng.random(n)
    extra[missing < 0.04] = REFUSED
    extra[(missing >= 0.04) & (missing < 0.10)] = DONT_KNOW
    out = pd.DataFrame({
        "ID": np.arange(1001, 1001 + n, dtype=float),
        "START": start, "END": end,
        "DATUM": pd.to_datetime(pd.Series(interview)),
        "OPCINA": _codes(frame["design/stratum"], list(PROJECT_MUNICIPALITIES)),
        "NASELJE": frame["location/settlement"],
        "TIP": _codes(frame["location/urban_rural"], ["urban", "rural"]),
        "SPOL": _codes(frame["demographics/sex"], ["male", "female"]),
        "DOB": age.astype(float),
        "DATUM_RODJ": pd.to_datetime(pd.Series(birth)),
        "OBRAZ": _codes(frame["demographics/education"], list(EDUCATION)),
        "ZAPOSL": _codes(frame["demographics/employment"], list(EMPLOYMENT)),
        "RASELJ": _codes(frame["demographics/displacement"], list(DISPLACEMENT)),
        **{var: pd.to_numeric(frame[f"trust/{item}"]).astype(float) for item, var in _TRUST_VARS.items()},
        "Q7": extra,
        "GOV1": pd.to_numeric(frame["governance/views_considered"]).astype(float),
        "GOV2": pd.to_numeric(frame["governance/satisfaction_social"]).astype(float),
        "DIJALOG": _codes(frame["governance/dialogue_participation"], ["yes", "no"]),
        "ENTITET": pd.to_numeric(frame["cohesion/trust_other_entity"]).astype(float),
        "KONTAKT": frame["cohesion/contact_willing"],
        "IME": frame["contact/respondent_name"],
        "TEL": frame["contact/phone"],
        "STRAT": frame["design/stratum"],
        "PSU": frame["design/psu"],
        "WT": pd.to_numeric(frame["design/weight"]).astype(float),
        "FPC": pd.to_numeric(frame["design/fpc"]).astype(float),
        "FPC2": pd.to_numeric(frame["design/fpc2"]).astype(float),
    })
    trust_labels = {0.0: "Nimalo ne vjerujem", 10.0: "Potpuno vjerujem"}
    labels = {
        "OPCINA": {float(i): m for i, m in enumerate(PROJECT_MUNICIPALITIES, start=1)},
        "TIP": {1.0: "Urbano", 2.0: "Ruralno"}, "SPOL": {1.0: "Muški", 2.0: "Ženski"},
        "OBRAZ": {float(i): e for i, e in enumerate(EDUCATION, start=1)},
        "ZAPOSL": {float(i): e for i, e in enumerate(EMPLOYMENT, start=1)},
        "RASELJ": {float(i): e for i, e in enumerate(DISPLACEMENT, start=1)},
        **dict.fromkeys(_TRUST_VARS.values(), trust_labels),
        "Q7": {**trust_labels, float(REFUSED): "Odbija odgovor", float(DONT_KNOW): "Ne zna"},
        "DIJALOG": {1.0: "Da", 2.0: "Ne"},
    }
    column_labels = {
        "ID": "Redni broj ankete", "START": "Početak intervjua", "END": "Kraj intervjua", "DATUM": "Datum intervjua",
        "OPCINA": "Općina", "NASELJE": "Naselje", "TIP": "Tip naselja", "SPOL": "Spol ispitanika",
        "DOB": "Dob (godine)", "DATUM_RODJ": "Datum rođenja", "OBRAZ": "Obrazovanje", "ZAPOSL": "Zaposlenost",
        "RASELJ": "Status raseljenosti", "Q1": "Povjerenje: općinska uprava", "Q2": "Povjerenje: centar za socijalni rad",
        "Q3": "Povjerenje: biro za zapošljavanje", "Q4": "Povjerenje: dom zdravlja",
        "Q5": "Povjerenje: centar za mentalno zdravlje", "Q6": "Povjerenje: škole", "Q7": "Povjerenje: policija",
        "GOV1": "Uvažavanje mišljenja građana (1-5)", "GOV2": "Zadovoljstvo socijalnim uslugama (1-5)",
        "DIJALOG": "Učešće u dijalogu građana", "ENTITET": "Povjerenje u ljude iz drugog entiteta",
        "KONTAKT": "Spremnost na kontakt", "IME": "Ime i prezime", "TEL": "Broj telefona", "STRAT": "Stratum",
        "PSU": "Primarna jedinica uzorka", "WT": "Težinski faktor", "FPC": "Broj PJU u stratumu",
        "FPC2": "Broj odraslih u naselju",
    }
    path = folder / f"citizen_survey_{wave}.sav"
    folder.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(
        out, str(path), file_label=f"SPSC istraživanje građana {wave}", column_labels=column_labels,
        variable_value_labels=labels, missing_ranges={"Q7": [REFUSED, DONT_KNOW]},
        variable_measure={"OPCINA": "nominal", "TIP": "nominal", "SPOL": "nominal", "OBRAZ": "ordinal",
                          "ZAPOSL": "nominal", "RASELJ": "nominal", "DIJALOG": "nominal",
                          **dict.fromkeys([*_TRUST_VARS.values(), "Q7", "ENTITET", "DOB", "WT", "FPC", "FPC2"], "scale")},
        variable_format={"START": "DATETIME20", "END": "DATETIME20", "DATUM": "EDATE10", "DATUM_RODJ": "EDATE10"})
    _fix_stamp(path)
    (folder / "mapping.yml").write_text(_mapping_text(wave), encoding="utf-8")
    return {
        "file": f"survey/agency/{path.name}", "mapping": "survey/agency/mapping.yml", "cases": n,
        "refused": int((extra == REFUSED).sum()), "dont_know": int((extra == DONT_KNOW).sum()),
        "personal": ["IME", "TEL", "DATUM_RODJ"], "not_in_form_education": int(
            (frame["demographics/education"] == NOT_IN_FORM_EDUCATION).sum()),
        "contact_choices": list(CONTACT_CHOICES),
    }


def _fix_stamp(path: Path) -> None:
    """SPSS writes the creation date and time into the header: fixed, so a rerun writes the same bytes."""
    data = bytearray(path.read_bytes())
    data[92:101], data[101:109] = _FIXED_STAMP
    path.write_bytes(bytes(data))


_MAPPING_HEAD = """\
# The form settings of the agency's SPSS file of the citizen survey ({wave}): its variables
# are stored under the project's Kobo question names (rename), so the same indicators read
# them; its codes become the Kobo choice names when indicators are built (recodes). The file's
# dictionary is its codebook (labels, the missing codes 98 and 99 of Q7, kept as Q7); IME and
# TEL are personal by name and label, DATUM_RODJ by its label ("Datum rođenja"), and never read.
# The example project declares the same settings (forms/spsc_citizen_survey_agency.yml).
"""

AGENCY_FORM_ID = "spsc_citizen_survey_agency"


def agency_settings() -> dict:
    """The agency file's form settings (see :mod:`pipeline.project.forms`)."""
    def coded(names) -> dict:
        return {i: n for i, n in enumerate(names, start=1)}

    rename = {
        "START": "start", "END": "end", "DATUM": "today",
        "OPCINA": "location/municipality", "NASELJE": "location/settlement", "TIP": "location/urban_rural",
        "SPOL": "demographics/sex", "DOB": "demographics/age", "OBRAZ": "demographics/education",
        "ZAPOSL": "demographics/employment", "RASELJ": "demographics/displacement",
        **{var: f"trust/{item}" for item, var in _TRUST_VARS.items()},
        "GOV1": "governance/views_considered", "GOV2": "governance/satisfaction_social",
        "DIJALOG": "governance/dialogue_participation", "ENTITET": "cohesion/trust_other_entity",
        "KONTAKT": "cohesion/contact_willing",
        "STRAT": "design/stratum", "PSU": "design/psu", "WT": "design/weight", "FPC": "design/fpc",
        "FPC2": "design/fpc2",
    }
    return {
        "form_id": AGENCY_FORM_ID,
        "label": {"en": "Citizen perception survey (agency SPSS file)",
                  "bs": "Istraživanje percepcije građana (SPSS agencije)"},
        "respondent_id": "ID",
        "personal": ["IME", "TEL"],
        "rename": rename,
        "design": {"weights": "design/weight", "strata": "design/stratum",
                   "psu": ["design/psu", "respondent"], "fpc": ["design/fpc", "design/fpc2"]},
        "municipality": {"question": "location/municipality", "recode": coded(PROJECT_MUNICIPALITIES)},
        "sex": {"question": "demographics/sex", "recode": coded(["male", "female"])},
        "age": "demographics/age",
        "recode": {
            "location/urban_rural": coded(["urban", "rural"]),
            "demographics/education": coded(EDUCATION),
            "demographics/employment": coded(EMPLOYMENT),
            "demographics/displacement": coded(DISPLACEMENT),
            "governance/dialogue_participation": coded(["yes", "no"]),
        },
    }


def _mapping_text(wave: str) -> str:
    return _MAPPING_HEAD.format(wave=wave) + yaml.safe_dump(agency_settings(), sort_keys=False, allow_unicode=True)
