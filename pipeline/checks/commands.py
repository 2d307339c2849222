"""CLI verbs of the checks: ``spsc check``, ``spsc audit``, ``spsc snapshot``, ``spsc diff``.

Imported by :func:`pipeline.cli.main`. Each exits non-zero (one line per problem) when it
finds something a person must act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app, console, settings
from pipeline.errors import SpscError


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command("check")
def check_command() -> None:
    """Check the warehouse: ledger counts, no interrupted load, keys between marts, no orphans."""
    from pipeline.checks.integrity import check_warehouse
    from pipeline.warehouse import connect

    s = settings()
    con = connect(s.db, read_only=True, wait=30)
    try:
        report = check_warehouse(con)
    finally:
        con.close()
    for note in report.notes:
        _say(f"note: {note}")
    if not report.ok:
        for problem in report.problems:
            _say(f"problem: {problem}")
        raise SpscError(f"{len(report.problems)} integrity problems", str(s.db),
                        "see the lines above")
    _say(f"warehouse {s.db}: {report.checks} checks passed")


@app.command("audit")
def audit_command(
    reports: Annotated[Path | None, typer.Option(
        help="Folder of reports, tables, decks and executed notebooks (default: reports/).")] = None,
) -> None:
    """Look for personal data and unsuppressed small cells in the warehouse and the reports."""
    from pipeline.checks.audit import audit

    s = settings()
    result = audit(s, reports)
    for note in result.notes:
        _say(f"note: {note}")
    for finding in result.findings:
        _say(f"finding: {finding.line()}")
    summary = (f"{result.raw_files} raw files read for {result.personal_values} personal values;"
               f" warehouse and {result.report_files} report files searched")
    if result.findings:
        raise SpscError(f"{len(result.findings)} findings ({summary})", str(reports or s.reports_dir),
                        "remove the personal data or suppress the cells, then audit again")
    if result.unchecked:
        # nothing found is not clean when some raw files could not be read again
        _say(f"audit: nothing found, but {len(result.unchecked)} raw files not checked (see the notes): {summary}")
        return
    _say(f"audit clean: {summary}")


@app.command("snapshot")
def snapshot_command(
    period: Annotated[str, typer.Option(help="Reporting quarter, e.g. 2024Q3.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the snapshot).")] = "spsc snapshot",
    restate: Annotated[bool, typer.Option(
        "--restate", help="Replace the period's published numbers with the current ones.")] = False,
) -> None:
    """Freeze the indicator values a report of PERIOD publishes (reports read them back)."""
    from pipeline.checks.snapshots import snapshot_period
    from pipeline.warehouse import connect

    s = settings()
    con = connect(s.db, wait=s.write_wait)
    try:
        snapshot_id, created = snapshot_period(con, period, reason, restate=restate, settings=s)
    finally:
        con.close()
    if created:
        _say(f"snapshot {snapshot_id} of {period} taken ({reason})")
    else:
        _say(f"{period} is already published as snapshot {snapshot_id}; nothing changed"
             " (--restate to replace it)")


@app.command("diff")
def diff_command(
    period: Annotated[str, typer.Option(help="Reporting quarter, e.g. 2024Q3.")],
) -> None:
    """List every published number of PERIOD that would change if it were reported now, and why."""
    from pipeline.checks.snapshots import diff_period
    from pipeline.warehouse import connect

    s = settings()
    con = connect(s.db, read_only=True, wait=30)
    try:
        snap, changes = diff_period(con, period, settings=s)
    finally:
        con.close()
    _say(f"snapshot {snap.snapshot_id} of {period}, taken {snap.created_at:%Y-%m-%d %H:%M}"
         f" ({snap.reason})")
    for row in changes.itertuples(index=False):
        _say(f"{row.indicator_id} {row.period} {row.dimension}={row.dimension_value}:"
             f" published {row.published}, now {row.now}; {row.why}")
    if changes.empty:
        _say(f"no published number of {period} would change")
    else:
        _say(f"{len(changes)} numbers would change; 'spsc snapshot --period {period} --restate'"
             " publishes the new ones")
