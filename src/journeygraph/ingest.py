"""Read, validate and normalise raw events into an `EventLog`.

The canonical event frame has the columns ``customer``, ``timestamp``
(``Datetime("us", "UTC")``), ``touchpoint`` (String), optionally ``channel``
(String) and ``tie_breaker``, the caller's attribute columns, and ``_row``: the
0-based input row number, which keeps equal timestamps in input order.

Ordering rule: events are ordered by customer, then timestamp. Events of one
customer with equal timestamps keep their input order; if a ``tie_breaker``
column is named, they are ordered by it instead (then by touchpoint and
channel; missing values sort last), so the result no longer depends on the
order of the input rows.
"""

from __future__ import annotations

import difflib
import glob as globlib
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import numpy as np
import numpy.typing as npt
import polars as pl

from . import _kernels
from ._errors import InvalidEventsError
from ._frames import RAW_TS, REASON, ROW
from .schema import EventSchema, IngestReport, validated

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame

    from ._spark import SparkEventLog

__all__ = ["EventLog", "read_events"]

USUAL_ORDER = ["customer", "timestamp", ROW]  # no tie-breaker: ties keep input order
DUPLICATE = "exact duplicate"  # a reason rows are dropped for, never an error
# Reasons a row can be invalid, in the order they are checked: a row is counted
# under the first reason that applies, so the counts add up to the dropped rows.
_FIXES = {
    "missing customer": "fill the customer id or pass on_invalid='drop'",
    "missing timestamp": "fill the timestamp or pass on_invalid='drop'",
    "unparseable timestamp": (
        "use ISO 8601 strings (2024-05-01T10:00:00+02:00), datetimes or epoch "
        "numbers, set timestamp_unit= for epoch numbers, or pass on_invalid='drop'"
    ),
    "missing touchpoint": "fill the touchpoint or pass on_invalid='drop'",
    "missing session": (
        "fill the session id, or leave out session= and split sessions with "
        "mine(..., session_gap='30m'), or pass on_invalid='drop'"
    ),
}
_ROLE_OF = {
    "missing customer": "customer",
    "missing timestamp": "timestamp",
    "unparseable timestamp": "timestamp",
    "missing touchpoint": "touchpoint",
    "missing session": "session",
}
# compressed files: suffix -> how to read (polars decompresses gzip and zstd itself)
_COMPRESSED = {".gz": "polars", ".gzip": "polars", ".zst": "polars", ".bz2": "bz2"}
_SEPARATORS = (",", ";", "\t", "|")
# formats tried on unparseable timestamps to suggest timestamp_format=
_DATES = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%d %b %Y")
_TIMES = (" %H:%M:%S", " %H:%M", "", " %I:%M:%S %p", " %I:%M %p", " %H:%M:%S%.f")
_LIKELY_FORMATS = tuple(d + t for d in _DATES for t in _TIMES)
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
}
# |epoch value| below each bound is read in that unit when timestamp_unit="auto".
_EPOCH_BOUNDS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))
_EPOCH_TO_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
_ISO_WITH_ZONE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")

Source = Any  # polars/pandas DataFrame, LazyFrame, pyarrow Table, str or PathLike


