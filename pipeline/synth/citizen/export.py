"""The citizen survey as Kobo exports it, with the dirt of real fieldwork.

Misspelt municipalities, planted dirt (out-of-range ages, a category not in the form), and
the export's columns and table (one row per Kobo submission).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.reference import municipalities
from pipeline.reference.names import normaliser
from pipeline.synth import kobo
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.attendance import RESIDENCE_VARIANTS, count_dirt
from pipeline.synth.citizen.population import Frame
from pipeline.synth.names import FIRST_NAMES, PHONE_PREFIXES, SURNAMES, TRADITIONS
from pipeline.synth.xlsforms import (
    CONTACT_CHOICES,
    DISPLACEMENT,
    EDUCATION,
    EMPLOYMENT,
    TRUST_ITEMS,
)

MISSPELT = {  # typed names the normaliser must refuse (checked in tests)
    "bosansko_grahovo": "Bosansko Grahvo", "bosanski_petrovac": "Petrovac", "drvar": "Drvra",
    "glamoc": "Glamos", "kljuc": "Kljić", "livno": "Livnno", "sanski_most": "Sanksi Most",
    "mrkonjic_grad": "Mrkonjič Gard", "ribnik": "Ribnk",
}
SURVEY_DIRT = {  # kind: share of the dirt budget (dirty x consented submissions)
    "municipality_cyrillic": 0.10, "municipality_variant": 0.10, "municipality_misspelt": 0.10,
    "age_out_of_range": 0.15, "choice_not_in_form": 0.20, "duplicate_submission": 0.25,
    "edited_submission": 0.10,
}
OUT_OF_RANGE_AGES = np.array([0, 7, 15, 16, 17, 99, 104, 117, 199])
NOT_IN_FORM_EDUCATION = "vocational"  # a choice of an older form version


# --- dirt -------------------------------------------------------------------------------

def spell_municipalities() -> list[str]:
    """What ``location/municipality`` can hold: the ids, then per municipality its Cyrillic
    name, a resolvable variant and a misspelling the normaliser refuses."""
    m = municipalities().set_index("muni_id")
    texts = list(PROJECT_MUNICIPALITIES)
    for mid in PROJECT_MUNICIPALITIES:
        texts += [m.loc[mid, "name_cyr"], RESIDENCE_VARIANTS[mid][0], MISSPELT[mid]]
    return texts


def plant_dirt(rng: np.random.Generator, rows: dict[str, np.ndarray], dirty: float) -> tuple[dict, dict[str, int]]:
    """Dirty copies and cells, on consented submissions only; returns new rows and counts.

    Duplicates repeat a submission unchanged (same ``_uuid`` and times). An edited submission
    appears twice with the same ``_uuid``: the later one carries the true answers, the earlier
    one a different trust answer.
    """
    consented = np.flatnonzero(rows["consent"])
    counts = count_dirt(len(consented), dirty, SURVEY_DIRT)
    perm = rng.permutation(consented)
    picked, pos = {}, 0
    for k, c in counts.items():
        picked[k] = np.sort(perm[pos: pos + c])
        pos += c
    n = len(rows["muni"])
    rows["muni_text"] = rows["muni"].astype(np.int16)
    for j, k in enumerate(("municipality_cyrillic", "municipality_variant", "municipality_misspelt")):
        r = picked[k]
        rows["muni_text"][r] = len(PROJECT_MUNICIPALITIES) + rows["muni"][r].astype(np.int16) * 3 + j
    r = picked["age_out_of_range"]
    rows["age"][r] = OUT_OF_RANGE_AGES[rng.integers(0, len(OUT_OF_RANGE_AGES), len(r))]
    rows["education"][picked["choice_not_in_form"]] = len(EDUCATION)
    dup, edit = picked["duplicate_submission"], picked["edited_submission"]
    idx = np.concatenate([np.arange(n), dup, edit])
    copy = np.concatenate([np.zeros(n, np.int8), np.ones(len(dup) + len(edit), np.int8)])
    out = {k: v[idx].copy() for k, v in rows.items()}
    later = n + len(dup) + np.arange(len(edit))
    out["submitted_s"][later] += rng.integers(3600, 10 * 86_400, len(edit))
    item = rng.integers(0, len(TRUST_ITEMS), len(edit))
    for e, k in zip(edit, item, strict=True):
        col = out[TRUST_ITEMS[k]]
        col[e] = (int(col[e]) + int(rng.integers(1, 11))) % 11
    order = np.lexsort((copy, idx, out["submitted_s"]))
    return {k: v[order] for k, v in out.items()}, counts


def misspelt_rows(rows: dict[str, np.ndarray]) -> np.ndarray:
    """Rows whose municipality carries a planted misspelling (the normaliser refuses them)."""
    text = rows["muni_text"].astype(np.int64) - len(PROJECT_MUNICIPALITIES)
    return (text >= 0) & (text % 3 == 2)


# --- the export -------------------------------------------------------------------------

_CONSENT_GATED = ("demographics/", "trust/", "governance/", "cohesion/", "contact/")
_INT_COLUMNS = {"demographics/age", *(f"trust/{k}" for k in TRUST_ITEMS), "cohesion/trust_other_entity",
                *(f"cohesion/contact_willing/{c}" for c in CONTACT_CHOICES), "_id", "_index"}


def export_columns(rows: dict[str, np.ndarray], frames: list[Frame], headers: list[str],
                   uuid_text: pa.Array, version: str, first_id: int) -> dict[str, pa.Array]:
    """The export's columns in header order, before skipped cells are written."""
    n = len(rows["muni"])

    def take(values: list[str], codes: np.ndarray) -> pa.Array:
        return pa.array(values, pa.string()).take(pa.array(codes.astype(np.int64)))

    settlements = [s for fr in frames for s in fr.settlements]
    psus = [c for fr in frames for c in fr.psu_codes]
    uid = uuid_text.take(pa.array(rows["uuid_row"]))
    contact = rows["contact"]
    combo_codes = (contact.astype(np.int64) * (1 << np.arange(5))).sum(axis=1)
    combos = [" ".join(c for j, c in enumerate(CONTACT_CHOICES) if code >> j & 1) for code in range(32)]
    first_pool = [x for t in TRADITIONS for s in ("male", "female") for x in FIRST_NAMES[t][s]]
    last_pool = [x for t in TRADITIONS for x in SURNAMES[t]]
    names = pc.binary_join_element_wise(take(first_pool, rows["first_name"]), take(last_pool, rows["last_name"]), " ")
    pre = take([*PHONE_PREFIXES["FBiH"], *PHONE_PREFIXES["RS"]], rows["phone_prefix"])
    digits = pc.utf8_lpad(pa.array(rows["phone_digits"]).cast(pa.string()), 6, "0")
    d1, d2 = pc.utf8_slice_codeunits(digits, 0, 3), pc.utf8_slice_codeunits(digits, 3, 6)
    styles = [pc.binary_join_element_wise(pre, d1, d2, " "),
              pc.binary_join_element_wise(pc.binary_join_element_wise(pre, d1, "/"), d2, "-"),
              pc.binary_join_element_wise("+387", pc.utf8_slice_codeunits(pre, 1, 3), d1, d2, " "),
              pc.binary_join_element_wise(pre, d1, d2, "")]
    phone = pc.choose(pa.array(rows["phone_style"]), *styles)
    phone = pc.if_else(pa.array(rows["phone_given"]), phone, pa.nulls(n, pa.string()))
    def ints(a: np.ndarray) -> pa.Array:
        return pa.array(a.astype(np.int64))

    def yes_no(a: np.ndarray) -> pa.Array:
        return take(["no", "yes"], a.astype(np.int8))

    cols = {
        "start": kobo.local_timestamps(rows["start_ms"], rows["offset_h"]),
        "end": kobo.local_timestamps(rows["end_ms"], rows["offset_h"]),
        "today": kobo.day_text(rows["start_ms"]),
        "location/municipality": take(spell_municipalities(), rows["muni_text"]),
        "location/settlement": take(settlements, rows["psu"]),
        "location/urban_rural": take(["rural", "urban"], (rows["settlement"] == 0).astype(np.int8)),
        "consent": yes_no(rows["consent"]),
        "demographics/sex": take(["male", "female"], rows["sex"]),
        "demographics/age": ints(rows["age"]),
        "demographics/education": take([*EDUCATION, NOT_IN_FORM_EDUCATION], rows["education"]),
        "demographics/employment": take(list(EMPLOYMENT), rows["employment"]),
        "demographics/displacement": take(list(DISPLACEMENT), rows["displacement"]),
        **{f"trust/{k}": ints(rows[k]) for k in TRUST_ITEMS},
        "governance/views_considered": take(["0", "1", "2", "3", "4", "5"], rows["views_considered"]),
        "governance/satisfaction_social": take(["0", "1", "2", "3", "4", "5"], rows["satisfaction_social"]),
        "governance/dialogue_participation": yes_no(rows["dialogue_participation"]),
        "cohesion/trust_other_entity": ints(rows["trust_other_entity"]),
        "cohesion/contact_willing": take(combos, combo_codes),
        **{f"cohesion/contact_willing/{c}": ints(contact[:, j]) for j, c in enumerate(CONTACT_CHOICES)},
        "contact/phone": phone,
        "contact/respondent_name": names,
        "design/stratum": take(list(PROJECT_MUNICIPALITIES), rows["muni"]),
        "design/psu": take(psus, rows["psu"]),
        "design/weight": pa.array(np.round(rows["weight"], 4)).cast(pa.string()),
        "design/fpc": pa.array(rows["fpc"].astype(np.int64)).cast(pa.string()),
        "design/fpc2": pa.array(rows["fpc2"].astype(np.int64)).cast(pa.string()),
        "meta/instanceID": pc.binary_join_element_wise("uuid:", uid, ""),
        "_id": pa.array(first_id + np.arange(n, dtype=np.int64)),
        "_uuid": uid,
        "_submission_time": kobo.utc_seconds_text(rows["submitted_s"]),
        "_validation_status": pc.if_else(pa.array(rows["approved"]), "validation_status_approved",
                                         pa.nulls(n, pa.string())),
        "_notes": pa.nulls(n, pa.string()),
        "_status": pa.repeat(pa.scalar("submitted_via_web"), n),
        "_submitted_by": take([f"spsc_enum{i + 1:02d}" for i in range(int(rows["enumerator"].max()) + 1)],
                              rows["enumerator"]),
        "__version__": pa.repeat(pa.scalar(version), n),
        "_tags": pa.nulls(n, pa.string()),
        "_index": pa.array(np.arange(1, n + 1, dtype=np.int64)),
    }
    assert list(cols) == headers, "export columns drifted from the form"
    return cols


