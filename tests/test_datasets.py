"""Tests of the seeded journey generator (:mod:`journeygraph.datasets`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeygraph.datasets import (
    ARCHETYPES,
    CHANNELS,
    IDEAL_STAGES,
    TOUCHPOINTS,
    SampleData,
    events_for,
    generate,
)

N = 20_000
SEED = 7
DISCOVER = set(IDEAL_STAGES["Discover"])
POST_PURCHASE_ONLY = [
    "account_setup",
    "welcome_email",
    "tutorial",
    "first_use",
    "feature_use",
    "usage_report",
    "support_chat",
    "support_call",
    "ticket",
    "renewal_notice",
    "renewal",
    "upgrade",
    "cancel",
    "survey",
]


@pytest.fixture(scope="module")
def data() -> SampleData:
    return generate(N, seed=SEED)


@pytest.fixture(scope="module")
def ordered(data: SampleData) -> pl.DataFrame:
    """Events with the archetype, sorted by customer and time, with the next touchpoint."""
    return (
        data.events.join(data.customers.select("customer_id", "archetype"), on="customer_id")
        .sort("customer_id", "timestamp", maintain_order=True)
        .with_columns(
            next_tp=pl.col("touchpoint").shift(-1).over("customer_id"),
            gap=pl.col("timestamp").diff().over("customer_id").dt.total_seconds(),
        )
    )


@pytest.fixture(scope="module")
def per_customer(ordered: pl.DataFrame) -> pl.DataFrame:
    return ordered.group_by("customer_id", "archetype").agg(
        n=pl.len(),
        last=pl.col("touchpoint").last(),
        app_share=(pl.col("channel") == "app").mean(),
        search_pv=(
            ((pl.col("touchpoint") == "search") & (pl.col("next_tp") == "product_view"))
            | ((pl.col("touchpoint") == "product_view") & (pl.col("next_tp") == "search"))
        ).sum(),
        support=pl.col("touchpoint")
        .is_in(["help_center", "support_chat", "support_call", "ticket"])
        .sum(),
        sessions=(pl.col("gap") > 1800).sum() + 1,
        span_days=(pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_hours() / 24,
    )


# --------------------------------------------------------------------------- #
# constants
# --------------------------------------------------------------------------- #
def test_constants() -> None:
    assert len(TOUCHPOINTS) == 30
    assert len(set(TOUCHPOINTS)) == 30
    assert CHANNELS == ("web", "app", "store", "email", "call_center")
    assert ARCHETYPES == (
        "straight_buyer",
        "researcher",
        "struggler",
        "stalled_churner",
        "app_first",
    )
    assert 6 <= len(IDEAL_STAGES) <= 8
    staged = [t for tps in IDEAL_STAGES.values() for t in tps]
    assert len(staged) == len(set(staged)), "a touchpoint belongs to at most one stage"
    assert set(staged) < set(TOUCHPOINTS)
    assert not {"help_center", "support_chat", "support_call", "ticket"} & set(staged)


# --------------------------------------------------------------------------- #
# determinism and schema
# --------------------------------------------------------------------------- #
def test_same_seed_same_frames() -> None:
    a, b = generate(400, seed=3), generate(400, seed=3)
    assert a.events.equals(b.events)
    assert a.customers.equals(b.customers)


def test_different_seed_different_frames() -> None:
    a, b = generate(400, seed=3), generate(400, seed=4)
    assert not a.events.equals(b.events)
    assert not a.customers.equals(b.customers)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32),
    days=st.integers(1, 30),
    rate=st.floats(0, 1),
)
def test_invariants_hold_for_any_arguments(n: int, seed: int, days: int, rate: float) -> None:
    data = generate(n, seed=seed, days=days, survey_rate=rate)
    again = generate(n, seed=seed, days=days, survey_rate=rate)
    assert data.events.equals(again.events)
    assert data.customers.equals(again.customers)
    assert data.customers["customer_id"].to_list() == list(range(1, n + 1))
    counts = data.events.group_by("customer_id").len()
    assert counts.height == n
    assert counts["len"].min() >= 1
    assert counts["len"].max() <= 60
    start = datetime(2026, 1, 1, tzinfo=UTC)
    firsts = data.events.group_by("customer_id").agg(pl.col("timestamp").min())["timestamp"]
    assert firsts.min() >= start
    assert firsts.max() < start + timedelta(days=days)


def test_schema(data: SampleData) -> None:
    assert data.events.schema == pl.Schema(
        {
            "customer_id": pl.Int64,
            "timestamp": pl.Datetime("us", "UTC"),
            "touchpoint": pl.String,
            "channel": pl.String,
            "device": pl.String,
        }
    )
    assert data.customers.schema == pl.Schema(
        {
            "customer_id": pl.Int64,
            "archetype": pl.String,
            "converted": pl.Boolean,
            "churned": pl.Boolean,
            "revenue": pl.Float64,
            "survey_score": pl.Int64,
        }
    )
    ev = data.events
    assert ev.null_count().row(0) == (0, 0, 0, 0, 0)
    assert set(ev["touchpoint"].unique()) <= set(TOUCHPOINTS)
    assert len(set(ev["touchpoint"].unique())) >= 28
    assert set(ev["channel"].unique()) == set(CHANNELS)
    assert set(ev["device"].unique()) == {"desktop", "mobile", "tablet"}
    cust = data.customers
    assert set(cust["archetype"].unique()) == set(ARCHETYPES)
    assert cust.drop("survey_score").null_count().row(0) == (0,) * 5
    # Whole seconds only, so that ties are real ties.
    assert (ev["timestamp"].dt.microsecond() == 0).all()


def test_customers_match_events(data: SampleData) -> None:
    ids = data.customers["customer_id"]
    assert ids.is_unique().all()
    assert ids.to_list() == list(range(1, N + 1))
    assert set(data.events["customer_id"].unique()) == set(ids)


def test_events_are_shuffled(data: SampleData) -> None:
    ev = data.events
    assert not ev["customer_id"].is_sorted()
    assert not ev["timestamp"].is_sorted()
    # Not even grouped by customer: many customers' events are far apart.
    spread = (
        ev.with_row_index("row")
        .group_by("customer_id")
        .agg((pl.col("row").max() - pl.col("row").min()).alias("spread"))
    )
    assert spread["spread"].median() > ev.height / 10


# --------------------------------------------------------------------------- #
# time and ordering
# --------------------------------------------------------------------------- #
def test_journey_order_is_consistent(data: SampleData, ordered: pl.DataFrame) -> None:
    """Events sorted by time follow the generating chains (ties kept as ties)."""
    tp = pl.col("touchpoint")
    ts = pl.col("timestamp")
    stats = ordered.group_by("customer_id", "archetype").agg(
        purchase=ts.filter(tp == "purchase").min(),
        n_purchase=(tp == "purchase").sum(),
        cart=ts.filter(tp == "add_to_cart").min(),
        payment=ts.filter(tp == "payment").min(),
        first_post=ts.filter(tp.is_in(POST_PURCHASE_ONLY)).min(),
        cancel=ts.filter(tp == "cancel").min(),
        n_cancel=(tp == "cancel").sum(),
        last=ts.max(),
        first=ts.min(),
        first_tps=tp.filter(ts == ts.min()),
    )
    bought = stats.filter(pl.col("n_purchase") > 0)
    assert stats["n_purchase"].max() == 1
    assert (bought["cart"] <= bought["payment"]).all()
    assert (bought["payment"] <= bought["purchase"]).all()
    # Onboarding, use, support, renewal and cancel only happen after buying.
    post = stats.filter(pl.col("first_post").is_not_null())
    assert post["purchase"].null_count() == 0
    assert (post["purchase"] <= post["first_post"]).all()
    # Cancel ends the journey.
    cancelled = stats.filter(pl.col("n_cancel") > 0)
    assert cancelled.height > 0
    assert cancelled["n_cancel"].max() == 1
    assert (cancelled["cancel"] == cancelled["last"]).all()
    # Journeys start with a Discover touchpoint, except app_first (mid-funnel).
    starts_in_discover = stats["first_tps"].list.eval(pl.element().is_in(list(DISCOVER))).list.any()
    is_app_first = stats["archetype"] == "app_first"
    assert starts_in_discover.filter(~is_app_first).all()
    assert not starts_in_discover.filter(is_app_first).any()


def test_start_times_spread_over_days(data: SampleData) -> None:
    firsts = data.events.group_by("customer_id").agg(pl.col("timestamp").min())["timestamp"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert firsts.min() >= start
    assert firsts.max() < start + timedelta(days=90)
    days = (firsts - start).dt.total_days()
    # Roughly uniform over the 90 days: every 10-day bucket holds 8..14% of starts.
    shares = (days // 10).value_counts(normalize=True)["proportion"]
    assert shares.len() == 9
    assert shares.min() > 0.08
    assert shares.max() < 0.14


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2025-06-01", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-06-01T12:00:00+02:00", datetime(2025, 6, 1, 10, tzinfo=UTC)),
        (datetime(2025, 6, 1), datetime(2025, 6, 1, tzinfo=UTC)),
        (
            datetime(2025, 6, 1, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2025, 6, 1, 5, tzinfo=UTC),
        ),
    ],
)
def test_start_argument(start: str | datetime, expected: datetime) -> None:
    ev = generate(300, seed=1, start=start, days=2).events
    firsts = ev.group_by("customer_id").agg(pl.col("timestamp").min())["timestamp"]
    assert firsts.min() >= expected
    assert firsts.max() < expected + timedelta(days=2)
    assert firsts.min() < expected + timedelta(days=1)


def test_sessions_gaps_and_ties(ordered: pl.DataFrame, per_customer: pl.DataFrame) -> None:
    gaps = ordered["gap"].drop_nulls()
    in_session = gaps.filter(gaps <= 1800)
    assert 5 < in_session.median() < 600  # seconds to minutes
    # Many customers come back: a 30-minute sessionizer finds several sessions.
    assert (per_customer["sessions"] >= 2).mean() > 0.5
    assert (per_customer["sessions"] >= 4).mean() > 0.1
    assert (gaps > 86_400).mean() > 0.05  # multi-day gaps occur
    # Same-second ties occur, but only occasionally.
    ties = (gaps == 0).mean()
    assert 0.005 < ties < 0.08


# --------------------------------------------------------------------------- #
# sizes and shares
# --------------------------------------------------------------------------- #
def test_journey_lengths(data: SampleData, per_customer: pl.DataFrame) -> None:
    lengths = per_customer["n"]
    assert 9.0 < data.events.height / N < 11.5
    assert lengths.max() <= 60
    assert lengths.max() >= 40
    assert 0.005 < (lengths == 1).mean() < 0.05
    assert lengths.std() > 4  # varied


@pytest.mark.parametrize(
    "weights",
    [
        None,
        {"straight_buyer": 1, "researcher": 3},
        {"struggler": 0.2, "stalled_churner": 0.2, "app_first": 0.6},
        dict.fromkeys(ARCHETYPES, 1.0),
    ],
)
def test_archetype_shares_follow_weights(weights: dict[str, float] | None) -> None:
    customers = generate(N, seed=11, archetype_weights=weights).customers
    expected = weights or {
        "straight_buyer": 0.30,
        "researcher": 0.20,
        "struggler": 0.15,
        "stalled_churner": 0.15,
        "app_first": 0.20,
    }
    total = sum(expected.values())
    shares = dict(customers["archetype"].value_counts(normalize=True).iter_rows())
    for name in ARCHETYPES:
        assert shares.get(name, 0.0) == pytest.approx(expected.get(name, 0) / total, abs=0.015)


def test_single_archetype() -> None:
    customers = generate(500, seed=2, archetype_weights={"researcher": 2.5}).customers
    assert set(customers["archetype"]) == {"researcher"}


@pytest.mark.parametrize(("n_events", "seed"), [(3_000, 0), (25_000, 1), (120_000, 2)])
def test_events_for_hits_target(n_events: int, seed: int) -> None:
    data = events_for(n_events, seed=seed)
    assert abs(data.events.height - n_events) <= 0.05 * n_events


def test_events_for_passes_arguments() -> None:
    data = events_for(5_000, seed=4, archetype_weights={"app_first": 1}, survey_rate=0.0)
    assert abs(data.events.height - 5_000) <= 250
    assert set(data.customers["archetype"]) == {"app_first"}
    assert data.customers["survey_score"].null_count() == data.customers.height
    assert events_for(5_000, seed=4).events.equals(events_for(5_000, seed=4).events)


# --------------------------------------------------------------------------- #
# archetype behaviour
# --------------------------------------------------------------------------- #
def test_archetypes_differ(per_customer: pl.DataFrame) -> None:
    by = {
        row["archetype"]: row
        for row in per_customer.group_by("archetype")
        .agg(
            pl.col("n").mean(),
            pl.col("search_pv").mean(),
            pl.col("app_share").mean(),
            (pl.col("last") == "cancel").mean().alias("ends_cancel"),
            pl.col("support").mean(),
            pl.col("span_days").median(),
        )
        .iter_rows(named=True)
    }
    straight, researcher = by["straight_buyer"], by["researcher"]
    assert researcher["search_pv"] > 4 * straight["search_pv"]
    assert researcher["search_pv"] > 1.5
    assert researcher["n"] > 1.4 * straight["n"]
    assert by["app_first"]["app_share"] > 0.75
    for name in ("straight_buyer", "researcher", "struggler", "stalled_churner"):
        assert by[name]["app_share"] < 0.35
    for name in ("straight_buyer", "researcher", "stalled_churner", "app_first"):
        assert by[name]["support"] < by["struggler"]["support"] / 5
    assert by["struggler"]["support"] > 4
    assert by["stalled_churner"]["ends_cancel"] > 0.75
    for name in ("straight_buyer", "researcher", "struggler", "app_first"):
        assert by[name]["ends_cancel"] < 0.1
    # Stalled churners spread few events over weeks; straight buyers finish in a day.
    assert by["stalled_churner"]["span_days"] > 7
    assert straight["span_days"] < 1


def test_outcomes_by_archetype(data: SampleData) -> None:
    by = {
        row["archetype"]: row
        for row in data.customers.group_by("archetype")
        .agg(
            pl.col("converted").mean(),
            pl.col("churned").filter(pl.col("converted")).mean().alias("churn"),
        )
        .iter_rows(named=True)
    }
    assert by["straight_buyer"]["converted"] > 0.9
    assert by["straight_buyer"]["churn"] < 0.15
    assert 0.3 < by["researcher"]["converted"] < 0.7
    assert by["struggler"]["converted"] > 0.8
    assert by["struggler"]["churn"] > 2 * by["straight_buyer"]["churn"]
    assert by["stalled_churner"]["churn"] > 0.8


# --------------------------------------------------------------------------- #
# outcome columns
# --------------------------------------------------------------------------- #
def test_converted_means_purchase_event(data: SampleData) -> None:
    bought = data.events.filter(pl.col("touchpoint") == "purchase")["customer_id"].unique()
    cust = data.customers
    assert set(cust.filter(pl.col("converted"))["customer_id"]) == set(bought)
    assert (cust.filter(pl.col("converted"))["revenue"] > 0).all()
    assert (cust.filter(~pl.col("converted"))["revenue"] == 0.0).all()
    assert not cust.filter(pl.col("churned") & ~pl.col("converted")).height
    # Churn follows behaviour: cancelling customers nearly always churned.
    cancelled = data.events.filter(pl.col("touchpoint") == "cancel")["customer_id"]
    churn_if_cancel = cust.filter(pl.col("customer_id").is_in(cancelled.implode()))["churned"]
    assert churn_if_cancel.mean() > 0.85


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.6])
def test_survey_answer_rate(rate: float) -> None:
    scores = generate(N, seed=5, survey_rate=rate).customers["survey_score"]
    assert scores.is_not_null().mean() == pytest.approx(rate, abs=0.015)
    answered = scores.drop_nulls()
    assert answered.min() >= 0
    assert answered.max() <= 10


def test_survey_rate_extremes() -> None:
    assert generate(500, seed=1, survey_rate=0.0).customers["survey_score"].null_count() == 500
    assert generate(500, seed=1, survey_rate=1.0).customers["survey_score"].null_count() == 0


def test_perception_gap() -> None:
    """Answering customers are happier than everyone would be if all answered."""
    some = generate(N, seed=9, survey_rate=0.2)
    everyone = generate(N, seed=9, survey_rate=1.0)
    # The survey rate changes who answers, nothing else.
    assert some.events.equals(everyone.events)
    assert some.customers.drop("survey_score").equals(everyone.customers.drop("survey_score"))
    both = some.customers.select("customer_id", "survey_score").join(
        everyone.customers.select("customer_id", all_score="survey_score"), on="customer_id"
    )
    answered = both.filter(pl.col("survey_score").is_not_null())
    assert (answered["survey_score"] == answered["all_score"]).all()
    population_mean = everyone.customers["survey_score"].mean()
    answered_mean = answered["survey_score"].mean()
    assert isinstance(population_mean, float)
    assert isinstance(answered_mean, float)
    assert answered_mean > population_mean + 0.4


def test_score_follows_outcome() -> None:
    cust = generate(N, seed=9, survey_rate=1.0).customers
    churned = cust.filter(pl.col("churned"))["survey_score"].mean()
    kept = cust.filter(pl.col("converted") & ~pl.col("churned"))["survey_score"].mean()
    assert isinstance(churned, float)
    assert isinstance(kept, float)
    assert kept > churned + 1.5


# --------------------------------------------------------------------------- #
# argument validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_customers": 0}, "n_customers"),
        ({"n_customers": -5}, "n_customers"),
        ({"n_customers": 2.5}, "n_customers"),
        ({"n_customers": True}, "n_customers"),
        ({"days": 0}, "days"),
        ({"survey_rate": -0.1}, "survey_rate"),
        ({"survey_rate": 1.5}, "survey_rate"),
        ({"survey_rate": float("nan")}, "survey_rate"),
        ({"seed": -1}, "seed"),
        ({"start": "not a date"}, "start"),
        ({"start": 20260101}, "start"),
        ({"archetype_weights": {"shopper": 1.0}}, "archetype_weights"),
        ({"archetype_weights": {"researcher": -1.0}}, "archetype_weights"),
        ({"archetype_weights": {"researcher": float("inf")}}, "archetype_weights"),
        ({"archetype_weights": {"researcher": 0.0}}, "archetype_weights"),
        ({"archetype_weights": {}}, "archetype_weights"),
        ({"ids": "uuid"}, "ids"),
        ({"order": "sorted"}, "order"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        generate(**kwargs)  # type: ignore[arg-type]


def test_invalid_events_for() -> None:
    with pytest.raises(ValueError, match="n_events"):
        events_for(0)
    with pytest.raises(ValueError, match="archetype_weights"):
        events_for(100, archetype_weights={"nobody": 1.0})


# --------------------------------------------------------------------------- #
# id kinds and row orders
# --------------------------------------------------------------------------- #
def test_id_kinds_name_the_same_customers() -> None:
    dense = generate(300, seed=2)
    for ids in ("text", "sparse"):
        other = generate(300, seed=2, ids=ids)  # type: ignore[arg-type]
        numbers = other.customers["customer_id"]
        assert numbers.is_unique().all()
        as_dense = dict(zip(numbers.to_list(), range(1, 301), strict=True))
        for frame, want in ((other.events, dense.events), (other.customers, dense.customers)):
            mapped = frame.with_columns(pl.col("customer_id").replace_strict(as_dense))
            assert mapped.equals(want)
    assert generate(3, ids="text").customers["customer_id"].to_list() == ["c1", "c2", "c3"]
    sparse = generate(2_000, ids="sparse").customers["customer_id"]
    assert sparse.min() < -(2**60)  # type: ignore[operator]
    assert sparse.max() > 2**60  # type: ignore[operator]


def test_row_orders_are_the_same_events() -> None:
    shuffled = generate(400, seed=3).events
    by_time = generate(400, seed=3, order="time").events
    grouped = generate(400, seed=3, order="customer").events
    # grouped: customers 1..n, each in time order; by time: that, stably sorted by time
    assert grouped["customer_id"].is_sorted()
    assert grouped.equals(grouped.sort("customer_id", "timestamp", maintain_order=True))
    assert by_time.equals(grouped.sort("timestamp", maintain_order=True))
    assert not shuffled["timestamp"].is_sorted()
    assert shuffled.sort(shuffled.columns).equals(grouped.sort(grouped.columns))
