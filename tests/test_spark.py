"""Tests of the Spark backend (``journeygraph._spark``) on ``local[2]``.

Parity: every table mined in Spark equals the local one (sorted by key) on a
realistic multi-session clickstream read from Parquet files (file order breaks
ties), on random logs (hypothesis; ties broken by the documented rule) and
with a tie-breaker column. Errors and ingest counts match the local ones.
"""

from __future__ import annotations

import ast
import datetime as dt
import html
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import journeygraph as jg
from journeygraph import _spark
from journeygraph._errors import LocalOnlyError
from journeygraph.strategies import event_logs
from realistic import COLUMNS, STAGES, realistic_log

SETTINGS = settings(
    max_examples=3,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
KEYS = {
    "edges": ["journey", "source", "target"],
    "nodes": ["journey", "touchpoint"],
    "stats": ["journey"],
}


def spark_types(frame: pl.DataFrame) -> pl.DataFrame:
    """A local table with the types Spark stores: names for Enums, int64 for unsigned."""

    def safe(dtype: pl.DataType) -> pl.DataType:
        if isinstance(dtype, pl.Enum):
            return pl.String()
        if dtype in (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
            return pl.Int64()
        if isinstance(dtype, pl.List):
            return pl.List(safe(dtype.inner))
        return dtype

    return frame.with_columns(pl.col(c).cast(safe(d)) for c, d in frame.schema.items())


def collected(frame: Any) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out.with_columns(
        pl.col(c).dt.convert_time_zone("UTC")
        for c, d in out.schema.items()
        if isinstance(d, pl.Datetime) and d.time_zone is not None
    )


def assert_same_journeys(remote: Any, local: jg.Journeys) -> None:
    """Every table of Spark journeys equals the local one."""
    for name, keys in KEYS.items():
        got = collected(getattr(remote, name)).sort(keys)
        want = spark_types(getattr(local, name)).sort(keys)
        assert_frame_equal(got, want, check_column_order=True)
    assert remote.touchpoints == local.touchpoints
    assert remote.n_journeys == local.n_journeys
    assert remote.n_events == local.n_events
    assert remote.report == local.report
    assert_frame_equal(remote.aggregate_edges, local.aggregate_edges)
    assert_frame_equal(remote.aggregate_nodes, local.aggregate_nodes)
    assert_frame_equal(remote.variants(), local.variants())
    want_graph = local.aggregate_graph("customers")
    got_graph = remote.aggregate_graph("customers")
    assert nx.utils.graphs_equal(got_graph, want_graph)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A realistic clickstream (text ids, sessions over months, duplicates) in two files."""
    log = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05)
    folder = tmp_path_factory.mktemp("shop")
    half = log.events.height // 2
    log.events.slice(0, half).write_parquet(folder / "part-0.parquet")
    log.events.slice(half).write_parquet(folder / "part-1.parquet")
    return folder


@pytest.fixture(scope="module")
def shop_journeys(spark: Any, shop: Path) -> tuple[Any, jg.Journeys]:
    """The shop's session journeys mined in Spark and locally (shared by the analyses)."""
    options = {"session_gap": "30m", "journey": "session"}
    remote = jg.mine(jg.read_events(spark.read.parquet(str(shop)), **COLUMNS), **options)
    local = jg.mine(jg.read_events(str(shop / "*.parquet"), **COLUMNS), **options)
    return remote, local


def test_import_does_not_import_pyspark() -> None:
    code = "import sys, journeygraph; assert 'pyspark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"session_gap": "30m", "journey": "session", "collapse_repeats": True},
        pytest.param(
            {"session_gap": "30m", "by_channel": True, "drop": {"account"}},
            marks=pytest.mark.slow,
        ),
    ],
    ids=["customer", "session", "channel-drop"],
)
def test_parquet_files_give_the_local_tables(
    spark: Any, shop: Path, options: dict[str, Any]
) -> None:
    remote_log = jg.read_events(spark.read.parquet(str(shop)), **COLUMNS)
    assert "file" in remote_log.tie_rule
    local_log = jg.read_events(str(shop / "*.parquet"), **COLUMNS)
    remote = jg.mine(remote_log, **options)
    local = jg.mine(local_log, **options)
    assert remote_log.report == local_log.report
    assert_same_journeys(remote, local)


def test_ties_follow_file_order_not_touchpoint_order(spark: Any, tmp_path: Path) -> None:
    # one customer, two events at the same time; the file says 'search' first
    frame = pl.DataFrame(
        {"user": ["u", "u", "u"], "ts": [5, 5, 9], "event": ["search", "home", "buy"]}
    )
    frame.write_parquet(tmp_path / "events.parquet")
    log = jg.read_events(
        spark.read.parquet(str(tmp_path)), customer="user", timestamp="ts", touchpoint="event"
    )
    edges = collected(jg.mine(log).edges).select("source", "target").rows()
    assert sorted(edges) == [("home", "buy"), ("search", "home")]


@SETTINGS
@given(frame=event_logs(customers=(1, 8), events=(1, 6), channels=["web", "app"]))
def test_random_logs_give_the_local_tables(spark: Any, frame: pl.DataFrame) -> None:
    columns = {
        "customer": "customer",
        "timestamp": "timestamp",
        "touchpoint": "touchpoint",
        "channel": "channel",
    }
    remote_log = jg.read_events(spark.createDataFrame(frame.to_arrow()), **columns)
    assert "touchpoint, then channel" in remote_log.tie_rule
    # the documented rule for frames not read from files: ties by touchpoint, then channel
    ordered = frame.sort("customer", "timestamp", "touchpoint", "channel", nulls_last=True)
    options = {"session_gap": "6h", "collapse_repeats": True}
    remote = jg.mine(remote_log, **options)
    local = jg.mine(jg.read_events(ordered, **columns), **options)
    assert_same_journeys(remote, local)


