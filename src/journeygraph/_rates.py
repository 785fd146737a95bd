"""Per-journey features counted per group of journeys: what `contrast` and `changes` compare.

Every feature is a yes/no fact about one journey, and its rate is the share
of the journeys *at risk* of it that have it:

========== ============================================ =============================
kind       a journey has it when it ...                  at risk: journeys that ...
========== ============================================ =============================
touchpoint visits the touchpoint                         (all)
transition makes ``a → b`` at least once                 visit ``a`` (leaving there counts)
stage      visits a touchpoint of the map's stage        (all)
deviation  has at least one deviation of that kind       (all)
outcome    has the outcome (a customer-table column)     (all)
========== ============================================ =============================

The unit is the journey: a customer, or a session with ``journey="session"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from ._errors import JourneygraphError
from ._steps import journey_features, ordered
from .compare import DEVIATIONS

if TYPE_CHECKING:
    from .compare import Divergence
    from .journeymap import JourneyMap
    from .mine import Journeys

KINDS = ("touchpoint", "transition", "stage", "deviation", "outcome")
ARROW = " → "


@dataclass(frozen=True)
class Rates:
    """Feature ``f`` in group ``g``: ``x[g, f]`` of ``n[g, f]`` journeys at risk have it."""

    kind: list[str]
    item: list[str]
    source: list[str | None]  # transitions: the two touchpoints, for graphs
    target: list[str | None]
    x: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    size: npt.NDArray[np.int64]  # journeys per group


def count(
    journeys: Journeys,
    group: npt.NDArray[np.int32],
    n_groups: int,
    *,
    jmap: JourneyMap | None = None,
    divergence: Divergence | None = None,
    outcome: npt.NDArray[np.bool_] | None = None,
    outcome_name: str = "outcome",
) -> Rates:
    """Count every feature of the journeys per group (``group[j]``: -1 leaves a journey out)."""
    events = ordered(journeys.core)
    names = journeys.touchpoints
    stages: list[str] = []
    stage_of = np.full(len(names), -1, dtype=np.int64)
    if jmap is not None:
        stages = list(jmap.stage_names)
        where = jmap.stage_of
        for t, name in enumerate(names):
            if name in where:
                stage_of[t] = stages.index(where[name])
    size, touch, _, pair, stage = journey_features(
        events.starts, events.touchpoint, group, n_groups, stage_of, len(stages)
    )
    kind: list[str] = []
    item: list[str] = []
    source: list[str | None] = []
    target: list[str | None] = []
    xs: list[npt.NDArray[np.int64]] = []
    ns: list[npt.NDArray[np.int64]] = []

    def add(k: str, label: str, x: npt.NDArray[np.int64], n: npt.NDArray[np.int64]) -> None:
        kind.append(k)
        item.append(label)
        source.append(None)
        target.append(None)
        xs.append(x)
        ns.append(n)

    for t, name in enumerate(names):
        if touch[:, t].any():
            add("touchpoint", name, touch[:, t], size)
    a_idx, b_idx = np.nonzero(pair.sum(axis=0))
    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        add("transition", f"{names[a]}{ARROW}{names[b]}", pair[:, a, b], touch[:, a])
        source[-1], target[-1] = names[a], names[b]
    for s, name in enumerate(stages):
        add("stage", name, stage[:, s], size)
    valid = group >= 0
    if divergence is not None:
        table = divergence.customers
        if table.height != journeys.n_journeys or divergence.journeys is not journeys:
            msg = "divergence= must come from compare() on these same journeys"
            raise JourneygraphError(msg)
        for k in DEVIATIONS:
            has = table.get_column(k).to_numpy() > 0
            add("deviation", k, _per_group(group[valid], has[valid], n_groups), size)
    if outcome is not None:
        add("outcome", outcome_name, _per_group(group[valid], outcome[valid], n_groups), size)
    shape = (n_groups, 0)
    x = np.stack(xs, axis=1) if xs else np.zeros(shape, dtype=np.int64)
    n = np.stack(ns, axis=1) if ns else np.zeros(shape, dtype=np.int64)
    return Rates(kind, item, source, target, x, n, size)


def _per_group(
    group: npt.NDArray[np.int32], has: npt.NDArray[np.bool_], n_groups: int
) -> npt.NDArray[np.int64]:
    return np.bincount(group, weights=has, minlength=n_groups).astype(np.int64)


def outcome_of(
    journeys: Journeys, outcome: str, customers: pl.DataFrame | None
) -> npt.NDArray[np.bool_]:
    """Each journey's customer's yes/no ``outcome`` (a column of ``customers``)."""
    if customers is None or outcome not in customers.columns:
        have = None if customers is None else customers.columns
        msg = (
            f"outcome={outcome!r} must be a yes/no column of the customer table (customers=); "
            f"it has {have}"
        )
        raise JourneygraphError(msg)
    if "customer" not in customers.columns:
        msg = f"the customer table needs a 'customer' column; it has {customers.columns}"
        raise JourneygraphError(msg)
    column = customers.get_column(outcome)
    if column.dtype != pl.Boolean and not (
        column.dtype.is_integer() and set(column.drop_nulls().unique().to_list()) <= {0, 1}
    ):
        msg = f"outcome={outcome!r} must be yes/no (Boolean or 0/1); it is {column.dtype}"
        raise JourneygraphError(msg)
    ids = journeys.stats.select("customer")
    table = customers.select("customer", pl.col(outcome).cast(pl.Boolean))
    if table.schema["customer"] != ids.schema["customer"]:
        table = table.with_columns(pl.col("customer").cast(ids.schema["customer"], strict=False))
    joined = ids.join(table, on="customer", how="left", maintain_order="left")
    return joined.get_column(outcome).fill_null(False).to_numpy()


def check_spark(call: str, by: object, divergence: object = None, outcome: object = None) -> None:
    """What `contrast`, `changes` and `funnel` take only with local journeys, refused
    on Spark."""
    for name, given in (
        ("by=<a mapping of journey ids>", by is not None and not isinstance(by, str)),
        ("divergence=", divergence is not None),
        ("outcome=", outcome is not None),
    ):
        if given:
            msg = (
                f"{call}({name}) does not run on Spark journeys yet (by= a column of the "
                "customer table or 'channel', and jmap=, do); work on a sample: "
                f"jg.{call}(journeys.to_local(fraction=0.01), ...)"
            )
            raise JourneygraphError(msg)


def check_limits(min_journeys: object, alpha: object) -> None:
    """The two knobs `contrast` and `changes` share, checked before any work."""
    if not (isinstance(min_journeys, int) and min_journeys >= 1):
        msg = f"min_journeys must be a positive integer, not {min_journeys!r}"
        raise JourneygraphError(msg)
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        msg = f"alpha must be between 0 and 1, not {alpha!r}"
        raise JourneygraphError(msg)


def count_with(
    journeys: Journeys,
    group: npt.NDArray[np.int32],
    n_groups: int,
    *,
    customers: pl.DataFrame | None,
    jmap: JourneyMap | None,
    divergence: Divergence | None,
    outcome: str | None,
) -> Rates:
    """`count`, with the outcome read from the customer table by name."""
    flags = None if outcome is None else outcome_of(journeys, outcome, customers)
    return count(
        journeys,
        group,
        n_groups,
        jmap=jmap,
        divergence=divergence,
        outcome=flags,
        outcome_name=outcome or "outcome",
    )


_RATE_SCHEMA = {
    "group": pl.String,
    "kind": pl.String,
    "item": pl.String,
    "source": pl.String,
    "target": pl.String,
    "x": pl.Int64,
}


def rate_counts(rates: Rates, groups: list[str]) -> dict[str, pl.DataFrame]:
    """``rates`` as tables that add up over disjoint sets of journeys (group by name):
    ``rates`` (``x`` per group and item) and ``sizes`` (``journeys`` per group). Only
    what `rates_from` cannot rebuild from them is kept: every ``n`` is a group size or,
    for a transition, the group's journeys visiting its source."""
    rows = [
        (group, rates.kind[f], rates.item[f], rates.source[f], rates.target[f], int(x))
        for g, group in enumerate(groups)
        for f, x in enumerate(rates.x[g].tolist())
        if x or rates.kind[f] == "stage"  # zeros add nothing; every stage is a row
    ]
    sizes = pl.DataFrame(
        {"group": groups, "journeys": rates.size.astype(np.int64)},
        schema={"group": pl.String, "journeys": pl.Int64},
    )
    return {"rates": pl.DataFrame(rows, schema=_RATE_SCHEMA, orient="row"), "sizes": sizes}


