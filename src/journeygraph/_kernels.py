"""Compiled per-journey kernels (numba) behind `mine`.

Every journey is a contiguous block of the ordered events, and its graph is
small: the few dozen events of one customer. So instead of sorting and
hashing tens of millions of (journey, touchpoint) keys globally, these
kernels walk the events once, journey by journey, and sort each journey's few
keys in a small scratch buffer. Everything is integers: touchpoint codes,
times and durations in microseconds.

The kernels:

* `group` numbers distinct customer ids (as int64 keys or hashes) and
  `positions` finds keys in a table: how text and sparse ids get codes;
* `order` puts events in order: a counting sort by customer, then each
  customer's events sorted by time;
* `segment` splits ordered events into sessions and journeys and marks the
  events ``collapse_repeats`` keeps;
* `mine_blocks` computes the edge, node and per-journey counts of every
  journey, in journey order, then touchpoint (or source, target) code order;
* `transitions` lists every transition's touchpoint pair and duration;
* `pair_medians` finds the median duration of each touchpoint pair.

Journeys are split into chunks mined on threads (the kernels release the
GIL); every chunk writes into its own slice of the output, so the result does
not depend on the threads. numba is imported when the first kernel runs, not
with the package.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, TypeVar, cast

import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])
_SMALL = 32  # blocks up to this size are sorted by insertion
# kernels not compiled yet, by (module, name)
_PLAIN: dict[tuple[str, str], Callable[..., Any]] = {}
_COMPILING = threading.Lock()


def compiled(function: _F) -> _F:
    """A kernel: compiled with numba on first use, then called directly.

    Importing numba takes a quarter of a second, so it waits until the first
    kernel is called; then every kernel (of this module and of others that
    use this decorator) is handed to numba at once: kernels call each other
    by their module-level names, which must all be numba's by then. The
    first call of each kernel compiles it, or loads the machine code numba
    cached on disk.
    """
    module, name = function.__module__, function.__name__
    _PLAIN[module, name] = function

    @functools.wraps(function)
    def compile_then_call(*args: Any) -> Any:
        _compile_all()
        return vars(sys.modules[module])[name](*args)

    return cast(_F, compile_then_call)


def _compile_all() -> None:
    """Replace every kernel by its numba dispatcher (once; thread-safe).

    numba caches next to this file, else in its user cache directory
    (``NUMBA_CACHE_DIR``); where neither is writable it compiles in memory,
    once per process, rather than failing.
    """
    with _COMPILING:
        if not _PLAIN:
            return
        import numba

        for (module, name), function in _PLAIN.items():
            try:
                kernel = numba.njit(cache=True, nogil=True)(function)
            except RuntimeError:  # "cannot cache function ...: no locator available"
                kernel = numba.njit(nogil=True)(function)
            setattr(sys.modules[module], name, kernel)
        _PLAIN.clear()
        with _no_blas_probe():  # the first load sets numba up; a cache hit with these types
            _longest(np.zeros(2, dtype=np.int64), 0, 1)


_warming: list[threading.Thread] = []


def warm_up() -> None:
    """Import numba and start its compiler in the background, once per process.

    The first kernel call in a process pays about half a second (importing
    numba, starting LLVM) before loading its cached code. `mine` calls this
    first, so that happens on another thread while polars reads the events.
    """
    with _COMPILING:
        if _warming or not _PLAIN:
            return
        thread = threading.Thread(target=_warm, name="journeygraph-kernels", daemon=True)
        _warming.append(thread)
    thread.start()


def _warm() -> None:
    # a failure here is raised again, in place, by the first real kernel call
    with contextlib.suppress(Exception):
        _compile_all()


@contextlib.contextmanager
def _no_blas_probe() -> Iterator[None]:
    """Keep numba's start on this thread from importing scipy (when nothing has yet).

    The first kernel a process loads makes numba set up its numpy support,
    which probes for BLAS by importing ``scipy.linalg``: a quarter of a
    second, for nothing the kernels use. Without scipy numba finds no BLAS;
    that changes only ``np.correlate`` and ``np.convolve`` in other numba
    code of the process, which then loop instead of calling BLAS. Only this
    thread's import fails, and only meanwhile: other threads import
    ``scipy.linalg`` as usual.
    """
    if "scipy.linalg" in sys.modules:
        yield
        return
    finder = _NotOnThisThread("scipy.linalg")
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class _NotOnThisThread(importlib.abc.MetaPathFinder):
    """An import finder under which importing ``name`` fails on the thread that made it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == self.name and threading.get_ident() == self.thread:
            msg = f"{fullname} is kept out of numba's start by journeygraph"
            raise ImportError(msg, name=fullname)
        return None


