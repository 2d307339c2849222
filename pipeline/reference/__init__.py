"""Reference data from public facts: the 142 municipalities, aliases, census.

Tables are small and read once per process. Which municipalities a project works in is the
project's (``spsc.yml``, ``area``), not the reference data's: :func:`with_area` marks them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("rb") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8")


@lru_cache(maxsize=1)
def municipalities() -> pd.DataFrame:
    """One row per municipality of the 2013 frame (142): id, names, entity, canton, shape id."""
    return _read("municipalities.csv")


def with_area(area: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """:func:`municipalities` with ``is_project``: whether each is in the project's area."""
    df = municipalities().copy()
    df["is_project"] = df["muni_id"].isin(list(area))
    return df


@lru_cache(maxsize=1)
def aliases() -> pd.DataFrame:
    """One row per (alias, municipality): extra spellings, former names and look-alikes."""
    return _read("municipality_aliases.csv")


@lru_cache(maxsize=1)
def census() -> pd.DataFrame:
    """2013 census population, one row per municipality, sex and age group stated."""
    df = _read("census_2013.csv")
    df["population"] = df["population"].astype("int64")
    return df


def entity_of(muni_id: str) -> str:
    """The entity (FBiH, RS or BD) of a municipality id."""
    return _entity_map()[muni_id]


@lru_cache(maxsize=1)
def _entity_map() -> dict[str, str]:
    m = municipalities()
    return dict(zip(m["muni_id"], m["entity"], strict=True))


def display_name(muni_id: str, lang: str = "en", script: str = "latin") -> str:
    """The name to print for a municipality id."""
    row = municipalities().set_index("muni_id").loc[muni_id]
    return row["name_cyr"] if script == "cyrillic" else row["name"]