def test_tie_breaker_gives_the_local_tables(spark: Any) -> None:
    frame = pl.DataFrame(
        {
            "user": [3, 1, 1, 3, 1, 3, 2],
            "ts": ["2024-05-01T10:00:00Z"] * 4 + ["2024-05-01T10:05:00Z"] * 3,
            "seq": [2, 1, 0, 1, 2, 0, 0],
            "event": ["cart", "search", "home", "search", "cart", "home", "home"],
        }
    )
    columns = {"customer": "user", "timestamp": "ts", "touchpoint": "event", "tie_breaker": "seq"}
    remote_log = jg.read_events(spark.createDataFrame(frame.to_arrow()), **columns)
    assert "tie_breaker='seq'" in remote_log.tie_rule
    assert_same_journeys(jg.mine(remote_log), jg.mine(jg.read_events(frame, **columns)))


# Public names of the local results that the Spark results do not have. Each is a
# `_LocalOnly` stub on the Spark class: it raises LocalOnlyError naming itself and the
# call that gives it on this machine, and docs/spark.md lists it under "Not on Spark".
# A name added to a local class fails the test below until it is made on Spark or
# listed here (with a stub). `jg.funnel` returns the local `Funnel` on Spark too.
LOCAL_ONLY = {
    "SparkJourneys": {"core", "graphs", "merge"},
    "SparkDivergence": set(),
    "SparkArchetypes": set(),
}