def order(code: Any, lo: int, n_codes: int, time: Any) -> tuple[Any, Any, Any]:
    """Events in order: by customer, then time; ties in input order.

    ``code - lo`` is each event's customer code, dense below ``n_codes`` and in
    customer order. A counting sort by customer (histogram, then scatter in
    input order) makes each customer's block; each block is then sorted by
    time, stably. Returns where each customer starts (bool per event), the
    times and the input rows, in order.
    """
    n = len(code)
    threads = max(1, min(_threads(), n))
    bounds = [int(b) for b in np.linspace(0, n, threads + 1)]
    parts = list(pairwise(bounds))
    with ThreadPoolExecutor(threads) as pool:
        counts = list(pool.map(lambda p: _histogram(code, lo, n_codes, *p), parts))
        # a customer's events from chunk c go after those from the chunks before
        starts = np.zeros(n_codes + 1, dtype=np.int64)
        np.cumsum(np.sum(counts, axis=0), out=starts[1:])
        fills = []
        offset = starts[:-1].copy()
        for chunk_counts in counts:
            fills.append(offset.copy())
            offset += chunk_counts
        records = _records(n)
        list(pool.map(
            lambda c: _scatter(code, lo, time, *parts[c], fills[c], records),
            range(threads),
        ))  # fmt: skip
        out = _order_outputs(n)
        by_customer = [int(b) for b in np.linspace(0, n_codes, 4 * threads + 1)]
        list(pool.map(
            lambda c: _sort_customers(starts, by_customer[c], by_customer[c + 1], records, *out),
            range(4 * threads),
        ))  # fmt: skip
    new_customer = np.zeros(n, dtype=np.bool_)
    new_customer[starts[:-1][starts[1:] > starts[:-1]]] = True
    return (new_customer, *out)


def _threads() -> int:
    """The cores this process may run on, or ``JOURNEYGRAPH_THREADS`` if set.

    A Spark executor runs one Python worker per task slot; each worker's share
    of the cores is ``spark.task.cpus``, which the Spark backend puts here.
    """
    if (threads := os.environ.get("JOURNEYGRAPH_THREADS", "")).isdigit() and int(threads) > 0:
        return int(threads)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@compiled
def _longest(starts: Any, first: int, stop: int) -> int:
    """The size of the largest of blocks ``first..stop`` (``starts``: block offsets)."""
    longest = 0
    for b in range(first, stop):
        longest = max(longest, starts[b + 1] - starts[b])
    return longest


@compiled
def _histogram(code: Any, lo: int, n_codes: int, first: int, stop: int) -> Any:
    counts = np.zeros(n_codes, dtype=np.int64)
    for i in range(first, stop):
        counts[code[i] - lo] += 1
    return counts


@compiled
def _records(n: int) -> Any:
    """One (time, row) record per event: a scatter writes one cache line, not two."""
    return np.empty((n, 2), dtype=np.int64)


@compiled
def _order_outputs(n: int) -> tuple[Any, Any]:
    """time and row arrays, allocated by numba (see `_outputs`)."""
    return np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)


@compiled
def _scatter(code: Any, lo: int, time: Any, first: int, stop: int, fill: Any, records: Any) -> None:
    """Put events ``first..stop`` at their customer's next free place, in input order."""
    for i in range(first, stop):
        c = code[i] - lo
        p = fill[c]
        fill[c] = p + 1
        records[p, 0] = time[i]
        records[p, 1] = i


@compiled
def _sort_customers(starts: Any, first: int, stop: int, records: Any, time: Any, row: Any) -> None:
    """Sort the records of customers ``first..stop`` by time (stably), into the outputs."""
    longest = _longest(starts, first, stop)
    key = np.empty(longest, dtype=np.int64)
    index = np.empty(longest, dtype=np.int64)
    for c in range(first, stop):
        a, b = starts[c], starts[c + 1]
        for i in range(b - a):
            key[i] = records[a + i, 0]
            index[i] = a + i
        _sort_block(key, index, b - a)
        for i in range(b - a):
            source = index[i]
            time[a + i] = records[source, 0]
            row[a + i] = records[source, 1]


