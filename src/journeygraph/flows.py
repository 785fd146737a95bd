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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from ._errors import JourneygraphError
from ._steps import ordered

if TYPE_CHECKING:
    from ._core import Core

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


def flows(core: Core, around: str, before: int, after: int, top: int) -> Flows:
    """The computation behind `Journeys.flows` (``core``: its engine core)."""
    for name, value in (("before", before), ("after", after)):
        if not (isinstance(value, int) and 0 <= value <= 20):
            msg = f"{name} must be a whole number of steps from 0 to 20, not {value!r}"
            raise JourneygraphError(msg)
    if not (isinstance(top, int) and top >= 1):
        msg = f"top must be a positive whole number, not {top!r}"
        raise JourneygraphError(msg)
    events = ordered(core)
    names = core.touchpoints
    lo, hi = events.starts[:-1], events.starts[1:]
    if around in names:
        code = names.index(around)
        hits = np.flatnonzero(events.touchpoint == code)
        owner = np.searchsorted(events.starts, hits, side="right") - 1
        first_owner, first = np.unique(owner, return_index=True)
        anchor = hits[first]
        lo, hi = lo[first_owner], hi[first_owner]
    elif around == START:
        anchor = lo.copy()
        before = 0
    elif around == END:
        anchor = hi - 1
        after = 0
    else:
        msg = (
            f"around={around!r} is not a touchpoint of these journeys, nor '(start)' or '(end)'; "
            f"touchpoints: {names[:20]}"
        )
        raise JourneygraphError(msg)
    n = len(anchor)
    if n == 0:  # pragma: no cover - a known touchpoint is always visited
        msg = f"no journey visits {around!r}"
        raise JourneygraphError(msg)
    offsets = list(range(-before, after + 1))
    columns = {o: _at(events.touchpoint, anchor, lo, hi, o) for o in offsets}
    labels = [*names, START, END]
    kept: dict[int, npt.NDArray[np.int64]] = {}
    node_rows = []
    for o in offsets:
        codes = columns[o]
        present = codes[codes != _GONE]
        counts = np.bincount(_label_index(present, len(names)), minlength=len(labels))
        # touchpoints ranked by journeys, ties by name; (start)/(end) always shown
        ranked = sorted((-int(c), labels[t]) for t, c in enumerate(counts[: len(names)]) if c)
        keep = {labels.index(name) for _, name in ranked[:top]}
        mapping = np.full(len(labels), -1, dtype=np.int64)  # -1: other
        for t in keep | {len(names), len(names) + 1}:
            mapping[t] = t
        kept[o] = mapping
        hidden = [t for t in range(len(names)) if counts[t] and t not in keep]
        for t in sorted(keep | {len(names), len(names) + 1}, key=lambda t: labels[t]):
            if counts[t]:
                node_rows.append((o, labels[t], int(counts[t]), 0))
        if hidden:
            node_rows.append((o, OTHER, int(counts[hidden].sum()), len(hidden)))
    nodes = pl.DataFrame(
        node_rows, schema=["offset", "touchpoint", "journeys", "hidden"], orient="row"
    ).select(
        pl.col("offset").cast(pl.Int32),
        "touchpoint",
        pl.col("journeys").cast(pl.UInt64),
        (pl.col("journeys") / n).alias("share"),
        pl.col("hidden").cast(pl.UInt32),
    )
    link_rows = []
    for o in offsets[:-1]:
        a, b = columns[o], columns[o + 1]
        moving = (a != _GONE) & (b != _GONE)
        source = _label_codes(a[moving], kept[o], len(names))
        target = _label_codes(b[moving], kept[o + 1], len(names))
        pairs, counts = np.unique(np.stack([source, target]), axis=1, return_counts=True)
        for (s, t), c in zip(pairs.T.tolist(), counts.tolist(), strict=True):
            link_rows.append((o, _name(s, labels), _name(t, labels), c))
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


def _label_codes(
    codes: npt.NDArray[np.int64], mapping: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.int64]:
    """Touchpoint codes → label codes (n = (start), n + 1 = (end), -1 = other)."""
    return mapping[_label_index(codes, n)]


def _label_index(codes: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Index into the labels (touchpoints, then (start), (end)) of present codes."""
    return np.where(codes >= 0, codes, np.where(codes == _START, n, n + 1))


def _name(code: int, labels: list[str]) -> str:
    return OTHER if code < 0 else labels[code]
