"""``spsc ingest survey``: KoboToolbox exports, SPSS files and plain CSVs into the warehouse.

One call loads one or more exports of one form and wave. Each export (a file, or the files of
one multi-table export) is one load: one transaction that writes its load batches, its
submissions (staging), its repeat rows, its quarantine and the refreshed marts, or nothing.
A file already loaded (same sha256) is skipped and said so; a file that cannot be read is
rejected with one line and leaves the warehouse exactly as it was.

The files of one export are grouped in :mod:`pipeline.ingest.survey.exports`; the codebook
and the removal of replaced batches are written by :mod:`pipeline.ingest.survey.writes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import RejectedFile, SpscError
from pipeline.ingest.survey import problems, store, typed_table
from pipeline.ingest.survey.exports import _Group, _group_kobo, _renamed
from pipeline.ingest.survey.kobo import read_export_tables
from pipeline.ingest.survey.land import Landed, RawFile, drop_landed, inspect_file, land_file
from pipeline.ingest.survey.mapping import Mapping, check_mapping_for, default_mapping, read_mapping
from pipeline.ingest.survey.models import build_survey_marts
from pipeline.ingest.survey.plan import plan_main, plan_repeat, role_paths, wide_instances
from pipeline.ingest.survey.spss import AgencyFile, csv_codebook, is_agency_file, read_agency
from pipeline.ingest.survey.sql import create_hmac_macro, drop_hmac_macro
from pipeline.ingest.survey.writes import _store_codebook, replace_batches
from pipeline.ingest.survey.xlsform import Form, merge_versions, read_form
from pipeline.warehouse import (
    connect,
    find_batch,
    finish_batch,
    migrate,
    quarantine_rows,
    start_batch,
    transaction,
)
from pipeline.warehouse.progress import step
from pipeline.warehouse.setup import bound_secret, load_reference, project_area

KIND = "survey"
FORM_KIND = "xlsform"
_BACKGROUND_HASH_BYTES = 64 << 20
_WAVE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2}Q[1-4])(?![0-9])", re.IGNORECASE)


@dataclass
class LoadResult:
    """What one ingest did with one file."""

    file: str
    status: str                 # loaded, already loaded, form loaded, form already loaded
    batch_id: int | None = None
    wave: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_blank: int = 0
    replaced: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)
    cells_quarantined: int = 0   # cells of loaded rows loaded as missing (kept in the quarantine)

    def line(self) -> str:
        """One line for the terminal."""
        name = Path(self.file).name
        if self.status == "already loaded":
            return (f"{name}: already loaded as batch {self.batch_id}, nothing to do (to load it again with a "
                    "corrected mapping, add --replace)")
        if self.status.endswith("already loaded"):
            return f"{name}: already loaded as batch {self.batch_id}, nothing to do"
        if self.status == "form loaded":
            return f"{name}: form loaded as batch {self.batch_id} ({self.rows_loaded} codebook rows)"
        text = (f"{name}: batch {self.batch_id}, wave {self.wave}: read {self.rows_read} = loaded "
                f"{self.rows_loaded} + quarantined {self.rows_quarantined} + blank {self.rows_blank}")
        if self.cells_quarantined:
            text += f"; {self.cells_quarantined} bad cells loaded as missing (spsc quarantine)"
        if self.replaced or self.unchanged:
            text += (f"; {self.replaced} replaced earlier versions, {self.unchanged} repeated unchanged "
                     "(counted once)")
        return text


def wave_of(path: Path, wave: str | None) -> str:
    """The wave given, else the ``YYYYQn`` in the file name."""
    if wave:
        return wave.strip()
    m = _WAVE.search(Path(path).name)
    if m:
        return m.group(1).upper()
    raise SpscError("no wave given and none in the file name", str(path), "give --wave, e.g. --wave 2024Q4")


def prepare_warehouse(settings: Settings, con: duckdb.DuckDBPyConnection) -> bytes:
    """Migrate, load the reference tables when empty, and return the bound secret."""
    migrate(con)
    if not con.execute("select count(*) from ref_municipalities").fetchall()[0][0]:
        load_reference(con, project_area(settings))
    con.execute("set enable_progress_bar = false")
    return bound_secret(settings, con)


def _as_list(form) -> list[Path]:
    if form is None:
        return []
    if isinstance(form, (str, Path)):
        return [Path(form)]
    return [Path(f) for f in form]


def ingest_survey(settings: Settings, exports: list[Path | str], *,
                  form: Path | str | list[Path | str] | None = None,
                  wave: str | None = None, mapping: Path | str | None = None,
                  replace: bool = False) -> list[LoadResult]:
    """Load survey exports of one form into the warehouse.

    Args:
        settings: paths (the warehouse, the secret).
        exports: Kobo exports (XLSX/XLS/CSV; the files of one multi-table export together), or
            SPSS ``.sav`` / plain CSV files (with ``mapping``).
        form: the XLSForm the Kobo exports were made from (required for them); several files
            when the export holds rows of several versions of the form, the latest first.
            Each row is read with the version its ``__version__`` names, else the latest.
        wave: the survey wave (``2024Q4``); default: the ``YYYYQn`` in each file name.
        mapping: a form settings (mapping) file; default: the project's
            ``forms/<form_id>.yml`` of the form, if any. An SPSS or Stata file needs none (its
            dictionary is its codebook); a plain CSV does.
        replace: load files already loaded again (corrected settings, or a corrected file
            under the same name): the earlier batch's rows are replaced in the same
            transaction and the replacement recorded (``batch_replacements``).

    Returns:
        One result per file (and one per form version registered without an export).

    Raises:
        RejectedFile: a file cannot be read, is of another form, or lacks required columns;
            files before it in the call are loaded, the rejected one leaves no trace (nor does
            a form version given with it).
    """
    paths = [Path(p) for p in exports]
    the_mapping = read_mapping(mapping) if mapping else None
    form_paths = _as_list(form)
    con = connect(settings.db, wait=settings.write_wait)
    try:
        secret = prepare_warehouse(settings, con)
        create_hmac_macro(con, secret)
        results: list[LoadResult] = []
        the_form = None
        versions: list[tuple[Form, RawFile]] = []
        for fp in form_paths:
            form_raw = inspect_file(fp)
            one = read_form(fp, fallback_version=form_raw.sha256[:12])
            _check_form_version(con, one, form_raw)
            versions.append((one, form_raw))
        if versions:
            the_form = merge_versions([f for f, _ in versions])
        kobo_files, mapped_files = [], []
        for p in paths:
            # a big CSV is hashed while DuckDB reads it; whether it was loaded before is then
            # known just before the load's transaction (see _already_loaded)
            raw = inspect_file(p, background=Path(p).stat().st_size > _BACKGROUND_HASH_BYTES)
            known = find_batch(con, raw.sha256, KIND) if raw.hashed else None
            if known is not None and not replace:
                results.append(LoadResult(str(p), "already loaded", known["batch_id"], known["wave"]))
                continue
            if is_agency_file(p) or (the_form is None and the_mapping is not None):
                mapped_files.append(raw)
            else:
                kobo_files.append(raw)
        if kobo_files and the_form is None:
            raise SpscError("a Kobo export needs the XLSForm it was made from", str(kobo_files[0].path),
                            "give --form FORM.xlsx (or --mapping for a plain CSV)")
        pending = [(f, raw) for f, raw in versions if find_batch(con, raw.sha256, FORM_KIND) is None]
        if the_form is not None and the_mapping is None:
            the_mapping = default_mapping(the_form.form_id, settings.project)
        for group in _group_kobo(con, kobo_files, the_form, the_mapping):
            results += _load_export(con, group, the_form, the_mapping, wave, kobo=True, forms_pending=pending,
                                    replace=replace)
            pending = []
        for raw in mapped_files:
            if the_mapping is None and not is_agency_file(raw.path):
                raise SpscError("a plain CSV file needs its form settings", str(raw.path),
                                "give --mapping SETTINGS.yml (see docs/project.md, 'Add a form')")
            results += _load_mapped(con, raw, the_mapping, wave, replace=replace)
        if not paths:
            # a form given alone registers its codebook; with exports, only a load registers it
            for f, raw in versions:
                if any(f is pf for pf, _ in pending):
                    results.append(_load_form_only(con, f, raw))
                else:
                    known = find_batch(con, raw.sha256, FORM_KIND)
                    results.append(LoadResult(str(raw.path), "form already loaded", known["batch_id"]))
        return results
    finally:
        try:
            drop_hmac_macro(con)
        finally:
            con.close()


def _check_form_version(con: duckdb.DuckDBPyConnection, form: Form, raw: RawFile) -> None:
    rows = con.execute("select sha256, file_name from survey_forms where form_id = ? and form_version = ?",
                       [form.form_id, form.version]).fetchall()
    if rows and rows[0][0] != raw.sha256:
        raise RejectedFile(
            f"form {form.form_id} version {form.version} is already loaded from another file ({rows[0][1]})",
            str(raw.path), "give the changed form a new version in its settings sheet")


class _Reread(Exception):
    """DuckDB's reading of a CSV does not match the file (blank lines, quoted line breaks,
    another encoding): read it again with the Python reader."""


def _load_mapped(con: duckdb.DuckDBPyConnection, raw: RawFile, mapping: Mapping | None,
                 wave: str | None, *, replace: bool = False) -> list[LoadResult]:
    """An SPSS/Stata file (its dictionary the codebook, a mapping optional) or a plain CSV
    (with a mapping)."""
    agency = None
    personal = set(mapping.personal) if mapping else set()
    if is_agency_file(raw.path):
        mapped = set(mapping.sources()) if mapping else set()
        agency = read_agency(con, "_spsc_sav", raw, mapping.form_id if mapping else None,
                             personal=mapping.personal if mapping else None,
                             categorical=mapping.categorical if mapping else None,
                             respondent_id=mapping.respondent_id if mapping else None, mapped=mapped)
        landed_all, form = [agency.landed], agency.form
        kind = "stata" if raw.path.suffix.lower() == ".dta" else "spss"
    else:
        landed_all = land_file(con, "_spsc_csv", raw)[:1]
        form = csv_codebook(landed_all[0], raw, mapping.form_id)
        kind = "csv"
    export = read_export_tables(landed_all, form, personal, con=con)
    export.notes += agency.notes if agency else []
    if mapping is not None and mapping.rename:
        form, export = _renamed(form, export, mapping.rename, raw)
    group = _Group([raw], landed_all, export, personal)
    return _load_export(con, group, form, mapping, wave, kobo=False, codebook_kind=kind, agency=agency,
                        replace=replace)


def _load_export(con: duckdb.DuckDBPyConnection, group: _Group, form: Form, mapping: Mapping | None,
                 wave: str | None, **kwargs) -> list[LoadResult]:
    """:func:`_load`, again with the Python reader when DuckDB's CSV reading was not right."""
    try:
        return _load(con, group, form, mapping, wave, **kwargs)
    except _Reread:
        landed: list[Landed] = []
        for i, raw in enumerate(group.files):
            landed += land_file(con, f"_spsc_e{i}", raw, eager=True)
        group = _Group(group.files, landed, read_export_tables(landed, form, group.personal, con=con), group.personal)
        return _load(con, group, form, mapping, wave, **kwargs)


