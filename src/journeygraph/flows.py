"""Step flows: what journeys did in the steps before and after a touchpoint → `Flows`.

Build with `Journeys.flows`; draw with `to_html` (a Sankey diagram). Each
journey that has the touchpoint is aligned on its **first** visit to it
(offset 0); offset -1 is the event before, +1 the event after, and so on.
Around ``"(start)"`` journeys are aligned on their first event, around
``"(end)"`` on their last. A journey that began less than k events before the
anchor shows ``"(start)"`` at offset -k and nothing further back; one that
ended shows ``"(end)"`` and nothing further on. At every offset the ``top``
most common touchpoints are kept and the rest are summed into ``"other"``,
whose share is stated, never hidden.

Two parts, shared by local and Spark journeys: `step_counts` counts a set of
journeys per step (counts that add up over disjoint sets of journeys: a Spark
partition's), `flows_of` makes the `Flows` of the summed counts (the ``top``
kept per offset, the rest as ``"other"``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from ._errors import JourneygraphError

__all__ = ["Flows"]

START, END, OTHER = "(start)", "(end)", "other"
_START, _END, _GONE = -1, -2, -3  # codes next to touchpoint codes


class Flows:
    """Step flows around a touchpoint (see the module docs); draw with `to_html`.

    Attributes
    ----------
    around : str
        The touchpoint, ``"(start)"`` or ``"(end)"``.
    journeys : int
        Journeys aligned (those that have ``around``).
    nodes : polars.DataFrame
        ``offset``, ``touchpoint`` (or ``"other"``, ``"(start)"``,
        ``"(end)"``), ``journeys``, ``share`` (of the aligned journeys) and
        ``hidden`` (for ``"other"``: how many distinct touchpoints it sums).
    links : polars.DataFrame
        Journeys going from one offset's node to the next's: ``offset``
        (the source's), ``source``, ``target``, ``journeys``, ``share``.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": ["a", "a", "a", "b", "b"], "ts": [1, 2, 3, 1, 2],
    ...                    "event": ["home", "cart", "pay", "cart", "help"]})
    >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> f = j.flows(around="cart", before=1, after=1)
    >>> f.nodes.select("offset", "touchpoint", "journeys").rows()
    [(-1, '(start)', 1), (-1, 'home', 1), (0, 'cart', 2), (1, 'help', 1), (1, 'pay', 1)]
    """

    def __init__(
        self, around: str, before: int, after: int, top: int, journeys: int,
        nodes: pl.DataFrame, links: pl.DataFrame,
    ) -> None:  # fmt: skip
        self.around = around
        self.before = before
        self.after = after
        self.top = top
        self.journeys = journeys
        self.nodes = nodes
        self.links = links

    def __repr__(self) -> str:
        return (
            f"Flows(around={self.around!r}, {self.journeys:,} journeys, "
            f"offsets {-self.before}..{self.after})"
        )


def window(
    around: str, before: int, after: int, top: int, touchpoints: list[str]
) -> tuple[int, int]:
    """The steps shown before and after ``around`` once the arguments are checked: none
    before ``"(start)"``, none after ``"(end)"``. The errors of `Journeys.flows`."""
    for name, value in (("before", before), ("after", after)):
        if not (isinstance(value, int) and 0 <= value <= 20):
            msg = f"{name} must be a whole number of steps from 0 to 20, not {value!r}"
            raise JourneygraphError(msg)
    if not (isinstance(top, int) and top >= 1):
        msg = f"top must be a positive whole number, not {top!r}"
        raise JourneygraphError(msg)
    if around in touchpoints:
        return before, after
    if around == START:
        return 0, after
    if around == END:
        return before, 0
    msg = (
        f"around={around!r} is not a touchpoint of these journeys, nor '(start)' or '(end)'; "
        f"touchpoints: {touchpoints[:20]}"
    )
    raise JourneygraphError(msg)


def flows(
    starts: npt.NDArray[np.int64],
    touchpoint: npt.NDArray[np.int32],
    touchpoints: list[str],
    around: str,
    before: int,
    after: int,
    top: int,
) -> Flows:
    """The computation behind `Journeys.flows`, on its ordered events: journey ``j`` is
    ``touchpoint[starts[j]:starts[j + 1]]``, codes of ``touchpoints``."""
    before, after = window(around, before, after, top, touchpoints)
    counts = step_counts(starts, touchpoint, touchpoints, around, before, after)
    return flows_of(counts, around, before, after, top)


#: the keys of `step_counts`: its ``journeys`` add up over disjoint sets of journeys
STEP_KEYS = ("offset", "source", "target")
_COUNTS = {"offset": pl.Int64, "source": pl.String, "target": pl.String, "journeys": pl.Int64}


def step_counts(
    starts: npt.NDArray[np.int64],
    touchpoint: npt.NDArray[np.int32],
    touchpoints: list[str],
    around: str,
    before: int,
    after: int,
    weight: npt.NDArray[np.int64] | None = None,
) -> pl.DataFrame:
    """What a `Flows` is made of, as counts that add up over disjoint sets of journeys.

    One row per (``offset``, ``source``, ``target``): the ``journeys`` aligned on
    ``around`` that show ``source`` (a touchpoint, ``"(start)"`` or ``"(end)"``)
    at ``offset`` and ``target`` at ``offset + 1`` (null at ``after`` and past a
    journey's ``"(end)"``). Journey ``j`` is ``touchpoint[starts[j]:starts[j + 1]]``
    (codes of ``touchpoints``), counted ``weight[j]`` times (once by default).
    ``before`` and ``after`` are `window`'s; a journey set without ``around``
    has no rows.
    """
    lo, hi = starts[:-1], starts[1:]
    weights = np.ones(len(lo), dtype=np.int64) if weight is None else weight
    if around in touchpoints:
        hits = np.flatnonzero(touchpoint == touchpoints.index(around))
        owner = np.searchsorted(starts, hits, side="right") - 1
        first_owner, first = np.unique(owner, return_index=True)
        anchor = hits[first]
        lo, hi, weights = lo[first_owner], hi[first_owner], weights[first_owner]
    elif around == START:
        anchor = lo.copy()
    elif around == END:
        anchor = hi - 1
    else:  # not among these journeys' touchpoints: none aligned
        anchor = lo = hi = np.empty(0, dtype=np.int64)
        weights = weights[:0]
    n = len(touchpoints)
    labels = pl.Series([*touchpoints, START, END], dtype=pl.String)
    # label index at each offset: touchpoint codes, then (start) = n, (end) = n + 1; -1: gone
    at = {o: _label_index(_at(touchpoint, anchor, lo, hi, o), n) for o in range(-before, after + 1)}
    gone = np.full(len(anchor), -1, dtype=np.int64)
    parts = [pl.DataFrame(schema=_COUNTS)]
    for o in range(-before, after + 1):
        source, target = at[o], at.get(o + 1, gone)
        present = source >= 0
        # one key per (source, target) pair; target + 1 so that 0 means none
        keys, sums = _sums(source[present] * (n + 3) + target[present] + 1, weights[present])
        targets = (
            pl.Series(keys % (n + 3) - 1).to_frame("t").select(pl.when(pl.col("t") >= 0).then("t"))
        )
        parts.append(
            pl.DataFrame(
                {
                    "offset": pl.Series(np.full(len(keys), o, dtype=np.int64)),
                    "source": labels.gather(keys // (n + 3)),
                    "target": labels.gather(targets.to_series()),
                    "journeys": pl.Series(sums, dtype=pl.Int64),
                }
            )
        )
    return pl.concat(parts)


def sequence_counts(variants: pl.DataFrame, around: str, before: int, after: int) -> pl.DataFrame:
    """`step_counts` of journeys given as their distinct touchpoint sequences: ``variant``
    (a list of names) and ``journeys`` having it, as in `Journeys.variants` (a Spark
    partition's are persisted by `mine`)."""
    variants = variants.filter(pl.col("variant").list.len() > 0)
    sequences = variants.get_column("variant")
    lengths = sequences.list.len().cast(pl.Int64).to_numpy()
    flat = sequences.explode().cast(pl.String)
    names = sorted(flat.unique().to_list())
    codes = flat.cast(pl.Enum(names)).to_physical().cast(pl.Int32).to_numpy()
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    weight = variants.get_column("journeys").cast(pl.Int64).to_numpy()
    return step_counts(starts, codes, names, around, before, after, weight)


def flows_of(counts: pl.DataFrame, around: str, before: int, after: int, top: int) -> Flows:
    """The `Flows` of journeys from their `step_counts` (added up over any split of them):
    at every offset the ``top`` touchpoints kept, the others summed as ``"other"``."""
    n = int(counts.filter(pl.col("offset") == 0).get_column("journeys").sum())
    if n == 0:  # pragma: no cover - a known touchpoint is always visited
        msg = f"no journey visits {around!r}"
        raise JourneygraphError(msg)
    offsets = list(range(-before, after + 1))
    cells: dict[int, dict[str, int]] = {o: {} for o in offsets}
    for o, name, c in counts.group_by("offset", "source").agg(pl.col("journeys").sum()).iter_rows():
        cells[o][name] = c
    shown: dict[int, set[str]] = {}
    node_rows = []
    for o in offsets:
        cell = {name: c for name, c in cells[o].items() if c}
        # touchpoints ranked by journeys, ties by name; (start)/(end) always shown
        ranked = sorted((-c, name) for name, c in cell.items() if name not in (START, END))
        shown[o] = {name for _, name in ranked[:top]} | {START, END}
        hidden = [name for name in cell if name not in shown[o]]
        node_rows += [(o, name, cell[name], 0) for name in sorted(shown[o]) if name in cell]
        if hidden:
            node_rows.append((o, OTHER, sum(cell[name] for name in hidden), len(hidden)))
    nodes = pl.DataFrame(
        node_rows, schema=["offset", "touchpoint", "journeys", "hidden"], orient="row"
    ).select(
        pl.col("offset").cast(pl.Int32),
        "touchpoint",
        pl.col("journeys").cast(pl.UInt64),
        (pl.col("journeys") / n).alias("share"),
        pl.col("hidden").cast(pl.UInt32),
    )
    moved: dict[tuple[int, str, str], int] = {}
    for o, source, target, c in counts.filter(pl.col("target").is_not_null()).iter_rows():
        key = (
            o,
            source if source in shown[o] else OTHER,
            target if target in shown[o + 1] else OTHER,
        )
        moved[key] = moved.get(key, 0) + c
    link_rows = [(*key, c) for key, c in moved.items() if c]
    links = (
        pl.DataFrame(link_rows, schema=["offset", "source", "target", "journeys"], orient="row")
        .select(
            pl.col("offset").cast(pl.Int32),
            pl.col("source").cast(pl.String),
            pl.col("target").cast(pl.String),
            pl.col("journeys").cast(pl.UInt64),
            (pl.col("journeys") / n).alias("share"),
        )
        .sort("offset", "source", "target")
    )
    return Flows(around, before, after, top, n, nodes, links)


def _sums(
    keys: npt.NDArray[np.int64], weights: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct ``keys``, sorted, and the ``weights`` summed per key (exact integers)."""
    order = np.argsort(keys, kind="stable")
    keys, weights = keys[order], weights[order]
    if len(keys) == 0:
        return keys, weights
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[first], np.add.reduceat(weights, first)


def _at(
    touchpoint: npt.NDArray[np.int32],
    anchor: npt.NDArray[np.int64],
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
    offset: int,
) -> npt.NDArray[np.int64]:
    """Touchpoint code at ``anchor + offset``; (start)/(end) one step outside; gone further."""
    pos = anchor + offset
    inside = (pos >= lo) & (pos < hi)
    out = np.full(len(anchor), _GONE, dtype=np.int64)
    out[inside] = touchpoint[pos[inside]]
    out[pos == lo - 1] = _START
    out[pos == hi] = _END
    return out


def _label_index(codes: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Index into the labels (touchpoints, then (start) = n, (end) = n + 1); -1: gone."""
    return np.where(
        codes >= 0, codes, np.where(codes == _START, n, np.where(codes == _END, n + 1, -1))
    )
