"""Journey archetypes: a mixture of Markov chains fitted to the journey graphs.

Every customer has an individual story; a team can act on a handful of
patterns. `cluster` groups the journeys into **archetypes**, each with a
representative journey, an archetype graph, statistics and a generated
description.

The model
---------
Each archetype is a small generative model of a journey, a **Markov chain
over touchpoints** plus how the journey is done:

* where it starts (the entry touchpoint),
* which touchpoints it uses, and how often (so groups of customers who use
  different touchpoints are told apart even where a single chain could
  describe all of them),
* from each touchpoint, where it goes next, or that it ends there (so loops,
  backtracks, skipped steps and the exit are all transitions),
* from each touchpoint, through which channel,
* how long each step takes (the time between two events, in 13 bins from
  "under 10 s" to "30 days or more").

A journey's features are the counts of these events: exactly its journey graph
(edges with counts, entry and exit) plus its channel mix and tempo. The
archetypes are the components of a mixture of such models, fitted by
expectation maximisation (EM): linear in the number of journeys, no distance
matrix, and each archetype *is* an interpretable graph. Identical feature rows
(journeys with the same graph, channel mix and tempo) are fitted once with a
weight.

Fitting starts ``n_init`` times from random soft assignments on a sample of
``sample_size`` journeys, keeps the best likelihood, and then refines that
solution on all journeys. With ``k="auto"`` the sample is fitted for every
``k`` in ``k_range`` and the **knee of the log-likelihood curve** is chosen:
after normalising ``k`` and the log-likelihood to ``[0, 1]``, the ``k`` whose
point lies furthest above the straight line between the two ends of the range
(the "Kneedle" rule of Satopää et al., 2011). Likelihood always grows with
``k``; the knee is where further archetypes stop explaining much more. BIC is
not used: real journeys are not exactly Markov chains, and on hundreds of
thousands of journeys BIC keeps splitting archetypes into fragments.

A journey belongs to the archetype with the highest posterior probability;
the ``probability`` column says how sure that is. Archetypes are numbered by
size, 0 the largest.

Examples
--------
>>> import journeygraph as jg
>>> from journeygraph import datasets
>>> data = datasets.generate(3_000, seed=0)
>>> journeys = jg.mine(jg.read_events(data.events, **datasets.COLUMNS))
>>> arch = jg.cluster(journeys, k=5, seed=0)
>>> arch
Archetypes(5 archetypes of 3,000 journeys)
>>> arch.table.select("archetype", "size").get_column("size").sum()
3000
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import networkx as nx
import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from tqdm import tqdm

from . import _page
from ._customers import customer_table
from ._errors import JourneygraphError
from ._frames import JOURNEY, group_runs, lookup, ratio
from .compare import DEVIATIONS, Divergence, compare
from .ingest import EventLog
from .journeymap import JourneyMap
from .mine import Journeys

if TYPE_CHECKING:
    from ._spark import SparkArchetypes, SparkJourneys

__all__ = ["ArchetypeModel", "Archetypes", "cluster"]

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]

#: upper bounds (seconds) of the step-time bins; the last bin is open
GAP_BINS: tuple[tuple[int, str], ...] = (
    (10, "<10s"),
    (30, "<30s"),
    (60, "<1m"),
    (120, "<2m"),
    (300, "<5m"),
    (900, "<15m"),
    (3600, "<1h"),
    (4 * 3600, "<4h"),
    (86400, "<1d"),
    (3 * 86400, "<3d"),
    (7 * 86400, "<7d"),
    (30 * 86400, "<30d"),
)
_GAP_LABELS = (*(label for _, label in GAP_BINS), ">=30d")
_END = "(end)"
_ALPHA = 0.1  # Dirichlet pseudo-count added to every feature of every archetype


# --------------------------------------------------------------------------- #
# features
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _Space:
    """The feature layout: which touchpoints and channels the model knows.

    Columns, each block grouped into multinomials (one probability
    distribution per group):

    * ``entry``: one column per touchpoint (one group);
    * ``visit``: one column per touchpoint, counting its events (one group);
    * ``move``: per touchpoint, one column per next touchpoint plus the end
      (one group per touchpoint);
    * ``channel``: per touchpoint, one column per channel (one group per touchpoint);
    * ``gap``: one column per step-time bin (one group).
    """

    touchpoints: tuple[str, ...]
    channels: tuple[str, ...]

    @property
    def n_touchpoints(self) -> int:
        return len(self.touchpoints)

    @property
    def visit0(self) -> int:
        return self.n_touchpoints

    @property
    def move0(self) -> int:
        return 2 * self.n_touchpoints

    @property
    def channel0(self) -> int:
        return self.move0 + self.n_touchpoints * (self.n_touchpoints + 1)

    @property
    def gap0(self) -> int:
        return self.channel0 + self.n_touchpoints * len(self.channels)

    @property
    def width(self) -> int:
        return self.gap0 + len(_GAP_LABELS)

    @cached_property
    def group_starts(self) -> _I64:
        """First column of every group (groups are contiguous)."""
        t, c = self.n_touchpoints, len(self.channels)
        starts = [0, self.visit0]
        starts += [self.move0 + i * (t + 1) for i in range(t)]
        if c:
            starts += [self.channel0 + i * c for i in range(t)]
        starts.append(self.gap0)
        return np.asarray(starts, dtype=np.int64)

    @cached_property
    def group_sizes(self) -> _I64:
        """Columns in every group."""
        return np.diff(np.append(self.group_starts, self.width))

    @cached_property
    def names(self) -> list[str]:
        """A readable name per column (``move:search>product``)."""
        tps = self.touchpoints
        names = [f"entry:{t}" for t in tps]
        names += [f"visit:{t}" for t in tps]
        names += [f"move:{a}>{b}" for a in tps for b in (*tps, _END)]
        names += [f"channel:{a}@{c}" for a in tps for c in self.channels]
        names += [f"gap:{g}" for g in _GAP_LABELS]
        return names


def _space_of(journeys: Journeys, *, channels_too: bool) -> _Space:
    channels: tuple[str, ...] = ()
    if channels_too and journeys.core.has_channel:
        channels = tuple(journeys.core.channels)
    return _Space(tuple(journeys.touchpoints), channels)


def _remap(names: Iterable[str], known: tuple[str, ...]) -> pl.Series:
    """Code in ``known`` of every name (-1 when the model has never seen it)."""
    index = {name: i for i, name in enumerate(known)}
    return pl.Series([index.get(name, -1) for name in names], dtype=pl.Int64)


def _feature_counts(journeys: Journeys, space: _Space) -> pl.DataFrame:
    """Sparse feature counts: ``_key`` = journey code * width + column, ``_n`` = count.

    Touchpoints or channels the model does not know contribute nothing.
    """
    t = space.n_touchpoints
    tp_codes = _remap(journeys.touchpoints, space.touchpoints)
    with_channel = bool(space.channels) and journeys.core.has_channel
    seq = journeys.core.sequence.lazy()
    tp = lookup(tp_codes, pl.col("touchpoint").to_physical())
    nxt = lookup(tp_codes, pl.col("_next_touchpoint").to_physical())
    nxt = pl.when(pl.col("_has_next")).then(nxt).otherwise(t)
    seq = seq.select(
        JOURNEY, "_pos", "_has_next", tp.alias("_tp"), nxt.alias("_nxt"),
        *(["channel"] if with_channel else []),
        (pl.col("_next_time") - pl.col("timestamp")).dt.total_seconds().alias("_gap"),
    )  # fmt: skip
    known = pl.col("_tp") >= 0
    parts = [
        seq.filter((pl.col("_pos") == 0) & known).select(JOURNEY, pl.col("_tp").alias("_f")),
        seq.filter(known).select(JOURNEY, (space.visit0 + pl.col("_tp")).alias("_f")),
        seq.filter(known & (pl.col("_nxt") >= 0)).select(
            JOURNEY, (space.move0 + pl.col("_tp") * (t + 1) + pl.col("_nxt")).alias("_f")
        ),
        seq.filter(pl.col("_has_next")).select(
            JOURNEY,
            (space.gap0 + pl.sum_horizontal(pl.col("_gap") >= s for s, _ in GAP_BINS)).alias("_f"),
        ),
    ]
    if with_channel:
        ch_codes = _remap(journeys.core.channels, space.channels)
        ch = lookup(ch_codes, pl.col("channel").to_physical())
        parts.append(
            seq.filter(known & (ch >= 0)).select(
                JOURNEY, (space.channel0 + pl.col("_tp") * len(space.channels) + ch).alias("_f")
            )
        )
    keyed = pl.concat(
        [
            p.select(
                (
                    pl.col(JOURNEY).cast(pl.UInt64) * space.width + pl.col("_f").cast(pl.UInt64)
                ).alias("_key")
            )
            for p in parts
        ]
    ).collect()
    return group_runs(keyed)


@dataclass(frozen=True)
class _Rows:
    """Distinct feature rows: ``X`` (one row per distinct journey), weights, inverse."""

    X: sp.csr_matrix
    weight: _F64  # journeys per distinct row
    inverse: _I64  # distinct row of every journey code


def _rows_of(journeys: Journeys, space: _Space) -> _Rows:
    """The distinct feature rows of ``journeys`` in ``space``."""
    return _distinct_rows(_feature_counts(journeys, space), journeys.n_journeys, space.width)


def _distinct_rows(counts: pl.DataFrame, n_journeys: int, width: int) -> _Rows:
    """Fold journeys with identical feature rows into one weighted row.

    Each journey's row is the list of its (column, count) cells packed into
    one integer each, in column order; equal lists are equal rows, exactly.
    """
    key = counts.get_column("_key")
    packed = (key % width) * (1 << 32) + counts.get_column("_n").cast(pl.UInt64)
    per_journey = (
        pl.DataFrame({JOURNEY: key // width, "_v": packed})
        .group_by(JOURNEY, maintain_order=True)
        .agg("_v")
    )
    if per_journey.height < n_journeys:
        # journeys without any known feature (all touchpoints unseen) get an empty row
        codes = pl.DataFrame({JOURNEY: pl.arange(0, n_journeys, dtype=pl.UInt64, eager=True)})
        per_journey = codes.join(per_journey, on=JOURNEY, how="left", maintain_order="left")
        per_journey = per_journey.with_columns(
            pl.col("_v").fill_null(pl.lit([], dtype=pl.List(pl.UInt64)))
        )
    distinct = per_journey.group_by("_v", maintain_order=True).agg(pl.col(JOURNEY))
    inverse = np.empty(n_journeys, dtype=np.int64)
    members = distinct.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"), JOURNEY)
    members = members.explode(JOURNEY)
    inverse[members.get_column(JOURNEY).to_numpy()] = members.get_column("_row").to_numpy()
    weight = distinct.get_column(JOURNEY).list.len().to_numpy().astype(np.float64)
    indptr = np.zeros(distinct.height + 1, dtype=np.int64)
    np.cumsum(distinct.get_column("_v").list.len().to_numpy(), out=indptr[1:])
    cells = distinct.select(pl.col("_v").explode().drop_nulls()).select(
        (pl.col("_v") // (1 << 32)).cast(pl.Int32).alias("column"),
        (pl.col("_v") % (1 << 32)).cast(pl.Float64).alias("count"),
    )
    X = sp.csr_matrix(
        (
            cells.get_column("count").to_numpy(),
            cells.get_column("column").to_numpy(),
            indptr.astype(np.int32 if indptr[-1] < 2**31 else np.int64),
        ),
        shape=(distinct.height, width),
    )
    return _Rows(X, weight, inverse)


# --------------------------------------------------------------------------- #
# expectation maximisation
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _Fit:
    log_prob: _F64  # k x width, log P(feature | archetype) within its group
    log_weight: _F64  # k, log mixture weight
    log_resp: _F64  # rows x k, log responsibilities under these parameters
    row_loglik: _F64  # log-likelihood of every row under these parameters
    loglik: float
    n_iter: int


def _m_step(resp: _F64, rows: _Rows, space: _Space) -> tuple[_F64, _F64]:
    weighted = resp * rows.weight[:, None]
    counts = np.asarray((rows.X.T @ weighted).T) + _ALPHA  # k x width
    totals = np.add.reduceat(counts, space.group_starts, axis=1)
    log_prob = np.log(counts) - np.repeat(np.log(totals), space.group_sizes, axis=1)
    mass = weighted.sum(axis=0) + _ALPHA
    return log_prob, np.log(mass / mass.sum())


def _e_step(X: sp.csr_matrix, log_prob: _F64, log_weight: _F64) -> tuple[_F64, _F64]:
    """Log responsibilities and the log-likelihood of every row."""
    joint = np.asarray(X @ log_prob.T) + log_weight
    top = joint.max(axis=1)
    row = top + np.log(np.exp(joint - top[:, None]).sum(axis=1))
    return joint - row[:, None], row


def _em(
    rows: _Rows,
    space: _Space,
    resp: _F64,
    *,
    max_iter: int,
    tol: float,
    bar: tqdm[Any] | None = None,
) -> _Fit:
    """Run EM from responsibilities ``resp`` until the log-likelihood settles."""
    previous = -math.inf
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported; max_iter >= 1
        log_prob, log_weight = _m_step(resp, rows, space)
        log_resp, row = _e_step(rows.X, log_prob, log_weight)
        resp = np.exp(log_resp)
        loglik = float(row @ rows.weight)
        if bar is not None:
            bar.update(1)
        if loglik - previous <= tol * abs(loglik):
            break
        previous = loglik
    return _Fit(log_prob, log_weight, log_resp, row, loglik, n_iter)


def _best_of(
    rows: _Rows, space: _Space, k: int, rng: np.random.Generator, model: ArchetypeModel
) -> _Fit:
    """Best of ``n_init`` EM runs from random soft assignments."""
    best: _Fit | None = None
    for _ in range(model.n_init):
        resp = rng.dirichlet(np.ones(k), size=rows.X.shape[0])
        fit = _em(rows, space, resp, max_iter=model.max_iter, tol=model.tol)
        if best is None or fit.loglik > best.loglik:
            best = fit
    assert best is not None
    return best


def _knee(ks: list[int], logliks: list[float]) -> int:
    """The k furthest above the chord of the normalised log-likelihood curve."""
    x = (np.asarray(ks, dtype=np.float64) - ks[0]) / (ks[-1] - ks[0])
    y = np.asarray(logliks)
    span = y.max() - y.min()
    y = (y - y.min()) / span if span > 0 else np.zeros_like(y)
    gain = y - x
    return ks[int(np.argmax(gain))] if gain.max() > 0 else ks[0]


# --------------------------------------------------------------------------- #
# the model
# --------------------------------------------------------------------------- #
class ArchetypeModel:
    """A mixture of Markov chains over journeys: fit archetypes, predict new journeys.

    Parameters are stored as given and checked at once; `fit` learns the
    archetypes, `predict` assigns journeys (the training ones or new ones) to
    them. See the module documentation for the model and how ``k="auto"``
    chooses the number of archetypes.

    Parameters
    ----------
    k : int or "auto", default "auto"
        Number of archetypes, or "auto" to choose it within ``k_range``.
    k_range : tuple of int, default (2, 10)
        Smallest and largest ``k`` tried by ``k="auto"`` (at least three values).
    seed : int, default 0
        Seed of the sample and the random starts: same data and seed, same result.
    n_init : int, default 4
        Random starts per ``k``; the best likelihood wins.
    max_iter : int, default 200
        EM iterations per run at most.
    tol : float, default 1e-6
        Stop when the log-likelihood improves by less than this fraction.
    sample_size : int, default 20_000
        Journeys used to choose ``k`` and the starting point; the final fit
        refines it on all journeys.
    progress : bool or None, default None
        Show a progress bar (tqdm) on standard error; None shows one when the
        run is long (over 200,000 journeys) and standard error is a terminal.
    channels : bool, default False
        Also cluster on the channel of each step. Off by default: archetypes
        are about behaviour, and with channels on, a log's device column alone
        can split the journeys ("mostly desktop", "mostly mobile").

    Attributes
    ----------
    k_ : int
        The number of archetypes fitted.
    weights_ : numpy.ndarray
        Share of each archetype in the mixture (sums to 1), largest first.
    feature_names_ : list of str
        Name of each feature column (``entry:search``, ``move:search>product``,
        ``channel:search@app``, ``gap:<1m``).
    feature_log_prob_ : numpy.ndarray
        ``k_ x len(feature_names_)``: the log-probability of each feature
        within its group (entry, next step from a touchpoint, channel at a
        touchpoint, step time), per archetype.
    labels_ : numpy.ndarray
        Archetype of each training journey, in journey order.
    loglik_ : float
        Log-likelihood of the training journeys.
    n_iter_ : int
        EM iterations of the final refinement.
    selection_ : polars.DataFrame
        ``k``, ``loglik`` (best on the sample) and ``chosen`` for every ``k`` tried.

    Examples
    --------
    >>> import journeygraph as jg
    >>> from journeygraph import datasets
    >>> data = datasets.generate(2_000, seed=0)
    >>> log = jg.read_events(data.events, **datasets.COLUMNS)
    >>> model = jg.ArchetypeModel(k=5, seed=0).fit(jg.mine(log))
    >>> model.k_, round(float(model.weights_.sum()), 6)
    (5, 1.0)
    >>> new = datasets.generate(300, seed=7).events
    >>> labels = model.predict(jg.mine(jg.read_events(new, **datasets.COLUMNS)))
    >>> labels.columns
    ['journey', 'archetype', 'probability']
    >>> jg.ArchetypeModel(k=1)
    Traceback (most recent call last):
    ...
    journeygraph._errors.JourneygraphError: k must be an integer >= 2 or "auto", got 1
    """

    def __init__(
        self,
        k: int | Literal["auto"] = "auto",
        *,
        k_range: tuple[int, int] = (2, 10),
        seed: int = 0,
        n_init: int = 4,
        max_iter: int = 200,
        tol: float = 1e-6,
        sample_size: int = 20_000,
        progress: bool | None = None,
        channels: bool = False,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.seed = seed
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.sample_size = sample_size
        self.progress = progress
        self.channels = channels
        self._check()

    def __repr__(self) -> str:
        return f"ArchetypeModel(k={self.k!r}, seed={self.seed})"

    def _check(self) -> None:
        def integer(value: object, minimum: int) -> bool:
            ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
            return ok and bool(value >= minimum)  # type: ignore[operator]

        if self.k != "auto" and not integer(self.k, 2):
            msg = f'k must be an integer >= 2 or "auto", got {self.k!r}'
            raise JourneygraphError(msg)
        lo_hi = self.k_range
        if (
            not isinstance(lo_hi, tuple | list)
            or len(lo_hi) != 2
            or not all(integer(v, 2) for v in lo_hi)
            or lo_hi[1] - lo_hi[0] < 2
        ):
            msg = (
                f"k_range must be (smallest, largest) integers >= 2 spanning at least three "
                f"values, e.g. (2, 10); got {lo_hi!r}"
            )
            raise JourneygraphError(msg)
        for name, minimum in (("seed", 0), ("n_init", 1), ("max_iter", 1), ("sample_size", 100)):
            if not integer(getattr(self, name), minimum):
                msg = f"{name} must be an integer >= {minimum}, got {getattr(self, name)!r}"
                raise JourneygraphError(msg)
        if isinstance(self.tol, bool) or not isinstance(self.tol, int | float) or self.tol < 0:
            msg = f"tol must be a number >= 0, got {self.tol!r}"
            raise JourneygraphError(msg)
        if not isinstance(cast(object, self.progress), bool | None):
            msg = f"progress must be True, False or None, got {self.progress!r}"
            raise JourneygraphError(msg)
        if not isinstance(cast(object, self.channels), bool):
            msg = f"channels must be True or False, got {self.channels!r}"
            raise JourneygraphError(msg)

    # ------------------------------------------------------------------ fit
    def fit(self, journeys: Journeys) -> ArchetypeModel:
        """Learn the archetypes of ``journeys``; returns the model itself."""
        _check_journeys(journeys)
        space = self._space = _space_of(journeys, channels_too=self.channels)
        rows = _rows_of(journeys, space)
        rng = np.random.default_rng(self.seed)
        sample = _sample(rows, self.sample_size, rng)
        n_distinct = sample.X.shape[0]
        if self.k == "auto":
            ks = list(range(self.k_range[0], min(self.k_range[1], n_distinct) + 1))
        else:
            ks = [int(self.k)]
        if not ks or ks[-1] > n_distinct:
            msg = (
                f"cannot form {ks[-1] if ks else self.k_range[0]} archetypes from "
                f"{n_distinct} distinct journeys; ask for fewer (k=...) or give more journeys"
            )
            raise JourneygraphError(msg)
        show = self.progress
        if show is None:
            show = journeys.n_journeys > 200_000 and sys.stderr.isatty()
        fits: dict[int, _Fit] = {}
        with _bar(show, len(ks), "choosing k" if len(ks) > 1 else "starting") as bar:
            for k in ks:
                fits[k] = _best_of(sample, space, k, rng, self)
                bar.update(1)
        chosen = _knee(ks, [fits[k].loglik for k in ks]) if len(ks) >= 3 else ks[0]
        self.selection_ = pl.DataFrame(
            {
                "k": ks,
                "loglik": [fits[k].loglik for k in ks],
                "chosen": [k == chosen for k in ks],
            },
            schema={"k": pl.Int64, "loglik": pl.Float64, "chosen": pl.Boolean},
        )
        start = fits[chosen]
        if sample is not rows:
            log_resp, _ = _e_step(rows.X, start.log_prob, start.log_weight)
            with _bar(show, self.max_iter, "fitting") as bar:
                start = _em(
                    rows, space, np.exp(log_resp), max_iter=self.max_iter, tol=self.tol, bar=bar
                )
        # archetypes by size, largest first (ties: component order)
        log_resp, row = start.log_resp, start.row_loglik
        hard = np.argmax(log_resp, axis=1)
        sizes = np.bincount(hard, weights=rows.weight, minlength=chosen)
        order = np.lexsort((np.arange(chosen), -sizes))
        self.k_ = chosen
        self.feature_log_prob_ = start.log_prob[order]
        self._log_weight = start.log_weight[order]
        self.weights_ = np.exp(self._log_weight)
        self.feature_names_ = space.names
        self.loglik_ = float(row @ rows.weight)
        self.n_iter_ = start.n_iter
        rank = np.empty(chosen, dtype=np.int64)
        rank[order] = np.arange(chosen)
        self.labels_ = rank[hard][rows.inverse]
        self._train = (rows, log_resp[:, order])
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "k_"):
            msg = "this ArchetypeModel is not fitted yet; call .fit(journeys) first"
            raise JourneygraphError(msg)

    def predict(self, journeys: Journeys) -> pl.DataFrame:
        """Assign every journey to its most probable archetype.

        Returns one row per journey: ``journey``, ``archetype`` (0 is the
        largest archetype) and ``probability`` (the posterior probability of
        that archetype). Touchpoints and channels the model never saw are
        ignored. Journeys identical to training journeys get their labels.
        """
        self._fitted()
        _check_journeys(journeys)
        rows = _rows_of(journeys, self._space)
        log_resp, _ = _e_step(rows.X, self.feature_log_prob_, self._log_weight)
        return _assignments(journeys, rows, log_resp)


def _assignments(journeys: Journeys, rows: _Rows, log_resp: _F64) -> pl.DataFrame:
    best = np.argmax(log_resp, axis=1)
    prob = np.exp(log_resp[np.arange(len(best)), best])
    return pl.DataFrame(
        {
            "journey": journeys.core.ids.get_column("journey"),
            "archetype": pl.Series(best[rows.inverse], dtype=pl.UInt32),
            "probability": prob[rows.inverse],
        }
    )


def _check_journeys(journeys: object) -> None:
    if not isinstance(journeys, Journeys):
        msg = (
            f"expected the Journeys from jg.mine(...), got {type(journeys).__name__}; "
            "mine the events first: jg.cluster(jg.mine(log))"
        )
        raise JourneygraphError(msg)


def _sample(rows: _Rows, size: int, rng: np.random.Generator) -> _Rows:
    """Up to ``size`` journeys drawn without replacement, as weighted distinct rows."""
    n = len(rows.inverse)
    if n <= size:
        return rows
    picked = rng.choice(n, size=size, replace=False)
    weight = np.bincount(rows.inverse[picked], minlength=rows.X.shape[0]).astype(np.float64)
    keep = np.flatnonzero(weight)
    return _Rows(rows.X[keep], weight[keep], np.empty(0, dtype=np.int64))


def _bar(show: bool, total: int, desc: str) -> tqdm[Any]:
    return tqdm(
        total=total, desc=f"journeygraph: {desc}", file=sys.stderr, leave=False, disable=not show
    )


# --------------------------------------------------------------------------- #
# results
# --------------------------------------------------------------------------- #
class Archetypes:
    """Journeys grouped into archetypes. Build with :func:`cluster`.

    Attributes
    ----------
    model : ArchetypeModel
        The fitted model (use ``model.predict`` on new journeys).
    journeys : Journeys
        The journeys clustered.
    labels : polars.DataFrame
        One row per journey: ``journey``, ``customer``, ``archetype``, ``probability``.
    divergence : Divergence or None
        The comparison with the journey map, when one was given.
    """

    def __init__(
        self,
        model: ArchetypeModel,
        journeys: Journeys,
        *,
        divergence: Divergence | None,
        customers: pl.DataFrame | None,
    ) -> None:
        self.model = model
        self.journeys = journeys
        self.divergence = divergence
        self._customers = customers
        rows, log_resp = model._train
        self.labels = _assignments(journeys, rows, log_resp).insert_column(
            1, journeys.core.ids.get_column("customer")
        )
        self._rows = rows

    def __repr__(self) -> str:
        return f"Archetypes({len(self)} archetypes of {self.journeys.n_journeys:,} journeys)"

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter: one row per archetype, with its path."""
        return _page.archetypes_summary(self)

    def __len__(self) -> int:
        return self.model.k_

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))

    @cached_property
    def _sizes(self) -> pl.DataFrame:
        return self.labels.group_by("archetype").len("size").sort("archetype")

    # ------------------------------------------------------------------ graphs
    @cached_property
    def _description(self) -> _Description:
        """The table, graphs and distinctive transitions, from this clustering's counts."""
        archetype = self.labels.get_column("archetype")
        k = len(self)
        means = []
        if self.divergence is not None:
            means.append(_means(archetype, divergence_values(self.divergence.customers), k))
        if self._customers is not None:
            means.append(means_of(outcome_sums(self.labels, self._customers, k)))
        profile = _Profile(
            n=self.journeys.n_journeys,
            tallies=tallies(self.journeys, archetype),
            medians=_medians(self.journeys, archetype),
            means=means,
        )
        return _Description(profile, k, self._examples(), self._paths)

    def graph(self, archetype: int, *, min_support: float = 0.05) -> nx.DiGraph[str]:
        """The archetype graph: its members' transitions, pruned to what matters.

        Keeps the transitions made by at least ``min_support`` of the
        archetype's journeys, and the touchpoints they connect (plus entry and
        exit touchpoints of at least that share). Edges carry ``weight``
        (= ``support``, the share of members making the transition),
        ``events``, ``journeys``, ``lift`` (support here / support among all
        journeys) and ``median_time``; nodes carry ``events``, ``journeys``,
        ``support``, ``starts`` and ``ends``. ``graph.graph`` holds the
        archetype's ``archetype``, ``size``, ``share`` and ``description``.

        Examples
        --------
        >>> import journeygraph as jg
        >>> from journeygraph import datasets
        >>> data = datasets.generate(2_000, seed=0)
        >>> arch = jg.cluster(jg.mine(jg.read_events(data.events, **datasets.COLUMNS)), k=5)
        >>> g = arch.graph(0)
        >>> all(d["support"] >= 0.05 for _, _, d in g.edges(data=True))
        True
        """
        return self._description.graph(archetype, min_support=min_support)

    def distinctive_edges(
        self,
        archetype: int,
        *,
        top: int = 5,
        min_support: float = 0.1,
        direction: Literal["over", "under"] = "over",
    ) -> pl.DataFrame:
        """The transitions that most set this archetype apart, one direction at a time.

        ``direction="over"``: among transitions made by at least ``min_support``
        of the archetype's journeys, the ``top`` with the highest lift (support
        in the archetype divided by support among all journeys), lift above 1.
        ``direction="under"``: among transitions made by at least
        ``min_support`` of all journeys, the ``top`` with the lowest lift, lift
        below 1 (the archetype avoids them; support may be 0). Columns:
        ``source``, ``target``, ``support``, ``lift``, ``journeys``.

        Examples
        --------
        >>> import journeygraph as jg
        >>> from journeygraph import datasets
        >>> data = datasets.generate(2_000, seed=0)
        >>> arch = jg.cluster(jg.mine(jg.read_events(data.events, **datasets.COLUMNS)), k=5)
        >>> arch.distinctive_edges(0).columns
        ['source', 'target', 'support', 'lift', 'journeys']
        >>> bool((arch.distinctive_edges(0, direction="under")["lift"] < 1).all())
        True
        """
        return self._description.distinctive_edges(
            archetype, top=top, min_support=min_support, direction=direction
        )

    def distribution(self, of: Literal["entry", "exit"] = "entry") -> pl.DataFrame:
        """Where each archetype's journeys start (``of="entry"``) or end (``"exit"``).

        One row per archetype and touchpoint: ``archetype``, the touchpoint
        (column named ``of``), ``journeys`` and ``share`` of the archetype's
        journeys; most common first.

        Examples
        --------
        >>> import journeygraph as jg
        >>> from journeygraph import datasets
        >>> data = datasets.generate(2_000, seed=0)
        >>> arch = jg.cluster(jg.mine(jg.read_events(data.events, **datasets.COLUMNS)), k=5)
        >>> exits = arch.distribution("exit")
        >>> exits.columns
        ['archetype', 'exit', 'journeys', 'share']
        >>> int(exits.get_column("journeys").sum())
        2000
        """
        _check_of(of)
        stats = self.journeys.stats.select(pl.col(of).cast(pl.String)).with_columns(
            self.labels.get_column("archetype")
        )
        return distribution_of(stats.group_by("archetype", of).len("n"), self._sizes, of)

    def _check_archetype(self, archetype: object) -> int:
        return _check_archetype(archetype, len(self))

    # ------------------------------------------------------------------ table
    @cached_property
    def _centrality(self) -> pl.DataFrame:
        """How central each distinct row is in its archetype (cosine to the centroid).

        Rows are embedded as the square roots of their within-group shares
        (the Hellinger embedding); the representative journey is the member
        closest to its archetype's mean, a linear-time stand-in for the medoid.
        """
        rows = self._rows
        sizes = self.model._space.group_sizes
        group = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)[rows.X.indices]
        row_of = np.repeat(np.arange(rows.X.shape[0], dtype=np.int64), np.diff(rows.X.indptr))
        # column indices are sorted within each row, so one row's cells of one group
        # are contiguous: total each run
        run = row_of * len(sizes) + group
        first = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]) if run.size else run
        totals = np.add.reduceat(rows.X.data, first) if run.size else rows.X.data
        share = rows.X.data / np.repeat(totals, np.diff(np.r_[first, run.size]))
        X = sp.csr_matrix((np.sqrt(share), rows.X.indices, rows.X.indptr), shape=rows.X.shape)
        # every non-empty group is a unit vector: |row|^2 = its number of groups
        norms = np.sqrt(np.bincount(row_of[first], minlength=X.shape[0]))
        label = np.argmax(self.model._train[1], axis=1)
        k = len(self)
        member = sp.csr_matrix((rows.weight, (label, np.arange(X.shape[0]))), shape=(k, X.shape[0]))
        centroid = np.asarray((member @ X).todense())
        centroid /= np.maximum(np.linalg.norm(centroid, axis=1, keepdims=True), 1e-300)
        score = np.asarray(X @ centroid.T)[np.arange(X.shape[0]), label]
        score = score / np.maximum(norms, 1e-300)
        return pl.DataFrame({"_row": np.arange(X.shape[0]), "_score": score})

    def _examples(self, n: int = 5) -> pl.DataFrame:
        """Per archetype, the ``n`` most central journeys (first journey of each distinct row)."""
        first = (
            pl.DataFrame({"_row": self._rows.inverse, "journey": self.labels.get_column("journey")})
            .with_row_index(JOURNEY)
            .group_by("_row", maintain_order=True)
            .first()
        )
        ranked = _with_archetype(
            first.join(self._centrality, on="_row"), self.labels.get_column("archetype")
        ).sort(["archetype", "_score", JOURNEY], descending=[False, True, False])
        return ranked.group_by("archetype", maintain_order=True).agg(
            pl.col("journey").first().alias("representative"),
            pl.col("journey").head(n).alias("examples"),
        )

    @cached_property
    def table(self) -> pl.DataFrame:
        """One row per archetype: who they are, how they travel, how they end.

        Columns: ``archetype``, ``size``, ``share``, ``description``,
        ``representative`` (the most central real journey), its path
        ``representative_path`` (its first steps, repeats folded, as
        ``"home → search → …"``) and ``examples`` (the five most central),
        ``events_median``, ``duration_median``,
        ``entry`` / ``entry_share`` and ``exit`` / ``exit_share`` (most
        common first and last touchpoint), ``channel`` / ``channel_share``
        (most used channel, when there are channels); with a journey map,
        ``conformance`` (share of journeys with no deviation), ``fitness``
        (mean) and ``with_<kind>`` (share of journeys with at least one
        deviation of each kind); with customer outcomes, the mean of every
        numeric or boolean outcome column (a rate for booleans).
        """
        return self._description.table

    def _paths(self, journeys: pl.Series, steps: int = 6) -> list[str]:
        """The first ``steps`` touchpoints of each journey (consecutive repeats folded)."""
        codes = self.journeys.core.ids.with_row_index(JOURNEY).select(JOURNEY, "journey")
        wanted = journeys.to_frame("journey").join(
            codes, on="journey", how="left", maintain_order="left"
        )
        seq = self.journeys.core.sequence.filter(
            pl.col(JOURNEY).is_in(wanted.get_column(JOURNEY).implode())
        )
        paths = {}
        for code, touchpoints in (
            seq.group_by(JOURNEY).agg(pl.col("touchpoint").cast(pl.String)).iter_rows()
        ):
            folded = [t for j, t in enumerate(touchpoints) if j == 0 or touchpoints[j - 1] != t]
            more = " \u2192 \u2026" if len(folded) > steps else ""
            paths[code] = " \u2192 ".join(folded[:steps]) + more
        return [paths.get(code, "") for code in wanted.get_column(JOURNEY)]


