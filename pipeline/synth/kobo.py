"""Kobo export details shared by the two questionnaires: ids, timestamps, time zones.

Grain: vectorised helpers over arrays of submissions. Local times are Bosnian wall-clock
(CET/CEST, written with their offset in ``start``/``end``); ``_submission_time`` is UTC
without an offset, as KoboToolbox writes it.
"""

from __future__ import annotations

import string
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# summer time in Bosnia and Herzegovina (EU rules): last Sunday of March to last Sunday of October
_DST = {2023: (date(2023, 3, 26), date(2023, 10, 29)), 2024: (date(2024, 3, 31), date(2024, 10, 27)),
        2025: (date(2025, 3, 30), date(2025, 10, 26))}
_HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint8).reshape(256, 2)
_DASHES_AT = (8, 12, 16, 20)


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random version-4 UUID strings (``8-4-4-4-12`` lower-case hex)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = _HEX[raw].reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    src = 0
    dst = 0
    for cut in (*_DASHES_AT, 32):
        width = cut - src
        out[:, dst: dst + width] = hexed[:, src:cut]
        src, dst = cut, dst + width + 1
    return pa.array(out.view("S36").ravel()).cast(pa.string())


def version_uid(rng: np.random.Generator) -> str:
    """A Kobo form-version id such as ``vNd3Q9kT2xYwPqLm8sRzA4``."""
    alphabet = string.ascii_letters + string.digits
    return "v" + "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=21))


def utc_offset_hours(local_ms: np.ndarray) -> np.ndarray:
    """+1 or +2 for each local time (ms since epoch, wall clock) in Bosnia."""
    days = (local_ms // 86_400_000).astype("datetime64[D]")
    out = np.ones(len(local_ms), dtype=np.int64)
    for start, end in _DST.values():
        out[(days >= np.datetime64(start)) & (days < np.datetime64(end))] = 2
    return out


def _iso(values: np.ndarray, unit: str) -> pa.Array:
    text = pa.array(values.astype(np.int64), pa.timestamp(unit)).cast(pa.string())
    return pc.replace_substring(text, " ", "T", max_replacements=1)


def local_timestamps(local_ms: np.ndarray, offset_h: np.ndarray) -> pa.Array:
    """``2023-02-06T09:14:03.118+01:00`` strings."""
    suffix = pc.if_else(pa.array(offset_h == 2), "+02:00", "+01:00")
    return pc.binary_join_element_wise(_iso(local_ms, "ms"), suffix, "")


def utc_seconds_text(utc_s: np.ndarray) -> pa.Array:
    """``2023-02-06T08:20:11`` strings from seconds since the epoch (UTC)."""
    return _iso(utc_s, "s")


def day_text(local_ms: np.ndarray) -> pa.Array:
    """``2023-02-06`` strings (the ``today`` question)."""
    return pa.array((local_ms // 86_400_000).astype(np.int32), pa.date32()).cast(pa.string())