def public_names(obj: object) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def spark_class_names(cls: type) -> set[str]:
    """A Spark class's public names without an instance (so without a Spark session):
    its class attributes and every ``self.<name> = ...`` in its methods."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    assigned = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    return public_names(cls) | {name for name in assigned if not name.startswith("_")}


def local_only_stubs(cls: type) -> set[str]:
    return {n for n in dir(cls) if isinstance(inspect.getattr_static(cls, n), _spark._LocalOnly)}


def test_every_local_name_is_on_spark_or_listed_as_local_only() -> None:
    frame = pl.DataFrame(
        {
            "user": ["a", "a", "b", "c"],
            "ts": [1, 2, 1, 1],
            "event": ["home", "cart", "home", "cart"],
        }
    )
    journeys = jg.mine(jg.read_events(frame, customer="user", timestamp="ts", touchpoint="event"))
    div = jg.compare(journeys, jg.JourneyMap.linear(["home", "cart"]))
    local = {
        "SparkJourneys": journeys,
        "SparkDivergence": div,
        "SparkArchetypes": jg.cluster(journeys, 2, seed=0),
    }
    notes = Path(__file__).parents[1] / "docs" / "spark.md"
    section = notes.read_text().split("### Not on Spark", 1)[1].split("\n## ", 1)[0]
    for name, result in local.items():
        cls = getattr(_spark, name)
        stubs = local_only_stubs(cls)
        assert stubs == LOCAL_ONLY[name], f"{name}: stubs {sorted(stubs)}"
        assert stubs <= public_names(result), f"{name} refuses names the local class lacks"
        missing = public_names(result) - spark_class_names(cls)
        assert not missing, (
            f"{type(result).__name__} has {sorted(missing)}, which {name} lacks: make them on "
            f"Spark, or add a _LocalOnly stub saying the local call and list them in LOCAL_ONLY"
        )
        for stub in sorted(stubs):
            assert f"`{name}.{stub}" in section, f"docs/spark.md does not list {name}.{stub}"


def refusal(action: Any) -> str:
    """The message of the LocalOnlyError that ``action()`` raises."""
    with pytest.raises(LocalOnlyError) as caught:
        action()
    assert isinstance(caught.value, jg.JourneygraphError)
    return str(caught.value)


def test_what_does_not_run_on_spark_says_how_to_work_locally(spark: Any) -> None:
    frame = pl.DataFrame(
        {"user": ["a", "a", "b"], "ts": [1, 2, 1], "event": ["home", "cart", "home"]}
    )
    later = pl.DataFrame({"user": ["a", "c"], "ts": [3, 5], "event": ["pay", "home"]})
    columns = {"customer": "user", "timestamp": "ts", "touchpoint": "event"}
    options = {"session_gap": "30m", "journey": "session"}  # journey ids are not customer ids
    events, other_events = (spark.createDataFrame(f.to_arrow()) for f in (frame, later))
    log = jg.read_events(events, **columns)
    remote, other = (
        jg.mine(log, **options),
        jg.mine(jg.read_events(other_events, **columns), **options),
    )
    local, local_other = (jg.mine(jg.read_events(f, **columns), **options) for f in (frame, later))
    jmap = jg.JourneyMap.linear(["home", "cart"])
    with pytest.raises(jg.JourneygraphError, match=r"the comparison of these journeys"):
        jg.cluster(remote, 2, jmap=jg.compare(remote.to_local(), jmap))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"use jg.mine\(log\)"):
        jg.compare(log, jmap)  # type: ignore[call-overload]
    assert jg.compare(remote.to_local(), jmap).customers.height == 2
    assert getattr(remote, "core", None) is None  # an AttributeError too

    # every local-only name says the call that gives its result here; the call does
    div = jg.compare(remote, jmap)
    names = {"jg": jg, "journeys": remote, "other": other, "div": div}
    names |= {"events": events, "other_events": other_events}
    calls = [
        (lambda: remote.core, "journeys.to_local().core"),
        (lambda: remote.graphs(), "journeys.to_local().graphs()"),
        (lambda: remote.merge(other), "journeys.to_local().merge(other.to_local())"),
        (
            lambda: remote.merge(other),
            "jg.mine(jg.read_events(events.unionByName(other_events), "
            "**journeys.log.schema.model_dump()), **journeys.options.model_dump())",
        ),
    ]
    got = {}
    for action, call in calls:
        message = refusal(action)
        assert call in message, message
        got[call] = eval(call, names)  # the advice, run as written
    merged = local.merge(local_other)
    assert_frame_equal(got[calls[0][1]].stats, local.core.stats)
    want = list(local.graphs())
    assert [g.graph for g in got[calls[1][1]]] == [g.graph for g in want]
    assert all(map(nx.utils.graphs_equal, got[calls[1][1]], want))
    assert_frame_equal(got[calls[2][1]].stats, merged.stats)
    assert_same_journeys(got[calls[3][1]], merged)
    # one journey's alignment: its customer's events compared on the driver; session
    # journeys, so the journey id is not the customer id; strict too
    for strict in (False, True):
        want = jg.compare(local, jmap, strict=strict)
        for journey in ("a#1", "b#1"):
            alignment = want.alignment(journey)
            assert alignment.height > 0
            got_alignment = jg.compare(remote, jmap, strict=strict).alignment(journey)
            assert_frame_equal(got_alignment, alignment)
    with pytest.raises(jg.JourneygraphError, match="no journey 'zz'"):
        div.alignment("zz")


def test_missing_column_is_the_local_error(spark: Any) -> None:
    frame = pl.DataFrame({"user": ["a"], "ts": [1], "event": ["home"]})
    remote = spark.createDataFrame(frame.to_arrow())
    with pytest.raises(jg.InvalidEventsError) as local_error:
        jg.read_events(frame, customer="user", timestamp="time", touchpoint="event")
    with pytest.raises(jg.InvalidEventsError) as remote_error:
        jg.read_events(remote, customer="user", timestamp="time", touchpoint="event")
    assert str(remote_error.value) == str(local_error.value)


def test_invalid_rows_are_counted_and_raised_as_locally(spark: Any) -> None:
    frame = pl.DataFrame(
        {
            "user": ["a", None, "b", "c", None, "c"],
            "ts": [
                "2024-05-01T10:00:00Z",
                "2024-05-01T10:01:00Z",
                "yesterday",
                None,
                None,
                "2024-05-02",
            ],
            "event": ["home", "home", "cart", "cart", "home", ""],
        }
    )
    columns = {"customer": "user", "timestamp": "ts", "touchpoint": "event"}
    remote = spark.createDataFrame(frame.to_arrow())
    with pytest.raises(jg.InvalidEventsError) as local_error:
        jg.read_events(frame, **columns)
    with pytest.raises(jg.InvalidEventsError) as remote_error:
        jg.read_events(remote, **columns).report  # noqa: B018
    assert remote_error.value.column == local_error.value.column == "user"
    assert remote_error.value.n_rows == local_error.value.n_rows == 5
    for line in str(local_error.value).splitlines()[1:]:
        column_and_count = line.split(", e.g.")[0]
        assert column_and_count in str(remote_error.value)
    dropped = jg.read_events(remote, **columns, on_invalid="drop")
    assert dropped.report == jg.read_events(frame, **columns, on_invalid="drop").report
    assert (
        jg.mine(dropped).report
        == jg.mine(jg.read_events(frame, **columns, on_invalid="drop")).report
    )


def test_filters_emptying_whole_partitions_are_counted(spark: Any, shop: Path) -> None:
    # few customers reach payment: most partitions' events are all filtered out
    start = dt.datetime(2024, 6, 1)
    options = {"keep": {"payment_done"}, "start": start}
    remote = jg.mine(jg.read_events(spark.read.parquet(str(shop)), **COLUMNS), **options)
    local = jg.mine(jg.read_events(str(shop / "*.parquet"), **COLUMNS), **options)
    assert remote.report == local.report
    with pytest.raises(jg.JourneygraphError, match="no events left after mining filters"):
        jg.mine(jg.read_events(spark.read.parquet(str(shop)), **COLUMNS), keep={"nothing"})


def test_graph_and_to_local_are_the_local_journeys(shop_journeys: tuple[Any, Any]) -> None:
    remote, local = shop_journeys
    journey = local.stats.get_column("journey")[5]
    want, got = local.graph(journey), remote.graph(journey)
    assert nx.utils.graphs_equal(got, want)
    assert got.graph == want.graph
    assert dict(got.nodes(data=True)) == dict(want.nodes(data=True))
    with pytest.raises(jg.JourneygraphError, match="no journey 'nobody'"):
        remote.graph("nobody")
    customers = local.stats.get_column("customer").unique().sort().head(7).to_list()
    some = remote.to_local(customers)
    # a sample has its own (smaller) vocabulary: compare touchpoints by name
    assert_frame_equal(
        spark_types(some.stats),
        spark_types(local.stats).filter(pl.col("customer").is_in(customers)),
    )


def test_exact_duplicates_are_dropped_and_counted_as_locally(spark: Any, tmp_path: Path) -> None:
    # retried calls repeat rows exactly, some in another file (another batch, another
    # task); rows equal but for an attribute are not duplicates
    events = realistic_log(40, seed=11, non_iso_rate=0.0, duplicate_rate=0.1).events
    events = events.with_columns(pl.lit("ok").alias("note"))
    again = events.gather_every(7)
    differs = events.gather_every(9, offset=3).with_columns(pl.lit("retry").alias("note"))
    events.write_parquet(tmp_path / "part-0.parquet")
    pl.concat([again, differs]).write_parquet(tmp_path / "part-1.parquet")
    local_log = jg.read_events(str(tmp_path / "*.parquet"), **COLUMNS)
    remote_log = jg.read_events(spark.read.parquet(str(tmp_path)), **COLUMNS)
    dropped = local_log.report.dropped["exact duplicate"]
    assert dropped >= again.height  # the copies in the other file are duplicates too
    assert remote_log.report == local_log.report
    assert_same_journeys(jg.mine(remote_log), jg.mine(local_log))
    kept = {**COLUMNS, "duplicates": "keep"}
    remote_kept = jg.read_events(spark.read.parquet(str(tmp_path)), **kept)
    assert remote_kept.report == jg.read_events(str(tmp_path / "*.parquet"), **kept).report
    assert remote_kept.report.rows_kept == remote_log.report.rows_read


def assert_same_divergence(remote: Any, local: Any, by: str | None = None) -> None:
    """Per-journey tables (Spark) and population tables (polars) equal the local ones."""
    keys = {"customers": ["journey"], "deviations": ["journey", "position", "kind"]}
    for name, key in keys.items():
        got = collected(getattr(remote, name)).sort(key)
        want = spark_types(getattr(local, name)).sort(key)
        assert_frame_equal(got, want)
    assert_frame_equal(remote.overlay(), local.overlay())
    assert_frame_equal(remote.stage_reach(), local.stage_reach())
    assert_frame_equal(remote.deviation_counts(), local.deviation_counts())
    assert_frame_equal(remote.summary(), local.summary())
    if by is not None:
        assert_frame_equal(remote.summary(by), local.summary(by))
    assert remote.conformance == pytest.approx(local.conformance, abs=1e-12)
    for top in (20, 1):
        want, got = local.overlay_graph(top_shadow=top), remote.overlay_graph(top_shadow=top)
        assert dict(got.nodes(data=True)) == dict(want.nodes(data=True))
        assert {(a, b): d for a, b, d in got.edges(data=True)} == {
            (a, b): d for a, b, d in want.edges(data=True)
        }


def assert_same_moments(remote: Any, local: Any, *, rows: bool = True) -> None:
    """Moments from Spark equal the local ones: every column and note, rows by key."""
    assert (remote.outcome, remote.reached, remote.kind, remote.unit, remote.notes) == (
        local.outcome,
        local.reached,
        local.kind,
        local.unit,
        local.notes,
    )
    assert local.table.height > 0 or not rows
    keys = ["feature", "stage"]
    assert_frame_equal(remote.table.sort(keys), local.table.sort(keys))


def test_compare_gives_the_local_tables(shop_journeys: tuple[Any, Any]) -> None:
    remote, local = shop_journeys
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    # a survey some customers answered: a small unsigned score, as survey tools export
    nps = pl.col("user_id").hash(3) % 11
    customers = customers.with_columns(
        pl.when(pl.col("user_id").hash(5) % 3 > 0).then(nps).cast(pl.UInt8).alias("nps")
    )
    # the shop's journeys skip stages, loop and leave the map: every table has rows
    jmap = jg.JourneyMap.linear(STAGES)
    options = {"customers": customers, "customer": "user_id"}
    div = jg.compare(remote, jmap, **options)
    want = jg.compare(local, jmap, **options)
    assert 0.05 < want.conformance < 0.95
    assert_same_divergence(div, want, by="plan")
    # sessions are rolled up to their customers in each partition
    for outcome in (None, "purchased", "plan"):
        assert_frame_equal(div.perception_gap("nps", outcome), want.perception_gap("nps", outcome))
    with pytest.raises(jg.JourneygraphError) as local_error:
        want.perception_gap("plan")
    with pytest.raises(jg.JourneygraphError) as remote_error:
        div.perception_gap("plan")
    assert str(remote_error.value) == str(local_error.value)
    # moments that matter: a customer outcome (sessions rolled up), a numeric one with
    # unknown values, and reaching a touchpoint (per session)
    for args, kwargs in [
        (("purchased",), {"min_journeys": 5}),
        (("nps",), {"min_journeys": 5}),
        ((), {"reached": "payment_done", "min_journeys": 5}),
    ]:
        assert_same_moments(div.drivers(*args, **kwargs), want.drivers(*args, **kwargs))
    for args, kwargs in [((), {}), (("plan",), {}), (("purchased",), {"reached": "cart"})]:
        with pytest.raises(jg.JourneygraphError) as local_error:
            want.drivers(*args, **kwargs)
        with pytest.raises(jg.JourneygraphError) as remote_error:
            div.drivers(*args, **kwargs)
        assert str(remote_error.value) == str(local_error.value)
    with pytest.raises(jg.JourneygraphError, match="no column 'tier' to split by"):
        div.summary("tier")


def test_later_passes_read_the_persisted_partitions_not_the_source(
    spark: Any, shop: Path, tmp_path: Path
) -> None:
    # mined from a copy of the files, which is then deleted: compare, drivers and
    # to_local still give the local results, so none of them reads the source again
    for part in shop.glob("*.parquet"):
        (tmp_path / part.name).write_bytes(part.read_bytes())
    options = {"session_gap": "30m", "journey": "session"}
    remote = jg.mine(jg.read_events(spark.read.parquet(str(tmp_path)), **COLUMNS), **options)
    local = jg.mine(jg.read_events(str(shop / "*.parquet"), **COLUMNS), **options)
    for part in tmp_path.glob("*.parquet"):
        part.unlink()
    jmap = jg.JourneyMap.linear(STAGES)
    div, want = jg.compare(remote, jmap), jg.compare(local, jmap)
    assert_frame_equal(div.stage_reach(), want.stage_reach())
    moments = ({"reached": "payment_done", "min_journeys": 5},)
    for kwargs in moments:
        assert_same_moments(div.drivers(**kwargs), want.drivers(**kwargs))
    customers = local.stats.get_column("customer").unique().sort().head(3).to_list()
    assert_frame_equal(
        spark_types(remote.to_local(customers).stats),
        spark_types(local.stats).filter(pl.col("customer").is_in(customers)),
    )
    div.unpersist()
    remote.unpersist()  # frees the events too: the next pass reads the (deleted) source
    with pytest.raises(Exception, match=r"(?i)not exist|FileNotFound"):
        jg.compare(remote, jmap).stage_reach()


def mined_both(spark: Any, frame: pl.DataFrame) -> tuple[Any, jg.Journeys]:
    """A random log (no channel) mined in Spark and locally, ties by the documented rule."""
    columns = {"customer": "customer", "timestamp": "timestamp", "touchpoint": "touchpoint"}
    ordered = frame.sort("customer", "timestamp", "touchpoint", nulls_last=True)
    remote = jg.mine(jg.read_events(spark.createDataFrame(frame.to_arrow()), **columns))
    return remote, jg.mine(jg.read_events(ordered, **columns))


@SETTINGS
@given(frame=event_logs(customers=(1, 8), events=(1, 6)), strict=st.booleans())
def test_compare_random_logs_gives_the_local_tables(
    spark: Any, frame: pl.DataFrame, strict: bool
) -> None:
    remote, local = mined_both(spark, frame)
    # a map over some of the touchpoints: the others are off the map
    touchpoints = local.touchpoints
    jmap = jg.JourneyMap.linear(touchpoints[: len(touchpoints) // 2 + 1])
    div, want = jg.compare(remote, jmap, strict=strict), jg.compare(local, jmap, strict=strict)
    assert_same_divergence(div, want)
    reached = {"reached": touchpoints[-1], "min_journeys": 1}
    assert_same_moments(div.drivers(**reached), want.drivers(**reached), rows=False)


@SETTINGS
@given(frame=event_logs(customers=(2, 10), events=(1, 8)), data=st.data())
def test_moments_and_gap_of_random_logs_are_the_local_ones(
    spark: Any, frame: pl.DataFrame, data: st.DataObject
) -> None:
    columns = {"customer": "customer", "timestamp": "timestamp", "touchpoint": "touchpoint"}
    ordered = frame.sort("customer", "timestamp", "touchpoint", nulls_last=True)
    options = {"session_gap": "1h", "journey": "session"}
    remote_log = jg.read_events(spark.createDataFrame(frame.to_arrow()), **columns)
    remote = jg.mine(remote_log, **options)
    local = jg.mine(jg.read_events(ordered, **columns), **options)
    ids = frame.get_column("customer").unique().sort()
    n = ids.len()
    customers = pl.DataFrame(
        {
            "customer": ids,
            "bought": data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "score": pl.Series(
                data.draw(st.lists(st.none() | st.integers(0, 10), min_size=n, max_size=n)),
                dtype=pl.Int64,
            ),
        }
    )
    touchpoints = local.touchpoints
    jmap = jg.JourneyMap.linear(touchpoints[: len(touchpoints) // 2 + 1])
    div = jg.compare(remote, jmap, customers=customers)
    want = jg.compare(local, jmap, customers=customers)
    # customer outcomes on session journeys: rolled up per partition, counted once
    for outcome in ("bought", "score"):
        got, expected = div.drivers(outcome, min_journeys=1), want.drivers(outcome, min_journeys=1)
        assert_same_moments(got, expected, rows=False)
        assert_frame_equal(
            div.perception_gap("score", outcome), want.perception_gap("score", outcome)
        )


def test_cluster_labels_every_journey_with_the_model_fitted_on_a_sample(
    shop_journeys: tuple[Any, Any],
) -> None:
    remote, local = shop_journeys
    arch = jg.cluster(remote, 3, seed=1, fraction=0.5, n_init=1)
    # the model is the one fitted on the sample of customers that to_local(fraction=) picks
    sample = remote.to_local(fraction=0.5, seed=1)
    assert 0.3 < sample.n_journeys / local.n_journeys < 0.7
    refit = jg.ArchetypeModel(3, seed=1, n_init=1).fit(sample)
    assert refit.feature_names_ == arch.model.feature_names_
    assert (refit.feature_log_prob_ == arch.model.feature_log_prob_).all()
    # every journey labelled in Spark as the same model labels the local journeys
    want = local.stats.select("journey", "customer").join(
        arch.model.predict(local), on="journey", maintain_order="left"
    )
    got = collected(arch.labels).sort("journey")
    assert_frame_equal(got, spark_types(want).sort("journey"))
    sizes = want.group_by("archetype").len("size").sort("archetype")
    assert_frame_equal(arch.sizes().select("archetype", "size"), sizes, check_dtypes=False)
    assert arch.sizes().get_column("share").sum() == pytest.approx(1.0)


def assert_same_archetypes(remote: Any, local: Any) -> None:
    """The description (table, graphs, distinctive transitions) equals the local one."""
    assert_frame_equal(remote.table, local.table)
    for of in ("entry", "exit"):
        assert_frame_equal(remote.distribution(of), local.distribution(of))
    for i in local:
        for support in (0.05, 0.2):
            want, got = local.graph(i, min_support=support), remote.graph(i, min_support=support)
            assert got.graph == want.graph
            assert dict(got.nodes(data=True)) == dict(want.nodes(data=True))
            assert sorted(got.edges(data=True)) == sorted(want.edges(data=True))
        for direction in ("over", "under"):
            assert_frame_equal(
                remote.distinctive_edges(i, top=3, direction=direction),
                local.distinctive_edges(i, top=3, direction=direction),
            )


def test_cluster_describes_archetypes_as_locally(shop_journeys: tuple[Any, Any]) -> None:
    remote, local = shop_journeys
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    jmap = jg.JourneyMap.linear(STAGES)
    # fitted on every customer: the local Archetypes of the same model and journeys
    arch = jg.cluster(
        remote, 3, seed=1, fraction=1.0, n_init=1, jmap=jmap, customers=customers,
        customer="user_id",
    )  # fmt: skip
    assert arch.sample.n_journeys == local.n_journeys
    want = jg.Archetypes(
        arch.model,
        local,
        divergence=jg.compare(local, jmap),
        customers=customers.rename({"user_id": "customer"}),
    )
    assert {"conformance", "with_loop", "purchased"} <= set(want.table.columns)
    assert want.table.get_column("size").min() > 0
    assert_same_archetypes(arch, want)
    with pytest.raises(jg.JourneygraphError, match="archetype must be an integer from 0 to 2"):
        arch.graph(3)
    # in a notebook: the local summaries, under the Spark class's name
    for spark_result, local_result in (
        (arch, want),
        (jg.compare(remote, jmap), jg.compare(local, jmap)),
    ):
        heading = f"<strong>{html.escape(repr(local_result))}</strong>"
        shown = local_result._repr_html_()
        assert heading in shown
        spark_heading = f"<strong>{html.escape(repr(spark_result))}</strong>"
        assert spark_result._repr_html_() == shown.replace(heading, spark_heading)
    summary = remote._repr_html_()
    assert f"<td>{local.n_journeys:,} ({local.options.journey}s)</td>" in summary
    assert f"<td>{local.n_events:,}</td>" in summary


def test_funnel_gives_the_local_tables(shop_journeys: tuple[Any, Any]) -> None:
    remote, local = shop_journeys
    jmap = jg.JourneyMap.linear(STAGES)
    steps = ["home", {"search", "catalog"}, "cart"]
    for options in ({"jmap": jmap}, {"steps": steps, "within": "10m"}):
        want = jg.funnel(local, **options)
        got = jg.funnel(remote, **options)
        assert want.table.get_column("journeys").min() > 0
        assert want.table.get_column("median_time").drop_nulls().len() > 0
        assert_frame_equal(got.table, want.table)
        assert_frame_equal(got.stopped, want.stopped)
    # split by a column of the customer table, and by each journey's last channel
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    table = customers.rename({"user_id": "customer"})
    for by in ("plan", "channel"):
        want = jg.funnel(local, jmap=jmap, by=by, customers=table)
        assert want.table.get_column("segment").n_unique() > 1
        got = jg.funnel(remote, jmap=jmap, by=by, customers=table)
        assert got.by == want.by
        assert_frame_equal(got.table, want.table)
        assert_frame_equal(got.stopped, want.stopped)
    # one row per journey: a Spark DataFrame of the local rows (by the last channel)
    assert want.journeys.get_column("reached").unique().len() > 2
    assert want.journeys.get_column("next").null_count() < want.journeys.height
    assert_frame_equal(
        collected(got.journeys).sort("journey"), spark_types(want.journeys).sort("journey")
    )


def test_contrast_gives_the_local_tables(shop_journeys: tuple[Any, Any]) -> None:
    remote, local = shop_journeys
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    table = customers.rename({"user_id": "customer"})
    jmap = jg.JourneyMap.linear(STAGES)
    for by in ("plan", "channel"):
        want = jg.contrast(local, by=by, customers=table, jmap=jmap, min_journeys=5)
        assert want.table.get_column("p_value").drop_nulls().len() > 10
        got = jg.contrast(remote, by=by, customers=table, jmap=jmap, min_journeys=5)
        assert got.by == want.by
        assert_frame_equal(got.groups, want.groups, check_dtypes=False)
        assert_frame_equal(got.table, want.table)
        group = want.groups.get_column("group")[0]
        assert nx.utils.graphs_equal(got.graph(group), want.graph(group))
    with pytest.raises(jg.JourneygraphError, match=r"contrast\(outcome=\) does not run on Spark"):
        jg.contrast(remote, by="plan", customers=table, outcome="purchased")


def kpis(page: Path) -> dict[str, str]:
    """The headline numbers of a report page (``data-kpi`` and ``data-value``)."""
    found = re.findall(r'data-kpi="([^"]+)" data-value="([^"]*)"', page.read_text("utf-8"))
    return dict(found)


def test_report_writes_the_local_page(shop_journeys: tuple[Any, Any], tmp_path: Path) -> None:
    remote, local = shop_journeys
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    jmap = jg.JourneyMap.linear(STAGES)
    options = {"customers": customers, "outcome": "purchased", "k": 3, "by": "plan", "every": "1w"}
    # fewer journeys than twice the model's sample size: fitted on all, as locally
    want = jg.report(local, jmap, tmp_path / "local", **options)
    got = jg.report(remote, jmap, tmp_path / "spark", **options)
    assert {"sessions", "customers", "conformance"} <= set(kpis(want))
    assert 'id="segments"' in want.read_text("utf-8")
    assert 'id="changed"' in want.read_text("utf-8")
    assert_same_pages(got, want)


def assert_same_pages(got: Path, want: Path) -> None:
    """The report page and every graph page are byte for byte the local ones."""
    assert kpis(got) == kpis(want)
    assert got.read_text("utf-8") == want.read_text("utf-8")
    pages = sorted(p.name for p in (want.parent / "graphs").iterdir())
    assert sorted(p.name for p in (got.parent / "graphs").iterdir()) == pages
    for name in pages:
        assert (got.parent / "graphs" / name).read_bytes() == (
            want.parent / "graphs" / name
        ).read_bytes()


def test_report_of_the_sample_data_with_a_score(spark: Any, tmp_path: Path) -> None:
    # integer ids, channels, customer journeys, a survey score: the perception gap too
    from journeygraph import datasets

    sample = datasets.generate(300, seed=2)
    events = sample.events.sort("customer_id", "timestamp", "touchpoint", "channel")
    remote = jg.mine(jg.read_events(spark.createDataFrame(events.to_arrow()), **datasets.COLUMNS))
    local = jg.mine(jg.read_events(events, **datasets.COLUMNS))
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    options = {"customers": sample.customers, "outcome": "churned", "k": 3}
    want = jg.report(local, jmap, tmp_path / "local", **options)
    text = want.read_text("utf-8")
    assert 'id="perception"' in text
    assert 'id="drivers"' in text
    assert_same_pages(jg.report(remote, jmap, tmp_path / "spark", **options), want)


def test_report_without_a_map_is_the_local_one(
    shop_journeys: tuple[Any, Any], tmp_path: Path
) -> None:
    remote, local = shop_journeys
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    options = {"customers": customers, "reached": "checkout", "k": 3}
    want = jg.report(local, None, tmp_path / "local", **options)
    got = jg.report(remote, None, tmp_path / "spark", **options)
    assert_same_pages(got, want)
    proposed = "proposed-map.yaml"
    assert (got.parent / proposed).read_bytes() == (want.parent / proposed).read_bytes()


def test_changes_gives_the_local_tables(shop_journeys: tuple[Any, Any]) -> None:
    remote, local = shop_journeys
    customers = realistic_log(300, seed=7, non_iso_rate=0.0, duplicate_rate=0.05).customers
    table = customers.rename({"user_id": "customer"})
    jmap = jg.JourneyMap.linear(STAGES)
    for options in ({"every": "1w"}, {"every": "2w", "by": "plan", "customers": table}):
        want = jg.changes(local, jmap=jmap, min_journeys=5, min_at_risk=5, **options)
        assert want.table.get_column("p_value").drop_nulls().len() > 10
        got = jg.changes(remote, jmap=jmap, min_journeys=5, min_at_risk=5, **options)
        assert_frame_equal(got.table, want.table)
        assert_frame_equal(got.episodes, want.episodes)
        assert_frame_equal(got.untested, want.untested)
    with pytest.raises(jg.JourneygraphError, match=r"changes\(outcome=\) does not run on Spark"):
        jg.changes(remote, customers=table, outcome="purchased")


def test_report_reads_outcomes_from_event_attributes_as_locally(spark: Any, tmp_path: Path) -> None:
    # no customer table: each customer's last value of every boolean or numeric attribute
    from journeygraph import datasets

    sample = datasets.generate(200, seed=4)
    outcomes = sample.customers.select("customer_id", "churned", "survey_score")
    events = sample.events.join(outcomes, on="customer_id", how="left")
    # only the last events of some customers carry the outcome; others never do
    last = pl.col("timestamp") == pl.col("timestamp").max().over("customer_id")
    events = events.with_columns(
        pl.when(last & (pl.col("customer_id") % 7 != 0))
        .then(pl.col("churned", "survey_score"))
        .otherwise(None)
    )
    events = events.sort("customer_id", "timestamp", "touchpoint", "channel")
    columns = datasets.COLUMNS
    remote_log = jg.read_events(spark.createDataFrame(events.to_arrow()), **columns)
    local_log = jg.read_events(events, **columns)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    options = {"outcome": "churned", "k": 2}
    want = jg.report(local_log, jmap, tmp_path / "local", **options)
    assert 'id="perception"' in want.read_text("utf-8")
    assert_same_pages(jg.report(remote_log, jmap, tmp_path / "spark", **options), want)


def test_csv_files_keep_file_and_row_order_for_ties(spark: Any, tmp_path: Path) -> None:
    # times written to the minute: many of one customer's events tie, in no name order
    events = realistic_log(120, seed=5, non_iso_rate=0.0, duplicate_rate=0.02).events
    events = events.with_columns(pl.col("ts").str.replace(r":\d\dZ$", ":00Z"))
    half = events.height // 2
    events.slice(0, half).write_csv(tmp_path / "part-0.csv")
    events.slice(half).write_csv(tmp_path / "part-1.csv")
    remote_log = jg.read_events(spark.read.csv(str(tmp_path), header=True), **COLUMNS)
    assert "file" in remote_log.tie_rule
    local_log = jg.read_events(str(tmp_path / "*.csv"), **COLUMNS)
    local = jg.mine(local_log)
    assert_same_journeys(jg.mine(remote_log), local)
    # the file order matters: ordering ties by name gives other journeys
    by_name = events.sort("user_id", "ts", "event", "platform", maintain_order=True)
    other = jg.mine(jg.read_events(by_name, **COLUMNS))
    assert not other.edges.sort(KEYS["edges"]).equals(local.edges.sort(KEYS["edges"]))


def test_compare_the_sample_data_with_an_optional_stage(spark: Any) -> None:
    # the library's sample: integer ids, a map with an optional stage, a segment column
    from journeygraph import datasets

    sample = datasets.generate(300, seed=2)
    events = sample.events.sort("customer_id", "timestamp", "touchpoint", "channel")
    remote = jg.mine(jg.read_events(spark.createDataFrame(events.to_arrow()), **datasets.COLUMNS))
    local = jg.mine(jg.read_events(events, **datasets.COLUMNS))
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    options = {"customers": sample.customers, "customer": "customer_id"}
    div, want = jg.compare(remote, jmap, **options), jg.compare(local, jmap, **options)
    assert_same_divergence(div, want, by="archetype")
    # customer journeys, sessions inferred from 30-minute gaps (a note says so)
    for args, kwargs in [(("churned",), {}), (("revenue",), {}), ((), {"reached": "purchase"})]:
        assert_same_moments(div.drivers(*args, **kwargs), want.drivers(*args, **kwargs))
    gap = div.perception_gap("survey_score", "churned")
    assert_frame_equal(gap, want.perception_gap("survey_score", "churned"))
    assert gap.get_column("group").to_list() == [
        "all",
        "conforms",
        "deviates",
        "churned=false",
        "churned=true",
    ]


CONNECT = """
import os, sys
import polars as pl
from polars.testing import assert_frame_equal
from pyspark.sql import SparkSession
import journeygraph as jg
from journeygraph import datasets

