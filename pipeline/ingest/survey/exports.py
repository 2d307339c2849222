"""The files of one call grouped into exports, each read as its tables.

A Kobo export is a main file with the repeat-table files of it; an agency file's variables
can be stored under the project form's question names (the settings' ``rename``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import duckdb

from pipeline.errors import RejectedFile
from pipeline.ingest.survey.kobo import Export, ExportTable, read_export_tables
from pipeline.ingest.survey.land import Landed, RawFile, drop_landed, land_file
from pipeline.ingest.survey.mapping import Mapping
from pipeline.ingest.survey.xlsform import Form


@dataclass
class _Group:
    files: list[RawFile]
    landed: list[Landed]
    export: Export
    personal: set[str] = field(default_factory=set)


def _group_kobo(con: duckdb.DuckDBPyConnection, files: list[RawFile], form: Form | None,
                mapping: Mapping | None) -> list[_Group]:
    """Files of one call grouped into exports: a main file with the repeat-table files of it."""
    if not files:
        return []
    personal = set(mapping.personal) if mapping else set()
    mains, children = [], []
    for i, raw in enumerate(files):
        landed = land_file(con, f"_spsc_f{i}", raw)
        try:
            export = read_export_tables(landed, form, personal, con=con)
        except RejectedFile as exc:
            if "no main table" not in exc.what:
                drop_landed(con, landed)
                raise
            children.append((raw, landed))
            continue
        mains.append(_Group([raw], landed, export, personal))
    if children:
        if len(mains) != 1:
            drop_landed(con, [t for _, ls in children for t in ls] + [t for g in mains for t in g.landed])
            raise RejectedFile("repeat-table files need exactly one main file of the same export in the "
                               "same command", str(children[0][0].path))
        group = mains[0]
        for raw, landed in children:
            group.files.append(raw)
            group.landed += landed
        group.export = read_export_tables(group.landed, form, personal, con=con)
    return mains


def _renamed(form: Form, export: Export, rename: dict[str, str], raw: RawFile) -> tuple[Form, Export]:
    """The form and export with variables stored under other question names (the settings'
    ``rename``: an agency's ``OPCINA`` as the project form's ``location/municipality``)."""
    missing = [v for v in rename if form.question(v) is None]
    if missing:
        raise RejectedFile(f"the settings rename variables the file does not have: {', '.join(missing)}",
                           str(raw.path))
    taken = {q.path for q in form.questions if q.path not in rename} & set(rename.values())
    if taken:
        raise RejectedFile(f"the settings rename variables to names the file already uses: {', '.join(sorted(taken))}",
                           str(raw.path))
    questions = [replace(q, path=rename[q.path], name=rename[q.path].rsplit("/", 1)[-1])
                 if q.path in rename else q for q in form.questions]
    new_form = replace(form, questions=questions)

    def table(t: ExportTable) -> ExportTable:
        cols = {h: replace(r, path=rename[r.path]) if r.path in rename else r for h, r in t.columns.items()}
        return replace(t, columns=cols)

    return new_form, replace(export, main=table(export.main), repeats=[table(t) for t in export.repeats])
