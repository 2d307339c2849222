"""``spsc report``: run the report notebooks for a quarter and publish them in one folder.

Every report is made in one language and its files carry it: ``ribnik.sr.html`` beside
``ribnik.en.html`` (and ``.pdf``), ``executed/ribnik.sr.ipynb``, ``figures/ribnik.sr__*.png``,
``tables/ribnik.sr__*.csv``; the maps of a language are ``figures/map_<name>.<lang>.png``.
For ``reports/<period>/`` the batch:

1. renders the maps every report shows once per language, into ``figures/`` (the notebooks
   embed them), as the first tasks of the pool;
2. runs each notebook with papermill, one kernel per notebook, ``workers`` at a time in a
   pool of warm processes (papermill and nbconvert imported once per process, not once per
   report), writing the executed notebook to ``executed/`` and, in the same process, its HTML
   without code (and a PDF when Chromium is installed);
3. writes ``index.html`` listing every report made for the period in every language, with
   its status (a notebook that fails does not stop the others, its row shows the error's
   message); ``reports.json`` keeps those rows for the next run;
4. builds all of this in a temporary folder beside the target and swaps it in at the end: the
   files of the reports it did not remake (other municipalities, other languages) and of
   other commands (the deck, the indicator workbook) are carried over, so a run replaces only
   what it remakes, and a crash leaves the previous folder. ``clean`` drops every earlier
   report of the period first (other commands' files are still kept).

The kernel is the ``python3`` kernel of the interpreter running the batch (the project's
virtual environment): ``JUPYTER_PATH`` points at its own kernelspec first, and jupyter_client
starts a ``python`` kernelspec with ``sys.executable``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from multiprocessing import get_context
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.lang import LANGS, place_name
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
MANIFEST = "reports.json"  # the rows of the index, kept between runs
OWNED_DIRS = ("executed", "figures", "tables")  # the batch's own subfolders
REPORT_STEMS = {"project", *municipalities()["muni_id"]}  # <stem>.<lang>.html and .pdf
_CYRILLIC = dict(zip(municipalities()["muni_id"], municipalities()["name_cyr"], strict=True))


@dataclass(frozen=True)
class Job:
    """One report to make: which notebook, with which parameters, under which name."""

    name: str  # file stem: project.en, drvar.bs, ribnik.sr
    notebook: Path
    parameters: dict
    title: str
    lang: str = "en"
    report: str = ""  # project, drvar, ...


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
    lang: str = "en"
    report: str = ""
    made_at: str = ""


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


def plan(period: str, municipalities: list[str], lang: str | None, names: dict[str, str],
         project: bool = True, notebooks: Path | None = None, name: str = "",
         languages: list[str] | None = None, profile_language=None, cities=()) -> list[Job]:
    """The reports of a batch: the project report and one profile per municipality id.

    ``lang`` makes every report in that language; without it the project report is made in
    each of ``languages`` and each profile in ``profile_language(muni_id)`` (the project's
    settings; ``cities`` are titled as cities). ``notebooks`` is the folder holding the two notebooks (default: ``notebooks/``
    of the checkout); ``name`` is the project's short name (for the titles); ``names`` the
    municipalities' Latin names (Serbian titles write them in Cyrillic).
    """
    from pipeline.lang import check_lang

    notebooks = notebooks or NOTEBOOKS_DIR
    cyrillic = _CYRILLIC
    project_langs = [lang] if lang else list(dict.fromkeys(languages or ["en"]))
    jobs = []
    if project:
        for language in project_langs:
            check_lang(language)
            jobs.append(Job(f"project.{language}", notebooks / PROJECT_NOTEBOOK,
                            {"period": period, "municipality": None, "lang": language},
                            t("title_project", language, period=period, project=name), language, "project"))
    for muni in municipalities:
        language = check_lang(lang or (profile_language(muni) if profile_language else "en"))
        place = place_name(names.get(muni, muni), cyrillic.get(muni), language)
        jobs.append(Job(f"{muni}.{language}", notebooks / PROFILE_NOTEBOOK,
                        {"period": period, "municipality": muni, "lang": language},
                        t("title_profile_city" if muni in cities else "title_profile", language,
                          period=period, municipality=place), language, muni))
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
    outcome = Outcome(job.name, job.title, ok=True, notebook=f"executed/{executed.name}",
                      lang=job.lang, report=job.report or job.name.split(".")[0])
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
            page_html = notebook_to_html(nb, job.title, job.lang)
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
    outcome.made_at = _now()
    return outcome


def _now() -> str:
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


def _maps_task(folder: str, settings: Settings, period: str, lang: str) -> dict:
    """Render one language's maps into ``folder`` (a pool task); returns the manifest."""
    from pipeline.indicators.catalogue import load_catalogue
    from pipeline.reports import data, report_maps

    con = data.open_warehouse(settings.db)
    try:
        values, ties = data.indicator_values(con, period), data.ties(con)
        catalogue = load_catalogue(settings.require_project())
        changes = data.changes_through(values, data.indicator_changes(con), period, catalogue)
    finally:
        con.close()
    return report_maps.write_maps(Path(folder), settings, values, changes, ties, period, lang, catalogue)


