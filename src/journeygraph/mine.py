"""Mine per-journey graphs from an event log: `mine` → `Journeys`.

Everything is columnar. A journey is one customer's ordered events (or one
session of them, with ``journey="session"``). Inside the engine journeys and
touchpoints are integer codes, and every journey is a contiguous block of the
ordered events: compiled kernels (``_kernels``) order the events and mine each
block in one pass. The public tables carry journey ids and touchpoint names
(as a polars ``Enum``, so they stay small and fast).

Definitions (also in docs/mining.md):

* **transition**: two consecutive events of one journey, from the *source*
  touchpoint to the *target*; its time is the target event's timestamp and its
  duration is the time between the two events.
* **self-loop**: a transition whose source and target are the same touchpoint.
* **revisit**: arriving at a touchpoint visited earlier in the journey, not
  counting self-loops; ``revisits = events - self_loops - touchpoints``.
* **backtrack**: an immediate return, ``A → B → A`` with ``A ≠ B``, counted at the
  second ``A``.
* **cycles**: the number of independent cycles of the journey graph (its
  circuit rank, ``distinct edges - touchpoints + 1``; a journey graph is always
  connected). It is exact and cheap; it is a lower bound on the number of simple
  cycles, 0 exactly when the graph has none, and equal to it when no two cycles
  share an edge.
* **dwell**: the time from an event to the next event of the same journey and
  session, summed over visits; the last event of a journey or session adds 0.
* **position**: 0-based index of an event within its journey.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, get_args

import networkx as nx
import numpy as np
import numpy.typing as npt
import polars as pl

from . import _kernels
from ._errors import JourneygraphError
from .ingest import ROW, USUAL_ORDER, EventLog, by_customer_and_time, event_order
from .schema import IngestReport, MineOptions, validated

__all__ = ["Journeys", "mine"]

Weight = Literal["events", "customers", "share", "p_next", "p_prev", "median_time"]
WEIGHTS: tuple[str, ...] = get_args(Weight)

# private column names of the engine's event frame
_J = "_journey"  # journey code (UInt32), dense, in journey-id order
_C = "_customer_code"  # customer code (UInt32), dense, in customer order
_LOGGED = "_logged_touchpoint"  # the touchpoint as logged, kept to order ties


class Journeys:
    """Mined journeys: columnar edge, node and stat tables keyed by journey id.

    Build with `mine`. Tables are computed on first access and cached.
    ``graph(journey_id)`` builds one ``networkx.DiGraph`` on demand; ``graphs()``
    yields them one at a time.

    Attributes
    ----------
    options : MineOptions
        The options the journeys were mined with.
    touchpoints : list[str]
        The touchpoint vocabulary, sorted; the categories of every touchpoint column.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": ["a", "a", "a", "b"], "ts": [1, 2, 3, 1],
    ...                    "event": ["home", "search", "home", "home"]})
    >>> journeys = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
    ...                                   touchpoint="event"))
    >>> journeys.edges.select("journey", "source", "target", "count").rows()
    [('a', 'home', 'search', 1), ('a', 'search', 'home', 1)]
    >>> journeys.stats.select("journey", "events", "revisits", "backtracks", "cycles").rows()
    [('a', 3, 1, 1, 1), ('b', 1, 0, 0, 0)]
    """

    def __init__(
        self,
        events: pl.DataFrame,
        *,
        options: MineOptions,
        report: IngestReport,
        sort_keys: list[str],
        has_channel: bool,
    ) -> None:
        self._frame = events  # filtered, encoded, in input order; before sessions and collapsing
        self.options = options
        self._report_in = report  # rows through ingestion and filters, before collapsing
        self._sort_keys = sort_keys
        self._has_channel = has_channel
        self.touchpoints: list[str] = _categories(events, "touchpoint")

    def __repr__(self) -> str:
        return (
            f"Journeys({self.n_journeys:,} journeys, {self.n_events:,} events, "
            f"{len(self.touchpoints)} touchpoints)"
        )

    def __len__(self) -> int:
        return self.n_journeys

    @cached_property
    def report(self) -> IngestReport:
        """Every input row, kept or dropped by reason, through ingestion and mining."""
        collapsed = self._report_in.rows_kept - self.n_events
        if not collapsed:
            return self._report_in
        dropped = {**self._report_in.dropped, "collapsed into the previous event": collapsed}
        return IngestReport(
            rows_read=self._report_in.rows_read,
            rows_kept=self.n_events,
            dropped=dropped,
            repaired=self._report_in.repaired,
        )

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return len(self._blocks.customer)

    @property
    def n_events(self) -> int:
        """Number of events in the journeys (after collapsing repeats, if asked)."""
        return len(self._blocks.time)

    # ------------------------------------------------------------------ engine
    @cached_property
    def _blocks(self) -> _Blocks:
        """The kept events as arrays, split into journeys."""
        return _Blocks.of(self._frame, self._sort_keys, self.options)

    @cached_property
    def _mined(self) -> tuple[npt.NDArray[Any], ...]:
        """Edge, node and per-journey counts of every journey (see `_kernels.mine_blocks`)."""
        b = self._blocks
        return _kernels.mine_blocks(
            b.starts, b.touchpoint, b.time, b.session, b.channel, len(self.touchpoints)
        )

    @cached_property
    def _sequence(self) -> pl.DataFrame:
        """The journeys' events in order, one row each, for per-event work elsewhere.

        Columns: journey code, ``touchpoint``, ``timestamp``, ``channel`` (if
        read), ``_session``, ``_pos`` and the next event's touchpoint and time
        (``_has_next`` says whether there is one in the journey).
        """
        b = self._blocks
        lengths = np.diff(b.starts)
        journey = np.repeat(np.arange(len(lengths), dtype=np.uint32), lengths)
        firsts = np.repeat(b.starts[:-1].astype(np.uint32), lengths)
        position = np.arange(len(b.time), dtype=np.uint32) - firsts
        has_next = np.ones(len(b.time), dtype=np.bool_)
        has_next[b.starts[1:] - 1] = False
        columns = [
            pl.Series(_J, journey),
            self._vocabulary.gather(pl.Series(b.touchpoint)),
            self._times(b.time, "timestamp"),
        ]
        if len(b.channel):
            names = _categories(self._frame, "channel")
            known = pl.Series(b.channel).to_frame("c").select(pl.when(pl.col("c") >= 0).then("c"))
            channels = pl.Series("channel", names, dtype=pl.Enum(names))
            columns.append(channels.gather(known.to_series()))
        return pl.DataFrame(columns).with_columns(
            pl.Series("_session", b.session),
            pl.Series("_pos", position),
            pl.Series("_has_next", has_next),
            pl.col("touchpoint").shift(-1).alias("_next_touchpoint"),
            pl.col("timestamp").shift(-1).alias("_next_time"),
        )

    @cached_property
    def _ids(self) -> pl.DataFrame:
        """One row per journey code: journey id, customer, session."""
        b = self._blocks
        first = b.starts[:-1]
        ids = pl.DataFrame(
            {
                "customer": self._frame.get_column("customer").gather(b.first_rows),
                "session": b.session[first],
            }
        )
        if self.options.journey == "session":
            journey = pl.format("{}#{}", pl.col("customer"), pl.col("session"))
        else:
            journey = pl.col("customer")
        return ids.select(journey.alias("journey"), "customer", "session")

    def _with_ids(self, frame: pl.DataFrame) -> pl.DataFrame:
        journey = self._ids.get_column("journey").gather(frame.get_column(_J))
        return frame.select(journey.alias("journey"), pl.exclude(_J, _C))

    @cached_property
    def _vocabulary(self) -> pl.Series:
        """The touchpoints as an Enum series: ``_vocabulary.gather(codes)`` decodes."""
        return pl.Series("touchpoint", self.touchpoints, dtype=pl.Enum(self.touchpoints))

    def _times(self, values: npt.NDArray[np.int64], name: str) -> pl.Series:
        """Microseconds since the epoch as the events' timestamp type."""
        return pl.Series(name, values).cast(self._frame.schema["timestamp"])

    # ------------------------------------------------------------------ tables
    @cached_property
    def _edges(self) -> pl.DataFrame:
        """Edges with journey codes and customer codes (the engine's form of ``edges``)."""
        edges, times, *_ = self._mined
        vocab = self._vocabulary
        return pl.DataFrame(
            [
                pl.Series(_J, edges[0]),
                pl.Series(_C, self._blocks.customer[edges[0]]),
                vocab.gather(pl.Series(edges[1])).alias("source"),
                vocab.gather(pl.Series(edges[2])).alias("target"),
                pl.Series("count", edges[3]),
                self._times(times[0], "first_time"),
                self._times(times[1], "last_time"),
                _durations(times[2], "total_time"),
                _durations(times[3], "median_time"),
            ]
        )

    @cached_property
    def edges(self) -> pl.DataFrame:
        """One row per journey and observed transition.

        Columns: ``journey``, ``source``, ``target``, ``count``, ``first_time``
        and ``last_time`` (when the transition was first/last made),
        ``total_time`` and ``median_time`` (time between the two events; for
        an even count the mean of the two middle values, rounded down to whole
        microseconds). Sorted by journey, source, target.
        """
        return self._with_ids(self._edges)

    @cached_property
    def _nodes(self) -> pl.DataFrame:
        _, _, nodes, dwell, _ = self._mined
        return pl.DataFrame(
            [
                pl.Series(_J, nodes[0]),
                pl.Series(_C, self._blocks.customer[nodes[0]]),
                self._vocabulary.gather(pl.Series(nodes[1])),
                pl.Series("visits", nodes[2]),
                pl.Series("first_position", nodes[3]),
                pl.Series("last_position", nodes[4]),
                _durations(dwell, "dwell"),
            ]
        )

    @cached_property
    def nodes(self) -> pl.DataFrame:
        """One row per journey and visited touchpoint.

        Columns: ``journey``, ``touchpoint``, ``visits``, ``first_position`` and
        ``last_position`` (0-based event index), ``dwell`` (see module docs).
        Sorted by journey, touchpoint.
        """
        return self._with_ids(self._nodes)

    @cached_property
    def stats(self) -> pl.DataFrame:
        """One row per journey with summary statistics.

        Columns: ``journey``, ``customer``, ``session``, ``events``,
        ``touchpoints`` (distinct), ``entry`` and ``exit`` touchpoints,
        ``start``, ``end``, ``duration``, ``self_loops``, ``revisits``,
        ``backtracks``, ``cycles``, ``channel_switches``, ``sessions``
        (sessions in the journey: 1 per journey with ``journey="session"``;
        with ``journey="customer"`` the number of inactivity gaps longer than
        ``session_gap`` plus one). See the module docs for the definitions.
        """
        b = self._blocks
        touchpoints, distinct_edges, self_loops, backtracks, switches = self._mined[4]
        first, last = b.starts[:-1], b.starts[1:] - 1
        events = (last - first + 1).astype(np.uint32)
        start, end = b.time[first], b.time[last]
        sessions = b.session[last]
        if self.options.journey == "session":
            sessions = np.ones_like(sessions)
        stats = pl.DataFrame(
            [
                pl.Series("events", events),
                pl.Series("touchpoints", touchpoints),
                self._vocabulary.gather(b.touchpoint[first]).alias("entry"),
                self._vocabulary.gather(b.touchpoint[last]).alias("exit"),
                self._times(start, "start"),
                self._times(end, "end"),
                _durations(end - start, "duration"),
                pl.Series("self_loops", self_loops),
                pl.Series("revisits", events - self_loops - touchpoints),
                pl.Series("backtracks", backtracks),
                pl.Series("cycles", distinct_edges - touchpoints + 1),
                pl.Series("channel_switches", switches),
                pl.Series("sessions", sessions),
            ]
        )
        return pl.concat([self._ids, stats], how="horizontal")

    # ------------------------------------------------------------------ graphs
    def graph(self, journey: Any) -> nx.DiGraph[Any]:
        """One journey's graph as a ``networkx.DiGraph``.

        Nodes are touchpoints with the `nodes` columns as attributes,
        edges are transitions with the `edges` columns as attributes, and
        the graph's attributes are the journey's `stats` row.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": [7, 7, 7], "ts": [1, 2, 3],
        ...                    "event": ["home", "search", "home"]})
        >>> g = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
        ...                            touchpoint="event")).graph(7)
        >>> sorted(g.edges(data="count"))
        [('home', 'search', 1), ('search', 'home', 1)]
        >>> g.nodes["home"]["visits"], g.graph["events"]
        (2, 3)
        """
        code = self._code_of(journey)
        return next(self._graphs(code, code + 1))

    def _code_of(self, journey: Any) -> int:
        """The engine's code of a journey id; a clear error for an unknown id."""
        ids = self._ids.get_column("journey")
        hits = (ids == journey).arg_true() if _comparable(ids, journey) else pl.Series([])
        if hits.len() == 0:
            msg = f"no journey {journey!r}; journey ids look like {ids.head(3).to_list()}"
            raise JourneygraphError(msg)
        return int(hits[0])

    def graphs(self) -> Iterator[nx.DiGraph[Any]]:
        """Yield every journey's graph, one at a time, in journey order.

        Graphs are built lazily in chunks, so iterating over a million journeys
        never holds a million graphs.
        """
        chunk = 10_000
        for lo in range(0, self.n_journeys, chunk):
            yield from self._graphs(lo, min(lo + chunk, self.n_journeys))

    def _graphs(self, lo: int, hi: int) -> Iterator[nx.DiGraph[Any]]:
        stats = self.stats.slice(lo, hi - lo).to_dicts()
        parts = []
        for table, offsets in ((self.nodes, self._node_offsets), (self.edges, self._edge_offsets)):
            start, stop = int(offsets[lo]), int(offsets[hi])
            rows = table.slice(start, stop - start).drop("journey").to_dicts()
            parts.append((rows, offsets[lo : hi + 1] - start))
        (node_rows, node_off), (edge_rows, edge_off) = parts
        for i, attrs in enumerate(stats):
            g: nx.DiGraph[Any] = nx.DiGraph(**attrs)
            for row in node_rows[node_off[i] : node_off[i + 1]]:
                g.add_node(row.pop("touchpoint"), **row)
            for row in edge_rows[edge_off[i] : edge_off[i + 1]]:
                g.add_edge(row.pop("source"), row.pop("target"), **row)
            yield g

    @cached_property
    def _node_offsets(self) -> npt.NDArray[np.int64]:
        return _offsets(self._mined[4][0])

    @cached_property
    def _edge_offsets(self) -> npt.NDArray[np.int64]:
        return _offsets(self._mined[4][1])

    # --------------------------------------------------------------- aggregate
    @cached_property
    def aggregate_edges(self) -> pl.DataFrame:
        """Every observed transition over all journeys, with all weights.

        Columns: ``source``, ``target``, ``events`` (transition count),
        ``customers`` (distinct customers making it), ``journeys``, ``share``
        (of all transitions), ``p_next`` (P(target | source)), ``p_prev``
        (P(source | target)), ``median_time``. Sorted by source, target.
        """
        n = len(self.touchpoints)
        pair = (
            pl.col("source").to_physical().cast(pl.Int64) * n
            + pl.col("target").to_physical().cast(pl.Int64)
        ).alias("_pair")
        counted = self._edges.group_by(pair).agg(
            pl.col("source").first(),
            pl.col("target").first(),
            pl.col("count").sum().alias("events"),
            pl.len().alias("journeys"),
            self._distinct_customers(),
        )
        timed = (
            self._transition_times()
            .group_by("_pair")
            .agg(pl.col("duration").median().alias("median_time"))
        )
        total = max(self.n_events - self.n_journeys, 1)
        return (
            counted.join(timed, on="_pair")
            .sort("_pair")
            .select(
                "source",
                "target",
                pl.col("events").cast(pl.UInt64),
                pl.col("customers").cast(pl.UInt64),
                pl.col("journeys").cast(pl.UInt64),
                _ratio(pl.col("events"), total).alias("share"),
                _ratio(pl.col("events"), pl.col("events").sum().over("source")).alias("p_next"),
                _ratio(pl.col("events"), pl.col("events").sum().over("target")).alias("p_prev"),
                "median_time",
            )
        )

    def _transition_times(self) -> pl.DataFrame:
        """Every transition's touchpoint pair code (source * n + target) and duration."""
        b = self._blocks
        pair, duration = _kernels.transitions(b.starts, b.touchpoint, b.time, len(self.touchpoints))
        return pl.DataFrame([pl.Series("_pair", pair), _durations(duration, "duration")])

    @cached_property
    def aggregate_nodes(self) -> pl.DataFrame:
        """Every touchpoint over all journeys.

        Columns: ``touchpoint``, ``visits`` (events), ``customers``,
        ``journeys``, ``starts`` and ``ends`` (journeys entering / leaving
        there). Sorted by touchpoint.
        """
        visits = self._nodes.group_by("touchpoint").agg(
            pl.col("visits").sum().cast(pl.UInt64),
            self._distinct_customers().cast(pl.UInt64),
            pl.len().cast(pl.UInt64).alias("journeys"),
        )
        stats = self.stats
        starts = stats.group_by(pl.col("entry").alias("touchpoint")).agg(
            pl.len().cast(pl.UInt64).alias("starts")
        )
        ends = stats.group_by(pl.col("exit").alias("touchpoint")).agg(
            pl.len().cast(pl.UInt64).alias("ends")
        )
        return (
            visits.join(starts, on="touchpoint", how="left")
            .join(ends, on="touchpoint", how="left")
            .with_columns(pl.col("starts", "ends").fill_null(0))
            .sort("touchpoint")
        )

    def _distinct_customers(self) -> pl.Expr:
        """Customers among the rows of a per-journey table (one row per journey and key)."""
        if self.options.journey == "customer":
            return pl.len().alias("customers")  # journeys are customers
        return pl.col(_C).n_unique().alias("customers")

    def aggregate_graph(self, weight: Weight = "events") -> nx.DiGraph[Any]:
        """All journeys as one ``networkx.DiGraph`` of touchpoints.

        Every edge carries all weights (``events``, ``customers``,
        ``journeys``, ``share``, ``p_next``, ``p_prev``, ``median_time``) and
        a ``weight`` attribute equal to the one chosen. Nodes carry
        ``visits``, ``customers``, ``journeys``, ``starts`` and ``ends``.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": [1, 1, 2, 2, 2], "ts": [1, 2, 1, 2, 3],
        ...                    "event": ["home", "buy", "home", "buy", "buy"]})
        >>> g = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
        ...                            touchpoint="event")).aggregate_graph("customers")
        >>> g["home"]["buy"]["weight"], g["home"]["buy"]["events"], g["buy"]["buy"]["p_next"]
        (2, 2, 1.0)
        >>> g.nodes["home"]["starts"], g.nodes["buy"]["ends"]
        (2, 2)
        """
        if weight not in WEIGHTS:
            msg = f"weight={weight!r} is not one of {list(WEIGHTS)}"
            raise JourneygraphError(msg)
        g: nx.DiGraph[Any] = nx.DiGraph(weight=weight)
        for row in self.aggregate_nodes.iter_rows(named=True):
            g.add_node(row.pop("touchpoint"), **row)
        for row in self.aggregate_edges.iter_rows(named=True):
            source, target = row.pop("source"), row.pop("target")
            g.add_edge(source, target, weight=row[weight], **row)
        return g

    def variants(self) -> pl.DataFrame:
        """Distinct touchpoint sequences, most common first, with cumulative coverage.

        Columns: ``variant`` (list of touchpoints), ``length``, ``journeys``,
        ``share`` and ``cumulative_share``. Ties in count are ordered by the
        sequence itself, so the order is deterministic.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": [1, 1, 2, 2, 3], "ts": [1, 2, 1, 2, 1],
        ...                    "event": ["home", "buy", "home", "buy", "home"]})
        >>> v = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
        ...                            touchpoint="event")).variants()
        >>> v.select("variant", "journeys", "cumulative_share").rows()
        [(['home', 'buy'], 2, 0.666...), (['home'], 1, 1.0)]
        """
        per_journey = self._sequence.group_by(_J).agg(pl.col("touchpoint").alias("variant"))
        counted = per_journey.group_by("variant").agg(pl.len().alias("journeys"))
        # codes follow the sorted vocabulary, so comparing code lists compares names
        key = pl.col("variant").list.eval(pl.element().to_physical())
        return (
            counted.with_columns(key.alias("_key"))
            .sort(["journeys", "_key"], descending=[True, False])
            .select(
                "variant",
                pl.col("variant").list.len().alias("length"),
                "journeys",
                _ratio(pl.col("journeys"), self.n_journeys).alias("share"),
                _ratio(pl.col("journeys").cum_sum(), self.n_journeys).alias("cumulative_share"),
            )
        )

    # ------------------------------------------------------------------- merge
    def merge(self, other: Journeys) -> Journeys:
        """Combine two mined batches; equal to mining the union of their events.

        This holds also when one customer's events are split across the
        batches, in any way: the events themselves are kept (compactly), so
        sessions, repeats, medians and positions are recomputed exactly. Rows
        of ``other`` count as read after those of ``self`` (for ties without a
        tie-breaker). Both must be mined with the same options.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> def batch(users, ts, events):
        ...     df = pl.DataFrame({"user": users, "ts": ts, "event": events})
        ...     return jg.mine(jg.read_events(df, customer="user", timestamp="ts",
        ...                                   touchpoint="event"))
        >>> merged = batch([1, 1], [1, 2], ["home", "search"]).merge(batch([1], [3], ["buy"]))
        >>> merged.edges.select("source", "target").rows()
        [('home', 'search'), ('search', 'buy')]
        """
        if not isinstance(other, Journeys):
            msg = f"can only merge Journeys with Journeys, not {type(other).__name__}"  # type: ignore[unreachable]
            raise TypeError(msg)
        if other.options != self.options:
            msg = (
                f"cannot merge journeys mined with different options: {self.options!r} "
                f"vs {other.options!r}; mine both batches with the same options"
            )
            raise JourneygraphError(msg)
        if other._sort_keys != self._sort_keys or other._has_channel != self._has_channel:
            msg = "cannot merge batches read with different channel= / tie_breaker= settings"
            raise JourneygraphError(msg)
        left, right = self._frame, other._frame
        if left.schema["customer"] != right.schema["customer"]:
            msg = (
                f"customer ids have different types ({left.schema['customer']} vs "
                f"{right.schema['customer']}); cast them to one type before reading"
            )
            raise JourneygraphError(msg)
        shift = pl.col(ROW) + self._report_in.rows_read
        frames = [left, right.with_columns(shift)]
        events = _encode(pl.concat([_decode(f) for f in frames], how="vertical_relaxed"))
        report = _add_reports(self._report_in, other._report_in)
        return Journeys(
            events,
            options=self.options,
            report=report,
            sort_keys=self._sort_keys,
            has_channel=self._has_channel,
        )


