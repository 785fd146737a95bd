"""Moments that matter: planted effects found, planted nothing not found, numbers checked
against statsmodels and a plain-Python stratified estimate."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests

import journeygraph as jg
import planted_shop as planted
from journeygraph import _moments

EXITS = ("early_exit",)


@cache
def divergence(harm: bool, journey: str = "customer") -> jg.Divergence:
    return planted.compared(3000, seed=7, harm=harm, journey=journey)


CASES = [
    ("customer", {"reached": "purchase"}),
    ("customer", {"outcome": "converted"}),
    ("customer", {"outcome": "revenue"}),
    ("session", {"reached": "purchase"}),
    ("session", {"outcome": "converted"}),  # rolled up to customers
]


@pytest.mark.parametrize(("journey", "kwargs"), CASES)
def test_the_planted_harm_is_the_top_negative_moment(journey: str, kwargs: dict[str, str]) -> None:
    moments = divergence(True, journey).drivers(**kwargs)  # type: ignore[arg-type]
    table = moments.table
    harmful = table.filter(pl.col("significant") & (pl.col("adjusted") < 0))
    assert harmful.row(0, named=True)["feature"] == "visited:payment_error"
    assert harmful.row(0, named=True)["stage"] == "Checkout"
    # the loop (cart -> product -> cart) and help have no effect
    assert not table.filter(pl.col("feature").str.starts_with("loop:"))["significant"].any()
    assert not table.filter(pl.col("feature") == "visited:help")["significant"].any()
    # nothing that describes the end of the journey, nothing that is the outcome
    features = table.get_column("feature").to_list()
    assert not any(f.startswith(EXITS) or "Purchase" in f or "purchase" in f for f in features)
    per_session = journey == "session" and "reached" in kwargs
    assert moments.unit == ("sessions" if per_session else "customers")
    assert moments.kind == ("mean" if kwargs.get("outcome") == "revenue" else "rate")


@pytest.mark.parametrize(("journey", "kwargs"), CASES)
def test_nothing_is_found_where_nothing_was_planted(journey: str, kwargs: dict[str, str]) -> None:
    table = divergence(False, journey).drivers(**kwargs).table  # type: ignore[arg-type]
    assert table.height >= 3
    assert not table.get_column("significant").any()


def test_the_naive_comparison_gets_the_sign_wrong() -> None:
    """The old drivers(): everyone with payment_error vs everyone without. Customers
    who reach checkout at all buy more, so the harm looks like a benefit."""
    div = divergence(True)
    met = div.journeys.nodes.filter(pl.col("touchpoint") == "payment_error").select("journey")
    frame = div.customers.select(
        "journey", "converted", pl.col("journey").is_in(met["journey"].implode()).alias("met")
    )
    rates = dict(frame.group_by("met").agg(pl.col("converted").mean()).rows())
    assert rates[True] - rates[False] > 0.10  # naive: +10 pp or more
    row = (
        div.drivers("converted")
        .table.filter(pl.col("feature") == "visited:payment_error")
        .row(0, named=True)
    )
    assert row["adjusted"] < -0.15
    assert row["significant"]
    assert row["naive"] > row["adjusted"]  # at risk, unadjusted: still biased towards zero


def test_outcome_in_disguise_is_dropped_with_a_note() -> None:
    """An off-map ``order_review`` logged just before every purchase: with the column
    outcome it is the outcome in disguise; with reached= a step every purchase passes
    through. Both times it is dropped, with a note."""
    events, customers = planted.shop(1500, seed=5)
    buys = events.filter(pl.col("event") == "purchase").with_columns(
        pl.col("ts") - dt.timedelta(seconds=1), pl.lit("order_review").alias("event")
    )
    events = pl.concat([events, buys]).sort("ts", maintain_order=True)
    log = jg.read_events(events, customer="user", timestamp="ts", touchpoint="event")
    div = jg.compare(
        jg.mine(log, session_gap="30m"), jg.JourneyMap.linear(planted.STAGES), customers=customers
    )
    moments = div.drivers("converted")
    assert "visited:order_review" not in moments.table.get_column("feature").to_list()
    assert any(
        "in disguise" in n and "visited:order_review at Checkout" in n for n in moments.notes
    )
    assert any("early_exit" in n for n in moments.notes)
    # with reached=, no journey reaches purchase without it: a funnel step, dropped too
    reached = div.drivers(reached="purchase")
    assert "visited:order_review" not in reached.table.get_column("feature").to_list()
    funnel = [n for n in reached.notes if "passes through" in n]
    assert len(funnel) == 1
    assert "visited:order_review at Checkout" in funnel[0]
    # the planted harm stays: its with-side is not pure
    assert "visited:payment_error" in reached.table.get_column("feature").to_list()


def test_a_touchpoint_that_ends_journeys_is_an_exit_not_a_moment() -> None:
    """``cancel`` logged as the last event of most non-buyers (and a few buyers): with
    the column outcome it is how the journey ended, left out with a note (it is not
    pure, so the disguise rule alone would keep it, as the demo showed)."""
    events, customers = planted.shop(1500, seed=5, harm=False)
    rng = np.random.default_rng(3)
    converted = dict(customers.select("customer", "converted").iter_rows())
    last = events.group_by("user").agg(pl.col("ts").max())
    chance = {u: (0.05 if converted[u] else 0.8) for u in last.get_column("user")}
    draws = rng.random(last.height)
    cancels = last.filter(
        pl.Series([d < chance[u] for u, d in zip(last["user"], draws, strict=True)])
    ).select("user", pl.col("ts") + dt.timedelta(minutes=1), pl.lit("cancel").alias("event"))
    events = pl.concat([events, cancels.select(events.columns)]).sort("ts", maintain_order=True)
    log = jg.read_events(events, customer="user", timestamp="ts", touchpoint="event")
    div = jg.compare(
        jg.mine(log, session_gap="30m"), jg.JourneyMap.linear(planted.STAGES), customers=customers
    )
    moments = div.drivers("converted")
    features = moments.table.get_column("feature").to_list()
    assert not any(f == "visited:cancel" for f in features)
    assert any("Left out visiting cancel" in n and "reached='cancel'" in n for n in moments.notes)
    assert not moments.table.get_column("significant").any()  # nothing else was planted
    # what leads there is a reached outcome, where cancel is the target, not a feature
    assert div.drivers(reached="cancel").outcome == "reached cancel"


def test_bad_calls() -> None:
    div = divergence(True)
    with pytest.raises(jg.JourneygraphError, match="give one outcome"):
        div.drivers()
    with pytest.raises(jg.JourneygraphError, match="give one outcome"):
        div.drivers("converted", reached="purchase")
    with pytest.raises(jg.JourneygraphError, match="reached='nowhere' is neither"):
        div.drivers(reached="nowhere")
    with pytest.raises(jg.JourneygraphError, match="no outcome column 'nps'"):
        div.drivers("nps")


def test_deterministic() -> None:
    a = planted.compared(400, seed=3).drivers(reached="purchase").table
    b = planted.compared(400, seed=3).drivers(reached="purchase").table
    assert a.equals(b)


# ---------------------------------------------------------------- independent checks
def reference_payment_error(
    events: pl.DataFrame,
) -> tuple[dict[tuple[int, int], list[list[int]]], int, int]:
    """visited:payment_error at Checkout, reached=purchase, customers, from the raw rows in
    plain Python: per stratum (checkout sessions, sessions before the purchase) the 2x2
    table [[with & bought, with & not], [without & bought, without & not]]."""
    rows: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for user, ts, event in events.iter_rows():
        rows[user].append((ts, event))
    tables: dict[tuple[int, int], list[list[int]]] = {}
    n_at_risk = n_with = 0
    checkout = set(planted.STAGES["Checkout"])
    stage_of = {t: s for s, ts in planted.STAGES.items() for t in ts}
    for path in rows.values():
        path.sort(key=lambda r: r[0])  # stable: equal times keep their order
        session, last_time = 0, None
        bought = False
        sessions: set[int] = set()
        at_checkout: set[int] = set()
        met = False
        stage_now: dict[int, str | None] = {}
        for ts, event in path:
            if last_time is not None and ts - last_time > dt.timedelta(minutes=30):
                session += 1
            last_time = ts
            if event == "purchase":
                bought = True
                break
            sessions.add(session)
            if event in checkout:
                at_checkout.add(session)
            if event in stage_of:
                stage_now[session] = stage_of[event]
            elif event == "payment_error" and stage_now.get(session) == "Checkout":
                met = True
        if not at_checkout:
            continue
        n_at_risk += 1
        n_with += met
        key = (len(at_checkout), len(sessions))
        table = tables.setdefault(key, [[0, 0], [0, 0]])
        table[0 if met else 1][0 if bought else 1] += 1
    return tables, n_at_risk, n_with


def mh_risk_difference(tables: list[list[list[int]]]) -> tuple[float, float]:
    """Mantel-Haenszel risk difference and Sato's variance, written from the textbook."""
    w_sum = num = p_sum = q_sum = 0.0
    for (a, b), (c, d) in tables:
        n1, n0 = a + b, c + d
        n = n1 + n0
        if n1 == 0 or n0 == 0:
            continue
        w_sum += n1 * n0 / n
        num += (a * n0 - c * n1) / n
        p_sum += (n1 * n1 * c - n0 * n0 * a + n1 * n0 * (n0 - n1) / 2) / n**2
        q_sum += (a * (n0 - c) + c * (n1 - a)) / (2 * n)
    rd = num / w_sum
    return rd, (rd * p_sum + q_sum) / w_sum**2