def _order(o: Outcome) -> tuple:
    """The project report first, then the municipalities; languages in their usual order."""
    rank = LANGS.index(o.lang) if o.lang in LANGS else len(LANGS)
    return (o.report != "project", o.report, rank, o.name)


def write_index(folder: Path, period: str, lang: str, outcomes: list[Outcome], made_at: str,
                extra: list[str], name: str = "") -> Path:
    """``index.html``: every report of the period in every language with its status and
    files, then the other files, figures and tables."""
    from pipeline.reports.pages import render

    rows = []
    listed = set()
    for o in sorted(outcomes, key=_order):
        files = [(label, href) for label, href in (("HTML", o.html), ("PDF", o.pdf),
                                                   (t("index_notebook", lang), o.notebook)) if href]
        listed |= {o.html, o.pdf}
        rows.append({"html": o.html, "lang": o.lang, "title": o.title, "ok": o.ok, "files": files,
                     "status": t("status_ok", lang) if o.ok else t("status_failed", lang),
                     "language": t("language", o.lang) if o.lang in LANGS else o.lang,
                     "made_at": o.made_at,
                     "said": "; ".join([o.error, *o.notes]) if o.error else "; ".join(o.notes)})
    columns = [t("index_col_report", lang), t("index_col_language", lang), t("index_col_status", lang),
               t("index_col_files", lang), t("col_date", lang), t("index_col_error", lang)]
    others = sorted(p.name for p in folder.iterdir()
                    if p.is_file() and p.name not in ("index.html", MANIFEST) and p.name not in listed)
    folders = [(sub, sorted(p.name for p in (folder / sub).glob("*") if p.is_file()) if (folder / sub).is_dir()
                else []) for sub in ("figures", "tables")]
    title = t("index_title", lang, period=period, project=name)
    body = render("index", title=title, made=t("index_made", lang, when=made_at), columns=columns, rows=rows,
                  others=others, folders=folders, notes=extra)
    path = folder / "index.html"
    path.write_text(page(title, body, lang), encoding="utf-8")
    return path


def report_file(rel: Path) -> str | None:
    """The report stem (``ribnik.sr``, or ``ribnik`` for a file of an earlier version) a file
    of the period's folder belongs to, ``None`` for files of other commands."""
    parts = rel.parts
    if len(parts) == 1:
        bits = parts[0].split(".")
        if bits[-1] in ("html", "pdf") and bits[0] in REPORT_STEMS and len(bits) in (2, 3):
            return ".".join(bits[:-1])
        return None
    if parts[0] == "executed":
        return rel.stem
    if parts[0] in ("figures", "tables"):
        return rel.name.partition("__")[0] if "__" in rel.name else "maps"
    return None


def _map_lang(name: str) -> str | None:
    """The language of a map file (``map_overview.sr.png``, ``maps.sr.json``)."""
    bits = name.split(".")
    return bits[-2] if len(bits) >= 3 and name.startswith("map") else None


