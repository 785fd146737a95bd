"""Tests of ``journeygraph.mine``: hand-computed cases, an exact comparison with
the plain-Python reference (``tests/reference.py``) on generated event logs,
and properties (conservation, order independence, merge, graphs, cycles).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import networkx as nx
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import journeygraph as jg
import reference
from journeygraph.ingest import customer_codes

T0 = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
US = dt.timedelta(microseconds=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)

STATS_COLUMNS = [
    "journey",
    "customer",
    "session",
    "events",
    "touchpoints",
    "entry",
    "exit",
    "start",
    "end",
    "duration",
    "self_loops",
    "revisits",
    "backtracks",
    "cycles",
    "channel_switches",
    "sessions",
]

SETTINGS = settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# ---------------------------------------------------------------- input helpers
def to_frame(
    rows: list[dict[str, Any]],
    *,
    channel: bool = False,
    tie: bool = False,
    epoch: bool = False,
) -> pl.DataFrame:
    """Rows in the reference's format → the caller's polars frame."""
    int_customers = bool(rows) and isinstance(rows[0]["customer"], int)
    data: dict[str, list[Any]] = {
        "user": [r["customer"] for r in rows],
        # epoch numbers in microseconds (read with timestamp_unit="auto")
        "ts": [(r["timestamp"] - EPOCH) // US if epoch else r["timestamp"] for r in rows],
        "event": [r["touchpoint"] for r in rows],
    }
    schema: dict[str, Any] = {
        "user": pl.Int64 if int_customers else pl.String,
        "ts": pl.Int64 if epoch else pl.Datetime("us", "UTC"),
        "event": pl.String,
    }
    if channel:
        data["ch"] = [r.get("channel") for r in rows]
        schema["ch"] = pl.String
    if tie:
        data["tie"] = [r["tie_breaker"] for r in rows]
        schema["tie"] = pl.Int64
    return pl.DataFrame(data, schema=schema)


def read(frame: pl.DataFrame) -> jg.EventLog:
    # invalid rows (missing touchpoint) are dropped and counted in the report
    return jg.read_events(
        frame,
        customer="user",
        timestamp="ts",
        touchpoint="event",
        channel="ch" if "ch" in frame.columns else None,
        tie_breaker="tie" if "tie" in frame.columns else None,
        on_invalid="drop",
        duplicates="keep",  # the reference keeps every row; dropping them: test_messy_input
    )


def rows_of(*spec: tuple[Any, ...]) -> list[dict[str, Any]]:
    """(customer, seconds after T0, touchpoint[, channel[, tie_breaker]]) tuples → rows."""
    out = []
    for item in spec:
        row: dict[str, Any] = {"customer": item[0], "timestamp": at(item[1]), "touchpoint": item[2]}
        if len(item) > 3:
            row["channel"] = item[3]
        if len(item) > 4:
            row["tie_breaker"] = item[4]
        out.append(row)
    return out


def mine_rows(
    rows: list[dict[str, Any]], *, channel: bool = False, tie: bool = False, **options: Any
) -> jg.Journeys:
    return jg.mine(read(to_frame(rows, channel=channel, tie=tie)), **options)


def first_visit_order(journeys: jg.Journeys, journey: Any) -> list[str]:
    """A journey's distinct touchpoints in order of first visit (from the nodes)."""
    nodes = journeys.nodes.filter(pl.col("journey") == journey)
    return [
        name
        for name, _ in sorted(
            ((row["touchpoint"], row["first_position"]) for row in nodes.iter_rows(named=True)),
            key=lambda x: x[1],
        )
    ]


def sequence_of_events(journeys: jg.Journeys) -> list[str]:
    """The one journey's full event sequence (from variants: exactly one journey)."""
    assert len(journeys) == 1
    return journeys.variants().get_column("variant").to_list()[0]


def edge_rows(journeys: jg.Journeys, journey: Any | None = None) -> list[tuple[Any, ...]]:
    edges = journeys.edges
    if journey is not None:
        edges = edges.filter(pl.col("journey") == journey)
    return edges.select("source", "target", "count").rows()


def stats_row(journeys: jg.Journeys, journey: Any) -> dict[str, Any]:
    rows = journeys.stats.filter(pl.col("journey") == journey).to_dicts()
    assert len(rows) == 1
    return rows[0]


