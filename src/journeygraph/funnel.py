"""Funnels: how far journeys get through ordered steps, and how fast: `funnel` → `Funnel`.

A journey **reaches step i** when it has events of steps 1..i in that order
(other events in between are fine; each event counts for one step), all no
later than ``within`` after its step-1 event. Equal timestamps keep the
events' order. A journey's *match* is its deepest one; among equally deep
matches, the one with the earliest step-1 event, each later step taken at its
earliest possible event. Times between steps are measured on that match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ._errors import JourneygraphError
from ._rates import check_spark
from ._segments import By, Segments, segments
from ._steps import funnel_match, ordered
from .journeymap import JourneyMap
from .mine import Journeys
from .schema import parse_duration

if TYPE_CHECKING:
    from ._spark import SparkJourneys

__all__ = ["Funnel", "funnel"]

END = "(end)"
Step = str | Collection[str]


class Funnel:
    """The result of `funnel`: per step counts, conversion and times; per journey matches.

    Attributes
    ----------
    steps : list[str]
        Step labels: a touchpoint, a stage name, or ``"a | b"`` for a set.
    within : datetime.timedelta | None
        The window from step 1, if any.
    by : str | None
        What the segments are (``None``: one segment, ``"all"``).
    table : polars.DataFrame
        One row per segment and step: ``segment``, ``step`` (1-based),
        ``name``, ``journeys`` (reaching the step), ``conversion_previous``
        (of those reaching the previous step; for step 1 of all journeys in
        the segment), ``conversion_first`` (of those reaching step 1),
        ``median_time`` and ``p90_time`` (time from the previous step's event;
        median of an even count rounded down to whole microseconds, p90 the
        nearest-rank percentile), ``stopped`` (reached this step but not the
        next) and ``instead`` (the stopped journeys' most common next
        touchpoints, up to three, ``"(end)"`` when the journey ended).
    stopped : polars.DataFrame
        Every next touchpoint of the stopped journeys: ``segment``, ``step``,
        ``next``, ``journeys``, ``share`` (of those stopped at that step).
    journeys : polars.DataFrame
        One row per journey: ``journey``, ``segment``, ``reached`` (steps
        reached, 0..n), ``times`` (timestamp of each matched step) and
        ``next`` (touchpoint after the last matched event; null at the
        journey's end or when step 1 was not reached). Of Spark journeys, a
        Spark DataFrame with these columns (``reached`` a ``long``), made by
        one more pass over the partitions on each action (``persist()`` it to
        reuse).

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": ["a", "a", "a", "b", "b", "c"],
    ...                    "ts": [1, 2, 3, 1, 2, 1],
    ...                    "event": ["home", "cart", "pay", "home", "help", "cart"]})
    >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> f = jg.funnel(j, ["home", "cart", "pay"])
    >>> f.table.select("name", "journeys", "conversion_first", "instead").rows()
    [('home', 2, 1.0, ['help']), ('cart', 1, 0.5, []), ('pay', 1, 0.5, [])]
    """

    def __init__(
        self,
        steps: list[str],
        within: dt.timedelta | None,
        by: str | None,
        journeys: Callable[[], Any],
        table: pl.DataFrame,
        stopped: pl.DataFrame,
    ) -> None:
        self.steps = steps
        self.within = within
        self.by = by
        self._per_journey = journeys
        self.table = table
        self.stopped = stopped

    @cached_property
    def journeys(self) -> Any:
        """One row per journey (see the class docs); built on first access.

        A ``polars.DataFrame`` (a Spark DataFrame for Spark journeys).
        """
        return self._per_journey()

    def __repr__(self) -> str:
        return f"Funnel({' → '.join(self.steps)})"


def funnel(
    journeys: Journeys | SparkJourneys,
    steps: Sequence[Step] | None = None,
    *,
    within: str | dt.timedelta | None = None,
    by: By | None = None,
    customers: pl.DataFrame | None = None,
    jmap: JourneyMap | None = None,
) -> Funnel:
    """How many journeys get through ordered steps, how fast, and what the others did.

    Parameters
    ----------
    journeys
        Mined journeys (customers or sessions: the unit is the journey). Spark
        journeys too (``by`` a column name, if any): each partition is counted
        by the local code, the counts summed (``Funnel.journeys`` a Spark DataFrame).
    steps
        The steps in order: touchpoint names, sets of touchpoint names (any of
        them counts), or stage names of ``jmap``. Default: the stages of ``jmap``.
    within
        Only count steps no later than this after step 1 (``"7d"``, a timedelta).
    by, customers
        Segments side by side: a column of the customer table ``customers``
        (with a ``customer`` column), ``"channel"`` (the journey's last
        channel), or a mapping of group name to journey ids.
    jmap
        A journey map whose stage names may be used as steps.

    Returns
    -------
    Funnel
        See `Funnel` for the tables.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": ["a", "a", "b", "b"],
    ...                    "ts": ["2024-01-01T10:00", "2024-01-01T10:05",
    ...                           "2024-01-01T10:00", "2024-01-03T10:00"],
    ...                    "event": ["cart", "pay", "cart", "pay"]})
    >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> jg.funnel(j, ["cart", "pay"], within="1d").table.select("name", "journeys").rows()
    [('cart', 2), ('pay', 1)]
    """
    if steps is None:
        if jmap is None:
            msg = "funnel needs steps=[...] (touchpoints, sets of them, or stage names with jmap=)"
            raise JourneygraphError(msg)
        steps = list(jmap.stage_names)
    labels, names = _steps(journeys, steps, jmap)
    window = None if within is None else parse_duration(within, name="within")
    micros = -1 if window is None else window // dt.timedelta(microseconds=1)
    counting = _Counting(names, micros, by, customers)
    if type(journeys).__name__ == "SparkJourneys":  # counted per partition, finished here
        from . import _spark  # imports pyspark only now

        check_spark("funnel", by)
        assert isinstance(journeys, _spark.SparkJourneys)
        assert by is None or isinstance(by, str)
        counts = _spark.funnel_counts(journeys, counting, GAP_KEYS)
        reach = counts["reach"]
        groups = sorted(reach.filter(pl.col("step") == 0).get_column("segment").unique())
        table, stopped = _finish(labels, groups, counts)
        work = replace(counting, per_journey=True)
        return Funnel(
            labels, window, by, partial(_spark.per_journey, journeys, work), table, stopped
        )
    assert isinstance(journeys, Journeys)
    segs, depth, when, after = counting.matched(journeys)
    counts = _counts(len(labels), segs, depth, when, after, journeys.touchpoints)
    table, stopped = _finish(labels, segs.names, counts)
    per_journey = partial(_per_journey, journeys, segs, depth, when, after)
    return Funnel(labels, window, None if by is None else segs.by, per_journey, table, stopped)


def _member(names: list[list[str]], touchpoints: list[str]) -> npt.NDArray[np.bool_]:
    """Which touchpoints (codes of ``touchpoints``) count for each step."""
    index = {t: i for i, t in enumerate(touchpoints)}
    member = np.zeros((len(names), max(len(index), 1)), dtype=np.bool_)
    for s, step in enumerate(names):
        for name in step:
            if name in index:
                member[s, index[name]] = True
    return member


def _steps(
    journeys: Any, steps: Sequence[Step], jmap: JourneyMap | None
) -> tuple[list[str], list[list[str]]]:
    """The steps' labels and touchpoint names, checked against the journeys' touchpoints."""
    if isinstance(steps, str) or not isinstance(steps, Sequence) or not steps:
        msg = f"steps must be a non-empty list of touchpoints, sets or stage names, not {steps!r}"
        raise JourneygraphError(msg)
    index = {t: i for i, t in enumerate(journeys.touchpoints)}
    stages = {} if jmap is None else {s.name: s.touchpoints for s in jmap.stages}
    labels = []
    names_of: list[list[str]] = []
    for s, step in enumerate(steps):
        if isinstance(step, str) and step in stages:
            names: Iterable[str] = stages[step]
            labels.append(step)
        elif isinstance(step, str):
            if step not in index:
                msg = (
                    f"step {step!r} is not a touchpoint of these journeys"
                    + (" nor a stage of the map" if jmap is not None else "")
                    + f"; touchpoints: {journeys.touchpoints[:20]}"
                    + ("" if jmap is not None else " (pass jmap= to use stage names)")
                )
                raise JourneygraphError(msg)
            names = [step]
            labels.append(step)
        else:
            names = sorted(step)
            missing = [n for n in names if n not in index]
            if not names or len(missing) == len(names):
                msg = f"step {s + 1} ({names}) names no touchpoint of these journeys"
                raise JourneygraphError(msg)
            labels.append(" | ".join(names))
        names_of.append([n for n in names if n in index])
    return labels, names_of


def _per_journey(
    journeys: Journeys,
    segs: Segments,
    depth: npt.NDArray[np.int32],
    when: npt.NDArray[np.int64],
    after: npt.NDArray[np.int32],
) -> pl.DataFrame:
    stats = journeys.stats
    ts_type = stats.schema["start"]
    k = when.shape[1]
    flat = (
        pl.Series("t", when.ravel())
        .to_frame()
        .select(pl.when(pl.col("t") >= 0).then("t").cast(ts_type))
    )
    # each journey's k step times (null past its depth) as one list, built without grouping
    lists = flat.to_series().reshape((len(depth), k)).arr.to_list().list.drop_nulls().alias("times")
    vocab = pl.Series(journeys.touchpoints, dtype=pl.String)
    nxt = pl.Series(after).to_frame("a").select(pl.when(pl.col("a") >= 0).then("a"))
    return pl.DataFrame(
        [
            stats.get_column("journey"),
            pl.Series("segment", segs.names, dtype=pl.String).gather(segs.code),
            pl.Series("reached", depth, dtype=pl.UInt32),
            lists,
            vocab.gather(nxt.to_series()).alias("next"),
        ]
    )


#: the value-count table of the funnel's step times, and its keys
GAP_KEYS = ("segment", "step", "gap")


@dataclass(frozen=True)
class _Counting:
    """One set of journeys' funnel counts (`_counts`), or with ``per_journey`` their
    one row each (`Funnel.journeys`): a Spark partition's work."""

    names: list[list[str]]
    micros: int
    by: By | None = None
    customers: pl.DataFrame | None = None
    per_journey: bool = False

    def matched(self, journeys: Journeys) -> tuple[Segments, Any, Any, Any]:
        """The journeys' segments and their deepest matches: depth, step times, next
        touchpoint (see `funnel_match`)."""
        events = ordered(journeys.core)
        member = _member(self.names, journeys.touchpoints)
        depth, when, after = funnel_match(
            events.starts, events.touchpoint, events.time, member, self.micros
        )
        return segments(journeys, self.by, self.customers), depth, when, after

    def __call__(self, journeys: Journeys) -> dict[str, pl.DataFrame]:
        segs, depth, when, after = self.matched(journeys)
        if self.per_journey:
            return {"journeys": _per_journey(journeys, segs, depth, when, after)}
        return _counts(len(self.names), segs, depth, when, after, journeys.touchpoints)