def test_adjusted_difference_and_p_value_against_an_independent_computation() -> None:
    events, customers = planted.shop(600, seed=11)
    log = jg.read_events(events, customer="user", timestamp="ts", touchpoint="event")
    div = jg.compare(
        jg.mine(log, session_gap="30m"), jg.JourneyMap.linear(planted.STAGES), customers=customers
    )
    moments = div.drivers(reached="purchase", min_journeys=5)
    row = moments.table.filter(pl.col("feature") == "visited:payment_error").row(0, named=True)
    tables, n_at_risk, n_with = reference_payment_error(events)
    assert (row["journeys"], row["affected"]) == (n_at_risk, n_with)
    informative = [t for t in tables.values() if min(sum(t[0]), sum(t[1])) > 0]
    rd, var = mh_risk_difference(informative)
    assert row["adjusted"] == pytest.approx(rd, rel=1e-9)
    assert row["ci_high"] - row["adjusted"] == pytest.approx(1.959963984540054 * math.sqrt(var))
    strat = StratifiedTable([np.array(t, dtype=float) for t in informative])
    p = strat.test_null_odds(correction=False).pvalue
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    # q-values: Benjamini-Hochberg over every row of the table
    table = moments.table
    _, expected, _, _ = multipletests(table.get_column("p_value").to_numpy(), method="fdr_bh")
    np.testing.assert_allclose(table.get_column("q_value").to_numpy(), expected, rtol=1e-12)


