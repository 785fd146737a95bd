"""Hypothesis strategies for property-testing pipelines built on journeygraph.

* `event_logs`: raw event frames (optionally with planted invalid rows) to feed
  `journeygraph.read_events`.
* `journey_maps`: valid `JourneyMap` objects over a touchpoint alphabet.
* `journeys_following`: event frames whose every journey follows a given map
  exactly (cost 0 in `journeygraph.compare`).
* `journeys_with_deviations`: event frames of a linear map with one planted
  deviation per customer (of any kind `journeygraph.compare` reports), plus a
  frame telling which and where.

Installing journeygraph registers `journey_maps()` for ``st.from_type(JourneyMap)``
through Hypothesis' ``hypothesis`` entry point (`_hypothesis_setup_hook`).

All strategies check their arguments when called and raise
``hypothesis.errors.InvalidArgument`` for bad ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload


# ------------------------------------------------------------ entry point hook
# Defined before ``import hypothesis``: importing this module first imports
# hypothesis, which runs its entry points and so calls this hook while the rest
# of the module is not defined yet. The hook therefore registers a resolver that
# builds `journey_maps()` only when ``st.from_type(JourneyMap)`` is used.
def _hypothesis_setup_hook() -> None:
    """Register `journey_maps` for ``st.from_type(JourneyMap)``.

    Hypothesis calls this through the ``hypothesis`` entry point declared in
    journeygraph's ``pyproject.toml``.

    Examples
    --------
    >>> import journeygraph as jg
    >>> from hypothesis import given, settings, strategies as st
    >>> @settings(max_examples=5, deadline=None)
    ... @given(st.from_type(jg.JourneyMap))
    ... def test_maps(jmap):
    ...     assert isinstance(jmap, jg.JourneyMap)
    >>> test_maps()
    """
    from hypothesis import strategies as hst

    from .journeymap import JourneyMap as Map

    def resolve(thing: type[Map]) -> hst.SearchStrategy[Map]:
        return journey_maps()

    hst.register_type_strategy(Map, resolve)


try:
    import hypothesis  # noqa: F401 -- checks that hypothesis is installed
except ImportError:  # pragma: no cover - depends on the environment
    msg = "journeygraph.strategies needs hypothesis: pip install hypothesis"
    raise ModuleNotFoundError(msg) from None

import polars as pl  # noqa: E402 -- after the hook, see above
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import InvalidArgument  # noqa: E402

from ._align import distances  # noqa: E402
from ._deviations import PLANTABLE  # noqa: E402
from .journeymap import JourneyMap  # noqa: E402

__all__ = [
    "DEFAULT_TOUCHPOINTS",
    "OFF_MAP_TOUCHPOINT",
    "event_logs",
    "journey_maps",
    "journeys_following",
    "journeys_with_deviations",
]

DEFAULT_TOUCHPOINTS: tuple[str, ...] = ("home", "search", "product", "cart", "pay")
"""The default touchpoint alphabet of `event_logs` and `journey_maps`."""
OFF_MAP_TOUCHPOINT = "~offmap"
"""The touchpoint `journeys_with_deviations` plants for ``off_map`` deviations."""

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
_TIE_GRID = 4  # with ties=True, timestamps fall on _TIE_GRID + 1 points of the span
_RESERVED = frozenset(
    {"customer", "timestamp", "touchpoint", "channel", "tie_breaker", "_row", "_reason"}
    | {"_raw_timestamp"}
)
_INVALID_KINDS = ("customer", "touchpoint", "timestamp")
_TS = pl.Datetime("us", "UTC")
_SECOND = 1_000_000  # microseconds
_HOUR = 3_600 * _SECOND

Names = Sequence[str] | st.SearchStrategy[str]


# ------------------------------------------------------------------ validation
def _check_bounds(name: str, value: Any, *, low: int = 1) -> tuple[int, int]:
    ok = (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        msg = f"{name}={value!r} must be a pair of integers (min, max), both inclusive"
        raise InvalidArgument(msg)
    lo, hi = int(value[0]), int(value[1])
    if lo < low:
        msg = f"{name}={value!r}: min must be at least {low}"
        raise InvalidArgument(msg)
    if lo > hi:
        msg = f"{name}={value!r}: min {lo} is greater than max {hi}"
        raise InvalidArgument(msg)
    return lo, hi


def _check_int(name: str, value: Any, *, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"{name}={value!r} must be an integer"
        raise InvalidArgument(msg)
    if value < low:
        msg = f"{name}={value!r} must be at least {low}"
        raise InvalidArgument(msg)
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        msg = f"{name}={value!r} must be True or False"
        raise InvalidArgument(msg)
    return value


def _nonblank(name: str) -> bool:
    return bool(name.strip())


def _check_names(name: str, value: Any) -> tuple[str, ...] | st.SearchStrategy[str]:
    """A non-empty sequence of distinct non-blank strings (kept), or a strategy of str."""
    if isinstance(value, st.SearchStrategy):
        return value.filter(_nonblank)
    if isinstance(value, str) or not isinstance(value, Sequence):
        msg = f"{name}={value!r} must be a sequence of strings or a strategy of strings"
        raise InvalidArgument(msg)
    if not value:
        msg = f"{name}={value!r} is empty; give at least one name"
        raise InvalidArgument(msg)
    for item in value:
        if not isinstance(item, str) or not item.strip():
            msg = f"{name}={value!r} contains {item!r}; every name must be a non-blank string"
            raise InvalidArgument(msg)
    return tuple(dict.fromkeys(value))


def _names_strategy(names: tuple[str, ...] | st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return names if isinstance(names, st.SearchStrategy) else st.sampled_from(names)


def _check_span(value: Any) -> int:
    """The span in microseconds; it must be a positive ``timedelta``."""
    if not isinstance(value, dt.timedelta):
        msg = f"span={value!r} must be a datetime.timedelta"
        raise InvalidArgument(msg)
    span_us = value // dt.timedelta(microseconds=1)
    if span_us <= 0:
        msg = f"span={value!r} must be positive"
        raise InvalidArgument(msg)
    return span_us


def _check_attributes(value: Any) -> dict[str, st.SearchStrategy[Any]]:
    attrs: dict[str, st.SearchStrategy[Any]] = {}
    if value is None:
        return attrs
    if not isinstance(value, Mapping):
        msg = f"attributes={value!r} must be a mapping column name -> strategy"
        raise InvalidArgument(msg)
    for name, strategy in value.items():
        if not isinstance(name, str) or not name:
            msg = f"attributes: column name {name!r} must be a non-empty string"
            raise InvalidArgument(msg)
        if name in _RESERVED:
            msg = (
                f"attributes: column name {name!r} is used by journeygraph "
                f"({', '.join(sorted(_RESERVED))}); choose another name"
            )
            raise InvalidArgument(msg)
        if not isinstance(strategy, st.SearchStrategy):
            msg = f"attributes[{name!r}] = {strategy!r} must be a hypothesis strategy"
            raise InvalidArgument(msg)
        attrs[name] = strategy
    return attrs


def _check_map(value: Any) -> JourneyMap:
    if not isinstance(value, JourneyMap):
        msg = f"jmap must be a JourneyMap, not {type(value).__name__}"
        raise InvalidArgument(msg)
    return value


# ------------------------------------------------------------------ event_logs
@overload
def event_logs(
    *,
    customers: tuple[int, int] = ...,
    events: tuple[int, int] = ...,
    touchpoints: Names = ...,
    channels: Names | None = ...,
    span: dt.timedelta = ...,
    ties: bool = ...,
    attributes: Mapping[str, st.SearchStrategy[Any]] | None = ...,
    invalid: int = ...,
    lazy: Literal[False] = ...,
) -> st.SearchStrategy[pl.DataFrame]: ...
@overload
def event_logs(
    *,
    customers: tuple[int, int] = ...,
    events: tuple[int, int] = ...,
    touchpoints: Names = ...,
    channels: Names | None = ...,
    span: dt.timedelta = ...,
    ties: bool = ...,
    attributes: Mapping[str, st.SearchStrategy[Any]] | None = ...,
    invalid: int = ...,
    lazy: Literal[True],
) -> st.SearchStrategy[pl.LazyFrame]: ...
@overload
def event_logs(
    *,
    customers: tuple[int, int] = ...,
    events: tuple[int, int] = ...,
    touchpoints: Names = ...,
    channels: Names | None = ...,
    span: dt.timedelta = ...,
    ties: bool = ...,
    attributes: Mapping[str, st.SearchStrategy[Any]] | None = ...,
    invalid: int = ...,
    lazy: bool,
) -> st.SearchStrategy[pl.DataFrame | pl.LazyFrame]: ...
def event_logs(
    *,
    customers: tuple[int, int] = (1, 5),
    events: tuple[int, int] = (1, 12),
    touchpoints: Names = DEFAULT_TOUCHPOINTS,
    channels: Names | None = None,
    span: dt.timedelta = dt.timedelta(days=2),
    ties: bool = True,
    attributes: Mapping[str, st.SearchStrategy[Any]] | None = None,
    invalid: int = 0,
    lazy: bool = False,
) -> st.SearchStrategy[pl.DataFrame | pl.LazyFrame]:
    """Raw event frames, ready for `journeygraph.read_events`.

    Columns: ``customer`` (String), ``timestamp`` (``Datetime("us", "UTC")``),
    ``touchpoint`` (String), ``channel`` (String, only if ``channels`` is given)
    and one column per entry of ``attributes``. Rows are shuffled across
    customers. Read them with
    ``read_events(df, customer="customer", timestamp="timestamp",
    touchpoint="touchpoint", channel="channel")``.

    Parameters
    ----------
    customers
        ``(min, max)`` number of distinct customers (inclusive, min >= 1).
    events
        ``(min, max)`` number of valid events per customer (inclusive, min >= 1).
    touchpoints
        The touchpoint names: a non-empty sequence or a strategy of strings.
    channels
        Channel names (a sequence or a strategy of strings) for a ``channel``
        column; ``None`` (default) for no channel column.
    span
        All timestamps lie in ``[2024-05-01 UTC, 2024-05-01 UTC + span]``.
    ties
        ``True`` (default): timestamps fall on five evenly spaced points, so equal
        timestamps within a customer are likely. ``False``: the timestamps of one
        customer are all distinct.
    attributes
        Column name → strategy of its values, for extra attribute columns (names
        must not clash with journeygraph's own columns).
    invalid
        Maximum number of invalid rows to add (each has a null customer, null
        touchpoint or null timestamp), for testing error paths. Default 0.
    lazy
        Return ``pl.LazyFrame`` instead of ``pl.DataFrame``.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For any invalid argument, when called.

    Examples
    --------
    >>> import journeygraph as jg
    >>> from hypothesis import given, settings
    >>> from journeygraph.strategies import event_logs
    >>> @settings(max_examples=10, deadline=None)
    ... @given(event_logs(customers=(1, 3), channels=["web", "app"]))
    ... def test_every_row_is_kept(df):
    ...     log = jg.read_events(df, customer="customer", timestamp="timestamp",
    ...                          touchpoint="touchpoint", channel="channel",
    ...                          duplicates="keep")
    ...     assert log.report.rows_kept == df.height
    >>> test_every_row_is_kept()
    """
    c_lo, c_hi = _check_bounds("customers", customers)
    e_lo, e_hi = _check_bounds("events", events)
    tps = _names_strategy(_check_names("touchpoints", touchpoints))
    chans = None if channels is None else _names_strategy(_check_names("channels", channels))
    span_us = _check_span(span)
    _check_bool("ties", ties)
    if not ties and span_us + 1 < e_hi:
        msg = f"span={span!r} is too short for {e_hi} distinct timestamps with ties=False"
        raise InvalidArgument(msg)
    attrs = _check_attributes(attributes)
    n_invalid = _check_int("invalid", invalid, low=0)
    _check_bool("lazy", lazy)

    if ties:
        step = span_us // _TIE_GRID
        offsets: st.SearchStrategy[int] = st.integers(0, _TIE_GRID).map(
            lambda k: span_us if k == _TIE_GRID else k * step
        )
    else:
        offsets = st.integers(0, span_us)

    @st.composite
    def build(draw: st.DrawFn) -> pl.DataFrame | pl.LazyFrame:
        rows: list[dict[str, Any]] = []

        def row(customer: str | None, touchpoint: str | None, offset: int | None) -> None:
            item: dict[str, Any] = {
                "customer": customer,
                "timestamp": None if offset is None else T0 + dt.timedelta(microseconds=offset),
                "touchpoint": touchpoint,
            }
            if chans is not None:
                item["channel"] = draw(chans)
            for name, strategy in attrs.items():
                item[name] = draw(strategy)
            rows.append(item)

        ids = [f"c{i}" for i in range(draw(st.integers(c_lo, c_hi)))]
        for customer in ids:
            times = draw(st.lists(offsets, min_size=e_lo, max_size=e_hi, unique=not ties))
            for offset in times:
                row(customer, draw(tps), offset)
        for _ in range(draw(st.integers(0, n_invalid))):
            missing = draw(st.sampled_from(_INVALID_KINDS))
            row(
                None if missing == "customer" else draw(st.sampled_from(ids)),
                None if missing == "touchpoint" else draw(tps),
                None if missing == "timestamp" else draw(offsets),
            )
        order = draw(st.permutations(range(len(rows))))
        return _frame([rows[i] for i in order], attrs, channel=chans is not None, lazy=lazy)

    return build()


def _frame(
    rows: list[dict[str, Any]],
    attrs: Mapping[str, Any],
    *,
    channel: bool,
    lazy: bool = False,
) -> pl.DataFrame | pl.LazyFrame:
    columns: dict[str, pl.Series] = {
        "customer": pl.Series("customer", [r["customer"] for r in rows], dtype=pl.String),
        "timestamp": pl.Series("timestamp", [r["timestamp"] for r in rows], dtype=_TS),
        "touchpoint": pl.Series("touchpoint", [r["touchpoint"] for r in rows], dtype=pl.String),
    }
    if channel:
        columns["channel"] = pl.Series("channel", [r["channel"] for r in rows], dtype=pl.String)
    for name in attrs:
        columns[name] = pl.Series(name, [r[name] for r in rows], strict=False)
    df = pl.DataFrame(list(columns.values()))
    return df.lazy() if lazy else df


# ---------------------------------------------------------------- journey_maps
def journey_maps(
    *,
    touchpoints: Names = DEFAULT_TOUCHPOINTS,
    min_stages: int = 1,
    max_stages: int = 5,
    optional: bool = True,
    loops: bool = True,
) -> st.SearchStrategy[JourneyMap]:
    """Valid journey maps over a touchpoint alphabet.

    Stages are named ``S1``, ``S2``, ... in map order; each gets one or more
    touchpoints of the alphabet and no touchpoint is in two stages (some may be
    in none). Start and end stages are the defaults.

    Parameters
    ----------
    touchpoints
        The alphabet: a non-empty sequence of names, or a strategy of strings
        (distinct values are drawn from it; it must be able to produce at least
        ``max_stages`` distinct values).
    min_stages, max_stages
        Bounds on the number of stages (inclusive). With a sequence alphabet,
        ``min_stages`` must not exceed its length; ``max_stages`` is capped by it.
    optional
        Whether some stages may be optional.
    loops
        Whether the map may list extra transitions (loops back to the same or an
        earlier stage, and jumps forward).

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For any invalid argument, when called.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from journeygraph.strategies import journey_maps
    >>> @settings(max_examples=20, deadline=None)
    ... @given(journey_maps(max_stages=4))
    ... def test_shortest_path_is_accepted(jmap):
    ...     assert 1 <= len(jmap.stages) <= 4
    ...     assert jmap.accepts(jmap.shortest_path())
    >>> test_shortest_path_is_accepted()
    """
    alphabet = _check_names("touchpoints", touchpoints)
    lo = _check_int("min_stages", min_stages, low=1)
    hi = _check_int("max_stages", max_stages, low=1)
    if lo > hi:
        msg = f"min_stages={lo} is greater than max_stages={hi}"
        raise InvalidArgument(msg)
    if not isinstance(alphabet, st.SearchStrategy):
        if lo > len(alphabet):
            msg = (
                f"min_stages={lo} needs at least {lo} touchpoints, but touchpoints has "
                f"{len(alphabet)}: {alphabet!r}"
            )
            raise InvalidArgument(msg)
        hi = min(hi, len(alphabet))
    _check_bool("optional", optional)
    _check_bool("loops", loops)

    @st.composite
    def build(draw: st.DrawFn) -> JourneyMap:
        n = draw(st.integers(lo, hi))
        if isinstance(alphabet, st.SearchStrategy):
            pool = draw(st.lists(alphabet, min_size=n, max_size=n + 3, unique=True))
        else:
            pool = list(draw(st.permutations(alphabet)))
        used = draw(st.integers(n, len(pool)))
        cut = st.integers(1, max(used - 1, 1))  # stage boundaries within the used prefix
        cuts = sorted(draw(st.lists(cut, min_size=n - 1, max_size=n - 1, unique=True)))
        bounds = [0, *cuts, used]
        names = [f"S{i + 1}" for i in range(n)]
        stages = {name: pool[bounds[i] : bounds[i + 1]] for i, name in enumerate(names)}
        optional_stages = [s for s in names if optional and draw(st.booleans())]
        transitions: list[tuple[str, str]] = []
        if loops:
            pairs = st.tuples(st.sampled_from(names), st.sampled_from(names))
            transitions = draw(st.lists(pairs, max_size=3, unique=True))
        return JourneyMap.linear(stages, optional=optional_stages, transitions=transitions)

    return build()


# ----------------------------------------------------------- journeys_following
def _tail(jmap: JourneyMap) -> dict[str, int]:
    """Fewest moves from each stage to an end stage (stages that cannot reach one are left out)."""
    names, index = jmap.stage_names, jmap.index_of
    predecessors: list[list[int]] = [[] for _ in names]
    for a, b in jmap.moves:
        predecessors[index[b]].append(index[a])
    dist = distances(predecessors, [index[e] for e in jmap.end_stages])
    return {names[s]: d for s, d in dist.items()}


def _walk(draw: st.DrawFn, jmap: JourneyMap, max_loops: int) -> list[str]:
    """A stage path of the map's language: start → end, at most ``max_loops`` free loop moves."""
    tail = _tail(jmap)
    index = jmap.index_of
    q = draw(st.sampled_from([s for s in jmap.start_stages if s in tail]))
    path = [q]
    loops_left = max_loops
    while True:
        if tail[q] == 0 and draw(st.booleans()):
            return path
        options = [b for b in jmap.successors(q) if b in tail]
        if loops_left == 0:  # head for an end stage by a shortest route
            options = [b for b in options if tail[b] < tail[q]]
            if not options:
                return path  # q is an end stage without a shorter way on
        elif tail[q] == 0 and not options:
            return path
        nxt = draw(st.sampled_from(options))
        if index[nxt] <= index[q]:
            loops_left = max(loops_left - 1, 0)
        q = nxt
        path.append(q)


def _micros(limit: dt.timedelta | None) -> int | None:
    return None if limit is None else limit // dt.timedelta(microseconds=1)


def _gaps(limit: int | None, events: int) -> st.SearchStrategy[int]:
    """Microseconds between two events: up to an hour, at most ``limit // events``."""
    cap = _HOUR if limit is None else min(_HOUR, limit // events)
    if cap >= _SECOND:  # whole seconds where they fit, for readable timestamps
        return st.integers(1, cap // _SECOND).map(lambda s: s * _SECOND)
    return st.integers(1, cap)


def _events_for(
    draw: st.DrawFn,
    jmap: JourneyMap,
    path: Sequence[str | None],
    customer: str,
    starts: list[int] | None = None,
    late: int | None = None,
) -> list[dict[str, Any]]:
    """Rows for one customer: 1-3 touchpoints per visit, strictly increasing times.

    ``None`` in ``path`` stands for one visit to `OFF_MAP_TOUCHPOINT`. If
    ``starts`` is given, the event position where each visit begins is appended.
    Times keep every stage's ``max_time``: from entering a stage to entering the
    next stage visit (off-map visits in between included) takes at most
    ``max_time``, sometimes exactly that -- except after the visit at index
    ``late``, which takes 1 µs to an hour longer. Each event needs a
    microsecond, so `_offmap_slots` says where an off-map visit fits, and
    repeats of a stage (one visit for `journeygraph.compare`) are cut to as
    many as its ``max_time`` has microseconds.
    """
    stages = {s.name: s for s in jmap.stages}
    rows: list[dict[str, Any]] = []
    when = T0 + dt.timedelta(seconds=draw(st.integers(0, 86_400)))
    at = 0
    while at < len(path):
        # a span: one visit as compare sees it (repeats of a stage merge), then
        # the off-map visits up to the next stage visit
        stage = path[at]
        end = at + 1
        while stage is not None and end < len(path) and path[end] == stage:
            end += 1
        repeats = end - at
        while end < len(path) and path[end] is None:
            end += 1
        n_off = end - at - repeats
        limit = None if stage is None else _micros(stages[stage].max_time)
        if stage is None:
            visits = [[OFF_MAP_TOUCHPOINT]]
        else:
            kept = repeats if limit is None else max(1, min(repeats, limit - n_off))
            most = 3 if limit is None else max(1, min(3, (limit - n_off) // kept))
            tps = st.sampled_from(stages[stage].touchpoints)
            visits = [draw(st.lists(tps, min_size=1, max_size=most)) for _ in range(kept)]
        if starts is not None:
            firsts = [len(rows) + sum(map(len, visits[:k])) for k in range(len(visits))]
            starts += [firsts[min(k, len(firsts) - 1)] for k in range(repeats)]
            starts += [firsts[-1] + len(visits[-1]) + k for k in range(n_off)]
        touchpoints = [tp for visit in visits for tp in visit] + [OFF_MAP_TOUCHPOINT] * n_off
        gaps = [draw(_gaps(limit, len(touchpoints))) for _ in touchpoints]
        if at == late:
            assert limit is not None
            gaps[-1] = limit - sum(gaps[:-1]) + draw(st.integers(1, _HOUR))
        elif limit is not None and draw(st.booleans()):
            gaps[-1] = limit - sum(gaps[:-1])  # exactly on time: not late
        for tp, gap in zip(touchpoints, gaps, strict=True):
            rows.append({"customer": customer, "timestamp": when, "touchpoint": tp})
            when += dt.timedelta(microseconds=gap)
        at = end
    return rows


def journeys_following(
    jmap: JourneyMap,
    *,
    customers: tuple[int, int] = (1, 5),
    max_loops: int = 2,
) -> st.SearchStrategy[pl.DataFrame]:
    """Event frames whose every journey follows ``jmap`` exactly.

    Each customer walks the map from a start stage to an end stage along allowed
    moves (`JourneyMap.successors`), visiting one to three touchpoints of the
    current stage at each step, with strictly increasing timestamps that keep
    every stage's ``max_time``. Columns as in `event_logs` (without
    ``channel``); no invalid rows. So ``compare(mine(read_events(df, ...)), jmap)``
    finds cost 0 and no deviation (not even ``late``) for every journey.

    Parameters
    ----------
    jmap
        The journey map to follow.
    customers
        ``(min, max)`` number of customers (inclusive, min >= 1).
    max_loops
        How many moves back (to the same or an earlier stage) the walk may take
        freely; after that it heads for an end stage along a shortest route
        (which only for unusual ``start``/``end`` settings can go back again).

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For any invalid argument, when called.

    Examples
    --------
    >>> import journeygraph as jg
    >>> from hypothesis import given, settings
    >>> from journeygraph.strategies import journeys_following
    >>> jmap = jg.JourneyMap.linear({"Explore": ["search", "product"], "Buy": ["cart", "pay"]},
    ...                             transitions=[("Buy", "Explore")])
    >>> @settings(max_examples=10, deadline=None)
    ... @given(journeys_following(jmap))
    ... def test_all_conform(df):
    ...     log = jg.read_events(df, customer="customer", timestamp="timestamp",
    ...                          touchpoint="touchpoint")
    ...     assert jg.compare(jg.mine(log), jmap).customers["cost"].sum() == 0
    >>> test_all_conform()
    """
    jmap = _check_map(jmap)
    c_lo, c_hi = _check_bounds("customers", customers)
    loops = _check_int("max_loops", max_loops, low=0)

    @st.composite
    def build(draw: st.DrawFn) -> pl.DataFrame:
        rows: list[dict[str, Any]] = []
        for i in range(draw(st.integers(c_lo, c_hi))):
            rows += _events_for(draw, jmap, _walk(draw, jmap, loops), f"c{i}")
        order = draw(st.permutations(range(len(rows))))
        df = _frame([rows[k] for k in order], {}, channel=False)
        assert isinstance(df, pl.DataFrame)
        return df

    return build()


# ----------------------------------------------------- journeys_with_deviations
def _offmap_slots(jmap: JourneyMap) -> list[int]:
    """Path indices where an off-map visit fits: its time counts towards the SLA of
    the stage before it, so that SLA needs room for two events (2 µs)."""
    limits = [_micros(s.max_time) for s in jmap.stages[:-1]]
    return [at + 1 for at, limit in enumerate(limits) if limit is None or limit >= 2]


# Planting rules, one per plantable kind (`_deviations.PLANTABLE`). Each changes
# the map's path in place and returns `at` (the visit compare reports the
# deviation at), the stage it names, and the stage made late (or None). Every
# plant leaves a journey whose only cost-1 alignment deletes (or inserts) one
# visit, as no two neighbouring visits are of the same stage.
_Plant = tuple[int, str | None, int | None]


def _plant_skipped_stage(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    at = draw(st.integers(1, len(path) - 2))
    return at, path.pop(at), None


def _plant_off_map(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    at = draw(st.sampled_from(offmap))
    path.insert(at, None)
    return at, None, None


def _plant_out_of_order(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    # i, j, i + 1 with j >= i + 2: ahead of the map
    names = list(path)
    i = draw(st.integers(0, len(names) - 3))
    stage = names[draw(st.integers(i + 2, len(names) - 1))]
    path.insert(i + 1, stage)
    return i + 1, stage, None


def _plant_loop(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    # i, j, i + 1 with j < i: back to a stage already reached
    names = list(path)
    i = draw(st.integers(1, len(names) - 1))
    stage = names[draw(st.integers(0, i - 1))]
    path.insert(i + 1, stage)
    return i + 1, stage, None


def _plant_wrong_entry(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    path.pop(0)
    return 0, path[0], None


def _plant_early_exit(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    path.pop()
    return len(path) - 1, path[-1], None


def _plant_late(
    draw: st.DrawFn, path: list[str | None], timed: list[int], offmap: list[int]
) -> _Plant:
    # reported at the next stage visit
    late = draw(st.sampled_from(timed))
    return late + 1, path[late], late


_PLANTERS: dict[str, Callable[[st.DrawFn, list[str | None], list[int], list[int]], _Plant]] = {
    "skipped_stage": _plant_skipped_stage,
    "off_map": _plant_off_map,
    "out_of_order": _plant_out_of_order,
    "loop": _plant_loop,
    "wrong_entry": _plant_wrong_entry,
    "early_exit": _plant_early_exit,
    "late": _plant_late,
}


def _check_kinds(kinds: Any, jmap: JourneyMap) -> tuple[str, ...]:
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
        msg = f"kinds={kinds!r} must be a non-empty sequence of deviation kinds"
        raise InvalidArgument(msg)
    for kind in kinds:
        if kind not in PLANTABLE:
            msg = f"kinds: cannot plant {kind!r}; plantable kinds are {', '.join(PLANTABLE)}"
            raise InvalidArgument(msg)
    first, *_, last = jmap.stage_names
    if "late" in kinds and not any(s.max_time for s in jmap.stages[:-1]):
        msg = (
            "kinds: cannot plant 'late': no stage before the last has a max_time; give one, "
            f"e.g. JourneyMap.linear(..., max_time={{{first!r}: '1h'}})"
        )
        raise InvalidArgument(msg)
    if "off_map" in kinds and not _offmap_slots(jmap):
        msg = (
            "kinds: cannot plant 'off_map': every stage before the last has a max_time "
            f"under 2 µs, too short for the stage visit and an off-map event; lengthen one "
            f"(the last stage, {last!r}, does not count)"
        )
        raise InvalidArgument(msg)
    return tuple(kinds)


def journeys_with_deviations(
    jmap: JourneyMap,
    *,
    kinds: Sequence[str] = ("skipped_stage", "off_map"),
    customers: tuple[int, int] = (1, 5),
) -> st.SearchStrategy[tuple[pl.DataFrame, pl.DataFrame]]:
    """Event frames with one planted deviation per customer, and the list of them.

    For a *linear* map (no optional stages, no extra transitions, default start
    and end, at least three stages) each customer follows the map except for one
    deviation of a kind drawn from ``kinds``, planted so that
    `journeygraph.compare` finds exactly it, with a unique optimal alignment
    (so tie-breaking plays no part). Stage ``i`` is the ``i``-th stage of the map:

    * ``skipped_stage``: a middle stage is left out; ``stage`` is that stage.
    * ``off_map``: one `OFF_MAP_TOUCHPOINT` event between two stages; ``stage``
      is null.
    * ``out_of_order``: after stage ``i``, one visit to a stage ``j >= i + 2``
      before going on with ``i + 1``; ``stage`` is ``j``.
    * ``loop``: after stage ``i``, one visit back to a stage ``j < i`` before
      going on with ``i + 1`` (or ending); ``stage`` is ``j``.
    * ``wrong_entry``: the first stage is left out; ``stage`` is the second.
    * ``early_exit``: the last stage is left out; ``stage`` is the one before it.
    * ``late``: entering the next stage after a stage with a ``max_time`` takes
      longer than it (by 1 µs to an hour); ``stage`` is the late one. The map
      needs a ``max_time`` on a stage before the last.

    Each of these costs 1 except ``late`` (cost 0: it is about time, not
    order). All other times keep every stage's ``max_time``, so no journey is
    late unless planted so.

    Returns
    -------
    SearchStrategy[tuple[pl.DataFrame, pl.DataFrame]]
        ``(df, planted)``: ``df`` as in `journeys_following`; ``planted`` has one
        row per customer with ``customer``, ``kind``, ``stage`` (String) and
        ``position`` (the event index where `compare` reports it: the first
        event of the deviating visit; for ``skipped_stage`` and ``late`` of the
        visit after it; for ``early_exit`` of the last visit).

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a map that is not linear as above, bad ``kinds`` / ``customers``,
        ``"late"`` without a ``max_time`` on a stage before the last, or
        ``"off_map"`` when every stage before the last has a ``max_time`` under 2 µs.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> from hypothesis import given, settings
    >>> from journeygraph.strategies import journeys_with_deviations
    >>> jmap = jg.JourneyMap.linear(["home", "product", "cart", "pay"], max_time={"cart": "1h"})
    >>> kinds = ["skipped_stage", "off_map", "out_of_order", "loop", "late"]
    >>> @settings(max_examples=10, deadline=None)
    ... @given(journeys_with_deviations(jmap, kinds=kinds))
    ... def test_finds_planted(case):
    ...     df, planted = case
    ...     log = jg.read_events(df, customer="customer", timestamp="timestamp",
    ...                          touchpoint="touchpoint")
    ...     found = jg.compare(jg.mine(log), jmap).deviations
    ...     got = found.select("journey", "kind", "stage", "position").rows()
    ...     assert sorted(got, key=str) == sorted(planted.rows(), key=str)
    >>> test_finds_planted()
    """
    jmap = _check_map(jmap)
    problems = []
    if len(jmap.stages) < 3:
        problems.append(f"it has {len(jmap.stages)} stage(s), needs at least 3")
    if any(s.optional for s in jmap.stages):
        problems.append("it has optional stages")
    if jmap.transitions:
        problems.append("it has extra transitions")
    if jmap.start or jmap.end:
        problems.append("it sets start/end")
    if OFF_MAP_TOUCHPOINT in jmap.stage_of:
        problems.append(f"it uses the touchpoint {OFF_MAP_TOUCHPOINT!r}")
    if problems:
        msg = f"journeys_with_deviations needs a linear map, but {'; '.join(problems)}"
        raise InvalidArgument(msg)
    chosen = _check_kinds(kinds, jmap)
    c_lo, c_hi = _check_bounds("customers", customers)
    names = list(jmap.stage_names)
    offmap_slots = _offmap_slots(jmap)
    timed = [i for i, s in enumerate(jmap.stages[:-1]) if s.max_time is not None]

    @st.composite
    def build(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
        rows: list[dict[str, Any]] = []
        planted: list[tuple[str, str, str | None, int]] = []
        for c in range(draw(st.integers(c_lo, c_hi))):
            customer = f"c{c}"
            kind = draw(st.sampled_from(chosen))
            path: list[str | None] = list(names)
            at, stage, late = _PLANTERS[kind](draw, path, timed, offmap_slots)
            starts: list[int] = []
            rows += _events_for(draw, jmap, path, customer, starts, late=late)
            planted.append((customer, kind, stage, starts[at]))
        order = draw(st.permutations(range(len(rows))))
        df = _frame([rows[k] for k in order], {}, channel=False)
        assert isinstance(df, pl.DataFrame)
        table = pl.DataFrame(
            planted,
            schema={
                "customer": pl.String,
                "kind": pl.String,
                "stage": pl.String,
                "position": pl.Int64,
            },
            orient="row",
        )
        return df, table

    return build()
