"""Form settings as the survey loader reads them: identity, personal columns, link codes and
the questions that play a role (municipality, design columns, consent).

The settings file is the project's ``forms/<form_id>.yml`` (found by the form's id), or a file
given with ``--mapping`` (needed for SPSS files and plain CSVs, which have no XLSForm). Its
format is documented in :mod:`pipeline.project.forms`; for example, an SPSS file::

    form_id: baseline_2022_spss      # the source instrument (for Kobo: the XLSForm's form_id)
    respondent_id: resp_id           # unique per respondent; replaced by a keyed pseudonym
    personal: [ime, telefon]         # dropped at read time, never stored
    design: {weights: wgt, strata: strat, psu: cluster, fpc: n_psu}
    municipality: opcina             # any spelling; stored as the municipality id
    sex: {question: spol, recode: {1: male, 2: female}}   # recodes apply when indicators are built

Questions keep their own names in the warehouse; nothing is renamed.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import RejectedFile
from pipeline.project.forms import FormSettings, read_form_settings

Mapping = FormSettings  # the loader's name for a form's settings


def read_mapping(path: Path | str) -> FormSettings:
    """Read and check a settings (mapping) file.

    Raises:
        SpscError: the file is missing, not YAML, or names unknown fields.
    """
    return read_form_settings(path)


def default_mapping(form_id: str, project=None) -> FormSettings | None:
    """The project's settings of a form (``forms/<form_id>.yml``), or ``None``."""
    return project.form(form_id) if project is not None else None


def check_mapping_for(mapping: FormSettings, file: Path, form_id: str | None) -> None:
    """Refuse settings written for another form (the export would be misread)."""
    if form_id is not None and mapping.form_id != form_id:
        raise RejectedFile(f"settings {mapping.path or mapping.form_id} are for form {mapping.form_id!r}, "
                           f"not {form_id!r}", str(file))