# --------------------------------------------------------------------------- #
# descriptions from counts (local journeys, or sums over Spark partitions)
# --------------------------------------------------------------------------- #
#: the per-archetype count tables of `tallies`: keys, then counts that add up
TALLIES = ("sizes", "edges", "nodes", "entry", "exit", "channel")
#: the per-journey values whose per-archetype medians the description shows:
#: table -> (keys, value column, median column)
MEDIANS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "events": (("archetype",), "events", "events_median"),
    "duration": (("archetype",), "duration", "duration_median"),
    "time": (("archetype", "source", "target"), "median_time", "median_time"),
}


def tallies(journeys: Journeys, archetype: pl.Series) -> dict[str, pl.DataFrame]:
    """Per-archetype counts of ``journeys`` (``archetype``: each journey's, in journey order).

    Every table is keys (``archetype`` and touchpoint or channel names) and
    counts; the tables of disjoint sets of journeys add up to the tables of
    their union, which is how Spark partitions are combined:

    * ``sizes``: ``size`` (journeys);
    * ``edges``: per transition, ``events`` and ``journeys`` making it;
    * ``nodes``: per touchpoint, ``events`` and ``journeys`` visiting it;
    * ``entry`` / ``exit``: per first / last touchpoint, ``n`` journeys;
    * ``channel`` (when there are channels): per channel, ``n`` events.
    """
    names = [pl.col(c).cast(pl.String) for c in ("source", "target")]
    edges = _with_archetype(journeys.core.edges, archetype)
    nodes = _with_archetype(journeys.core.nodes, archetype)
    stats = journeys.stats.select(pl.col("entry", "exit").cast(pl.String)).with_columns(archetype)
    out = {
        "sizes": stats.group_by("archetype").len("size"),
        "edges": edges.group_by("archetype", *names).agg(
            pl.col("count").sum().alias("events"), pl.len().alias("journeys")
        ),
        "nodes": nodes.group_by("archetype", pl.col("touchpoint").cast(pl.String)).agg(
            pl.col("visits").sum().alias("events"), pl.len().alias("journeys")
        ),
        "entry": stats.group_by("archetype", "entry").len("n"),
        "exit": stats.group_by("archetype", "exit").len("n"),
    }
    if journeys.core.has_channel:
        channels = journeys.core.sequence.select(JOURNEY, pl.col("channel").cast(pl.String))
        labelled = _with_archetype(channels, archetype)
        out["channel"] = labelled.group_by("archetype", "channel").len("n")
    return out