def group(key: Any) -> tuple[Any, Any]:
    """Number the distinct values of ``key`` (int64): each row's code, each code's first row.

    The rows are first split by hash into partitions of a few thousand
    (a stable scatter, in parallel chunks), so that each partition's hash
    table stays in the processor's cache however the rows are ordered; then
    each partition numbers its keys (partitions in parallel). Codes are
    numbered partition by partition, in order of first appearance within
    each: a grouping, not an order (`positions` puts them in one).
    """
    n = len(key)
    bits = 0
    while bits < 16 and n >> (bits + 12):
        bits += 1
    parts = 1 << bits
    threads = max(1, min(_threads(), n))
    chunks = list(pairwise(int(b) for b in np.linspace(0, n, threads + 1)))
    with ThreadPoolExecutor(threads) as pool:
        counts = list(pool.map(lambda c: _partition_counts(key, bits, *c), chunks))
        starts = np.zeros(parts + 1, dtype=np.int64)
        np.cumsum(np.sum(counts, axis=0), out=starts[1:])
        fills, offset = [], starts[:-1].copy()
        for chunk_counts in counts:
            fills.append(offset.copy())
            offset += chunk_counts
        part_key, part_row = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        list(pool.map(
            lambda c: _partition_scatter(key, bits, *chunks[c], fills[c], part_key, part_row),
            range(threads),
        ))  # fmt: skip
        ranges = list(pairwise(int(b) for b in np.linspace(0, parts, 4 * threads + 1)))
        distinct = np.zeros(parts, dtype=np.int64)
        list(pool.map(lambda r: _number_partitions(starts, r[0], r[1], part_key, distinct), ranges))
        base = np.zeros(parts + 1, dtype=np.int64)
        np.cumsum(distinct, out=base[1:])
        code = np.empty(n, dtype=np.int64)
        first = np.empty(base[-1], dtype=np.int64)
        list(pool.map(
            lambda r: _spread_codes(starts, base, r[0], r[1], part_key, part_row, code, first),
            ranges,
        ))  # fmt: skip
    return code, first


@compiled
def _mix(k: int) -> Any:
    """MurmurHash3's 64-bit finaliser: every bit of ``k`` moves every bit of the result."""
    h = np.uint64(k)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@compiled
def _partition_of(k: int, bits: int) -> Any:
    """The partition of key ``k``: the top ``bits`` bits of its mix."""
    return np.int64(_mix(k) >> np.uint64(64 - bits)) if bits else 0


@compiled
def _partition_counts(key: Any, bits: int, first: int, stop: int) -> Any:
    counts = np.zeros(1 << bits, dtype=np.int64)
    for i in range(first, stop):
        counts[_partition_of(key[i], bits)] += 1
    return counts


@compiled
def _partition_scatter(
    key: Any, bits: int, first: int, stop: int, fill: Any, part_key: Any, part_row: Any
) -> None:
    for i in range(first, stop):
        p = _partition_of(key[i], bits)
        at = fill[p]
        fill[p] = at + 1
        part_key[at] = key[i]
        part_row[at] = i


@compiled
def _number_partitions(starts: Any, first: int, stop: int, part_key: Any, distinct: Any) -> None:
    """Replace each key of partitions ``first..stop`` by its code within its partition."""
    longest = _longest(starts, first, stop)
    size = 16
    while size < 2 * longest:
        size *= 2
    table = np.empty((size, 2), dtype=np.int64)  # (key, code + 1; 0: empty)
    for p in range(first, stop):
        a, b = starts[p], starts[p + 1]
        used = 16
        while used < 2 * (b - a):
            used *= 2
        table[:used, 1] = 0
        mask = used - 1
        found = 0
        for i in range(a, b):
            k = part_key[i]
            s = np.int64(_mix(k) & np.uint64(mask))
            while table[s, 1] and table[s, 0] != k:
                s = (s + 1) & mask
            if not table[s, 1]:
                found += 1
                table[s, 0] = k
                table[s, 1] = found
            part_key[i] = table[s, 1] - 1
        distinct[p] = found


