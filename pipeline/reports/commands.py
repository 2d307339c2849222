"""``spsc report`` (the quarter's notebooks as HTML) and ``spsc deck`` (the donor slides)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli import app, console, settings
from pipeline.errors import SpscError


@app.command("report")
def report_command(
    period: Annotated[str, typer.Option(help="Reporting quarter, e.g. 2024Q4.")],
    municipality: Annotated[str | None, typer.Option(help="Only this municipality's profile (name or id).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="The project report and a profile per municipality of the project.")] = False,
    workers: Annotated[int | None, typer.Option(help="Notebooks run at once (default: number of cores).")] = None,
    lang: Annotated[str | None, typer.Option(help="Language of every report made: en, bs, hr, sr (Cyrillic) or sr-Latn (default: the project's 'languages' for the project report, 'profile_languages' for each profile).")] = None,
    clean: Annotated[bool, typer.Option("--clean", help="Remove every earlier report of the period first (the deck and other commands' files stay).")] = False,
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="PDF of each report (default: when chromium is installed).")] = None,
    restate: Annotated[bool, typer.Option("--restate", help="Publish the current numbers in place of the period's snapshot (see 'spsc diff').")] = False,
) -> None:
    """Run the report notebooks for a quarter into reports/<period>/ (HTML, tables, figures)."""
    from pipeline.reports import data
    from pipeline.reports.batch import plan, run_batch
    from pipeline.reports.report import resolve_municipality
    from pipeline.reports.text import check_lang

    data.check_period(period)
    if lang is not None:
        check_lang(lang)
    if municipality and all_:
        raise SpscError("--municipality and --all exclude each other", "spsc report",
                        "use --municipality NAME for one profile, --all for every report")
    if workers is not None and workers < 1:
        raise SpscError("--workers must be 1 or more", "--workers")
    s = settings()
    setup = s.require_project()
    _snapshot(s, period, restate)
    con = data.open_warehouse(s.db)
    try:
        project = data.project_municipalities(con, setup.area)
        names = data.municipality_names(con)
    finally:
        con.close()
    config = setup.config
    langs = {"languages": config.languages, "profile_language": config.profile_language, "name": setup.name,
             "cities": set(config.cities)}
    if all_:
        jobs = plan(period, project, lang, names, **langs)
    elif municipality:
        jobs = plan(period, [resolve_municipality(municipality, project)], lang, names, project=False, **langs)
    else:
        jobs = plan(period, [], lang, names, **langs)
    result = run_batch(s, period, jobs, lang=lang or config.languages[0], workers=workers, pdf=pdf,
                       clean=clean)
    for o in result.outcomes:
        mark = "ok    " if o.ok else "FAILED"
        console.print(f"{mark} {o.name:<18} {o.seconds:5.1f} s  {'; '.join([o.error, *o.notes]).strip('; ')}",
                      markup=False, highlight=False)
    if result.pdf_note:
        console.print(result.pdf_note, markup=False, highlight=False)
    console.print(f"{len(result.outcomes) - len(result.failed)} of {len(result.outcomes)} reports"
                  f" in {result.seconds:.1f} s: {result.folder / 'index.html'}", markup=False,
                  highlight=False)
    if result.failed:
        # an SpscError makes the CLI print one line and exit non-zero
        raise SpscError(f"{len(result.failed)} of {len(result.outcomes)} reports failed: "
                        + ", ".join(f"{o.name} ({o.error})" for o in result.failed),
                        str(result.folder / "index.html"))


@app.command("deck")
def deck_command(
    period: Annotated[str, typer.Option(help="Reporting quarter, e.g. 2024Q4.")],
    lang: Annotated[str, typer.Option(help="Language of the slides: en, bs, hr, sr (Cyrillic) or sr-Latn.")] = "en",
) -> None:
    """The donor slide deck (16:9 PPTX) for a quarter, in reports/<period>/."""
    from pipeline.reports.deck import write_deck
    from pipeline.reports.text import check_lang

    check_lang(lang)

    path, slides = write_deck(settings(), period, lang)
    console.print(f"deck with {slides} slides written to {path}", markup=False, highlight=False)


def _snapshot(s, period: str, restate: bool) -> None:
    """Reporting a period snapshots its numbers; a later report of it reuses the snapshot.

    Taking a snapshot is a write, and a report must not wait for a load: when the period is
    already snapshotted in the read copy nothing is written; when a writer is at work, the
    reports show the read copy's current numbers and say the period is not snapshotted yet.
    ``--restate`` is an explicit write and queues behind the writer at work.
    """
    from pipeline.checks.snapshots import latest_snapshot, snapshot_period
    from pipeline.errors import WarehouseBusy
    from pipeline.warehouse import connect, open_published

    def _say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    if not restate:
        con = open_published(s.db)
        try:
            snap = latest_snapshot(con, period)
        finally:
            con.close()
        if snap is not None:
            _say(f"{period}: reporting the numbers published in snapshot {snap.snapshot_id}"
                 f" ({snap.created_at:%Y-%m-%d %H:%M}); 'spsc diff --period {period}' lists"
                 " what a rebuild would change, '--restate' publishes it")
            return
    try:
        con = connect(s.db, wait=s.write_wait if restate else 0.0)
    except WarehouseBusy as exc:
        _say(f"{period}: not snapshotted yet ({exc.what}); these reports show the read copy's"
             f" current numbers; 'spsc snapshot --period {period}' fixes them as published once"
             " the load is done")
        return
    try:
        snapshot_id, created = snapshot_period(
            con, period, "restated by spsc report" if restate else "spsc report", restate=restate,
            settings=s)
        if created:
            _say(f"{period}: numbers snapshotted as published (snapshot {snapshot_id})")
        else:
            snap = latest_snapshot(con, period)
            _say(f"{period}: reporting the numbers published in snapshot {snapshot_id}"
                 f" ({snap.created_at:%Y-%m-%d %H:%M}); 'spsc diff --period {period}' lists"
                 " what a rebuild would change, '--restate' publishes it")
    finally:
        con.close()
