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

    def as_dict(self) -> dict:
        """Plain values (for JSON next to the report)."""
        return {
            "made_at": self.made_at, "version": self.version, "commit": self.commit,
            "warehouse": self.warehouse, "schema_version": self.schema_version,
            "parameters": self.parameters,
            "batches": self.batches.to_dict(orient="records"),
        }
