"""The words of the reports in English and Bosnian, and numbers written the way each reads them.

Every heading, column name and note a report prints comes from :data:`TEXT`, so a report in
Bosnian has no English left in it. Numbers follow the language: ``47.2%`` and ``1,234`` in
English, ``47,2%`` and ``1.234`` in Bosnian.
"""

from __future__ import annotations

import math

LANGS = ("en", "bs")

TEXT: dict[str, dict[str, str]] = {
    "title_project": {"en": "{project} quarterly report {period}",
                      "bs": "{project} kvartalni izvještaj {period}"},
    "title_quarterly_muni": {"en": "{project} quarterly report {period}: {municipality}",
                             "bs": "{project} kvartalni izvještaj {period}: {municipality}"},
    "title_profile": {"en": "Municipality profile: {municipality}, {period}",
                      "bs": "Profil općine: {municipality}, {period}"},
    "deck_title": {"en": "{project} quarterly results", "bs": "{project} kvartalni rezultati"},
    "headline": {"en": "Headline figures", "bs": "Ključni pokazatelji"},
    "donor_table": {"en": "Results framework indicators", "bs": "Indikatori okvira rezultata"},
    "result": {"en": "Result {result}: {label}", "bs": "Rezultat {result}: {label}"},
    "result_other": {"en": "Other indicators", "bs": "Ostali indikatori"},
    "change": {"en": "Change since baseline", "bs": "Promjena od početnog mjerenja"},
    "youth": {"en": "Participation and youth engagement", "bs": "Učešće i uključenost mladih"},
    "activities": {"en": "Activities held this quarter", "bs": "Aktivnosti održane u ovom kvartalu"},
    "maps": {"en": "Maps", "bs": "Karte"},
    "data_quality": {"en": "Data quality", "bs": "Kvalitet podataka"},
    "provenance": {"en": "How this report was made", "bs": "Kako je izvještaj napravljen"},
    "comparison": {"en": "{municipality} against the project average",
                   "bs": "{municipality} u odnosu na prosjek projekta"},
    # column names
    "col_indicator": {"en": "Indicator", "bs": "Indikator"},
    "col_result": {"en": "Result", "bs": "Rezultat"},
    "col_unit": {"en": "Unit", "bs": "Jedinica"},
    "col_baseline": {"en": "Baseline", "bs": "Početna vrijednost"},
    "col_value": {"en": "Value", "bs": "Vrijednost"},
    "col_period": {"en": "Period", "bs": "Period"},
    "col_date": {"en": "Date", "bs": "Datum"},
    "col_status": {"en": "Status", "bs": "Status"},
    "col_ci": {"en": "95% CI", "bs": "95% IP"},
    "col_milestone": {"en": "Milestone", "bs": "Međucilj"},
    "col_target": {"en": "Target", "bs": "Cilj"},
    "col_progress": {"en": "Progress to target", "bs": "Napredak prema cilju"},
    "col_group": {"en": "Group", "bs": "Grupa"},
    "col_dimension": {"en": "Breakdown", "bs": "Razvrstavanje"},
    "col_latest": {"en": "Latest", "bs": "Posljednja vrijednost"},
    "col_change": {"en": "Change", "bs": "Promjena"},
    "col_significant": {"en": "Significant (95%)", "bs": "Značajno (95%)"},
    "col_project": {"en": "Project", "bs": "Projekat"},
    "col_event_type": {"en": "Activity", "bs": "Aktivnost"},
    "col_municipality": {"en": "Municipality", "bs": "Općina"},
    "col_events": {"en": "Activities", "bs": "Aktivnosti"},
    "col_inter_entity": {"en": "Inter-entity", "bs": "Međuentitetske"},
    "col_reason": {"en": "Reason", "bs": "Razlog"},
    "col_rule": {"en": "Rule", "bs": "Pravilo"},
    "col_rows": {"en": "Cells quarantined", "bs": "Izdvojene ćelije"},
    "col_file": {"en": "File", "bs": "Datoteka"},
    "col_sha256": {"en": "sha256", "bs": "sha256"},
    "col_kind": {"en": "Kind", "bs": "Vrsta"},
    "col_muni_a": {"en": "Municipality A", "bs": "Općina A"},
    "col_muni_b": {"en": "Municipality B", "bs": "Općina B"},
    "col_ties": {"en": "Ties", "bs": "Veze"},
    "yes": {"en": "yes", "bs": "da"},
    "no": {"en": "no", "bs": "ne"},
    # dimensions and their values
    "dim_total": {"en": "Total", "bs": "Ukupno"},
    "dim_sex": {"en": "Sex", "bs": "Spol"},
    "dim_age_group": {"en": "Age group", "bs": "Starosna grupa"},
    "dim_municipality": {"en": "Municipality", "bs": "Općina"},
    "dim_entity": {"en": "Entity", "bs": "Entitet"},
    "val_total": {"en": "Total", "bs": "Ukupno"},
    "val_female": {"en": "Women", "bs": "Žene"},
    "val_male": {"en": "Men", "bs": "Muškarci"},
    "val_FBiH": {"en": "Federation of BiH", "bs": "Federacija BiH"},
    "val_RS": {"en": "Republika Srpska", "bs": "Republika Srpska"},
    "val_BD": {"en": "Brčko District", "bs": "Brčko distrikt"},
    "val_cumulative": {"en": "cumulative", "bs": "kumulativno"},
    "cumulative_to": {"en": "cumulative to {period}", "bs": "kumulativno do {period}"},
    # units
    "unit_percent": {"en": "%", "bs": "%"},
    "unit_mean": {"en": "mean", "bs": "prosjek"},
    "unit_count": {"en": "number", "bs": "broj"},
    "axis_percent": {"en": "Share of respondents (%)", "bs": "Udio ispitanika (%)"},
    "axis_percent_events": {"en": "Share (%)", "bs": "Udio (%)"},
    "axis_mean": {"en": "Mean", "bs": "Prosjek"},
    "axis_count": {"en": "Number", "bs": "Broj"},
    "axis_people": {"en": "People", "bs": "Osobe"},
    "axis_events": {"en": "Activities", "bs": "Aktivnosti"},
    "ci_note": {"en": "Bars: 95% confidence intervals.", "bs": "Linije: intervali pouzdanosti 95%."},
    "baseline_label": {"en": "Baseline {period}", "bs": "Početno {period}"},
    "latest_label": {"en": "Latest {period}", "bs": "Posljednje {period}"},
    "project_average": {"en": "Project average", "bs": "Prosjek projekta"},
    "project_total": {"en": "Project total", "bs": "Ukupno u projektu"},
    # notes
    "suppressed_note": {"en": "Cells built from fewer than {min_cell} people are not published "
                              "(shown as \"n < {min_cell}\").",
                        "bs": "Ćelije zasnovane na manje od {min_cell} osoba se ne objavljuju "
                              "(prikazane kao \"n < {min_cell} (potisnuto)\")."},
    "survey_wave_note": {"en": "Survey indicators show the latest survey wave up to {period} ({wave}).",
                         "bs": "Indikatori iz istraživanja prikazuju posljednji talas istraživanja "
                               "do {period} ({wave})."},
    "cumulative_note": {"en": "Activity indicators are cumulative since the start of the project, "
                              "up to {period}, where the results framework counts them that way.",
                        "bs": "Indikatori aktivnosti su kumulativni od početka projekta do {period}, "
                              "gdje ih okvir rezultata tako broji."},
    "no_changes": {"en": "No survey wave after the baseline up to {period}.",
                   "bs": "Nema talasa istraživanja nakon početnog do {period}."},
    "no_events": {"en": "No activities were recorded in {period}.",
                  "bs": "U periodu {period} nije evidentirana nijedna aktivnost."},
    "no_quarantine": {"en": "No rows were quarantined in the files of {period}.",
                      "bs": "U datotekama za {period} nijedan red nije izdvojen."},
    "quarantine_summary": {"en": "{cells} cells in {files} files of {period} were quarantined "
                                 "(not loaded); their reasons:",
                           "bs": "{cells} ćelija u {files} datoteka za {period} je izdvojeno "
                                 "(nije učitano); razlozi:"},
    "cleaning_applied": {"en": "Cleaning logs: {applied} decisions applied to the survey answers "
                                 "({removed} interviews removed, {changed} answers changed or emptied, "
                                 "{confirmed} confirmed as they are), {not_applied} not applied "
                                 "('spsc clean status'); the logs are named under \"How this report was made\".",
                         "bs": "Dnevnici čišćenja podataka: primijenjeno odluka {applied} "
                               "(uklonjeno intervjua {removed}, izmijenjeno ili ispražnjeno odgovora {changed}, "
                               "potvrđeno {confirmed}), nije primijenjeno {not_applied} ('spsc clean status'); "
                               "dnevnici su navedeni pod \"Kako je izvještaj napravljen\"."},
    "no_cleaning": {"en": "No cleaning log was applied to the survey answers.",
                    "bs": "Na odgovore iz istraživanja nije primijenjen nijedan dnevnik čišćenja podataka."},
    "prov_cleaning": {"en": "Cleaning log {file} (sha256 {sha}): {applied} of {decisions} decisions applied.",
                      "bs": "Dnevnik čišćenja {file} (sha256 {sha}): primijenjeno {applied} od {decisions} odluka."},
    "quarantine_project_wide": {"en": "Data-quality notes cover the whole project.",
                                "bs": "Napomene o kvalitetu podataka odnose se na cijeli projekat."},
    "maps_unavailable": {"en": "Maps are not available: {reason}",
                         "bs": "Karte nisu dostupne: {reason}"},
    "ties_intro": {"en": "Pairs of municipalities whose young people met across the entity line "
                         "in {period}:",
                   "bs": "Parovi općina čiji su se mladi susreli preko entitetske linije u {period}:"},
    "no_ties": {"en": "No cross-entity ties in {period}.",
                "bs": "Nema međuentitetskih veza u {period}."},
    # provenance
    "prov_made": {"en": "Made on {when} by spsc-pipeline {version} (commit {commit}).",
                  "bs": "Napravljeno {when}, spsc-pipeline {version} (commit {commit})."},
    "prov_warehouse": {"en": "Warehouse: {path} (schema version {schema}).",
                       "bs": "Skladište podataka: {path} (verzija sheme {schema})."},
    "prov_parameters": {"en": "Parameters: {parameters}.", "bs": "Parametri: {parameters}."},
    "prov_copy": {"en": "Read from the warehouse's published copy of {when}: {batches}; {build}.",
                  "bs": "Pročitano iz objavljene kopije skladišta podataka od {when}: {batches};"
                        " {build}."},
    "prov_copy_batches": {"en": "{n} load batches ({ids})", "bs": "paketi učitavanja: {n} ({ids})"},
    "prov_copy_no_batches": {"en": "no load batches", "bs": "nema paketa učitavanja"},
    "prov_copy_build": {"en": "indicators built {when}", "bs": "indikatori izračunati {when}"},
    "prov_copy_no_build": {"en": "indicators not built yet", "bs": "indikatori još nisu izračunati"},
    "prov_copy_writer": {"en": "While this report was made, {writer} was writing the warehouse;"
                               " that work is not in these numbers.",
                         "bs": "Dok je ovaj izvještaj nastajao, {writer} je upisivao podatke u"
                               " skladište; taj rad nije uključen u ove brojeve."},
    "prov_copy_newer": {"en": "A newer copy was published {when}; these numbers are from the"
                              " older one.",
                        "bs": "Novija kopija objavljena je {when}; ovi brojevi potiču iz starije."},
    "prov_copy_unpublished": {"en": "The warehouse held newer work that was not yet published;"
                                    " it is not in these numbers.",
                              "bs": "Skladište je sadržavalo noviji rad koji još nije bio"
                                    " objavljen; nije uključen u ove brojeve."},
    "prov_batches": {"en": "The numbers come from these loaded files:",
                     "bs": "Brojevi potiču iz ovih učitanih datoteka:"},
    "prov_no_batches": {"en": "No load batches are recorded behind these numbers.",
                        "bs": "Iza ovih brojeva nije evidentirana nijedna učitana datoteka."},
    # index page
    "index_title": {"en": "{project} reports {period}", "bs": "{project} izvještaji {period}"},
    "status_ok": {"en": "ok", "bs": "uspješno"},
    "status_failed": {"en": "failed", "bs": "neuspješno"},
}