def _load(con: duckdb.DuckDBPyConnection, group: _Group, form: Form, mapping: Mapping | None,
          wave: str | None, *, kobo: bool, forms_pending: list[tuple[Form, RawFile]] | None = None,
          codebook_kind: str | None = None, agency: AgencyFile | None = None,
          replace: bool = False) -> list[LoadResult]:
    """Type, validate and store one export in one transaction."""
    main_raw = group.files[0]
    the_wave = wave_of(main_raw.path, wave)
    try:
        if kobo and mapping is not None:
            check_mapping_for(mapping, main_raw.path, form.form_id)
        export = group.export
        notes = list(export.notes)
        for t in group.landed:
            notes += [f"{t.sheet}: {n}" for n in t.notes]
        lazy = [t for t in group.landed if t.raw is not None]
        try:
            main_plan = plan_main(export.main, form, mapping, kobo=kobo,
                                  value_maps=typed_table.label_value_maps(con, export.main, form),
                                  id_column=agency.id_column if agency else None)
            notes += main_plan.notes
            main = typed_table.type_table(con, main_plan, "_spsc_main", form.form_id, main=True)
            repeats = [typed_table.type_table(con, plan_repeat(t, form, typed_table.label_value_maps(con, t, form)),
                                         f"_spsc_rep{i}", form.form_id, main=False)
                       for i, t in enumerate(export.repeats)]
        except duckdb.Error:
            if lazy:
                raise _Reread from None
            raise
        if any(t.landed.expected_rows not in (None, t.n_rows) for t in [main, *repeats]):
            raise _Reread
        for t in lazy:
            if t.raw.has_nul:
                raise RejectedFile("the file contains NUL characters (binary data, not a text table)",
                                   str(t.file))
        if agency is not None:
            main.missing_codes = {(row + main.landed.first_row, var): (code, label)
                                  for row, var, code, label in agency.missing}
        for typed in [main, *repeats]:
            notes += problems.personal_safety_net(con, typed)
        maps = typed_table.municipality_maps(con, main)
        for typed in repeats:
            problems.find_problems(con, typed, {}, None)
        problems.find_problems(con, main, maps, _consent_path(form, mapping))
        links = problems.link_repeats(con, main, repeats, form)
        problems.cascade(main, links)
        for typed in [main, *repeats]:
            problems.null_cells(con, typed)
        if main.other_versions:
            others = ", ".join(f"{v} ({n} rows)" for v, n in main.other_versions.items())
            notes.append(f"rows of versions not given with --form were read with version {form.version}: "
                         f"{others}; values that fit it not are kept as text and noted in the quarantine")
        wide = wide_instances(main.plan, form)
        known = [find_batch(con, raw.sha256, KIND) for raw in group.files]
        if all(known) and not replace:
            return [LoadResult(str(raw.path), "already loaded", k["batch_id"], k["wave"])
                    for raw, k in zip(group.files, known, strict=True)]
        if any(known) and not replace:
            raise RejectedFile("some files of this export are loaded already and others not; load "
                               "the export's files together, once", str(main_raw.path))
        step("export typed and checked")
        with transaction(con):
            results = []
            replaced_batches = {str(raw.path): replace_batches(con, raw, KIND) for raw in group.files} \
                if replace else {}
            for one, raw in forms_pending or []:
                results.append(_store_form(con, one, raw, "xlsform"))
            batches = {}
            for raw in group.files:
                batches[str(raw.path)] = start_batch(con, raw.path, raw.sha256, KIND, the_wave)
                for old in replaced_batches.get(str(raw.path), []):
                    con.execute("insert into batch_replacements values (?, ?, ?, ?, ?)",
                                [old["batch_id"], batches[str(raw.path)], raw.path.name,
                                 "reloaded with --replace", datetime.now()])
                    notes.append(f"replaces batch {old['batch_id']} (wave {old['wave']})")
            if codebook_kind is not None:
                _store_codebook(con, form, main_raw, codebook_kind, batches[str(main_raw.path)])
            ctx = store.StoreContext(
                form_id=form.form_id, form_version=form.version, wave=the_wave,
                batch_of_sheet={(str(t.file), t.sheet): batches[str(t.file)] for t in group.landed},
                main_batch=batches[str(main_raw.path)])
            ids = store.store_main(con, ctx, main, maps)
            step("submissions stored")
            if agency is not None:
                store.store_missing_codes(con, main, ids, agency.missing)
            store.store_wide_repeats(con, ctx, main, ids, wide, form)
            store.store_repeats(con, ctx, main, ids, links)
            step("repeats stored")
            replaced, unchanged = store.settle_versions(con, ctx, ids)
            step("versions settled")
            if replaced_batches:
                store.recompute_current(con, form.form_id, the_wave)
            if replaced or unchanged:
                notes.append(f"{replaced} submissions replaced earlier versions (survey_replacements), "
                             f"{unchanged} repeated unchanged (re-exports or duplicates, counted once)")
            for raw in group.files:
                result = _finish(con, raw, batches[str(raw.path)], the_wave, [main, *repeats],
                                 notes if raw is main_raw else [])
                if raw is main_raw:
                    result.replaced, result.unchanged = replaced, unchanged
                results.append(result)
            for olds in replaced_batches.values():
                for old in olds:
                    if old["wave"] and old["wave"] != the_wave:
                        store.recompute_current(con, form.form_id, old["wave"])
            build_survey_marts(con)
            step("survey marts built")
        return results
    finally:
        drop_landed(con, group.landed)


