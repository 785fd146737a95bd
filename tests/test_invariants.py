"""The engine's invariants, proved with the public strategies users get."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph.strategies import event_logs, journey_maps, journeys_following

COLUMNS = {"customer": "customer", "timestamp": "timestamp", "touchpoint": "touchpoint"}
ALPHABET = ("home", "search", "product", "cart", "pay", "chat")


def mine(frame: pl.DataFrame) -> jg.Journeys:
    # keep exact duplicates: a duplicate split across two batches is one in their union
    return jg.mine(jg.read_events(frame, **COLUMNS, duplicates="keep"))


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
    journeys = mine(frame)
    map_touchpoints = {t for stage in jmap.stages for t in stage.touchpoints}
    if not map_touchpoints & set(journeys.touchpoints):  # nothing to compare: an error
        with pytest.raises(jg.JourneygraphError, match="none of the journey map's touchpoints"):
            jg.compare(journeys, jmap)
        return
    div = jg.compare(journeys, jmap)
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


# --------------------------------------------------------------------------- #
# archetypes
# --------------------------------------------------------------------------- #
@settings(max_examples=20, deadline=None)
@given(frame=event_logs(customers=(4, 12), events=(1, 8), touchpoints=ALPHABET))
def test_archetype_labels_partition_the_customers_and_predict_returns_them(
    frame: pl.DataFrame,
) -> None:
    journeys = mine(frame)
    assume(journeys.variants().height >= 2)
    arch = jg.cluster(journeys, k=2, seed=0)
    labels = arch.labels
    assert sorted(labels.get_column("customer").to_list()) == sorted(
        frame.get_column("customer").unique().to_list()
    )
    assert labels.get_column("archetype").is_in([0, 1]).all()
    assert arch.table.get_column("size").sum() == labels.height
    assert (
        arch.model.predict(journeys).get_column("archetype").equals(labels.get_column("archetype"))
    )


# --------------------------------------------------------------------------- #
# HTML: every node and edge in the page data, names escaped
# --------------------------------------------------------------------------- #
MARKUP = st.sampled_from(["<script>alert(1)</script>", "a&b", '"q"', "</script><b>", "é ü", "x"])


def page_data(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="journeygraph-data">(.*?)</script>',
                      text, re.S)  # fmt: skip
    assert match is not None
    assert "<script>alert" not in text
    return json.loads(match.group(1))  # type: ignore[no-any-return]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=event_logs(customers=(1, 4), events=(1, 8), touchpoints=MARKUP))
def test_every_node_and_edge_of_any_graph_is_in_the_page(
    frame: pl.DataFrame, tmp_path: Path
) -> None:
    journeys = mine(frame)
    first = journeys.stats.get_column("journey")[0]
    for graph in (journeys.aggregate_graph("customers"), journeys.graph(first)):
        data = page_data(jg.to_html(graph, tmp_path / "g.html"))
        names = {n["id"]: n["name"] for n in data["nodes"]}
        assert sorted(names.values()) == sorted(graph.nodes)
        shown = sorted((names[e["from"]], names[e["to"]]) for e in data["edges"])
        assert shown == sorted(graph.edges)