def carry_over(final: Path, tmp: Path, remade: set[str], langs: set[str], clean: bool = False) -> list[str]:
    """Copy into ``tmp`` the files of the period's folder this run does not remake.

    Kept: the reports of other municipalities and languages (their HTML, PDF, notebook,
    figures and tables) and what other commands wrote beside them (the deck from ``spsc
    deck``, the workbook from ``spsc indicators --out``). Dropped: the earlier files of the
    reports in ``remade`` and the maps of the languages in ``langs`` (made again), and with
    ``clean`` every earlier report. Returns the relative paths copied.
    """
    copied = []
    if not final.is_dir():
        return copied
    for path in sorted(final.rglob("*")):
        rel = path.relative_to(final)
        if path.is_dir() or (tmp / rel).exists() or str(rel) in ("index.html", MANIFEST):
            continue
        stem = report_file(rel)
        if stem is not None and (clean or stem in remade):
            continue
        if stem == "maps" and (clean or _map_lang(rel.name) in langs or _map_lang(rel.name) is None):
            continue
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, tmp / rel)
        copied.append(str(rel))
    return copied


def earlier_outcomes(final: Path, remade: set[str], clean: bool = False) -> list[Outcome]:
    """The index rows of earlier runs for the reports this run does not remake."""
    if clean:
        return []
    try:
        rows = json.loads((final / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    known = {f.name for f in fields(Outcome)}
    out = []
    for row in rows if isinstance(rows, list) else []:
        o = Outcome(**{k: v for k, v in row.items() if k in known})
        if o.name not in remade and (not o.html or (final / o.html).is_file()):
            out.append(o)
    return out


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
              workers: int | None = None, pdf: bool | None = None, clean: bool = False) -> BatchResult:
    """Make every report of ``jobs`` into ``settings.reports_dir / period``.

    Args:
        settings: the warehouse, the boundaries, where reports go.
        period: the quarter.
        jobs: from :func:`plan`.
        lang: language of the index.
        workers: notebooks run at once (default: the number of cores).
        pdf: ``True`` PDFs required if Chromium is found, ``False`` none, ``None`` when found.
        clean: drop every earlier report of the period (not only those remade).
    """
    from pipeline.reports.pdf import NO_BROWSER, find_browser

    start = time.perf_counter()
    browser = find_browser() if pdf is not False else None
    pdf_note = NO_BROWSER if pdf is not False and browser is None else ""
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    langs = list(dict.fromkeys(job.lang for job in jobs))
    final = settings.reports_dir / period
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{period}.new-", dir=final.parent))
    try:
        for sub in OWNED_DIRS:
            (tmp / sub).mkdir()
        project = settings.require_project()
        env = {**kernel_environment(), "SPSC_HOME": str(settings.home), "SPSC_PROJECT": str(project.root),
               "SPSC_DB": str(settings.db), "SPSC_MIN_CELL": str(settings.min_cell),
               "SPSC_PROCESSED": str(settings.processed_dir),
               "SPSC_BOUNDARIES_DIR": str(settings.boundaries_dir)}
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_warm, initargs=(env,)) as pool:
            # each language's maps first; its notebooks once they are drawn
            maps = {lg: pool.submit(_maps_task, str(tmp / "figures"), settings, period, lg) for lg in langs}
            futures = []
            for lg in langs:
                maps[lg] = maps[lg].result()
                futures += [pool.submit(run_job, job, str(tmp), str(settings.db), job.lang, browser)
                            for job in jobs if job.lang == lg]
            outcomes = [f.result() for f in futures]
        extra = [pdf_note]
        for lg in langs:
            if maps[lg].get("unavailable"):
                extra.append(t("maps_unavailable", lg, reason=maps[lg]["unavailable"]))
                break
        remade = {job.name for job in jobs}
        carry_over(final, tmp, remade, set(langs), clean)
        rows = earlier_outcomes(final, remade, clean) + outcomes
        (tmp / MANIFEST).write_text(json.dumps([asdict(o) for o in rows], indent=1, ensure_ascii=False),
                                    encoding="utf-8")
        write_index(tmp, period, lang, rows, _now(), extra, project.name)
        _swap(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BatchResult(final, outcomes, time.perf_counter() - start, pdf_note)


def summary_rows(result: BatchResult) -> list[dict]:
    """Plain rows for printing or JSON."""
    return [asdict(o) for o in result.outcomes]
