"""The engine core: encoded, ordered events and the per-journey arrays (internal API).

`Core` is what `journeygraph.mine.Journeys` wraps, the way a polars
``DataFrame`` wraps its ``_df``: everything the analyses (`compare`,
`cluster`, `report`) and a distributed backend need from mined journeys, with
plain, typed names. Nothing outside this module touches its internals.

Journeys and touchpoints are integer codes here:

* **journey code** (column ``JOURNEY``): dense, 0-based, in journey-id order;
  ``ids`` decodes it (journey id, customer, session), ``with_ids`` swaps it
  for the journey id in any frame.
* **touchpoint code**: the index in ``touchpoints`` (the sorted vocabulary);
  ``vocabulary.gather(codes)`` decodes.
* **blocks**: the kept events in order, as arrays; journey ``j`` is the rows
  ``blocks.starts[j]:blocks.starts[j + 1]``.

Frames with codes (``sequence``, ``edges``, ``nodes``) keep the engine's
column names from `journeygraph._frames`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from . import _kernels
from ._errors import JourneygraphError
from ._frames import JOURNEY, LOGGED, ROW, categories, durations, offsets
from .ingest import USUAL_ORDER, Ordering, by_customer_and_time, event_order, without_rows
from .schema import MineOptions

__all__ = ["Blocks", "Core", "Mined", "decode", "encode"]


class Mined(NamedTuple):
    """What the mining kernel returns for every journey (see `_kernels.mine_blocks`)."""

    edges: npt.NDArray[np.uint32]  # 4 x rows: journey, source, target, count
    edge_times: npt.NDArray[np.int64]  # 4 x rows: first, last time; total, median duration
    nodes: npt.NDArray[np.uint32]  # 5 x rows: journey, touchpoint, visits, first, last position
    node_dwell: npt.NDArray[np.int64]  # rows
    counts: npt.NDArray[
        np.uint32
    ]  # 5 x journeys: touchpoints, edges, self-loops, backtracks, switches


@dataclass(frozen=True)
class Blocks:
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
    def of(
        cls,
        frame: pl.DataFrame,
        sort_keys: list[str],
        options: MineOptions,
        ordering: Ordering | None = None,
    ) -> Blocks:
        """Order the events (unless ``ordering`` gives the usual order), then split them
        into sessions and journeys."""
        new_customer, time, rows, touchpoint, channel = _ordered(frame, sort_keys, ordering)
        gap = -1 if options.session_gap is None else options.session_gap // _MICROSECOND
        new_id = np.empty(0, dtype=np.bool_)
        if "session" in frame.columns:  # a session starts where the id changes
            ids = frame.get_column("session").rank("dense").to_numpy()[rows]
            new_id = np.ones(len(ids), dtype=np.bool_)
            new_id[1:] = ids[1:] != ids[:-1]
        keep, session, starts, customer_code = _kernels.segment(
            new_customer,
            time,
            touchpoint,
            gap,
            options.journey == "session",
            options.collapse_repeats,
            new_id,
        )
        if not keep.all():
            rows, touchpoint, time = rows[keep], touchpoint[keep], time[keep]
            channel = channel[keep] if len(channel) else channel
        first_rows = rows[starts[:-1]]
        return cls(first_rows, starts, customer_code, session, touchpoint, time, channel)


class Core:
    """Mined journeys as codes and arrays: the engine under `Journeys`.

    Parameters
    ----------
    events
        The filtered events with touchpoints (and channels) encoded by
        `encode`, in input order, before sessions and collapsing.
    options
        The mining options.
    sort_keys
        The columns that order a customer's events (ties included).
    has_channel
        Whether the events were read with a channel column.
    ordering
        The usual order of ``events`` if already known (see `EventLog.collect_ordered`);
        rows it leaves out (exact duplicates) are no events.
    """

    def __init__(
        self,
        events: pl.DataFrame,
        *,
        options: MineOptions,
        sort_keys: list[str],
        has_channel: bool,
        ordering: Ordering | None = None,
    ) -> None:
        self.events = events
        self._ordering = ordering
        # rows of events that are no events (exact duplicates): `merged` drops them
        self._left_out = np.zeros(0, dtype=np.int64) if ordering is None else ordering.left_out
        self.options = options
        self.sort_keys = sort_keys
        self.has_channel = has_channel
        self.touchpoints: list[str] = categories(events, "touchpoint")
        # the channel vocabulary, sorted; empty without a channel column
        self.channels: list[str] = categories(events, "channel") if has_channel else []

    # ------------------------------------------------------------------ sizes
    @property
    def id_type(self) -> pl.DataType:
        """The polars type of the customer ids."""
        return self.events.schema["customer"]

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return len(self.blocks.customer)

    @property
    def n_events(self) -> int:
        """Number of events in the journeys (after collapsing repeats, if asked)."""
        return len(self.blocks.time)

    # ----------------------------------------------------------------- arrays
    @cached_property
    def blocks(self) -> Blocks:
        """The kept events as arrays, split into journeys."""
        blocks = Blocks.of(self.events, self.sort_keys, self.options, self._ordering)
        self._ordering = None  # no longer needed
        return blocks

    @cached_property
    def mined(self) -> Mined:
        """Edge, node and per-journey counts of every journey."""
        b = self.blocks
        return Mined(
            *_kernels.mine_blocks(
                b.starts, b.touchpoint, b.time, b.session, b.channel, len(self.touchpoints)
            )
        )

    @cached_property
    def node_offsets(self) -> npt.NDArray[np.int64]:
        """First row of each journey in `nodes`, plus the end."""
        return offsets(self.mined.counts[0])

    @cached_property
    def edge_offsets(self) -> npt.NDArray[np.int64]:
        """First row of each journey in `edges`, plus the end."""
        return offsets(self.mined.counts[1])

    # --------------------------------------------------------------- decoding
    @cached_property
    def vocabulary(self) -> pl.Series:
        """The touchpoints as an Enum series: ``vocabulary.gather(codes)`` decodes."""
        return pl.Series("touchpoint", self.touchpoints, dtype=pl.Enum(self.touchpoints))

    def times(self, values: npt.NDArray[np.int64], name: str) -> pl.Series:
        """Microseconds since the epoch as the events' timestamp type."""
        return pl.Series(name, values).cast(self.events.schema["timestamp"])

    @cached_property
    def ids(self) -> pl.DataFrame:
        """One row per journey code: ``journey`` id, ``customer``, ``session``."""
        b = self.blocks
        first = b.starts[:-1]
        ids = pl.DataFrame(
            {
                "customer": self.events.get_column("customer").gather(b.first_rows),
                "session": b.session[first],
            }
        )
        if self.options.journey == "session":
            journey = pl.format("{}#{}", pl.col("customer"), pl.col("session"))
        else:
            journey = pl.col("customer")
        return ids.select(journey.alias("journey"), "customer", "session")

    def with_ids(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with its journey code column replaced by a leading ``journey`` id."""
        journey = self.ids.get_column("journey").gather(frame.get_column(JOURNEY))
        return frame.select(journey.alias("journey"), pl.exclude(JOURNEY))

    def code_of(self, journey: Any) -> int:
        """The code of a journey id; a clear error for an unknown id."""
        ids = self.ids.get_column("journey")
        hits = (ids == journey).arg_true() if _comparable(ids, journey) else pl.Series([])
        if hits.len() == 0:
            msg = f"no journey {journey!r}; journey ids look like {ids.head(3).to_list()}"
            raise JourneygraphError(msg)
        return int(hits[0])

    # ----------------------------------------------------------------- frames
    @cached_property
    def sequence(self) -> pl.DataFrame:
        """The journeys' events in order, one row each, for per-event work.

        Columns: journey code (``JOURNEY``), ``touchpoint``, ``timestamp``,
        ``channel`` (if read), ``_session``, ``_pos`` and the next event's
        touchpoint and time (``_next_touchpoint``, ``_next_time``;
        ``_has_next`` says whether there is one in the journey).
        """
        b = self.blocks
        lengths = np.diff(b.starts)
        journey = np.repeat(np.arange(len(lengths), dtype=np.uint32), lengths)
        firsts = np.repeat(b.starts[:-1].astype(np.uint32), lengths)
        position = np.arange(len(b.time), dtype=np.uint32) - firsts
        has_next = np.ones(len(b.time), dtype=np.bool_)
        has_next[b.starts[1:] - 1] = False
        columns = [
            pl.Series(JOURNEY, journey),
            self.vocabulary.gather(pl.Series(b.touchpoint)),
            self.times(b.time, "timestamp"),
        ]
        if len(b.channel):
            names = self.channels
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
    def edges(self) -> pl.DataFrame:
        """`Journeys.edges` with journey codes instead of the journey id."""
        edges, times, *_ = self.mined
        vocab = self.vocabulary
        return pl.DataFrame(
            [
                pl.Series(JOURNEY, edges[0]),
                vocab.gather(pl.Series(edges[1])).alias("source"),
                vocab.gather(pl.Series(edges[2])).alias("target"),
                pl.Series("count", edges[3]),
                self.times(times[0], "first_time"),
                self.times(times[1], "last_time"),
                durations(times[2], "total_time"),
                durations(times[3], "median_time"),
            ]
        )

    @cached_property
    def nodes(self) -> pl.DataFrame:
        """`Journeys.nodes` with journey codes instead of the journey id."""
        _, _, nodes, dwell, _ = self.mined
        return pl.DataFrame(
            [
                pl.Series(JOURNEY, nodes[0]),
                self.vocabulary.gather(pl.Series(nodes[1])),
                pl.Series("visits", nodes[2]),
                pl.Series("first_position", nodes[3]),
                pl.Series("last_position", nodes[4]),
                durations(dwell, "dwell"),
            ]
        )

    @cached_property
    def stats(self) -> pl.DataFrame:
        """`Journeys.stats`: one row per journey code (see there for the columns)."""
        b = self.blocks
        touchpoints, distinct_edges, self_loops, backtracks, switches = self.mined.counts
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
                self.vocabulary.gather(b.touchpoint[first]).alias("entry"),
                self.vocabulary.gather(b.touchpoint[last]).alias("exit"),
                self.times(start, "start"),
                self.times(end, "end"),
                durations(end - start, "duration"),
                pl.Series("self_loops", self_loops),
                pl.Series("revisits", events - self_loops - touchpoints),
                pl.Series("backtracks", backtracks),
                pl.Series("cycles", distinct_edges - touchpoints + 1),
                pl.Series("channel_switches", switches),
                pl.Series("sessions", sessions),
            ]
        )
        return pl.concat([self.ids, stats], how="horizontal")

    def transition_times(self) -> pl.DataFrame:
        """Every transition's touchpoint pair code (``_pair`` = source * n + target) and
        ``duration``."""
        b = self.blocks
        pair, duration = _kernels.transitions(b.starts, b.touchpoint, b.time, len(self.touchpoints))
        return pl.DataFrame([pl.Series("_pair", pair), durations(duration, "duration")])

    def pair_medians(self, pairs: pl.Series, events: pl.Series) -> pl.Series:
        """The median duration (``median_time``) of each of ``pairs`` (``_pair`` codes of
        `edge_sums`, with their ``events``)."""
        b = self.blocks
        n = len(self.touchpoints)
        ends = offsets(events.to_numpy())
        median = _kernels.pair_medians(b.starts, b.touchpoint, b.time, n, pairs.to_numpy(), ends)
        return durations(median, "median_time")

    def edge_sums(self) -> pl.DataFrame:
        """Per observed touchpoint pair: ``_pair`` (source * n + target), ``source``,
        ``target``, ``events``, ``journeys`` and ``customers``, in pair order."""
        edges = self.mined.edges
        n = len(self.touchpoints)
        pair = edges[1].astype(np.int64) * n + edges[2]
        keys, journeys, sums = _sums(pair, n * n, edges[3])
        frame = pl.DataFrame(
            [
                pl.Series("_pair", keys),
                self.vocabulary.gather(pl.Series(keys // n)).alias("source"),
                self.vocabulary.gather(pl.Series(keys % n)).alias("target"),
                pl.Series("events", sums, dtype=pl.UInt64),
                pl.Series("journeys", journeys, dtype=pl.UInt64),
            ]
        )
        return frame.with_columns(self._customers(pair, edges[0], keys, journeys))

    def node_sums(self) -> pl.DataFrame:
        """Per visited touchpoint: ``touchpoint``, ``visits``, ``customers``, ``journeys``,
        ``starts`` and ``ends`` (journeys entering / leaving there), in touchpoint order."""
        nodes = self.mined.nodes
        b = self.blocks
        n = len(self.touchpoints)
        keys, journeys, visits = _sums(nodes[1].astype(np.int64), n, nodes[2])
        starts = np.bincount(b.touchpoint[b.starts[:-1]], minlength=n)[keys]
        ends = np.bincount(b.touchpoint[b.starts[1:] - 1], minlength=n)[keys]
        frame = pl.DataFrame(
            [
                self.vocabulary.gather(pl.Series(keys)),
                pl.Series("visits", visits, dtype=pl.UInt64),
                pl.Series("journeys", journeys, dtype=pl.UInt64),
                pl.Series("starts", starts, dtype=pl.UInt64),
                pl.Series("ends", ends, dtype=pl.UInt64),
            ]
        )
        customers = self._customers(nodes[1].astype(np.int64), nodes[0], keys, journeys)
        return frame.insert_column(2, customers)

    def _customers(
        self,
        key: npt.NDArray[np.int64],
        journey: npt.NDArray[np.uint32],
        keys: npt.NDArray[np.int64],
        journeys: npt.NDArray[np.int64],
    ) -> pl.Series:
        """Distinct customers of each of ``keys`` among rows (``key``, ``journey``)."""
        if self.options.journey == "customer":  # journeys are customers
            return pl.Series("customers", journeys, dtype=pl.UInt64)
        pairs = pl.DataFrame({"key": key, "customer": self.blocks.customer[journey]})
        counted = pairs.group_by("key").agg(pl.col("customer").n_unique().alias("customers"))
        found = pl.DataFrame({"key": keys}).join(counted, on="key", how="left")
        return found.get_column("customers").cast(pl.UInt64)

    # ------------------------------------------------------------------ merge
    def compacted_events(self) -> pl.DataFrame:
        """`events` without the rows that are no events (exact duplicates)."""
        return without_rows(self.events, self._left_out)

    def merged(self, other: Core, *, row_shift: int) -> Core:
        """The core of both cores' events; ``other``'s input rows count after ``row_shift``.

        The callers check that options, sort keys and channels agree.
        """
        left, right = self.compacted_events(), other.compacted_events()
        if left.schema["customer"] != right.schema["customer"]:
            msg = (
                f"customer ids have different types ({left.schema['customer']} vs "
                f"{right.schema['customer']}); cast them to one type before reading"
            )
            raise JourneygraphError(msg)
        frames = [left, right.with_columns(pl.col(ROW) + row_shift)]
        events = encode(pl.concat([decode(f) for f in frames], how="vertical_relaxed"))
        return Core(
            events, options=self.options, sort_keys=self.sort_keys, has_channel=self.has_channel
        )


def encode(frame: pl.DataFrame) -> pl.DataFrame:
    """Touchpoints (and channels) as an Enum of the sorted vocabulary."""
    out = frame
    for column in ("touchpoint", "channel", LOGGED):
        if column in out.columns:
            vocab = out.get_column(column).drop_nulls().unique().sort()
            out = out.with_columns(pl.col(column).cast(pl.Enum(vocab)))
    return out


def decode(frame: pl.DataFrame) -> pl.DataFrame:
    """The inverse of `encode`: names as strings."""
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c in ("touchpoint", "channel", LOGGED) if c in frame.columns
    )


def _comparable(ids: pl.Series, value: Any) -> bool:
    if ids.dtype.is_integer():
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _ordered(
    frame: pl.DataFrame, sort_keys: list[str], ordering: Ordering | None
) -> tuple[npt.NDArray[Any], ...]:
    """Events in order, as arrays: customer starts, times, rows, touchpoint and channel codes."""
    tp = pl.col("touchpoint").to_physical().cast(pl.Int32).alias("touchpoint")
    ch = pl.col("channel").to_physical().cast(pl.Int32).fill_null(-1).alias("channel")
    with_channel = "channel" in frame.columns
    if sort_keys == USUAL_ORDER:
        if ordering is None:
            ordering = by_customer_and_time(frame)
        codes = frame.select(tp, ch) if with_channel else frame.select(tp)
        rows = ordering.rows
        touchpoint = codes.get_column("touchpoint").to_numpy()[rows]
        channel = (
            codes.get_column("channel").to_numpy()[rows]
            if with_channel
            else np.empty(0, dtype=np.int32)
        )
        return ordering.new_customer, ordering.time, rows, touchpoint, channel
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


def _sums(
    key: npt.NDArray[np.int64], size: int, weight: npt.NDArray[np.uint32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct of ``key`` (each below ``size``), sorted; the rows and the sum of
    ``weight`` of each."""
    if size <= 1 << 22:  # counting: no sort
        rows = np.bincount(key, minlength=size)
        keys = np.flatnonzero(rows)
        sums = np.bincount(key, weights=weight, minlength=size)[keys]
        return keys, rows[keys], sums.astype(np.int64)  # exact: sums stay below 2**53
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=weight, minlength=len(keys))
    return keys, counts, sums.astype(np.int64)


_MICROSECOND = dt.timedelta(microseconds=1)