def rates_from(
    counts: pl.DataFrame,
    sizes: pl.DataFrame,
    touchpoints: list[str],
    stages: list[str],
    *,
    groups: list[str] | None = None,
) -> tuple[list[str], Rates]:
    """The groups (sorted) and the `Rates` of all journeys from `rate_counts` summed over
    sets of journeys; items in `count`'s order (touchpoints and transitions in
    vocabulary order, stages in map order). Touchpoint, transition and stage rows only.
    ``groups``: all groups in order (those without journeys count zero), by default
    the sorted groups of ``sizes``."""
    names = sorted(sizes.get_column("group").to_list()) if groups is None else groups
    at = {name: g for g, name in enumerate(names)}
    size = np.zeros(len(names), dtype=np.int64)
    for group, n in sizes.iter_rows():
        size[at[group]] += n
    index = {t: i for i, t in enumerate(touchpoints)}
    stage_index = {s: i for i, s in enumerate(stages)}

    def key(kind: str, item: str, source: str | None, target: str | None) -> tuple[int, ...]:
        if kind == "touchpoint":
            return (0, index[item], 0)
        if kind == "transition":
            assert source is not None
            assert target is not None
            return (1, index[source], index[target])
        if kind == "stage":
            return (2, stage_index[item], 0)
        msg = f"{kind} rows are not summed over partitions"
        raise JourneygraphError(msg)

    features: dict[tuple[str, str, str | None, str | None], npt.NDArray[np.int64]] = {}
    for group, kind, item, source, target, x in counts.iter_rows():
        row = features.setdefault((kind, item, source, target), np.zeros(len(names), np.int64))
        row[at[group]] += x
    order = sorted(features, key=lambda f: key(*f))
    touch = {f[1]: features[f] for f in order if f[0] == "touchpoint"}
    xs, ns = [], []
    for f in order:
        xs.append(features[f])
        if f[0] == "transition":
            assert f[2] is not None
            ns.append(touch[f[2]])
        else:
            ns.append(size)
    shape = (len(names), 0)
    x = np.stack(xs, axis=1) if xs else np.zeros(shape, dtype=np.int64)
    n = np.stack(ns, axis=1) if ns else np.zeros(shape, dtype=np.int64)
    rates = Rates(
        [f[0] for f in order], [f[1] for f in order], [f[2] for f in order],
        [f[3] for f in order], x, n, size,
    )  # fmt: skip
    return names, rates
