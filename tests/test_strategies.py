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
    assert log.report.rows_read == df.height
    assert log.report.rows_kept == df.unique().height  # exact duplicates dropped, counted
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
    assert log.report.rows_kept == lf.collect().unique().height


@FAST
@given(event_logs(invalid=4))
def test_invalid_rows(df: pl.DataFrame) -> None:
    planted = df.filter(pl.any_horizontal(pl.col("customer", "timestamp", "touchpoint").is_null()))
    if planted.height:
        with pytest.raises(jg.InvalidEventsError):
            read(df)
    log = read(df, on_invalid="drop", duplicates="keep")
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


KINDS = ("skipped_stage", "off_map", "out_of_order", "loop", "wrong_entry", "early_exit", "late")
# SLAs from one microsecond (tighter than a visit of three events) to days; "4.1s" and
# "2.01s" are one microsecond short when read as float seconds * 1e6
SLAS: st.SearchStrategy[str | dt.timedelta] = st.one_of(
    st.integers(1, 4).map(lambda us: dt.timedelta(microseconds=us)),
    st.sampled_from(["4.1s", "2.01s", "30m"]),
    st.integers(1, 10**11).map(lambda us: dt.timedelta(microseconds=us)),
)


@st.composite
def linear_maps(draw: st.DrawFn, kinds: tuple[str, ...]) -> jg.JourneyMap:
    """Linear maps of 3-5 stages with SLAs on some stages, fit to plant ``kinds``."""
    n = draw(st.integers(3, 5))
    base = draw(journey_maps(min_stages=n, max_stages=n, optional=False, loops=False))
    limits = draw(st.lists(st.none() | SLAS, min_size=n, max_size=n))
    if "late" in kinds and all(limit is None for limit in limits[:-1]):
        limits[draw(st.integers(0, n - 2))] = draw(SLAS)
    if "off_map" in kinds and all(t == dt.timedelta(microseconds=1) for t in limits[:-1]):
        limits[0] = None  # room for the off-map event (see test_bad_arguments)
    stages = {s.name: list(s.touchpoints) for s in base.stages}
    names = base.stage_names
    return jg.JourneyMap.linear(
        stages, max_time={name: t for name, t in zip(names, limits, strict=True) if t}
    )


def found_rows(df: pl.DataFrame, jmap: jg.JourneyMap) -> list[tuple[Any, ...]]:
    div = jg.compare(jg.mine(read(df)), jmap)
    found = div.deviations.select(
        pl.col("journey").cast(pl.String).alias("customer"),
        pl.col("kind").cast(pl.String),
        "stage",
        "position",
    )
    return sorted(found.rows(), key=str)


def check_where(df: pl.DataFrame, jmap: jg.JourneyMap, planted: pl.DataFrame) -> None:
    """Without compare: each planted position is the event its kind describes."""
    stage_of, index = jmap.stage_of, jmap.index_of
    names = jmap.stage_names
    for customer, kind, stage, at in planted.rows():
        events = df.filter(pl.col("customer") == customer).sort("timestamp")
        touchpoints, times = events["touchpoint"].to_list(), events["timestamp"].to_list()
        stages = [stage_of.get(tp) for tp in touchpoints]  # None off the map
        assert 0 <= at < len(stages)
        here = stages[at]
        assert at == 0 or stages[at - 1] != here, "a visit begins at the position"
        reached = max((index[s] for s in stages[:at] if s is not None), default=-1)
        if kind == "off_map":
            assert (touchpoints[at], stage) == (OFF_MAP_TOUCHPOINT, None)
            continue
        assert stage is not None
        assert here is not None
        if kind == "loop":
            assert here == stage
            assert index[stage] < reached
        elif kind == "out_of_order":
            assert here == stage
            assert index[stage] >= reached + 2
        elif kind == "skipped_stage":
            assert (reached, index[here]) == (index[stage] - 1, index[stage] + 1)
        elif kind == "wrong_entry":
            assert (at, here, stage) == (0, names[1], names[1])
        elif kind == "early_exit":
            assert here == stage == names[-2]
            assert set(stages[at:]) == {stage}
        else:  # late: from entering `stage` to entering the next stage at `at`
            entered = at - 1
            while entered > 0 and stages[entered - 1] == stage:
                entered -= 1
            limit = jmap.stages[index[stage]].max_time
            assert stages[entered] == stage
            assert index[here] == index[stage] + 1
            assert limit is not None
            assert times[at] - times[entered] > limit


