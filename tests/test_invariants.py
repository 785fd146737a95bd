"""The engine's invariants, proved with the public strategies users get."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph.strategies import event_logs, journey_maps, journeys_following

COLUMNS = {"customer": "customer", "timestamp": "timestamp", "touchpoint": "touchpoint"}
ALPHABET = ("home", "search", "product", "cart", "pay", "chat")


def mine(frame: pl.DataFrame) -> jg.Journeys:
    return jg.mine(jg.read_events(frame, **COLUMNS))


@settings(max_examples=40, deadline=None)
@given(frame=event_logs(customers=(1, 4), events=(1, 10), touchpoints=ALPHABET))
def test_mining_loses_nothing_and_edges_count_transitions(frame: pl.DataFrame) -> None:
    journeys = mine(frame)
    stats = journeys.stats
    assert stats.get_column("events").sum() == frame.height == journeys.report.rows_read
    per_journey = journeys.edges.group_by("journey").agg(pl.col("count").sum().alias("n"))
    joined = stats.join(per_journey, on="journey", how="left").with_columns(
        pl.col("n").fill_null(0)
    )
    assert (joined.get_column("n") == joined.get_column("events") - 1).all()


@settings(max_examples=30, deadline=None)
@given(frame=event_logs(customers=(1, 4), events=(1, 8), touchpoints=ALPHABET), cut=st.data())
def test_merge_of_any_split_equals_the_union_and_output_is_deterministic(
    frame: pl.DataFrame, cut: st.DataObject
) -> None:
    mask = cut.draw(st.lists(st.booleans(), min_size=frame.height, max_size=frame.height))
    first, second = frame.filter(pl.Series(mask)), frame.filter(~pl.Series(mask))
    union = mine(pl.concat([first, second]))
    if first.height and second.height:
        merged = mine(first).merge(mine(second))
        for name in ("edges", "nodes", "stats", "aggregate_edges", "aggregate_nodes"):
            assert getattr(merged, name).equals(getattr(union, name)), name
    again = mine(pl.concat([first, second]))
    assert again.edges.equals(union.edges)
    assert again.stats.equals(union.stats)


@settings(max_examples=30, deadline=None)
@given(jmap=journey_maps(touchpoints=ALPHABET[:5]), frame=event_logs(touchpoints=ALPHABET))
def test_divergence_bounds_on_any_map_and_log(jmap: jg.JourneyMap, frame: pl.DataFrame) -> None:
    div = jg.compare(mine(frame), jmap)
    shortest = len(jmap.shortest_path())
    table = div.customers
    assert (table.get_column("cost") >= 0).all()
    assert (table.get_column("cost") <= table.get_column("visits") + shortest).all()
    assert table.get_column("fitness").is_between(0.0, 1.0).all()


@settings(max_examples=25, deadline=None)
@given(data=st.data(), jmap=journey_maps(touchpoints=ALPHABET))
def test_journeys_that_follow_the_map_cost_nothing(
    data: st.DataObject, jmap: jg.JourneyMap
) -> None:
    frame = data.draw(journeys_following(jmap))
    table = jg.compare(mine(frame), jmap).customers
    assert (table.get_column("cost") == 0).all()
    assert table.get_column("conforms").all()
    assert (table.get_column("fitness") == 1.0).all()
