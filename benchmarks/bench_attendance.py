"""Attendance at scale: a million sign-ins into the warehouse vs DuckDB reading the same CSV.

A long register (one CSV, an event column ``ID događaja``) of 1,000,000 sign-ins by about
100,000 people at 20,000 events, and its events list (CSV), are generated with numpy. People
are written the ways sheets write them (Latin, surname first, Cyrillic, without diacritics;
year of birth, full date or age; sex and places in several spellings), with duplicates,
blank rows and rows to quarantine. Then, in the same run:

- reference: DuckDB reads the register as plain CSV into a table (``read_csv``, all text);
- step: ``spsc ingest events`` + ``spsc ingest attendance`` on a fresh warehouse: reading,
  checking every row, person keys (HMAC per distinct person), name signatures, the load in one
  transaction, the attendance marts, and the review list of uncertain pairs (the linking).

Both are timed interleaved (reference, step, reference, ...; medians of at least 3 runs
each). Goal: the step at most :data:`LIMIT` times the reference (a ratio, not an absolute
time: the machine's speed cancels out). Prints the phases of the last run, the ratio and the
peak memory; exits non-zero when the ratio misses its goal.

    .venv/bin/python benchmarks/bench_attendance.py [--signins 1000000] [--people 100000]
        [--events 20000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import check, finish, interleaved, peak_rss_mb

from pipeline.config import get_settings
from pipeline.reference import municipalities
from pipeline.reference.names import to_cyrillic
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.names import FIRST_NAMES, SURNAMES, TRADITIONS, strip_diacritics

LIMIT = 60.0  # ingest + registry + marts <= 60x DuckDB reading the same CSV as text
HEADER = [
    "R.br.",
    "ID događaja",
    "Ime i prezime",
    "Godina rođenja",
    "Spol",
    "Mjesto prebivališta",
    "Uloga",
    "Kontakt telefon",
    "Potpis",
]
EVENT_TYPES = np.array(
    [
        "citizen_dialogue",
        "youth_exchange",
        "youth_camp",
        "critical_thinking_club",
        "mental_health_training",
        "service_provider_training",
    ]
)


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def make_register(
    folder: Path, n_signins: int, n_people: int, n_events: int, seed: int = 7
) -> dict:
    """Write ``events.csv`` and ``register.csv``; returns what was planted."""
    rng = np.random.default_rng(seed)
    munis = municipalities().set_index("muni_id")
    project = np.array(PROJECT_MUNICIPALITIES)

    # events: dates over two years, a host, one in five joint with a second municipality
    start = date(2023, 3, 1)
    days = rng.integers(0, 670, n_events)
    event_dates = np.array([(start + timedelta(days=int(d))).strftime("%d.%m.%Y") for d in days])
    host = rng.integers(0, len(project), n_events)
    other = (host + rng.integers(1, len(project), n_events)) % len(project)
    joint = rng.random(n_events) < 0.2
    names = munis.loc[project, "name"].to_numpy()
    where = np.where(
        joint,
        np.char.add(np.char.add(names[host].astype(str), "; "), names[other].astype(str)),
        names[host].astype(str),
    )
    event_ids = np.char.add("EV-", np.char.zfill(np.arange(1, n_events + 1).astype(str), 5))
    _write_csv(
        folder / "events.csv",
        {
            "event_id": event_ids,
            "date": event_dates,
            "municipality": where,
            "event_type": EVENT_TYPES[rng.integers(0, len(EVENT_TYPES), n_events)],
            "organiser": np.full(n_events, "UNDP"),
            "title": np.char.add("Aktivnost ", event_ids),
        },
    )

    # people: a name of a tradition, a birth date, a municipality; (name, year, place) unique
    people: dict[tuple, tuple] = {}
    while len(people) < n_people:
        trad = TRADITIONS[int(rng.integers(3))]
        sex = "female" if rng.random() < 0.52 else "male"
        first = FIRST_NAMES[trad][sex][int(rng.integers(len(FIRST_NAMES[trad][sex])))]
        last = SURNAMES[trad][int(rng.integers(len(SURNAMES[trad])))]
        born = date(1950, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 58)))
        muni = project[int(rng.integers(len(project)))]
        people.setdefault((first, last, born.year, muni), (sex, born))
    keys = list(people)
    latin = np.array([f"{f} {s}" for f, s, _, _ in keys], dtype=object)
    spellings = np.stack(
        [
            latin,
            np.array([f"{s} {f}" for f, s, _, _ in keys], dtype=object),
            np.array([to_cyrillic(n) for n in latin], dtype=object),
            np.array([strip_diacritics(n) for n in latin], dtype=object),
        ],
        axis=1,
    )
    sexes = np.array([people[k][0] for k in keys])
    born = [people[k][1] for k in keys]
    years = np.array([b.year for b in born])
    full_dates = np.array([b.strftime("%d.%m.%Y") for b in born], dtype=object)
    homes = np.array([k[3] for k in keys])

    # sign-ins: active people come back often
    weight = rng.gamma(0.8, 1.0, len(keys)) + 0.05
    who = rng.choice(len(keys), size=n_signins, p=weight / weight.sum())
    ev = rng.integers(0, n_events, n_signins)
    variant = rng.choice(4, size=n_signins, p=[0.90, 0.04, 0.04, 0.02])
    name = spellings[who, variant]
    form = rng.random(n_signins)
    birth = years[who].astype(str).astype(object)
    birth[form > 0.97] = full_dates[who][form > 0.97]
    sex_words = {"male": np.array(["M", "muško", "М"]), "female": np.array(["Ž", "žensko", "Ж"])}
    style = rng.integers(0, 3, n_signins)
    sex = np.where(sexes[who] == "male", sex_words["male"][style], sex_words["female"][style])
    place = np.where(
        variant == 2,
        munis.loc[homes[who], "name_cyr"].to_numpy(),
        munis.loc[homes[who], "name"].to_numpy(),
    ).astype(object)
    roles = np.array(["mladi", "učenik", "građanin", "stručnjak", "OCD"])[
        rng.integers(0, 5, n_signins)
    ]
    phone = np.char.add("061 ", rng.integers(100_000, 999_999, n_signins).astype(str))

    # dirt: impossible years, unknown places, a few duplicate rows, blank rows
    bad_year = rng.random(n_signins) < 0.002
    birth[bad_year] = "1890"
    bad_place = rng.random(n_signins) < 0.001
    place[bad_place] = "Atlantida"
    dup = rng.random(n_signins) < 0.01
    order = np.concatenate([np.arange(n_signins), np.flatnonzero(dup)])
    order.sort(kind="stable")
    blank = rng.random(len(order)) < 0.005
    cols = {
        "R.br.": np.arange(1, len(order) + 1).astype(str).astype(object),
        "ID događaja": event_ids[ev][order].astype(object),
        "Ime i prezime": name[order],
        "Godina rođenja": birth[order],
        "Spol": sex[order].astype(object),
        "Mjesto prebivališta": place[order],
        "Uloga": roles[order].astype(object),
        "Kontakt telefon": phone[order].astype(object),
        "Potpis": np.full(len(order), None, dtype=object),
    }
    for k in cols:
        if k != "R.br.":
            cols[k] = cols[k].copy()
            cols[k][blank] = None
    _write_csv(folder / "register.csv", cols)
    return {"rows": len(order), "people": len(keys), "events": n_events, "blank": int(blank.sum())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()

    import duckdb

    from pipeline.ingest.attendance.events import load_events
    from pipeline.ingest.attendance.load import load_register
    from pipeline.ingest.attendance.models import build_attendance_marts
    from pipeline.registry.review import review_pairs
    from pipeline.warehouse import connect, transaction
    from pipeline.warehouse.setup import bound_secret, init_warehouse

    with tempfile.TemporaryDirectory(prefix="bench_attendance_") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        planted = make_register(folder, args.signins, args.people, args.events)
        size = (folder / "register.csv").stat().st_size / 1e6
        print(
            f"register.csv: {planted['rows']:,} rows ({planted['blank']:,} blank),"
            f" {planted['people']:,} people, {planted['events']:,} events, {size:.0f} MB;"
            f" generated in {time.perf_counter() - t0:.1f} s"
        )

        def duckdb_read() -> None:
            con = duckdb.connect()
            con.execute(
                "create table r as select * from read_csv(?, all_varchar = true)",
                [str(folder / "register.csv")],
            )
            con.close()

        home = folder / "home"
        phases: dict[str, float] = {}

        def fresh() -> None:
            shutil.rmtree(home, ignore_errors=True)

        def ingest() -> None:
            settings = get_settings(home=home)
            clock = time.perf_counter()

            def lap(name: str) -> None:
                nonlocal clock
                now = time.perf_counter()
                phases[name] = now - clock
                clock = now

            init_warehouse(settings)
            con = connect(settings.db)
            try:
                load_events(con, folder / "events.csv")
                lap("init + events list")
                result = load_register(con, folder / "register.csv", bound_secret(settings, con))
                lap("sign-ins: read, check, keys, signatures, load")
                with transaction(con):
                    counts = build_attendance_marts(con, settings)
                lap("attendance marts")
                pairs = review_pairs(con, settings)
                lap("review pairs (linking)")
            finally:
                con.close()
            phases["_result"] = (result, counts, len(pairs))

        reference, step = interleaved(
            ("DuckDB read_csv of the register (all text)", duckdb_read),
            ("spsc ingest events + attendance, marts, review pairs", ingest), setup=fresh,
            report=lambda i, r, s: print(f"run {i + 1}: read_csv {r:.2f} s, ingest {s:.2f} s",
                                         flush=True))
        result, counts, n_pairs = phases.pop("_result")
        for name, seconds in phases.items():
            print(f"  {name}: {seconds:.2f} s")
        print(f"  {result.summary()}")
        print(
            f"  participants {counts['participants']:,}, attendances {counts['attendances']:,},"
            f" events {counts['events']:,}, ties rows {counts['cross_entity_ties']:,},"
            f" pairs to review {n_pairs:,}"
        )
        print(f"  peak memory {peak_rss_mb():.0f} MB")
        check("attendance", step, reference, LIMIT,
              note=f"{planted['rows']:,} sign-ins, {planted['people']:,} people")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