def _counts(
    k: int,
    segs: Segments,
    depth: npt.NDArray[np.int32],
    when: npt.NDArray[np.int64],
    after: npt.NDArray[np.int32],
    touchpoints: list[str],
) -> dict[str, pl.DataFrame]:
    """What the funnel tables are made of, as counts that add up over sets of journeys.

    ``reach``: per segment and step ``0..k``, the journeys reaching it (step 0:
    all); ``next``: per segment, step and next touchpoint (``"(end)"``), the
    journeys stopped at that step (``1..k-1``); ``gap``: per segment and step
    ``2..k``, how many journeys took each time (microseconds) from the previous step.
    """
    names = [*touchpoints, END]
    reach, nexts, gaps = [], [], []
    for g, segment in enumerate(segs.names):
        in_segment = segs.code == g
        d, w, a = depth[in_segment], when[in_segment], after[in_segment]
        reach.append((segment, 0, len(d)))
        for s in range(k):
            reaching = d >= s + 1
            reach.append((segment, s + 1, int(reaching.sum())))
            if s > 0:
                values, n = np.unique(w[reaching, s] - w[reaching, s - 1], return_counts=True)
                gaps.append(
                    pl.DataFrame({"segment": segment, "step": s + 1, "gap": values, "n": n})
                )
            if s < k - 1:
                stop = d == s + 1
                counts = np.bincount(
                    np.where(a[stop] >= 0, a[stop], len(touchpoints)), minlength=len(names)
                )
                nexts += [(segment, s + 1, names[t], int(c)) for t, c in enumerate(counts) if c]
    gap_schema = {"segment": pl.String, "step": pl.Int64, "gap": pl.Int64, "n": pl.Int64}
    return {
        "reach": pl.DataFrame(
            reach,
            schema={"segment": pl.String, "step": pl.Int64, "journeys": pl.Int64},
            orient="row",
        ),
        "next": pl.DataFrame(
            nexts,
            schema={
                "segment": pl.String,
                "step": pl.Int64,
                "next": pl.String,
                "journeys": pl.Int64,
            },
            orient="row",
        ),
        "gap": pl.concat(
            [pl.DataFrame(schema=gap_schema), *(g.cast(gap_schema) for g in gaps)]  # type: ignore[arg-type]
        ),
    }


