"""Moments that matter: stratified comparisons of journeys on an outcome (internal API).

`Divergence.drivers` hands this module plain frames (events, visits, deviations,
outcomes); everything statistical happens here, in two halves: `counts` makes
the stratum counts of some journeys (summable over partitions of whole
customers: Spark runs it per partition) and `drivers_of` finishes the moments
from counts added up (on one machine, of all journeys at once).

The rules, each with a planted-effect test in ``tests/test_moments.py``:

* **At risk.** A feature at stage *S* (a deviation there, an off-map
  touchpoint visited during it, the next stage taken from it) is compared
  only among the journeys that reached *S*.
* **Before the moment.** With a *reached* outcome (``reached="purchase"``)
  only what a journey did before first reaching the target counts; a
  feature whose absence rules the target out (a step of the funnel) is
  dropped with a note. With a
  *column* outcome there is no moment: exits are left out (``early_exit``,
  and visiting a touchpoint that ends at least 90 % of the journeys that
  visit it, such as ``cancel``: where the journey ended, often how the
  outcome was recorded), and a feature that is the outcome in disguise (one
  side all 0 or all 1 in every stratum, beyond chance) is dropped with a note.
* **Like with like.** The effect is the Mantel-Haenszel risk difference (or
  the weighted mean difference of a numeric outcome) pooled over strata of
  exposure: how many sessions the journey spent at *S* and how long the
  journey was (sessions when journeys span several, else events), both counted
  before the moment. Variance: Sato (1989) for risk differences; the p-value
  is the Cochran-Mantel-Haenszel test. The naive difference stays beside it.
* **Many tests.** Benjamini-Hochberg q-values over every row tested;
  ``significant`` means ``q < 0.05``.
* **Sessions.** A step across a session boundary is a return visit, not a
  step: deviations at a session's first visit and steps between sessions are
  not features. Without sessions (no ``session_gap``), a gap of more than 30
  minutes between two events counts as a return visit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from ._frames import JOURNEY as _J
from ._page import html_summary
from ._stats import Z95 as _Z
from ._stats import bh

ALPHA = 0.05  # q-value threshold of `significant`
ENDING_SHARE = 0.9  # column outcome: a touchpoint ending this share of its journeys is an exit
DISGUISE_CHANCE = 1e-3  # a pure side this unlikely by chance is the outcome in disguise
# deviation kinds that are features; early_exit describes where a journey ended and
# off_map is the `visited:` feature
RETURN_GAP = dt.timedelta(minutes=30)  # without sessions, a longer gap is a return visit
FEATURE_KINDS = ("skipped_stage", "out_of_order", "loop", "wrong_entry", "late")
Unit = Literal["customers", "sessions"]


@dataclass(frozen=True)
class Inputs:
    """What `drivers` needs from a comparison, by journey code ``_journey``.

    ``events``: ``_journey``, ``_pos``, ``_session``, ``touchpoint`` (String),
    ``symbol`` (stage index, -1 off the map), one row per event, in order.
    ``deviations``: ``_journey``, ``kind`` (String), ``position``, ``stage``.
    ``outcome``: ``_journey``, ``_y`` (Float64, nulls allowed) for a column
    outcome, or None with ``reached`` set.
    """

    events: pl.DataFrame
    deviations: pl.DataFrame
    stages: list[str]
    stage_touchpoints: dict[str, list[str]]
    moves: list[tuple[int, int]]
    unit: Unit
    n_journeys: int
    sessions_inferred: bool = False


@dataclass(frozen=True)
class Moments:
    """Moments that matter: what journeys did at each stage, and the outcome after.

    Build with `Divergence.drivers`. One row of ``table`` per feature and
    stage: ``feature`` (``visited:<touchpoint>``, ``next:<stage>`` or
    ``<deviation kind>:<stage>``), ``stage`` (where it happened),
    ``journeys`` (at risk: reached the stage, outcome known), ``affected``
    (of them, with the feature), ``with`` / ``without`` (outcome rate or mean
    of each side), ``adjusted`` (difference pooled within strata of exposure)
    with ``ci_low`` / ``ci_high`` (95 %), ``naive`` (plain difference),
    ``p_value``, ``q_value`` (Benjamini-Hochberg over all rows) and
    ``significant`` (``q_value < 0.05``). Ranked by ``affected * |adjusted|``.

    Attributes
    ----------
    table : polars.DataFrame
        The moments, most impact first.
    outcome : str
        The outcome column, or ``"reached <target>"``.
    reached : str or None
        The touchpoint or stage of a reached outcome.
    kind : {"rate", "mean"}
        Whether ``with`` / ``without`` are rates (boolean outcome) or means.
    unit : {"customers", "sessions"}
        What one journey is.
    notes : tuple of str
        What was left out or dropped, and why.

    Examples
    --------
    >>> import journeygraph as jg
    >>> from journeygraph import datasets
    >>> sample = datasets.generate(1000, seed=2)
    >>> log = jg.read_events(sample.events, **datasets.COLUMNS)
    >>> div = jg.compare(jg.mine(log), jg.JourneyMap.linear(datasets.IDEAL_STAGES))
    >>> moments = div.drivers(reached="purchase")
    >>> moments.outcome, moments.unit
    ('reached purchase', 'customers')
    >>> bool((moments.table["q_value"] >= moments.table["p_value"]).all())
    True
    """

    table: pl.DataFrame
    outcome: str
    reached: str | None
    kind: Literal["rate", "mean"]
    unit: Unit
    notes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        n_sig = int(self.table.get_column("significant").sum())
        return (
            f"Moments({self.outcome}: {self.table.height} moments tested on {self.unit}, "
            f"{n_sig} significant at q < {ALPHA})"
        )

    def _repr_html_(self) -> str:
        table = self.table.head(10).select(
            "feature",
            "stage",
            "journeys",
            "affected",
            "with",
            "without",
            "adjusted",
            "naive",
            "q_value",
            "significant",
        )
        items = [("outcome", self.outcome), ("unit", self.unit), ("with / without", self.kind)]
        items += [("note", n) for n in self.notes]
        return html_summary(repr(self), items, table)


# ----------------------------------------------------------------- statistics
def _sum(expr: pl.Expr) -> pl.Expr:
    return expr.sum()


def pooled(strata: pl.DataFrame, *, binary: bool) -> pl.DataFrame:
    """Pool per-stratum counts of each (``feature``, ``stage``) into one effect.

    ``strata`` columns: ``feature``, ``stage``, ``n1``, ``s1``, ``ss1`` (journeys with
    the feature, sum and sum of squares of the outcome) and ``n0``, ``s0``, ``ss0``
    (without), one row per stratum. Returns per (``feature``, ``stage``):
    ``adjusted``, ``se``, ``p_value``.
    """
    n1, n0 = pl.col("n1").cast(pl.Float64), pl.col("n0").cast(pl.Float64)
    s1, s0 = pl.col("s1"), pl.col("s0")
    both = strata.filter((pl.col("n1") > 0) & (pl.col("n0") > 0))
    big_n = n1 + n0
    w = n1 * n0 / big_n
    keys = ["feature", "stage"]
    if binary:
        a, c = s1, s0
        m1 = a + c
        m0 = big_n - m1
        parts = both.group_by(keys).agg(
            _sum(w).alias("_w"),
            _sum((a * n0 - c * n1) / big_n).alias("_num"),
            _sum((n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / big_n**2).alias("_p"),
            _sum((a * (n0 - c) + c * (n1 - a)) / (2 * big_n)).alias("_q"),
            _sum(a - n1 * m1 / big_n).alias("_cmh"),
            _sum(
                pl.when(big_n > 1).then(n1 * n0 * m1 * m0 / (big_n**2 * (big_n - 1))).otherwise(0)
            ).alias("_cmh_var"),
        )
        rd = pl.col("_num") / pl.col("_w")
        out = parts.with_columns(rd.alias("adjusted")).with_columns(
            ((pl.col("adjusted") * pl.col("_p") + pl.col("_q")).clip(0) / pl.col("_w") ** 2)
            .sqrt()
            .alias("se"),
            pl.when(pl.col("_cmh_var") > 0)
            .then(pl.col("_cmh") ** 2 / pl.col("_cmh_var"))
            .otherwise(0.0)
            .alias("_chi2"),
        )
        p = out.get_column("_chi2").to_numpy()
        p_values = np.array([math.erfc(math.sqrt(x / 2)) for x in p], dtype=np.float64)
    else:
        mean1, mean0 = s1 / n1, s0 / n0
        var1 = ((pl.col("ss1") - n1 * mean1**2) / (n1 - 1)).clip(0).fill_nan(0)
        var0 = ((pl.col("ss0") - n0 * mean0**2) / (n0 - 1)).clip(0).fill_nan(0)
        var1 = pl.when(n1 > 1).then(var1).otherwise(0)
        var0 = pl.when(n0 > 1).then(var0).otherwise(0)
        parts = both.group_by(keys).agg(
            _sum(w).alias("_w"),
            _sum(w * (mean1 - mean0)).alias("_num"),
            _sum(w**2 * (var1 / n1 + var0 / n0)).alias("_var"),
        )
        out = parts.with_columns(
            (pl.col("_num") / pl.col("_w")).alias("adjusted"),
            (pl.col("_var").sqrt() / pl.col("_w")).alias("se"),
        )
        z = (out.get_column("adjusted") / out.get_column("se")).to_numpy()
        diff = out.get_column("adjusted").to_numpy()
        p_values = np.array(
            [
                (1.0 if d == 0 else 0.0)
                if not math.isfinite(x)
                else math.erfc(abs(x) / math.sqrt(2))
                for x, d in zip(z, diff, strict=True)
            ],
            dtype=np.float64,
        )
    return out.select([*keys, "adjusted", "se"]).with_columns(pl.Series("p_value", p_values))


def _disguised(strata: pl.DataFrame, *, with_side: bool = True) -> pl.DataFrame:
    """Binary outcome: (feature, stage) whose with-side (if ``with_side``) or without-side
    is all 0 or all 1 in every stratum, and so unlikely to be that pure by chance at the
    other side's rate."""
    n1, n0 = pl.col("n1"), pl.col("n0")
    p0 = pl.col("s0") / n0
    p1 = pl.col("s1") / n1

    # log-probability that a side is pure (all 0 / all 1) at the other side's rate
    def log_pure(n: pl.Expr, p: pl.Expr, value: int) -> pl.Expr:
        rate = p if value == 1 else 1 - p
        return pl.when(n == 0).then(0.0).otherwise(n.cast(pl.Float64) * rate.log())

    both = strata.filter((n1 > 0) & (n0 > 0))
    checks = both.group_by("feature", "stage").agg(
        (pl.col("s1") == 0).all().alias("_w0"),
        (pl.col("s1") == n1).all().alias("_w1"),
        (pl.col("s0") == 0).all().alias("_o0"),
        (pl.col("s0") == n0).all().alias("_o1"),
        log_pure(n1, p0, 0).sum().alias("_lw0"),
        log_pure(n1, p0, 1).sum().alias("_lw1"),
        log_pure(n0, p1, 0).sum().alias("_lo0"),
        log_pure(n0, p1, 1).sum().alias("_lo1"),
    )
    limit = math.log(DISGUISE_CHANCE)
    hit = pl.lit(False)
    sides = [("_o0", "_lo0"), ("_o1", "_lo1")]
    if with_side:
        sides += [("_w0", "_lw0"), ("_w1", "_lw1")]
    for pure, logp in sides:
        hit = hit | (pl.col(pure) & (pl.col(logp) < limit))
    return checks.filter(hit).select("feature", "stage")


