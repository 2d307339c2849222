"""``spsc deck``: a short 16:9 slide deck of the quarter for the donor presentation.

Slides: title; headline numbers; the indicator table (one slide per result); the maps (each a
full slide, as drawn by ``pipeline.maps``); youth engagement and ties across the line; notes
(data quality, suppression, provenance). The numbers are those of the quarterly report: the
same sections' functions, on the same published cells.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from pipeline.config import Settings
from pipeline.reports import data, narrative, report_maps, sections
from pipeline.reports.report import Report
from pipeline.reports.text import t, value

WIDTH_IN, HEIGHT_IN = 13.333, 7.5  # 16:9
BLUE = (0x1F, 0x5F, 0x8B)
GREY = (0x5A, 0x5A, 0x5A)
DARK = (0x1A, 0x1A, 0x1A)


def deck_path(settings: Settings, period: str, lang: str = "en") -> Path:
    """``reports/<period>/spsc_<period>_deck.<lang>.pptx`` (each language beside the others)."""
    return settings.reports_dir / period / f"spsc_{period}_deck.{lang}.pptx"


class _Deck:
    """A python-pptx presentation with the few slide shapes the deck uses."""

    def __init__(self, footer: str) -> None:
        from pptx import Presentation
        from pptx.util import Inches

        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = Inches(WIDTH_IN), Inches(HEIGHT_IN)
        self.blank = self.prs.slide_layouts[6]
        self.footer = footer

    def slide(self, title: str | None = None, footer: bool = True):
        s = self.prs.slides.add_slide(self.blank)
        if title:
            self.text(s, title, 0.5, 0.3, WIDTH_IN - 1.0, 0.8, size=28, bold=True, colour=BLUE)
        if footer:
            self.text(s, self.footer, 0.5, HEIGHT_IN - 0.45, WIDTH_IN - 1.0, 0.3, size=10,
                      colour=GREY)
        return s

    def text(self, s, text: str | list[str], left: float, top: float, width: float, height: float,
             size: int = 16, bold: bool = False, colour=DARK, bullets: bool = False):
        from pptx.dml.color import RGBColor
        from pptx.util import Inches, Pt

        box = s.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
        frame = box.text_frame
        frame.word_wrap = True
        lines = text if isinstance(text, list) else [text]
        for i, line in enumerate(lines):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            para.text = ("• " if bullets else "") + line
            para.space_after = Pt(6 if bullets else 0)
            for run in para.runs:
                run.font.size, run.font.bold = Pt(size), bold
                run.font.color.rgb = RGBColor(*colour)
        return box

    def picture(self, s, png: bytes, left: float, top: float, width: float | None = None,
                height: float | None = None):
        from pptx.util import Inches

        return s.shapes.add_picture(io.BytesIO(png), Inches(left), Inches(top),
                                    Inches(width) if width else None,
                                    Inches(height) if height else None)

    def table(self, s, frame: pd.DataFrame, left: float, top: float, width: float,
              widths: list[float], size: int = 11):
        from pptx.dml.color import RGBColor
        from pptx.util import Inches, Pt

        rows, cols = len(frame) + 1, len(frame.columns)
        shape = s.shapes.add_table(rows, cols, Inches(left), Inches(top), Inches(width),
                                   Inches(0.32 * rows))
        tbl = shape.table
        for j, w in enumerate(widths):
            tbl.columns[j].width = Inches(w)
        for j, name in enumerate(frame.columns):
            tbl.cell(0, j).text = str(name)
        for i, row in enumerate(frame.itertuples(index=False), start=1):
            for j, v in enumerate(row):
                tbl.cell(i, j).text = "" if v is None or (isinstance(v, float) and v != v) else str(v)
        for i in range(rows):
            for j in range(cols):
                for para in tbl.cell(i, j).text_frame.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(size)
                        run.font.bold = i == 0
                        if i == 0:
                            run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
        return shape


def _maps(rep: Report) -> list[bytes]:
    """The map PNGs: those the report batch rendered, else drawn now."""
    folder = rep.settings.reports_dir / rep.period / "figures"
    manifest = report_maps.cached_maps(folder, rep.period, rep.lang)
    if manifest is not None:
        return [(folder / manifest["maps"][n]).read_bytes() for n in report_maps.MAP_NAMES
                if n in manifest["maps"]]
    figures, _ = report_maps.render_maps(rep.settings, rep.values, rep.changes,
                                         data.ties(rep.con), rep.period, rep.lang, rep.catalogue)
    return [report_maps.png_bytes(figures[n]) for n in report_maps.MAP_NAMES if n in figures]


def _indicator_slides(deck: _Deck, rep: Report) -> None:
    from pipeline.indicators.donor_table import STATUS

    lang = rep.lang
    table = rep.donor()
    for result in rep.catalogue.result_ids():
        part = table[table["result"] == result]
        if part.empty:
            continue
        shown = pd.DataFrame({
            t("col_indicator", lang): [rep.label(i) for i in part["indicator_id"]],
            t("col_baseline", lang): [value(b, u, lang) for b, u in zip(part["baseline"], part["unit"], strict=True)],
            t("col_target", lang): [value(v, u, lang) for v, u in zip(part["target"], part["unit"], strict=True)],
            t("col_value", lang): [sections.shown_cell(rep, sections.donor_cell(r), r["unit"])
                                   if r["measured_in"] else "" for _, r in part.iterrows()],
            t("col_period", lang): part["measured_in"].fillna(""),
            t("col_status", lang): [STATUS[s][lang] for s in part["status"]],
        })
        label = rep.catalogue.result_label(result, lang)
        s = deck.slide(f"{t('donor_table', lang)}: {t('col_result', lang)} {result}" if result
                       else t("donor_table", lang))
        if label and label != result:
            deck.text(s, label, 0.5, 0.95, WIDTH_IN - 1.0, 0.35, size=13, colour=GREY)
        deck.table(s, shown, 0.5, 1.25, WIDTH_IN - 1.0, [4.6, 1.3, 1.2, 2.2, 1.7, 1.3],
                   size=12 if len(shown) <= 8 else 11)


def build_deck(rep: Report) -> _Deck:
    """All slides of the deck for an open project report."""
    from datetime import date

    lang = rep.lang
    name = rep.setup.name
    deck = _Deck(f"{name} · {rep.period} · {rep.setup.config.name.get(lang)}")
    s = deck.slide()
    deck.text(s, t("deck_title", lang, project=name), 0.8, 2.2, WIDTH_IN - 1.6, 1.2, size=44,
              bold=True, colour=BLUE)
    deck.text(s, rep.period, 0.8, 3.4, WIDTH_IN - 1.6, 0.8, size=32, colour=DARK)
    deck.text(s, [rep.subtitle, date.today().isoformat()], 0.8, 4.4, WIDTH_IN - 1.6, 1.2,
              size=16, colour=GREY)

    items = sections.headline_items(rep)[:6]
    s = deck.slide(t("headline", lang)) if items else None
    for k, item in enumerate(items):
        left, top = 0.5 + (k % 3) * 4.15, 1.35 + (k // 3) * 2.75
        deck.text(s, item["big"], left, top, 3.9, 1.0, size=40, bold=True, colour=BLUE)
        deck.text(s, item["subject"], left, top + 1.0, 3.9, 0.9, size=15)
        deck.text(s, item["detail"], left, top + 1.85, 3.9, 0.6, size=11, colour=GREY)

    _indicator_slides(deck, rep)

    for png in _maps(rep):  # the maps carry their own title, legend and sources
        s = deck.slide(footer=False)
        deck.picture(s, png, 0.0, 0.0, width=WIDTH_IN)

    if sections.has_attendance(rep):
        s = deck.slide(t("youth", lang))
        sentences, _, _ = sections.youth_summary(rep)
        fig = sections.ties_chart(rep)
        deck.text(s, sentences, 0.5, 1.25, 5.2 if fig is not None else WIDTH_IN - 1.0, 5.4, size=15,
                  bullets=True)
        if fig is not None:
            deck.picture(s, report_maps.png_bytes(fig, 150), 5.9, 1.4, width=7.0)

    s = deck.slide(t("data_quality", lang) + " · " + t("provenance", lang))
    deck.text(s, _notes(rep), 0.5, 1.25, WIDTH_IN - 1.0, 5.5, size=14, bullets=True)
    return deck


def _notes(rep: Report) -> list[str]:
    """Data quality, suppression and provenance, as bullet lines."""
    from pipeline.reports.provenance import Provenance, load_batches, read_copy_lines
    from pipeline.warehouse import schema_version

    lang = rep.lang
    found = data.quarantine_by_rule(rep.con, rep.period)
    cells = int(found["cells"].sum()) if not found.empty else 0
    lines = [narrative.quarantine_sentence(cells, data.quarantine_files(rep.con, rep.period),
                                           rep.period, lang)]
    lines += [f"{r.rule}: {r.cells} ({r.reason})" for r in found.head(4).itertuples()]
    lines.append(t("suppressed_note", lang, min_cell=rep.min_cell))
    prov = Provenance(parameters=rep.parameters, warehouse=str(rep.settings.db),
                      schema_version=schema_version(rep.con),
                      batches=load_batches(rep.con, rep.batch_ids))
    lines.append(t("prov_made", lang, when=prov.made_at, version=prov.version, commit=prov.commit))
    lines += read_copy_lines(rep.freshness, lang)
    lines.append(t("deck_files", lang, n=len(prov.batches)))
    return lines


def write_deck(settings: Settings, period: str, lang: str = "en") -> tuple[Path, int]:
    """Write the deck to ``reports/<period>/spsc_<period>_deck.<lang>.pptx``; returns (path, slides)."""
    rep = Report(period=period, lang=lang, warehouse=str(settings.db),
                 project=str(settings.require_project().root))
    try:
        deck = build_deck(rep)
    finally:
        rep.close()
    path = deck_path(settings, period, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deck-", suffix=".pptx")
    os.close(fd)
    try:
        deck.prs.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path, len(deck.prs.slides)