def _value_at(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], rank: int) -> int:
    """The ``rank``-th (0-based) of the sorted values, given sorted distinct values and counts."""
    return int(values[np.searchsorted(np.cumsum(counts), rank, side="right")])


def _nearest_rank(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], q: float) -> int:
    rank = int(np.ceil(q * int(counts.sum())))
    return _value_at(values, counts, max(rank, 1) - 1)


def _median(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> int:
    n = int(counts.sum())
    lo, hi = _value_at(values, counts, (n - 1) // 2), _value_at(values, counts, n // 2)
    return (lo + hi) // 2


def _finish(
    labels: list[str], segment_names: list[str], counts: dict[str, pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The funnel's ``table`` and ``stopped`` from its `_counts` (of all journeys)."""
    k = len(labels)
    reach = {(g, s): n for g, s, n in counts["reach"].iter_rows()}
    nexts: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for g, s, name, n in counts["next"].iter_rows():
        nexts.setdefault((g, s), []).append((name, n))
    gaps = {
        (g, s): (frame.get_column("gap").to_numpy(), frame.get_column("n").to_numpy())
        for (g, s), frame in counts["gap"]
        .filter(pl.col("n") > 0)
        .sort("segment", "step", "gap")
        .group_by("segment", "step", maintain_order=True)
    }
    rows: list[dict[str, Any]] = []
    stopped_rows: list[dict[str, Any]] = []
    for segment in segment_names:
        first = reach.get((segment, 1), 0)
        for s in range(k):
            n = reach.get((segment, s + 1), 0)
            previous = reach.get((segment, s), 0)
            median = p90 = None
            if s > 0 and n:
                values, c = gaps[(segment, s + 1)]
                median, p90 = _median(values, c), _nearest_rank(values, c, 0.9)
            n_stop = n - reach.get((segment, s + 2), 0) if s < k - 1 else 0
            order = (
                sorted((-c, name) for name, c in nexts.get((segment, s + 1), []) if c)
                if n_stop
                else []
            )
            for minus, name in order:
                stopped_rows.append(
                    {
                        "segment": segment,
                        "step": s + 1,
                        "next": name,
                        "journeys": -minus,
                        "share": -minus / n_stop,
                    }
                )
            rows.append(
                {
                    "segment": segment,
                    "step": s + 1,
                    "name": labels[s],
                    "journeys": n,
                    "conversion_previous": n / previous if previous else None,
                    "conversion_first": n / first if first else None,
                    "median_time": median,
                    "p90_time": p90,
                    "stopped": n_stop,
                    "instead": [name for _, name in order[:3]],
                }
            )
    schema: dict[str, Any] = {
        "segment": pl.String,
        "step": pl.UInt32,
        "name": pl.String,
        "journeys": pl.UInt64,
        "conversion_previous": pl.Float64,
        "conversion_first": pl.Float64,
        "median_time": pl.Int64,
        "p90_time": pl.Int64,
        "stopped": pl.UInt64,
        "instead": pl.List(pl.String),
    }
    table = pl.DataFrame(rows, schema=schema).with_columns(
        pl.col("median_time", "p90_time").cast(pl.Duration("us"))
    )
    stopped_schema = {
        "segment": pl.String,
        "step": pl.UInt32,
        "next": pl.String,
        "journeys": pl.UInt64,
        "share": pl.Float64,
    }
    return table, pl.DataFrame(stopped_rows, schema=stopped_schema)