def _consent_path(form: Form, mapping: Mapping | None) -> str | None:
    """The path of the consent question the settings name (answers required only of a yes)."""
    if mapping is None or mapping.consent is None:
        return None
    found, _ = role_paths(form, mapping)
    return next((p for p, role in found.items() if role == "consent"), None)


def _finish(con: duckdb.DuckDBPyConnection, raw: RawFile, batch_id: int, wave: str,
            typed: list[typed_table.Typed], notes: list[str]) -> LoadResult:
    """Quarantine and close the batch of one file (its sheets: main and/or repeat tables)."""
    tables = [t for t in typed if t.landed.file == raw.path]
    read = sum(t.n_rows for t in tables)
    blank = sum(t.n_blank for t in tables)
    quarantined = sum(len(t.bad_rows) for t in tables)
    cells = sum(t.n_cells for t in tables)
    for t in tables:
        if not t.problems.empty:  # every problem of a row not loaded is the row's
            t.problems.loc[t.problems["source_row"].isin(t.bad_rows), "action"] = typed_table.ROW
    problems = [t.problems for t in tables if not t.problems.empty]
    if problems:
        quarantine_rows(con, batch_id, raw.path.name, pd.concat(problems, ignore_index=True))
    loaded = read - blank - quarantined
    finish_batch(con, batch_id, rows_read=read, rows_loaded=loaded, rows_quarantined=quarantined,
                 rows_blank=blank, message="; ".join(notes) or None, cells_quarantined=cells)
    return LoadResult(str(raw.path), "loaded", batch_id, wave, read, loaded, quarantined, blank, notes=notes,
                      cells_quarantined=cells)


