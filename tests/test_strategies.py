"""journeygraph.strategies: generated logs read cleanly, maps are valid, journeys conform."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import journeygraph as jg
from journeygraph.strategies import (
    OFF_MAP_TOUCHPOINT,
    event_logs,
    journey_maps,
    journeys_following,
    journeys_with_deviations,
)

FAST = settings(max_examples=30, deadline=None)


def read(df: pl.DataFrame | pl.LazyFrame, **kwargs: Any) -> jg.EventLog:
    return jg.read_events(
        df, customer="customer", timestamp="timestamp", touchpoint="touchpoint", **kwargs
    )


@FAST
@given(event_logs(channels=["web", "app", "store"], attributes={"score": st.integers(0, 10)}))
def test_logs_read_cleanly(df: pl.DataFrame) -> None:
    assert df.schema == pl.Schema(
        {  # type: ignore[arg-type]
            "customer": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "touchpoint": pl.String,
            "channel": pl.String,
            "score": pl.Int64,
        }
    )
    log = read(df, channel="channel")
    assert log.report.rows_kept == df.height
    assert log.has_channel
    assert log.attributes == ["score"]
    assert set(df["channel"]) <= {"web", "app", "store"}


@FAST
@given(event_logs(customers=(2, 4), events=(3, 6), touchpoints=st.sampled_from("xyz")))
def test_bounds_respected(df: pl.DataFrame) -> None:
    per_customer = df.group_by("customer").len()
    assert 2 <= per_customer.height <= 4
    assert per_customer["len"].min() >= 3  # type: ignore[operator]
    assert per_customer["len"].max() <= 6  # type: ignore[operator]
    assert set(df["touchpoint"]) <= set("xyz")


@FAST
@given(event_logs(ties=False, span=dt.timedelta(minutes=5), events=(2, 8)))
def test_no_ties_and_span(df: pl.DataFrame) -> None:
    assert df.group_by("customer").agg(pl.col("timestamp").is_unique().all())["timestamp"].all()
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert df["timestamp"].min() >= start  # type: ignore[operator]
    assert df["timestamp"].max() <= start + dt.timedelta(minutes=5)  # type: ignore[operator]


@FAST
@given(event_logs(lazy=True))
def test_lazy(lf: pl.LazyFrame) -> None:
    assert isinstance(lf, pl.LazyFrame)
    log = read(lf)
    assert log.report.rows_kept == lf.collect().height


@FAST
@given(event_logs(invalid=4))
def test_invalid_rows(df: pl.DataFrame) -> None:
    planted = df.filter(pl.any_horizontal(pl.col("customer", "timestamp", "touchpoint").is_null()))
    if planted.height:
        with pytest.raises(jg.InvalidEventsError):
            read(df)
    log = read(df, on_invalid="drop")
    assert sum(log.report.dropped.values()) == planted.height
    assert log.report.rows_kept == df.height - planted.height


@FAST
@given(journey_maps())
def test_maps_valid(jmap: jg.JourneyMap) -> None:
    assert 1 <= len(jmap.stages) <= 5
    # rebuilding from its own data validates again
    assert jg.JourneyMap.from_dict(jmap.to_dict()) == jmap
    assert jmap.accepts(jmap.shortest_path())
    owned = [tp for s in jmap.stages for tp in s.touchpoints]
    assert len(owned) == len(set(owned))
    assert set(owned) <= {"home", "search", "product", "cart", "pay"}


@FAST
@given(journey_maps(touchpoints=st.text("abcdef", min_size=1, max_size=3), min_stages=2))
def test_maps_from_touchpoint_strategy(jmap: jg.JourneyMap) -> None:
    assert 2 <= len(jmap.stages) <= 5
    assert jmap.accepts(jmap.shortest_path())


@FAST
@given(journey_maps(optional=False, loops=False))
def test_maps_plain(jmap: jg.JourneyMap) -> None:
    assert not jmap.transitions
    assert not any(s.optional for s in jmap.stages)
    assert jmap.shortest_path() == jmap.stage_names


@FAST
@given(st.data())
def test_following_journeys_conform(data: st.DataObject) -> None:
    jmap = data.draw(journey_maps(), label="jmap")
    df = data.draw(journeys_following(jmap, max_loops=2), label="df")
    ordered = df.sort("customer", "timestamp")
    assert (
        ordered.group_by("customer").agg(pl.col("timestamp").is_unique().all())["timestamp"].all()
    )
    customers = read(df).collect()
    div = jg.compare(jg.mine(read(df)), jmap)
    table = div.customers
    assert table.height == customers["customer"].n_unique()
    assert table["cost"].to_list() == [0] * table.height
    assert table["conforms"].all()
    assert div.deviations.height == 0


@FAST
@given(st.data())
def test_planted_deviations_found(data: st.DataObject) -> None:
    n = data.draw(st.integers(3, 5), label="stages")
    jmap = data.draw(journey_maps(min_stages=n, max_stages=n, optional=False, loops=False))
    kinds = ("skipped_stage", "off_map", "wrong_entry", "early_exit")
    df, planted = data.draw(journeys_with_deviations(jmap, kinds=kinds))
    div = jg.compare(jg.mine(read(df)), jmap)
    found = div.deviations.select(
        pl.col("journey").cast(pl.String).alias("customer"),
        pl.col("kind").cast(pl.String),
        "stage",
        "position",
    )
    assert sorted(found.rows(), key=str) == sorted(planted.rows(), key=str)
    assert div.customers["cost"].to_list() == [1] * planted.height
    assert (df["touchpoint"] == OFF_MAP_TOUCHPOINT).sum() == (planted["kind"] == "off_map").sum()


@FAST
@given(st.from_type(jg.JourneyMap))
def test_from_type(jmap: jg.JourneyMap) -> None:
    assert isinstance(jmap, jg.JourneyMap)


LINEAR = jg.JourneyMap.linear(["a", "b", "c"])
BAD_ARGS: list[tuple[Callable[..., st.SearchStrategy[Any]], dict[str, Any]]] = [
    (event_logs, {"customers": (3, 1)}),
    (event_logs, {"customers": (0, 2)}),
    (event_logs, {"customers": 3}),
    (event_logs, {"events": (5, 2)}),
    (event_logs, {"events": (1.0, 2)}),
    (event_logs, {"touchpoints": []}),
    (event_logs, {"touchpoints": "home"}),
    (event_logs, {"touchpoints": ["home", ""]}),
    (event_logs, {"channels": []}),
    (event_logs, {"span": dt.timedelta(0)}),
    (event_logs, {"span": dt.timedelta(seconds=-1)}),
    (event_logs, {"span": 3600}),
    (event_logs, {"span": dt.timedelta(microseconds=2), "ties": False}),
    (event_logs, {"ties": "yes"}),
    (event_logs, {"attributes": {"customer": st.integers()}}),
    (event_logs, {"attributes": {"score": [1, 2]}}),
    (event_logs, {"invalid": -1}),
    (event_logs, {"invalid": True}),
    (event_logs, {"lazy": 1}),
    (journey_maps, {"min_stages": 0}),
    (journey_maps, {"min_stages": 4, "max_stages": 2}),
    (journey_maps, {"touchpoints": ["a", "b"], "min_stages": 3}),
    (journey_maps, {"touchpoints": []}),
    (journey_maps, {"optional": None}),
    (journeys_following, {"jmap": "not a map"}),
    (journeys_following, {"jmap": LINEAR, "customers": (2, 1)}),
    (journeys_following, {"jmap": LINEAR, "max_loops": -1}),
    (journeys_with_deviations, {"jmap": jg.JourneyMap.linear(["a", "b"])}),
    (journeys_with_deviations, {"jmap": jg.JourneyMap.linear(["a", "b", "c"], optional=["b"])}),
    (journeys_with_deviations, {"jmap": LINEAR.model_copy(update={"transitions": (("c", "a"),)})}),
    (journeys_with_deviations, {"jmap": LINEAR, "kinds": ["loop"]}),
    (journeys_with_deviations, {"jmap": LINEAR, "kinds": []}),
    (journeys_with_deviations, {"jmap": LINEAR, "customers": (0, 1)}),
]


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    BAD_ARGS,
    ids=[f"{f.__name__}-{'-'.join(map(str, k))}-{i}" for i, (f, k) in enumerate(BAD_ARGS)],
)
def test_bad_arguments(
    factory: Callable[..., st.SearchStrategy[Any]], kwargs: dict[str, Any]
) -> None:
    args = dict(kwargs)
    jmap = args.pop("jmap", None)

    def build() -> None:
        strategy = factory(jmap, **args) if "jmap" in kwargs else factory(**args)
        strategy.validate()

    with pytest.raises(InvalidArgument):
        build()


def test_error_messages_are_clear() -> None:
    with pytest.raises(InvalidArgument, match=r"min 3 is greater than max 1"):
        event_logs(customers=(3, 1))
    with pytest.raises(InvalidArgument, match=r"span=.* must be positive"):
        event_logs(span=dt.timedelta(0))
    with pytest.raises(InvalidArgument, match=r"needs a linear map, but it has 2 stage"):
        journeys_with_deviations(jg.JourneyMap.linear(["a", "b"]))


def test_importing_strategies_first_registers_from_type() -> None:
    # importing the module imports hypothesis, which runs the entry point hook mid-import
    code = (
        "import journeygraph.strategies\n"
        "from hypothesis import strategies as st\n"
        "import journeygraph as jg\n"
        "assert isinstance(st.from_type(jg.JourneyMap).example(), jg.JourneyMap)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