# ------------------------------------------------------------- hand-computed
def test_loop_abab() -> None:
    j = mine_rows(rows_of(("u", 0, "A"), ("u", 10, "B"), ("u", 30, "A"), ("u", 60, "B")))
    assert j.edges.to_dicts() == [
        {
            "journey": "u",
            "source": "A",
            "target": "B",
            "count": 2,
            "first_time": at(10),
            "last_time": at(60),
            "total_time": 40 * S,
            "median_time": 20 * S,
        },
        {
            "journey": "u",
            "source": "B",
            "target": "A",
            "count": 1,
            "first_time": at(30),
            "last_time": at(30),
            "total_time": 20 * S,
            "median_time": 20 * S,
        },
    ]
    assert j.nodes.to_dicts() == [
        {
            "journey": "u",
            "touchpoint": "A",
            "visits": 2,
            "first_position": 0,
            "last_position": 2,
            "dwell": 40 * S,
        },
        {
            "journey": "u",
            "touchpoint": "B",
            "visits": 2,
            "first_position": 1,
            "last_position": 3,
            "dwell": 20 * S,
        },
    ]
    assert j.stats.columns == STATS_COLUMNS
    assert j.stats.to_dicts() == [
        {
            "journey": "u",
            "customer": "u",
            "session": 1,
            "events": 4,
            "touchpoints": 2,
            "entry": "A",
            "exit": "B",
            "start": at(0),
            "end": at(60),
            "duration": 60 * S,
            "self_loops": 0,
            "revisits": 2,
            "backtracks": 2,
            "cycles": 1,
            "channel_switches": 0,
            "sessions": 1,
        }
    ]
    assert j.variants().rows() == [(["A", "B", "A", "B"], 4, 1, 1.0, 1.0)]


def test_self_loops() -> None:
    rows = rows_of(("u", 0, "A"), ("u", 1, "A"), ("u", 2, "A"), ("u", 3, "B"), ("u", 4, "B"))
    j = mine_rows(rows)
    assert edge_rows(j) == [("A", "A", 2), ("A", "B", 1), ("B", "B", 1)]
    s = stats_row(j, "u")
    assert (s["events"], s["touchpoints"], s["self_loops"]) == (5, 2, 3)
    assert (s["revisits"], s["backtracks"], s["cycles"]) == (0, 0, 2)
    assert j.nodes.select("touchpoint", "visits", "first_position", "last_position").rows() == [
        ("A", 3, 0, 2),
        ("B", 2, 3, 4),
    ]
    assert j.nodes.get_column("dwell").to_list() == [3 * S, 1 * S]
    agg = j.aggregate_edges.select("source", "target", "events", "p_next", "p_prev").rows()
    assert agg == [
        ("A", "A", 2, 2 / 3, 1.0),
        ("A", "B", 1, 1 / 3, 0.5),
        ("B", "B", 1, 1.0, 0.5),
    ]
    assert j.report.rows_kept == 5
    assert j.report.dropped == {}


def test_collapse_repeats() -> None:
    rows = rows_of(("u", 0, "A"), ("u", 1, "A"), ("u", 2, "A"), ("u", 3, "B"), ("u", 4, "B"))
    j = mine_rows(rows, collapse_repeats=True)
    assert j.edges.select("source", "target", "count", "total_time").rows() == [
        ("A", "B", 1, 3 * S)
    ]
    s = stats_row(j, "u")
    assert (s["events"], s["self_loops"], s["cycles"], s["end"]) == (2, 0, 0, at(3))
    assert j.nodes.select("touchpoint", "visits", "dwell").rows() == [
        ("A", 1, 3 * S),
        ("B", 1, 0 * S),
    ]
    assert j.report.rows_read == 5
    assert j.report.rows_kept == 2
    assert j.report.dropped == {"collapsed into the previous event": 3}


def test_ties_keep_input_order_without_tie_breaker() -> None:
    first = mine_rows(rows_of(("u", 5, "B"), ("u", 0, "A"), ("u", 5, "C")))
    assert first_visit_order(first, "u") == ["A", "B", "C"]
    assert edge_rows(first) == [("A", "B", 1), ("B", "C", 1)]
    second = mine_rows(rows_of(("u", 5, "C"), ("u", 0, "A"), ("u", 5, "B")))
    assert first_visit_order(second, "u") == ["A", "C", "B"]
    assert edge_rows(second) == [("A", "C", 1), ("C", "B", 1)]


def test_ties_ordered_by_tie_breaker_then_touchpoint_then_channel() -> None:
    # tie_breaker decides: C (1) before B (2), whatever the row order
    for spec in (
        [("u", 5, "B", None, 2), ("u", 0, "A", None, 0), ("u", 5, "C", None, 1)],
        [("u", 5, "C", None, 1), ("u", 0, "A", None, 0), ("u", 5, "B", None, 2)],
    ):
        j = mine_rows(rows_of(*spec), tie=True)
        assert edge_rows(j) == [("A", "C", 1), ("C", "B", 1)]
    # equal tie_breaker: by touchpoint
    j = mine_rows(
        rows_of(("u", 5, "C", None, 0), ("u", 0, "A", None, 0), ("u", 5, "B", None, 0)), tie=True
    )
    assert edge_rows(j) == [("A", "B", 1), ("B", "C", 1)]
    # equal tie_breaker and touchpoint: by channel ("app" < "web")
    spec = [("u", 0, "A", "web", 0), ("u", 5, "B", "web", 0), ("u", 5, "B", "app", 0)]
    j = mine_rows(rows_of(*spec), channel=True, tie=True)
    assert stats_row(j, "u")["channel_switches"] == 2  # web → app → web
    j = mine_rows(rows_of(*spec), channel=True)  # input order: web, web, app
    assert stats_row(j, "u")["channel_switches"] == 1


