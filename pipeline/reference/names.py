"""Name folding and the municipality normaliser.

Folding makes spellings comparable: Serbian Cyrillic is transliterated to Latin, case is
folded, ``đ`` becomes ``dj`` and other diacritics are dropped, and punctuation and spaces
are removed. The normaliser maps a folded name to one municipality id through the
reference names and the alias table, and refuses to guess when a name fits look-alikes
(``Petrovac``, ``Kupres``, ``Novi Grad``...). It never fuzzy-matches.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pipeline.errors import AmbiguousName, UnknownName

_CYR2LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z",
    "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c",
    "ч": "č", "џ": "dž", "ш": "š",
}
_LAT2CYR_DIGRAPHS = {"lj": "љ", "nj": "њ", "dž": "џ"}
_LAT2CYR = {v: k for k, v in _CYR2LAT.items() if len(v) == 1}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# words that decorate a municipality name without naming it ("Grad Livno", "Općina Ključ")
_DECORATION = {"grad", "opcina", "opstina", "opcine", "opstine", "municipality", "city", "of", "grada"}


def to_latin(text: str) -> str:
    """Serbian Cyrillic to Latin (Gaj's alphabet); other characters unchanged."""
    out = []
    for ch in text:
        low = ch.lower()
        lat = _CYR2LAT.get(low)
        if lat is None:
            out.append(ch)
        elif ch != low:
            out.append(lat[0].upper() + lat[1:])
        else:
            out.append(lat)
    return "".join(out)


def to_cyrillic(text: str) -> str:
    """Latin (Gaj's alphabet) to Serbian Cyrillic, digraphs lj/nj/dž as one letter."""
    out, i = [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair.lower() in _LAT2CYR_DIGRAPHS:
            cyr = _LAT2CYR_DIGRAPHS[pair.lower()]
            out.append(cyr.upper() if pair[0].isupper() else cyr)
            i += 2
            continue
        ch = text[i]
        cyr = _LAT2CYR.get(ch.lower())
        out.append(ch if cyr is None else (cyr.upper() if ch.isupper() else cyr))
        i += 1
    return "".join(out)


def fold_words(text: str) -> list[str]:
    """Folded words of ``text``: Latin script, lower case, no diacritics, ``đ`` as ``dj``."""
    s = unicodedata.normalize("NFC", str(text))
    s = to_latin(s).casefold().replace("đ", "dj")
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return [w for w in _NON_ALNUM.split(s) if w]


def fold(text: str) -> str:
    """One comparison key for a name: folded words joined without spaces."""
    return "".join(fold_words(text))


class MunicipalityNormaliser:
    """Maps any spelling of a municipality name to its id, or refuses with a reason."""

    def __init__(self, municipalities, aliases):
        index: dict[str, set[str]] = {}
        self._names = dict(zip(municipalities["muni_id"], municipalities["name"], strict=True))
        # geoBoundaries names are not indexed: one polygon is called "Republika Srpska";
        # the useful ones are aliases, and maps join on shape ids, never on names.
        for col in ("name", "name_cyr", "muni_id"):
            for name, mid in zip(municipalities[col], municipalities["muni_id"], strict=True):
                index.setdefault(fold(name), set()).add(mid)
        for alias, mid in zip(aliases["alias"], aliases["muni_id"], strict=True):
            if mid not in self._names:
                raise ValueError(f"alias {alias!r} names unknown municipality id {mid!r}")
            index.setdefault(fold(alias), set()).add(mid)
        self._index = index

    def candidates(self, text: str) -> set[str]:
        """Every id a spelling could mean (empty when none, several for look-alikes)."""
        if text is None:
            return set()
        words = fold_words(text)
        key = "".join(words)
        if key in self._index:
            return set(self._index[key])
        # strip decoration words at the front, at the back, then both ("Grad Livno", "Ribnik
        # municipality", "Općina Istočni Stari Grad" whose own "Grad" must survive)
        front = list(words)
        while front and front[0] in _DECORATION:
            front = front[1:]
        back = list(words)
        while back and back[-1] in _DECORATION:
            back = back[:-1]
        both = list(front)
        while both and both[-1] in _DECORATION:
            both = both[:-1]
        for attempt in (front, back, both):
            found = self._index.get("".join(attempt))
            if found:
                return set(found)
        return set()

    def resolve(self, text: str) -> str:
        """The one municipality id for ``text``.

        Raises:
            UnknownName: nothing matches.
            AmbiguousName: look-alikes match; the message lists them.
        """
        found = self.candidates(text)
        if len(found) == 1:
            return next(iter(found))
        if not found:
            raise UnknownName(f"unknown municipality {text!r}", hint="add it to the alias table if it is a spelling of a known one")
        names = " or ".join(sorted(self._names[m] for m in found))
        raise AmbiguousName(f"ambiguous municipality {text!r}: could be {names}", hint="write the full name")

    def try_resolve(self, text: str) -> tuple[str | None, str | None]:
        """``(id, None)`` on success, ``(None, reason)`` otherwise; never raises."""
        found = self.candidates(text)
        if len(found) == 1:
            return next(iter(found)), None
        if not found:
            return None, "unknown municipality"
        return None, "ambiguous municipality: " + " or ".join(sorted(self._names[m] for m in found))


@lru_cache(maxsize=1)
def normaliser() -> MunicipalityNormaliser:
    """The normaliser over the packaged reference tables."""
    from pipeline.reference import aliases, municipalities

    return MunicipalityNormaliser(municipalities(), aliases())


def resolve_municipality(text: str) -> str:
    """Shortcut for ``normaliser().resolve(text)``."""
    return normaliser().resolve(text)
