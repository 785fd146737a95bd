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
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl

from . import _kernels, _page
from ._aggregates import Weight, aggregate_graph_of, edge_table, variant_table
from ._core import Core, encode
from ._errors import FilteredOutError, JourneygraphError
from ._frames import JOURNEY, LOGGED, ROW
from .ingest import USUAL_ORDER, EventLog
from .schema import IngestReport, MineOptions, validated

if TYPE_CHECKING:
    import networkx as nx

    from ._spark import SparkEventLog, SparkJourneys
    from .flows import Flows

__all__ = ["Journeys", "mine"]


class Journeys:
    """Mined journeys: columnar edge, node and stat tables keyed by journey id.

    Build with `mine`. Tables are computed on first access and cached.
    ``graph(journey_id)`` builds one ``networkx.DiGraph`` on demand; ``graphs()``
    yields them one at a time.

    Attributes
    ----------
    options : MineOptions
        The options the journeys were mined with.
    log : EventLog or None
        The event log they were mined from (None after `merge`).
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

    def __init__(self, core: Core, *, report: IngestReport) -> None:
        self._core = core
        self.log: EventLog | None = None
        self.options: MineOptions = core.options
        self._report_in = report  # rows through ingestion and filters, before collapsing
        self.touchpoints: list[str] = core.touchpoints

    def __repr__(self) -> str:
        return (
            f"Journeys({self.n_journeys:,} journeys, {self.n_events:,} events, "
            f"{len(self.touchpoints)} touchpoints)"
        )

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter: counts, period, the busiest transitions."""
        stats = self.stats
        start, end = stats.get_column("start").min(), stats.get_column("end").max()
        items = [
            ("journeys", f"{self.n_journeys:,} ({self.options.journey}s)"),
            ("customers", f"{stats.get_column('customer').n_unique():,}"),
            ("events", f"{self.n_events:,}"),
            ("touchpoints", f"{len(self.touchpoints):,}"),
            ("period", f"{start!s} to {end!s}"),
        ]
        top = self.aggregate_edges.sort(
            ["journeys", "source", "target"], descending=[True, False, False]
        ).head(5)
        return _page.html_summary(repr(self), items, top.select("source", "target", "journeys"))

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
    def core(self) -> Core:
        """The engine core under these journeys (internal interface).

        The encoded, ordered events, journey blocks and per-journey arrays that
        `compare`, `cluster`, the report and backends build on; see
        ``journeygraph._core``. Not part of the stable API.
        """
        return self._core

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return self._core.n_journeys

    @property
    def n_events(self) -> int:
        """Number of events in the journeys (after collapsing repeats, if asked)."""
        return self._core.n_events

    # ------------------------------------------------------------------ tables

    @cached_property
    def edges(self) -> pl.DataFrame:
        """One row per journey and observed transition.

        Columns: ``journey``, ``source``, ``target``, ``count``, ``first_time``
        and ``last_time`` (when the transition was first/last made),
        ``total_time`` and ``median_time`` (time between the two events; for
        an even count the mean of the two middle values, rounded down to whole
        microseconds). Sorted by journey, source, target.
        """
        return self._core.with_ids(self._core.edges)

    @cached_property
    def nodes(self) -> pl.DataFrame:
        """One row per journey and visited touchpoint.

        Columns: ``journey``, ``touchpoint``, ``visits``, ``first_position`` and
        ``last_position`` (0-based event index), ``dwell`` (see module docs).
        Sorted by journey, touchpoint.
        """
        return self._core.with_ids(self._core.nodes)

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
        return self._core.stats

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
        code = self._core.code_of(journey)
        return next(self._graphs(code, code + 1))

    def graphs(self) -> Iterator[nx.DiGraph[Any]]:
        """Yield every journey's graph, one at a time, in journey order.

        Graphs are built lazily in chunks, so iterating over a million journeys
        never holds a million graphs.
        """
        chunk = 10_000
        for lo in range(0, self.n_journeys, chunk):
            yield from self._graphs(lo, min(lo + chunk, self.n_journeys))

    def _graphs(self, lo: int, hi: int) -> Iterator[nx.DiGraph[Any]]:
        import networkx as nx  # only graphs need it

        stats = self.stats.slice(lo, hi - lo).to_dicts()
        parts = []
        for table, offsets in (
            (self.nodes, self._core.node_offsets),
            (self.edges, self._core.edge_offsets),
        ):
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
    def aggregate_edges(self) -> pl.DataFrame:
        """Every observed transition over all journeys, with all weights.

        Columns: ``source``, ``target``, ``events`` (transition count),
        ``customers`` (distinct customers making it), ``journeys``, ``share``
        (of all transitions), ``p_next`` (P(target | source)), ``p_prev``
        (P(source | target)), ``median_time``. Sorted by source, target.
        """
        counted = self._core.edge_sums()
        medians = self._core.pair_medians(counted.get_column("_pair"), counted.get_column("events"))
        return edge_table(counted.with_columns(medians), self.n_events - self.n_journeys)

    @cached_property
    def aggregate_nodes(self) -> pl.DataFrame:
        """Every touchpoint over all journeys.

        Columns: ``touchpoint``, ``visits`` (events), ``customers``,
        ``journeys``, ``starts`` and ``ends`` (journeys entering / leaving
        there). Sorted by touchpoint.
        """
        return self._core.node_sums()

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
        return aggregate_graph_of(self.aggregate_nodes, self.aggregate_edges, weight)

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
        per_journey = self._core.sequence.group_by(JOURNEY).agg(
            pl.col("touchpoint").alias("variant")
        )
        counted = per_journey.group_by("variant").agg(pl.len().alias("journeys"))
        return variant_table(counted, self.n_journeys)

    def flows(self, around: str, *, before: int = 3, after: int = 3, top: int = 8) -> Flows:
        """What journeys did in the steps before and after a touchpoint (a Sankey with `to_html`).

        Journeys are aligned on their first visit to ``around`` (or on their
        first / last event with ``"(start)"`` / ``"(end)"``). At every step
        offset the ``top`` touchpoints are kept and the rest summed as
        ``"other"``. See `journeygraph.flows.Flows`.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": ["a", "a", "b", "b"], "ts": [1, 2, 1, 2],
        ...                    "event": ["cart", "pay", "cart", "help"]})
        >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
        >>> j.flows(around="cart", before=0, after=1).links.select("source", "target").rows()
        [('cart', 'help'), ('cart', 'pay')]
        """
        from ._steps import ordered
        from .flows import flows

        events = ordered(self.core)
        return flows(events.starts, events.touchpoint, self.touchpoints, around, before, after, top)

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
        if (
            other.core.sort_keys != self._core.sort_keys
            or other.core.has_channel != self._core.has_channel
        ):
            msg = "cannot merge batches read with different channel= / tie_breaker= settings"
            raise JourneygraphError(msg)
        core = self._core.merged(other.core, row_shift=self._report_in.rows_read)
        return Journeys(core, report=_add_reports(self._report_in, other._report_in))