def by_customer(inputs: Inputs, owner: pl.DataFrame) -> Inputs:
    """Session journeys rolled up to their customers, for a customer-level outcome.

    ``owner`` maps each session's ``_journey`` to ``_owner`` (the customer's
    code) and ``_nth`` (the session's number within the customer). A customer's
    sessions are laid end to end in ``_nth`` order, session boundaries kept, so
    a customer has a feature when any of its sessions had it, and exposure
    counts the customer's sessions. Returns inputs whose ``_journey`` is
    ``_owner`` and whose unit is customers.
    """
    lengths = (
        inputs.events.group_by(_J)
        .agg(pl.len().cast(pl.Int64).alias("_len"))
        .join(owner, on=_J)
        .sort("_owner", "_nth")
        .with_columns((pl.col("_len").cum_sum().over("_owner") - pl.col("_len")).alias("_offset"))
    )
    shift = lengths.select(_J, "_owner", "_nth", "_offset")
    events = (
        inputs.events.join(shift, on=_J)
        .select(
            pl.col("_owner").alias(_J),
            (pl.col("_pos").cast(pl.Int64) + pl.col("_offset")).alias("_pos"),
            pl.col("_nth").cast(pl.UInt32).alias("_session"),
            "touchpoint",
            "symbol",
        )
        .sort(_J, "_pos")
    )
    deviations = inputs.deviations.join(shift, on=_J).select(
        pl.col("_owner").alias(_J),
        "kind",
        (pl.col("position").cast(pl.Int64) + pl.col("_offset")).alias("position"),
        "stage",
    )
    return Inputs(
        events=events,
        deviations=deviations,
        stages=inputs.stages,
        stage_touchpoints=inputs.stage_touchpoints,
        moves=inputs.moves,
        unit="customers",
        n_journeys=owner.get_column("_owner").n_unique(),
        sessions_inferred=False,
    )