def _with_archetype(frame: pl.DataFrame, archetype: pl.Series) -> pl.DataFrame:
    """``frame`` (rows with a journey code) with the ``archetype`` of each row's journey
    (``archetype``: each journey's, in journey-code order): a gather, not a join."""
    return frame.with_columns(archetype.gather(frame.get_column(JOURNEY)).alias("archetype"))


def _median_values(journeys: Journeys, archetype: pl.Series) -> dict[str, pl.DataFrame]:
    """The per-journey values of `MEDIANS`, with their archetype."""
    stats = journeys.stats.select("events", "duration").with_columns(archetype)
    times = _with_archetype(journeys.core.edges, archetype).select(
        "archetype", pl.col("source", "target").cast(pl.String), "median_time"
    )
    return {"events": stats, "duration": stats, "time": times}


def median_counts(journeys: Journeys, archetype: pl.Series) -> dict[str, pl.DataFrame]:
    """How often each value of `MEDIANS` occurs per key (``n``): value counts that add up."""
    values = _median_values(journeys, archetype)
    return {
        name: values[name].group_by(*keys, value).len("n")
        for name, (keys, value, _) in MEDIANS.items()
    }


def medians_of(name: str, values: pl.DataFrame) -> pl.DataFrame:
    """The median of `MEDIANS` ``name`` per key, from its values (all, or the middle ones)."""
    keys, value, out = MEDIANS[name]
    return values.group_by(*keys).agg(pl.col(value).median().alias(out))


