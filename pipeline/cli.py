"""The ``spsc`` command line. Each stage adds its verbs from its own ``commands`` module.

Errors print one line (what, where, what to do) and exit non-zero; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from pipeline import __version__
from pipeline.config import Settings, get_settings
from pipeline.errors import SpscError

app = typer.Typer(
    help="M&E pipeline: raw files -> DuckDB warehouse -> indicators -> reports and maps, for a "
         "project folder (spsc.yml; 'spsc new DIR' makes one).",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load raw files into the warehouse.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
review_app = typer.Typer(help="Review what the pipeline could not decide alone.", no_args_is_help=True)
app.add_typer(review_app, name="review")
boundaries_app = typer.Typer(help="Get and verify the geoBoundaries polygons.", no_args_is_help=True)
app.add_typer(boundaries_app, name="boundaries")

# piped output (logs, tests) gets wide lines instead of rich's 80-column default
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 400)
_STATE: dict = {"debug": False, "overrides": {}}


def settings() -> Settings:
    """The settings of this invocation: environment, then global CLI options."""
    return get_settings(**_STATE["overrides"])


@app.callback()
def _global(
    project: Annotated[Path | None, typer.Option(
        "--project", help="The project folder (holding spsc.yml; default SPSC_PROJECT, else the current folder).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="Warehouse file (default: the project's, or SPSC_DB).")] = None,
    min_cell: Annotated[int | None, typer.Option("--min-cell", help="Small-cell threshold (default: the project's, or SPSC_MIN_CELL).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _STATE["debug"] = debug
    _STATE["overrides"] = {"project": project, "db": db, "min_cell": min_cell}


@app.command()
def version() -> None:
    """Print the pipeline version."""
    console.print(f"spsc-pipeline {__version__}")


@app.command()
def synth(
    out: Annotated[Path | None, typer.Option(help="Folder for the raw files (default: the project's synth.out, else <raw>/sample).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: the same seed gives the same bytes (default 20231).")] = None,
    respondents: Annotated[int | None, typer.Option(help="Citizen survey respondents per municipality per wave (default 400).")] = None,
    dirty: Annotated[float | None, typer.Option(help="Share of rows given realistic dirt, 0 to 1 (default 0.03).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="xlsx (as Kobo exports) or csv (for benchmarks).")] = None,
) -> None:
    """Generate the SPSC example's sample raw data (surveys, sign-in sheets) with a known truth.

    Defaults come from the project's ``synth:`` settings (the example project has them).
    """
    from pipeline.synth import generate

    s = settings()
    own = dict(s.project.config.synth) if s.project is not None else {}
    target = out or (s.project.path(own["out"]) if s.project is not None and own.get("out")
                     else s.raw_dir / "sample")
    summary = generate(target, seed=seed if seed is not None else int(own.get("seed", 20231)),
                       respondents=respondents if respondents is not None else int(own.get("respondents", 400)),
                       dirty=dirty if dirty is not None else float(own.get("dirty", 0.03)),
                       fmt=fmt or str(own.get("format", "xlsx")))
    console.print(f"sample data written to {target} ({summary})")


@app.command()
def init() -> None:
    """Create or migrate the warehouse and load the reference data."""
    from pipeline.warehouse.setup import init_warehouse

    s = settings()
    applied = init_warehouse(s)
    what = ", ".join(applied) if applied else "schema already current"
    console.print(f"warehouse ready at {s.db} ({what})")


@app.command()
def register(
    paths: Annotated[list[Path], typer.Argument(help="Raw files or folders to record.")],
    kind: Annotated[str, typer.Option(help="survey, attendance, events (default: from the folder name).")] = "",
) -> None:
    """Record raw files in load_batches (hash, size) before they are loaded."""
    from pipeline.warehouse import connect, register_file, transaction

    files = _expand(paths)
    s = settings()
    con = connect(s.db, wait=s.write_wait)
    created = 0
    try:
        with transaction(con):
            for f in files:
                _, new = register_file(con, f, kind or _guess_kind(f))
                created += new
    finally:
        con.close()
    console.print(f"{len(files)} files seen, {created} newly registered")


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")))
        elif p.exists():
            files.append(p)
        else:
            raise SpscError("no such file or folder", str(p))
    return files


def _guess_kind(path: Path) -> str:
    parts = {p.lower() for p in path.parts}
    if "attendance" in parts:
        return "events" if path.stem.startswith("events") else "attendance"
    if "survey" in parts:
        return "xlsform" if "form" in path.stem else "survey"
    return "other"


@app.command()
def status() -> None:
    """What readers see: the published copy's batches, build and freshness, and the rows loaded."""
    from pipeline.warehouse import freshness, open_published, schema_version

    s = settings()
    con = open_published(s.db)
    try:
        version_ = schema_version(con)
        fresh = freshness(s.db, con)
        rows = con.execute(
            "select batch_id, kind, coalesce(wave, ''), file_name, status, rows_read, rows_loaded,"
            " rows_quarantined, rows_blank from load_batches order by batch_id").fetchall()
    finally:
        con.close()
    if s.project is not None:
        console.print(f"project {s.project.name} ({s.project.root})", markup=False, highlight=False)
    console.print(f"warehouse {s.db}  schema version {version_}  {len(rows)} batches",
                  markup=False, highlight=False)
    console.print(fresh.summary(), markup=False, highlight=False, soft_wrap=True)
    if fresh.warning():
        console.print(f"warning: {fresh.warning()}", markup=False, highlight=False, soft_wrap=True)
    table = Table("batch", "kind", "wave", "file", "status", "read", "loaded", "quarantined", "blank")
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    console.print(table)
    if rows:
        totals = [sum(r[i] or 0 for r in rows) for i in (5, 6, 7, 8)]
        console.print("total rows: read {} = loaded {} + quarantined {} + blank {}".format(*totals))


