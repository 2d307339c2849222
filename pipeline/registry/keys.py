"""Person keys: who is the same person across sign-in sheets, events and quarters.

A person is identified by the normalised name (folded words: Latin script, no case, no
diacritics, ``đ`` as ``dj``; initials dropped; words sorted, so the order of first and last
name does not matter), the birth year and the municipality of residence. The key stored in
the warehouse is a keyed pseudonym of exactly these three, HMAC-SHA256 with the local secret
(:func:`pipeline.privacy.pseudonym`): the same person gets the same key in every ingest for as
long as the secret is kept, whatever order the files are loaded in. "Đorđević Ana",
"Ana Djordjevic" and "Ана Ђорђевић" are one key; "Ana Petrović" 1999 of Drvar and of Ribnik
are two.

For review, each person also gets *name signatures*: keyed hashes of the normalised name and
of it with ``dj`` written ``d``, and each distinct name the keyed hashes of its one-letter
deletions. Equal signatures reveal
pairs one letter apart without any name being stored (see :mod:`pipeline.registry.review`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import duckdb
import numpy as np
import pandas as pd

from pipeline.privacy import pseudonym
from pipeline.reference.names import fold_words

KEY_PREFIX = "p"
_BLOCK = 64  # SHA-256 block size, for HMAC computed inside DuckDB


def name_key(text: object) -> str | None:
    """The normalised name: folded words, initials dropped, sorted, space-separated.

    Returns ``None`` for a blank name. One-letter words (initials such as a father's
    initial, ``Ana M. Petrović``) are dropped when two longer words remain.
    """
    if text is None or (isinstance(text, float) and text != text):
        return None
    # folding works letter by letter, so each written word can be folded once and reused
    words = [w for part in str(text).split() for w in _folded(part)]
    longer = [w for w in words if len(w) > 1]
    if len(longer) >= 2:
        words = longer
    return " ".join(sorted(words)) or None


@lru_cache(maxsize=1 << 16)
def _folded(word: str) -> tuple[str, ...]:
    return tuple(fold_words(word))


def person_key(secret: bytes, name: str, birth_year: int, muni_id: str) -> str:
    """The keyed pseudonym of one person (normalised name, birth year, municipality)."""
    return pseudonym(secret, "person", name, int(birth_year), muni_id, prefix=KEY_PREFIX)


def person_keys(
    secret: bytes, names: pd.Series, birth_years: pd.Series, muni_ids: pd.Series
) -> np.ndarray:
    """Person keys for aligned columns, one HMAC per distinct person (not per sign-in)."""
    frame = pd.DataFrame(
        {"n": names.to_numpy(), "y": birth_years.to_numpy(), "m": muni_ids.to_numpy()}
    )
    distinct = frame.drop_duplicates().reset_index(drop=True)
    distinct["key"] = [
        person_key(secret, n, y, m) for n, y, m in distinct.itertuples(index=False, name=None)
    ]
    return frame.merge(distinct, on=["n", "y", "m"], how="left", sort=False)["key"].to_numpy()


def _hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# HMAC-SHA256 of `msg`, first 64 bits, with the pads bound as $1 (inner) and $2 (outer)
_MAC = "('0x' || left(sha256($2::blob || unhex(sha256($1::blob || encode({msg})))), 16))::ubigint"

_PERSON_SIGNATURES_SQL = f"""
with persons as (
    select distinct person_key, name_key from _persons_in
),
final as (
    select person_key, 'F' as kind, {_MAC.format(msg="'v' || chr(31) || name_key")} as sig
    from persons
    union all
    select person_key, 'D', {_MAC.format(msg="'d' || chr(31) || replace(name_key, 'dj', 'd')")}
    from persons
)
select * from final
"""

_NAME_DELETIONS_SQL = f"""
with names as (
    select distinct name_key, string_split(name_key, ' ') as words from _persons_in
),
new_names as (
    select names.*, {_MAC.format(msg="'v' || chr(31) || name_key")} as name_sig
    from names
    anti join name_deletions known
        on known.name_sig = {_MAC.format(msg="'v' || chr(31) || names.name_key")}
),
letters as (
    select name_sig, words, w, unnest(range(1, length(words[w]) + 1)) as pos
    from (select name_sig, words, unnest(range(1, len(words) + 1)) as w from new_names)
),
-- the name less one letter of word w, words sorted again so their order still does not matter
shortened as (
    select distinct
        name_sig,
        array_to_string(list_sort(list_filter(list_transform(words, lambda x, i:
            case when i = w then substr(x, 1, pos - 1) || substr(x, pos + 1) else x end),
            lambda x: x <> '')), ' ') as shorter
    from letters
),
final as (
    select distinct name_sig, {_MAC.format(msg="'v' || chr(31) || shorter")} as sig from shortened
)
select * from final
"""


def store_name_signatures(
    con: duckdb.DuckDBPyConnection, secret: bytes, persons: pd.DataFrame
) -> None:
    """Add the name signatures of new persons (computed in DuckDB, never leaving it).

    ``person_signatures`` gets, per person, ``F`` (the whole normalised name) and ``D`` (the
    same with ``dj`` written ``d``); ``name_deletions`` gets, once per distinct name, the
    signature of each way of deleting one letter. Two names one letter apart then share a
    deletion (a letter replaced: both lose it), or one's ``F`` is the other's deletion (a
    letter added). Signatures are the first 64 bits of HMAC-SHA256(secret, label and text):
    they reveal equality and nothing else.

    Args:
        persons: columns ``person_key``, ``name_key`` (persons not in the registry before).
    """
    ipad, opad = _hmac_pads(secret)
    con.register("_persons_in", persons[["person_key", "name_key"]])
    try:
        con.execute(
            f"insert into person_signatures select * from ({_PERSON_SIGNATURES_SQL})", [ipad, opad]
        )
        con.execute(
            f"insert into name_deletions select * from ({_NAME_DELETIONS_SQL})", [ipad, opad]
        )
    finally:
        con.unregister("_persons_in")
