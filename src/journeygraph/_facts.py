"""The report's facts: every number the page shows, computed apart from the page (internal).

`facts_of` runs the analyses' public methods and keeps their results in one
`Facts`; ``_report_html`` only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import polars as pl

from ._customers import is_outcome_type
from .cluster import Archetypes, means_of, sums
from .compare import Divergence, Moments
from .mine import Journeys

if TYPE_CHECKING:
    from ._spark import SparkArchetypes, SparkDivergence, SparkJourneys

__all__ = ["THUMBNAIL_SUPPORT", "Facts", "facts_of"]

THUMBNAIL_SUPPORT = 0.2  # an archetype card's graph: transitions of at least 20 % of members


@dataclass(frozen=True)
class Facts:
    """Every number the report shows. Computed in `facts_of`; the page only formats them."""

    journeys: Journeys | SparkJourneys
    customers: pl.DataFrame | None  # the checked customer table, if any
    div: Divergence | SparkDivergence
    arch: Archetypes | SparkArchetypes
    proposed: float | None  # the proposed map's min_share, None when the map was given
    k_asked: int | str
    seed: int
    summary: dict[str, Any]  # Divergence.summary(), the one row
    overlay: nx.DiGraph[str]  # Divergence.overlay_graph()
    reach: pl.DataFrame  # Divergence.stage_reach()
    shadow: list[tuple[str, str, int]]  # busiest steps off the map: source, target, journeys
    exits: list[tuple[str, float]]  # last touchpoints and their share of journeys
    archetypes: pl.DataFrame  # Archetypes.table
    archetype_graphs: list[nx.DiGraph[str]]  # Archetypes.graph(i), for the full-size pages
    # Archetypes.graph(i, min_support=THUMBNAIL_SUPPORT): the main transitions, on the cards
    archetype_thumbnails: list[nx.DiGraph[str]]
    distinctive: list[pl.DataFrame]  # Archetypes.distinctive_edges(i, top=3)
    avoided: list[pl.DataFrame]  # Archetypes.distinctive_edges(i, top=3, direction="under")
    outcome: str | None
    outcome_kind: str | None  # "rate" (boolean outcome) or "mean"
    outcomes: list[tuple[str, str]]  # every outcome column of the archetype table, and its kind
    overall: dict[str, float | None]  # each outcome's mean over all journeys
    known: int  # customers whose outcome is known
    outcome_value: float | None  # the outcome's rate or mean over customers (each once)
    moments: Moments | None  # Divergence.drivers(reached=...) or drivers(outcome)
    drivers: pl.DataFrame | None  # moments.table, the top rows
    score: str | None
    gap_by: str | None  # the boolean outcome the perception gap is split by
    gap: pl.DataFrame | None  # Divergence.perception_gap(score, gap_by)
    n_customers: int = 0  # distinct customers of the journeys
    by: str | None = None  # what the report splits by (contrast, changes, funnel segments)
    by_name: str | None = None  # its name on the page: the column the user named
    every: str | None = None  # the period of "What changed"; None: the section is not shown


def facts_of(
    journeys: Journeys | SparkJourneys,
    div: Divergence | SparkDivergence,
    arch: Archetypes | SparkArchetypes,
    *,
    customers: pl.DataFrame | None,
    outcome: str | None,
    outcome_kind: str | None,
    score: str | None,
    proposed: float | None,
    k_asked: int | str,
    seed: int,
    top_shadow: int,
    top_drivers: int,
    reached: str | None = None,
) -> Facts:
    overlay = div.overlay_graph(top_shadow=top_shadow)
    # the overlay graph carries stage_reach() and overlay(): each costs seconds at 1M journeys
    stages = sorted(
        (d["index"], n, d) for n, d in overlay.nodes(data=True) if d.get("kind") == "stage"
    )
    reach = pl.DataFrame(
        [(n, d["reach"], d["reach_ideal"], d["drop_off"]) for _, n, d in stages],
        schema={"stage": pl.String, "reach": pl.Float64, "reach_ideal": pl.Float64,
                "drop_off": pl.Float64},
        orient="row",
    )  # fmt: skip
    shadow = sorted(
        ((u, v, d["journeys"]) for u, v, d in overlay.edges(data=True) if d["kind"] == "shadow"),
        key=lambda e: (-e[2], e[0], e[1]),
    )
    n = journeys.n_journeys
    exits = (
        journeys.aggregate_nodes.filter(pl.col("ends") > 0)
        .select(pl.col("touchpoint").cast(pl.String).alias("exit"), pl.col("ends").alias("len"))
        .sort(["len", "exit"], descending=[True, False])
    )
    table = arch.table
    # the outcome columns the archetype table averaged: numeric and boolean customer columns
    outcomes = [
        (c, "rate" if dtype == pl.Boolean else "mean")
        for c, dtype in ({} if customers is None else customers.schema).items()
        if c != "customer" and is_outcome_type(dtype) and c in table.columns
    ]
    outcomes.sort(key=lambda c: c[0] != outcome)
    if not isinstance(journeys, Journeys):  # Spark journeys: sums over partitions
        from . import _spark

        assert isinstance(div, _spark.SparkDivergence)

        columns = [c for c, _ in outcomes]
        overall = _spark.column_means(div.customers, columns, sums, means_of) if outcomes else {}
        ids = _spark.distinct_customers(journeys)
        n_customers = ids.len()
        # the customer table's rows of customers with journeys: each customer once
        per_customer: pl.DataFrame | None = (
            None
            if customers is None
            else customers.join(ids.to_frame("customer"), on="customer", how="semi")
        )
    else:
        assert isinstance(div, Divergence)
        means = div.customers.select(pl.col(c).cast(pl.Float64).mean() for c, _ in outcomes)
        overall = means.row(0, named=True) if outcomes else {}
        n_customers = journeys.stats.get_column("customer").n_unique()
        # customer columns are per customer: the headline counts each customer once
        per_customer = (
            div.customers.unique("customer", keep="first", maintain_order=True)
            if journeys.options.journey == "session"
            else div.customers
        )
    gap_by = outcome if outcome_kind == "rate" else None  # a numeric one: a group per value
    moments = (
        div.drivers(reached=reached)
        if reached is not None
        else div.drivers(outcome)
        if outcome is not None
        else None
    )
    return Facts(
        journeys=journeys,
        customers=customers,
        div=div,
        arch=arch,
        proposed=proposed,
        k_asked=k_asked,
        seed=seed,
        summary=div.summary().row(0, named=True),
        overlay=overlay,
        reach=reach,
        shadow=shadow,
        exits=[(str(tp), count / n) for tp, count in exits.iter_rows()],
        archetypes=table,
        archetype_graphs=[arch.graph(i) for i in arch],
        archetype_thumbnails=[arch.graph(i, min_support=THUMBNAIL_SUPPORT) for i in arch],
        distinctive=[arch.distinctive_edges(i, top=3) for i in arch],
        avoided=[arch.distinctive_edges(i, top=3, direction="under") for i in arch],
        outcome=outcome,
        outcome_kind=outcome_kind,
        outcomes=outcomes,
        overall=overall,
        known=0 if outcome is None or per_customer is None else per_customer[outcome].count(),
        outcome_value=(
            None
            if outcome is None or per_customer is None
            else per_customer.select(pl.col(outcome).cast(pl.Float64).mean()).item()
        ),
        moments=moments,
        drivers=None if moments is None else moments.table.head(top_drivers),
        score=score,
        gap_by=gap_by,
        gap=None if score is None else div.perception_gap(score, gap_by),
        n_customers=n_customers,
    )