class EventLog:
    """A validated, typed, ordered table of events.

    Build one with `read_events`. For lazy or file input the log stays
    lazy: rows are checked the first time a result is needed (``report``,
    ``collect()`` or `mine`).

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": ["u1", "u1", "u2"],
    ...                    "ts": ["2024-05-01T10:00:00Z", "2024-05-01T10:05:00Z",
    ...                           "2024-05-01T09:00:00Z"],
    ...                    "event": ["search", "purchase", "search"]})
    >>> log = jg.read_events(df, customer="user", timestamp="ts", touchpoint="event")
    >>> log.collect().select("customer", "touchpoint").rows()
    [('u1', 'search'), ('u1', 'purchase'), ('u2', 'search')]
    >>> log.report.rows_kept
    3
    """

    def __init__(self, frame: pl.LazyFrame, schema: EventSchema) -> None:
        # canonical columns plus REASON (null for valid rows) and RAW_TS (for messages)
        self._frame = frame
        self.schema = schema
        # input rows (ROW) of exact duplicates, once found; none when duplicates="keep"
        self._duplicates: pl.Series | None = (
            None if schema.duplicates == "drop" else pl.Series(ROW, [], dtype=pl.UInt32)
        )
        self._invalid: dict[str | None, int] | None = None  # rows by reason, before duplicates

    def __repr__(self) -> str:
        roles = ", ".join(f"{k}={v!r}" for k, v in self.schema.roles.items())
        return f"EventLog({roles}, attributes={self.attributes})"

    @property
    def attributes(self) -> list[str]:
        """Names of the extra attribute columns carried along."""
        fixed = _canonical_names(self.schema)
        return [c for c in self._frame.collect_schema().names() if c not in fixed]

    @property
    def has_channel(self) -> bool:
        """Whether a channel column was named."""
        return self.schema.channel is not None

    @cached_property
    def report(self) -> IngestReport:
        """Counts of rows read, kept and dropped by reason (runs the row checks once)."""
        return tally(self.schema, self.reason_counts(), self.invalid_examples)

    def reason_counts(self) -> dict[str | None, int]:
        """Rows by the reason they are dropped (``None``: kept), without raising.

        Invalid rows are counted by the first reason that applies, exact
        duplicates (with ``duplicates="drop"``) as ``"exact duplicate"``.
        `report` is built from these counts (see `tally`); a backend that
        checks the rows in parts (Spark, batch by batch) adds them up.
        """
        counts = dict(self._invalid_counts())
        if counts.get(None) and self._duplicates is None:
            self._collect_ordered([pl.col("customer", "timestamp", ROW)])
        repeats = 0 if self._duplicates is None else self._duplicates.len()
        if repeats:
            counts[None] -= repeats
            counts[DUPLICATE] = repeats
        return counts

    def _invalid_counts(self) -> dict[str | None, int]:
        if self._invalid is None:
            counts = (
                self._frame.group_by(REASON).agg(pl.len().alias("n")).collect(engine="streaming")
            )
            self._invalid = dict(counts.rows())
        return self._invalid

    def check_rows(self) -> None:
        """Raise `InvalidEventsError` now if rows are invalid (and ``on_invalid="raise"``).

        Counts the invalid rows, once; exact duplicates are found later.
        """
        tally(self.schema, self._invalid_counts(), self.invalid_examples)

    def invalid_examples(self) -> pl.DataFrame:
        """The first three invalid rows of each reason, in input order.

        Columns: the reason (``_reason``), the input row (``_row``), ``customer``,
        ``touchpoint`` and the timestamp as given (``_raw_timestamp``); what
        `tally`'s error message shows.
        """
        return (
            self._frame.filter(pl.col(REASON).is_not_null())
            .group_by(REASON, maintain_order=True)
            .head(3)
            .select(REASON, ROW, "customer", "touchpoint", RAW_TS)
            .collect()
        )

    def lazy(self) -> pl.LazyFrame:
        """The valid events as a LazyFrame, in input order (see `collect`).

        Raises `InvalidEventsError` first if rows are invalid and
        ``on_invalid="raise"``. Exact duplicates (``duplicates="drop"``) are
        left out.
        """
        self.report  # noqa: B018 -- validates and finds duplicates (cached)
        valid = pl.col(REASON).is_null()
        if self._duplicates is not None and self._duplicates.len():
            valid = valid & ~pl.col(ROW).is_in(self._duplicates.implode())
        return self._frame.filter(valid).drop(REASON, RAW_TS)

    def collect(self) -> pl.DataFrame:
        """The valid events as a DataFrame, ordered by the ordering rule."""
        names = self._frame.collect_schema().names()
        frame, ordering = self._collect_ordered(
            [pl.col(c) for c in names if c not in (REASON, RAW_TS)]
        )
        self.report  # noqa: B018 -- counted by the pass above
        if self.sort_keys() == USUAL_ORDER:
            return frame.gather(ordering.rows)
        return order_events(ordering.compact(frame)[0], self.sort_keys())

    def sort_keys(self) -> list[str]:
        """Columns that define event order, most significant first."""
        if self.schema.tie_breaker is None:
            return list(USUAL_ORDER)
        keys = ["customer", "timestamp", "tie_breaker", "touchpoint"]
        return [*keys, "channel"] if self.has_channel else keys

    def _compared(self) -> list[str]:
        """The columns two events must agree in to be exact duplicates (all but bookkeeping)."""
        return [c for c in self._frame.collect_schema().names() if c not in (ROW, REASON, RAW_TS)]

    def _checked_frame(self) -> pl.LazyFrame:
        """The canonical frame with its row checks computed once (for eager input)."""
        return self._frame.collect(engine="streaming").lazy()

    def collect_ordered(
        self,
        exprs: list[pl.Expr],
        meanwhile: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> tuple[pl.DataFrame, Ordering]:
        """Valid rows of ``exprs`` in input order, and their usual order (`Ordering`).

        Checks the rows in the same pass when that has not been done yet, and
        finds exact duplicates in the ordering, where equal events sit next to
        each other: only events of one customer with equal timestamps are
        compared. Duplicates stay in the frame but are left out of the order
        (``ordering.left_out``; `Ordering.compact` drops them from the frame).
        ``exprs`` must keep the ``customer``, ``timestamp`` and ``_row``
        columns; `mine` reads its events through this. ``meanwhile``, if given,
        runs on the valid rows on another thread while they are ordered (both
        mostly release the GIL), and its result is the frame returned; it must
        keep every column and row.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": ["a", "a", "a", None], "ts": [2, 1, 1, 3],
        ...                    "event": ["home", "cart", "cart", "home"]})
        >>> log = jg.read_events(df.lazy(), customer="user", timestamp="ts",
        ...                      touchpoint="event", on_invalid="drop")
        >>> frame, ordering = log.collect_ordered([pl.col("customer", "timestamp", "_row")])
        >>> frame.height, ordering.rows.tolist(), ordering.left_out.tolist()
        (3, [1, 0], [2])
        >>> print(log.report)
        4 rows read, 2 kept
          dropped 1: exact duplicate
          dropped 1: missing customer
        """
        return self._collect_ordered(exprs, meanwhile)

    def _collect_ordered(
        self,
        exprs: list[pl.Expr],
        meanwhile: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> tuple[pl.DataFrame, Ordering]:
        find = self._duplicates is None
        compared = self._compared()
        same = [pl.col(c).alias(f"_same{i}") for i, c in enumerate(compared)] if find else []
        frame = self._frame.select(*exprs, *same, REASON).collect(engine="streaming")
        reasons = frame.get_column(REASON)
        if self._invalid is None:  # counted from this pass
            self._invalid = (
                {None: frame.height}
                if reasons.null_count() == frame.height
                else dict(reasons.value_counts(name="n").rows())
            )
        tally(self.schema, self._invalid, self.invalid_examples)  # errors raise before ordering
        if reasons.null_count() < frame.height:
            frame = frame.filter(reasons.is_null())
        frame = frame.drop(REASON)
        with ThreadPoolExecutor(1) as pool:
            done = None if meanwhile is None else pool.submit(meanwhile, frame)
            ordering = by_customer_and_time(frame)
            if find:
                names = [f"_same{i}" for i in range(len(compared))]
                narrow = names[compared.index("touchpoint")]
                ordering = ordering.without(_repeats(frame.select(names), ordering, narrow))
                self._duplicates = frame.get_column(ROW).gather(ordering.left_out)
            elif self._duplicates is not None and self._duplicates.len():
                drop = frame.get_column(ROW).is_in(self._duplicates.implode()).to_numpy()
                ordering = ordering.without(np.flatnonzero(drop[ordering.rows]))
            if done is not None:
                frame = done.result()
        if find:
            frame = frame.drop(names)
        return frame, ordering


def tally(
    schema: EventSchema,
    counts: Mapping[str | None, int],
    examples: Callable[[], pl.DataFrame],
) -> IngestReport:
    """The `IngestReport` of rows counted by reason (``None``: valid).

    Raises `InvalidEventsError` naming the column, the count, examples (from
    ``examples()``, see `EventLog.invalid_examples`) and the fix when rows
    are invalid and ``on_invalid="raise"``, or when no row is valid.
    """
    by_reason = {reason: n for reason, n in counts.items() if reason is not None and n}
    total = sum(counts.values())
    invalid = {reason: n for reason, n in by_reason.items() if reason != DUPLICATE}
    if schema.on_invalid == "raise" and invalid:
        _raise_invalid(schema, invalid, examples())
    kept = total - sum(by_reason.values())
    if kept == 0:
        detail = "" if not by_reason else f" (all {total:,} rows were invalid: {by_reason})"
        msg = (
            f"the event source has no valid events{detail}; check the path or filter "
            "that produced it"
        )
        raise InvalidEventsError(msg, n_rows=total)
    return IngestReport(rows_read=total, rows_kept=kept, dropped=by_reason)


def _raise_invalid(
    schema: EventSchema, by_reason: Mapping[str, int], examples: pl.DataFrame
) -> None:
    parts = []
    first_column = None
    first_examples: list[dict[str, Any]] = []
    for reason in _FIXES:
        if reason not in by_reason:
            continue
        role = _ROLE_OF[reason]
        column = schema.roles[role]
        rows = examples.filter(pl.col(REASON) == reason)
        shown = [
            {"row": r[ROW], **{schema.roles[k]: r[k] for k in ("customer", "touchpoint")}}
            for r in rows.iter_rows(named=True)
        ]
        if reason == "unparseable timestamp":
            for item, r in zip(shown, rows.iter_rows(named=True), strict=True):
                item[column] = r[RAW_TS]
        first_column = first_column or column
        first_examples = first_examples or shown
        fix = _FIXES[reason]
        if reason == "unparseable timestamp":
            fix = _timestamp_fix(rows.get_column(RAW_TS))
        parts.append(
            f"column {column!r}: {by_reason[reason]:,} row(s) with {reason}, "
            f"e.g. {shown}; fix: {fix}"
        )
    msg = "invalid events:\n  " + "\n  ".join(parts)
    raise InvalidEventsError(
        msg, column=first_column, n_rows=sum(by_reason.values()), examples=first_examples
    )


def _timestamp_fix(values: pl.Series) -> str:
    """How to read unparseable timestamps: the strftime format that reads ``values``, if any."""
    formats = likely_formats(values)
    if not formats:
        return _FIXES["unparseable timestamp"] + ", or give timestamp_format= (strftime)"
    also = f" (or {formats[1]!r} if that is what they mean)" if len(formats) > 1 else ""
    return (
        f"they look like {formats[0]!r}: pass timestamp_format={formats[0]!r}{also}, "
        "or pass on_invalid='drop'"
    )


def likely_formats(values: pl.Series) -> list[str]:
    """strftime formats, most likely first, that read every one of ``values``.

    Examples
    --------
    >>> import polars as pl
    >>> likely_formats(pl.Series(["03/13/2024 10:00", "12/01/2024 09:30"]))
    ['%m/%d/%Y %H:%M']
    """
    text = values.drop_nulls().str.strip_chars()
    if text.is_empty():
        return []
    out: list[str] = []
    readings: list[pl.Series] = []
    for fmt in _LIKELY_FORMATS:
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        if parsed.null_count() == 0 and not any(parsed.equals(r) for r in readings):
            out.append(fmt)  # a format that reads them differently from those before it
            readings.append(parsed)
    return out


def order_events(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sort ``frame`` lexicographically by ``keys``, stably (see `event_order`)."""
    perm = event_order(frame, keys)
    return frame if perm is None else frame.gather(perm)


def event_order(frame: pl.DataFrame, keys: list[str]) -> pl.Series | None:
    """Row indices of ``frame`` sorted stably by ``keys`` (None: already in order).

    For the usual keys (customer, timestamp, input order) a counting sort by
    customer, then a sort of each customer's events by time
    (`_kernels.order`). Other keys: stable arg-sorts, least significant
    first; missing values sort last.
    """
    if keys == USUAL_ORDER and frame.height:
        rows = by_customer_and_time(frame).rows
        return pl.Series(rows, dtype=pl.get_index_type())
    if keys[-1] == ROW:
        keys = keys[:-1]  # stable order keeps input order, which is what ROW encodes
    perm: pl.Series | None = None
    for key in reversed(keys):
        column = frame.get_column(key)
        current = column if perm is None else column.gather(perm)
        if current.is_sorted(nulls_last=True) and current.null_count() == 0:
            continue
        order = current.to_frame().select(
            pl.arg_sort_by(pl.col(current.name), maintain_order=True, nulls_last=True)
        )
        step = order.to_series()
        perm = step if perm is None else perm.gather(step)
    return perm


class Ordering(NamedTuple):
    """Rows of a frame in the usual order (customer, then time, ties in input order).

    Rows of the frame missing from the order are ``left_out``: exact duplicates,
    found after ordering and taken out of the order only (copying the frame
    to drop a few rows costs more than all the ordering); `compact` drops
    them from a frame where that is needed.
    """

    new_customer: npt.NDArray[np.bool_]  # where each customer's events start
    time: npt.NDArray[np.int64]  # microseconds since the epoch, in order
    rows: npt.NDArray[np.int64]  # the frame's row at each place of the order
    left_out: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # rows not in it, ascending

    def without(self, places: npt.NDArray[np.int64]) -> Ordering:
        """The order without the events at ``places`` (ascending), whose rows are left out."""
        new_customer, time, rows = self._deleted(places)
        left_out = np.sort(np.concatenate([self.left_out, self.rows[places]]))
        return Ordering(new_customer, time, rows, left_out)

    def compact(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, Ordering]:
        """``frame`` without the rows left out, and the order numbered as its rows."""
        if not len(self.left_out):
            return frame, self
        keep = np.ones(frame.height, dtype=np.bool_)
        keep[self.left_out] = False
        return without_rows(frame, self.left_out), self.restricted(keep)

    def restricted(self, keep: npt.NDArray[np.bool_]) -> Ordering:
        """The same order of the rows ``keep`` marks, numbered as ``frame.filter(keep)`` is."""
        dropped = np.flatnonzero(~keep)
        left_out = self.left_out[keep[self.left_out]]
        if len(dropped) <= len(keep) >> 6:  # a few rows (duplicates): delete them in place
            new_customer, time, rows = self._deleted(np.flatnonzero(~keep[self.rows]))
            rows -= np.searchsorted(dropped, rows)  # the rows dropped before each
            left_out -= np.searchsorted(dropped, left_out)
            return Ordering(new_customer, time, rows, left_out)
        kept = keep[self.rows]
        renumbered = np.cumsum(keep) - 1
        customer = np.cumsum(self.new_customer)[kept]
        new_customer = np.ones(len(customer), dtype=np.bool_)
        new_customer[1:] = customer[1:] != customer[:-1]
        return Ordering(
            new_customer, self.time[kept], renumbered[self.rows[kept]], renumbered[left_out]
        )

    def _deleted(
        self, places: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``new_customer``, ``time`` and ``rows`` without ``places`` (ascending); a
        customer's start that is deleted moves to its next event."""
        new_customer = np.delete(self.new_customer, places)
        moved = (places - np.arange(len(places)))[self.new_customer[places]]
        new_customer[moved[moved < len(new_customer)]] = True
        return new_customer, np.delete(self.time, places), np.delete(self.rows, places)


def without_rows(frame: pl.DataFrame, rows: npt.NDArray[np.int64]) -> pl.DataFrame:
    """``frame`` without ``rows`` (0-based)."""
    if not len(rows):
        return frame
    keep = np.ones(frame.height, dtype=np.bool_)
    keep[rows] = False
    return frame.filter(pl.Series(keep))


def by_customer_and_time(frame: pl.DataFrame) -> Ordering:
    """The usual order of ``frame``'s rows (see `_kernels.order`)."""
    if frame.height == 0:
        return Ordering(
            np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        )
    code, lo, n_codes = customer_codes(frame.get_column("customer"))
    time = frame.get_column("timestamp").to_physical().to_numpy()
    new_customer, time, rows = _kernels.order(code, lo, n_codes, time)
    return Ordering(new_customer, time, rows)


def _repeats(frame: pl.DataFrame, ordering: Ordering, narrow: str) -> npt.NDArray[np.int64]:
    """Places in ``ordering`` (ascending) of rows that exactly repeat an earlier row.

    Equal rows have equal customers and times, so in the order they sit in
    one run of a customer's events with equal timestamps. Within such runs,
    rows that agree in the ``narrow`` column (by a hash of run and value: a
    collision only adds a row to compare) are compared in all columns, and
    the earliest of equal rows is kept.
    """
    tied = np.zeros(len(ordering.time), dtype=np.bool_)
    tied[1:] = ~ordering.new_customer[1:] & (ordering.time[1:] == ordering.time[:-1])
    if not tied.any():
        return np.zeros(0, dtype=np.int64)
    in_run = tied.copy()
    in_run[:-1] |= tied[1:]
    places = np.flatnonzero(in_run)
    run = np.cumsum(~tied[places], dtype=np.uint64)  # numbers the runs
    value = frame.get_column(narrow).hash(seed=0).to_numpy()[ordering.rows[places]]
    key = pl.Series(run * np.uint64(0x9E3779B97F4A7C15) ^ value)
    places = places[key.is_duplicated().to_numpy()]
    places = places[np.argsort(ordering.rows[places])]  # in input order: the first is kept
    runs = frame.gather(ordering.rows[places])
    first = runs.select(pl.struct(runs.columns).is_first_distinct()).to_series().to_numpy()
    return np.sort(places[~first])


def customer_codes(customer: pl.Series) -> tuple[npt.NDArray[np.int64], int, int]:
    """Dense integer codes in customer order: ``(values, lo, n)``, each code ``value - lo < n``.

    Integer ids are their own codes when their range is at most twice the
    number of rows (or a million). Other ids are grouped by a hash table
    (`_kernels.group`), then the groups numbered in the order of their ids:
    sorting the distinct ids only is much cheaper than ranking every row, and
    the codes do not depend on the order of the rows.
    """
    if customer.dtype.is_integer():
        lo, hi = customer.min(), customer.max()
        span = int(hi) - int(lo) + 1  # type: ignore[arg-type]
        if span <= max(2 * customer.len(), 1 << 20) and int(hi) < 2**63:  # type: ignore[arg-type]
            return customer.cast(pl.Int64).to_numpy(), int(lo), span  # type: ignore[arg-type]
        values = customer.to_numpy()
        keys = values.view(np.int64) if values.dtype == np.uint64 else values.astype(np.int64)
    else:
        keys = customer.hash(seed=0).to_numpy().view(np.int64)
    return codes_from_keys(customer, keys)


def codes_from_keys(
    customer: pl.Series, keys: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], int, int]:
    """`customer_codes` of ids whose ``keys`` are equal when the ids are.

    Keys are the integer ids themselves, or 64-bit hashes of text ids: then
    every id is checked against its group's first id, and should two ids
    ever share a hash, the ids are ranked instead.
    """
    code, first = _kernels.group(keys)
    distinct = customer.gather(first)
    if customer.dtype.is_integer():
        rank = np.empty(len(first), dtype=np.int64)
        rank[distinct.arg_sort().to_numpy()] = np.arange(len(first), dtype=np.int64)
    elif (distinct.gather(code) == customer).all():
        # sorting the values and finding them again is several times faster than arg_sort
        in_order = distinct.sort().hash(seed=0).to_numpy().view(np.int64)
        rank = _kernels.positions(in_order, keys[first])
    else:
        ranks = customer.rank("dense").cast(pl.Int64)
        return ranks.to_numpy(), 1, int(ranks.max())  # type: ignore[arg-type]
    return rank[code], 0, len(first)


@overload
def read_events(
    source: SparkDataFrame,
    *,
    customer: str,
    timestamp: str,
    touchpoint: str,
    channel: str | None = None,
    tie_breaker: str | None = None,
    session: str | None = None,
    attributes: list[str] | None = None,
    timestamp_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto",
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    separator: str | None = None,
    on_invalid: Literal["raise", "drop"] = "raise",
    duplicates: Literal["drop", "keep"] = "drop",
) -> SparkEventLog: ...


@overload
def read_events(
    source: Source,
    *,
    customer: str,
    timestamp: str,
    touchpoint: str,
    channel: str | None = None,
    tie_breaker: str | None = None,
    session: str | None = None,
    attributes: list[str] | None = None,
    timestamp_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto",
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    separator: str | None = None,
    on_invalid: Literal["raise", "drop"] = "raise",
    duplicates: Literal["drop", "keep"] = "drop",
) -> EventLog: ...


def read_events(
    source: Source,
    *,
    customer: str,
    timestamp: str,
    touchpoint: str,
    channel: str | None = None,
    tie_breaker: str | None = None,
    session: str | None = None,
    attributes: list[str] | None = None,
    timestamp_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto",
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    separator: str | None = None,
    on_invalid: Literal["raise", "drop"] = "raise",
    duplicates: Literal["drop", "keep"] = "drop",
) -> EventLog | SparkEventLog:
    """Read raw events into a validated `EventLog`.

    Parameters
    ----------
    source
        A polars DataFrame or LazyFrame, a pandas DataFrame, a pyarrow Table, or
        a path (or glob) to CSV, Parquet or NDJSON files. CSV and NDJSON may be
        compressed (``.csv.gz``, ``.csv.zst``, ``.csv.bz2``, ``.ndjson.gz``...);
        bzip2 files are decompressed into memory. A Spark DataFrame
        gives a ``SparkEventLog``, checked by the same rules in Spark (see
        "Running on Spark" in the docs).
    customer, timestamp, touchpoint
        Names of the columns holding the customer id, the event time and the
        kind of event.
    channel
        Optional column naming where the event happened (web, app, store...).
    tie_breaker
        Optional column ordering events of one customer with equal timestamps
        (e.g. a sequence number). Without it, equal timestamps keep input order.
    session
        Optional column holding a session (visit) id. ``mine(log,
        journey="session")`` then makes one journey per session: a new session
        starts wherever the id changes between a customer's consecutive events.
    attributes
        Extra columns to carry along; by default all other columns are kept.
    timestamp_unit
        For epoch numbers: ``"s"``, ``"ms"``, ``"us"``, ``"ns"``, or ``"auto"``
        (per value: below 1e11 seconds, below 1e14 milliseconds, below 1e17
        microseconds, else nanoseconds).
    timestamp_format
        strftime format of text timestamps that are not ISO 8601, e.g.
        ``"%m/%d/%Y %H:%M"``. ISO 8601 values are still read as such. When
        timestamps cannot be read, the error suggests the format they look like.
    timezone
        Zone of timestamps written without one (naive datetimes and strings
        without offset). Everything is converted to UTC.
    separator
        Field separator of CSV files; by default detected from the header line
        (the most frequent of ``,`` ``;`` tab ``|``).
    on_invalid
        ``"raise"`` (default) raises `InvalidEventsError` naming the
        column, the number of bad rows, examples and the fix; ``"drop"`` drops
        those rows and counts them by reason in `report`.
    duplicates
        ``"drop"`` (default): an event that exactly repeats an earlier one (same
        customer, time, touchpoint, channel, session and attributes: a retried
        tracking call) is dropped and counted as ``"exact duplicate"`` in
        `report`; ``"keep"`` keeps them.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": [1, 1, None], "ts": [1714557600, 1714557660, 1714557700],
    ...                    "event": ["search", "cart", "search"]})
    >>> jg.read_events(df, customer="user", timestamp="ts", touchpoint="event")
    Traceback (most recent call last):
    ...
    journeygraph._errors.InvalidEventsError: invalid events:
      column 'user': 1 row(s) with missing customer, ...
    >>> log = jg.read_events(df, customer="user", timestamp="ts", touchpoint="event",
    ...                      on_invalid="drop")
    >>> print(log.report)
    3 rows read, 2 kept
      dropped 1: missing customer
    """
    schema = validated(
        EventSchema,
        customer=customer,
        timestamp=timestamp,
        touchpoint=touchpoint,
        channel=channel,
        tie_breaker=tie_breaker,
        session=session,
        attributes=None if attributes is None else tuple(attributes),
        timestamp_unit=timestamp_unit,
        timestamp_format=timestamp_format,
        timezone=timezone,
        separator=separator,
        on_invalid=on_invalid,
        duplicates=duplicates,
    )
    if type(source).__module__.startswith("pyspark.sql"):
        from . import _spark  # imports pyspark only now

        return _spark.read_events(source, schema, _spark.Engine(read_events, tally))
    lf, eager = _to_lazy(source, schema)
    log = _canonical(lf, schema)
    if eager:  # checked once here; `mine` then only filters the checked rows
        log = EventLog(log._checked_frame(), schema)
        log.check_rows()  # eager input in, errors out right away
    return log


def _to_lazy(source: Source, schema: EventSchema) -> tuple[pl.LazyFrame, bool]:
    if isinstance(source, pl.LazyFrame):
        return source, False
    if isinstance(source, pl.DataFrame):
        return source.lazy(), True
    if isinstance(source, str | os.PathLike):
        return _scan(os.fspath(source), schema), False
    module = type(source).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(source).lazy(), True
    if module == "pyarrow":
        frame = pl.from_arrow(source)
        if isinstance(frame, pl.DataFrame):
            return frame.lazy(), True
    msg = (
        f"cannot read events from a {type(source).__name__}; pass a polars DataFrame or "
        "LazyFrame, a pandas DataFrame, a pyarrow Table, or a path to CSV, Parquet or NDJSON"
    )
    raise InvalidEventsError(msg)


def _scan(path: str, schema: EventSchema) -> pl.LazyFrame:
    matches = sorted(globlib.glob(path)) if globlib.has_magic(path) else [path]
    if not matches or not all(Path(p).is_file() for p in matches):
        msg = f"no event file at {path!r}; check the path (globs like 'events/*.parquet' work)"
        raise InvalidEventsError(msg)
    kinds = {_kind(p) for p in matches}
    if len(kinds) != 1 or any(kind is None for kind, _ in kinds):
        msg = (
            f"cannot tell the format of {path!r}; use files ending in .csv, .parquet or "
            ".ndjson/.jsonl (or .tsv; CSV and NDJSON may end in .gz, .zst or .bz2), all of one kind"
        )
        raise InvalidEventsError(msg)
    kind, compression = kinds.pop()
    # ids and names are text: never let CSV inference turn '007' into 7
    text_cols = {
        c: pl.String
        for c in (schema.customer, schema.touchpoint, schema.channel, schema.session)
        if c
    }
    if kind == "parquet":
        return pl.scan_parquet(matches)
    sources: list[Any] = list(matches)
    if compression == "bz2":  # polars reads gzip and zstd; bzip2 through the standard library
        import bz2

        sources = [bz2.BZ2File(p).read() for p in matches]
    if kind == "ndjson":
        if compression == "bz2":
            return pl.concat(
                [pl.read_ndjson(s, infer_schema_length=10_000) for s in sources]
            ).lazy()
        return pl.scan_ndjson(matches, infer_schema_length=10_000)
    sep = schema.separator or _separator(sources[0], tab=".tsv" in Path(matches[0]).suffixes)
    if compression == "bz2":
        frames = [pl.read_csv(s, separator=sep, schema_overrides=text_cols) for s in sources]
        return pl.concat(frames).lazy()
    return pl.scan_csv(matches, separator=sep, schema_overrides=text_cols)


def _kind(path: str) -> tuple[str | None, str | None]:
    """Format and compression of a file from its name (``x.csv.gz``: ``("csv", "polars")``)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = _COMPRESSED.get(suffixes[-1]) if suffixes else None
    if compression is not None:
        suffixes = suffixes[:-1]
    kind = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if kind == "parquet" and compression is not None:
        return None, None
    return kind, compression


def _separator(source: str | bytes, *, tab: bool) -> str:
    """The most frequent of ``,`` ``;`` tab ``|`` in the CSV header line (``,`` if none)."""
    header = pl.read_csv(source, n_rows=1, has_header=False, separator="\x1f", quote_char=None).row(
        0
    )[0]
    counts = {sep: str(header or "").count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    if counts[best] == 0:
        return "\t" if tab else ","
    return best


def _canonical(lf: pl.LazyFrame, schema: EventSchema) -> EventLog:
    available = lf.collect_schema()
    for role, column in schema.roles.items():
        if column not in available:
            close = difflib.get_close_matches(column, available.names(), n=3)
            hint = f"; did you mean {close}?" if close else ""
            fused = _fused(available.names(), schema.separator)
            if fused is not None:
                name, sep = fused
                hint = (
                    f"; the header {name!r} looks like several columns joined by {sep!r}: "
                    f"pass separator={sep!r}"
                )
            msg = (
                f"column {column!r} (given as {role}=) is not in the events; "
                f"columns are {available.names()}{hint}"
            )
            raise InvalidEventsError(msg, column=column)
    taken = set(schema.roles.values())
    if schema.attributes is None:
        attributes = [c for c in available.names() if c not in taken]
    else:
        missing = [c for c in schema.attributes if c not in available]
        if missing:
            msg = (
                f"attribute column(s) {missing} are not in the events; "
                f"columns are {available.names()}"
            )
            raise InvalidEventsError(msg, column=missing[0])
        attributes = list(schema.attributes)
    reserved = _canonical_names(schema)
    clash = [c for c in attributes if c in reserved and c not in taken]
    if clash:
        msg = (
            f"column(s) {clash} have names journeygraph uses for its own columns; "
            "pass attributes=[...] without them, or rename them"
        )
        raise InvalidEventsError(msg, column=clash[0])

    customer = _id_column(schema.customer, available[schema.customer], role="customer")
    touchpoint = _id_column(schema.touchpoint, available[schema.touchpoint], role="touchpoint")
    ts = _timestamp(schema, available[schema.timestamp])
    raw_ts = pl.col(schema.timestamp)
    reason = (
        pl.when(customer.is_null())
        .then(pl.lit("missing customer"))
        .when(raw_ts.is_null())
        .then(pl.lit("missing timestamp"))
        .when(ts.is_null())
        .then(pl.lit("unparseable timestamp"))
        .when(touchpoint.is_null() | (touchpoint == ""))
        .then(pl.lit("missing touchpoint"))
    )
    session = None
    if schema.session is not None:
        session = _id_column(schema.session, available[schema.session], role="session")
        reason = reason.when(session.is_null() | (session == "")).then(pl.lit("missing session"))
    columns = [
        customer.alias("customer"),
        ts.alias("timestamp"),
        touchpoint.alias("touchpoint"),
    ]
    if schema.channel is not None:
        channel = _id_column(schema.channel, available[schema.channel], role="channel")
        columns.append(channel.alias("channel"))
    if schema.tie_breaker is not None:
        columns.append(pl.col(schema.tie_breaker).alias("tie_breaker"))
    if session is not None:
        columns.append(session.alias("session"))
    columns += [pl.col(c) for c in attributes]
    columns += [pl.col(ROW), reason.otherwise(None).alias(REASON)]
    # only error messages read it, and only for invalid rows: null (free) for valid ones
    columns.append(
        pl.when(reason.otherwise(None).is_not_null()).then(raw_ts.cast(pl.String)).alias(RAW_TS)
    )
    # RAW_TS is only read by error messages; projection pushdown skips it otherwise
    # exact duplicates are found later, in the events' order (`EventLog.collect_ordered`)
    return EventLog(lf.with_row_index(ROW).select(columns), schema)


def _fused(names: list[str], given: str | None) -> tuple[str, str] | None:
    """A column name that looks like a whole header line, and the separator it holds."""
    for name in names:
        for sep in _SEPARATORS:
            if sep != given and name.count(sep) >= 2:
                return name, sep
    return None


def _canonical_names(schema: EventSchema) -> set[str]:
    """Columns of the canonical frame that are not attributes.

    An unmapped role's name (say a column called ``channel`` without
    ``channel=``) stays free: such a column is simply an attribute.
    """
    return {*schema.roles, ROW, REASON, RAW_TS}


def _id_column(column: str, dtype: pl.DataType, *, role: str) -> pl.Expr:
    expr = pl.col(column)
    if dtype == pl.String:
        return expr
    if dtype == pl.Null:  # all values missing: reported row by row, not as a type error
        return expr.cast(pl.String)
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return expr.cast(pl.String)
    if dtype.is_integer() and role == "customer":
        return expr
    if dtype.is_integer() or (dtype == pl.Boolean and role != "customer"):
        return expr.cast(pl.String)
    msg = (
        f"column {column!r} ({role}=) has type {dtype}; {role} must be text"
        + (" or integers" if role == "customer" else "")
        + f"; cast it first, e.g. pl.col({column!r}).cast(pl.String)"
    )
    raise InvalidEventsError(msg, column=column)


def _timestamp(schema: EventSchema, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(schema.timestamp)
    if dtype == pl.Null:
        return col.cast(pl.Datetime("us", "UTC"))
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            col = col.dt.replace_time_zone(schema.timezone, ambiguous="earliest")
        return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if dtype == pl.Date:
        return (
            col.cast(pl.Datetime("us"))
            .dt.replace_time_zone(schema.timezone)
            .dt.convert_time_zone("UTC")
        )
    if dtype == pl.String:
        text = (
            col.str.strip_chars()
            .str.replace(" ", "T", literal=True)
            .str.replace(r"[zZ]$", "+00:00")
        )
        zoned = [
            text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
            for f in _ISO_WITH_ZONE
        ]
        naive = [
            text.str.to_datetime(f, strict=False, time_unit="us")
            .dt.replace_time_zone(schema.timezone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            for f in _ISO_NAIVE
        ]
        given = []
        if schema.timestamp_format is not None:
            fmt = schema.timestamp_format
            raw = col.str.strip_chars()
            if "%z" in fmt or "%:z" in fmt:
                given.append(
                    raw.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
                )
            else:
                given.append(
                    raw.str.to_datetime(fmt, strict=False, time_unit="us")
                    .dt.replace_time_zone(
                        schema.timezone, ambiguous="earliest", non_existent="null"
                    )
                    .dt.convert_time_zone("UTC")
                )
        return pl.coalesce([*given, *zoned, *naive])
    if dtype.is_numeric():
        value = col.cast(pl.Float64)
        if schema.timestamp_unit == "auto":
            size = value.abs()
            scale = pl.lit(_EPOCH_TO_US["ns"])
            for bound, unit in reversed(_EPOCH_BOUNDS):
                scale = pl.when(size < bound).then(pl.lit(_EPOCH_TO_US[unit])).otherwise(scale)
        else:
            scale = pl.lit(_EPOCH_TO_US[schema.timestamp_unit])
        micros = (value * scale).round(0)
        in_range = micros.is_finite() & (micros.abs() < 2**62)
        return pl.when(in_range).then(micros).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
    msg = (
        f"column {schema.timestamp!r} (timestamp=) has type {dtype}; timestamps must be "
        "datetimes, dates, ISO 8601 strings or epoch numbers"
    )
    raise InvalidEventsError(msg, column=schema.timestamp)