def test_single_event_journeys() -> None:
    j = mine_rows(rows_of(("solo", 7, "A"), ("u", 0, "A"), ("u", 1, "B")))
    assert edge_rows(j, "solo") == []
    assert j.nodes.filter(pl.col("journey") == "solo").drop("journey").to_dicts() == [
        {"touchpoint": "A", "visits": 1, "first_position": 0, "last_position": 0, "dwell": 0 * S}
    ]
    s = stats_row(j, "solo")
    assert s["events"] == 1
    assert s["entry"] == s["exit"] == "A"
    assert s["start"] == s["end"] == at(7)
    assert s["duration"] == 0 * S
    assert [s[k] for k in ("self_loops", "revisits", "backtracks", "cycles")] == [0, 0, 0, 0]
    assert s["sessions"] == 1
    assert j.aggregate_nodes.rows() == [("A", 2, 2, 2, 2, 1), ("B", 1, 1, 1, 0, 1)]
    assert j.variants().select("variant", "journeys").rows() == [(["A"], 1), (["A", "B"], 1)]
    g = j.graph("solo")
    assert list(g.nodes) == ["A"]
    assert g.number_of_edges() == 0


SESSION_ROWS = rows_of(
    ("u", 0, "A"),  # 10:00
    ("u", 20 * 60, "B"),  # 10:20
    ("u", 50 * 60, "C"),  # 10:50, gap exactly 30m: same session
    ("u", 90 * 60, "A"),  # 11:30, gap 40m: new session
    ("u", 91 * 60, "B"),  # 11:31
)


def test_sessions_customer_journey() -> None:
    j = mine_rows(SESSION_ROWS, session_gap="30m")
    s = stats_row(j, "u")
    assert (s["session"], s["sessions"], s["events"]) == (1, 2, 5)
    assert j.nodes.select("touchpoint", "dwell").rows() == [
        ("A", 21 * M),  # 20m + 1m
        ("B", 30 * M),  # 30m + 0 (last of its session)
        ("C", 0 * M),  # last of session 1: dwell never spans a gap
    ]
    assert j.edges.select("source", "target", "count", "total_time", "median_time").rows() == [
        ("A", "B", 2, 21 * M, dt.timedelta(minutes=10, seconds=30)),
        ("B", "C", 1, 30 * M, 30 * M),
        ("C", "A", 1, 40 * M, 40 * M),
    ]


def test_sessions_session_journeys() -> None:
    j = mine_rows(SESSION_ROWS, session_gap=dt.timedelta(minutes=30), journey="session")
    assert j.stats.select("journey", "customer", "session", "events", "sessions").rows() == [
        ("u#1", "u", 1, 3, 1),
        ("u#2", "u", 2, 2, 1),
    ]
    assert j.edges.select("journey", "source", "target", "count", "total_time").rows() == [
        ("u#1", "A", "B", 1, 20 * M),
        ("u#1", "B", "C", 1, 30 * M),
        ("u#2", "A", "B", 1, 1 * M),
    ]
    agg = j.aggregate_edges.row(0, named=True)
    assert agg == {
        "source": "A",
        "target": "B",
        "events": 2,
        "customers": 1,
        "journeys": 2,
        "share": 2 / 3,
        "p_next": 1.0,
        "p_prev": 1.0,
        "median_time": dt.timedelta(minutes=10, seconds=30),
    }
    assert j.aggregate_nodes.filter(pl.col("touchpoint") == "A").rows() == [("A", 2, 1, 2, 2, 0)]
    assert j.variants().select("variant", "journeys").rows() == [
        (["A", "B"], 1),
        (["A", "B", "C"], 1),
    ]
    assert [g.graph["journey"] for g in j.graphs()] == ["u#1", "u#2"]


def test_session_gap_is_strict_with_int_customers_and_epoch() -> None:
    frame = pl.DataFrame(
        {"user": [10, 2, 10, 2], "ts": [1_700_000_000, 1_700_000_000, 1_700_000_060, 1_700_000_061],
         "event": ["A", "A", "B", "B"]}
    )  # fmt: skip
    j = jg.mine(read(frame), session_gap="1m", journey="session")
    assert j.stats.select("journey", "events").rows() == [("2#1", 1), ("2#2", 1), ("10#1", 2)]
    assert j.graph("10#1").graph["customer"] == 10


def test_uint64_customer_ids_above_int64_max() -> None:
    # customer ids are "text or integers (integer ids stay integers)"
    big = 2**63 + 5
    frame = pl.DataFrame(
        {
            "user": pl.Series([big, 1, big], dtype=pl.UInt64),
            "ts": pl.Series([at(2), at(1), at(1)], dtype=pl.Datetime("us", "UTC")),
            "event": ["B", "A", "A"],
        }
    )
    j = jg.mine(read(frame))
    assert j.stats.select("journey", "events").rows() == [(1, 1), (big, 2)]
    assert edge_rows(j, big) == [("A", "B", 1)]