def _medians(journeys: Journeys, archetype: pl.Series) -> dict[str, pl.DataFrame]:
    values = _median_values(journeys, archetype)
    return {name: medians_of(name, values[name]) for name in MEDIANS}


def divergence_values(customers: pl.DataFrame) -> pl.DataFrame:
    """Per journey, what an archetype's divergence profile averages (from
    `Divergence.customers`): ``conformance``, ``fitness``, ``with_<kind>``."""
    return customers.select(
        pl.col("conforms").alias("conformance"),
        "fitness",
        *[(pl.col(kind) > 0).alias(f"with_{kind}") for kind in DEVIATIONS],
    )


def _outcomes_of(joined: pl.DataFrame) -> pl.DataFrame:
    """The outcome columns of a customer table (numeric or boolean), one row per journey."""
    return joined.select(
        c
        for c, dtype in joined.schema.items()
        if c != "customer" and (dtype.is_numeric() or dtype == pl.Boolean)
    )


def outcome_sums(labels: pl.DataFrame, customers: pl.DataFrame, k: int) -> pl.DataFrame:
    """`sums` of the outcome columns of ``customers`` over the journeys of ``labels``."""
    joined = labels.select("customer").join(
        customers, on="customer", how="left", maintain_order="left"
    )
    return sums(labels.get_column("archetype"), _outcomes_of(joined), k)


