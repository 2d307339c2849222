"""The string catalogues (pipeline/lang/*.yml), Serbian in both scripts, the languages of a
project's reports, and the words each language uses.

A native reader cannot check the translations here; what is checked is what a reviewer would
otherwise have to: every key in every language, the same ``{placeholders}``, Serbian in
Cyrillic, ijekavian forms and each language's word for municipality and cooperation.
"""

from __future__ import annotations

import re
import string

import pytest
import yaml

from pipeline.errors import SpscError
from pipeline.lang import (
    CATALOGUES,
    FOLDER,
    LANGS,
    catalogue,
    check_lang,
    pick,
    t,
    to_cyrillic,
    to_latin,
)
from pipeline.reports import narrative
from pipeline.reports.text import number, suppressed_text

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN_WORD = re.compile(r"[A-Za-z_čćžšđČĆŽŠĐ]{2,}")


def _fields(text: str) -> set[str]:
    # the maps' {project_} / {_project} are one name, the space on the side the language needs
    return {f.strip("_") for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def _keys(lang: str) -> set[str]:
    """The keys as written in the file (read here, not through the loader)."""
    def flat(tree, prefix=""):
        for k, v in tree.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    with open(FOLDER / f"{lang}.yml", encoding="utf-8") as handle:
        return set(flat(yaml.safe_load(handle)))


def test_every_key_exists_in_every_language():
    english = _keys("en")
    assert len(english) > 200
    for lang in CATALOGUES:
        keys = _keys(lang)
        assert keys == english, (lang, sorted(english - keys), sorted(keys - english))
        texts = catalogue(lang)
        assert all(str(v).strip() for v in texts.values()), lang
        for key, text in texts.items():  # the code fills the same names in every language
            assert _fields(text) == _fields(catalogue("en")[key]), (lang, key)


def test_serbian_is_cyrillic_and_latin_is_its_transliteration():
    sr, latn = catalogue("sr"), catalogue("sr-Latn")
    # Latin words left in the Serbian catalogue: only names and codes a reader sees as such
    allowed = {"IEBL", "spsc", "pipeline", "commit", "sha", "indicators", "yml", "indicator_values", "clean", "status",
               "cross_entity_ties", "geoBoundaries", "Runfola", "et", "al", "CC", "BY", "project_"}
    for key, text in sr.items():
        plain = re.sub(r"\{[^}]*\}", "", text)
        words = set(LATIN_WORD.findall(plain)) - allowed
        assert not words, (key, text)
    assert sr["val_RS"] == "Република Српска" and sr["val_FBiH"] == "Федерација БиХ"
    assert latn["val_RS"] == "Republika Srpska" and latn["title_profile"] == "Profil opštine: {municipality}, {period}"
    assert set(latn) == set(sr) and not any(CYRILLIC.search(v) for v in latn.values())


def test_transliteration_both_ways():
    assert to_cyrillic("Mrkonjić Grad") == "Мркоњић Град"
    assert to_cyrillic("Ljubinje, Njegoš, Džep, đak") == "Љубиње, Његош, Џеп, ђак"
    assert to_cyrillic("{subj} u opštini {place}: IEBL") == "{subj} у општини {place}: IEBL"
    assert to_latin("Мркоњић Град, ЉУБИЊЕ, Џеп") == "Mrkonjić Grad, LJUBINJE, Džep"
    assert to_latin("Рибник 2024Q4 {period}") == "Ribnik 2024Q4 {period}"
    from pipeline.reference import municipalities

    ref = municipalities()
    # every municipality's reference Cyrillic name, both ways (an "(RS)" suffix stays Latin)
    for latin, cyrillic in zip(ref["name"], ref["name_cyr"], strict=True):
        assert to_latin(cyrillic) == latin
        if "(RS)" not in latin:
            assert to_cyrillic(latin) == cyrillic


def test_each_language_writes_its_own_words():
    bs, hr, sr = catalogue("bs"), catalogue("hr"), catalogue("sr")
    every = {lang: " ".join(catalogue(lang).values()) for lang in CATALOGUES}
    assert "općin" in every["bs"] and "opštin" not in every["bs"]
    assert "općin" in every["hr"] and "opštin" not in every["hr"]
    assert "општин" in every["sr"] and "опћин" not in every["sr"]
    # ijekavian Serbian (BiH), not ekavian
    for ijekavian, ekavian in (("вриједност", "вредност"), ("промјен", "промен"), ("мјерењ", "мерењ"),
                               ("просјек", "просек")):
        assert ijekavian in every["sr"] and ekavian not in every["sr"]
    # Croatian words, not the Bosnian/Serbian ones
    assert hr["title_project"] == "{project} tromjesečno izvješće {period}" and "izvještaj" not in every["hr"]
    assert (hr["col_indicator"], bs["col_indicator"], sr["col_indicator"]) == ("Pokazatelj", "Indikator", "Индикатор")
    assert (hr["dim_sex"], bs["dim_sex"], sr["dim_sex"]) == ("Spol", "Spol", "Пол")
    assert (hr["col_project"], bs["col_project"]) == ("Projekt", "Projekat")
    # the sentence the donor table notes will carry (issue 13's interval note), everywhere
    assert all(catalogue(lang)["interval_note"].startswith(("95%", "Intervali od 95%", "Интервали од 95%"))
               for lang in LANGS)


def test_sentences_and_numbers_in_croatian_and_serbian():
    assert narrative.change_sentence("Povjerenje u općinsku upravu", "percent", 38, 47, 2.1, True, "hr") == (
        "Povjerenje u općinsku upravu: porast s 38% na 47% (±4), statistički značajna promjena.")
    assert narrative.change_sentence("Повјерење у општинску управу", "percent", 38, 47, 2.1, False, "sr") == (
        "Повјерење у општинску управу: промјена са 38% на 47% (±4) није статистички значајна.")
    assert narrative.comparison_sentence("Udio", "percent", "Рибник", 71.5, 60.0, 80.0, 50.0, "sr") == (
        "Udio у општини Рибник: 72%, више од просјека пројекта (50%).")
    assert narrative.level_sentence("Mladi", "count", 1234, None, None, "cumulative", "sr-Latn",
                                    through="2024Q4") == "Mladi do 2024Q4 (kumulativno): 1.234."
    assert number(1234.5, "hr", 1) == "1.234,5" and number(1234.5, "sr", 1) == "1.234,5"
    assert suppressed_text("sr", 10) == "n < 10 (није објављено)"
    assert t("title_profile", "sr", municipality="Рибник", period="2024Q4") == "Профил општине: Рибник, 2024Q4"
    assert check_lang("sr-Latn") == "sr-Latn"
    with pytest.raises(SpscError, match="no report language 'sr-Cyrl'"):
        check_lang("sr-Cyrl")


def test_labels_fall_back_to_english_and_serbian_serves_both_scripts():
    from pipeline.project.config import Text

    label = Text.model_validate({"en": "Trust", "bs": "Povjerenje", "sr": "Повјерење"})
    assert (label.get("sr"), label.get("sr-Latn"), label.get("hr")) == ("Повјерење", "Povjerenje", "Trust")
    assert label.has("sr-Latn") and not label.has("hr")
    latin_only = Text.model_validate({"en": "Trust", "sr-Latn": "Povjerenje"})
    assert latin_only.get("sr") == "Повјерење" and latin_only.has("sr")
    assert pick({"en": "x"}, "hr") == ("x", False) and pick({"en": "x"}, "en") == ("x", True)
    assert Text.model_validate("UNDP").has("hr")  # a plain string is the same in every language


def test_profile_languages_in_the_project_settings():
    from pipeline.project import load_project
    from pipeline.project.config import ProjectError, parse_config

    example = load_project(FOLDER.parents[1] / "examples" / "spsc").config
    assert {m: example.profile_language(m) for m in ("livno", "ribnik", "mrkonjic_grad", "drvar", "kljuc")} == {
        "livno": "hr", "ribnik": "sr", "mrkonjic_grad": "sr", "drvar": "bs", "kljuc": "bs"}
    base = "name: X\nshort_name: X\nstart: 2024-01-01\nend: 2024-12-31\narea: [Drvar, Рибник]\n"
    config, _ = parse_config(base + "profile_languages: {ribnik: sr-Latn}\n")
    assert (config.profile_language("ribnik"), config.profile_language("drvar")) == ("sr-Latn", "en")
    with pytest.raises(ProjectError, match=r"field 'profile_languages.Livno': not a municipality of the project"):
        parse_config(base + "profile_languages: {Livno: hr}\n")
    with pytest.raises(ProjectError, match=r"field 'profile_languages': languages are en, bs, hr, sr, sr-Latn \(Drvar: de\)"):
        parse_config(base + "profile_languages: {Drvar: de}\n")
    with pytest.raises(ProjectError, match="field 'languages'"):
        parse_config(base + "languages: [en, fr]\n")
    # a city is titled and written about as one ("Grad Livno"): the example's Livno
    assert example.cities == ["livno"]
    with pytest.raises(ProjectError, match=r"field 'cities.Livno': not a municipality of the project"):
        parse_config(base + "cities: [Livno]\n")
    assert narrative.comparison_sentence("Povjerenje", "percent", "Livno", 26, 20, 33, 47, "hr", city=True) == (
        "Povjerenje u gradu Livno: 26%, niže od prosjeka projekta (47%).")
    assert t("title_profile_city", "hr", municipality="Livno", period="2024Q4") == "Profil grada: Livno, 2024Q4"


def test_the_chart_and_map_font_draws_every_character_of_every_catalogue():
    """matplotlib's font (DejaVu Sans, the one the charts and maps resolve) has a glyph for
    every character the catalogues and the municipality names use, so none is drawn as a box."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from pipeline.reference import municipalities

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False)
    assert "DejaVuSans" in path
    font = FT2Font(path)
    ref = municipalities()
    chars = set("".join(v for lang in LANGS for v in catalogue(lang).values()))
    chars |= set("".join(ref["name"]) + "".join(ref["name_cyr"]))
    assert {"њ", "ћ", "Љ", "č", "ć", "ž", "š", "đ", "Š", "Ž"} <= chars
    # and every letter of both Serbian alphabets, for labels indicators.yml may bring
    chars |= set("абвгдђежзијклљмнњопрстћуфхцчџшčćžšđ") | set("АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШČĆŽŠĐ")
    missing = sorted(c for c in chars if c.isprintable() and not c.isspace() and font.get_char_index(ord(c)) == 0)
    assert missing == []