def t(key: str, lang: str, **values) -> str:
    """The text ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    return TEXT[key][lang].format(**values) if values else TEXT[key][lang]


def check_lang(lang: str) -> str:
    """``lang`` if it is one the reports are written in, else a one-line error."""
    if lang not in LANGS:
        from pipeline.errors import SpscError

        raise SpscError(f"no report language '{lang}'", "--lang", "use en or bs")
    return lang


def suppressed_text(lang: str, min_cell: int = 10) -> str:
    """How a suppressed cell is shown: ``n < 10`` or ``n < 10 (potisnuto)``."""
    return f"n < {min_cell}" if lang == "en" else f"n < {min_cell} (potisnuto)"


def _group(digits: str, sep: str) -> str:
    head, rest = digits[: len(digits) % 3 or 3], digits[len(digits) % 3 or 3:]
    return sep.join([head, *(rest[i:i + 3] for i in range(0, len(rest), 3))])


def number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """A number with the language's separators: ``1,234.5`` (en) or ``1.234,5`` (bs)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{abs(value):.{decimals}f}"
    whole, _, frac = text.partition(".")
    thousands, point = (",", ".") if lang == "en" else (".", ",")
    out = _group(whole, thousands) + (point + frac if frac else "")
    return ("-" if value < 0 and float(text) != 0 else "") + out