def export_table(cols: dict[str, pa.Array], consent: np.ndarray, skipped_as: str | None,
                 as_text: bool) -> pa.Table | list[list]:
    """The export with skipped cells filled: a text table (CSV) or Python columns (XLSX)."""
    gated = [h for h in cols if h.startswith(_CONSENT_GATED)]
    skip = pa.array(~consent)
    fill = pa.scalar(skipped_as, pa.string())
    if as_text:
        out = {}
        for h, a in cols.items():
            text = a if pa.types.is_string(a.type) else a.cast(pa.string())
            out[h] = pc.if_else(skip, fill, text) if h in gated else text
        return pa.table(out)
    columns = []
    skipped = np.flatnonzero(~consent)
    for h, a in cols.items():
        values = a.to_pylist()
        if h in gated:
            for i in skipped:
                values[i] = skipped_as
        columns.append(values)
    return columns


def check_texts() -> None:
    """Fail loudly if a planted spelling stops behaving as planted (resolves or refuses)."""
    resolve = normaliser().try_resolve
    texts = spell_municipalities()
    for i, mid in enumerate(PROJECT_MUNICIPALITIES):
        cyr, variant, misspelt = texts[9 + 3 * i: 12 + 3 * i]
        assert resolve(cyr)[0] == mid and resolve(variant)[0] == mid, mid
        assert resolve(misspelt)[0] is None, misspelt
