"""spsc-pipeline: raw files -> DuckDB warehouse -> indicators -> notebooks and reports -> maps.

Stages, one sub-package each, in the order data flows:
``synth`` (sample raw files) -> ``ingest`` (raw files into the warehouse) -> ``warehouse``
(DuckDB schema, connections, SQL models) -> ``indicators`` (catalogue and engine, with
``survey`` for design-based estimates) -> ``reports`` (papermill notebooks, deck) -> ``maps``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spsc-pipeline")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
