"""The house a newcomer reads: every module of ``pipeline/`` says what it holds in a docstring and
stays small enough to read in one sitting (issue 15: modules above ~500 lines split by concern)."""

from __future__ import annotations

import ast
from pathlib import Path

import pipeline

PACKAGE = Path(pipeline.__file__).parent
MAX_LINES = 550


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_has_modules():
    assert len(_modules()) > 50  # the walk below looks at the real package, not an empty folder


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
            for p in _modules()}
    offenders = {name: n for name, n in long.items() if n > MAX_LINES}
    assert not offenders, (f"modules above {MAX_LINES} lines, split them by concern: "
                           + ", ".join(f"pipeline/{name} ({n})" for name, n in sorted(offenders.items())))


def test_every_module_says_what_it_holds():
    missing = [str(p.relative_to(PACKAGE)) for p in _modules()
               if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not missing, "modules without a docstring: " + ", ".join(f"pipeline/{m}" for m in missing)
