"""Step flows: counts equal a per-journey walk; 'other' sums exactly what is hidden."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import journeygraph as jg
from journeygraph._steps import ordered
from journeygraph.flows import STEP_KEYS, flows_of, sequence_counts, step_counts, window

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def mined(rows: list[tuple[str, dt.datetime, str]]) -> jg.Journeys:
    frame = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row")
    # every row counts in the brute-force reference: keep exact duplicates
    log = jg.read_events(
        frame, customer="user", timestamp="ts", touchpoint="event", duplicates="keep"
    )
    return jg.mine(log)


@st.composite
def logs(draw: Any) -> list[tuple[str, dt.datetime, str]]:
    rows = []
    for c in range(draw(st.integers(1, 10))):
        minutes = sorted(draw(st.lists(st.integers(0, 50), min_size=1, max_size=8)))
        rows += [
            (f"u{c:02d}", T0 + dt.timedelta(minutes=m), draw(st.sampled_from("abcdef")))
            for m in minutes
        ]
    return sorted(rows, key=lambda r: r[1])


def walk(rows, around, before, after):
    seqs: dict[str, list[str]] = {}
    for u, _, e in sorted(rows, key=lambda r: (r[0], r[1])):
        seqs.setdefault(u, []).append(e)
    cells: Counter[tuple[int, str]] = Counter()
    links: Counter[tuple[int, str, str]] = Counter()
    n = 0
    for seq in seqs.values():
        if around == "(start)":
            a = 0
        elif around == "(end)":
            a = len(seq) - 1
        elif around in seq:
            a = seq.index(around)
        else:
            continue
        n += 1
        path = {}
        for o in range(-before, after + 1):
            p = a + o
            if 0 <= p < len(seq):
                path[o] = seq[p]
            elif p == -1:
                path[o] = "(start)"
            elif p == len(seq):
                path[o] = "(end)"
        for o, name in path.items():
            cells[(o, name)] += 1
            if o + 1 in path:
                links[(o, name, path[o + 1])] += 1
    return n, cells, links


@settings(max_examples=80, deadline=None)
@given(
    rows=logs(),
    around=st.sampled_from(["a", "b", "(start)", "(end)"]),
    before=st.integers(0, 3),
    after=st.integers(0, 3),
)
def test_flows_equal_a_walk_over_every_journey(rows, around, before, after):
    j = mined(rows)
    if around not in j.touchpoints and not around.startswith("("):
        with pytest.raises(jg.JourneygraphError, match="not a touchpoint"):
            j.flows(around=around)
        return
    f = j.flows(around=around, before=before, after=after, top=100)
    before = 0 if around == "(start)" else before
    after = 0 if around == "(end)" else after
    n, cells, links = walk(rows, around, before, after)
    assert f.journeys == n
    assert {
        (o, t): c for o, t, c in f.nodes.select("offset", "touchpoint", "journeys").rows()
    } == dict(cells)
    assert {
        (o, s, t): c
        for o, s, t, c in f.links.select("offset", "source", "target", "journeys").rows()
    } == dict(links)


def test_other_sums_what_top_hides():
    rows = [
        (f"u{i}", T0 + dt.timedelta(minutes=k), e)
        for i in range(30)
        for k, e in enumerate(["cart", "abcdefgh"[i % 8]])
    ]
    j = mined(rows)
    f = j.flows(around="cart", before=0, after=1, top=3)
    after = f.nodes.filter(pl.col("offset") == 1)
    assert after.get_column("journeys").sum() == 30
    other = after.filter(pl.col("touchpoint") == "other")
    assert other.get_column("hidden").item() == 5
    assert other.get_column("journeys").item() == 30 - 4 - 4 - 4
    assert f.links.filter(pl.col("target") == "other").get_column("journeys").sum() == 18


def test_sankey_page_is_self_contained(tmp_path):
    rows = [("u1", T0, "home"), ("u1", T0 + dt.timedelta(minutes=1), "cart"), ("u2", T0, "cart")]
    j = mined(rows)
    page = jg.to_html(j.flows(around="cart"), tmp_path / "flows.html").read_text(encoding="utf-8")
    assert "d3-sankey" in page
    assert "default-src 'none'" in page  # the browser may fetch nothing (tests/browser checks it)
    assert "<link" not in page
    assert " src=" not in page


def counted(j: jg.Journeys, around: str, before: int, after: int) -> pl.DataFrame:
    events = ordered(j.core)
    return step_counts(events.starts, events.touchpoint, j.touchpoints, around, before, after)


@settings(max_examples=60, deadline=None)
@given(
    rows=logs(),
    data=st.data(),
    before=st.integers(0, 3),
    after=st.integers(0, 3),
    top=st.integers(1, 4),
)
def test_counts_of_two_disjoint_sets_of_journeys_add_up_to_the_whole(
    rows, data, before, after, top
):
    # what each Spark partition counts, summed, makes the flows of all journeys
    whole = mined(rows)
    around = data.draw(st.sampled_from([*whole.touchpoints, "(start)", "(end)"]))
    users = sorted({r[0] for r in rows})
    first = set(data.draw(st.lists(st.sampled_from(users), unique=True)))
    parts = [[r for r in rows if (r[0] in first) == side] for side in (True, False)]
    before, after = window(around, before, after, top, whole.touchpoints)
    counts = pl.concat([counted(mined(part), around, before, after) for part in parts if part])
    summed = counts.group_by(STEP_KEYS).agg(pl.col("journeys").sum())
    got = flows_of(summed, around, before, after, top)
    want = whole.flows(around, before=before, after=after, top=top)
    assert got.journeys == want.journeys
    assert_frame_equal(got.nodes, want.nodes)
    assert_frame_equal(got.links, want.links)
    # Spark counts each partition's distinct sequences (its variants), weighted
    by_sequence = sequence_counts(whole.variants(), around, before, after)
    assert_frame_equal(by_sequence, counted(whole, around, before, after), check_row_order=False)