def test_rename_groups_touchpoints() -> None:
    rows = rows_of(
        ("u", 0, "search_web"), ("u", 1, "search_app"), ("u", 2, "product"), ("u", 3, "search_web")
    )
    rename = {"search_web": "search", "search_app": "search"}
    j = mine_rows(rows, rename=rename)
    assert j.touchpoints == ["product", "search"]
    assert edge_rows(j) == [
        ("product", "search", 1),
        ("search", "product", 1),
        ("search", "search", 1),
    ]
    assert j.nodes.select("touchpoint", "visits").rows() == [("product", 1), ("search", 3)]
    s = stats_row(j, "u")
    assert (s["touchpoints"], s["self_loops"], s["revisits"], s["backtracks"]) == (2, 1, 1, 1)
    j = mine_rows(rows, rename=rename, collapse_repeats=True)
    assert sequence_of_events(j) == ["search", "product", "search"]
    assert stats_row(j, "u")["events"] == 3
    assert j.report.dropped == {"collapsed into the previous event": 1}


FILTER_ROWS = rows_of(
    ("u", 0, "A"), ("u", 1, "B"), ("u", 2, "C"), ("u", 3, "A"), ("u", 4, "B"), ("v", 5, "C")
)


def test_time_window_and_drop_counted_in_report() -> None:
    j = mine_rows(FILTER_ROWS, start=at(1), end=at(5), drop={"C"})
    assert j.report.rows_read == 6
    assert j.report.rows_kept == 3
    assert j.report.dropped == {"before start=": 1, "at or after end=": 1, "touchpoint in drop=": 1}
    assert j.stats.get_column("journey").to_list() == ["u"]
    assert edge_rows(j) == [("A", "B", 1), ("B", "A", 1)]
    # naive datetimes are UTC
    naive = mine_rows(FILTER_ROWS, start=at(1).replace(tzinfo=None), end=at(5).replace(tzinfo=None))
    assert naive.report.dropped == {"before start=": 1, "at or after end=": 1}


def test_keep_counted_in_report() -> None:
    j = mine_rows(FILTER_ROWS, keep={"A", "B"})
    assert j.report.dropped == {"touchpoint not in keep=": 2}
    assert j.report.rows_kept == 4
    assert sequence_of_events(j) == ["A", "B", "A", "B"]
    assert stats_row(j, "u")["events"] == 4
    # keep= names are those after rename
    j = mine_rows(FILTER_ROWS, rename={"C": "A"}, keep={"A"})
    assert j.report.dropped == {"touchpoint not in keep=": 2}
    assert stats_row(j, "v")["events"] == 1
    with pytest.raises(jg.JourneygraphError):
        mine_rows(FILTER_ROWS, keep={"nope"})


def test_by_channel_keys() -> None:
    rows = rows_of(
        ("u", 0, "A", "web"), ("u", 1, "A", "app"), ("u", 2, "B", None), ("u", 3, "B", "web")
    )
    j = mine_rows(rows, channel=True, by_channel=True)
    assert j.touchpoints == ["B", "app:A", "web:A", "web:B"]
    assert edge_rows(j) == [("B", "web:B", 1), ("app:A", "B", 1), ("web:A", "app:A", 1)]
    assert stats_row(j, "u")["touchpoints"] == 4
    plain = mine_rows(rows, channel=True)
    assert plain.touchpoints == ["A", "B"]


def test_by_channel_needs_channel() -> None:
    with pytest.raises(jg.JourneygraphError, match="channel"):
        jg.mine(read(to_frame(rows_of(("u", 0, "A")))), by_channel=True)


def test_channel_switches() -> None:
    rows = rows_of(
        ("u", 0, "A", "web"),
        ("u", 1, "B", "web"),
        ("u", 2, "C", "app"),
        ("u", 3, "D", "web"),
        ("u", 4, "E", "web"),
        ("v", 0, "A", "app"),
    )
    j = mine_rows(rows, channel=True)
    assert j.stats.select("journey", "channel_switches").rows() == [("u", 2), ("v", 0)]


def test_merge_split_customer_interleaved() -> None:
    batch_a = to_frame(rows_of(("u", 0, "A"), ("u", 2, "C"), ("w", 0, "A")))
    batch_b = to_frame(rows_of(("u", 1, "B"), ("u", 0, "X")))  # X ties with A, read after it
    merged = jg.mine(read(batch_a)).merge(jg.mine(read(batch_b)))
    assert first_visit_order(merged, "u") == ["A", "X", "B", "C"]
    assert edge_rows(merged, "u") == [("A", "X", 1), ("B", "C", 1), ("X", "B", 1)]
    union = jg.mine(read(pl.concat([batch_a, batch_b])))
    assert merged.edges.equals(union.edges)
    assert merged.report == union.report


# ------- cases where the engine disagreed with its documentation (regressions)
def test_by_channel_keep_drop_use_names_before_channel_key() -> None:
    # mine(): "applied in this order: time window, rename, keep/drop, channel key"
    # and "keep, drop: ... (names after rename)": keep/drop see the bare names.
    rows = rows_of(("u", 0, "A", "web"), ("u", 1, "B", "web"), ("u", 2, "A", "app"))
    dropped = mine_rows(rows, channel=True, by_channel=True, drop={"A"})
    assert dropped.report.dropped == {"touchpoint in drop=": 2}
    assert dropped.touchpoints == ["web:B"]
    kept = mine_rows(rows, channel=True, by_channel=True, keep={"A"})
    assert kept.report.dropped == {"touchpoint not in keep=": 1}
    assert sequence_of_events(kept) == ["web:A", "app:A"]