strata_rows = st.lists(
    st.tuples(st.integers(1, 30), st.integers(1, 30)).flatmap(
        lambda n: st.tuples(
            st.just(n[0]), st.integers(0, n[0]), st.just(n[1]), st.integers(0, n[1])
        )
    ),
    min_size=1,
    max_size=6,
)


@given(strata_rows)
def test_pooled_risk_difference_matches_the_textbook_and_statsmodels(
    rows: list[tuple[int, int, int, int]],
) -> None:
    frame = pl.DataFrame(
        [("f", "S", n1, float(a), float(a), n0, float(c), float(c)) for n1, a, n0, c in rows],
        schema=["feature", "stage", "n1", "s1", "ss1", "n0", "s0", "ss0"],
        orient="row",
    )
    got = _moments.pooled(frame, binary=True).row(0, named=True)
    tables = [[[a, n1 - a], [c, n0 - c]] for n1, a, n0, c in rows]
    rd, var = mh_risk_difference(tables)
    assert got["adjusted"] == pytest.approx(rd, abs=1e-12)
    assert got["se"] == pytest.approx(math.sqrt(max(var, 0.0)), abs=1e-9)
    strat = StratifiedTable([np.array(t, dtype=float) for t in tables])
    with np.errstate(all="ignore"):
        expected = strat.test_null_odds(correction=False).pvalue
    if np.isfinite(expected):
        assert got["p_value"] == pytest.approx(expected, abs=1e-9)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_bh_matches_statsmodels(p: list[float]) -> None:
    _, expected, _, _ = multipletests(np.array(p), method="fdr_bh")
    np.testing.assert_allclose(_moments.bh(np.array(p)), expected, rtol=1e-12, atol=1e-15)


