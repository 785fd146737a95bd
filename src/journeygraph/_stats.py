"""Small statistics shared by `contrast` and `changes`: two proportions, Poisson counts, BH.

Every test here is two-sided and vectorised over many rows at once. Rows that
cannot be tested (an empty group, no variation at all) get a NaN p-value and
stay out of the Benjamini-Hochberg family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

Floats = npt.NDArray[np.float64]
Z95 = float(stats.norm.ppf(0.975))


def bh(p_values: Floats) -> Floats:
    """Benjamini-Hochberg q-values (step-up, monotone, capped at 1); NaN stays NaN.

    ``q_(i) = min_{j >= i} m p_(j) / j`` over the ``m`` non-NaN p-values in
    ascending order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if m == 0:
        return q
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


@dataclass(frozen=True)
class Proportions:
    """Two proportions compared: shares, difference with a 95 % interval, p-value."""

    share: Floats
    share_rest: Floats
    difference: Floats
    ci_low: Floats
    ci_high: Floats
    p_value: Floats


def two_proportions(
    x1: npt.ArrayLike, n1: npt.ArrayLike, x0: npt.ArrayLike, n0: npt.ArrayLike
) -> Proportions:
    """``x1 / n1`` against ``x0 / n0``: pooled two-proportion z-test, Wald interval.

    The p-value is that of the pooled z statistic (the chi-square test of the
    2 x 2 table without continuity correction), or of Fisher's exact test
    where a cell of the table expects fewer than 5; the 95 % interval of the
    difference uses the unpooled standard error. NaN where a group is empty
    or the pooled share is 0 or 1 (nothing to test).
    """
    a1, b1, a0, b0 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x0, n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a1 / b1
        p0 = a0 / b0
        diff = p1 - p0
        pooled = (a1 + a0) / (b1 + b0)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / b1 + 1 / b0))
        z = diff / se0
        p_value = 2 * stats.norm.sf(np.abs(z))
        se = np.sqrt(p1 * (1 - p1) / b1 + p0 * (1 - p0) / b0)
    bad = (b1 <= 0) | (b0 <= 0) | ~(se0 > 0)
    p_value = np.where(bad, np.nan, p_value)
    # where a cell expects fewer than 5 the normal approximation fails: Fisher's exact test
    with np.errstate(invalid="ignore"):
        expected = np.minimum.reduce(
            [b1 * pooled, b1 * (1 - pooled), b0 * pooled, b0 * (1 - pooled)]
        )
    small = np.flatnonzero(~bad & (expected < 5))
    if len(small):
        flat = p_value.reshape(-1).copy()
        cells = np.stack([a1, b1, a0, b0]).reshape(4, -1)[:, small].astype(np.int64)
        flat[small] = fisher_exact(*cells)
        p_value = flat.reshape(p_value.shape)
    return Proportions(p1, p0, diff, diff - Z95 * se, diff + Z95 * se, p_value)


def poisson_rate(count: npt.ArrayLike, expected: npt.ArrayLike) -> Floats:
    """Two-sided p-value of observing ``count`` when ``expected`` was expected (Poisson).

    Twice the smaller tail, capped at 1; NaN where nothing was expected.
    """
    k = np.asarray(count, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        lower = stats.poisson.cdf(k, mu)
        upper = stats.poisson.sf(k - 1, mu)
        p = np.minimum(1.0, 2 * np.minimum(lower, upper))
    return np.where(mu > 0, p, np.nan)


def fisher_exact(
    x1: npt.NDArray[np.int64],
    n1: npt.NDArray[np.int64],
    x0: npt.NDArray[np.int64],
    n0: npt.NDArray[np.int64],
) -> Floats:
    """Two-sided Fisher exact p-values of many 2 x 2 tables at once.

    As `scipy.stats.fisher_exact`: the probability, given the margins, of every
    table no more likely than the one observed (with the same relative
    tolerance, 1e-7), summed over the hypergeometric support of each table.
    """
    total, hits = n1 + n0, x1 + x0
    lo = np.maximum(0, hits - n0)
    hi = np.minimum(hits, n1)
    sizes = hi - lo + 1
    row = np.repeat(np.arange(len(x1)), sizes)
    starts = np.zeros(len(x1), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    k = lo[row] + np.arange(len(row)) - starts[row]
    logpmf = stats.hypergeom.logpmf(k, total[row], hits[row], n1[row])
    observed = stats.hypergeom.logpmf(x1, total, hits, n1)
    # scipy's rule: tables with pmf <= observed pmf * (1 + 1e-7) are as extreme
    extreme = logpmf <= observed[row] + np.log1p(1e-7)
    p = np.add.reduceat(np.where(extreme, np.exp(logpmf), 0.0), starts)
    return np.minimum(p, 1.0)