def _store_form(con: duckdb.DuckDBPyConnection, form: Form, raw: RawFile, kind: str) -> LoadResult:
    batch_id = start_batch(con, raw.path, raw.sha256, FORM_KIND, None)
    n = _store_codebook(con, form, raw, kind, batch_id)
    finish_batch(con, batch_id, rows_read=n, rows_loaded=n, rows_quarantined=0, rows_blank=0,
                 message=f"{form.form_id} version {form.version}")
    return LoadResult(str(raw.path), "form loaded", batch_id, None, n, n)


def _load_form_only(con: duckdb.DuckDBPyConnection, form: Form, raw: RawFile) -> LoadResult:
    with transaction(con):
        result = _store_form(con, form, raw, "xlsform")
        build_survey_marts(con)
    return result


def ingest_sample_surveys(settings: Settings, sample_dir: Path | str) -> list[LoadResult]:
    """Load the sample survey waves written by ``spsc synth`` (``<sample>/survey/``).

    Each ``<form stem>_<YYYYQn>.xlsx`` (or ``.csv``) export is loaded with its form
    ``<form stem>_form.xlsx``; the wave comes from the file name.
    """
    folder = Path(sample_dir) / "survey"
    if not folder.is_dir():
        folder = Path(sample_dir)
    results: list[LoadResult] = []
    for form_path in sorted(folder.glob("*_form.xlsx")):
        stem = form_path.name.removesuffix("_form.xlsx")
        exports = sorted(p for p in folder.iterdir()
                         if p.name.startswith(stem + "_") and p != form_path and _WAVE.search(p.name)
                         and p.suffix.lower() in (".xlsx", ".xls", ".csv"))
        for export in exports:
            results += ingest_survey(settings, [export], form=form_path)
    return results