def is_mean(unit: str) -> bool:
    """A mean on its answers' scale (``mean``, ``mean 0-10``)."""
    return str(unit).startswith("mean")


def mean_range(unit: str) -> tuple[float, float] | None:
    """The scale a display unit names (``mean 1-5`` -> ``(1, 5)``), ``None`` when none."""
    _, _, rng = str(unit).partition(" ")
    lo, sep, hi = rng.partition("-")
    try:
        return (float(lo), float(hi)) if sep else None
    except ValueError:
        return None


def scale_words(unit: str, lang: str) -> str:
    """`` on the 0-10 scale`` for a mean with a scale, else nothing."""
    rng = mean_range(unit) if is_mean(unit) else None
    if rng is None:
        return ""
    span = f"{rng[0]:g}-{rng[1]:g}"
    return f" on the {span} scale" if lang == "en" else f" na skali {span}"


def value(estimate: float | None, unit: str, lang: str) -> str:
    """An estimate in its unit: ``47%``, ``5.6`` (a mean) or ``1,234`` (count)."""
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        return ""
    if unit == "percent":
        return number(estimate, lang, 0) + "%"
    if is_mean(unit):
        return number(estimate, lang, 1)
    return number(estimate, lang, 0)


def margin(half_width: float | None, unit: str, lang: str) -> str:
    """A margin of error without its sign: ``4`` points, ``0.3`` on a mean's scale."""
    if half_width is None or (isinstance(half_width, float) and math.isnan(half_width)):
        return ""
    return number(half_width, lang, 0 if unit == "percent" else 1)


def interval(low: float | None, high: float | None, unit: str, lang: str) -> str:
    """A confidence interval: ``43-51%`` (empty for counts, which have none)."""
    if low is None or high is None or any(isinstance(x, float) and math.isnan(x) for x in (low, high)):
        return ""
    decimals = 0 if unit == "percent" else 1
    tail = "%" if unit == "percent" else ""
    return f"{number(low, lang, decimals)}–{number(high, lang, decimals)}{tail}"
