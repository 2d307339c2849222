"""Uncertain pairs of people, for a person to decide: ``spsc review persons``.

Obvious variants of a name (case, diacritics, Latin or Cyrillic, word order, initials) are
one person key already. Pairs that *may* be one person are never linked automatically;
the model ``int_participants_review_pairs`` lists them by rule:

- ``birth_year_off_by_one``: the same normalised name and municipality, birth years one apart;
- ``one_letter_apart``: the same birth year and municipality, names one letter apart
  (``Marko Marković`` / ``Marka Marković``);
- ``dj_written_as_d``: the same, with ``đ`` typed as ``d`` (``Đorđe`` / ``Dorde``).

The warehouse holds no names, so the list shows pseudonyms, sex, birth year, municipality
and the events each key attended. Names are shown only on request (``--show-names``),
read at review time from the raw files the batches were loaded from, and never stored. A
decision (``--same`` / ``--different``) is stored as a pair of pseudonyms; ``same`` merges
the keys in every mart from then on (``person_links``), ``different`` takes the pair off
the list.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import SpscError
from pipeline.warehouse import runner

DECISIONS = ("same", "different")


def review_pairs(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """The undecided pairs, one row per pair of person keys, with what tells them apart."""
    from pipeline.ingest.attendance.models import create_attendance_views

    create_attendance_views(con, settings, upto="int_attendance_signins_resolved")
    return runner.query(con, "review/person_pairs")


def recompute_links(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite ``person_links`` from the ``same`` decisions: every key of a group of keys
    decided to be one person points to the smallest key of the group. Returns links written."""
    same = con.execute(
        "select person_key_a, person_key_b from person_decisions where decision = 'same'"
    ).fetchall()
    parent: dict[str, str] = {}

    def root(k: str) -> str:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    for a, b in same:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    links = pd.DataFrame(
        [(k, root(k)) for k in parent if root(k) != k], columns=["person_key", "canonical_key"]
    )
    con.execute("delete from person_links")
    if not links.empty:
        con.register("_links_in", links)
        try:
            con.execute("insert into person_links select person_key, canonical_key from _links_in")
        finally:
            con.unregister("_links_in")
    return len(links)


def record_decision(settings: Settings, key_a: str, key_b: str, decision: str) -> dict[str, int]:
    """Store a reviewer's decision on a pair and rebuild the marts (one transaction).

    Raises:
        SpscError: an unknown decision, a key that is not in the registry, or a pair of one key.
    """
    from pipeline.ingest.attendance.models import build_attendance_marts
    from pipeline.warehouse import connect, transaction

    if decision not in DECISIONS:
        raise SpscError(f"unknown decision {decision!r}", hint="use same or different")
    a, b = sorted((key_a.strip(), key_b.strip()))
    if a == b:
        raise SpscError("a person key cannot be paired with itself", a)
    if not Path(settings.db).exists():
        raise SpscError("no warehouse here", str(settings.db), "run 'spsc init' (or 'make demo') first")
    con = connect(settings.db, wait=settings.write_wait)
    try:
        known = {
            k
            for (k,) in con.execute(
                "select person_key from person_registry where person_key in (?, ?)", [a, b]
            ).fetchall()
        }
        missing = [k for k in (a, b) if k not in known]
        if missing:
            raise SpscError(
                "no such person key in the registry",
                ", ".join(missing),
                "copy the keys from 'spsc review persons'",
            )
        with transaction(con):
            con.execute(
                "delete from person_decisions where person_key_a = ? and person_key_b = ?", [a, b]
            )
            con.execute(
                "insert into person_decisions values (?, ?, ?, ?)", [a, b, decision, datetime.now()]
            )
            recompute_links(con)
            return build_attendance_marts(con, settings)
    finally:
        con.close()


def names_from_raw_files(
    con: duckdb.DuckDBPyConnection, secret: bytes, keys: set[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """The spellings of ``keys`` in the raw files of the loaded attendance batches.

    Read at review time and returned to the caller only: names never enter the warehouse.
    Returns ``(spellings by key, notes about files that are gone or changed)``.
    """
    from pipeline.ingest.attendance.load import known_events, parse_register
    from pipeline.warehouse import file_sha256

    events = known_events(con)
    batches = con.execute(
        "select path, sha256 from load_batches where kind = 'attendance' and status = 'loaded'"
        " order by batch_id"
    ).fetchall()
    spellings: dict[str, list[str]] = {}
    notes = []
    for path, sha in batches:
        p = Path(path)
        if not p.exists():
            notes.append(f"{p}: no longer there")
            continue
        if file_sha256(p) != sha:
            notes.append(f"{p}: changed since it was loaded")
            continue
        parsed = parse_register(p, secret, events, keep_names=True)
        signins = parsed.signins
        for column in ("person_key", "alt_person_key"):
            hits = signins[signins[column].isin(keys)]
            for key, name in zip(hits[column], hits["name"], strict=True):
                seen = spellings.setdefault(key, [])
                if name not in seen:
                    seen.append(name)
    return spellings, notes
