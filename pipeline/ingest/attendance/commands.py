"""CLI verbs of the attendance stage: ``spsc ingest attendance``, ``spsc ingest events``,
``spsc review persons``. Imported by ``pipeline.ingest.commands``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import console, ingest_app, review_app, settings
from pipeline.errors import SpscError


def _print_results(results) -> None:
    for r in results:
        console.print(r.summary(), markup=False, highlight=False, soft_wrap=True)


@ingest_app.command("attendance")
def ingest_attendance_command(
    files: Annotated[
        list[Path], typer.Argument(help="Sign-in sheets (XLSX, XLS, CSV) or folders of them.")
    ],
    reload: Annotated[
        bool,
        typer.Option(help="Load again files already loaded (e.g. after adding missing events)."),
    ] = False,
) -> None:
    """Load sign-in sheets: people become pseudonymous keys; names never enter the warehouse."""
    from pipeline.cli import _expand
    from pipeline.ingest.attendance.load import ingest_attendance

    paths = [p for p in _expand(files) if not p.name.startswith(("~$", "events."))]
    results = ingest_attendance(settings(), paths, reload=reload, keep_going=True)
    _print_results(results)
    rejected = [r for r in results if r.rejected]
    if rejected:
        raise SpscError(
            f"{len(rejected)} of {len(results)} files rejected (nothing loaded from them)",
            ", ".join(r.path.name for r in rejected),
            "fix or re-export them and load them again",
        )


@ingest_app.command("events")
def ingest_events_command(
    file: Annotated[Path, typer.Argument(help="The events list (XLSX, XLS or CSV).")],
    reload: Annotated[bool, typer.Option(help="Load again a file already loaded.")] = False,
) -> None:
    """Load the events list (id, date, municipality or municipalities, type, organiser, title)."""
    from pipeline.ingest.attendance.events import ingest_events

    _print_results([ingest_events(settings(), file, reload=reload)])


@review_app.command("persons")
def review_persons_command(
    show_names: Annotated[
        bool,
        typer.Option(
            "--show-names",
            help="Show the names as written, read now from the raw files (never stored).",
        ),
    ] = False,
    same: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Decide that two person keys are one person.", metavar="KEY_A KEY_B"),
    ] = None,
    different: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Decide that two person keys are two people.", metavar="KEY_A KEY_B"),
    ] = None,
    limit: Annotated[int, typer.Option(help="Pairs to show at most.")] = 50,
) -> None:
    """List pairs of participants that may be one person, or record a decision on a pair."""
    from rich.table import Table

    from pipeline.registry.review import names_from_raw_files, record_decision, review_pairs
    from pipeline.warehouse import open_published
    from pipeline.warehouse.setup import bound_secret

    s = settings()
    for decision, pair in (("same", same), ("different", different)):
        if pair:
            counts = record_decision(s, pair[0], pair[1], decision)
            console.print(
                f"recorded: {pair[0]} and {pair[1]} are"
                f" {'one person' if decision == 'same' else 'two people'};"
                f" marts rebuilt ({counts['participants']} participants)"
            )
    if same or different:
        return
    con = open_published(s.db)
    try:
        pairs = review_pairs(con, s)
        names, notes = ({}, [])
        if show_names and not pairs.empty:
            keys = set(pairs["person_key_a"]) | set(pairs["person_key_b"])
            names, notes = names_from_raw_files(con, bound_secret(s, con), keys)
    finally:
        con.close()
    if pairs.empty:
        console.print("no pairs to review")
        return
    table = Table(
        "key A",
        "key B",
        "rules",
        "municipality",
        "born",
        "sex",
        "events A",
        "events B",
        *(["names A", "names B"] if show_names else []),
    )
    for row in pairs.head(limit).itertuples(index=False):
        cells = [
            row.person_key_a,
            row.person_key_b,
            row.rules,
            row.muni_id,
            f"{row.birth_year_a} / {row.birth_year_b}",
            f"{row.sex_a} / {row.sex_b}",
            row.events_a or "",
            row.events_b or "",
        ]
        if show_names:
            cells += [
                ", ".join(names.get(row.person_key_a, [])),
                ", ".join(names.get(row.person_key_b, [])),
            ]
        table.add_row(*(str(c) for c in cells))
    console.print(table)
    console.print(
        f"{len(pairs)} pairs to review (showing {min(limit, len(pairs))}); decide with"
        " 'spsc review persons --same KEY_A KEY_B' or '--different KEY_A KEY_B'"
    )
    for note in notes:
        console.print(f"note: {note}", markup=False)
