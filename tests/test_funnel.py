"""Funnels: exact against a brute-force search over every ordered tuple of events."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter
from typing import Any

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import journeygraph as jg

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
TOUCHPOINTS = ["home", "search", "cart", "pay", "help"]


@st.composite
def logs(draw: Any) -> list[dict[str, Any]]:
    """Time-ordered rows of interleaved customers with text ids, ties and repeats."""
    n = draw(st.integers(1, 12))
    rows = []
    for c in range(n):
        length = draw(st.integers(1, 7))
        minutes = sorted(draw(st.lists(st.integers(0, 40), min_size=length, max_size=length)))
        for m in minutes:  # equal minutes are ties, kept in input order
            tp = draw(st.sampled_from(TOUCHPOINTS))
            rows.append({"user": f"cust-{c:03d}", "ts": T0 + dt.timedelta(minutes=m), "event": tp})
    rows.sort(key=lambda r: r["ts"])  # a real log: time order, customers interleaved (stable)
    return rows


def brute_force(
    rows: list[dict[str, Any]], steps: list[set[str]], within: dt.timedelta | None
) -> dict[str, tuple[int, list[dt.datetime], str | None]]:
    """Per journey: deepest matching position tuple, the first in lexicographic order."""
    journeys: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["user"], r["ts"])):  # stable: ties in input order
        journeys.setdefault(r["user"], []).append(r)
    out = {}
    for user, events in journeys.items():
        found: tuple[int, list[dt.datetime], str | None] = (0, [], None)
        for d in range(len(steps), 0, -1):
            for combo in itertools.combinations(range(len(events)), d):
                ok = all(events[p]["event"] in steps[i] for i, p in enumerate(combo))
                if ok and within is not None:
                    ok = events[combo[-1]]["ts"] - events[combo[0]]["ts"] <= within
                if ok:
                    last = combo[-1]
                    nxt = events[last + 1]["event"] if last + 1 < len(events) else None
                    found = (d, [events[p]["ts"] for p in combo], nxt)
                    break
            if found[0]:
                break
        out[user] = found
    return out


def expected_table(truth: dict[str, Any], k: int) -> list[tuple[Any, ...]]:
    rows = []
    total = len(truth)
    first = sum(1 for d, _, _ in truth.values() if d >= 1)
    previous = total
    for s in range(k):
        reach = [v for v in truth.values() if v[0] >= s + 1]
        gaps = sorted(v[1][s] - v[1][s - 1] for v in reach) if s else []
        median = p90 = None
        if gaps:
            half = len(gaps) // 2
            if len(gaps) % 2:
                median = gaps[half]
            else:
                us = dt.timedelta(microseconds=1)
                median = (((gaps[half - 1] + gaps[half]) // us) // 2) * us
            p90 = gaps[max(math.ceil(0.9 * len(gaps)), 1) - 1]
        stop = [v[2] or "(end)" for v in truth.values() if v[0] == s + 1] if s < k - 1 else []
        counts = Counter(stop)
        instead = [n for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
        rows.append(
            (
                s + 1,
                len(reach),
                len(reach) / previous if previous else None,
                len(reach) / first if first else None,
                median,
                p90,
                len(stop),
                instead,
            )
        )
        previous = len(reach)
    return rows


def mined(rows: list[dict[str, Any]]) -> jg.Journeys:
    return jg.mine(
        jg.read_events(
            pl.DataFrame(rows),
            customer="user",
            timestamp="ts",
            touchpoint="event",
            duplicates="keep",  # every row counts in the brute-force reference
        )
    )


step_lists = st.lists(
    st.sets(st.sampled_from(TOUCHPOINTS), min_size=1, max_size=2), min_size=1, max_size=4
)
windows = st.one_of(st.none(), st.integers(1, 30).map(lambda m: dt.timedelta(minutes=m)))


@settings(max_examples=120, deadline=None)
@given(rows=logs(), steps=step_lists, within=windows)
def test_funnel_equals_brute_force(rows, steps, within):
    present = {r["event"] for r in rows}
    assume(all(s & present for s in steps))  # a step naming no touchpoint at all is an error
    f = jg.funnel(mined(rows), [sorted(s) for s in steps], within=within)
    truth = brute_force(rows, steps, within)
    got = {
        r["journey"]: (r["reached"], list(r["times"]), r["next"])
        for r in f.journeys.iter_rows(named=True)
    }
    assert got == truth
    table = f.table.select(
        "step",
        "journeys",
        "conversion_previous",
        "conversion_first",
        "median_time",
        "p90_time",
        "stopped",
        "instead",
    ).rows()
    assert table == expected_table(truth, len(steps))


def test_segments_side_by_side_match_per_segment_funnels():
    rows = [
        {"user": u, "ts": T0 + dt.timedelta(minutes=m), "event": e}
        for u, m, e in [
            ("a", 0, "home"), ("a", 1, "cart"), ("a", 2, "pay"),
            ("b", 0, "home"), ("b", 5, "help"),
            ("c", 0, "home"), ("c", 3, "cart"),
            ("d", 0, "cart"), ("d", 1, "pay"),
        ]
    ]  # fmt: skip
    j = mined(rows)
    customers = pl.DataFrame(
        {"customer": ["a", "b", "c", "d"], "tier": ["new", "new", "old", None]}
    )
    f = jg.funnel(j, ["home", "cart", "pay"], by="tier", customers=customers)
    assert f.table.get_column("segment").unique(maintain_order=True).to_list() == [
        "(missing)",
        "new",
        "old",
    ]
    new = f.table.filter(pl.col("segment") == "new").select("journeys", "instead").rows()
    assert new == [(2, ["help"]), (1, []), (1, [])]
    mapped = jg.funnel(j, ["home", "cart", "pay"], by={"new": ["a", "b"], "old": ["c"]})
    assert mapped.table.filter(pl.col("segment") == "new").select(
        "journeys"
    ).to_series().to_list() == [2, 1, 1]
    assert set(mapped.journeys.get_column("segment")) == {"new", "old", "(other)"}


def test_stage_steps_from_the_map():
    rows = [
        {"user": "a", "ts": T0, "event": "search"},
        {"user": "a", "ts": T0 + dt.timedelta(minutes=1), "event": "pay"},
        {"user": "b", "ts": T0, "event": "home"},
    ]
    jmap = jg.JourneyMap.linear({"Explore": ["home", "search"], "Buy": ["pay"]})
    f = jg.funnel(mined(rows), jmap=jmap)
    assert f.steps == ["Explore", "Buy"]
    assert f.table.select("journeys").to_series().to_list() == [2, 1]


BAD = [
    ({"steps": []}, "non-empty"),
    ({"steps": ["nope"]}, "'nope' is not a touchpoint"),
    ({"steps": [{"x", "y"}]}, "names no touchpoint"),
    ({"steps": ["home"], "within": "soon"}, "within"),
    ({"steps": ["home"], "by": "tier"}, "cannot split by 'tier'"),
    ({"steps": ["home"], "by": "channel"}, "channel column"),
    ({"steps": ["home"], "by": {"g": ["zz"]}}, "not journeys"),
    ({"steps": ["home"], "by": {"g": ["a"], "h": ["a"]}}, "more than one group"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_arguments_say_what_to_fix(kwargs, message):
    j = mined([{"user": "a", "ts": T0, "event": "home"}])
    with pytest.raises(jg.JourneygraphError, match=message):
        jg.funnel(j, **kwargs)