spark = (
    SparkSession.builder.remote("local[2]")
    .config("spark.sql.shuffle.partitions", "4")
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
assert type(spark).__module__.startswith("pyspark.sql.connect")
sample = datasets.generate(150, seed=3)
events = sample.events.sort("customer_id", "timestamp", "touchpoint", "channel")
remote = jg.mine(jg.read_events(spark.createDataFrame(events.to_pandas()), **datasets.COLUMNS))
local = jg.mine(jg.read_events(events, **datasets.COLUMNS))
assert remote.report == local.report
assert_frame_equal(remote.aggregate_edges, local.aggregate_edges)
assert_frame_equal(remote.variants(), local.variants())
jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
options = {"customers": sample.customers, "customer": "customer_id"}
div, want = jg.compare(remote, jmap, **options), jg.compare(local, jmap, **options)
assert_frame_equal(div.summary(), want.summary())
assert_frame_equal(div.overlay(), want.overlay())
assert dict(div.overlay_graph().nodes(data=True)) == dict(want.overlay_graph().nodes(data=True))
gap = div.perception_gap("survey_score", "churned")
assert_frame_equal(gap, want.perception_gap("survey_score", "churned"))
got, expected = div.drivers("churned"), want.drivers("churned")
assert got.notes == expected.notes
assert_frame_equal(got.table.sort("feature", "stage"), expected.table.sort("feature", "stage"))
spark.stop()
"""


@pytest.mark.slow
def test_spark_connect_gives_the_local_tables() -> None:
    # a Spark Connect session (a local server): no SparkContext on the client, the
    # server's workers run the same engine; its own process, apart from the classic session
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    subprocess.run([sys.executable, "-c", CONNECT], check=True, env=env, timeout=900)


def test_proposed_map_is_the_local_one(spark: Any, shop_journeys: tuple[Any, Any]) -> None:
    from journeygraph import _spark, datasets
    from journeygraph.journeymap import POSITION_KEYS, _placed, position_counts

    remote, local = shop_journeys
    # the placement of every touchpoint, from counts summed over partitions: bit for bit
    counts = _spark.table_sums(remote, position_counts, ("nodes", "stats"), POSITION_KEYS)
    assert_frame_equal(_placed(counts), _placed(position_counts(local.nodes, local.stats)))
    for kwargs in [
        {},
        {"min_share": 0.2, "max_stages": 3},
        {"reached": "payment_done", "max_stages": 4},
    ]:
        want = jg.JourneyMap.from_journeys(local, **kwargs)
        assert len(want.stages) >= 3
        assert jg.JourneyMap.from_journeys(remote, **kwargs) == want
    with pytest.raises(jg.JourneygraphError, match="reached='nowhere' is not a touchpoint"):
        jg.JourneyMap.from_journeys(remote, reached="nowhere")
    # the sample data: integer ids, channels, customer journeys
    sample = datasets.generate(300, seed=2)
    events = sample.events.sort("customer_id", "timestamp", "touchpoint", "channel")
    frame = spark.createDataFrame(events.to_arrow())
    sample_remote = jg.mine(jg.read_events(frame, **datasets.COLUMNS))
    sample_local = jg.mine(jg.read_events(events, **datasets.COLUMNS))
    want = jg.JourneyMap.from_journeys(sample_local, reached="purchase")
    assert jg.JourneyMap.from_journeys(sample_remote, reached="purchase") == want
    sample_remote.unpersist()


@SETTINGS
@given(frame=event_logs(customers=(1, 8), events=(1, 6)), share=st.sampled_from([0.05, 0.5]))
def test_proposed_map_of_random_logs_is_the_local_one(
    spark: Any, frame: pl.DataFrame, share: float
) -> None:
    remote, local = mined_both(spark, frame)
    got = jg.JourneyMap.from_journeys(remote, min_share=share, max_stages=3)
    assert got == jg.JourneyMap.from_journeys(local, min_share=share, max_stages=3)
    remote.unpersist()


FLOWS = [
    {"around": "cart"},
    {"around": "search", "before": 0, "after": 2, "top": 2},
    {"around": "(start)", "after": 4, "top": 3},
    {"around": "(end)", "before": 2},
]


def test_flows_are_the_local_flows(shop_journeys: tuple[Any, Any], tmp_path: Path) -> None:
    remote, local = shop_journeys
    hidden = 0
    for options in FLOWS:
        want = local.flows(**options)
        got = remote.flows(**options)
        assert (got.around, got.before, got.after, got.top, got.journeys) == (
            want.around,
            want.before,
            want.after,
            want.top,
            want.journeys,
        )
        assert_frame_equal(got.nodes, want.nodes)
        assert_frame_equal(got.links, want.links)
        page = jg.to_html(got, tmp_path / "got.html").read_bytes()
        assert page == jg.to_html(want, tmp_path / "want.html").read_bytes()
        hidden += want.nodes.get_column("hidden").sum()
    assert hidden > 0  # "other" was made
    with pytest.raises(jg.JourneygraphError) as expected:
        local.flows(around="nowhere")
    with pytest.raises(jg.JourneygraphError, match="around='nowhere' is not a touchpoint") as found:
        remote.flows(around="nowhere")
    assert str(found.value) == str(expected.value)


@SETTINGS
@given(frame=event_logs(customers=(1, 8), events=(1, 6)), data=st.data())
def test_flows_of_random_logs_are_the_local_flows(
    spark: Any, frame: pl.DataFrame, data: st.DataObject
) -> None:
    remote, local = mined_both(spark, frame)
    around = data.draw(st.sampled_from([*local.touchpoints, "(start)", "(end)"]))
    options = {"before": data.draw(st.integers(0, 3)), "after": data.draw(st.integers(0, 3))}
    want = local.flows(around, **options, top=data.draw(st.integers(1, 3)))
    got = remote.flows(around, **options, top=want.top)
    assert got.journeys == want.journeys
    assert_frame_equal(got.nodes, want.nodes)
    assert_frame_equal(got.links, want.links)
    remote.unpersist()