def mine(
    log: EventLog,
    *,
    session_gap: str | dt.timedelta | None = None,
    journey: Literal["customer", "session"] = "customer",
    collapse_repeats: bool = False,
    rename: dict[str, str] | None = None,
    keep: list[str] | set[str] | None = None,
    drop: list[str] | set[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    by_channel: bool = False,
) -> Journeys:
    """Mine one journey graph per customer (or per session) from an event log.

    Every transformation is optional and applied in this order: time window,
    rename, keep/drop, channel key, sessions, collapsing repeats. Rows removed
    by a filter or collapsed are counted by reason in ``Journeys.report``.

    Parameters
    ----------
    log
        Events from `read_events`.
    session_gap
        Inactivity gap that starts a new session (``"30m"``, ``"2h"``, a
        ``timedelta``). Sessions are counted in ``stats``; dwell never spans
        a session gap.
    journey
        ``"customer"`` (default): one journey per customer, id = customer id.
        ``"session"``: one journey per customer session, id = ``"{customer}#{n}"``
        with ``n`` counting the customer's sessions from 1 (needs ``session_gap``).
    collapse_repeats
        Merge consecutive events of the same touchpoint into the first one,
        within a session (a repeat after a ``session_gap`` is kept).
    rename
        Map touchpoint names to new names; several names may map to one to
        group them. Unmapped touchpoints keep their name.
    keep, drop
        Keep only / drop these touchpoints (names after ``rename``).
    start, end
        Keep events with ``start <= timestamp < end`` (naive datetimes are UTC).
    by_channel
        Key touchpoints as ``"channel:touchpoint"`` (events without a channel
        keep the bare touchpoint). Needs ``channel=`` when reading.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({
    ...     "user": ["u1"] * 4,
    ...     "ts": ["2024-05-01T10:00:00Z", "2024-05-01T10:01:00Z",
    ...            "2024-05-01T10:02:00Z", "2024-05-02T09:00:00Z"],
    ...     "event": ["search", "search", "product", "search"]})
    >>> log = jg.read_events(df, customer="user", timestamp="ts", touchpoint="event")
    >>> j = jg.mine(log, session_gap="30m", journey="session", collapse_repeats=True)
    >>> j.stats.select("journey", "events", "entry", "exit").rows()
    [('u1#1', 2, 'search', 'product'), ('u1#2', 1, 'search', 'search')]
    >>> print(j.report)
    4 rows read, 3 kept
      dropped 1: collapsed into the previous event
    """
    options = validated(
        MineOptions,
        session_gap=session_gap,
        journey=journey,
        collapse_repeats=collapse_repeats,
        rename=rename,
        keep=None if keep is None else frozenset(keep),
        drop=None if drop is None else frozenset(drop),
        start=start,
        end=end,
        by_channel=by_channel,
    )
    if options.by_channel and not log.has_channel:
        msg = "by_channel=True needs a channel column: read_events(..., channel='your_column')"
        raise JourneygraphError(msg)
    columns = ["customer", "timestamp", "touchpoint", ROW]
    columns += ["channel"] if log.has_channel else []
    columns += ["tie_breaker"] if log.schema.tie_breaker is not None else []

    touchpoint = pl.col("touchpoint")
    if options.rename:
        touchpoint = touchpoint.replace(options.rename)
    rules: list[tuple[pl.Expr, str]] = []
    if options.start is not None:
        rules.append((pl.col("timestamp") < options.start, "before start="))
    if options.end is not None:
        rules.append((pl.col("timestamp") >= options.end, "at or after end="))
    if options.drop is not None:  # on names after rename, before the channel key
        rules.append((touchpoint.is_in(sorted(options.drop)), "touchpoint in drop="))
    if options.keep is not None:
        rules.append((~touchpoint.is_in(sorted(options.keep)), "touchpoint not in keep="))
    if options.by_channel:
        touchpoint = pl.coalesce(
            pl.concat_str(pl.col("channel"), pl.lit(":"), touchpoint), touchpoint
        )
    exprs = [touchpoint.alias(c) if c == "touchpoint" else pl.col(c) for c in columns]
    # ties are ordered by the logged touchpoint, whatever rename/by_channel make of it
    sort_keys = [_LOGGED if k == "touchpoint" else k for k in log.sort_keys()]
    if _LOGGED in sort_keys:
        exprs.append(pl.col("touchpoint").alias(_LOGGED))
    reason: Any = None
    for condition, why in rules:
        reason = (pl.when(condition) if reason is None else reason.when(condition)).then(
            pl.lit(why)
        )
    if reason is not None:
        exprs.append(reason.otherwise(None).alias("_filter"))
    frame = log._collect_checked(exprs)
    ingest_report = log.report
    dropped = dict(ingest_report.dropped)
    if reason is not None:
        counts = frame.get_column("_filter").drop_nulls().value_counts()
        dropped.update(dict(counts.iter_rows()))
        frame = frame.filter(pl.col("_filter").is_null()).drop("_filter")
    if frame.height == 0:
        msg = (
            f"no events left after mining filters (dropped: {dropped}); widen start=/end= "
            "or check keep=/drop= names against the touchpoints in the data"
        )
        raise JourneygraphError(msg)
    report = IngestReport(
        rows_read=ingest_report.rows_read,
        rows_kept=frame.height,
        dropped=dropped,
        repaired=ingest_report.repaired,
    )
    return Journeys(
        _encode(frame),
        options=options,
        report=report,
        sort_keys=sort_keys,
        has_channel=log.has_channel,
    )


def _ratio(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """``numerator / denominator`` as exact IEEE division in every row.

    polars divides a long column by a scalar through multiplying by its
    reciprocal, but short chunks exactly, so ``3 / 5`` could come out as 0.6 or
    0.6000000000000001 depending on how the data is chunked. Broadcasting the
    denominator to a column first makes the result independent of layout.
    """
    as_column = numerator.cast(pl.Float64) * 0.0 + denominator
    return numerator.cast(pl.Float64) / as_column


def _group_runs(keyed: pl.DataFrame, *aggs: pl.Expr) -> pl.DataFrame:
    """Aggregate ``keyed`` by its integer ``_key`` column; result in key order.

    Sorting one packed integer key with only the value columns it needs, then
    aggregating the sorted runs, is several times faster than hashing a
    multi-column key. The result has ``_key``, the run length ``_n`` and ``aggs``.
    """
    if not keyed.get_column("_key").is_sorted():
        keyed = keyed.sort("_key")  # aggregates ignore order within a run
    runs = keyed.with_columns(pl.col("_key").set_sorted()).group_by("_key", maintain_order=True)
    return runs.agg(pl.len().alias("_n"), *aggs)


def _categories(frame: pl.DataFrame, column: str) -> list[str]:
    """The categories of an Enum column (see `_encode`)."""
    dtype = frame.schema[column]
    assert isinstance(dtype, pl.Enum)
    return list(dtype.categories)


def _encode(frame: pl.DataFrame) -> pl.DataFrame:
    """Touchpoints (and channels) as an Enum of the sorted vocabulary."""
    out = frame
    for column in ("touchpoint", "channel", _LOGGED):
        if column in out.columns:
            vocab = out.get_column(column).drop_nulls().unique().sort()
            out = out.with_columns(pl.col(column).cast(pl.Enum(vocab)))
    return out


def _decode(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c in ("touchpoint", "channel", _LOGGED) if c in frame.columns
    )


def _add_reports(a: IngestReport, b: IngestReport) -> IngestReport:
    def add(x: dict[str, int], y: dict[str, int]) -> dict[str, int]:
        return {k: x.get(k, 0) + y.get(k, 0) for k in sorted(x.keys() | y.keys())}

    return IngestReport(
        rows_read=a.rows_read + b.rows_read,
        rows_kept=a.rows_kept + b.rows_kept,
        dropped=add(a.dropped, b.dropped),
        repaired=add(a.repaired, b.repaired),
    )


def _comparable(ids: pl.Series, value: Any) -> bool:
    if ids.dtype.is_integer():
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _offsets(sizes: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """First row of each journey's block in a per-journey table, plus the end."""
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def _durations(microseconds: npt.NDArray[np.int64], name: str) -> pl.Series:
    return pl.Series(name, microseconds).cast(pl.Duration("us"))


@dataclass(frozen=True)
class _Blocks:
    """The events journeys are made of, as arrays, in order; each journey a block.

    Attributes
    ----------
    first_rows : row of each journey's first event in the (unordered) event frame.
    starts : offset of each journey's first event, plus the end (int64).
    customer : customer code of each journey (uint32).
    session : 1-based session number of each event within its customer (uint32).
    touchpoint : touchpoint code of each event (int32).
    time : timestamp of each event, microseconds since the epoch (int64).
    channel : channel code of each event, -1 for none; empty without channels.
    """

    first_rows: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    customer: npt.NDArray[np.uint32]
    session: npt.NDArray[np.uint32]
    touchpoint: npt.NDArray[np.int32]
    time: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int32]

    @classmethod
    def of(cls, frame: pl.DataFrame, sort_keys: list[str], options: MineOptions) -> _Blocks:
        """Order the events, then split them into sessions and journeys."""
        new_customer, time, rows, touchpoint, channel = _ordered(frame, sort_keys)
        gap = -1 if options.session_gap is None else options.session_gap // _MICROSECOND
        keep, session, starts, customer_code = _kernels.segment(
            new_customer,
            time,
            touchpoint,
            gap,
            options.journey == "session",
            options.collapse_repeats,
        )
        if not keep.all():
            rows, touchpoint, time = rows[keep], touchpoint[keep], time[keep]
            channel = channel[keep] if len(channel) else channel
        first_rows = rows[starts[:-1]]
        return cls(first_rows, starts, customer_code, session, touchpoint, time, channel)


def _ordered(frame: pl.DataFrame, sort_keys: list[str]) -> tuple[npt.NDArray[Any], ...]:
    """Events in order, as arrays: customer starts, times, rows, touchpoint and channel codes."""
    tp = pl.col("touchpoint").to_physical().cast(pl.Int32).alias("touchpoint")
    ch = pl.col("channel").to_physical().cast(pl.Int32).fill_null(-1).alias("channel")
    with_channel = "channel" in frame.columns
    if sort_keys == USUAL_ORDER:
        codes = frame.select(tp, ch) if with_channel else frame.select(tp)
        return by_customer_and_time(
            frame,
            codes.get_column("touchpoint").to_numpy(),
            codes.get_column("channel").to_numpy() if with_channel else None,
        )
    perm = event_order(frame, sort_keys)
    ordered = frame if perm is None else frame.gather(perm)
    columns = ordered.select(
        (pl.col("customer") != pl.col("customer").shift(1)).fill_null(True).alias("new"),
        pl.col("timestamp").dt.epoch("us").alias("time"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row")
        if perm is None
        else perm.cast(pl.Int64).alias("row"),
        tp,
        *([ch] if with_channel else []),
    )
    arrays = [column.to_numpy() for column in columns]
    if not with_channel:
        arrays.append(np.empty(0, dtype=np.int32))
    return tuple(arrays)


_MICROSECOND = dt.timedelta(microseconds=1)