@compiled
def _spread_codes(
    starts: Any, base: Any, first: int, stop: int, local: Any, rows: Any, code: Any, firsts: Any
) -> None:
    """Write each row's code and each code's first row, for partitions ``first..stop``."""
    for p in range(first, stop):
        seen = 0
        for i in range(starts[p], starts[p + 1]):
            c = base[p] + local[i]
            code[rows[i]] = c
            if local[i] == seen:  # rows ascend within a partition: its first appearance
                firsts[c] = rows[i]
                seen += 1


@compiled
def positions(table: Any, query: Any) -> Any:
    """Where each of ``query`` is in ``table`` (distinct int64 keys holding every query)."""
    slots = _hash_table(table)
    out = np.empty(len(query), dtype=np.int64)
    for i in range(len(query)):
        out[i] = _index_of(slots, query[i])
    return out


@compiled
def _hash_table(keys: Any) -> Any:
    """An open-addressing table of distinct int64 ``keys``: rows of (key, index + 1),
    (0, 0) where empty; its length is a power of two."""
    size = 16
    while size < 2 * len(keys):
        size *= 2
    mask = size - 1
    slots = np.zeros((size, 2), dtype=np.int64)
    for j in range(len(keys)):
        s = np.int64(_mix(keys[j]) & np.uint64(mask))
        while slots[s, 1]:
            s = (s + 1) & mask
        slots[s, 0] = keys[j]
        slots[s, 1] = j + 1
    return slots


@compiled
def _index_of(slots: Any, key: int) -> int:
    """The index of ``key`` in the keys of `_hash_table` (it must be one of them)."""
    mask = len(slots) - 1
    s = np.int64(_mix(key) & np.uint64(mask))
    while slots[s, 0] != key:
        s = (s + 1) & mask
    return int(slots[s, 1] - 1)


@compiled
def segment(
    new_customer: Any,
    time: Any,
    touchpoint: Any,
    gap: int,
    by_session: bool,
    collapse: bool,
    new_id: Any,
) -> tuple[Any, Any, Any, Any]:
    """Sessions and journeys of events ordered by customer, then time.

    ``gap < 0`` means no session gap. ``new_id`` (bool per event, or empty)
    marks events whose session id differs from the previous event's: they
    start a session too. Returns ``keep`` (the events kept by
    ``collapse``), the 1-based ``session`` of each kept event within its
    customer, the offsets of each journey's first kept event (plus the end),
    and each journey's customer code.
    """
    n = len(time)
    keep = np.ones(n, dtype=np.bool_)
    session = np.empty(n, dtype=np.uint32)
    starts = np.empty(n + 1, dtype=np.int64)
    customer = np.empty(n, dtype=np.uint32)
    kept = 0
    journeys = 0
    number = 0  # session number within the customer
    code = -1  # customer code
    for i in range(n):
        new_session = (
            new_customer[i]
            or (gap >= 0 and time[i] - time[i - 1] > gap)
            or (len(new_id) > 0 and new_id[i])
        )
        if new_customer[i]:
            code += 1
            number = 0
        if new_session:
            number += 1
        elif collapse and touchpoint[i] == touchpoint[i - 1]:
            keep[i] = False
            continue
        if new_customer[i] or (by_session and new_session):
            starts[journeys] = kept
            customer[journeys] = code
            journeys += 1
        session[kept] = number
        kept += 1
    starts[journeys] = kept
    return keep, session[:kept], starts[: journeys + 1], customer[:journeys]


@compiled
def _insertion_sort(key: Any, index: Any, lo: int, hi: int) -> None:
    """Sort ``key[lo:hi]`` ascending, carrying ``index`` along; stable."""
    for i in range(lo + 1, hi):
        k, v = key[i], index[i]
        j = i - 1
        while j >= lo and key[j] > k:
            key[j + 1] = key[j]
            index[j + 1] = index[j]
            j -= 1
        key[j + 1] = k
        index[j + 1] = v