def test_collapse_repeats_within_a_session_only() -> None:
    # "a repeat after a session_gap is kept": B at 100 starts session 2
    rows = rows_of(("u", 0, "A"), ("u", 1, "B"), ("u", 2, "B"), ("u", 100, "B"), ("u", 101, "B"))
    by_session = mine_rows(rows, session_gap=10, journey="session", collapse_repeats=True)
    assert by_session.stats.select("journey", "events").rows() == [("u#1", 2), ("u#2", 1)]
    j = mine_rows(rows, session_gap=10, collapse_repeats=True)
    assert sequence_of_events(j) == ["A", "B", "B"]
    s = stats_row(j, "u")
    assert (s["events"], s["sessions"], s["self_loops"], s["end"]) == (3, 2, 1, at(100))
    assert edge_rows(j) == [("A", "B", 1), ("B", "B", 1)]
    assert j.nodes.select("touchpoint", "dwell").rows() == [("A", 1 * S), ("B", 0 * S)]
    assert j.report.dropped == {"collapsed into the previous event": 2}


def test_median_time_even_count_rounds_down_to_microseconds() -> None:
    # durations 1 µs and 2 µs: mean 1.5 µs, rounded down to 1 µs
    rows = rows_of(("u", 0, "A"), ("u", 1e-6, "B"), ("u", 2e-6, "A"), ("u", 4e-6, "B"))
    j = mine_rows(rows)
    ab = j.edges.filter(pl.col("source") == "A").row(0, named=True)
    assert (ab["count"], ab["total_time"], ab["median_time"]) == (2, 3 * US, 1 * US)
    assert j.aggregate_edges.filter(pl.col("source") == "A").get_column(
        "median_time"
    ).to_list() == [1 * US]


def test_tie_breaker_order_is_the_logs_not_the_renamed_touchpoints() -> None:
    # ingest: ties on timestamp and tie_breaker are ordered by touchpoint; the
    # event log orders x before y, and rename only changes names afterwards.
    rows = rows_of(("u", 0, "s", None, 0), ("u", 1, "y", None, 0), ("u", 1, "x", None, 0))
    log = read(to_frame(rows, tie=True))
    assert log.collect().get_column("touchpoint").to_list() == ["s", "x", "y"]
    j = jg.mine(log, rename={"x": "z", "y": "a"})
    assert sequence_of_events(j) == ["s", "z", "a"]


def test_tie_breaker_order_with_by_channel_is_touchpoint_then_channel() -> None:
    # touchpoint "a" (web) sorts before "b" (app) at equal timestamp and tie_breaker
    rows = rows_of(("u", 0, "s", "web", 0), ("u", 1, "b", "app", 0), ("u", 1, "a", "web", 0))
    log = read(to_frame(rows, channel=True, tie=True))
    assert log.collect().get_column("touchpoint").to_list() == ["s", "a", "b"]
    j = jg.mine(log, by_channel=True)
    assert sequence_of_events(j) == ["web:s", "web:a", "app:b"]


def test_variant_ties_ordered_by_the_sequence() -> None:
    # variants(): "Ties in count are ordered by the sequence itself".
    # ["a", "b"] < ["a\tc"] as sequences, since "a" < "a\tc".
    j = mine_rows(rows_of(("u", 0, "a"), ("u", 1, "b"), ("v", 0, "a\tc")))
    assert j.variants().get_column("variant").to_list() == [["a", "b"], ["a\tc"]]


# ----------------------------------------------------------- generated logs
ALPHABET = ["A", "B", "C", "D"]
CUSTOMER_POOLS = [
    ["b", "a", "c"],  # strings sort lexically
    [10, 3, 7],  # integers sort numerically (3 < 7 < 10)
    [2**40, 3, -(2**40)],  # too wide to pack with the time into one integer key
]


@dataclass
class Log:
    rows: list[dict[str, Any]]
    channel: bool
    tie: bool
    epoch: bool

    def frame(self, rows: list[dict[str, Any]] | None = None) -> pl.DataFrame:
        return to_frame(
            self.rows if rows is None else rows,
            channel=self.channel,
            tie=self.tie,
            epoch=self.epoch,
        )

    @property
    def n_valid(self) -> int:
        return sum(1 for r in self.rows if r["touchpoint"] is not None)