_COUNT = "_jg_n:"  # prefix of the count column of each summed column


def sums(archetype: pl.Series, values: pl.DataFrame, k: int) -> pl.DataFrame:
    """Per archetype, the total (nulls as 0) and the count of non-null values of every column.

    Totals and counts of disjoint sets of journeys add up; `means_of` divides
    them. Summed with ``np.bincount`` in row order: a parallel group-by adds
    partial sums in whatever order threads finish, so its means could differ
    in the last bits between runs.
    """
    codes = archetype.to_numpy()
    out: dict[str, Any] = {"archetype": pl.Series(range(k), dtype=pl.UInt32)}
    for column in values.columns:
        series = values.get_column(column).cast(pl.Float64)
        valid = series.is_not_null().to_numpy()
        weights = series.fill_null(0.0).to_numpy()
        out[column] = np.bincount(codes, weights=weights, minlength=k).astype(np.float64)
        out[_COUNT + column] = np.bincount(codes[valid], minlength=k).astype(np.int64)
    return pl.DataFrame(out)


def means_of(summed: pl.DataFrame) -> pl.DataFrame:
    """Per-archetype means from `sums` (null where an archetype has no value)."""
    out: dict[str, Any] = {"archetype": summed.get_column("archetype")}
    for column in summed.columns[1::2]:
        count = summed.get_column(_COUNT + column).to_numpy()
        mean = summed.get_column(column).to_numpy() / np.maximum(count, 1)
        out[column] = pl.Series(column, mean).scatter(np.flatnonzero(count == 0), None)
    return pl.DataFrame(out)