def test_numeric_outcome_against_a_weighted_mean_difference() -> None:
    rng = np.random.default_rng(5)
    rows = []
    by_stratum: dict[int, tuple[list[float], list[float]]] = {}
    for k in range(4):
        with_ = list(rng.normal(10 + k, 2, size=5 + k))
        without = list(rng.normal(12 + k, 3, size=7))
        by_stratum[k] = (with_, without)
        rows.append(
            ("f", "S", len(with_), sum(with_), sum(x * x for x in with_),
             len(without), sum(without), sum(x * x for x in without))
        )  # fmt: skip
    frame = pl.DataFrame(
        rows, schema=["feature", "stage", "n1", "s1", "ss1", "n0", "s0", "ss0"], orient="row"
    )
    got = _moments.pooled(frame, binary=False).row(0, named=True)
    num = den = var = 0.0
    for with_, without in by_stratum.values():
        n1, n0 = len(with_), len(without)
        w = n1 * n0 / (n1 + n0)
        num += w * (np.mean(with_) - np.mean(without))
        den += w
        var += w * w * (np.var(with_, ddof=1) / n1 + np.var(without, ddof=1) / n0)
    assert got["adjusted"] == pytest.approx(num / den)
    assert got["se"] == pytest.approx(math.sqrt(var) / den)
    z = (num / den) / (math.sqrt(var) / den)
    assert got["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))


def findings_of(page: str) -> list[str]:
    import re

    section = page[page.index('<section id="findings">') : page.index('<section id="headline">')]
    return re.findall(r"<li>(.*?)</li>", section)


@pytest.mark.parametrize("harm", [True, False])
def test_the_report_findings_name_the_planted_harm_first(harm: bool, tmp_path: Path) -> None:
    events, _ = planted.shop(1200, seed=21, harm=harm)
    log = jg.read_events(events, customer="user", timestamp="ts", touchpoint="event")
    page = jg.report(
        log, jg.JourneyMap.linear(planted.STAGES), tmp_path, reached="purchase", k=2
    ).read_text(encoding="utf-8")
    assert page.index('<section id="findings">') < page.index('<section id="headline">')
    # every customer counts, up to reaching the purchase
    n = log.collect().get_column("customer").n_unique()
    assert f"rate among all {n:,} customers; only what happened before reaching purchase" in page
    items = findings_of(page)
    if harm:
        first = items[0]
        assert first.startswith("At Checkout, ")
        assert "met payment_error" in first
        assert "reached purchase" in first
        assert '<a href="#drivers">' in first
    else:
        assert not any("payment_error" in item for item in items)
        assert "No moment goes with reached purchase beyond chance" in page
    # the busiest path off the map, and where journeys are lost, each with its section
    assert any('<a href="#map">' in item for item in items)
    assert any('<a href="#leave">' in item and "loses the most journeys" in item for item in items)