@st.composite
def event_logs(
    draw: st.DrawFn,
    *,
    channel: bool | None = None,
    tie: bool | None = None,
    invalid: bool = False,
    min_rows: int = 1,
    max_rows: int = 24,
) -> Log:
    pool = draw(st.sampled_from(CUSTOMER_POOLS))
    customers = pool[: draw(st.integers(1, 3))]
    channel = draw(st.booleans()) if channel is None else channel
    tie = draw(st.booleans()) if tie is None else tie
    touchpoints = st.sampled_from([*ALPHABET, None]) if invalid else st.sampled_from(ALPHABET)
    row = {
        "customer": st.sampled_from(customers),
        # minutes from a small range: equal timestamps are frequent; a few µs of
        # jitter exercise the rounding of medians and strict session gaps
        "timestamp": st.builds(
            lambda k, us: at(60 * k) + us * US,
            st.integers(0, 12),
            st.sampled_from([0, 0, 0, 1, 3]),
        ),
        "touchpoint": touchpoints,
    }
    if channel:
        row["channel"] = st.sampled_from(["web", "app", None])
    if tie:
        row["tie_breaker"] = st.integers(0, 2)
    rows = draw(st.lists(st.fixed_dictionaries(row), min_size=min_rows, max_size=max_rows))
    log = Log(rows, channel, tie, draw(st.booleans()))
    assume(log.n_valid > 0)
    return log


@st.composite
def mine_options(draw: st.DrawFn) -> dict[str, Any]:
    gap = draw(st.sampled_from([None, 60, 120, 300]))
    options: dict[str, Any] = {"collapse_repeats": draw(st.booleans())}
    if gap is not None:
        options["session_gap"] = dt.timedelta(seconds=gap)
        options["journey"] = draw(st.sampled_from(["customer", "session"]))
    return options


@st.composite
def filter_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        sources = draw(st.lists(st.sampled_from(ALPHABET), unique=True, max_size=3))
        options["rename"] = {s: draw(st.sampled_from(["A", "B", "X"])) for s in sources}
    names = ["A", "B", "C", "D", "X"]
    which = draw(st.sampled_from(["none", "keep", "drop"]))
    if which != "none":
        options[which] = set(draw(st.lists(st.sampled_from(names), unique=True, max_size=4)))
    lo = draw(st.none() | st.integers(0, 12))
    hi = draw(st.none() | st.integers(1, 13))
    if lo is not None and hi is not None and lo >= hi:
        lo, hi = hi - 1, lo + 1
    if lo is not None:
        options["start"] = at(60 * lo)
    if hi is not None:
        options["end"] = at(60 * hi)
    return options


def ref_options(log: Log, options: dict[str, Any]) -> dict[str, Any]:
    return {"tie_breaker": log.tie, **options}


def assert_matches_reference(j: jg.Journeys, ref: reference.Result) -> None:
    assert j.touchpoints == ref.touchpoints
    assert j.edges.to_dicts() == ref.edges
    assert j.nodes.to_dicts() == ref.nodes
    assert j.stats.to_dicts() == ref.stats
    assert j.aggregate_edges.to_dicts() == ref.aggregate_edges
    assert j.aggregate_nodes.to_dicts() == ref.aggregate_nodes
    assert j.variants().to_dicts() == ref.variants
    assert j.report.rows_read == ref.rows_read
    assert j.report.rows_kept == ref.rows_kept
    assert j.report.dropped == ref.dropped
    assert j.n_events == ref.rows_kept
    assert len(j) == len(ref.stats)


def check_against_reference(log: Log, **options: Any) -> None:
    ref = reference.mine(log.rows, tie_breaker=log.tie, **options)
    if ref.rows_kept == 0:
        with pytest.raises(jg.JourneygraphError):
            jg.mine(read(log.frame()), **options)
        return
    assert_matches_reference(jg.mine(read(log.frame()), **options), ref)


@SETTINGS
@given(log=event_logs(), options=mine_options())
def test_matches_reference(log: Log, options: dict[str, Any]) -> None:
    check_against_reference(log, **options)


@SETTINGS
@given(log=event_logs(invalid=True), options=mine_options(), data=st.data())
def test_matches_reference_with_filters(
    log: Log, options: dict[str, Any], data: st.DataObject
) -> None:
    filters = data.draw(filter_options())
    check_against_reference(log, **options, **filters)


@SETTINGS
@given(log=event_logs(channel=True, invalid=True), options=mine_options(), data=st.data())
def test_matches_reference_by_channel(
    log: Log, options: dict[str, Any], data: st.DataObject
) -> None:
    filters = data.draw(filter_options())
    check_against_reference(log, **options, **filters, by_channel=True)


@SETTINGS
@given(log=event_logs(min_rows=40, max_rows=120), options=mine_options())
def test_long_journeys_match_reference(log: Log, options: dict[str, Any]) -> None:
    """Journeys and edges of more than 32 events take the kernel's merge-sort path."""
    check_against_reference(log, **options)