def _means(archetype: pl.Series, values: pl.DataFrame, k: int) -> pl.DataFrame:
    """Per-archetype mean of every column (nulls skipped), summed in row order."""
    return means_of(sums(archetype, values, k))


def _top(counts: pl.DataFrame, column: str) -> pl.DataFrame:
    """Most common value of ``column`` per archetype and its share (ties: smallest value),
    from the counts ``n`` per (archetype, value)."""
    return (
        counts.sort(["archetype", "n", column], descending=[False, True, False])
        .group_by("archetype", maintain_order=True)
        .agg(
            pl.col(column).first().cast(pl.String),
            (pl.col("n").first() / pl.col("n").sum()).alias(f"{column}_share"),
        )
    )


def _check_of(of: object) -> None:
    if of not in ("entry", "exit"):
        msg = f'of must be "entry" or "exit", got {of!r}'
        raise JourneygraphError(msg)


def distribution_of(counts: pl.DataFrame, sizes: pl.DataFrame, of: str) -> pl.DataFrame:
    """`Archetypes.distribution` from the journeys ``n`` per archetype and ``of`` value
    (the `tallies` table ``of``) and the archetype sizes."""
    _check_of(of)
    return (
        counts.join(sizes, on="archetype")
        .select(
            "archetype",
            of,
            pl.col("n").alias("journeys"),
            ratio(pl.col("n"), pl.col("size")).alias("share"),
        )
        .sort(["archetype", "journeys", of], descending=[False, True, False])
    )


def _check_archetype(archetype: object, k: int) -> int:
    if (
        isinstance(archetype, bool)
        or not isinstance(archetype, int | np.integer)
        or not (0 <= archetype < k)
    ):
        msg = f"archetype must be an integer from 0 to {k - 1}, got {archetype!r}"
        raise JourneygraphError(msg)
    return int(archetype)


@dataclass(frozen=True)
class _Profile:
    """What an archetype description is made of: `tallies`, `MEDIANS`, means tables."""

    n: int  # journeys
    tallies: dict[str, pl.DataFrame]
    medians: dict[str, pl.DataFrame]
    means: list[pl.DataFrame]  # joined into the table in order (divergence, outcomes)


