"""The report pages' HTML, from the Jinja2 templates in ``templates/`` (Jinja2 comes with
nbconvert). Every value is escaped unless a template marks it ``safe`` (the stylesheet and a
page's body, which are HTML made from these templates)."""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("pipeline.reports", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render(name: str, **values) -> str:
    """``templates/<name>.html.j2`` filled with ``values``."""
    return _environment().get_template(f"{name}.html.j2").render(**values)
