"""Since when: rates per calendar period against their baseline: `changes` → `Changes`.

A journey belongs to the period in which it starts. For every period (and
segment, with ``by=``) the rate of every per-journey feature (see `_rates`:
touchpoints visited, transitions made among the journeys visiting the source,
stages reached, deviations, an outcome) is compared with its **baseline: the
same segment's other periods, pooled** (leave-one-out), by a pooled
two-proportion z-test. The number of journeys starting is compared with what
the other periods' pace predicts for the period's length (a Poisson test;
partial first and last periods count only the time covered by data). The
q-values are Benjamini-Hochberg over everything tested. Runs of consecutive
flagged periods of one item, in one direction, are **episodes**.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from ._errors import JourneygraphError
from ._rates import Rates, check_limits, check_spark, count, count_with, rate_counts, rates_from
from ._segments import By, segments
from ._stats import bh, poisson_rate, two_proportions
from .compare import Divergence
from .journeymap import JourneyMap
from .mine import Journeys

if TYPE_CHECKING:
    from ._spark import SparkJourneys

__all__ = ["Changes", "changes"]

VOLUME = "journeys"  # kind and item of the number of journeys starting


class Changes:
    """The result of `changes`.

    Attributes
    ----------
    every : str
        The period length.
    table : polars.DataFrame
        One row per period, segment and item, flagged rows first, then by
        impact: ``period_start``, ``period_end``, ``segment``, ``kind``
        (touchpoint, transition, stage, deviation, outcome, or ``journeys``
        for the number of journeys starting), ``item``, ``journeys`` (having
        it), ``at_risk`` (who could), ``rate`` (``journeys / at_risk``; for
        ``journeys`` the count), ``baseline`` (the other periods' pooled rate;
        for ``journeys`` the count expected at their pace), ``difference``,
        ``p_value``, ``q_value`` (Benjamini-Hochberg over all rows tested),
        ``flagged`` (``q_value < alpha``) and ``impact`` (journeys more or
        fewer than at the baseline rate). Untested rows have null p- and q-values.
    episodes : polars.DataFrame
        Runs of consecutive flagged periods of one segment and item in one
        direction, most journeys affected first: ``segment``, ``kind``,
        ``item``, ``start``, ``end``, ``periods``, ``direction`` (``"up"`` or
        ``"down"``), ``baseline``, ``peak_rate``, ``peak_difference``,
        ``journeys_affected`` (sum of ``|impact|``) and ``q_value`` (the smallest).
    untested : polars.DataFrame
        Periods whose rates were not tested because fewer than
        ``min_journeys`` journeys started in them: ``period_start``,
        ``segment``, ``journeys``.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> rows = [(f"u{i}", t0 + dt.timedelta(hours=i, minutes=m), e)
    ...         for i in range(24 * 28) for m, e in enumerate(
    ...             ["home", "error" if 24 * 14 <= i < 24 * 21 else "cart"])]
    >>> df = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row")
    >>> j = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> ch = jg.changes(j, every="1w")
    >>> ch.episodes.select("kind", "item", "direction", "periods").head(2).rows()
    [('touchpoint', 'cart', 'down', 1), ('touchpoint', 'error', 'up', 1)]
    >>> str(ch.episodes.get_column("start")[0].date())
    '2024-01-15'
    """

    def __init__(
        self,
        every: str,
        table: pl.DataFrame,
        episodes: pl.DataFrame,
        untested: pl.DataFrame,
        alpha: float,
    ) -> None:
        self.every = every
        self.table = table
        self.episodes = episodes
        self.untested = untested
        self.alpha = alpha

    def __repr__(self) -> str:
        return f"Changes(every={self.every!r}, {self.episodes.height} episodes)"

    def series(self, kind: str, item: str, segment: str = "all") -> pl.DataFrame:
        """One item's rate and baseline per period, in time order (for a time series)."""
        return (
            self.table.filter(
                (pl.col("kind") == kind) & (pl.col("item") == item) & (pl.col("segment") == segment)
            )
            .sort("period_start")
            .select("period_start", "period_end", "rate", "baseline", "at_risk", "flagged")
        )


