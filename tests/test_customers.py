"""One customer table, three entry points: compare, cluster and report agree.

The same table goes through `jg.compare`, `jg.cluster` and `jg.report`: each
accepts it with the same values joined to the same customers, or rejects it
with the same message (naming the column, the types or the repeated ids, and
the fix).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import journeygraph as jg
from journeygraph import datasets

JMAP = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
K = 2


@cache
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events with text ids, the way a CSV export often has them ("17", not 17),
    and the customer table with integer ids, as a database gives them."""
    sample = datasets.generate(150, seed=4)
    events = sample.events.with_columns(pl.col("customer_id").cast(pl.String))
    return events, sample.customers.select("customer_id", "churned", "survey_score")


@cache
def log() -> jg.EventLog:
    return jg.read_events(data()[0], **datasets.COLUMNS)


@cache
def journeys() -> jg.Journeys:
    return jg.mine(log())


def canonical() -> pl.DataFrame:
    """The table as the engine wants it: a ``customer`` column of the events' id type."""
    return data()[1].rename({"customer_id": "customer"}).with_columns(pl.col("customer").cast(str))


def _compare(table: Any, **kw: Any) -> Any:
    div = jg.compare(journeys(), JMAP, customers=table, **kw)
    return div.customers.select("journey", "customer", "churned", "survey_score")


def _cluster(table: Any, **kw: Any) -> Any:
    return jg.cluster(journeys(), K, customers=table, **kw).table


def _report(table: Any, **kw: Any) -> Any:
    folder = Path(_tmp()) / "report"
    page = jg.report(log(), JMAP, folder, outcome="churned", customers=table, k=K, **kw)
    return page.read_bytes()


@cache
def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="jg-customers-")


ENTRY_POINTS: dict[str, Callable[..., Any]] = {
    "compare": _compare,
    "cluster": _cluster,
    "report": _report,
}


def _error(run: Callable[..., Any], table: Any, **kw: Any) -> str:
    with pytest.raises(jg.JourneygraphError) as info:
        run(table, **kw)
    return str(info.value)


# ----------------------------------------------------------------------- errors
def bad_tables() -> list[tuple[str, Any, dict[str, Any], str]]:
    good = canonical()
    return [
        (
            "one id on two rows",
            pl.concat([good, good.filter(pl.col("customer").is_in(["3", "5"]))]),
            {},
            r"2 customer ids on more than one row \(e\.g\. \['3', '5'\]\); give one row",
        ),
        (
            "ids that change when cast",
            good.with_columns(pl.col("customer").cast(pl.Int64).cast(pl.Float64) + 0.5),
            {},
            r"are Float64 and cannot be read as the events' String ids without changing them",
        ),
        (
            "rows without an id",
            good.with_columns(
                pl.when(pl.col("customer").is_in(["1", "2", "9"]))
                .then(None)
                .otherwise("customer")
                .alias("customer")
            ),
            {},
            r"3 rows of the customer table have no customer id",
        ),
        ("not a polars DataFrame", good.to_pandas(), {}, "must be a polars DataFrame, not"),
        ("customer= names no column", good, {"customer": "id"}, r"customer='id': .* no such"),
        (
            "both customer and customer=",
            good.with_columns(pl.col("customer").alias("id")),
            {"customer": "id"},
            r"has both 'customer' and customer='id'",
        ),
        ("no id column", good.rename({"customer": "who"}), {}, r"needs a 'customer'"),
    ]


@pytest.mark.parametrize("case", [c[0] for c in bad_tables()])
def test_every_entry_point_rejects_a_bad_table_alike(case: str) -> None:
    _, table, kw, pattern = next(c for c in bad_tables() if c[0] == case)
    messages = {name: _error(run, table, **kw) for name, run in ENTRY_POINTS.items()}
    for message in messages.values():
        assert re.search(pattern, message), messages
    if case != "no id column":  # the report also names the events' own id column there
        assert len(set(messages.values())) == 1, messages


# ------------------------------------------------------------------- accepted
def good_tables() -> dict[str, tuple[pl.DataFrame, dict[str, Any]]]:
    ints = data()[1].rename({"customer_id": "customer"})
    return {
        "integer ids against text ids (cast, nothing lost)": (ints, {}),
        "the id column named with customer=": (ints.rename({"customer": "id"}), {"customer": "id"}),
        "rows in another order": (canonical().reverse(), {}),
    }


@cache
def expected(name: str) -> Any:
    return ENTRY_POINTS[name](canonical())


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("case", list(good_tables()))
def test_every_entry_point_reads_a_good_table_alike(name: str, case: str) -> None:
    table, kw = good_tables()[case]
    got = ENTRY_POINTS[name](table, **kw)
    if isinstance(got, bytes):
        assert got == expected(name)
    else:
        assert got.equals(expected(name))


def test_the_joined_values_are_the_table_s() -> None:
    # independent of the engine: a plain dict of the table, looked up per journey
    by_id = {str(c): (churned, score) for c, churned, score in data()[1].rows()}
    joined = _compare(canonical())
    assert joined.height == journeys().n_journeys
    for _, customer, churned, score in joined.rows():
        assert (churned, score) == by_id[customer]


def test_the_events_own_id_column_name() -> None:
    own = data()[1].with_columns(pl.col("customer_id").cast(str))
    # the report knows the events' column name and takes it; compare and cluster
    # only have the journeys, so they ask for customer= and then agree
    assert _report(own) == expected("report")
    for name in ("compare", "cluster"):
        message = _error(ENTRY_POINTS[name], own)
        assert "needs a 'customer' column" in message
        assert "name yours with customer=" in message
        assert ENTRY_POINTS[name](own, customer="customer_id").equals(expected(name))


def test_a_table_of_other_ids_joins_nothing_and_is_not_rewritten() -> None:
    # "017" and "17" are different text ids: no cast happens, no id matches
    zeros = canonical().with_columns(pl.format("0{}", "customer").alias("customer"))
    joined = _compare(zeros)
    assert joined.get_column("churned").null_count() == joined.height