@overload
def mine(
    log: SparkEventLog,
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
) -> SparkJourneys: ...


@overload
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
) -> Journeys: ...


def mine(
    log: EventLog | SparkEventLog,
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
) -> Journeys | SparkJourneys:
    """Mine one journey graph per customer (or per session) from an event log.

    Every transformation is optional and applied in this order: time window,
    rename, keep/drop, channel key, sessions, collapsing repeats. Rows removed
    by a filter or collapsed are counted by reason in ``Journeys.report``.

    Parameters
    ----------
    log
        Events from `read_events`. A ``SparkEventLog`` is mined in Spark and
        gives ``SparkJourneys`` (see "Running on Spark" in the docs).
    session_gap
        Inactivity gap that starts a new session (``"30m"``, ``"2h"``, a
        ``timedelta``). Sessions are counted in ``stats``; dwell never spans
        a session gap.
    journey
        ``"customer"`` (default): one journey per customer, id = customer id.
        ``"session"``: one journey per customer session, id = ``"{customer}#{n}"``
        with ``n`` counting the customer's sessions from 1. Sessions come from
        the log's session column (``read_events(..., session=...)``: a new
        session wherever the id changes) and/or ``session_gap``; one is needed.
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
    _check_log(log)
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
    if not isinstance(log, EventLog):
        from . import _spark  # imports pyspark only now

        return _spark.mine(log, options, mine)
    if options.journey == "session" and options.session_gap is None and not log.schema.session:
        msg = (
            "journey='session' needs sessions: read the log with a session column "
            "(read_events(..., session='session_id')) or pass session_gap=, e.g. "
            "session_gap='30m'"
        )
        raise JourneygraphError(msg)
    if options.by_channel and not log.has_channel:
        msg = "by_channel=True needs a channel column: read_events(..., channel='your_column')"
        raise JourneygraphError(msg)
    columns = ["customer", "timestamp", "touchpoint", ROW]
    columns += ["channel"] if log.has_channel else []
    columns += ["tie_breaker"] if log.schema.tie_breaker is not None else []
    columns += ["session"] if log.schema.session is not None else []

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
    sort_keys = [LOGGED if k == "touchpoint" else k for k in log.sort_keys()]
    if LOGGED in sort_keys:
        exprs.append(pl.col("touchpoint").alias(LOGGED))
    reason: Any = None
    for condition, why in rules:
        reason = (pl.when(condition) if reason is None else reason.when(condition)).then(
            pl.lit(why)
        )
    if reason is not None:
        exprs.append(reason.otherwise(None).alias("_filter"))
    _kernels.warm_up()  # numba starts on another thread while polars reads the events
    # without filters the frame's rows are the events' (duplicates share their twin's
    # names), so touchpoints and channels are coded while the events are ordered
    frame, ordering = log.collect_ordered(exprs, meanwhile=encode if reason is None else None)
    if reason is not None or sort_keys != USUAL_ORDER:  # these need the frame without duplicates
        frame, ordering = ordering.compact(frame)
    ingest_report = log.report
    dropped = dict(ingest_report.dropped)
    if reason is not None:
        counts = frame.get_column("_filter").drop_nulls().value_counts()
        dropped.update(dict(counts.iter_rows()))
        unfiltered = frame.get_column("_filter").is_null()
        frame = frame.filter(unfiltered).drop("_filter")
        ordering = ordering.restricted(unfiltered.to_numpy())
    if len(ordering.rows) == 0:
        msg = (
            f"no events left after mining filters (dropped: {dropped}); widen start=/end= "
            "or check keep=/drop= names against the touchpoints in the data"
        )
        raise FilteredOutError(msg, dropped=dropped)
    report = IngestReport(
        rows_read=ingest_report.rows_read,
        rows_kept=len(ordering.rows),
        dropped=dropped,
        repaired=ingest_report.repaired,
    )
    core = Core(
        frame if reason is None else encode(frame),
        options=options,
        sort_keys=sort_keys,
        has_channel=log.has_channel,
        ordering=ordering,
    )
    journeys = Journeys(core, report=report)
    journeys.log = log
    return journeys


def _check_log(log: object) -> None:
    if not isinstance(log, EventLog) and type(log).__name__ != "SparkEventLog":
        msg = (
            f"mine() takes an EventLog, not a {type(log).__name__}; read the events first: "
            "jg.mine(jg.read_events(frame, customer=..., timestamp=..., touchpoint=...))"
        )
        raise TypeError(msg)


def _add_reports(a: IngestReport, b: IngestReport) -> IngestReport:
    def add(x: dict[str, int], y: dict[str, int]) -> dict[str, int]:
        return {k: x.get(k, 0) + y.get(k, 0) for k in sorted(x.keys() | y.keys())}

    return IngestReport(
        rows_read=a.rows_read + b.rows_read,
        rows_kept=a.rows_kept + b.rows_kept,
        dropped=add(a.dropped, b.dropped),
        repaired=add(a.repaired, b.repaired),
    )
