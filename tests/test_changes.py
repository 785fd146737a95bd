"""Changes over time and segment contrasts: planted stories found, nothing found without them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

import journeygraph as jg
from journeygraph._stats import bh, two_proportions
from planted import stories_log


def sessions(seed: int, *, stories: bool) -> tuple[jg.Journeys, pl.DataFrame]:
    events, customers = stories_log(seed, stories=stories)
    log = jg.read_events(
        events, customer="user_id", timestamp="ts", touchpoint="event", channel="platform"
    )
    return jg.mine(log, session_gap="30m", journey="session"), customers


@pytest.fixture(scope="module")
def planted() -> tuple[jg.Journeys, pl.DataFrame]:
    return sessions(0, stories=True)


def top(frame: pl.DataFrame, n: int, *columns: str) -> list[tuple[Any, ...]]:
    return frame.head(n).select(columns).rows()


def test_error_page_for_app_users_is_a_top_episode(planted):
    journeys, _ = planted
    episodes = jg.changes(journeys, every="1w", by="channel").episodes
    hits = episodes.head(5).filter(
        (pl.col("segment") == "app")
        & (pl.col("item") == "error_page")
        & (pl.col("direction") == "up")
    )
    assert hits.height == 1
    assert hits.get_column("start").dt.date().to_list() == [dt.date(2024, 2, 26)]  # week 8
    assert hits.get_column("periods").to_list() == [3]


def test_halved_payment_rate_is_a_top_episode(planted):
    journeys, _ = planted
    episodes = jg.changes(journeys, every="1w").episodes
    hits = episodes.head(5).filter(
        (pl.col("item") == "checkout → payment_done") & (pl.col("direction") == "down")
    )
    assert hits.height == 1
    assert hits.get_column("start").dt.date().to_list() == [dt.date(2024, 4, 15)]  # week 15
    assert hits.get_column("peak_rate").item() == pytest.approx(0.4, abs=0.12)
    assert hits.get_column("baseline").item() == pytest.approx(0.8, abs=0.05)


def test_segments_converting_differently_top_the_contrast(planted):
    journeys, customers = planted
    c = jg.contrast(journeys, by="tier", customers=customers)
    assert ("loyal", "transition", "product → cart") in top(c.table, 5, "group", "kind", "item")
    row = c.table.filter(pl.col("item") == "product → cart")
    assert row.get_column("significant").item()
    assert row.get_column("ci_low").item() > 0
    by_platform = jg.contrast(journeys, by="channel")
    assert ("app", "touchpoint", "error_page") in top(by_platform.table, 5, "group", "kind", "item")


def false_alarms(seed: int) -> dict[str, bool]:
    """Whether each analysis flags anything (q < 0.05) on a log without stories."""
    journeys, customers = sessions(seed, stories=False)
    tables = {
        "changes": jg.changes(journeys, every="1w", by="channel").table,
        "contrast": jg.contrast(journeys, by="tier", customers=customers).table,
    }
    return {name: bool(t.get_column("q_value").lt(0.05).any()) for name, t in tables.items()}


@pytest.mark.parametrize("seed", [10, 11])
def test_nothing_flagged_without_stories(seed):
    assert false_alarms(seed) == {"changes": False, "contrast": False}


@pytest.mark.slow
def test_false_alarms_in_at_most_5_percent_of_seeds():
    # under a global null, Benjamini-Hochberg at 0.05 flags anything with probability <= 5 %
    runs = [false_alarms(seed) for seed in range(100, 140)]
    for name in ("changes", "contrast"):
        assert sum(r[name] for r in runs) <= 2, name  # 5 % of 40


def test_too_small_periods_are_not_tested(planted):
    journeys, _ = planted
    ch = jg.changes(journeys, every="1d", min_journeys=100)
    small = ch.untested
    assert small.height > 0
    assert (small.get_column("journeys") < 100).all()
    untested_days = set(small.get_column("period_start").to_list())
    rows = ch.table.filter(
        pl.col("period_start").is_in(list(untested_days)) & (pl.col("kind") != "journeys")
    )
    assert rows.get_column("p_value").null_count() == rows.height


# ----------------------------------------------------------------- the numbers
counts = st.tuples(st.integers(0, 60), st.integers(1, 60), st.integers(0, 60), st.integers(1, 60))


@settings(max_examples=200, deadline=None)
@given(st.lists(counts.filter(lambda c: c[0] <= c[1] and c[2] <= c[3]), min_size=1, max_size=30))
def test_p_values_and_q_values_match_scipy_and_statsmodels(tables):
    x1, n1, x0, n0 = (np.array(v) for v in zip(*tables, strict=True))
    got = two_proportions(x1, n1, x0, n0)
    for i, (a, m, b, k) in enumerate(tables):
        table = [[a, m - a], [b, k - b]]
        pooled = (a + b) / (m + k)
        if pooled in (0.0, 1.0):
            assert np.isnan(got.p_value[i])
            continue
        if min(m * pooled, m * (1 - pooled), k * pooled, k * (1 - pooled)) < 5:
            want = stats.fisher_exact(table).pvalue
        else:
            want = stats.chi2_contingency(table, correction=False).pvalue
        assert got.p_value[i] == pytest.approx(want, rel=1e-6, abs=1e-12)
    tested = ~np.isnan(got.p_value)
    if tested.any():
        want_q = multipletests(got.p_value[tested], method="fdr_bh")[1]
        np.testing.assert_allclose(bh(got.p_value)[tested], want_q, rtol=1e-12)


T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@st.composite
def small_logs(draw: Any) -> list[tuple[str, dt.datetime, str]]:
    rows = []
    for c in range(draw(st.integers(2, 10))):
        for m in sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=6))):
            rows.append((f"c{c}", T0 + dt.timedelta(days=m), draw(st.sampled_from("abc"))))
    return sorted(rows, key=lambda r: r[1])


@settings(max_examples=60, deadline=None)
@given(small_logs())
def test_contrast_counts_equal_a_per_journey_count(rows):
    df = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row")
    j = jg.mine(
        jg.read_events(df, customer="user", timestamp="ts", touchpoint="event", duplicates="keep")
    )
    users = sorted({r[0] for r in rows})
    groups = {"x": users[: max(1, len(users) // 2)]}
    c = jg.contrast(j, by=groups, min_journeys=1)
    seqs: dict[str, list[str]] = {}
    for u, _, e in sorted(rows, key=lambda r: (r[0], r[1])):
        seqs.setdefault(u, []).append(e)
    for row in c._every.iter_rows(named=True):
        members = [u for u in users if (u in groups["x"]) == (row["group"] == "x")]
        if row["kind"] == "touchpoint":
            has = [u for u in members if row["item"] in seqs[u]]
            risk = members
        else:
            a, b = row["item"].split(" → ")
            pairs = {u: set(zip(seqs[u], seqs[u][1:], strict=False)) for u in members}
            has = [u for u in members if (a, b) in pairs[u]]
            risk = [u for u in members if a in seqs[u]]
        assert (row["journeys"], row["at_risk"]) == (len(has), len(risk))