@app.command()
def publish(
    force: Annotated[bool, typer.Option("--force", help="Publish even when the copy is current.")] = False,
) -> None:
    """Publish the read copy readers open (every write does; this is for after a crash)."""
    from pipeline.warehouse import publish_now, published_path

    s = settings()
    if not s.db.exists():
        raise SpscError("no warehouse here", str(s.db), "run 'spsc init' (or 'make demo') first")
    done = publish_now(s.db, wait=s.write_wait, force=force)
    if done is None:
        console.print(f"{published_path(s.db)} is current; nothing to publish", markup=False,
                      highlight=False)
    else:
        console.print(f"{published_path(s.db)} {done.summary()} ({done.seconds:.2f} s)",
                      markup=False, highlight=False, soft_wrap=True)


def _load_stage_commands() -> None:
    """Import each stage's commands module so its verbs register on the apps above."""
    import importlib

    for module in ("pipeline.project.commands", "pipeline.ingest.commands", "pipeline.indicators.commands",
                   "pipeline.maps.commands", "pipeline.reports.commands", "pipeline.checks.commands",
                   "pipeline.cleaning.commands"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a missing dependency inside the module is a real error
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spsc`` console script."""
    _load_stage_commands()
    debug = "--debug" in (argv or sys.argv[1:]) or os.environ.get("SPSC_DEBUG") == "1"
    try:
        # with standalone_mode off, click returns the code of a `typer.Exit` instead of exiting
        result = app(args=argv, standalone_mode=False)
    except SpscError as exc:
        if debug:
            raise
        err_console.print(f"error: {exc.one_line()}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted", markup=False)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except Exception as exc:
        if debug:
            raise
        err_console.print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                          markup=False, highlight=False, soft_wrap=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    # run the imported module, not this __main__ copy: stage commands register on pipeline.cli's apps
    from pipeline.cli import main as _main

    sys.exit(_main())