def changes(
    journeys: Journeys | SparkJourneys,
    every: str = "1w",
    by: By | None = None,
    *,
    customers: pl.DataFrame | None = None,
    jmap: JourneyMap | None = None,
    divergence: Divergence | None = None,
    outcome: str | None = None,
    min_journeys: int = 50,
    min_at_risk: int = 20,
    alpha: float = 0.05,
) -> Changes:
    """What changed when: every rate per period against its other periods, with episodes.

    Parameters
    ----------
    journeys
        Mined journeys; each belongs to the period its first event falls in.
    every
        Period length as polars writes it: ``"1d"``, ``"1w"`` (weeks start on
        Monday), ``"1mo"``.
    by, customers
        Segments, as in `contrast`; each segment has its own baselines.
    jmap, divergence, outcome
        Add stage reach, deviation kinds, and a yes/no outcome column of
        ``customers`` (see `contrast`).
    min_journeys
        Periods (of a segment) with fewer journeys starting are not tested;
        they are listed in ``Changes.untested``.
    min_at_risk
        Rows with fewer journeys at risk, in the period or in the baseline,
        are not tested.
    alpha
        The q-value below which a row is ``flagged``.

    Returns
    -------
    Changes
        See `Changes`.
    """
    check_limits(min_journeys, alpha)
    if type(journeys).__name__ == "SparkJourneys":  # counted per partition, finished here
        from . import _spark  # imports pyspark only now

        assert isinstance(journeys, _spark.SparkJourneys)
        check_spark("changes", by, divergence, outcome)
        assert by is None or isinstance(by, str)
        lo, hi, dtype = _spark.start_range(journeys)
        grid, ends = _grid(lo, hi, every, dtype)
        work = _PeriodCounting(every, grid, by, customers, jmap)
        counts = _spark.summed_counts(journeys, work)
        sizes = counts["sizes"]
        names = sorted({g.split(_SEP)[0] for g in sizes.get_column("group").to_list()})
        groups = [f"{name}{_SEP}{p}" for name in names for p in range(len(grid))]
        stages = [] if jmap is None else list(jmap.stage_names)
        _, rates = rates_from(counts["rates"], sizes, journeys.touchpoints, stages, groups=groups)
        return _changes_of(
            every, rates, names, grid, ends, lo, hi, min_journeys, min_at_risk, alpha
        )
    assert isinstance(journeys, Journeys)
    starts = journeys.stats.get_column("start")
    grid, ends = _grid(starts.min(), starts.max(), every, starts.dtype)
    n_periods = len(grid)
    period_code = _period_codes(starts, every, grid)
    segs = segments(journeys, by, customers)
    group = (segs.code * n_periods + period_code).astype(np.int32)
    n_groups = len(segs.names) * n_periods
    rates = count_with(
        journeys,
        group,
        n_groups,
        customers=customers,
        jmap=jmap,
        divergence=divergence,
        outcome=outcome,
    )
    return _changes_of(
        every, rates, segs.names, grid, ends, starts.min(), starts.max(),
        min_journeys, min_at_risk, alpha,
    )  # fmt: skip


_SEP = "\x1f"  # between a segment's name and a period's number in a group name


def _grid(lo: Any, hi: Any, every: str, dtype: Any) -> tuple[pl.Series, pl.Series]:
    """The periods' starts and ends, from the period of the first start ``lo`` to the
    period of the last ``hi`` (journey starts of type ``dtype``)."""
    starts = pl.Series("start", [lo, hi], dtype=dtype)
    try:
        period = starts.dt.truncate(every)
        first, last = period.min(), period.max()
        zone = getattr(starts.dtype, "time_zone", None)
        grid = pl.datetime_range(first, last, every, eager=True, time_zone=zone)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, ValueError, TypeError):
        msg = f"every={every!r} is not a period length; write it like '1d', '1w' or '1mo'"
        raise JourneygraphError(msg) from None
    assert isinstance(grid, pl.Series)
    grid = grid.cast(starts.dtype)
    return grid, grid.dt.offset_by(every)


def _period_codes(starts: pl.Series, every: str, grid: pl.Series) -> Any:
    """The period (index into ``grid``) of every start; -1 for a start off the grid."""
    code = pl.DataFrame({"p": starts.dt.truncate(every)}).join(
        pl.DataFrame({"p": grid, "i": np.arange(len(grid), dtype=np.int32)}),
        on="p",
        how="left",
        maintain_order="left",
    )
    return code.get_column("i").fill_null(-1).to_numpy()


@dataclass(frozen=True)
class _PeriodCounting:
    """One set of journeys' features counted per segment and period (`rate_counts`, the
    group named segment and period number): a Spark partition's work."""

    every: str
    grid: pl.Series
    by: str | None
    customers: pl.DataFrame | None
    jmap: JourneyMap | None

    def __call__(self, journeys: Journeys) -> dict[str, pl.DataFrame]:
        n_periods = len(self.grid)
        starts = journeys.stats.get_column("start")
        period_code = _period_codes(starts, self.every, self.grid.cast(starts.dtype))
        segs = segments(journeys, self.by, self.customers)
        # a start off the grid (only the made-up journey that shows the tables' types): left out
        group = np.where(period_code >= 0, segs.code * n_periods + period_code, -1)
        group = group.astype(np.int32)
        rates = count(journeys, group, len(segs.names) * n_periods, jmap=self.jmap)
        names = [f"{name}{_SEP}{p}" for name in segs.names for p in range(n_periods)]
        return rate_counts(rates, names)