class _Description:
    """Archetypes described from their counts: the table, graphs, distinctive transitions.

    `Archetypes` makes one from its journeys; on Spark it is made from counts
    summed over partitions, with the representatives of the sample the model
    was fitted on. One definition of each number for both.
    """

    def __init__(
        self,
        profile: _Profile,
        k: int,
        examples: pl.DataFrame,
        paths: Callable[[pl.Series], list[str]],
    ) -> None:
        self.profile = profile
        self.k = k
        self._examples = examples
        self._paths = paths

    @cached_property
    def sizes(self) -> pl.DataFrame:
        return self.profile.tallies["sizes"].sort("archetype")

    @cached_property
    def edge_support(self) -> pl.DataFrame:
        """Per archetype and transition: events, journeys, support, lift, median time."""
        edges = self.profile.tallies["edges"]
        n = self.profile.n
        overall = edges.group_by("source", "target").agg(pl.col("journeys").sum().alias("_overall"))
        per = (
            edges.join(
                self.profile.medians["time"], on=["archetype", "source", "target"], how="left"
            )
            .join(self.sizes, on="archetype")
            .join(overall, on=["source", "target"])
            .with_columns(ratio(pl.col("journeys"), pl.col("size")).alias("support"))
            # lift = (customers / size) / (overall / n), as one exact division
            .with_columns(
                ratio(
                    pl.col("journeys").cast(pl.Float64) * n,
                    pl.col("size").cast(pl.Float64) * pl.col("_overall"),
                ).alias("lift")
            )
        )
        return per.select(
            "archetype",
            "source",
            "target",
            "events",
            "journeys",
            "support",
            "lift",
            "median_time",
        ).sort("archetype", "source", "target")

    @cached_property
    def node_support(self) -> pl.DataFrame:
        """Per archetype and touchpoint: events, journeys, starts, ends, support."""
        t = self.profile.tallies
        starts = t["entry"].select("archetype", pl.col("entry").alias("touchpoint"), "n")
        stops = t["exit"].select("archetype", pl.col("exit").alias("touchpoint"), "n")
        return (
            t["nodes"]
            .join(starts.rename({"n": "starts"}), on=["archetype", "touchpoint"], how="left")
            .join(stops.rename({"n": "ends"}), on=["archetype", "touchpoint"], how="left")
            .join(self.sizes, on="archetype")
            .with_columns(
                pl.col("starts", "ends").fill_null(0).cast(pl.UInt32),
                ratio(pl.col("journeys"), pl.col("size")).alias("support"),
            )
            .drop("size")
            .sort("archetype", "touchpoint")
        )

    @cached_property
    def table(self) -> pl.DataFrame:
        """One row per archetype (see `Archetypes.table`)."""
        t = self.profile.tallies
        base = self.sizes.with_columns(ratio(pl.col("size"), self.profile.n).alias("share")).join(
            self._examples, on="archetype", how="left"
        )
        base = base.with_columns(
            pl.Series("representative_path", self._paths(base.get_column("representative")))
        )
        per = self.profile.medians["events"].join(self.profile.medians["duration"], on="archetype")
        table = base.join(per, on="archetype")
        for column in ("entry", "exit", "channel"):
            if column in t:
                table = table.join(_top(t[column], column), on="archetype", how="left")
        for means in self.profile.means:
            table = table.join(means, on="archetype")
        table = table.sort("archetype")
        descriptions = [self._describe(row) for row in table.iter_rows(named=True)]
        return table.insert_column(3, pl.Series("description", descriptions))

    def graph(self, archetype: int, *, min_support: float = 0.05) -> nx.DiGraph[str]:
        """The archetype graph (see `Archetypes.graph`)."""
        i = _check_archetype(archetype, self.k)
        if not 0 <= min_support <= 1:
            msg = f"min_support must be between 0 and 1, got {min_support!r}"
            raise JourneygraphError(msg)
        edges = self.edge_support.filter(
            (pl.col("archetype") == i) & (pl.col("support") >= min_support)
        )
        nodes = self.node_support.filter(pl.col("archetype") == i)
        size = int(self.sizes.get_column("size")[i])
        used = set(edges.get_column("source")) | set(edges.get_column("target"))
        ends = (pl.max_horizontal("starts", "ends") / size) >= min_support
        nodes = nodes.filter(pl.col("touchpoint").is_in(sorted(used)) | ends)
        row = self.table.row(i, named=True)
        g: nx.DiGraph[str] = nx.DiGraph(
            archetype=i,
            size=size,
            share=row["share"],
            description=row["description"],
            title=f"Archetype {i}: {row['description']}",
        )
        for node in nodes.drop("archetype").iter_rows(named=True):
            g.add_node(node.pop("touchpoint"), **node)
        for edge in edges.drop("archetype").iter_rows(named=True):
            g.add_edge(edge.pop("source"), edge.pop("target"), weight=edge["support"], **edge)
        return g

    def distinctive_edges(
        self,
        archetype: int,
        *,
        top: int = 5,
        min_support: float = 0.1,
        direction: Literal["over", "under"] = "over",
    ) -> pl.DataFrame:
        """The transitions that most set an archetype apart (see `Archetypes.distinctive_edges`)."""
        i = _check_archetype(archetype, self.k)
        if direction not in ("over", "under"):
            msg = f'direction must be "over" or "under", got {direction!r}'
            raise JourneygraphError(msg)
        columns = ["source", "target", "support", "lift", "journeys"]
        support = self.edge_support
        if direction == "over":
            return (
                support.filter(
                    (pl.col("archetype") == i)
                    & (pl.col("support") >= min_support)
                    & (pl.col("lift") > 1)
                )
                .sort(
                    ["lift", "support", "source", "target"], descending=[True, True, False, False]
                )
                .head(top)
                .select(columns)
            )
        n = self.profile.n
        size = int(self.sizes.filter(pl.col("archetype") == i).get_column("size")[0])
        overall = (
            self.profile.tallies["edges"]
            .group_by("source", "target")
            .agg(pl.col("journeys").sum().alias("_all"))
        )
        own = support.filter(pl.col("archetype") == i).select("source", "target", "journeys")
        return (
            overall.filter(pl.col("_all") >= min_support * n)
            .join(own, on=["source", "target"], how="left")
            .with_columns(pl.col("journeys").fill_null(0).cast(pl.UInt32))
            .with_columns(
                ratio(pl.col("journeys"), size).alias("support"),
                ratio(
                    pl.col("journeys").cast(pl.Float64) * n,
                    pl.col("_all").cast(pl.Float64) * size,
                ).alias("lift"),
            )
            .filter(pl.col("lift") < 1)
            .sort(["lift", "_all", "source", "target"], descending=[False, True, False, False])
            .head(top)
            .select(columns)
        )

    def _describe(self, row: dict[str, Any]) -> str:
        """A short phrase from the archetype's signature."""
        i = row["archetype"]
        parts: list[str] = []
        if row["entry_share"] >= 0.5:
            parts.append(f"enters via {row['entry']}")
        loops = self.edge_support.filter(
            (pl.col("archetype") == i) & (pl.col("support") >= 0.25) & (pl.col("lift") >= 1.2)
        )
        pairs = {(a, b) for a, b in loops.select("source", "target").iter_rows()}
        loop = next(
            (
                f"loops {a}\u2194{b}" if a != b else f"repeats {a}"
                for a, b, _ in loops.sort(
                    ["lift", "source", "target"], descending=[True, False, False]
                )
                .select("source", "target", "lift")
                .iter_rows()
                if (b, a) in pairs and a <= b
            ),
            None,
        )
        if loop:
            parts.append(loop)
        if row.get("channel_share") is not None and row["channel_share"] >= 0.5:
            parts.append(f"mostly {row['channel']}")
        if row["exit_share"] >= 0.3:
            parts.append(f"leaves at {row['exit']}")
        parts.append("~" + _page.typical(row["events_median"], row["duration_median"], coarse=True))
        return ", ".join(parts)


