"""Time per finished map against a bare ``GeoDataFrame.plot()`` of the same polygons.

The reference draws the 142 municipality polygons with geopandas' defaults on a figure of the
same size and saves it with ``savefig`` as PNG at the same dpi, in the same run. Each map is
timed from the DataFrames to the written PNG (figure built, labels placed, written by
``write_png``); the PNG + SVG pair that ``spsc maps`` writes is reported too, and so is the
ratio to the bare plot written by ``write_png``, to show what the drawing itself costs.
Target: <= 3x the reference.

    .venv/bin/python benchmarks/bench_maps.py --boundaries /work/shared/geo
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import check, finish, interleaved, skipped  # noqa: E402

LIMIT = 3.0
BENCH = "maps"


def _default_boundaries() -> Path | None:
    given = os.environ.get("SPSC_BOUNDARIES")
    if given:
        return Path(given)
    shared = HERE.parent.parent / "shared" / "geo"
    return shared if shared.is_dir() else None


def _values(pd, periods=("2023Q1", "2024Q4")):
    from pipeline.synth.area import PROJECT_MUNICIPALITIES

    rows = []
    for k, period in enumerate(periods):
        for i, m in enumerate(PROJECT_MUNICIPALITIES):
            est = 40.0 + 4 * i + 6 * k
            half = 14.0 if m == "glamoc" else 6.0
            sup = m == "ribnik" and period == "2024Q4"
            rows.append({"indicator_id": "trust_high", "period": period,
                         "dimension": "municipality", "dimension_value": m,
                         "estimate": None if sup else est, "se": None if sup else half / 1.96,
                         "ci_low": None if sup else est - half,
                         "ci_high": None if sup else est + half, "n": 7 if sup else 150,
                         "suppressed": sup})
    changes = pd.DataFrame({"indicator_id": "trust_high", "dimension": "municipality",
                            "dimension_value": list(PROJECT_MUNICIPALITIES), "change": 6.0,
                            "significant": [i % 2 == 0 for i in range(9)]})
    ties = pd.DataFrame([("2024Q4", "drvar", "ribnik", "FBiH", "RS", 30),
                         ("2024Q4", "kljuc", "ribnik", "FBiH", "RS", 22),
                         ("2024Q4", "mrkonjic_grad", "sanski_most", "RS", "FBiH", 9),
                         ("2024Q4", "glamoc", "mrkonjic_grad", "FBiH", "RS", 5),
                         ("2024Q4", "banja_luka", "kljuc", "RS", "FBiH", 3)],
                        columns=["period", "muni_id_a", "muni_id_b", "entity_a", "entity_b",
                                 "n_ties"])
    return pd.DataFrame(rows), changes, ties


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", type=Path, default=_default_boundaries(),
                        help="folder holding the two pinned geoBoundaries GeoJSON files")
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.boundaries is None or not args.boundaries.is_dir():
        skipped(BENCH, "no boundaries: pass --boundaries DIR, set SPSC_BOUNDARIES, or put"
                " them in ../shared/geo", "bare GeoDataFrame.plot()", "each map")
        return finish()

    import pandas as pd
    from matplotlib.figure import Figure

    from pipeline.config import get_settings
    from pipeline.maps import render
    from pipeline.maps.boundaries import import_boundaries
    from pipeline.maps.geography import build_cache, load_geography
    from pipeline.maps.style import SLIDE_SIZE

    out = HERE / "out" / "maps"  # git-ignored; the maps stay there to be looked at
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    from pipeline.project.scaffold import new_project

    new_project(out / "project", example="spsc")  # the example's area is the one mapped
    settings = get_settings(home=out, project=out / "project", boundaries_dir=out / "boundaries")
    import_boundaries(settings, args.boundaries)
    build_cache(settings)
    geo = load_geography(settings)
    munis, _, _ = geo.in_crs()
    values, changes, ties = _values(pd)
    dpi = args.dpi

    def bare_plot() -> None:
        fig = Figure(figsize=SLIDE_SIZE)
        munis.plot(ax=fig.add_axes([0.03, 0.1, 0.56, 0.74]))
        fig.savefig(out / "reference.png", dpi=dpi)

    maps = {
        "overview": lambda: render.overview_map(geo),
        "indicator": lambda: render.indicator_map(values, "trust_high", "2024Q4",
                                                  label="Trust", unit="percent", geo=geo),
        "change": lambda: render.change_map(values, "trust_high", "2023Q1", "2024Q4",
                                            changes_df=changes, unit="percent", geo=geo),
        "ties": lambda: render.ties_map(ties, "2024Q4", geo=geo),
    }
    for build in maps.values():  # warm up: fonts, projections, caches
        build().savefig(out / "warmup.png", dpi=30)
    bare_plot()

    # The machine is shared: each map is timed interleaved with the reference, so both see
    # the same load; the medians count.
    for name, build in maps.items():
        ref, step = interleaved(
            (f"bare GeoDataFrame.plot() of {len(munis)} polygons, savefig PNG {dpi} dpi", bare_plot),
            (f"{name} map, PNG {dpi} dpi",
             lambda b=build, n=name: render.write_png(b(), out / f"{n}.png", dpi)),
            repeat=args.repeat)
        check(f"{BENCH}: {name}", step, ref, LIMIT)
    print(f"maps written to {out}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