def _changes_of(
    every: str,
    rates: Rates,
    names: list[str],
    grid: pl.Series,
    ends: pl.Series,
    lo: Any,
    hi: Any,
    min_journeys: int,
    min_at_risk: int,
    alpha: float,
) -> Changes:
    """`changes` from the features counted per segment ``names`` and period of ``grid``."""
    n_periods = len(grid)
    dtype = grid.dtype
    # the share of each period's length covered by data (from the first start to the last)
    covered = [
        max(min(e, hi) - max(s, lo), dt.timedelta(0)) / (e - s)
        for s, e in zip(grid.to_list(), ends.to_list(), strict=True)
    ]
    exposure = np.asarray(covered, dtype=np.float64)
    if n_periods == 1:
        exposure[:] = 1.0
    shape = (len(names), n_periods)
    x = rates.x.reshape(*shape, -1)
    n = rates.n.reshape(*shape, -1)
    size = rates.size.reshape(shape)
    # pass 1 against all other periods; pass 2 leaves out the periods pass 1 flagged, so an
    # episode does not pull its own baseline (nor make the other periods look changed)
    first_pass = _robust_pass(x, n, size, exposure, min_journeys, min_at_risk)
    flagged = (bh(first_pass.ravel()) < alpha).reshape(first_pass.shape)
    final = _tests(x, n, size, exposure, flagged, min_journeys, min_at_risk)
    frames = [
        _segment_rows(rates, x[s], n[s], size[s], final, s, grid, ends, segment)
        for s, segment in enumerate(names)
    ]
    table = pl.concat(frames)
    q = bh(table.get_column("p_value").to_numpy())
    table = (
        table.with_columns(pl.Series("q_value", q).fill_nan(None), pl.col("p_value").fill_nan(None))
        .with_columns((pl.col("q_value") < alpha).fill_null(False).alias("flagged"))
        .sort(
            pl.col("flagged"),
            pl.col("impact").abs(),
            pl.col("period_start"),
            pl.col("segment"),
            pl.col("kind"),
            pl.col("item"),
            descending=[True, True, False, False, False, False],
        )
    )
    sizes = size
    untested = pl.DataFrame(
        {
            "period_start": np.tile(grid.to_numpy(), len(names)),
            "segment": np.repeat(names, n_periods),
            "journeys": sizes.ravel(),
        }
    ).with_columns(pl.col("period_start").cast(dtype))
    untested = untested.filter(pl.col("journeys") < min_journeys).sort("segment", "period_start")
    return Changes(every, table, _episodes(table), untested, float(alpha))


