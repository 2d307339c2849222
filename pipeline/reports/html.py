"""Executed notebook -> one self-contained HTML page without code.

nbconvert's ``basic`` template gives the cells' HTML without any page chrome; the page around
it is written here with a small inline stylesheet, so the file opens offline: images are
embedded as base64, and no script or stylesheet is fetched from anywhere. Code, prompts,
warnings printed to stderr and tracebacks (which quote code) are left out; a failed report
shows the error's one-line message instead.
"""

from __future__ import annotations

import re

import nbformat

from pipeline.reports.pages import render

REMOVE_TAG = "remove_cell"  # notes for analysts in the notebooks, not for readers of the report
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"  # "exception at In [3]": our box says it instead

CSS = """
body{font-family:"DejaVu Sans","Segoe UI",Arial,sans-serif;color:#1a1a1a;background:#fff;
margin:0;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:1.9em;margin:.2em 0 .1em}h2{font-size:1.4em;margin:1.6em 0 .4em;
border-bottom:2px solid #1f5f8b;padding-bottom:.15em}h3{font-size:1.1em;margin:1.2em 0 .3em}
p.subtitle{color:#5a5a5a;margin-top:0}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
table.report-table{border-collapse:collapse;margin:.6em 0 1em;font-size:.92em}
table.report-table th{background:#eef3f7;text-align:left;padding:4px 8px;
border-bottom:1px solid #9fb6c8}
table.report-table td{padding:3px 8px;border-bottom:1px solid #e3e3e3;vertical-align:top}
table.report-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:.6em 0 1em}
.card{border:1px solid #cfdbe5;border-radius:6px;padding:10px 14px;min-width:180px;flex:1}
.card .big{font-size:1.8em;font-weight:bold;color:#1f5f8b}
.card .what{font-size:.85em;color:#333}.card .ci{font-size:.8em;color:#5a5a5a}
.note{color:#5a5a5a;font-size:.88em}
.failed{border:2px solid #b2182b;background:#fdecea;padding:10px 14px;border-radius:6px}
footer.provenance{margin-top:2em;font-size:.85em;color:#444}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#b2182b;font-weight:bold}
"""

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_EXTERNAL = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//",
                       re.IGNORECASE)


def page(title: str, body: str, lang: str = "en") -> str:
    """A complete HTML document around ``body`` with the inline stylesheet."""
    from pipeline.lang import HTML_LANG

    return render("page", title=title, body=body, css=CSS, lang=HTML_LANG.get(lang, lang))


def external_references(document: str) -> list[str]:
    """Tags in ``document`` that would load a script, stylesheet, image or frame from the net."""
    return [m.group(0) for m in _EXTERNAL.finditer(document)]


def _reader_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a reader sees it: no stderr, tracebacks replaced by their message."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if out.get("output_type") == "error":
                message = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
                kept.append(nbformat.v4.new_output(
                    "display_data",
                    data={"text/html": render("failed", message=message)}))
                continue
            kept.append(out)
        cell["outputs"] = kept
    return nb


def notebook_to_html(nb: nbformat.NotebookNode, title: str, lang: str = "en") -> str:
    """Render an executed notebook as a self-contained page with no code cells.

    Raises:
        ValueError: the result would still load something from the internet (a bug to fix
            here, never a page to ship).
    """
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {REMOVE_TAG, PAPERMILL_ERROR_TAG}
    exporter = HTMLExporter(config=config, template_name="basic")
    body, _ = exporter.from_notebook_node(_reader_copy(nb))
    document = page(title, _SCRIPT.sub("", body), lang)
    found = external_references(document)
    if found:
        raise ValueError(f"report HTML would load from the internet: {found[0][:120]}")
    return document
