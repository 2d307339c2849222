"""Where a report's numbers come from: code version, warehouse, parameters and raw files.

Every report ends with this footer, so a number in a donor report can be traced back to the
raw files (by name and sha256) and the code (version and git commit) that made it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import __version__
from pipeline.warehouse import Freshness

SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the checkout holding pipeline/


@lru_cache(maxsize=4)
def git_commit(root: Path = SOURCE_ROOT) -> str:
    """``git rev-parse HEAD`` of the pipeline's checkout, ``unknown`` when it is not one.

    A checkout with uncommitted changes to tracked files gets ``-dirty`` (as ``git describe
    --dirty``), since its commit alone does not describe the code that ran.
    """
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return f"{head}-dirty" if dirty else head


def load_batches(con: duckdb.DuckDBPyConnection, batch_ids: Iterable[int]) -> pd.DataFrame:
    """One row per load batch in ``batch_ids``: batch_id, file_name, kind, wave, sha256."""
    ids = sorted({int(b) for b in batch_ids if b is not None})
    if not ids:
        return pd.DataFrame(columns=["batch_id", "file_name", "kind", "wave", "sha256"])
    return con.execute(
        "select batch_id, file_name, kind, wave, sha256 from load_batches"
        " where list_contains(?, batch_id) order by batch_id", [ids]).df()


def read_copy_lines(fresh: Freshness | None, lang: str) -> list[str]:
    """The footer's lines about the published read copy the numbers were read from: when it
    was published, the load batches and indicator build it holds, and a warning when the
    warehouse had newer work it does not hold."""
    from pipeline.reports.text import t

    if fresh is None or fresh.publication is None:
        return []
    pub = fresh.publication
    ids = sorted(pub.batch_ids)
    batches = t("prov_copy_batches", lang, n=len(ids), ids=batch_ranges(ids)) if ids else t(
        "prov_copy_no_batches", lang)
    build = (t("prov_copy_build", lang, when=f"{pub.built_at:%Y-%m-%d %H:%M:%S}") if pub.built_at
             else t("prov_copy_no_build", lang))
    lines = [t("prov_copy", lang, when=f"{pub.published_at:%Y-%m-%d %H:%M:%S}", batches=batches,
               build=build)]
    if fresh.writer is not None:
        lines.append(t("prov_copy_writer", lang, writer=fresh.writer.describe()))
    elif fresh.newer_copy is not None:
        lines.append(t("prov_copy_newer", lang,
                       when=f"{fresh.newer_copy.published_at:%Y-%m-%d %H:%M:%S}"))
    elif fresh.unpublished:
        lines.append(t("prov_copy_unpublished", lang))
    return lines


def batch_ranges(ids: Iterable[int]) -> str:
    """``1-12, 15, 17-18``: batch ids as runs."""
    ids = sorted(set(ids))
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclass
class Provenance:
    """What one report was made from."""

    parameters: dict
    warehouse: str
    schema_version: int
    made_at: str = field(default_factory=lambda: datetime.now().astimezone().isoformat(timespec="seconds"))
    version: str = __version__
    commit: str = field(default_factory=git_commit)
    batches: pd.DataFrame = field(default_factory=pd.DataFrame)
    read_copy: Freshness | None = None  # the published copy read, and how fresh it was

    def as_dict(self) -> dict:
        """Plain values (for JSON next to the report)."""
        pub = self.read_copy.publication if self.read_copy is not None else None
        return {
            "made_at": self.made_at, "version": self.version, "commit": self.commit,
            "warehouse": self.warehouse, "schema_version": self.schema_version,
            "parameters": self.parameters,
            "batches": self.batches.to_dict(orient="records"),
            "read_copy": None if pub is None else {
                "published_at": pub.published_at.isoformat(), "batch_ids": list(pub.batch_ids),
                "built_at": pub.built_at.isoformat() if pub.built_at else None,
                "warning": self.read_copy.warning()},
        }