@compiled
def _sort_block(key: Any, index: Any, size: int) -> None:
    """Sort ``key[:size]`` ascending, carrying ``index`` along; stable.

    Insertion sort for the short blocks most journeys are; a bottom-up merge
    sort of insertion-sorted runs above that. (Hand-written: numba compiles
    numpy's sorts several times slower, and every user pays that once.)
    """
    for lo in range(0, size, _SMALL):
        _insertion_sort(key, index, lo, min(lo + _SMALL, size))
    if size <= _SMALL:
        return
    key_from, index_from = key, index
    key_to = np.empty(size, dtype=key.dtype)
    index_to = np.empty(size, dtype=index.dtype)
    width = _SMALL
    swapped = False
    while width < size:
        for lo in range(0, size, 2 * width):
            mid, hi = min(lo + width, size), min(lo + 2 * width, size)
            i, j = lo, mid
            for out in range(lo, hi):
                if j >= hi or (i < mid and key_from[i] <= key_from[j]):  # ties: left first
                    key_to[out], index_to[out] = key_from[i], index_from[i]
                    i += 1
                else:
                    key_to[out], index_to[out] = key_from[j], index_from[j]
                    j += 1
        key_from, key_to = key_to, key_from
        index_from, index_to = index_to, index_from
        swapped = not swapped
        width *= 2
    if swapped:  # the sorted run is in the scratch arrays
        key[:size] = key_from[:size]
        index[:size] = index_from[:size]


@compiled
def _mine_chunk(
    lo: int,
    hi: int,
    starts: Any,
    touchpoint: Any,
    time: Any,
    session: Any,
    channel: Any,
    n_touchpoints: int,
    edges: Any,
    edge_times: Any,
    nodes: Any,
    node_dwell: Any,
    counts: Any,
) -> tuple[int, int]:
    """Mine journeys ``lo..hi``; write from their first event's row in the outputs.

    A journey of ``m`` events has at most ``m`` nodes and ``m - 1`` edges, so
    the rows from ``starts[lo]`` on are this chunk's own. Returns the number
    of node rows and edge rows written.
    """
    longest = _longest(starts, lo, hi)
    key = np.empty(longest, dtype=np.int64)
    index = np.empty(longest, dtype=np.int64)
    spans = np.empty(longest, dtype=np.int64)
    unused = np.empty(longest, dtype=np.int64)  # _sort_block carries it along with spans
    node_row = starts[lo]
    edge_row = starts[lo]
    with_channel = len(channel) > 0
    for j in range(lo, hi):
        a = starts[j]
        m = starts[j + 1] - a
        # ---- nodes: the journey's positions sorted by touchpoint
        for i in range(m):
            key[i] = touchpoint[a + i]
            index[i] = i
        _sort_block(key, index, m)
        distinct = 0
        g = 0
        while g < m:
            h = g
            dwell = 0
            while h < m and key[h] == key[g]:
                e = a + index[h]
                if index[h] + 1 < m and session[e + 1] == session[e]:
                    dwell += time[e + 1] - time[e]
                h += 1
            nodes[0, node_row] = j
            nodes[1, node_row] = key[g]
            nodes[2, node_row] = h - g
            nodes[3, node_row] = index[g]
            nodes[4, node_row] = index[h - 1]
            node_dwell[node_row] = dwell
            node_row += 1
            distinct += 1
            g = h
        # ---- edges: the journey's transitions sorted by (source, target)
        t = m - 1
        for i in range(t):
            key[i] = touchpoint[a + i] * n_touchpoints + touchpoint[a + i + 1]
            index[i] = i
        _sort_block(key, index, t)
        n_edges = 0
        g = 0
        while g < t:
            h = g
            total = 0
            while h < t and key[h] == key[g]:
                e = a + index[h]
                spans[h - g] = time[e + 1] - time[e]
                total += spans[h - g]
                h += 1
            size = h - g
            _sort_block(spans, unused, size)
            half = size // 2
            if size % 2:
                median = spans[half]
            else:  # the mean of the two middle values, rounded down, without overflow
                x, y = spans[half - 1], spans[half]
                median = x // 2 + y // 2 + (x % 2 + y % 2) // 2
            edges[0, edge_row] = j
            edges[1, edge_row] = key[g] // n_touchpoints
            edges[2, edge_row] = key[g] % n_touchpoints
            edges[3, edge_row] = size
            edge_times[0, edge_row] = time[a + index[g] + 1]
            edge_times[1, edge_row] = time[a + index[h - 1] + 1]
            edge_times[2, edge_row] = total
            edge_times[3, edge_row] = median
            edge_row += 1
            n_edges += 1
            g = h
        # ---- counts along the journey
        self_loops = 0
        backtracks = 0
        switches = 0
        for i in range(a, a + t):
            if touchpoint[i] == touchpoint[i + 1]:
                self_loops += 1
            if i > a and touchpoint[i + 1] == touchpoint[i - 1] != touchpoint[i]:
                backtracks += 1
            if (
                with_channel
                and min(channel[i], channel[i + 1]) >= 0
                and channel[i] != channel[i + 1]
            ):
                switches += 1
        counts[0, j] = distinct
        counts[1, j] = n_edges
        counts[2, j] = self_loops
        counts[3, j] = backtracks
        counts[4, j] = switches
    return node_row - starts[lo], edge_row - starts[lo]


