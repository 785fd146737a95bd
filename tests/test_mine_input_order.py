"""Mining gives the same tables however the rows arrive and whatever the ids look like.

The same sample events are written in time order (customers interleaved, as
logs arrive), grouped by customer, and shuffled, with dense integer ids, text
ids and sparse 64-bit integer ids. Every table must be identical, once the
ids are mapped back to one kind; text and sparse ids sort differently from
the dense ones, so journeys are put back in dense-id order for the
comparison (within a journey, rows must already agree).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import polars as pl
import pytest

import journeygraph as jg
from journeygraph import datasets

CUSTOMERS = 1_200  # about 12k events: the id grouping splits them into hash partitions
IDS = ("dense", "text", "sparse")
ORDERS = ("time", "customer", "shuffled")
OPTIONS: list[dict[str, Any]] = [
    {},
    {"session_gap": "30m", "journey": "session", "collapse_repeats": True},
    {"by_channel": True, "session_gap": "1h"},
]


@cache
def generated(ids: str, order: str = "customer") -> datasets.SampleData:
    return datasets.generate(CUSTOMERS, seed=7, ids=ids, order=order)  # type: ignore[arg-type]


def sample(ids: str, order: str, ties: bool) -> pl.DataFrame:
    """The sample events in ``order``, with ``seq``: each event's step in its customer's journey.

    The generator writes grouped events in step order; time order is a stable
    sort of those by time, as in `datasets.generate`. Without ``ties`` each
    customer's k-th event is moved k microseconds later, so no customer has two
    events at one time (the sample has such ties).
    """
    grouped = generated(ids).events
    events = grouped.with_columns(pl.int_range(pl.len()).over("customer_id").alias("seq"))
    if not ties:
        events = events.with_columns(pl.col("timestamp") + pl.duration(microseconds=pl.col("seq")))
    if order == "time":
        return events.sort("timestamp", maintain_order=True)
    if order == "shuffled":
        return events.sample(fraction=1.0, shuffle=True, seed=11)
    return events


def dense_of(ids: str) -> dict[Any, int]:
    """Each id of kind ``ids`` -> the dense id of the same customer."""
    dense = generated("dense").customers["customer_id"]
    other = generated(ids).customers["customer_id"]
    return dict(zip(other.to_list(), dense.to_list(), strict=True))


def tables(events: pl.DataFrame, tie_breaker: bool, options: dict[str, Any]) -> dict[str, Any]:
    log = jg.read_events(events, **datasets.COLUMNS, tie_breaker="seq" if tie_breaker else None)
    j = jg.mine(log, **options)
    return {
        "edges": j.edges,
        "nodes": j.nodes,
        "stats": j.stats,
        "aggregate_edges": j.aggregate_edges,
        "aggregate_nodes": j.aggregate_nodes,
        "variants": j.variants(),
    }


def journey_parts(session: bool, integer_ids: bool) -> tuple[pl.Expr, pl.Expr]:
    """The customer id and session number of a ``journey`` id."""
    if not session:
        return pl.col("journey"), pl.lit(0)
    parts = pl.col("journey").str.split_exact("#", 1)
    customer = parts.struct.field("field_0")
    number = parts.struct.field("field_1").cast(pl.Int64)
    return customer.cast(pl.Int64) if integer_ids else customer, number


def in_journey_order(table: pl.DataFrame, session: bool, integer_ids: bool) -> bool:
    """Whether journeys come in order of customer id (the id's own order), then session."""
    customer, number = journey_parts(session, integer_ids)
    keys = table.select(customer.alias("c"), number.alias("n"))
    return keys.equals(keys.sort("c", "n", maintain_order=True))


def in_dense_ids(table: pl.DataFrame, mapping: dict[Any, int], session: bool) -> pl.DataFrame:
    """``table`` with its journey and customer ids mapped to dense ids, journeys in that order."""
    if "journey" not in table.columns:
        return table
    customer, number = journey_parts(session, set(map(type, mapping)) == {int})
    dense = customer.replace_strict(mapping, return_dtype=pl.Int64)
    journey = pl.format("{}#{}", dense, number) if session else dense
    out = table.with_columns(dense.alias("_c"), number.alias("_n"), journey.alias("journey"))
    if "customer" in out.columns:
        out = out.with_columns(pl.col("customer").replace_strict(mapping, return_dtype=pl.Int64))
    return out.sort("_c", "_n", maintain_order=True).drop("_c", "_n")


@pytest.mark.parametrize("tie_breaker", [False, True], ids=["no ties", "tie_breaker"])
def test_tables_identical_across_input_orders_and_id_kinds(tie_breaker: bool) -> None:
    expected = [
        tables(sample("dense", "customer", ties=tie_breaker), tie_breaker, options)
        for options in OPTIONS
    ]
    for ids in IDS:
        mapping = dense_of(ids)
        for order in ORDERS:
            events = sample(ids, order, ties=tie_breaker)
            for options, want in zip(OPTIONS, expected, strict=True):
                got = tables(events, tie_breaker, options)
                session = options.get("journey") == "session"
                for name, table in got.items():
                    if "journey" in table.columns:
                        assert in_journey_order(table, session, ids != "text"), (ids, name)
                    mapped = in_dense_ids(table, mapping, session)
                    if ids == "dense" or "journey" not in table.columns:
                        assert table.equals(want[name]), (ids, order, options, name)
                    assert mapped.equals(in_dense_ids(want[name], dense_of("dense"), session)), (
                        ids,
                        order,
                        options,
                        name,
                    )
