"""The indicator engine's input contract, declared once in ``contract.yml`` beside this file.

:data:`INPUT_TABLES` (table -> column -> DuckDB type) is what
:func:`pipeline.indicators.engine.check_inputs` requires; :func:`contract_markdown` is the
contract section of ``docs/warehouse.md``. ``python -m pipeline.warehouse.contract`` rewrites
that section from the YAML (``tests/test_warehouse.py`` fails when the two differ).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

START = "<!-- contract: written from pipeline/warehouse/contract.yml, do not edit by hand -->"
END = "<!-- contract: end -->"


@dataclass(frozen=True)
class Column:
    """One column the engine reads."""

    name: str
    type: str
    about: str = ""


@dataclass(frozen=True)
class Table:
    """One input table: its grain and columns."""

    name: str
    grain: str
    columns: tuple[Column, ...]


def read_contract() -> tuple[Table, ...]:
    """The tables of ``contract.yml``, in its order."""
    text = resources.files("pipeline.warehouse").joinpath("contract.yml").read_text(encoding="utf-8")
    tables = []
    for name, spec in yaml.safe_load(text).items():
        columns = tuple(Column(c, **({"type": v} if isinstance(v, str) else v))
                        for c, v in spec["columns"].items())
        tables.append(Table(name, spec["grain"], columns))
    return tuple(tables)


CONTRACT = read_contract()
INPUT_TABLES: dict[str, dict[str, str]] = {t.name: {c.name: c.type for c in t.columns} for t in CONTRACT}


def contract_markdown() -> str:
    """The contract as the markdown of docs/warehouse.md (between :data:`START` and :data:`END`)."""
    lines = [START, ""]
    for table in CONTRACT:
        lines += [f"**`{table.name}`**: {table.grain}.", "", "| column | type | |", "|---|---|---|"]
        lines += [f"| `{c.name}` | `{c.type}` | {c.about} |" for c in table.columns]
        lines.append("")
    return "\n".join([*lines, END])


def docs_section(text: str) -> str | None:
    """The contract section of a docs text (markers included), ``None`` when it has none."""
    start, end = text.find(START), text.find(END)
    return text[start:end + len(END)] if 0 <= start < end else None


def write_docs(path: Path) -> bool:
    """Rewrite the contract section of ``path``; returns whether it changed."""
    text = path.read_text(encoding="utf-8")
    old = docs_section(text)
    if old is None:
        raise SystemExit(f"{path}: no contract section (the line {START!r})")
    new = text.replace(old, contract_markdown())
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/warehouse.md")
    print(f"{target}: {'rewritten' if write_docs(target) else 'already current'}")
