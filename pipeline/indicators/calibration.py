"""Survey weights calibrated to known population totals (a census), wave by wave.

A form's settings may declare ``calibration`` (see :mod:`pipeline.project.forms`): margins
files with population totals by municipality, sex, age group or entity. Each wave of the
form is then post-stratified (R's ``postStratify``), raked (``rake``) or calibrated
(``calibrate(calfun = "linear" | "raking")``) to the same totals, and the variance uses the
residuals of the calibration model, as R's does. The estimator is
:class:`pipeline.estimator.Design`'s, on one row per respondent (its calibration equals R to
1e-6 in ``tests/test_survey.py``).

A post-stratum with fewer than ``min_respondents`` (20) respondents in a wave is merged with
its siblings, as weighting practice does: a ratio on a handful of people is noisy and its
linearised variance too small (measured: ``benchmarks/coverage.py --calibrated``).

Respondents without a value the margins need (sex not recorded, say) or with a value the
margins do not list (a 17-year-old when the census table counts adults) cannot be placed:
they keep their design weights (a level of their own, ``(none)``, whose population is their
weighted count, so calibration leaves them as they are), and the build says how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import SpscError
from pipeline.estimator import Design
from pipeline.project.config import ProjectError
from pipeline.project.forms import CALIBRATION_COLUMNS, Calibration
from pipeline.reference.names import normaliser

# margins column -> the respondents column it is matched with
RESPONDENT_COLUMN = {"municipality": "muni_id", "sex": "sex", "age_group": "age_group", "entity": "entity"}
NONE = "(none)"
_IGNORED = ("source", "note", "notes")


@dataclass(frozen=True)
class Margin:
    """One margins table: respondent columns and population counts, one row per level."""

    path: str
    columns: tuple[str, ...]  # respondents columns (muni_id, sex, ...)
    table: pd.DataFrame  # the columns + population


def read_margins(root: Path, calibration: Calibration, where: str) -> list[Margin]:
    """The margins files of a form's calibration, validated (every problem names file and row).

    Args:
        root: the project folder (relative paths are read from there).
        calibration: the form's ``calibration`` settings.
        where: the settings file, for messages.
    """
    out = []
    for rel in calibration.margins:
        path = Path(rel) if Path(rel).is_absolute() else root / rel
        if not path.is_file():
            raise ProjectError(f"calibration margins file {rel} not found", where,
                               "give the path of a CSV with the population totals, relative to the project folder")
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise ProjectError(f"cannot read the margins file ({exc})", str(path)) from exc
        raw.columns = [str(c).strip().lower() for c in raw.columns]
        unknown = [c for c in raw.columns if c not in (*CALIBRATION_COLUMNS, "population", *_IGNORED)]
        keys = [c for c in raw.columns if c in CALIBRATION_COLUMNS]
        if "population" not in raw.columns or not keys or unknown:
            raise ProjectError(
                "a margins file has a 'population' column and one or more of "
                f"{', '.join(CALIBRATION_COLUMNS)}" + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
                str(path))
        problems = []
        pop = pd.to_numeric(raw["population"].str.replace(" ", "").str.replace(",", ""), errors="coerce")
        for i in np.flatnonzero(~(pop > 0).to_numpy()):
            problems.append(f"row {i + 2}: population {raw['population'].iloc[i]!r} is not a positive number")
        table = pd.DataFrame({RESPONDENT_COLUMN[c]: raw[c].str.strip() for c in keys})
        if "municipality" in keys:
            ids = []
            for i, text in enumerate(table["muni_id"]):
                muni, why = normaliser().try_resolve(text)
                if muni is None:
                    problems.append(f"row {i + 2}: municipality {text!r}: {why}")
                ids.append(muni)
            table["muni_id"] = ids
        if "sex" in keys:
            table["sex"] = table["sex"].str.lower()
        dup = table.duplicated(keep=False) & table.notna().all(axis=1)
        if dup.any():
            problems.append(f"rows {', '.join(str(i + 2) for i in np.flatnonzero(dup))} repeat one level")
        if problems:
            raise ProjectError("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
                               str(path))
        table["population"] = pop.to_numpy(float)
        out.append(Margin(str(rel), tuple(table.columns[:-1]), table))
    return out


def _margin_levels(rows: pd.DataFrame, margin: Margin) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Each row's level of one margin (wave-crossed), the population of every level, and how
    many rows fall outside the margins (their level is ``(none)``)."""
    cols = list(margin.columns)
    key = rows[cols].astype("string")
    known = margin.table[cols].astype("string")
    inside = pd.MultiIndex.from_frame(key.fillna(NONE)).isin(pd.MultiIndex.from_frame(known))
    levels = key.where(np.broadcast_to(inside[:, None], key.shape), NONE).fillna(NONE)
    levels.insert(0, "wave", rows["wave"].astype(str).to_numpy())
    waves = sorted(levels["wave"].unique())
    pops = [margin.table.assign(wave=w) for w in waves]
    outside = ~inside
    if outside.any():
        none = (levels[outside].assign(population=rows.loc[outside, "weight"].to_numpy(float))
                .groupby(["wave", *cols], as_index=False)["population"].sum())
        pops.append(none)
    population = pd.concat(pops, ignore_index=True)[["wave", *cols, "population"]]
    return levels, population, int(outside.sum())