def check_found(df: pl.DataFrame, jmap: jg.JourneyMap, planted: pl.DataFrame) -> None:
    assert found_rows(df, jmap) == sorted(planted.rows(), key=str)
    check_where(df, jmap, planted)
    table = jg.compare(jg.mine(read(df)), jmap).customers.sort("customer")
    costs = planted.sort("customer").select((pl.col("kind") != "late").cast(pl.Int64))
    assert table["cost"].to_list() == costs.to_series().to_list()  # late costs nothing
    n = len(jmap.stages)
    assert (table["cost"] <= table["visits"] + n).all()
    expected = 1 - table["cost"] / (table["visits"] + n)
    assert (table["fitness"] - expected).abs().max() < 1e-12  # type: ignore[operator]
    assert (df["touchpoint"] == OFF_MAP_TOUCHPOINT).sum() == (planted["kind"] == "off_map").sum()


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(data=st.data())
def test_each_planted_kind_found_where_planted(kind: str, data: st.DataObject) -> None:
    jmap = data.draw(linear_maps((kind,)), label="jmap")
    df, planted = data.draw(journeys_with_deviations(jmap, kinds=[kind]), label="case")
    assert set(planted["kind"]) == {kind}
    check_found(df, jmap, planted)


@FAST
@given(data=st.data())
def test_planted_deviations_found(data: st.DataObject) -> None:
    kinds = tuple(data.draw(st.lists(st.sampled_from(KINDS), min_size=1, unique=True)))
    jmap = data.draw(linear_maps(kinds), label="jmap")
    df, planted = data.draw(journeys_with_deviations(jmap, kinds=kinds), label="case")
    assert set(planted["kind"]) <= set(kinds)
    check_found(df, jmap, planted)


@FAST
@given(data=st.data(), shift=st.sampled_from([-1, 1]))
def test_a_wrong_position_would_be_caught(data: st.DataObject, shift: int) -> None:
    jmap = data.draw(linear_maps(KINDS), label="jmap")
    df, planted = data.draw(journeys_with_deviations(jmap, kinds=KINDS), label="case")
    moved = planted.with_columns(pl.col("position") + pl.lit(shift) * (pl.int_range(pl.len()) == 0))
    assert found_rows(df, jmap) != sorted(moved.rows(), key=str)
    with pytest.raises(AssertionError):
        check_where(df, jmap, moved)


@FAST
@given(data=st.data())
def test_following_journeys_keep_slas(data: st.DataObject) -> None:
    plain = data.draw(journey_maps(), label="plain")
    limits = data.draw(st.lists(SLAS, min_size=len(plain.stages), max_size=len(plain.stages)))
    spec = plain.to_dict()
    for stage, limit in zip(spec["stages"], limits, strict=True):
        stage["max_time"] = limit
    jmap = jg.JourneyMap.from_dict(spec)
    df = data.draw(journeys_following(jmap), label="df")
    assert jg.compare(jg.mine(read(df)), jmap).deviations.height == 0


@FAST
@given(st.from_type(jg.JourneyMap))
def test_from_type(jmap: jg.JourneyMap) -> None:
    assert isinstance(jmap, jg.JourneyMap)


LINEAR = jg.JourneyMap.linear(["a", "b", "c"])
SLA_ON_LAST = jg.JourneyMap.linear(["a", "b", "c"], max_time={"c": "1h"})
ONE_US = dt.timedelta(microseconds=1)
TIGHT = jg.JourneyMap.linear(["a", "b", "c"], max_time={"a": ONE_US, "b": ONE_US})
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
    (journeys_with_deviations, {"jmap": LINEAR, "kinds": ["lateness"]}),
    (journeys_with_deviations, {"jmap": LINEAR, "kinds": "loop"}),
    (journeys_with_deviations, {"jmap": LINEAR, "kinds": []}),
    (journeys_with_deviations, {"jmap": LINEAR, "kinds": ["loop", "late"]}),
    (journeys_with_deviations, {"jmap": SLA_ON_LAST, "kinds": ["late"]}),
    (journeys_with_deviations, {"jmap": TIGHT, "kinds": ["late", "off_map"]}),
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
    with pytest.raises(InvalidArgument, match=r"no stage before the last has a max_time"):
        journeys_with_deviations(LINEAR, kinds=["late"])
    with pytest.raises(InvalidArgument, match=r"cannot plant 'off_map': every stage"):
        journeys_with_deviations(TIGHT, kinds=["off_map"])


def test_tight_slas_still_plant_the_rest() -> None:
    # one microsecond per stage: every visit is one event; off_map has no room
    kinds = [k for k in KINDS if k != "off_map"]
    strategy = journeys_with_deviations(TIGHT, kinds=kinds, customers=(3, 5))

    @FAST
    @given(strategy)
    def check(case: tuple[pl.DataFrame, pl.DataFrame]) -> None:
        df, planted = case
        check_found(df, TIGHT, planted)

    check()


def test_importing_strategies_first_registers_from_type() -> None:
    # importing the module imports hypothesis, which runs the entry point hook mid-import
    code = (
        "import journeygraph.strategies\n"
        "from hypothesis import strategies as st\n"
        "import journeygraph as jg\n"
        "assert isinstance(st.from_type(jg.JourneyMap).example(), jg.JourneyMap)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