# -------------------------------------------------------------------- features
def _ending_counts(events: pl.DataFrame) -> pl.DataFrame:
    """Per touchpoint: ``visiting`` (journeys that visit it) and ``ending`` (journeys whose
    last event it is); summable over partitions of whole journeys."""
    last = events.group_by(_J).agg(pl.col("touchpoint").sort_by("_pos").last().alias("_last"))
    visiting = events.select(_J, "touchpoint").unique().group_by("touchpoint").len("visiting")
    ending = last.group_by(pl.col("_last").alias("touchpoint")).agg(pl.len().alias("ending"))
    return visiting.join(ending, on="touchpoint", how="left").select(
        "touchpoint",
        pl.col("visiting").cast(pl.Int64),
        pl.col("ending").fill_null(0).cast(pl.Int64),
    )


def _endings(counts: pl.DataFrame) -> list[str]:
    """Touchpoints that are the last event of at least `ENDING_SHARE` of the journeys
    visiting them, sorted, from (summed) `_ending_counts`."""
    summed = counts.group_by("touchpoint").agg(pl.col("visiting", "ending").sum())
    share = summed.filter(
        (pl.col("ending") > 0) & (pl.col("ending") >= ENDING_SHARE * pl.col("visiting"))
    )
    return sorted(share.get_column("touchpoint").to_list())


