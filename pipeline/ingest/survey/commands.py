"""CLI verbs of the survey stage: ``spsc ingest survey`` and ``spsc quarantine``.

Imported by ``pipeline.ingest.commands``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import app, console, ingest_app, settings
from pipeline.errors import SpscError


@ingest_app.command("survey")
def ingest_survey_command(
    exports: Annotated[list[Path] | None, typer.Argument(
        help="Kobo exports (XLSX, XLS or CSV; the files of one multi-table export together), "
             "SPSS .sav/.zsav/.por or Stata .dta files (no mapping needed), or plain CSV files (with a "
             "mapping).")] = None,
    form: Annotated[list[Path] | None, typer.Option(
        help="The XLSForm the Kobo exports were made from. Give it once per form version when the "
             "export holds several (KPI exports all versions): the latest first.")] = None,
    wave: Annotated[str | None, typer.Option(
        help="Survey wave, e.g. 2024Q4 (default: the YYYYQn in each file name).")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help="Mapping file (YAML) for SPSS/plain CSV, or to override a form's shipped mapping; "
             "its format is in docs/raw_data.md, 'Mapping files'.")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Load a file again although it was loaded (a corrected mapping, or a corrected "
                          "delivery under the same file name): its earlier batch's rows are replaced.")] = False,
) -> None:
    """Load survey exports: typed, validated, personal data removed.

    A bad cell is loaded as missing and kept in the quarantine with its reason; a row is
    quarantined only when it is unusable (no id, no design column, no consent). See
    docs/raw_data.md for the rules and for the mapping file (--mapping).
    """
    from pipeline.ingest.survey.load import ingest_survey

    if not exports and not form:
        raise SpscError("nothing to load", "spsc ingest survey", "give export files (and --form for Kobo exports)")
    for result in ingest_survey(settings(), exports or [], form=form, wave=wave, mapping=mapping, replace=replace):
        console.print(result.line(), markup=False, highlight=False, soft_wrap=True)
        for note in result.notes:
            console.print(f"  note: {note}", markup=False, highlight=False, soft_wrap=True)


@app.command("quarantine")
def quarantine_command(
    batch: Annotated[int | None, typer.Option(help="Only this load batch.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write every quarantined row to this .csv or .xlsx file for the field team.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show on screen.")] = 50,
) -> None:
    """List the quarantine: every problem with its reason and what it did to the load (row: the
    row was not loaded; cell: the value was loaded as missing; note: loaded as it is)."""
    from pipeline.ingest.survey.quarantine import export_quarantine, read_quarantine

    frame = read_quarantine(settings(), batch)
    if out is not None:
        export_quarantine(frame, out)
        console.print(f"{len(frame)} quarantine rows written to {out}", markup=False, highlight=False)
        return
    table = Table("batch", "file", "sheet", "row", "column", "value", "rule", "action", "reason")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if v is None or v != v else str(v) for v in row))
    console.print(table)
    shown = min(limit, len(frame))
    counts = frame["action"].value_counts()
    rows = frame[frame["action"] == "row"][["batch_id", "sheet", "source_row"]].drop_duplicates()
    summary = (f"{len(rows)} rows not loaded, {int(counts.get('cell', 0))} cells loaded as missing, "
               f"{int(counts.get('note', 0))} notes")
    console.print(summary + (f" ({shown} of {len(frame)} shown; --out FILE for all)"
                             if shown < len(frame) else ""), markup=False, highlight=False)
