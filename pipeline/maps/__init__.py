"""Maps along the inter-entity line: boundaries, derived geography and slide-ready maps.

Importing this package is cheap; geopandas and matplotlib load on first use of a map function
(``from pipeline.maps import indicator_map``), so ``spsc --help`` stays fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "fetch_boundaries": "boundaries", "import_boundaries": "boundaries",
    "BoundariesMissing": "boundaries", "require_boundaries": "boundaries",
    "Geography": "geography", "load_geography": "geography", "build_geography": "geography",
    "build_cache": "geography",
    "overview_map": "render", "indicator_map": "render", "change_map": "render",
    "ties_map": "render", "save_map": "render", "write_png": "render",
    "ValueScale": "scales", "scale_for_unit": "scales",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