@compiled
def transitions(starts: Any, touchpoint: Any, time: Any, n_touchpoints: int) -> tuple[Any, Any]:
    """Every transition's pair code (``source * n_touchpoints + target``) and duration."""
    n = len(time)
    journeys = len(starts) - 1
    pair = np.empty(n - journeys, dtype=np.int64)
    duration = np.empty(n - journeys, dtype=np.int64)
    row = 0
    for j in range(journeys):
        for i in range(starts[j], starts[j + 1] - 1):
            pair[row] = touchpoint[i] * n_touchpoints + touchpoint[i + 1]
            duration[row] = time[i + 1] - time[i]
            row += 1
    return pair, duration


def pair_medians(
    starts: Any, touchpoint: Any, time: Any, n_touchpoints: int, keys: Any, offsets: Any
) -> Any:
    """The median duration of each transition pair of ``keys`` (over all journeys).

    ``keys`` are the distinct pair codes (``source * n_touchpoints + target``)
    of every transition, and ``offsets`` their cumulative counts (plus a
    leading 0): each pair's durations are gathered into its own slice, then
    each slice's middle is found by selection, not by a sort. For an even
    count the median is the mean of the two middle values, rounded down.
    Pairs are split into chunks on threads.
    """
    spans = _pair_durations(starts, touchpoint, time, n_touchpoints, keys, offsets)
    median = np.empty(len(keys), dtype=np.int64)
    threads = max(1, min(_threads(), len(keys)))
    chunks = list(pairwise(int(b) for b in np.linspace(0, len(keys), 4 * threads + 1)))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda c: _medians(spans, offsets, c[0], c[1], median), chunks))
    return median


@compiled
def _pair_durations(
    starts: Any, touchpoint: Any, time: Any, n_touchpoints: int, keys: Any, offsets: Any
) -> Any:
    """Every transition's duration, in the slice of its pair (see `pair_medians`)."""
    slots = _hash_table(keys)
    fill = offsets[:-1].copy()
    spans = np.empty(offsets[-1], dtype=np.int64)
    for j in range(len(starts) - 1):
        for i in range(starts[j], starts[j + 1] - 1):
            p = _index_of(slots, np.int64(touchpoint[i]) * n_touchpoints + touchpoint[i + 1])
            spans[fill[p]] = time[i + 1] - time[i]
            fill[p] += 1
    return spans


@compiled
def _medians(spans: Any, offsets: Any, first: int, stop: int, median: Any) -> None:
    """The median of each slice ``first..stop`` of ``spans`` (reordering them)."""
    for p in range(first, stop):
        lo, hi = offsets[p], offsets[p + 1]
        half = lo + (hi - lo) // 2
        _select(spans, lo, hi, half)
        upper = spans[half]
        if (hi - lo) % 2:
            median[p] = upper
        else:  # the lower middle is the largest value left of the upper one
            lower = spans[lo]
            for i in range(lo + 1, half):
                lower = max(lower, spans[i])
            median[p] = lower // 2 + upper // 2 + (lower % 2 + upper % 2) // 2


