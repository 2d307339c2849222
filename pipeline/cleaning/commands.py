"""CLI verbs of the cleaning stage: ``spsc clean apply``, ``spsc clean checks``, ``spsc clean status``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import app, console, settings
from pipeline.errors import SpscError

clean_app = typer.Typer(help="The analyst's cleaning loop: cleaning logs applied at every load and build.",
                        no_args_is_help=True)
app.add_typer(clean_app, name="clean")


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _logs(paths: list[Path] | None, folder: Path | None) -> list[Path]:
    if paths:
        out = []
        for p in paths:
            if p.is_dir():
                out += sorted(x for x in p.iterdir() if x.suffix.lower() in (".csv", ".xlsx") and not x.name.startswith(("~", ".")))
            else:
                out.append(p)
        return out
    if folder is None or not folder.is_dir():
        raise SpscError("no cleaning log given and no cleaning folder", str(folder or "cleaning/"),
                        "give the log files (spsc clean apply cleaning/*.csv)")
    return sorted(x for x in folder.iterdir() if x.suffix.lower() in (".csv", ".xlsx") and not x.name.startswith(("~", ".")))


@clean_app.command("apply")
def apply_command(
    logs: Annotated[list[Path] | None, typer.Argument(
        help="Cleaning logs (.csv or .xlsx; default: every log in the project's cleaning/ folder).")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Stop applying these logs instead.")] = False,
) -> None:
    """Validate and register cleaning logs; their decisions are applied now and at every later
    load and build (a log with a bad row is refused whole, each bad row named)."""
    from pipeline.cleaning.apply import (
        project_relative,
        refresh_effects,
        register_log,
        unregister_log,
    )
    from pipeline.cleaning.log import read_log
    from pipeline.warehouse import connect, migrate, transaction
    from pipeline.warehouse.setup import bound_secret

    s = settings()
    root = s.project.root if s.project is not None else None
    files = _logs(logs, s.project.path(s.project.config.paths.cleaning) if s.project is not None else None)
    if not s.db.exists():
        raise SpscError("no warehouse here", str(s.db), "run 'spsc init' and load the surveys first")
    read = [] if remove else [read_log(f) for f in files]
    con = connect(s.db, wait=s.write_wait)
    try:
        migrate(con)
        lines = []
        with transaction(con):
            if remove:
                for f in files:
                    name = project_relative(f, root)
                    lines.append(f"{name}: {'no longer applied' if unregister_log(con, name) else 'was not registered'}")
            else:
                secret = bound_secret(s, con)
                for log in read:
                    name = project_relative(log.path, root)
                    _, changed = register_log(con, log, secret, name)
                    lines.append(f"{name}: {len(log.decisions)} decisions "
                                 f"{'registered' if changed else 'already registered (unchanged)'}")
            counts = refresh_effects(con)
    finally:
        con.close()
    for line in lines:
        _say(line)
    _say("decisions now: " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none")
         + "; 'spsc clean status' lists them, 'spsc build' updates the indicators")


@clean_app.command("status")
def status_command(
    details: Annotated[bool, typer.Option("--details", help="List every decision not applied, with why.")] = False,
) -> None:
    """Logs registered and their decisions applied, stale, not found, refused, by change type."""
    from pipeline.cleaning.apply import STATUSES, not_applied, status_frame
    from pipeline.warehouse import open_published

    s = settings()
    con = open_published(s.db)
    try:
        frame = status_frame(con)
        missing = not_applied(con)
    finally:
        con.close()
    if frame.empty:
        _say("no cleaning log registered ('spsc clean apply LOG' registers one)")
        return
    table = Table("log", "sha256", "change type", "decisions", *(x.replace("_", " ") for x in STATUSES))
    for r in frame.itertuples(index=False):
        table.add_row(r.file_name, r.sha256[:12], r.change_type, str(r.decisions),
                      *(str(getattr(r, x)) for x in STATUSES))
    console.print(table)
    totals = {x: int(frame[x].sum()) for x in STATUSES}
    _say(f"{int(frame['decisions'].sum())} decisions: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in totals.items()))
    if s.project is not None:
        folder = s.project.path(s.project.config.paths.cleaning)
        _warn_changed(s, folder)
    if not missing.empty:
        _say(f"{len(missing)} decisions not applied:" if details else
             f"{len(missing)} decisions not applied (--details lists them with why)")
        if details:
            for r in missing.itertuples(index=False):
                _say(f"  {r.file_name} row {r.log_row} ({r.change_type} {r.question or ''}): {r.status}: {r.detail}")


def _warn_changed(s, folder: Path) -> None:
    """Say when a registered log's file changed (or a log in cleaning/ is not registered)."""
    import hashlib

    from pipeline.cleaning.apply import project_relative, provenance
    from pipeline.warehouse import open_published

    con = open_published(s.db)
    try:
        registered = {p["file"]: p["sha256"] for p in provenance(con)}
    finally:
        con.close()
    root = s.project.root
    for name, sha in registered.items():
        path = root / name if not Path(name).is_absolute() else Path(name)
        if not path.exists():
            _say(f"warning: {name} is registered but the file is gone (its decisions still apply; "
                 f"'spsc clean apply --remove {name}' stops them)")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            _say(f"warning: {name} changed since it was registered: 'spsc clean apply {name}' applies the new version")
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in (".csv", ".xlsx") and project_relative(f, root) not in registered \
                    and not f.name.startswith(("~", ".", "draft")):
                _say(f"note: {project_relative(f, root)} is in the cleaning folder but not registered")


@clean_app.command("checks")
def checks_command(
    wave: Annotated[str | None, typer.Option(help="Only this wave (default: every wave).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the draft log here (.csv or .xlsx; default: cleaning/draft_<wave or all>.csv).")] = None,
    form: Annotated[str | None, typer.Option(help="Only this form (default: every survey form).")] = None,
) -> None:
    """Draft a cleaning log for review: one row per finding (short interviews, straight-lining,
    outliers, soft duplicates, 'other' texts repeating a choice, cells the load quarantined),
    change_type empty for the analyst to decide."""
    from pipeline.cleaning.checks import run_checks, write_draft

    s = settings()
    project = s.require_project()
    draft = run_checks(s, project, wave=wave, form=form)
    target = out or project.path(project.config.paths.cleaning) / f"draft_{wave or 'all'}.csv"
    write_draft(draft, target)
    counts = draft["check"].value_counts().to_dict() if not draft.empty else {}
    _say(f"{len(draft)} findings written to {target}"
         + (" (" + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ")" if counts else ""))
    missing = int(draft["uuid"].isna().sum()) if not draft.empty else 0
    if missing:
        _say(f"note: {missing} findings have no uuid (their export files were not found again): "
             "their respondent_key column names the submission for 'spsc clean apply'")
    _say("review each row: write its change_type (change_response, blank_response, remove_survey, no_action), "
         "then 'spsc clean apply' the file")
