"""The languages readers get: one string catalogue per language, and Serbian in both scripts.

Every text a reader sees (report sections, sentences, tables, charts, maps, the donor table's
words, the deck, the index) comes from a catalogue file in this folder, one per language, so a
translator reviews one file: ``en.yml`` (English), ``bs.yml`` (Bosnian), ``hr.yml`` (Croatian)
and ``sr.yml`` (Serbian, Cyrillic). ``sr-Latn`` (Serbian, Latin script) has no file of its own:
it is ``sr.yml`` transliterated (:func:`to_latin`), which is mechanical and lossless in that
direction. All catalogues hold the same keys (``tests/test_lang.py`` checks it).

Keys are flat; a dot groups them (``map.*`` map furniture, ``status.*`` the donor table's
statuses). ``{name}`` marks a value filled in by the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parent
CATALOGUES = ("en", "bs", "hr", "sr")  # one file each
LANGS = ("en", "bs", "hr", "sr", "sr-Latn")  # what --lang accepts
NAMES = {"en": "English", "bs": "bosanski", "hr": "hrvatski", "sr": "српски", "sr-Latn": "srpski"}
HTML_LANG = {"en": "en", "bs": "bs", "hr": "hr", "sr": "sr-Cyrl", "sr-Latn": "sr-Latn"}

# Serbian Cyrillic <-> Latin (Gaj's alphabet); the Latin digraphs lj, nj, dž are one letter each
_CYR = "абвгдђежзијклљмнњопрстћуфхцчџш"
_LAT = ["a", "b", "v", "g", "d", "đ", "e", "ž", "z", "i", "j", "k", "l", "lj", "m", "n", "nj", "o",
        "p", "r", "s", "t", "ć", "u", "f", "h", "c", "č", "dž", "š"]
_TO_LATIN = {c: lat for c, lat in zip(_CYR, _LAT, strict=True)}
_TO_LATIN.update({c.upper(): lat.capitalize() for c, lat in zip(_CYR, _LAT, strict=True)})
_TO_CYRILLIC = {lat: c for c, lat in zip(_CYR, _LAT, strict=True)}


def to_latin(text: str) -> str:
    """Serbian Cyrillic as Serbian Latin: ``Мркоњић Град`` -> ``Mrkonjić Grad``.

    A digraph letter in an all-capitals word stays all capitals (``ЉУБОВИЈА`` -> ``LJUBOVIJA``);
    anything that is not Cyrillic (digits, ``{placeholders}``, Latin acronyms) is kept.
    """
    out = []
    for i, ch in enumerate(text):
        lat = _TO_LATIN.get(ch)
        if lat is None:
            out.append(ch)
            continue
        if len(lat) == 2 and ch.isupper():
            # all capitals when a neighbouring letter is a capital too (ЊЕГОШ, ЏАК)
            near = text[i + 1:i + 2] or text[i - 1:i]
            if near.isalpha() and near.isupper():
                lat = lat.upper()
        out.append(lat)
    return "".join(out)


def to_cyrillic(text: str) -> str:
    """Serbian Latin as Serbian Cyrillic: ``Mrkonjić Grad`` -> ``Мркоњић Град``.

    ``lj``, ``nj`` and ``dž`` are read as one letter each (right for Serbian words; the rare
    word where they are two letters, e.g. ``konjunkcija``, needs its Cyrillic written by hand).
    ``{placeholders}`` and words written in capitals only (``IEBL``, ``BiH`` is not one) stay.
    """
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "{":  # a placeholder: left as it is
            end = text.find("}", i)
            end = len(text) - 1 if end < 0 else end
            out.append(text[i:end + 1])
            i = end + 1
            continue
        if ch.isascii() and ch.isalpha() and ch.isupper():
            # an acronym in Latin capitals (IEBL, PBF, UNDP) stays Latin
            j = i
            while j < len(text) and text[j].isalpha() and text[j].isascii() and text[j].isupper():
                j += 1
            if j - i >= 2 and not (j < len(text) and text[j].isalpha()):
                out.append(text[i:j])
                i = j
                continue
        pair = text[i:i + 2]
        if pair.lower() in ("lj", "nj", "dž"):
            c = _TO_CYRILLIC[pair.lower()]
            out.append(c.upper() if pair[0].isupper() else c)
            i += 2
            continue
        c = _TO_CYRILLIC.get(ch.lower())
        out.append(ch if c is None else (c.upper() if ch.isupper() else c))
        i += 1
    return "".join(out)


def _flatten(tree: Mapping, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every key of the language's catalogue and its text (``sr-Latn``: ``sr`` transliterated)."""
    if lang == "sr-Latn":
        return {k: to_latin(v) for k, v in catalogue("sr").items()}
    if lang not in CATALOGUES:
        raise KeyError(f"no catalogue for language {lang!r}")
    with open(FOLDER / f"{lang}.yml", encoding="utf-8") as handle:
        return _flatten(yaml.safe_load(handle) or {})


def t(key: str, lang: str, **values) -> str:
    """The text ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    text = catalogue(lang)[key]
    return text.format(**values) if values else text


def check_lang(lang: str) -> str:
    """``lang`` if the reports are written in it, else a one-line error."""
    if lang not in LANGS:
        from pipeline.errors import SpscError

        raise SpscError(f"no report language '{lang}'", "--lang", "use one of " + ", ".join(LANGS))
    return lang


def pick(texts: Mapping[str, str], lang: str) -> tuple[str, bool]:
    """A text of a ``{lang: text}`` mapping in ``lang``, and whether it is in that language.

    Serbian in one script serves the other (transliterated); otherwise a missing language
    falls back to English (then the first text given) and the flag is ``False``, so the caller
    can say the translation is missing.
    """
    texts = {k: v for k, v in texts.items() if v}
    if texts.get(lang):
        return texts[lang], True
    if lang == "sr-Latn" and texts.get("sr"):
        return to_latin(texts["sr"]), True
    if lang == "sr" and texts.get("sr-Latn"):
        return to_cyrillic(texts["sr-Latn"]), True
    fallback = texts.get("en") or next(iter(texts.values()), "")
    return fallback, lang == "en" and bool(fallback)


def place_name(latin: str, cyrillic: str | None, lang: str) -> str:
    """A place's name in the language's script: Cyrillic for ``sr``, else the Latin name."""
    return cyrillic if lang == "sr" and cyrillic else latin
