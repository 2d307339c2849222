"""``spsc build`` (compute the indicator marts) and ``spsc indicators`` (the donor table)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app, console, settings
from pipeline.errors import SpscError

FORMATS = ("table", "csv", "xlsx")
LANGS = ("en", "bs")


@app.command("build")
def build_command(
    wait: Annotated[float | None, typer.Option(help="Seconds to wait for another writer (default 600, or SPSC_WRITE_WAIT).")] = None,
) -> None:
    """Compute every indicator for every period and domain into indicator_values."""
    from pipeline.indicators.engine import build

    s = settings()
    summary = build(s, wait=wait)
    for note in summary.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(
        f"respondents: {summary.respondents}; "
        f"indicator_values: {summary.values} cells of {summary.indicators} indicators"
        f" ({summary.suppressed} suppressed, fewer than {s.min_cell} people or complementary),"
        f" periods {', '.join(summary.periods) or 'none'}; indicator_changes: {summary.changes} rows",
        markup=False, highlight=False)


@app.command("indicators")
def indicators_command(
    period: Annotated[str, typer.Option(help="Reporting period, e.g. 2024Q4.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or xlsx.")] = "table",
    out: Annotated[Path | None, typer.Option(help="Output file (csv: default stdout; xlsx: default reports/).")] = None,
    lang: Annotated[str, typer.Option(help="Language of labels and headers: en or bs.")] = "en",
) -> None:
    """The PBF indicator based performance assessment for a period."""
    from pipeline.indicators import donor_table
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.warehouse import open_published

    if fmt not in FORMATS:
        raise SpscError(f"unknown format '{fmt}'", "--format", f"use one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise SpscError(f"unknown language '{lang}'", "--lang", "use en or bs")
    s = settings()
    con = open_published(s.db)
    try:
        table = donor_table.donor_rows(con, load_catalogue(s.require_project()), s, period)
    finally:
        con.close()
    if fmt == "table":
        console.print(donor_table.render_table(table, lang, table.attrs["min_cell"]))
    elif fmt == "csv":
        text = donor_table.write_csv(table, out, lang, table.attrs["min_cell"])
        if out is None:
            sys.stdout.write(text)
        else:
            console.print(f"donor table written to {out}", markup=False, highlight=False)
    else:
        target = out or s.reports_dir / f"indicators_{period}.xlsx"
        donor_table.write_xlsx(table, target, period, lang, table.attrs["min_cell"])
        console.print(f"donor table written to {target}", markup=False, highlight=False)
