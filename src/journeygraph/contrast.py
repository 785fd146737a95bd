"""For whom: how one segment's journeys differ from the others': `contrast` → `Contrast`.

Each group is compared with the rest of the journeys (with exactly two
groups, with the other one) on every per-journey feature (see `_rates`):
touchpoints visited, transitions made (among the journeys that visited the
source), stages reached, deviations from the map, and an outcome. Each row is
a pooled two-proportion z-test; q-values are Benjamini-Hochberg over every
row tested. The unit is the journey (customer or session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import polars as pl

from ._errors import JourneygraphError
from ._rates import Rates, check_limits, check_spark, count, count_with, rate_counts, rates_from
from ._segments import By, segments
from ._stats import bh, two_proportions
from .compare import Divergence
from .journeymap import JourneyMap
from .mine import Journeys

if TYPE_CHECKING:
    from ._spark import SparkJourneys

__all__ = ["Contrast", "contrast"]

MORE = "#2f9e44"  # the group makes it more often
LESS = "#e03131"  # less often
SAME = "#adb5bd"  # no significant difference


class Contrast:
    """The result of `contrast`.

    Attributes
    ----------
    by : str
        What the groups are.
    groups : polars.DataFrame
        ``group`` and ``journeys`` (its size).
    table : polars.DataFrame
        One row per group and item, significant rows first, then by impact:
        ``group``, ``kind`` (touchpoint, transition, stage, deviation,
        outcome), ``item`` (``"cart → checkout"``), ``journeys`` (of the group
        having it), ``at_risk`` (of the group that could: all, or for a
        transition those visiting its source), ``share``, ``share_rest`` (of
        the rest, or of the other group), ``difference`` with its 95 %
        interval ``ci_low``/``ci_high``, ``p_value``, ``q_value``
        (Benjamini-Hochberg over all rows tested), ``significant``
        (``q_value < alpha``) and ``impact`` (``difference * at_risk``: how
        many more or fewer of the group's journeys have it than if the group
        were like the rest). Items fewer than ``min_journeys`` journeys of
        the group or of the rest are at risk of are not tested (null
        p- and q-value).
    alpha : float

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> rows = [(f"u{i}", t, e) for i in range(40)
    ...         for t, e in enumerate(["home", "cart"] + (["pay"] if i < 30 else []))]
    >>> df = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row")
    >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> groups = {"early": [f"u{i}" for i in range(20)], "late": [f"u{i}" for i in range(20, 40)]}
    >>> c = jg.contrast(j, by=groups, min_journeys=5)
    >>> c.table.filter(pl.col("item") == "pay").select("group", "share", "share_rest").rows()
    [('early', 1.0, 0.5)]
    >>> c.table.filter(pl.col("item") == "pay").select("significant").item()
    True
    """

    def __init__(
        self, by: str, groups: pl.DataFrame, table: pl.DataFrame, every: pl.DataFrame, alpha: float
    ) -> None:
        self.by = by
        self.groups = groups
        self.table = table
        self._every = every  # rows of every group, also the mirrored one of two
        self.alpha = alpha

    def __repr__(self) -> str:
        n = int(self.table.get_column("significant").sum())
        return f"Contrast(by={self.by!r}, {self.groups.height} groups, {n} significant rows)"

    def graph(self, group: str) -> nx.DiGraph[Any]:
        """The difference graph of one group against the rest, for `to_html`.

        Nodes are touchpoints and edges transitions, each with the table's
        numbers. Edges are coloured green where the group makes the
        transition significantly more often, red where less, grey otherwise;
        ``weight`` (the edge width) is the absolute difference in share.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": ["a", "a", "b", "b"], "ts": [1, 2, 1, 2],
        ...                    "event": ["home", "cart", "home", "help"]})
        >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
        >>> g = jg.contrast(j, by={"x": ["a"], "y": ["b"]}, min_journeys=1).graph("x")
        >>> g["home"]["cart"]["difference"], g["home"]["help"]["difference"]
        (1.0, -1.0)
        """
        rows = self._every.filter(pl.col("group") == group)
        if rows.height == 0:
            msg = f"no group {group!r}; groups: {self.groups.get_column('group').to_list()}"
            raise JourneygraphError(msg)
        g: nx.DiGraph[Any] = nx.DiGraph(
            title=f"{group} against the rest ({self.by})",
            legend=[
                (MORE, f"{group} makes it more often (q < {self.alpha:g})"),
                (LESS, f"{group} makes it less often (q < {self.alpha:g})"),
                (SAME, "no significant difference"),
            ],
        )
        keep = ["journeys", "share", "share_rest", "difference", "q_value"]
        for row in rows.filter(pl.col("kind") == "touchpoint").iter_rows(named=True):
            g.add_node(row["item"], **{k: row[k] for k in keep})
        for row in rows.filter(pl.col("kind") == "transition").iter_rows(named=True):
            colour = SAME
            if row["significant"]:
                colour = MORE if row["difference"] > 0 else LESS
            attrs = {k: row[k] for k in keep}
            size = 0.0 if row["difference"] != row["difference"] else abs(row["difference"])
            g.add_edge(row["_source"], row["_target"], weight=size, color=colour, **attrs)
        return g


def contrast(
    journeys: Journeys | SparkJourneys,
    by: By,
    *,
    customers: pl.DataFrame | None = None,
    jmap: JourneyMap | None = None,
    divergence: Divergence | None = None,
    outcome: str | None = None,
    min_journeys: int = 30,
    alpha: float = 0.05,
) -> Contrast:
    """How each group's journeys differ from the rest: touchpoints, transitions, stages, outcome.

    Parameters
    ----------
    journeys
        Mined journeys; the unit compared is the journey (customer or session).
        Spark journeys too, with ``by`` a column name and without
        ``divergence``/``outcome``: each partition is counted by the local
        code, the counts summed.
    by, customers
        The groups: a column of the customer table ``customers`` (with a
        ``customer`` column), ``"channel"`` (each journey's last channel), or
        a mapping of group name to journey ids (journeys in no group are
        ``"(other)"``).
    jmap
        Adds stage reach (visiting any touchpoint of a stage).
    divergence
        A `compare` result on these journeys: adds each deviation kind.
    outcome
        A yes/no column of ``customers`` to compare too (customers missing
        from the table count as no).
    min_journeys
        Items fewer journeys of the group or of the rest are at risk of are
        reported but not tested.
    alpha
        The q-value below which a row is ``significant``.

    Returns
    -------
    Contrast
        See `Contrast`.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": ["a", "a", "b", "b"], "ts": [1, 2, 1, 2],
    ...                    "event": ["home", "cart", "home", "help"]})
    >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> c = jg.contrast(j, by={"x": ["a"], "y": ["b"]}, min_journeys=1)
    >>> c.table.filter(pl.col("kind") == "touchpoint").select("item", "difference").rows()
    [('cart', 1.0), ('help', -1.0), ('home', 0.0)]
    """
    check_limits(min_journeys, alpha)
    if type(journeys).__name__ == "SparkJourneys":  # counted per partition, finished here
        from . import _spark  # imports pyspark only now

        assert isinstance(journeys, _spark.SparkJourneys)
        check_spark("contrast", by, divergence, outcome)
        assert by is None or isinstance(by, str)
        counts = _spark.summed_counts(journeys, _GroupCounting(by, customers, jmap))
        stages = [] if jmap is None else list(jmap.stage_names)
        names, rates = rates_from(counts["rates"], counts["sizes"], journeys.touchpoints, stages)
        if len(names) < 2:
            msg = f"by={by!r} gives one group ({names}); a contrast needs at least two"
            raise JourneygraphError(msg)
        return _contrast_of(str(by), names, rates, min_journeys, alpha)
    assert isinstance(journeys, Journeys)
    segs = segments(journeys, by, customers)
    if len(segs.names) < 2:
        msg = f"by={segs.by!r} gives one group ({segs.names}); a contrast needs at least two"
        raise JourneygraphError(msg)
    rates = count_with(
        journeys,
        segs.code,
        len(segs.names),
        customers=customers,
        jmap=jmap,
        divergence=divergence,
        outcome=outcome,
    )
    return _contrast_of(segs.by, segs.names, rates, min_journeys, alpha)


@dataclass(frozen=True)
class _GroupCounting:
    """One set of journeys' features counted per group (`rate_counts`): a Spark
    partition's work. Group names are the values of ``by``, shared by partitions."""

    by: str | None
    customers: pl.DataFrame | None
    jmap: JourneyMap | None

    def __call__(self, journeys: Journeys) -> dict[str, pl.DataFrame]:
        segs = segments(journeys, self.by, self.customers)
        rates = count(journeys, segs.code, len(segs.names), jmap=self.jmap)
        return rate_counts(rates, segs.names)


