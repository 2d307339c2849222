"""SPSS ``.sav`` files (read with pyreadstat): data landed as text, labels as the codebook.

Variable labels become question labels, value labels become choice lists (one per
variable), so an SPSS source gets a codebook like an XLSForm does. A numeric variable whose
labels name only some of its values (``99 = does not know`` on a 0-10 scale) stays a number,
its labels kept. Values stay codes; the form's settings recode them when indicators are built.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.errors import RejectedFile
from pipeline.ingest.survey_land import Landed, RawFile, land_rows
from pipeline.ingest.xlsform import DEFAULT_LANGUAGE, Choice, Form, Question, personal_reason


def _code(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_sav(con: duckdb.DuckDBPyConnection, table: str, raw: RawFile, form_id: str) -> tuple[Landed, Form]:
    """Land a ``.sav`` file and build its codebook.

    Raises:
        RejectedFile: not a readable SPSS file.
    """
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(raw.path), apply_value_formats=False)
    except Exception as exc:  # pyreadstat raises ReadstatError and plain errors alike
        raise RejectedFile(f"not a readable SPSS file ({type(exc).__name__}: {exc})", str(raw.path)) from exc
    header = list(frame.columns)
    rows = [header, *frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)]
    landed = land_rows(con, table, raw.path, Path(raw.path).stem, [list(r) for r in rows])
    labels = dict(zip(meta.column_names, meta.column_labels or [None] * len(header), strict=False))
    value_labels = meta.variable_value_labels or {}
    questions, choices = [], []
    for i, name in enumerate(header, start=1):
        numeric = meta.readstat_variable_types.get(name) != "string"
        fmt = str((meta.original_variable_types or {}).get(name, "")).upper()
        if name in value_labels:
            codes = {_code(c) for c in value_labels[name]}
            complete = {_code(v) for v in frame[name].dropna().unique()} <= codes
            qtype, list_name = ("select_one" if complete or not numeric else "decimal"), name
            for j, (code, text) in enumerate(value_labels[name].items(), start=1):
                choices.append(Choice(name, _code(code), {DEFAULT_LANGUAGE: str(text)}, j))
        elif "DATETIME" in fmt:
            qtype, list_name = "datetime", None
        elif "DATE" in fmt:
            qtype, list_name = "date", None
        else:
            qtype, list_name = ("decimal" if numeric else "text"), None
        label = labels.get(name)
        questions.append(Question(
            path=name, name=name, type=qtype, list_name=list_name, group_path="", repeat_path=None,
            labels={DEFAULT_LANGUAGE: str(label)} if label else {}, required=False, relevant=None,
            constraint=None, position=i,
            # SPSS keeps phone numbers as numbers too: judge every variable by its name
            personal=personal_reason(name, "text") or personal_reason(name, qtype)))
    form = Form(form_id=form_id, version=f"sav-{raw.sha256[:12]}", title=str(meta.file_label or ""),
                default_language=DEFAULT_LANGUAGE, languages=[DEFAULT_LANGUAGE], questions=questions,
                choices=choices, repeats=[], path=raw.path)
    return landed, form


def csv_codebook(landed: Landed, raw: RawFile, form_id: str) -> Form:
    """A codebook of a plain CSV: its columns as text questions, no labels."""
    questions = [Question(path=h, name=h, type="text", list_name=None, group_path="", repeat_path=None,
                          labels={}, required=False, relevant=None, constraint=None,
                          personal=personal_reason(h, "text"), position=i)
                 for i, h in enumerate(landed.headers, start=1)]
    return Form(form_id=form_id, version=f"csv-{raw.sha256[:12]}", title="", default_language=DEFAULT_LANGUAGE,
                languages=[DEFAULT_LANGUAGE], questions=questions, choices=[], repeats=[], path=raw.path)