@compiled
def _select(a: Any, lo: int, hi: int, k: int) -> None:
    """Reorder ``a[lo:hi]`` so that ``a[k]`` is its value of rank ``k - lo``, smaller ones
    before, larger after (quickselect with three-way partitions: ties cost nothing)."""
    while hi - lo > 1:
        x, y, z = a[lo], a[lo + (hi - lo) // 2], a[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))  # the median of three
        lt, i, gt = lo, lo, hi  # a[lo:lt] < pivot, a[lt:i] == pivot, a[gt:hi] > pivot
        while i < gt:
            v = a[i]
            if v < pivot:
                a[i], a[lt] = a[lt], v
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                a[i], a[gt] = a[gt], v
            else:
                i += 1
        if k < lt:
            hi = lt
        elif k >= gt:
            lo = gt
        else:
            return


@compiled
def _outputs(n: int, journeys: int) -> tuple[Any, Any, Any, Any, Any]:
    """The output arrays of `mine_blocks`, allocated by numba.

    numpy asks for transparent huge pages on large arrays; on machines that
    then compact memory on first touch, that made writing fresh output three
    times slower than numba's plain allocation.
    """
    return (
        np.empty((4, n), dtype=np.uint32),
        np.empty((4, n), dtype=np.int64),
        np.empty((5, n), dtype=np.uint32),
        np.empty(n, dtype=np.int64),
        np.empty((5, journeys), dtype=np.uint32),
    )


def mine_blocks(
    starts: Any, touchpoint: Any, time: Any, session: Any, channel: Any, n_touchpoints: int
) -> tuple[Any, Any, Any, Any, Any]:
    """Edges, nodes and counts of every journey (``starts``: journey offsets).

    Returns, in journey order:

    * ``edges`` (4 x rows, uint32): journey, source, target, count;
    * ``edge_times`` (4 x rows, int64): first time, last time, total and
      median duration;
    * ``nodes`` (5 x rows, uint32): journey, touchpoint, visits, first and
      last position;
    * ``node_dwell`` (rows, int64);
    * ``counts`` (5 x journeys, uint32): distinct touchpoints, distinct
      edges, self-loops, backtracks, channel switches.

    ``channel`` holds codes (-1 for none) or is empty. Chunks of journeys run
    on threads (the kernel releases the GIL); each writes its own rows from
    its first event's row, then, once the chunk before it has moved, moves
    them down to follow that chunk's: so the moves overlap the mining of
    later chunks instead of running after all of it. A chunk's rows never
    reach past its own events' rows, so a move cannot touch the next chunk's.
    """
    journeys = len(starts) - 1
    edges, edge_times, nodes, node_dwell, counts = _outputs(len(time), journeys)
    threads = max(1, min(_threads(), journeys))
    bounds = np.linspace(0, journeys, 4 * threads + 1).astype(np.int64)
    # rows (nodes, edges) written by the chunks up to each; None if a chunk failed
    ends: list[tuple[int, int] | None] = [None] * (len(bounds) - 1)
    moved = [threading.Event() for _ in ends]

    def run(c: int) -> None:
        # the pool takes chunks in order, so chunk c - 1 has started: waiting cannot deadlock
        try:
            n_nodes, n_edges = _mine_chunk(
                bounds[c], bounds[c + 1], starts, touchpoint, time, session, channel,
                n_touchpoints, edges, edge_times, nodes, node_dwell, counts,
            )  # fmt: skip
            if c:
                moved[c - 1].wait()
            before = (0, 0) if c == 0 else ends[c - 1]
            if before is None:  # the chunk before failed: its error is raised
                return
            node_row, edge_row = before
            first = starts[bounds[c]]  # slices may overlap: numpy copies safely
            nodes[:, node_row : node_row + n_nodes] = nodes[:, first : first + n_nodes]
            node_dwell[node_row : node_row + n_nodes] = node_dwell[first : first + n_nodes]
            edges[:, edge_row : edge_row + n_edges] = edges[:, first : first + n_edges]
            edge_times[:, edge_row : edge_row + n_edges] = edge_times[:, first : first + n_edges]
            ends[c] = (node_row + n_nodes, edge_row + n_edges)
        finally:
            moved[c].set()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(len(ends))))
    node_rows, edge_rows = ends[-1] or (0, 0)
    return (
        edges[:, :edge_rows],
        edge_times[:, :edge_rows],
        nodes[:, :node_rows],
        node_dwell[:node_rows],
        counts,
    )