def test_long_journey_by_hand() -> None:
    # A B A B ... 100 events, one minute apart except every 10th step takes 3 minutes
    rows = [
        {"customer": "c", "timestamp": at(60 * i + 120 * (i // 10)), "touchpoint": "AB"[i % 2]}
        for i in range(100)
    ]
    j = jg.mine(read(to_frame(rows)))
    edges = {(r["source"], r["target"]): r for r in j.edges.to_dicts()}
    # 50 A→B steps (i even → i+1): none crosses a multiple of 10, so all take 1 minute
    assert edges["A", "B"]["count"] == 50
    assert edges["A", "B"]["median_time"] == M
    # 49 B→A steps (i odd): the 9 from i = 9, 19, ..., 89 take 3 minutes; median 1 minute
    assert edges["B", "A"]["count"] == 49
    assert edges["B", "A"]["total_time"] == 40 * M + 9 * 3 * M
    assert edges["B", "A"]["median_time"] == M
    nodes = {r["touchpoint"]: r for r in j.nodes.to_dicts()}
    assert (nodes["A"]["visits"], nodes["A"]["first_position"], nodes["A"]["last_position"]) == (
        50,
        0,
        98,
    )
    assert nodes["B"]["last_position"] == 99
    stats = j.stats.row(0, named=True)
    assert (stats["backtracks"], stats["revisits"], stats["cycles"]) == (98, 98, 1)
    check_against_reference(Log(rows, False, False, False))


def test_sparse_integer_ids_are_ranked() -> None:
    """Integer ids spread far wider than the rows are ranked before the counting sort."""
    rng = random.Random(5)
    rows = [
        {
            "customer": rng.choice([0, 7, 2**32 - 1]),
            "timestamp": at(rng.choice([0, 1, 7200]) + rng.randrange(3) * 1e-6),
            "touchpoint": rng.choice("ABC"),
            "channel": rng.choice(["web", "app", None]),
        }
        for _ in range(300)
    ]
    log = Log(rows, True, False, False)
    _, lo, n_codes = customer_codes(log.frame().get_column("user"))
    assert (lo, n_codes) == (0, 3)  # numbered: the path this test is about
    check_against_reference(log, session_gap=dt.timedelta(seconds=60))
    check_against_reference(log, by_channel=True, collapse_repeats=True)


def test_more_than_65536_touchpoints() -> None:
    """Transition codes (source x touchpoints + target) beyond 32 bits."""
    rng = random.Random(6)
    names = [f"t{i}" for i in range(70_000)] + [f"t{rng.randrange(9)}" for _ in range(10_000)]
    rows = [
        {"customer": i // 10, "timestamp": at(rng.randrange(50)), "touchpoint": name}
        for i, name in enumerate(names)
    ]
    log = Log(rows, False, False, False)
    assert len(jg.mine(read(log.frame())).touchpoints) > 2**16  # the path this test is about
    check_against_reference(log)


# --------------------------------------------------------------- properties
@SETTINGS
@given(log=event_logs(invalid=True), options=mine_options(), filters=filter_options())
def test_conservation(log: Log, options: dict[str, Any], filters: dict[str, Any]) -> None:
    try:
        j = jg.mine(read(log.frame()), **options, **filters)
    except jg.JourneygraphError:
        assume(False)
    stats = j.stats
    # no event lost: every row read is in a journey or counted as dropped
    assert stats.get_column("events").sum() + j.report.rows_dropped == len(log.rows)
    assert j.report.rows_read == len(log.rows)
    assert j.report.rows_kept == stats.get_column("events").sum() == j.n_events
    # per journey, the edge counts sum to events - 1
    per_journey = dict(j.edges.group_by("journey").agg(pl.col("count").sum()).iter_rows())
    for journey, events in stats.select("journey", "events").iter_rows():
        assert per_journey.get(journey, 0) == events - 1
    # node visits sum to events
    visits = dict(j.nodes.group_by("journey").agg(pl.col("visits").sum()).iter_rows())
    assert visits == dict(stats.select("journey", "events").iter_rows())
    # the aggregate tables account for every transition and every event
    assert j.aggregate_edges.get_column("events").sum() == j.edges.get_column("count").sum()
    assert j.aggregate_nodes.get_column("visits").sum() == j.n_events


def tables(j: jg.Journeys) -> dict[str, pl.DataFrame]:
    return {
        "edges": j.edges,
        "nodes": j.nodes,
        "stats": j.stats,
        "aggregate_edges": j.aggregate_edges,
        "aggregate_nodes": j.aggregate_nodes,
        "variants": j.variants(),
    }


def assert_same_tables(a: jg.Journeys, b: jg.Journeys) -> None:
    ta, tb = tables(a), tables(b)
    for name in ta:
        assert ta[name].equals(tb[name]), name
    assert a.touchpoints == b.touchpoints
    assert a.report == b.report


@SETTINGS
@given(
    log=event_logs(tie=True, invalid=True, min_rows=2),
    options=mine_options(),
    seed=st.randoms(use_true_random=False),
)
def test_tie_breaker_makes_row_order_irrelevant(
    log: Log, options: dict[str, Any], seed: Any
) -> None:
    shuffled = list(log.rows)
    seed.shuffle(shuffled)
    a = jg.mine(read(log.frame()), **options)
    b = jg.mine(read(log.frame(shuffled)), **options)
    assert_same_tables(a, b)


@SETTINGS
@given(log=event_logs(invalid=True), options=mine_options())
def test_deterministic(log: Log, options: dict[str, Any]) -> None:
    a = jg.mine(read(log.frame()), **options)
    b = jg.mine(read(log.frame()), **options)
    assert_same_tables(a, b)


@SETTINGS
@given(log=event_logs(invalid=True, min_rows=2), options=mine_options(), data=st.data())
def test_merge_equals_mining_the_union(
    log: Log, options: dict[str, Any], data: st.DataObject
) -> None:
    # any split of the rows into 2 (or 3) batches; each batch needs one valid row
    n_batches = data.draw(st.sampled_from([2, 2, 3]))
    label = data.draw(st.lists(st.integers(0, n_batches - 1), min_size=len(log.rows)))
    label = label[: len(log.rows)]
    batches = [
        [r for r, k in zip(log.rows, label, strict=True) if k == b] for b in range(n_batches)
    ]
    assume(all(any(r["touchpoint"] is not None for r in batch) for batch in batches))
    rename = data.draw(st.sampled_from([None, {"A": "B"}, {"A": "D", "D": "A"}]))
    frames = [log.frame(batch) for batch in batches]
    merged = jg.mine(read(frames[0]), **options, rename=rename)
    for frame in frames[1:]:
        merged = merged.merge(jg.mine(read(frame), **options, rename=rename))
    union = jg.mine(read(pl.concat(frames)), **options, rename=rename)
    assert_same_tables(merged, union)
    assert len(merged) == len(union)
    # and both agree with the reference on the concatenated rows
    rows = [r for batch in batches for r in batch]
    assert_matches_reference(
        merged, reference.mine(rows, **ref_options(log, options), rename=rename)
    )


def graph_data(g: nx.DiGraph[Any]) -> tuple[Any, ...]:
    return (
        dict(g.graph),
        list(g.nodes(data=True)),
        sorted(g.edges(data=True), key=lambda e: (e[0], e[1])),
    )


def assert_graph_matches_tables(j: jg.Journeys, journey: Any, g: nx.DiGraph[Any]) -> None:
    assert g.graph == stats_row(j, journey)
    nodes = j.nodes.filter(pl.col("journey") == journey).drop("journey")
    expected_nodes = {r.pop("touchpoint"): r for r in nodes.to_dicts()}
    assert dict(g.nodes(data=True)) == expected_nodes
    edges = j.edges.filter(pl.col("journey") == journey).drop("journey")
    expected_edges = {(r.pop("source"), r.pop("target")): r for r in edges.to_dicts()}
    assert {(s, t): d for s, t, d in g.edges(data=True)} == expected_edges


@SETTINGS
@given(log=event_logs(), options=mine_options())
def test_graphs_match_tables(log: Log, options: dict[str, Any]) -> None:
    j = jg.mine(read(log.frame()), **options)
    journeys = j.stats.get_column("journey").to_list()
    built = [j.graph(journey) for journey in journeys]
    for journey, g in zip(journeys, built, strict=True):
        assert_graph_matches_tables(j, journey, g)
    assert [graph_data(g) for g in j.graphs()] == [graph_data(g) for g in built]


def test_graphs_across_the_chunk_boundary() -> None:
    # graphs() builds graphs in chunks of 10,000 journeys; cross that boundary
    n = 10_003
    users = [u for u in range(n) for _ in range(1 + u % 3)]
    steps = [k for u in range(n) for k in range(1 + u % 3)]
    frame = pl.DataFrame(
        {
            "user": users,
            "ts": [T0 + dt.timedelta(seconds=k) for k in steps],
            "event": [["A", "B", "A"][k] for k in steps],
        }
    )
    j = jg.mine(read(frame))
    ids = []
    for g in j.graphs():
        ids.append(g.graph["journey"])
        if g.graph["journey"] >= 9_995:
            assert graph_data(g) == graph_data(j.graph(g.graph["journey"]))
            assert_graph_matches_tables(j, g.graph["journey"], g)
    assert ids == list(range(n))


@SETTINGS
@given(log=event_logs(), options=mine_options())
def test_cycles_against_simple_cycles(log: Log, options: dict[str, Any]) -> None:
    j = jg.mine(read(log.frame()), **options)
    for g in j.graphs():
        simple = len(list(nx.simple_cycles(g)))  # self-loops count as cycles
        cycles = g.graph["cycles"]
        assert cycles <= simple
        assert (cycles == 0) == (simple == 0)
        assert (cycles == 0) == nx.is_directed_acyclic_graph(g)


@SETTINGS
@given(log=event_logs(), options=mine_options())
def test_aggregate_graph_weights(log: Log, options: dict[str, Any]) -> None:
    j = jg.mine(read(log.frame()), **options)
    agg = {(r["source"], r["target"]): r for r in j.aggregate_edges.to_dicts()}
    nodes = {r.pop("touchpoint"): r for r in j.aggregate_nodes.to_dicts()}
    for weight in ("events", "customers", "share", "p_next", "p_prev", "median_time"):
        g = j.aggregate_graph(weight=weight)
        assert g.graph["weight"] == weight
        assert dict(g.nodes(data=True)) == nodes
        assert set(g.edges) == set(agg)
        for s, t, data in g.edges(data=True):
            assert data["weight"] == agg[(s, t)][weight]
            assert {k: v for k, v in data.items() if k != "weight"} == {
                k: v for k, v in agg[(s, t)].items() if k not in ("source", "target")
            }
    with pytest.raises(jg.JourneygraphError):
        j.aggregate_graph(weight="nope")  # type: ignore[arg-type]
