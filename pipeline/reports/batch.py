"""``spsc report``: run the report notebooks for a quarter and publish them as one folder.

For ``reports/<period>/`` the batch:

1. renders the maps every report shows once, into ``figures/`` (the notebooks embed them);
2. runs each notebook with papermill, one kernel per notebook, ``workers`` at a time in a
   pool of warm processes (papermill and nbconvert imported once per process, not once per
   report), writing the executed notebook to ``executed/`` and, in the same process, its HTML
   without code (and a PDF when Chromium is installed);
3. writes ``index.html`` with the status of each report: a notebook that fails does not stop
   the others, its row shows the error's message;
4. builds all of this in a temporary folder beside the target and swaps it in at the end, so
   a rerun replaces the period's outputs cleanly and a crash leaves the previous ones; files
   other commands put there (the deck, the indicator workbook) are carried over.

The kernel is the ``python3`` kernel of the interpreter running the batch (the project's
virtual environment): ``JUPYTER_PATH`` points at its own kernelspec first, and jupyter_client
starts a ``python`` kernelspec with ``sys.executable``.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.reference import municipalities
from pipeline.reports.html import page
from pipeline.reports.text import t

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
PROJECT_NOTEBOOK = "quarterly_report.ipynb"
PROFILE_NOTEBOOK = "municipality_profile.ipynb"
KERNEL = "python3"
# jupyter_client interrupts a kernel before shutting it down, which ipykernel logs as an error;
# errors in the notebook's cells are in the notebook, not in this log
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
OWNED = {"index.html", "executed", "figures", "tables"}  # rebuilt by every run
REPORT_STEMS = {"project", *municipalities()["muni_id"]}  # <stem>.html and <stem>.pdf


@dataclass(frozen=True)
class Job:
    """One report to make: which notebook, with which parameters, under which name."""

    name: str  # file stem: project, drvar, ...
    notebook: Path
    parameters: dict
    title: str


@dataclass
class Outcome:
    """What became of one report."""

    name: str
    title: str
    ok: bool
    error: str = ""
    html: str = ""
    pdf: str = ""
    notebook: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    """The published folder and the outcome of each report."""

    folder: Path
    outcomes: list[Outcome]
    seconds: float
    pdf_note: str = ""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


def plan(period: str, municipalities: list[str], lang: str, names: dict[str, str],
         project: bool = True, notebooks: Path | None = None, name: str = "") -> list[Job]:
    """The reports of a batch: the project report and one profile per municipality id.

    ``notebooks`` is the folder holding the two notebooks (default: ``notebooks/`` of the
    checkout); ``name`` is the project's short name (for the titles).
    """
    notebooks = notebooks or NOTEBOOKS_DIR
    jobs = []
    if project:
        jobs.append(Job("project", notebooks / PROJECT_NOTEBOOK,
                        {"period": period, "municipality": None, "lang": lang},
                        t("title_project", lang, period=period, project=name)))
    for muni in municipalities:
        jobs.append(Job(muni, notebooks / PROFILE_NOTEBOOK,
                        {"period": period, "municipality": muni, "lang": lang},
                        t("title_profile", lang, period=period, municipality=names.get(muni, muni))))
    for job in jobs:
        if not job.notebook.is_file():
            raise SpscError("report notebook not found", str(job.notebook),
                            "run from a checkout of spsc-pipeline (notebooks/ beside pipeline/)")
    return jobs


def kernel_environment() -> dict[str, str]:
    """Environment for the kernels: this interpreter's kernelspec first, no GUI backend."""
    own = Path(sys.prefix) / "share" / "jupyter"
    paths = [str(own), *[p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]]
    # PYDEVD_...: ipykernel's debugger otherwise warns about frozen modules on every start
    return {"JUPYTER_PATH": os.pathsep.join(paths), "MPLBACKEND": "Agg",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def _warm(env: dict[str, str]) -> None:
    """Pool initializer: the kernels' environment, and the heavy imports paid once."""
    import logging

    os.environ.update(env)
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def _error_message(nb) -> str:
    """``Name: message`` of the first error output in an executed notebook."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()
    return ""


def run_job(job: Job, folder: str, warehouse: str, lang: str, browser: str | None) -> Outcome:
    """Execute one notebook into ``folder`` and export it; never raises for a failed report."""
    import nbformat
    import papermill as pm
    from traitlets.config import Config

    from pipeline.reports.html import notebook_to_html
    from pipeline.reports.pdf import html_to_pdf

    start = time.perf_counter()
    out = Path(folder)
    executed = out / "executed" / f"{job.name}.ipynb"
    # local sockets instead of TCP: nothing listens on a port, and unique paths per kernel
    sockets = tempfile.mkdtemp(prefix="spsc-kernel-")
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(sockets, "k")
    outcome = Outcome(job.name, job.title, ok=True, notebook=f"executed/{executed.name}")
    params = {**job.parameters, "warehouse": warehouse, "output_dir": str(out),
              "maps_dir": str(out / "figures"), "project": os.environ.get("SPSC_PROJECT", "")}
    try:
        pm.execute_notebook(str(job.notebook), str(executed), parameters=params,
                            kernel_name=KERNEL, progress_bar=False, log_output=False,
                            request_save_on_cell_execute=False, cwd=str(job.notebook.parent),
                            config=config, extra_arguments=KERNEL_ARGUMENTS)
    except pm.PapermillExecutionError as exc:
        outcome.ok, outcome.error = False, f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, notebook unreadable: still a row in the index
        outcome.ok, outcome.error = False, f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    if executed.is_file():
        nb = nbformat.read(executed, as_version=4)
        if outcome.ok and _error_message(nb):
            outcome.ok, outcome.error = False, _error_message(nb)
        try:
            page_html = notebook_to_html(nb, job.title, lang)
        except ValueError as exc:  # it would load something from the internet: not published
            outcome.ok, outcome.error = False, f"HTML not written: {exc}"
            page_html = None
        if page_html is not None:
            html_path = out / f"{job.name}.html"
            html_path.write_text(page_html, encoding="utf-8")
            outcome.html = html_path.name
        if browser and outcome.html:
            try:
                outcome.pdf = html_to_pdf(html_path, out / f"{job.name}.pdf", browser).name
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                outcome.notes.append(f"PDF not made: {exc}")
    else:
        outcome.notebook = ""
    outcome.seconds = time.perf_counter() - start
    return outcome


def _links(folder: Path, sub: str) -> str:
    files = sorted(p.name for p in (folder / sub).glob("*") if p.is_file()) if (folder / sub).is_dir() else []
    if not files:
        return ""
    items = "".join(f'<li><a href="{sub}/{html.escape(f)}">{html.escape(f)}</a></li>' for f in files)
    return f"<details><summary>{sub}/ ({len(files)})</summary><ul>{items}</ul></details>"


def write_index(folder: Path, period: str, lang: str, outcomes: list[Outcome], made_at: str,
                extra: list[str], name: str = "") -> Path:
    """``index.html``: every report with its status and files, then the other files, figures
    and tables."""
    ok, bad = t("status_ok", lang), t("status_failed", lang)
    rows = []
    for o in outcomes:
        status = f'<span class="ok">{ok}</span>' if o.ok else f'<span class="bad">{bad}</span>'
        files = [f'<a href="{html.escape(o.html)}">HTML</a>' if o.html else "",
                 f'<a href="{html.escape(o.pdf)}">PDF</a>' if o.pdf else "",
                 f'<a href="{html.escape(o.notebook)}">notebook</a>' if o.notebook else ""]
        title = (f'<a href="{html.escape(o.html)}">{html.escape(o.title)}</a>' if o.html
                 else html.escape(o.title))
        said = "; ".join([o.error, *o.notes]) if o.error else "; ".join(o.notes)
        rows.append(f"<tr><td>{title}</td><td>{status}</td><td>{' · '.join(f for f in files if f)}</td>"
                    f"<td>{html.escape(said)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("Report" if lang == "en" else "Izvještaj", "Status",
                                              "Files" if lang == "en" else "Datoteke",
                                              "Error" if lang == "en" else "Greška"))
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and not _owned(p.name))
    other_links = "".join(f'<p><a href="{html.escape(d)}">{html.escape(d)}</a></p>' for d in others)
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in extra if n)
    body = (f"<h1>{html.escape(t('index_title', lang, period=period, project=name))}</h1>"
            f'<p class="subtitle">{html.escape(made_at)}</p>'
            f'<table class="report-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f"{other_links}{_links(folder, 'figures')}{_links(folder, 'tables')}{notes}")
    path = folder / "index.html"
    path.write_text(page(t("index_title", lang, period=period, project=name), body, lang), encoding="utf-8")
    return path


def _owned(name: str) -> bool:
    """Whether an entry of the period's folder is the report batch's own output."""
    stem, _, suffix = name.partition(".")
    return name in OWNED or (suffix in ("html", "pdf") and stem in REPORT_STEMS)


def carry_over(final: Path, tmp: Path) -> list[str]:
    """Copy into ``tmp`` what other commands wrote into the period's folder.

    The deck (``spsc deck``) and the indicator workbook (``spsc indicators --out``) live beside
    the reports; a rerun of the reports replaces its own outputs only. Returns the names copied.
    """
    copied = []
    if not final.is_dir():
        return copied
    for entry in sorted(final.iterdir()):
        if _owned(entry.name) or (tmp / entry.name).exists():
            continue
        if entry.is_dir():
            shutil.copytree(entry, tmp / entry.name)
        else:
            shutil.copy2(entry, tmp / entry.name)
        copied.append(entry.name)
    return copied


def _swap(tmp: Path, final: Path) -> None:
    """Put ``tmp`` where ``final`` is, then delete the old folder."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def run_batch(settings: Settings, period: str, jobs: list[Job], lang: str = "en",
              workers: int | None = None, pdf: bool | None = None) -> BatchResult:
    """Make every report of ``jobs`` into ``settings.reports_dir / period``.

    Args:
        settings: the warehouse, the boundaries, where reports go.
        period: the quarter.
        jobs: from :func:`plan`.
        lang: language of the index and the maps.
        workers: notebooks run at once (default: the number of cores).
        pdf: ``True`` PDFs required if Chromium is found, ``False`` none, ``None`` when found.
    """
    from datetime import datetime

    from pipeline.reports import data, report_maps
    from pipeline.reports.pdf import NO_BROWSER, find_browser

    start = time.perf_counter()
    browser = find_browser() if pdf is not False else None
    pdf_note = NO_BROWSER if pdf is not False and browser is None else ""
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    final = settings.reports_dir / period
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{period}.new-", dir=final.parent))
    try:
        for sub in ("executed", "figures", "tables"):
            (tmp / sub).mkdir()
        project = settings.require_project()
        env = {**kernel_environment(), "SPSC_HOME": str(settings.home), "SPSC_PROJECT": str(project.root),
               "SPSC_DB": str(settings.db), "SPSC_MIN_CELL": str(settings.min_cell),
               "SPSC_PROCESSED": str(settings.processed_dir),
               "SPSC_BOUNDARIES_DIR": str(settings.boundaries_dir)}
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_warm, initargs=(env,)) as pool:
            # the workers import while the maps are drawn here
            warm = [pool.submit(time.sleep, 0) for _ in range(workers)]
            con = data.open_warehouse(settings.db)
            try:
                values, ties = data.indicator_values(con, period), data.ties(con)
                from pipeline.indicators.catalogue import load_catalogue

                catalogue = load_catalogue(project)
                changes = data.changes_through(values, data.indicator_changes(con), period, catalogue)
            finally:
                con.close()
            maps = report_maps.write_maps(tmp / "figures", settings, values, changes, ties,
                                          period, lang, catalogue)
            for w in warm:
                w.result()
            futures = [pool.submit(run_job, job, str(tmp), str(settings.db), lang, browser)
                       for job in jobs]
            outcomes = [f.result() for f in futures]
        extra = [pdf_note]
        if maps.get("unavailable"):
            extra.append(t("maps_unavailable", lang, reason=maps["unavailable"]))
        made_at = datetime.now().astimezone().isoformat(timespec="seconds")
        carry_over(final, tmp)
        write_index(tmp, period, lang, outcomes, made_at, extra, project.name)
        _swap(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BatchResult(final, outcomes, time.perf_counter() - start, pdf_note)


def summary_rows(result: BatchResult) -> list[dict]:
    """Plain rows for printing or JSON."""
    return [asdict(o) for o in result.outcomes]
