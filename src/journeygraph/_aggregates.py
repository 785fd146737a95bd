"""The aggregate tables of journeys, from per-pair and per-variant sums (internal).

`journeygraph.mine.Journeys` and the Spark backend (`journeygraph._spark`)
both finish their aggregates here, so a weight is defined in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

import polars as pl

from ._errors import JourneygraphError
from ._frames import ratio

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["WEIGHTS", "Weight", "aggregate_graph_of", "edge_table", "variant_table"]

Weight = Literal["events", "customers", "share", "p_next", "p_prev", "median_time"]
WEIGHTS: tuple[str, ...] = get_args(Weight)


def edge_table(counted: pl.DataFrame, transitions: int) -> pl.DataFrame:
    """`Journeys.aggregate_edges` from per-pair sums (also the Spark backend's last step).

    ``counted`` has ``source`` and ``target`` (Enums of the vocabulary), the
    sums ``events``, ``customers`` and ``journeys``, and ``median_time``;
    ``transitions`` is the number of transitions of all journeys.
    """
    total = max(transitions, 1)
    pair = [pl.col("source").to_physical(), pl.col("target").to_physical()]
    return counted.sort(pair).select(
        "source",
        "target",
        pl.col("events").cast(pl.UInt64),
        pl.col("customers").cast(pl.UInt64),
        pl.col("journeys").cast(pl.UInt64),
        ratio(pl.col("events"), total).alias("share"),
        ratio(pl.col("events"), pl.col("events").sum().over("source")).alias("p_next"),
        ratio(pl.col("events"), pl.col("events").sum().over("target")).alias("p_prev"),
        "median_time",
    )


def variant_table(counted: pl.DataFrame, n_journeys: int) -> pl.DataFrame:
    """`Journeys.variants` from counts of each ``variant`` (a list of Enum touchpoints)."""
    # codes follow the sorted vocabulary, so comparing code lists compares names
    key = pl.col("variant").list.eval(pl.element().to_physical())
    return (
        counted.with_columns(key.alias("_key"))
        .sort(["journeys", "_key"], descending=[True, False])
        .select(
            "variant",
            pl.col("variant").list.len().alias("length"),
            "journeys",
            ratio(pl.col("journeys"), n_journeys).alias("share"),
            ratio(pl.col("journeys").cum_sum(), n_journeys).alias("cumulative_share"),
        )
    )


def aggregate_graph_of(
    nodes: pl.DataFrame, edges: pl.DataFrame, weight: Weight = "events"
) -> nx.DiGraph[Any]:
    """`Journeys.aggregate_graph` from the aggregate node and edge tables."""
    if weight not in WEIGHTS:
        msg = f"weight={weight!r} is not one of {list(WEIGHTS)}"
        raise JourneygraphError(msg)
    import networkx as nx  # only graphs need it

    g: nx.DiGraph[Any] = nx.DiGraph(weight=weight)
    for row in nodes.iter_rows(named=True):
        g.add_node(row.pop("touchpoint"), **row)
    for row in edges.iter_rows(named=True):
        source, target = row.pop("source"), row.pop("target")
        g.add_edge(source, target, weight=row[weight], **row)
    return g