def post_strata(rows: pd.DataFrame, margin: Margin, form_id: str, notes: list[str],
                min_respondents: int = 1) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's post-stratum (wave-crossed) and the population of every post-stratum.

    ``rows`` are respondents, or cells of respondents (``n_rows`` respondents each, ``weight``
    the sum of their design weights).

    Wave by wave: a value of the first column (the municipality, say) with no respondents
    is left out (the wave does not cover it); a post-stratum with fewer than
    ``min_respondents`` respondents is merged with its siblings (all values of the last
    column, then of the one before, within the same values of the others), so the weights
    never rest on an empty or nearly empty cell.
    """
    cols = list(margin.columns)
    k = len(cols)
    full = list(rows[cols].astype("string").fillna(NONE).itertuples(index=False, name=None))
    known = {tuple(r[:-1]): float(r[-1]) for r in margin.table[[*cols, "population"]]
             .astype({c: "string" for c in cols}).itertuples(index=False, name=None)}
    wave = rows["wave"].astype(str).to_numpy()
    weight = rows["weight"].to_numpy(float)
    people = rows["n_rows"].to_numpy(float) if "n_rows" in rows else np.ones(len(rows))
    key = np.empty(len(rows), dtype=object)
    pops: dict[str, float] = {}
    for w in sorted(set(wave)):
        idx = np.flatnonzero(wave == w)
        counts: dict[tuple, float] = {}
        for i in idx:
            if full[i] in known:
                counts[full[i]] = counts.get(full[i], 0) + people[i]
        covered = {t[0] for t in counts}
        dropped = sorted({t[0] for t in known} - covered)
        if dropped:
            notes.append(f"form {form_id}, wave {w}: no respondents in {', '.join(dropped)} "
                         f"({margin.columns[0]}): those margins are left out")
        current = {t: t for t in known if t[0] in covered}
        merged = 0
        for length in range(k - 1, 0, -1):
            got: dict[tuple, int] = {}
            for t, c in current.items():
                got[c] = got.get(c, 0) + counts.get(t, 0)
            small = {c[:length] for c, n in got.items() if n < min_respondents}
            if not small:
                break
            for t, c in current.items():
                if c[:length] in small:
                    current[t] = c[:length] + ("*",) * (k - length)
            merged += len([c for c, n in got.items() if n < min_respondents])
        if merged:
            notes.append(f"form {form_id}, wave {w}: {merged} levels of {margin.path} with fewer than "
                         f"{min_respondents} respondents are merged with their neighbours")
        for t, c in current.items():
            name = "|".join((w, *c))
            pops[name] = pops.get(name, 0.0) + known[t]
        for i in idx:
            c = current.get(full[i])
            key[i] = "|".join((w, *c)) if c is not None else f"{w}|{NONE}"
        outside = key[idx] == f"{w}|{NONE}"
        if outside.any():
            pops[f"{w}|{NONE}"] = float(weight[idx][outside].sum())
            notes.append(f"form {form_id}, wave {w}: {int(people[idx][outside].sum())} respondents are outside the margins "
                         f"of {margin.path} (value missing or not listed) and keep their design weights")
    return key, pd.DataFrame({"post_stratum": list(pops), "population": list(pops.values())})


def calibrate(design: Design, rows: pd.DataFrame, calibration: Calibration, margins: list[Margin],
              form_id: str) -> tuple[Design, list[str]]:
    """The design calibrated wave by wave to the margins; notes on respondents left as they were.

    Args:
        design: the uncalibrated design on ``rows``.
        rows: one row per respondent with ``wave``, ``weight`` and the margins' columns.
    """
    notes, specs = [], []
    if calibration.method == "poststratify":
        key, population = post_strata(rows, margins[0], form_id, notes, calibration.min_respondents)
        design.data["cal:post_stratum"] = key
        population.columns = ["cal:post_stratum", "population"]
        try:
            return design.post_stratify("cal:post_stratum", population), notes
        except ValueError as exc:
            raise SpscError(f"form {form_id}: calibration failed ({exc})", margins[0].path,
                            "check the margins (levels as the respondents' values)") from exc
    for k, margin in enumerate(margins):
        levels, population, outside = _margin_levels(rows, margin)
        names = [f"cal{k}:{c}" for c in ["wave", *margin.columns]]
        for name, col in zip(names, levels.columns, strict=True):
            design.data[name] = levels[col].to_numpy()
        present = pd.MultiIndex.from_frame(levels).unique()
        wanted = pd.MultiIndex.from_frame(population[["wave", *margin.columns]].astype(str))
        empty = wanted[~wanted.isin(present)]
        if len(empty):
            shown = ", ".join("/".join(map(str, t)) for t in empty[:3])
            raise SpscError(f"form {form_id}: {len(empty)} levels of the margins in {margin.path} have no "
                            f"respondents (wave/{'/'.join(margin.columns)}: {shown})",
                            margin.path, "merge the empty levels with a neighbour in the margins file")
        population.columns = [*names, "population"]
        specs.append((names, population))
        if outside:
            notes.append(f"form {form_id}: {outside} respondents are outside the margins of {margin.path} "
                         "(value missing or not listed) and keep their design weights there")
    try:
        if calibration.method == "rake":
            out = design.rake(specs, maxit=50)
        else:
            out = design.calibrate(specs, calfun=calibration.method)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise SpscError(f"form {form_id}: calibration failed ({exc})", margins[0].path,
                        "check the margins (levels as the respondents' values, totals that agree)") from exc
    return out, notes