def _contrast_of(
    by: str, names: list[str], rates: Rates, min_journeys: int, alpha: float
) -> Contrast:
    """`contrast` from the features counted per group ``names``."""
    total_x, total_n = rates.x.sum(axis=0), rates.n.sum(axis=0)
    frames = []
    for g, name in enumerate(names):
        x1, n1 = rates.x[g], rates.n[g]
        x0, n0 = total_x - x1, total_n - n1
        test = two_proportions(x1, n1, x0, n0)
        small = (n1 < min_journeys) | (n0 < min_journeys)
        frames.append(
            pl.DataFrame(
                {
                    "group": [name] * len(x1),
                    "kind": rates.kind,
                    "item": rates.item,
                    "journeys": x1,
                    "at_risk": n1,
                    "share": test.share,
                    "share_rest": test.share_rest,
                    "difference": test.difference,
                    "ci_low": test.ci_low,
                    "ci_high": test.ci_high,
                    "p_value": np.where(small, np.nan, test.p_value),
                    "_source": rates.source,
                    "_target": rates.target,
                },
                schema_overrides={"_source": pl.String, "_target": pl.String},
            )
        )
    every = pl.concat(frames).filter(pl.col("at_risk") > 0)
    shown = every if len(names) > 2 else every.filter(pl.col("group") == names[0])
    q = bh(shown.get_column("p_value").to_numpy())
    shown = _finish(shown, q, alpha)
    every = every.join(
        shown.select("group", "kind", "item", "q_value", "significant"),
        on=["group", "kind", "item"],
        how="left",
        maintain_order="left",
    )
    if len(names) == 2:  # the second group's rows mirror the first's test
        mirror = shown.select("kind", "item", "q_value", "significant")
        second = every.filter(pl.col("group") == names[1]).drop("q_value", "significant")
        every = pl.concat(
            [
                every.filter(pl.col("group") == names[0]),
                second.join(mirror, on=["kind", "item"], how="left", maintain_order="left"),
            ]
        )
    every = every.with_columns(pl.col("significant").fill_null(False))
    sizes = pl.DataFrame({"group": names, "journeys": rates.size})
    return Contrast(by, sizes, shown.drop("_source", "_target"), every, float(alpha))


def _finish(rows: pl.DataFrame, q: Any, alpha: float) -> pl.DataFrame:
    kind_order = pl.Enum(["outcome", "stage", "deviation", "touchpoint", "transition"])
    return (
        rows.with_columns(
            pl.Series("q_value", q).fill_nan(None),
            pl.col("p_value").fill_nan(None),
            (pl.col("difference") * pl.col("at_risk")).alias("impact"),
        )
        .with_columns((pl.col("q_value") < alpha).fill_null(False).alias("significant"))
        .sort(
            pl.col("significant"),
            pl.col("impact").abs(),
            pl.col("kind").cast(kind_order),
            pl.col("group"),
            pl.col("item"),
            descending=[True, True, False, False, False],
        )
    )