def _robust_pass(
    x: Any, n: Any, size: Any, exposure: Any, min_journeys: int, min_at_risk: int
) -> Any:
    """p-values (segment x period x (features + 1)) of a first, robust pass.

    Each period's rate is held against the median rate of its segment's
    tested periods, which a few changed periods cannot move; this pass only
    decides which periods to leave out of the baselines of the final pass.
    """
    tested = (size[:, :, None] >= min_journeys) & (n >= min_at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(tested, x / n, np.nan)
        median = _nanmedian(rate)
        both = (median * n + x + 1) / (2 * n + 2)  # never 0 or 1, so the error is never 0
        z = (rate - median) / np.sqrt(both * (1 - both) / n)
    p = np.where(tested & ~np.isnan(median), 2 * stats.norm.sf(np.abs(z)), np.nan)
    full = exposure >= 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        pace = _nanmedian(np.where(full[None, :], size / exposure[None, :], np.nan)[:, :, None])
    expected = pace[:, :, 0] * exposure[None, :]
    volume = np.where(expected >= 5, poisson_rate(size, np.nan_to_num(expected)), np.nan)
    return np.concatenate([p, volume[:, :, None]], axis=2)


def _nanmedian(values: Any) -> Any:
    """Median over periods (axis 1), NaN where no period has a value; keeps the axis."""
    out = np.full((values.shape[0], 1, values.shape[2]), np.nan)
    has = ~np.isnan(values).all(axis=1)
    if has.any():
        with np.errstate(all="ignore"):
            filled = np.nanmedian(np.where(has[:, None, :], values, 0.0), axis=1, keepdims=True)
        out = np.where(has[:, None, :], filled, np.nan)
    return out


def _tests(
    x: Any,
    n: Any,
    size: Any,
    exposure: Any,
    flagged: Any,
    min_journeys: int,
    min_at_risk: int,
) -> tuple[Any, Any, Any, Any]:
    """Every period's rates against its segment's other periods (segment x period x ... arrays).

    ``flagged`` (segment x period x (features + 1)) marks periods left out of
    the baseline of that item. Returns the p-values, the baselines, the
    volume p-values and the expected volumes.
    """
    n_features = x.shape[2]
    keep = np.ones((*x.shape[:2], n_features + 1), dtype=bool) if flagged is None else ~flagged
    kf = keep[:, :, :n_features]
    x0 = (x * kf).sum(axis=1, keepdims=True) - x * kf
    n0 = (n * kf).sum(axis=1, keepdims=True) - n * kf
    test = two_proportions(x, n, x0, n0)
    tested = (size[:, :, None] >= min_journeys) & (n >= min_at_risk) & (n0 >= min_at_risk)
    p = np.where(tested, test.p_value, np.nan)
    # the number of journeys starting, against the other kept periods' pace
    kv = keep[:, :, n_features]
    kept_size = (size * kv).sum(axis=1, keepdims=True) - size * kv
    kept_exposure = (exposure[None, :] * kv).sum(axis=1, keepdims=True) - exposure[None, :] * kv
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(kept_exposure > 0, kept_size * exposure[None, :] / kept_exposure, 0.0)
    volume_p = np.where(expected >= 5, poisson_rate(size, expected), np.nan)
    return p, test.share_rest, volume_p, expected


def _segment_rows(
    rates: Any,
    x: Any,
    n: Any,
    size: Any,
    tests: tuple[Any, ...],
    s: int,
    grid: pl.Series,
    ends: pl.Series,
    segment: str,
) -> pl.DataFrame:
    n_periods, n_features = x.shape
    p, baseline, volume_p, expected = (t[s] for t in tests)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = x / n
    feature_rows = pl.DataFrame(
        {
            "_p": np.repeat(np.arange(n_periods), n_features),
            "kind": np.tile(np.asarray(rates.kind, dtype=object), n_periods).tolist(),
            "item": np.tile(np.asarray(rates.item, dtype=object), n_periods).tolist(),
            "journeys": x.ravel(),
            "at_risk": n.ravel(),
            "rate": rate.ravel(),
            "baseline": baseline.ravel(),
            "p_value": p.ravel(),
        },
        schema_overrides={"kind": pl.String, "item": pl.String},
    )
    volume_rows = pl.DataFrame(
        {
            "_p": np.arange(n_periods),
            "kind": [VOLUME] * n_periods,
            "item": ["journeys starting"] * n_periods,
            "journeys": size,
            "at_risk": size,
            "rate": size.astype(np.float64),
            "baseline": expected,
            "p_value": volume_p,
        }
    )
    rows = pl.concat([feature_rows, volume_rows.cast(feature_rows.schema)])
    rows = rows.filter((pl.col("at_risk") > 0) | (pl.col("kind") == VOLUME))
    difference = pl.col("rate") - pl.col("baseline")
    impact = (
        pl.when(pl.col("kind") == VOLUME).then(difference).otherwise(difference * pl.col("at_risk"))
    )
    return rows.select(
        grid.gather(pl.Series(rows.get_column("_p"))).alias("period_start"),
        ends.gather(pl.Series(rows.get_column("_p"))).alias("period_end"),
        pl.lit(segment).alias("segment"),
        "kind",
        "item",
        "journeys",
        "at_risk",
        "rate",
        "baseline",
        difference.alias("difference"),
        "p_value",
        impact.alias("impact"),
    )


def _episodes(table: pl.DataFrame) -> pl.DataFrame:
    flagged = table.filter("flagged").with_columns(
        pl.when(pl.col("difference") > 0)
        .then(pl.lit("up"))
        .otherwise(pl.lit("down"))
        .alias("direction")
    )
    keys = ["segment", "kind", "item", "direction"]
    flagged = flagged.sort([*keys, "period_start"])
    # a new run starts where the previous flagged period of the key does not end at this start
    new_run = (pl.col("period_start") != pl.col("period_end").shift(1).over(keys)).fill_null(True)
    runs = flagged.with_columns(new_run.cum_sum().over(keys).alias("_run"))
    peak = pl.col("difference").abs().arg_max()
    episodes = runs.group_by([*keys, "_run"], maintain_order=True).agg(
        pl.col("period_start").min().alias("start"),
        pl.col("period_end").max().alias("end"),
        pl.len().alias("periods"),
        pl.col("baseline").get(peak).alias("baseline"),
        pl.col("rate").get(peak).alias("peak_rate"),
        pl.col("difference").get(peak).alias("peak_difference"),
        pl.col("impact").abs().sum().round(0).cast(pl.Int64).alias("journeys_affected"),
        pl.col("q_value").min().alias("q_value"),
    )
    return episodes.sort(
        pl.col("journeys_affected"),
        pl.col("start"),
        pl.col("segment"),
        pl.col("kind"),
        pl.col("item"),
        descending=[True, False, False, False, False],
    ).select(
        "segment",
        "kind",
        "item",
        "start",
        "end",
        "periods",
        "direction",
        "baseline",
        "peak_rate",
        "peak_difference",
        "journeys_affected",
        "q_value",
    )