@dataclass(frozen=True)
class _Labeller:
    """One Spark partition's archetypes: its journeys labelled by the fitted model, and
    the summable tables of their description (`tallies`, `median_counts`, outcome `sums`)."""

    model: ArchetypeModel
    customers: pl.DataFrame | None

    def __call__(self, journeys: Journeys) -> dict[str, pl.DataFrame]:
        labels = journeys.stats.select("journey", "customer").join(
            self.model.predict(journeys), on="journey", maintain_order="left"
        )
        archetype = labels.get_column("archetype")
        out = {"labels": labels, **tallies(journeys, archetype)}
        out.update(
            (f"median_{name}", counts)
            for name, counts in median_counts(journeys, archetype).items()
        )
        if self.customers is not None:
            out["outcomes"] = outcome_sums(labels, self.customers, self.model.k_)
        return out


def _described(
    model: ArchetypeModel,
    sample: Journeys,
    n: int,
    counts: dict[str, pl.DataFrame],
    medians: dict[str, pl.DataFrame],
    means: list[pl.DataFrame],
) -> _Description:
    """Archetypes described from counts summed over Spark partitions; the representative
    journeys are the most central of ``sample``, the journeys ``model`` was fitted on."""
    fitted = Archetypes(model, sample, divergence=None, customers=None)
    return _Description(
        _Profile(n, counts, medians, means), model.k_, fitted._examples(), fitted._paths
    )


def _divergence_sums(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    """`sums` of `divergence_values` of journeys with their ``archetype``."""
    return sums(frame.get_column("archetype"), divergence_values(frame), k)


@dataclass(frozen=True)
class _OnSpark:
    """What `SparkArchetypes` runs of this module: on the executors and to finish."""

    work: Callable[[ArchetypeModel, pl.DataFrame | None], Callable[[Journeys], Any]]
    describe: Callable[..., _Description]
    divergence_sums: Callable[[pl.DataFrame, int], pl.DataFrame]
    medians_of: Callable[[str, pl.DataFrame], pl.DataFrame]
    means_of: Callable[[pl.DataFrame], pl.DataFrame]
    distribution_of: Callable[[pl.DataFrame, pl.DataFrame, str], pl.DataFrame]
    tallies: tuple[str, ...] = TALLIES
    medians: dict[str, tuple[tuple[str, ...], str, str]] = dataclasses.field(
        default_factory=lambda: dict(MEDIANS)
    )


_ON_SPARK = _OnSpark(_Labeller, _described, _divergence_sums, medians_of, means_of, distribution_of)


@overload
def cluster(
    journeys: SparkJourneys,
    k: int | Literal["auto"] = "auto",
    *,
    seed: int = 0,
    jmap: None = None,
    customers: None = None,
    customer: str | None = None,
    **options: Any,
) -> SparkArchetypes: ...


@overload
def cluster(
    journeys: Journeys,
    k: int | Literal["auto"] = "auto",
    *,
    seed: int = 0,
    jmap: JourneyMap | Divergence | None = None,
    customers: pl.DataFrame | EventLog | None = None,
    customer: str | None = None,
    **options: Any,
) -> Archetypes: ...


def cluster(
    journeys: Journeys | SparkJourneys,
    k: int | Literal["auto"] = "auto",
    *,
    seed: int = 0,
    jmap: JourneyMap | Divergence | None = None,
    customers: pl.DataFrame | EventLog | None = None,
    customer: str | None = None,
    **options: Any,
) -> Archetypes | SparkArchetypes:
    """Group journeys into archetypes (fit an `ArchetypeModel` and describe it).

    Parameters
    ----------
    journeys
        Mined journeys (:func:`journeygraph.mine`).
    k
        Number of archetypes, or "auto" (the knee of the log-likelihood curve
        within ``k_range``; see the module docs).
    seed
        Same journeys and seed, same archetypes.
    jmap
        Optional journey map: each archetype gets its divergence profile. A
        `Divergence` from ``jg.compare(journeys, jmap)`` is used as it is
        (no second comparison).
    customers
        Optional outcomes per customer (as for :func:`journeygraph.compare`):
        each archetype gets the mean of every numeric or boolean column.
    customer
        The customer table's id column, when it is not called ``customer``.
    **options
        Other `ArchetypeModel` parameters (``k_range``, ``n_init``,
        ``sample_size``, ``progress``, ...). On Spark journeys also
        ``fraction``: the share of customers the model is fitted on (the
        result is a ``SparkArchetypes``; see docs/spark.md).

    Examples
    --------
    >>> import journeygraph as jg
    >>> from journeygraph import datasets
    >>> data = datasets.generate(5_000, seed=0)
    >>> journeys = jg.mine(jg.read_events(data.events, **datasets.COLUMNS))
    >>> outcomes = data.customers.rename({"customer_id": "customer"})
    >>> arch = jg.cluster(journeys, k=5, customers=outcomes)
    >>> arch.table.select("archetype", "size", "converted").height
    5
    >>> arch.labels.columns
    ['journey', 'customer', 'archetype', 'probability']
    """
    if type(journeys).__name__ == "SparkJourneys":  # fit on a sample, label in Spark
        from . import _spark  # imports pyspark only now

        assert isinstance(journeys, _spark.SparkJourneys)
        fraction = options.pop("fraction", None)
        model = ArchetypeModel(k, seed=seed, **options)
        if isinstance(customers, EventLog):
            msg = "on Spark journeys customers= takes a polars DataFrame (one row per customer)"
            raise JourneygraphError(msg)
        table = customer_table(customers, ids=journeys.id_type, customer=customer)
        spark_div: Any = None
        if isinstance(jmap, JourneyMap):
            spark_div = compare(journeys, jmap)
        elif jmap is not None:
            if getattr(jmap, "journeys", None) is not journeys:
                msg = (
                    "jmap= takes a JourneyMap or the comparison of these journeys: "
                    "jg.compare(journeys, jmap)"
                )
                raise JourneygraphError(msg)
            spark_div = jmap
        return _spark.cluster(journeys, model, fraction, table, spark_div, _ON_SPARK)
    model = ArchetypeModel(k, seed=seed, **options)
    if isinstance(jmap, Divergence) and jmap.journeys is not journeys:
        msg = (
            "jmap= got a Divergence of other journeys; "
            "compare these journeys: jg.compare(journeys, jmap)"
        )
        raise JourneygraphError(msg)
    _check_journeys(journeys)
    assert isinstance(journeys, Journeys)
    table = customer_table(customers, ids=journeys.core.id_type, customer=customer)
    model.fit(journeys)
    divergence = jmap if isinstance(jmap, Divergence) or jmap is None else compare(journeys, jmap)
    return Archetypes(model, journeys, divergence=divergence, customers=table)