def _bin(x: pl.Expr) -> pl.Expr:
    """Exposure bins: exact up to 20, then 25 % wide (21-25, 26-31, ...)."""
    return (
        pl.when(x <= 20)
        .then(x.cast(pl.Int64))
        .otherwise(20 + (x.cast(pl.Float64) / 20).log(1.25).ceil().cast(pl.Int64))
    )


def _cuts(inputs: Inputs, reached: str | None) -> pl.DataFrame:
    """Per journey: ``_cut`` (first event position of the target; events from it on do
    not count) and, for a reached outcome, ``_y``."""
    ev = inputs.events
    if reached is None:
        return ev.group_by(_J).agg(pl.len().cast(pl.Int64).alias("_cut"))
    targets = inputs.stage_touchpoints.get(reached, [reached])
    hit = pl.col("touchpoint").is_in(targets)
    per = ev.group_by(_J).agg(
        pl.col("_pos").filter(hit).min().cast(pl.Int64).alias("_first"),
        pl.len().cast(pl.Int64).alias("_n"),
    )
    return per.select(
        _J,
        pl.col("_first").fill_null(pl.col("_n")).alias("_cut"),
        pl.col("_first").is_not_null().cast(pl.Float64).alias("_y"),
    )


def counts(
    inputs: Inputs, *, outcome: pl.DataFrame | None, reached: str | None
) -> dict[str, pl.DataFrame]:
    """The per-partition half of `drivers`: stratum counts, summable over partitions
    of whole journeys (customers). ``outcome`` is ``_journey``, ``_y`` for a column
    outcome; None with ``reached``.

    Returns the tables `drivers_of` adds up and finishes:

    * ``cells``: per ``feature``, ``_stage`` and cell of exposure (``_exposure``,
      ``_by_sessions``, ``_by_events``: the binned sessions at the stage,
      sessions before the moment and events before the stage), ``n1``, ``s1``,
      ``ss1`` (journeys with the feature, sum and sum of squares of the outcome);
    * ``totals``: the same sums over all journeys at risk, per ``_stage`` and cell;
    * ``endings``: `_ending_counts` (column outcome only, else no rows);
    * ``facts``: one row: ``journeys``, ``known`` (outcome known), ``multi``
      (journeys with more than one session), ``unit``, ``inferred``.

    A stratum is a cell's binned exposure and one of its two lengths: which one
    depends on all journeys (sessions when any journey spans several), so the
    cells keep both and `drivers_of` chooses.
    """
    cuts = _cuts(inputs, reached)
    known = inputs.n_journeys
    if outcome is not None:
        given = outcome.drop_nulls("_y")
        known = given.height
        cuts = cuts.join(given, on=_J, how="inner")
    stages = inputs.stages
    per_journey = inputs.events.group_by(_J).agg(pl.col("_session").n_unique().alias("_k"))
    multi = int(per_journey.select((pl.col("_k") > 1).sum()).item())
    # visits: runs of one stage (or one off-map touchpoint) within one session
    first = (pl.col(_J) != pl.col(_J).shift(1)) | (
        pl.col("_session") != pl.col("_session").shift(1)
    )
    changed = (pl.col("symbol") != pl.col("symbol").shift(1)) | (
        (pl.col("symbol") < 0) & (pl.col("touchpoint") != pl.col("touchpoint").shift(1))
    )
    visits = (
        inputs.events.sort(_J, "_pos")
        .filter((first | changed).fill_null(True))
        .join(cuts, on=_J)
        .filter(pl.col("_pos").cast(pl.Int64) < pl.col("_cut"))
        .rename({"_pos": "position"})
        .sort(_J, "position")  # the join may reorder; runs below need event order
    )
    same_session = (pl.col(_J) == pl.col(_J).shift(1)) & (
        pl.col("_session") == pl.col("_session").shift(1)
    )
    on_map = pl.when(pl.col("symbol") >= 0).then(pl.col("symbol"))
    visits = visits.with_columns(same_session.fill_null(False).alias("_cont")).with_columns(
        # a session id per (journey, session) run, for forward filling within it
        (~pl.col("_cont")).cum_sum().alias("_run")
    )
    visits = visits.with_columns(on_map.forward_fill().over("_run").alias("_ctx"))
    visits = visits.with_columns(
        pl.when(pl.col("_cont")).then(pl.col("_ctx").shift(1)).alias("_prev_ctx"),
        pl.when(pl.col("_run") == pl.col("_run").shift(-1))
        .then(pl.col("symbol").shift(-1))
        .alias("_next"),
    )
    names = pl.Series(stages, dtype=pl.String)

    off_map = visits.filter((pl.col("symbol") < 0) & pl.col("_ctx").is_not_null()).select(
        _J,
        pl.col("_ctx").alias("_stage"),
        pl.format("visited:{}", pl.col("touchpoint")).alias("feature"),
    )
    # next steps where the map offers a choice; a step off the map is a deviation
    out_degree: dict[int, int] = {}
    for a, _ in inputs.moves:
        out_degree[a] = out_degree.get(a, 0) + 1
    choices = pl.DataFrame(
        [(a, b) for a, b in inputs.moves if out_degree[a] > 1],
        schema={"symbol": pl.Int64, "_next": pl.Int64},
        orient="row",
    )
    steps = visits.join(choices, on=["symbol", "_next"]).select(
        _J,
        pl.col("symbol").alias("_stage"),
        pl.format("next:{}", pl.lit(names).gather(pl.col("_next"))).alias("feature"),
    )
    index = {s: i for i, s in enumerate(stages)}
    dev = (
        inputs.deviations.filter(pl.col("kind").is_in(FEATURE_KINDS))
        .join(visits.select(_J, "position", "_prev_ctx", "_cut"), on=[_J, "position"])
        .filter(pl.col("position").cast(pl.Int64) < pl.col("_cut"))
        .with_columns(pl.col("stage").replace_strict(index, default=None).alias("_dev_stage"))
    )
    own = pl.col("kind").is_in(["wrong_entry", "late"])
    # a loop forward into a stage visited before is the way back from an earlier loop
    # (or from a return visit), not a new moment
    dev = dev.filter((pl.col("kind") != "loop") | (pl.col("_dev_stage") <= pl.col("_prev_ctx")))
    deviations = dev.select(
        _J,
        pl.when(own).then(pl.col("_dev_stage")).otherwise(pl.col("_prev_ctx")).alias("_stage"),
        pl.format("{}:{}", pl.col("kind"), pl.col("stage")).alias("feature"),
    ).drop_nulls()
    features = pl.concat(
        [f.with_columns(pl.col("_stage").cast(pl.Int64)) for f in (off_map, steps, deviations)]
    ).unique()
    if outcome is not None:
        endings = _ending_counts(inputs.events)
    else:
        endings = pl.DataFrame(
            schema={"touchpoint": pl.String, "visiting": pl.Int64, "ending": pl.Int64}
        )

    # at risk: journeys that reached each stage, with their stratum of exposure
    before = inputs.events.join(cuts.select(_J, "_cut"), on=_J).filter(
        pl.col("_pos").cast(pl.Int64) < pl.col("_cut")
    )
    # lengths: sessions before the moment, and events before first reaching the stage
    length = before.group_by(_J).agg(pl.col("_session").n_unique().alias("_sessions"))
    at_risk = (
        before.filter(pl.col("symbol") >= 0)
        .group_by(_J, pl.col("symbol").alias("_stage"))
        .agg(
            pl.col("_session").n_unique().alias("_exposure"),
            pl.col("_pos").min().alias("_before"),
        )
        .join(length, on=_J)
        .join(cuts.select(_J, "_y"), on=_J)
        .select(
            _J,
            pl.col("_stage").cast(pl.Int64),
            _bin(pl.col("_exposure")).alias("_exposure"),
            _bin(pl.col("_sessions")).alias("_by_sessions"),
            _bin(pl.col("_before")).alias("_by_events"),
            "_y",
        )
    )
    y2 = pl.col("_y") ** 2
    cell = ["_exposure", "_by_sessions", "_by_events"]
    cells = (
        features.join(at_risk, on=[_J, "_stage"])
        .group_by("feature", "_stage", *cell)
        .agg(
            pl.len().cast(pl.Int64).alias("n1"),
            pl.col("_y").sum().alias("s1"),
            y2.sum().alias("ss1"),
        )
    )
    totals = at_risk.group_by("_stage", *cell).agg(
        pl.len().cast(pl.Int64).alias("_n"), pl.col("_y").sum().alias("_s"), y2.sum().alias("_ss")
    )
    facts = pl.DataFrame(
        {
            "journeys": [inputs.n_journeys],
            "known": [known],
            "multi": [multi],
            "unit": [inputs.unit],
            "inferred": [inputs.sessions_inferred],
        },
        schema={
            "journeys": pl.Int64,
            "known": pl.Int64,
            "multi": pl.Int64,
            "unit": pl.String,
            "inferred": pl.Boolean,
        },
    )
    return {"cells": cells, "totals": totals, "endings": endings, "facts": facts}


