"""Small-cell suppression: no published cell below the threshold, no count recoverable."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.indicators.suppression import complementary, published, suppress


def table(total: int, dims: dict[str, dict[str, int]], indicator="unique_youth", period="2024Q4"):
    """One count table: the total and each dimension's cells, n = the count (people)."""
    rows = [{"dimension": "total", "dimension_value": "total", "estimate": total}]
    rows += [{"dimension": d, "dimension_value": v, "estimate": x}
             for d, cells in dims.items() for v, x in cells.items()]
    frame = pd.DataFrame(rows)
    frame.insert(0, "period", period)
    frame.insert(0, "indicator_id", indicator)
    frame["estimate"] = frame["estimate"].astype(float)
    frame["n"] = frame["estimate"].astype("int64")
    for col in ("se", "ci_low", "ci_high"):
        frame[col] = np.nan
    return frame


def hidden(frame: pd.DataFrame) -> dict[tuple[str, str], bool]:
    return {(d, v): bool(s) for d, v, s in zip(frame["dimension"], frame["dimension_value"],
                                                frame["suppressed"], strict=True)}


def test_primary_threshold_and_hidden_numbers():
    cells = table(25, {})
    cells = pd.concat([cells, table(9, {}, indicator="share"), table(10, {}, indicator="other")],
                      ignore_index=True)
    cells.loc[cells["indicator_id"] == "share", "se"] = 1.5
    out = suppress(cells, 10, {"unique_youth"})
    assert out["suppressed"].tolist() == [False, True, False]
    share = out[out["indicator_id"] == "share"].iloc[0]
    assert np.isnan(share["estimate"]) and np.isnan(share["se"]) and share["n"] == 9
    assert published(out)["n"].isna().tolist() == [False, True, False]


def test_suppressing_one_sex_forces_the_other():
    out = suppress(table(16, {"sex": {"female": 12, "male": 4}}), 10, {"unique_youth"})
    assert hidden(out) == {("total", "total"): False, ("sex", "female"): True, ("sex", "male"): True}


def test_next_smallest_cell_goes_with_a_lone_suppressed_one():
    muni = {"livno": 30, "drvar": 12, "ribnik": 5, "kljuc": 15}
    out = suppress(table(62, {"municipality": muni}), 10, {"unique_youth"})
    assert {v for (d, v), s in hidden(out).items() if s} == {"ribnik", "drvar"}


def test_two_small_cells_need_no_complement():
    muni = {"livno": 30, "drvar": 12, "ribnik": 5, "kljuc": 3}
    out = suppress(table(50, {"municipality": muni}), 10, {"unique_youth"})
    assert {v for (d, v), s in hidden(out).items() if s} == {"ribnik", "kljuc"}


def test_a_hidden_total_opens_the_other_dimensions():
    # entity is known for 8 people only (all RS): hiding RS leaves it as the total's only
    # unknown partner, so the total goes; then sex would give the total back by addition,
    # so its smallest cell goes too
    out = suppress(table(30, {"entity": {"RS": 8}, "sex": {"female": 12, "male": 18}}), 10,
                   {"unique_youth"})
    assert {k for k, s in hidden(out).items() if s} == {
        ("total", "total"), ("entity", "RS"), ("sex", "female")}


def test_zero_counts_are_published_but_not_zero_shares():
    cells = pd.concat([table(0, {}), table(0, {}, indicator="share")], ignore_index=True)
    out = suppress(cells, 10, {"unique_youth"})
    assert out["suppressed"].tolist() == [False, True]


def test_shares_get_no_complementary_suppression():
    cells = table(16, {"sex": {"female": 12, "male": 4}}, indicator="women_share")
    out = suppress(cells, 10, set())
    assert hidden(out)[("sex", "female")] is False and hidden(out)[("sex", "male")] is True


def recover(frame: pd.DataFrame) -> set[tuple[str, str]]:
    """What an attacker learns by subtraction: solve every equation total = sum(cells) that has
    exactly one unknown, again and again. Returns the suppressed cells they recover."""
    known = {k: not s for k, s in hidden(frame).items()}
    dims = sorted({d for d, _ in known if d != "total"})
    total = ("total", "total")
    learned: set[tuple[str, str]] = set()
    progress = True
    while progress:
        progress = False
        for d in dims:
            members = [k for k in known if k[0] == d] + [total]
            unknown = [k for k in members if not known[k]]
            if len(unknown) == 1:
                known[unknown[0]] = True
                learned.add(unknown[0])
                progress = True
    return learned


@st.composite
def count_tables(draw):
    """A total and 1-3 dimensions, each a random split of the total into 1-6 cells."""
    total = draw(st.integers(min_value=1, max_value=80))
    dims = {}
    for d in range(draw(st.integers(min_value=1, max_value=3))):
        k = draw(st.integers(min_value=1, max_value=min(6, total)))
        cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=total - 1), min_size=k - 1,
                                    max_size=k - 1, unique=True))) if total > 1 else []
        edges = [0, *cuts, total]
        dims[f"dim{d}"] = {f"v{j}": edges[j + 1] - edges[j] for j in range(len(edges) - 1)}
    return total, dims, draw(st.integers(min_value=2, max_value=12))


@settings(max_examples=250, deadline=None)
@given(count_tables())
def test_no_published_small_cell_and_no_suppressed_count_recoverable(case):
    total, dims, min_cell = case
    out = suppress(table(total, dims), min_cell, {"unique_youth"})
    shown = out[~out["suppressed"]]
    assert not ((shown["n"] > 0) & (shown["n"] < min_cell)).any()
    assert out.loc[out["suppressed"], "estimate"].isna().all()
    assert recover(out) == set()


def test_complementary_needs_one_total():
    frame = table(5, {"sex": {"female": 5}})
    frame["suppressed"] = False
    try:
        complementary(pd.concat([frame, frame]))
    except ValueError as exc:
        assert "exactly one total" in str(exc)
    else:
        raise AssertionError("two totals were accepted")
