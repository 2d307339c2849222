"""The closing sections: data quality (checks and cleaning) and provenance."""

from __future__ import annotations

import pandas as pd

from pipeline.reports import data, narrative
from pipeline.reports.pages import render
from pipeline.reports.report import Report
from pipeline.reports.text import t


# ---------------------------------------------------------------------------- data quality
def data_quality(rep: Report) -> None:
    """Quarantined cells of the quarter's files, by rule; the suppression rule."""
    rep.heading("data_quality")
    lang = rep.lang
    found = data.quarantine_by_rule(rep.con, rep.period)
    cells = int(found["cells"].sum()) if not found.empty else 0
    notes = [narrative.quarantine_sentence(cells, data.quarantine_files(rep.con, rep.period),
                                           rep.period, lang)]
    if rep.muni is not None:
        notes.append(t("quarantine_project_wide", lang))
    rep.paragraphs(notes)
    if not found.empty:  # the table of reasons the sentence announces
        shown = pd.DataFrame({t("col_rule", lang): found["rule"], t("col_reason", lang): found["reason"],
                              t("col_rows", lang): found["cells"], t("col_file", lang): found["files"]})
        rep.table("quarantine", found, shown)
    rep.paragraphs([_cleaning_sentence(rep)])
    rep.paragraphs([t("suppressed_note", lang, min_cell=rep.min_cell)], css="note")


def _cleaning_sentence(rep: Report) -> str:
    """How many decisions of the cleaning logs the numbers were computed with."""
    from pipeline.cleaning.apply import status_frame

    frame = status_frame(rep.con)
    if frame.empty:
        return t("no_cleaning", rep.lang)
    by_type = frame.groupby("change_type")["applied"].sum()
    return t("cleaning_applied", rep.lang, applied=int(frame["applied"].sum()), logs=frame["file_name"].nunique(),
             removed=int(by_type.get("remove_survey", 0)),
             changed=int(by_type.get("change_response", 0) + by_type.get("blank_response", 0)),
             confirmed=int(by_type.get("no_action", 0)),
             not_applied=int(frame["decisions"].sum() - frame["applied"].sum()))


# ---------------------------------------------------------------------------- provenance
def provenance(rep: Report) -> None:
    """When and from what the report was made: code, warehouse, parameters, raw files."""
    from pipeline.reports.provenance import Provenance, load_batches, read_copy_lines
    from pipeline.warehouse import schema_version

    lang = rep.lang
    prov = Provenance(parameters=rep.parameters, warehouse=str(rep.settings.db),
                      schema_version=schema_version(rep.con),
                      batches=load_batches(rep.con, rep.batch_ids), read_copy=rep.freshness)
    # where the batch put its files is plumbing (a temporary folder), not what the report is of
    params = ", ".join(f"{k}={v!r}" for k, v in prov.parameters.items()
                       if k not in ("output_dir", "maps_dir"))
    lines = [t("prov_made", lang, when=prov.made_at, version=prov.version, commit=prov.commit),
             t("prov_warehouse", lang, path=prov.warehouse, schema=prov.schema_version),
             *read_copy_lines(prov.read_copy, lang),
             t("prov_parameters", lang, parameters=params),
             f"Python: {rep.python}"]
    from pipeline.cleaning.apply import provenance as cleaning_provenance

    lines += [t("prov_cleaning", lang, file=c["file"], sha=c["sha256"][:16], applied=c["applied"],
                decisions=c["decisions"]) for c in cleaning_provenance(rep.con)]
    lines.append(t("prov_batches", lang) if len(prov.batches) else t("prov_no_batches", lang))
    rep.html(render("provenance", heading=t("provenance", lang), lines=lines))
    if len(prov.batches):
        shown = pd.DataFrame({t("col_file", lang): prov.batches["file_name"],
                              t("col_kind", lang): prov.batches["kind"],
                              t("col_period", lang): prov.batches["wave"].fillna(""),
                              t("col_sha256", lang): prov.batches["sha256"]})
        rep.table("provenance", prov.batches, shown)