def drivers_of(
    parts: dict[str, pl.DataFrame],
    *,
    stages: list[str],
    outcome_name: str | None,
    reached: str | None,
    binary: bool,
    min_journeys: int,
) -> Moments:
    """The global half of `drivers`: moments that matter from `counts` (of one set of
    journeys, or of partitions concatenated: every table is summed here)."""
    facts = parts["facts"]
    unit: Unit = "sessions" if "sessions" in facts.get_column("unit").to_list() else "customers"
    n_journeys = int(facts.get_column("journeys").sum())
    multi = int(facts.get_column("multi").sum()) > 0
    column = reached is None  # a column outcome (else reached)
    notes: list[str] = []
    if bool(facts.get_column("inferred").any()):
        notes.append(
            "No sessions were given (mine(..., session_gap=...)): a gap of more than "
            "30 minutes counts as a return visit, not a step."
        )
    cells = parts["cells"]
    if column:
        missing = n_journeys - int(facts.get_column("known").sum())
        if missing:
            notes.append(f"{missing:,} {unit} without a value of {outcome_name} are left out.")
        notes.append(
            "Exits (early_exit) are left out: with a column outcome they describe where "
            "the journey ended, not a moment before it."
        )
        endings = _endings(parts["endings"])
        if endings:
            notes.append(
                "Left out visiting "
                + ", ".join(endings)
                + f": each ends at least {ENDING_SHARE:.0%} of the journeys that visit it, so "
                "it says where the journey ended (an exit), not a moment before it; for what "
                f"leads there use drivers(reached={endings[0]!r})."
            )
            ended = [f"visited:{t}" for t in endings]
            cells = cells.filter(~pl.col("feature").is_in(ended))
    # strata of exposure: sessions at the stage, and the journey's length before the
    # moment: sessions when journeys span several (activity), else events before first
    # reaching the stage (what a feature there cannot change)
    stratum = (
        pl.col("_exposure") * 1000 + pl.col("_by_sessions" if multi else "_by_events")
    ).alias("_stratum")
    with_ = cells.group_by("feature", "_stage", stratum).agg(pl.col("n1", "s1", "ss1").sum())
    totals = parts["totals"].group_by("_stage", stratum).agg(pl.col("_n", "_s", "_ss").sum())
    names = pl.Series(stages, dtype=pl.String)
    stage_name = pl.lit(names).gather(pl.col("_stage"))
    strata = (
        with_.join(totals, on=["_stage", "_stratum"])
        .with_columns(
            (pl.col("_n") - pl.col("n1")).alias("n0"),
            (pl.col("_s") - pl.col("s1")).alias("s0"),
            (pl.col("_ss") - pl.col("ss1")).alias("ss0"),
            stage_name.alias("stage"),
        )
        .sort("feature", "_stage", "_stratum")
    )
    stage_totals = totals.group_by("_stage").agg(
        pl.col("_n").sum().alias("journeys"), pl.col("_s").sum().alias("_s_all")
    )
    per = (
        strata.group_by("feature", "stage", "_stage")
        .agg(pl.col("n1").sum().alias("affected"), pl.col("s1").sum().alias("_s1"))
        .join(stage_totals, on="_stage")
    )
    n0_all = pl.col("journeys") - pl.col("affected")
    per = per.filter((pl.col("affected") >= min_journeys) & (n0_all >= min_journeys))
    strata = strata.join(per.select("feature", "stage"), on=["feature", "stage"])
    if binary:
        # a column outcome: either side pure is the outcome in disguise; a reached one: a
        # feature without which no journey (or every journey) reaches the target is a
        # step of the funnel, not a moment (a pure with-side is a real, total effect)
        disguised = _disguised(strata, with_side=column).sort("stage", "feature")
        if disguised.height:
            listed = ", ".join(f"{f} at {s}" for f, s in disguised.rows()[:5])
            more = disguised.height - 5
            what = (
                f"are {outcome_name} in disguise (one side all the same in every stratum)"
                if column
                else f"every journey that reaches {reached} passes through (steps of the "
                "funnel: see stage reach)"
            )
            notes.append(
                f"Dropped {disguised.height} feature(s) that {what}: {listed}"
                + (f" and {more} more" if more > 0 else "")
                + "."
            )
            per = per.join(disguised, on=["feature", "stage"], how="anti")
            strata = strata.join(disguised, on=["feature", "stage"], how="anti")
    effects = pooled(strata, binary=binary)
    with_rate = pl.col("_s1") / pl.col("affected")
    without_rate = (pl.col("_s_all") - pl.col("_s1")) / n0_all
    table = (
        per.join(effects, on=["feature", "stage"], how="left")
        .select(
            "feature",
            "stage",
            "_stage",
            pl.col("journeys").cast(pl.UInt32),
            pl.col("affected").cast(pl.UInt32),
            with_rate.alias("with"),
            without_rate.alias("without"),
            "adjusted",
            (pl.col("adjusted") - _Z * pl.col("se")).alias("ci_low"),
            (pl.col("adjusted") + _Z * pl.col("se")).alias("ci_high"),
            (with_rate - without_rate).alias("naive"),
            pl.col("p_value").fill_null(1.0),
        )
        .sort("_stage", "feature")
    )
    q = bh(table.get_column("p_value").to_numpy())
    table = (
        table.with_columns(pl.Series("q_value", q, dtype=pl.Float64))
        .with_columns((pl.col("q_value") < ALPHA).alias("significant"))
        .sort(
            [
                (pl.col("affected").cast(pl.Float64) * pl.col("adjusted").abs()).fill_null(0),
                "_stage",
                "feature",
            ],
            descending=[True, False, False],
        )
        .drop("_stage")
    )
    return Moments(
        table=table,
        outcome=f"reached {reached}" if reached is not None else str(outcome_name),
        reached=reached,
        kind="rate" if binary else "mean",
        unit=unit,
        notes=tuple(notes),
    )
