"""Hold every journey against the journey map: :func:`compare` → :class:`Divergence`.

Each journey becomes a sequence of **stage visits** (consecutive events of one
stage form one visit; consecutive events of one off-map touchpoint form one
off-map visit) or, with ``strict=True``, of events. The sequence is aligned
optimally with the map's language (see ``journeygraph._align``): unit cost
for a move on the journey only and for a move on the map only. Identical
sequences are aligned once.

Deviation labels (one row each in ``Divergence.deviations``):

* ``skipped_stage``: the map needs a stage here that the journey never did
  (a move on the map only, between the journey's first and last aligned stage).
* ``off_map``: a touchpoint that belongs to no stage.
* ``out_of_order``: a stage visit the map does not allow at this point, to a
  stage later than any aligned so far.
* ``loop``: a stage visit the map does not allow at this point, back to a stage
  already reached (a loop or backtrack the map does not accept).
* ``wrong_entry``: the first stage visited is not a start stage of the map.
* ``early_exit``: the journey ends before an end stage; ``stage`` is the last
  stage it reached (null if it never reached one).
* ``late``: the time from entering a stage to entering the next stage visit is
  longer than the stage's ``max_time``.

``fitness = 1 - cost / (visits + shortest map path)``: 1 for a journey that
follows the map, 0 when nothing matches.
"""

from __future__ import annotations

import datetime as dt
import difflib
import warnings
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

import networkx as nx
import numpy as np
import polars as pl

from . import _moments, _page
from ._align import Automaton, Move, align
from ._customers import customer_table, outcome_kind, score_column
from ._deviations import ALIGNMENT_KINDS, NAMES
from ._errors import JourneygraphError, MapWarning
from ._frames import JOURNEY, group_runs, lookup
from ._moments import Moments
from .ingest import EventLog
from .mine import Journeys

if TYPE_CHECKING:
    from ._spark import SparkDivergence, SparkJourneys
    from .journeymap import JourneyMap

__all__ = ["DEVIATIONS", "Divergence", "Moments", "compare"]

DEVIATIONS: tuple[str, ...] = NAMES  # every deviation kind, in report order


class Divergence:
    """Every journey held against a journey map. Build with :func:`compare`.

    Attributes
    ----------
    journeys : Journeys
        The journeys compared.
    jmap : JourneyMap
        The map they were compared with.
    strict : bool
        Whether every event was aligned on its own (else stage visits).
    """

    def __init__(
        self,
        journeys: Journeys,
        jmap: JourneyMap,
        *,
        strict: bool,
        visits: pl.DataFrame,
        sequences: pl.DataFrame,
        costs: np.ndarray[Any, Any],
        moves: list[list[Move]],
        shortest: int,
        customers: pl.DataFrame | None,
    ) -> None:
        self.journeys = journeys
        self.jmap = jmap
        self.strict = strict
        self._visits = (
            visits  # one row per visit: JOURNEY, _visit, symbol, touchpoint, time, position
        )
        self._sequences = (
            sequences  # one row per journey: JOURNEY, _seq (distinct sequence id), length
        )
        self._costs = costs  # per distinct sequence
        self._moves = moves  # per distinct sequence
        self._shortest = shortest
        self._extra = customers

    def __repr__(self) -> str:
        return (
            f"Divergence({self.journeys.n_journeys:,} journeys vs {len(self.jmap.stages)} stages, "
            f"conformance {self.conformance:.1%})"
        )

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter: conformance, fitness, each deviation's share."""
        return _page.divergence_summary(self)

    # ------------------------------------------------------------- per journey
    @cached_property
    def _per_sequence(self) -> pl.DataFrame:
        """Deviations of each distinct sequence, by visit index (moves → labels)."""
        starts = {self.jmap.index_of[s] for s in self.jmap.start_stages}
        rows: list[tuple[int, str, int, int | None]] = []
        for seq_id, moves in enumerate(self._moves):
            rows += [(seq_id, *d) for d in _label(moves, starts)]
        return pl.DataFrame(
            rows,
            schema={"_seq": pl.UInt32, "kind": pl.String, "_visit": pl.Int64, "_stage": pl.Int64},
            orient="row",
        )

    @cached_property
    def _first_visit_row(self) -> pl.Series:
        """Row of each journey's first visit in ``_visits`` (sorted by journey, visit)."""
        return self._visits.select((pl.col("_visit") == 0).arg_true().alias("_first")).get_column(
            "_first"
        )

    @cached_property
    def deviations(self) -> pl.DataFrame:
        """One row per deviation: ``journey``, ``kind``, ``position`` (event index),
        ``stage``, ``touchpoint`` and ``time`` of the visit where it happens.

        For ``skipped_stage`` and ``early_exit`` the position is that of the
        next visit (or of the last one at the end); ``stage`` is the stage
        skipped, left from, or visited. Sorted by journey and position.
        """
        return self.journeys.core.with_ids(self._deviations)

    @cached_property
    def _deviations(self) -> pl.DataFrame:
        """`deviations` by journey code (``JOURNEY``), sorted."""
        labelled = self._sequences.join(self._per_sequence, on="_seq").with_columns(
            # positions past the last visit point at the last visit
            pl.min_horizontal("_visit", pl.col("length") - 1).alias("_visit")
        )
        # visits are sorted by journey, then visit: row = first row of the journey + visit
        at = lookup(self._first_visit_row, pl.col(JOURNEY)) + pl.col("_visit")
        located = self._visits.select("position", "touchpoint", "time")
        rows = labelled.select(at.alias("_row")).get_column("_row")
        found = pl.concat([labelled, located[rows]], how="horizontal").select(
            JOURNEY,
            pl.col("kind").cast(pl.Enum(DEVIATIONS)),
            "position",
            pl.when(pl.col("_stage") >= 0)
            .then(lookup(self._stage_names, pl.col("_stage").clip(0)))
            .alias("stage"),
            "touchpoint",
            "time",
        )
        out = pl.concat([found, self._late], how="vertical_relaxed")
        return out.sort(JOURNEY, "position", "kind")

    @cached_property
    def _late(self) -> pl.DataFrame:
        limits = [s.max_time for s in self.jmap.stages]
        if not any(limits):
            return pl.DataFrame(
                schema={
                    JOURNEY: pl.UInt32,
                    "kind": pl.Enum(DEVIATIONS),
                    "position": pl.UInt32,
                    "stage": pl.String,
                    "touchpoint": self._visits.schema["touchpoint"],
                    "time": self._visits.schema["time"],
                }
            )
        # exact integer microseconds: total_seconds() * 1e6 truncates "4.1s" to 4_099_999
        micros = [None if t is None else t // dt.timedelta(microseconds=1) for t in limits]
        limit = pl.Series("limit", micros, dtype=pl.Int64)
        on_map = self._visits.filter(pl.col("symbol") >= 0)
        nxt = on_map.with_columns(
            pl.col("time").shift(-1).over(JOURNEY).alias("_next_time"),
            pl.col("position").shift(-1).over(JOURNEY).alias("_next_position"),
            pl.col("touchpoint").shift(-1).over(JOURNEY).alias("_next_touchpoint"),
            lookup(limit, pl.col("symbol")).alias("_limit"),
        )
        late = nxt.filter(
            (pl.col("_next_time") - pl.col("time")).dt.total_microseconds() > pl.col("_limit")
        )
        return late.select(
            JOURNEY,
            pl.lit("late").cast(pl.Enum(DEVIATIONS)).alias("kind"),
            pl.col("_next_position").alias("position"),
            lookup(self._stage_names, pl.col("symbol")).alias("stage"),
            pl.col("_next_touchpoint").alias("touchpoint"),
            pl.col("_next_time").alias("time"),
        )

    @cached_property
    def customers(self) -> pl.DataFrame:
        """One row per journey, ready to join: ``journey``, ``customer``,
        ``visits`` (aligned length), ``cost``, ``fitness``, ``conforms``
        (no deviation at all), ``entry_stage``, ``exit_stage`` (last stage
        reached), one count column per deviation kind, and any columns of the
        customer table given to :func:`compare`.
        """
        costs = pl.Series("cost", self._costs, dtype=pl.Int64)
        base = self._sequences.with_columns(lookup(costs, pl.col("_seq")).alias("cost"))
        # counts per distinct sequence, gathered to journeys; `late` depends on times
        per_seq = self._per_sequence.group_by("_seq", "kind").len()
        table = pl.DataFrame({"_seq": pl.int_range(len(self._moves), dtype=pl.UInt32, eager=True)})
        for kind in ALIGNMENT_KINDS:  # counted per distinct sequence; time kinds below
            hits = per_seq.filter(pl.col("kind") == kind).select("_seq", pl.col("len").alias(kind))
            table = table.join(hits, on="_seq", how="left", maintain_order="left")
        table = table.fill_null(0)
        late = self._late.group_by(JOURNEY).len().rename({"len": "late"})
        base = base.with_columns(
            lookup(table.get_column(k), pl.col("_seq")).alias(k) for k in ALIGNMENT_KINDS
        ).join(late, on=JOURNEY, how="left", maintain_order="left")
        reached = self._reached.with_columns(
            lookup(self._stage_names, pl.col("_entry")).alias("entry_stage"),
            lookup(self._stage_names, pl.col("_exit")).alias("exit_stage"),
        )
        ids = self.journeys.core.ids.select("journey", "customer")
        out = (
            self.journeys.core.with_ids(
                base.join(reached, on=JOURNEY, how="left")
                .sort(JOURNEY)
                .select(
                    JOURNEY,
                    pl.col("length").alias("visits"),
                    "cost",
                    (1 - pl.col("cost") / (pl.col("length") + self._shortest)).alias("fitness"),
                    "entry_stage",
                    "exit_stage",
                    *DEVIATIONS,
                )
            )
            .with_columns(pl.col(DEVIATIONS).fill_null(0).cast(pl.UInt32))
            .with_columns((pl.sum_horizontal(DEVIATIONS) == 0).alias("conforms"))
        )
        out = pl.concat([ids.select("customer"), out], how="horizontal").select(
            "journey", "customer", pl.exclude("journey", "customer")
        )
        if self._extra is not None:
            out = out.join(self._extra, on="customer", how="left")
        return out

    def alignment(self, journey: Any) -> pl.DataFrame:
        """The optimal alignment of one journey as a table of moves.

        Columns: ``move`` (``sync``, ``log`` or ``model``), ``position``
        (event index; for a map-only move the next event), ``touchpoint``
        (null for map-only moves) and ``stage`` (null for journey-only moves).
        """
        code = self.journeys.core.code_of(journey)
        seq = int(self._sequences.filter(pl.col(JOURNEY) == code).get_column("_seq")[0])
        visits = self._visits.filter(pl.col(JOURNEY) == code).sort("_visit")
        positions = visits.get_column("position").to_list()
        touchpoints = visits.get_column("touchpoint").cast(pl.String).to_list()
        names = self.jmap.stage_names
        rows = []
        for m in self._moves[seq]:
            at = min(m.position, len(positions) - 1)
            rows.append(
                (
                    m.kind,
                    positions[at] if m.position < len(positions) else positions[at] + 1,
                    None if m.kind == "model" else touchpoints[m.position],
                    None if m.stage is None else names[m.stage],
                )
            )
        return pl.DataFrame(
            rows,
            schema={
                "move": pl.String,
                "position": pl.Int64,
                "touchpoint": pl.String,
                "stage": pl.String,
            },
            orient="row",
        )

    # -------------------------------------------------------------- population
    @property
    def conformance(self) -> float:
        """Share of journeys without any deviation."""
        share = self.customers.select(pl.col("conforms").mean()).item()
        return float(share or 0.0)

    def summary(self, by: str | None = None) -> pl.DataFrame:
        """Population numbers, overall or per segment of a ``customers`` column.

        Columns: the segment (if ``by``), ``journeys``, ``conformance``,
        ``mean_fitness``, fitness quartiles, and per deviation kind the share
        of journeys with at least one (``<kind>``) .

        Examples
        --------
        >>> import journeygraph as jg
        >>> from journeygraph import datasets
        >>> sample = datasets.generate(300, seed=1)
        >>> log = jg.read_events(sample.events, customer="customer_id",
        ...                      timestamp="timestamp", touchpoint="touchpoint")
        >>> div = jg.compare(jg.mine(log), jg.JourneyMap.linear(datasets.IDEAL_STAGES))
        >>> row = div.summary().row(0, named=True)
        >>> row["journeys"], 0 <= row["conformance"] <= 1
        (300, True)
        """
        frame = self.customers
        if by is not None and by not in frame.columns:
            msg = f"no column {by!r} to split by; customers has {frame.columns}"
            raise JourneygraphError(msg)
        return _summary_of(frame, by)

    def deviation_counts(self) -> pl.DataFrame:
        """Per deviation kind and stage: ``deviations``, ``journeys`` and
        ``share`` of all journeys. Most frequent first."""
        n = self.journeys.n_journeys
        return (
            self.deviations.group_by("kind", "stage")
            .agg(pl.len().alias("deviations"), pl.col("journey").n_unique().alias("journeys"))
            .with_columns((pl.col("journeys") / n).alias("share"))
            .sort(["journeys", "kind", "stage"], descending=[True, False, False], nulls_last=True)
        )

    @cached_property
    def _labels(self) -> tuple[pl.Series, pl.Series]:
        """Visit labels: stage names, then off-map touchpoints (by code), and for each
        label the code of its first equal one, so equal names count as one label."""
        vocab = [*self.jmap.stage_names, *self.journeys.touchpoints]
        first: dict[str, int] = {}
        merged = [first.setdefault(name, i) for i, name in enumerate(vocab)]
        return pl.Series(vocab, dtype=pl.String), pl.Series(merged, dtype=pl.Int64)

    @cached_property
    def _steps(self) -> pl.DataFrame:
        """Each journey's distinct steps between consecutive visits: ``JOURNEY``, ``label``
        and ``next`` as codes of `_labels` (stage ``s`` is code ``s``)."""
        n_stages = len(self.jmap.stages)
        off_map = pl.col("touchpoint").to_physical().cast(pl.Int64) + n_stages
        code = pl.when(pl.col("symbol") >= 0).then(pl.col("symbol")).otherwise(off_map)
        labelled = self._visits.select(JOURNEY, lookup(self._labels[1], code).alias("label"))
        return (
            labelled.with_columns(
                pl.col("label").shift(-1).alias("next"), pl.col(JOURNEY).shift(-1).alias("_next_j")
            )
            .filter(pl.col("_next_j") == pl.col(JOURNEY))
            .select(JOURNEY, "label", "next")
            .unique()
        )

    def overlay(self) -> pl.DataFrame:
        """Every map move and every observed step off the map, with usage.

        Columns: ``source``, ``target``, ``kind`` (``map`` for a move of the
        map, ``shadow`` for an observed step the map does not have),
        ``journeys`` (that made the step), ``bypassed`` (map moves only:
        journeys that reached ``target`` or a later stage without ever making
        this move). Map moves first in map order, then shadow paths by volume.
        """
        steps = self._steps
        counts = steps.group_by("label", "next").agg(pl.len().cast(pl.UInt32).alias("journeys"))
        moves = pl.DataFrame(
            [(a, b, i) for i, (a, b) in enumerate(self._map_moves)],
            schema={"label": pl.Int64, "next": pl.Int64, "_order": pl.Int64},
            orient="row",
        )
        # bypassed = journeys whose furthest stage is the target or later, minus those
        # of them that made the move
        furthest = self._reached.select(JOURNEY, pl.col("_furthest").alias("furthest"))
        at_least = np.bincount(
            furthest.get_column("furthest").to_numpy(), minlength=len(self.jmap.stages)
        )
        at_least = np.cumsum(at_least[::-1])[::-1]
        made = (
            steps.join(moves, on=["label", "next"])
            .join(furthest, on=JOURNEY)
            .filter(pl.col("furthest") >= pl.col("next"))
            .group_by("_order")
            .len()
        )
        used = (
            moves.join(counts, on=["label", "next"], how="left")
            .join(made, on="_order", how="left")
            .sort("_order")
            .with_columns(
                pl.col("journeys").fill_null(0),
                (
                    lookup(pl.Series(at_least, dtype=pl.Int64), pl.col("next"))
                    - pl.col("len").fill_null(0)
                )
                .cast(pl.UInt32)
                .alias("bypassed"),
            )
        )
        shadow = counts.join(moves, on=["label", "next"], how="anti")
        names = self._labels[0]
        label = lookup(names, pl.col("label")).alias("source")
        nxt = lookup(names, pl.col("next")).alias("target")
        return pl.concat(
            [
                used.select(label, nxt, pl.lit("map").alias("kind"), "journeys", "bypassed"),
                shadow.select(
                    label,
                    nxt,
                    pl.lit("shadow").alias("kind"),
                    "journeys",
                    pl.lit(None, pl.UInt32).alias("bypassed"),
                ).sort(["journeys", "source", "target"], descending=[True, False, False]),
            ]
        )

    @cached_property
    def _reached(self) -> pl.DataFrame:
        """Per journey that visits a stage: the first (``_entry``), last (``_exit``) and
        furthest (``_furthest``) stage codes."""
        return (
            self._visits.filter(pl.col("symbol") >= 0)
            .group_by(JOURNEY, maintain_order=True)
            .agg(
                pl.col("symbol").first().alias("_entry"),
                pl.col("symbol").last().alias("_exit"),
                pl.col("symbol").max().alias("_furthest"),
            )
        )

    @cached_property
    def _map_moves(self) -> list[tuple[int, int]]:
        idx = self.jmap.index_of
        return [(idx[a], idx[b]) for a, b in self.jmap.moves]

    @cached_property
    def _stage_names(self) -> pl.Series:
        """Stage names by index, for decoding stage codes."""
        return pl.Series(self.jmap.stage_names, dtype=pl.String)

    def stage_reach(self) -> pl.DataFrame:
        """Per stage: share of journeys that reached it by any path, share that
        reached it along the map with no deviation before, and the share whose
        last stage it was (``drop_off``). In map order."""
        n = self.journeys.n_journeys
        names = self.jmap.stage_names
        # each journey's first visit to each stage, grouped on one packed integer key
        n_stages = len(names)
        keyed = self._visits.filter(pl.col("symbol") >= 0).select(
            (pl.col(JOURNEY).cast(pl.Int64) * n_stages + pl.col("symbol")).alias("_key"), "position"
        )
        first_visit = group_runs(keyed, pl.col("position").min().alias("_at")).select(
            (pl.col("_key") // n_stages).cast(pl.UInt32).alias(JOURNEY),
            (pl.col("_key") % n_stages).alias("symbol"),
            "_at",
        )
        first_dev = self._deviations.group_by(JOURNEY).agg(pl.col("position").min().alias("_dev"))
        before_dev = pl.col("_dev").is_null() | (pl.col("_at") < pl.col("_dev"))
        reach = (
            first_visit.join(first_dev, on=JOURNEY, how="left")
            .group_by("symbol")
            .agg(pl.len().alias("reached"), before_dev.sum().alias("ideal"))
        )
        last = self._reached.group_by(pl.col("_exit").alias("symbol")).len()
        table = pl.DataFrame({"symbol": list(range(len(names))), "stage": list(names)})
        return (
            table.with_columns(pl.col("symbol").cast(reach.schema["symbol"]))
            .join(reach, on="symbol", how="left")
            .join(last.rename({"len": "last"}), on="symbol", how="left")
            .sort("symbol")
            .select(
                "stage",
                (pl.col("reached").fill_null(0) / n).alias("reach"),
                (pl.col("ideal").fill_null(0) / n).alias("reach_ideal"),
                (pl.col("last").fill_null(0) / n).alias("drop_off"),
            )
        )

    @cached_property
    def map_warnings(self) -> list[str]:
        """Map touchpoints the journeys never visit, each with the likely name meant.

        `compare` issues each as a `MapWarning`; the report shows them.
        """
        return [_never_occurs(t, hint) for t, hint in _unvisited(self.jmap, self.journeys)]

    def overlay_graph(self, *, top_shadow: int = 20) -> nx.DiGraph[str]:
        """The overlay as a ``networkx.DiGraph`` ready for rendering.

        Stage nodes carry ``index``, ``reach``, ``reach_ideal`` and
        ``drop_off``; touchpoint nodes off the map carry ``kind="off_map"``.
        Every node carries ``journeys``: the distinct journeys through it (for a
        stage, ``reach`` times the number of journeys). Edges carry ``kind``
        (``map``/``shadow``), ``used`` (map edges with at least one journey),
        ``journeys`` and ``bypassed``. Only the
        ``top_shadow`` busiest shadow paths are kept.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": [1, 1, 2, 2], "ts": [1, 2, 1, 2],
        ...                    "event": ["search", "pay", "search", "chat"]})
        >>> log = jg.read_events(df, customer="user", timestamp="ts", touchpoint="event")
        >>> g = jg.compare(jg.mine(log), jg.JourneyMap.linear(["search", "pay"])).overlay_graph()
        >>> sorted(g.edges(data="journeys"))
        [('search', 'chat', 1), ('search', 'pay', 1)]
        >>> g.nodes["chat"]["kind"], g.nodes["chat"]["journeys"], g.nodes["search"]["journeys"]
        ('off_map', 1, 2)
        """
        through = _through_of(self)
        return _overlay_graph_of(self.stage_reach(), self.overlay(), through, top_shadow)

    # ---------------------------------------------------------------- outcomes
    def drivers(
        self,
        outcome: str | None = None,
        *,
        reached: str | None = None,
        min_journeys: int = 30,
    ) -> Moments:
        """Moments that matter: what journeys did at each stage, and the outcome after.

        For each stage, among the journeys that reached it, those that did
        something there (each deviation kind, each off-map touchpoint visited
        during the stage, each next stage taken) are compared with those that
        did not, within strata of exposure (sessions at the stage and journey
        length), and the pooled difference gets a Benjamini-Hochberg q-value.
        This is association, not cause. See :class:`Moments` for the table.

        Parameters
        ----------
        outcome
            A boolean or numeric column of ``customers`` (pass a customer table
            to :func:`compare`). It has no moment: exits are left out and
            features that are the outcome in disguise are dropped with a note.
            It belongs to customers, so on session journeys the sessions are
            rolled up to their customers (a customer has a feature when any of
            its sessions had it) and the unit is ``"customers"``.
        reached
            A touchpoint or a stage: the outcome is whether the journey reaches
            it, and only what the journey did before first reaching it counts.
            Give either ``outcome`` or ``reached``.
        min_journeys
            Leave out features with fewer journeys than this on either side.

        Examples
        --------
        >>> import journeygraph as jg
        >>> from journeygraph import datasets
        >>> sample = datasets.generate(2000, seed=1)
        >>> log = jg.read_events(sample.events, **datasets.COLUMNS)
        >>> div = jg.compare(jg.mine(log), jg.JourneyMap.linear(datasets.IDEAL_STAGES))
        >>> moments = div.drivers(reached="purchase")
        >>> moments.unit, moments.kind
        ('customers', 'rate')
        >>> moments.table.columns[:6]
        ['feature', 'stage', 'journeys', 'affected', 'with', 'without']
        """
        given = [] if self._extra is None else [c for c in self._extra.columns if c != "customer"]
        binary = _drivers_kind(
            self.customers, given, self.jmap, self.journeys.touchpoints, outcome, reached
        )
        parts = _driver_counts(self, outcome, reached)
        return _drivers_of(parts, self.jmap, outcome, reached, binary, min_journeys)

    def _moment_inputs(self) -> _moments.Inputs:
        seq = self.journeys.core.sequence
        stage_of = self.jmap.stage_of
        index_of = self.jmap.index_of
        symbol_of = pl.Series(
            [index_of[stage_of[t]] if t in stage_of else -1 for t in self.journeys.touchpoints],
            dtype=pl.Int64,
        )
        session = pl.col("_session")
        given = "session" in self.journeys.core.events.columns  # the log's session column
        inferred = self.journeys.options.session_gap is None and not given
        if inferred:
            # no sessions given: the usual web-analytics rule, so a return visit is not a step
            gap = pl.col("timestamp").diff().over(JOURNEY) > _moments.RETURN_GAP
            session = 1 + gap.fill_null(False).cum_sum().over(JOURNEY)
        events = seq.select(
            JOURNEY,
            "_pos",
            session.cast(pl.UInt32).alias("_session"),
            pl.col("touchpoint").cast(pl.String),
            lookup(symbol_of, pl.col("touchpoint").to_physical()).alias("symbol"),
        )
        return _moments.Inputs(
            events=events,
            deviations=self._deviations.select(
                JOURNEY, pl.col("kind").cast(pl.String), "position", "stage"
            ),
            stages=list(self.jmap.stage_names),
            stage_touchpoints={s.name: list(s.touchpoints) for s in self.jmap.stages},
            moves=self._map_moves,
            unit="sessions" if self.journeys.options.journey == "session" else "customers",
            n_journeys=self.journeys.n_journeys,
            sessions_inferred=inferred,
        )

    def perception_gap(self, score: str, outcome: str | None = None) -> pl.DataFrame:
        """Who answers surveys, and how their scores compare with behaviour.

        One row per group (``all``, ``conforms`` / ``deviates``, and the
        outcome's values if given) with ``customers``, ``answered`` (share with
        a score), ``mean_score`` of those who answered, ``fitness_answered`` and
        ``fitness_silent`` (mean fitness of those who answered and of those who
        stayed silent). Scores belong to customers, so every row counts
        customers: on session journeys a customer's fitness is the mean over
        its sessions, and it conforms when every session does.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> df = pl.DataFrame({"user": [1, 1, 2, 3], "ts": ["2024-01-01T10:00:00Z",
        ...     "2024-01-01T10:05:00Z", "2024-01-01T11:00:00Z", "2024-01-02T09:00:00Z"],
        ...     "event": ["search", "pay", "pay", "search"]})
        >>> log = jg.read_events(df, customer="user", timestamp="ts", touchpoint="event")
        >>> journeys = jg.mine(log)
        >>> survey = pl.DataFrame({"customer": [1, 2, 3], "nps": [9, 10, None]})
        >>> jmap = jg.JourneyMap.linear(["search", "pay"])
        >>> gap = jg.compare(journeys, jmap, customers=survey).perception_gap("nps")
        >>> gap.select("group", "customers", "answered", "mean_score").rows()
        [('all', 3, 0.6666666666666666, 9.5), ('conforms', 1, 1.0, 9.0), ('deviates', 2, 0.5, 10.0)]
        """
        sessions = self.journeys.options.journey == "session"
        return _gap_of(_gap_sums(self.customers, score, outcome, sessions=sessions))


def _summary_of(frame: pl.DataFrame, by: str | None) -> pl.DataFrame:
    """`Divergence.summary` of the ``customers`` rows in ``frame`` (also Spark's last step)."""
    aggs = [
        pl.len().alias("journeys"),
        pl.col("conforms").mean().alias("conformance"),
        pl.col("fitness").mean().alias("mean_fitness"),
        pl.col("fitness").quantile(0.25, "nearest").alias("fitness_q25"),
        pl.col("fitness").median().alias("fitness_median"),
        pl.col("fitness").quantile(0.75, "nearest").alias("fitness_q75"),
        *[(pl.col(k) > 0).mean().alias(k) for k in DEVIATIONS],
    ]
    if by is None:
        return frame.select(aggs)
    return frame.group_by(by).agg(aggs).sort(by, nulls_last=True)


def _drivers_kind(
    frame: pl.DataFrame,
    given: list[str],
    jmap: JourneyMap,
    touchpoints: list[str],
    outcome: str | None,
    reached: str | None,
) -> bool:
    """`Divergence.drivers`' checks of its arguments against the ``customers`` columns
    (``frame``: only its schema is read); whether the outcome is binary."""
    if (outcome is None) == (reached is None):
        msg = (
            "give one outcome: drivers('converted') for a customers column, or "
            "drivers(reached='purchase') for reaching a touchpoint or stage"
        )
        raise JourneygraphError(msg)
    if reached is not None:
        if reached not in set(jmap.stage_names) | set(touchpoints):
            msg = (
                f"reached={reached!r} is neither a stage of the map nor a touchpoint of "
                f"the journeys; stages: {jmap.stage_names}"
            )
            raise JourneygraphError(msg)
        return True
    assert outcome is not None
    return outcome_kind(frame, outcome, fix=_GIVE_TABLE, found=given) == "rate"


def _driver_counts(
    div: Divergence, outcome: str | None, reached: str | None
) -> dict[str, pl.DataFrame]:
    """The per-partition half of `Divergence.drivers` (`journeygraph._moments.counts`),
    after rolling session journeys up to their customers for a column outcome; its
    ``facts`` also count the sessions rolled up (``rolled``)."""
    inputs = div._moment_inputs()
    rolled = 0
    if reached is not None:
        parts = _moments.counts(inputs, outcome=None, reached=reached)
    else:
        assert outcome is not None
        codes = div.journeys.core.ids.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(JOURNEY), "journey", "customer", "session"
        )
        y = codes.join(
            div.customers.select("journey", pl.col(outcome).cast(pl.Float64).alias("_y")),
            on="journey",
        ).select(JOURNEY, "_y")
        if inputs.unit == "sessions":
            # the customer table is per customer: roll sessions up to their customers, so
            # each customer counts once and intervals are not too narrow
            owner = codes.select(
                JOURNEY,
                pl.col("customer").rank("dense").cast(pl.UInt32).alias("_owner"),
                pl.col("session").alias("_nth"),
            )
            inputs = _moments.by_customer(inputs, owner)
            y = y.join(owner, on=JOURNEY).group_by("_owner").agg(pl.col("_y").first())
            y = y.rename({"_owner": JOURNEY})
            rolled = len(owner)
        parts = _moments.counts(inputs, outcome=y, reached=None)
    facts = parts["facts"].with_columns(pl.lit(rolled, pl.Int64).alias("rolled"))
    return {**parts, "facts": facts}


def _drivers_of(
    parts: dict[str, pl.DataFrame],
    jmap: JourneyMap,
    outcome: str | None,
    reached: str | None,
    binary: bool,
    min_journeys: int,
) -> Moments:
    """The global half of `Divergence.drivers`, from `_driver_counts` (of all journeys,
    or of partitions concatenated)."""
    moments = _moments.drivers_of(
        parts,
        stages=list(jmap.stage_names),
        outcome_name=outcome,
        reached=reached,
        binary=binary,
        min_journeys=min_journeys,
    )
    facts = parts["facts"]
    rolled = int(facts.get_column("rolled").sum())
    if not rolled:
        return moments
    customers = int(facts.get_column("journeys").sum())
    note = (
        f"{outcome!r} belongs to customers: the {rolled:,} sessions were rolled "
        f"up to their {customers:,} customers (a customer has a feature when "
        "any of its sessions had it; exposure counts its sessions), so every "
        "number here counts customers."
    )
    return replace(moments, notes=(note, *moments.notes))


def _gap_sums(
    frame: pl.DataFrame, score: str, outcome: str | None, *, sessions: bool
) -> pl.DataFrame:
    """The counts and sums behind `Divergence.perception_gap`, per group, from ``customers``
    rows (checked): summable over partitions of whole customers, finished by `_gap_of`.

    Columns: ``_part`` (0 all, 1 conformance, 2 outcome), ``group``, ``customers``,
    ``answered`` (with a score) and the sums ``_score``, ``_fitness_answered``,
    ``_fitness_silent``.
    """
    score_column(frame, score)
    if outcome is not None and outcome not in frame.columns:
        msg = f"no column {outcome!r}{_GIVE_TABLE}; customers has {frame.columns}"
        raise JourneygraphError(msg)
    if sessions:
        per_customer = [c for c in (score, outcome) if c is not None]
        frame = frame.group_by("customer").agg(
            pl.col(per_customer).first(),
            pl.col("fitness").mean(),
            pl.col("conforms").all(),
        )
    answered = pl.col(score).is_not_null()
    fitness = pl.col("fitness").cast(pl.Float64)
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        answered.sum().cast(pl.Int64).alias("answered"),
        pl.col(score).cast(pl.Float64).sum().alias("_score"),
        fitness.filter(answered).sum().alias("_fitness_answered"),
        fitness.filter(~answered).sum().alias("_fitness_silent"),
    ]
    conformance = pl.when(pl.col("conforms")).then(pl.lit("conforms")).otherwise(pl.lit("deviates"))
    groups = [(1, conformance)]
    if outcome is not None:
        groups.append((2, pl.format(f"{outcome}={{}}", pl.col(outcome))))
    parts = [frame.select(pl.lit(0).alias("_part"), pl.lit("all").alias("group"), *aggs)]
    parts += [
        frame.group_by(key.alias("group")).agg(aggs).select(pl.lit(part).alias("_part"), pl.all())
        for part, key in groups
    ]
    return pl.concat(parts)


def _gap_of(sums: pl.DataFrame) -> pl.DataFrame:
    """`Divergence.perception_gap` from `_gap_sums` (of one frame, or of many added up)."""
    summed = (
        sums.group_by("_part", "group")
        .agg(pl.exclude("_part", "group").sum())
        .sort("_part", "group")
    )
    n, k = pl.col("customers"), pl.col("answered")
    return summed.select(
        "group",
        n.cast(pl.UInt32),
        (k / n).alias("answered"),
        pl.when(k > 0).then(pl.col("_score") / k).alias("mean_score"),
        pl.when(k > 0).then(pl.col("_fitness_answered") / k).alias("fitness_answered"),
        pl.when(n > k).then(pl.col("_fitness_silent") / (n - k)).alias("fitness_silent"),
    )


def _through_of(div: Divergence) -> pl.DataFrame:
    """Distinct journeys visiting each stage and each off-map touchpoint: ``symbol``
    (stage index, -1 off the map), ``touchpoint`` (off the map, else null), ``journeys``."""
    touchpoint = pl.when(pl.col("symbol") < 0).then(pl.col("touchpoint").cast(pl.String))
    key = pl.when(pl.col("symbol") >= 0).then(pl.col("symbol")).otherwise(-1)
    return (
        div._visits.group_by(key.cast(pl.Int64).alias("symbol"), touchpoint.alias("touchpoint"))
        .agg(pl.col(JOURNEY).n_unique().cast(pl.Int64).alias("journeys"))
        .sort("symbol", "touchpoint")
    )


def _overlay_graph_of(
    reach: pl.DataFrame, overlay: pl.DataFrame, through: pl.DataFrame, top_shadow: int
) -> nx.DiGraph[str]:
    """`Divergence.overlay_graph` from `stage_reach`, `overlay` and the journeys through
    each stage and off-map touchpoint (``Divergence._through``; summed over partitions
    on Spark)."""
    g: nx.DiGraph[str] = nx.DiGraph()
    counts: dict[int | str, int] = {
        (int(symbol) if symbol >= 0 else str(touchpoint)): int(n)
        for symbol, touchpoint, n in through.iter_rows()
    }
    for i, row in enumerate(reach.iter_rows(named=True)):
        stage = row.pop("stage")
        g.add_node(stage, kind="stage", index=i, **row, journeys=counts.get(i, 0))
    shadow = overlay.filter(pl.col("kind") == "shadow").head(top_shadow)
    for row in pl.concat([overlay.filter(pl.col("kind") == "map"), shadow]).iter_rows(named=True):
        for node in (row["source"], row["target"]):
            if node not in g:
                g.add_node(node, kind="off_map", journeys=counts.get(node, 0))
        g.add_edge(
            row["source"],
            row["target"],
            kind=row["kind"],
            journeys=row["journeys"],
            bypassed=row["bypassed"],
            used=row["journeys"] > 0,
        )
    return g


def _label(moves: list[Move], starts: set[int]) -> list[tuple[str, int, int | None]]:
    """Deviation labels of one aligned sequence: (kind, visit index, stage)."""
    syncs = [i for i, m in enumerate(moves) if m.kind == "sync"]
    first_sync = syncs[0] if syncs else len(moves)
    last_sync = syncs[-1] if syncs else -1
    visited = [m for m in moves if m.symbol is not None and m.symbol >= 0]
    wrong_entry = bool(visited) and visited[0].symbol not in starts
    out: list[tuple[str, int, int | None]] = []
    highest = -1
    for i, m in enumerate(moves):
        if m.kind == "sync":
            highest = max(highest, m.symbol or 0)
        elif m.kind == "log":
            if wrong_entry and m is visited[0]:
                continue  # the wrong entry itself, reported once below
            if m.symbol is None or m.symbol < 0:
                out.append(("off_map", m.position, None))
            elif m.symbol <= highest:
                out.append(("loop", m.position, m.symbol))
            else:
                out.append(("out_of_order", m.position, m.symbol))
        elif (i < first_sync and wrong_entry) or i > last_sync:
            continue  # part of the wrong entry or the early exit, each reported once below
        else:
            out.append(("skipped_stage", m.position, m.stage))
    if wrong_entry:
        out.append(("wrong_entry", visited[0].position, visited[0].symbol))
    if any(m.kind == "model" for m in moves[last_sync + 1 :]):
        n_visits = sum(m.kind != "model" for m in moves)
        if syncs:
            out.append(("early_exit", moves[last_sync].position, moves[last_sync].stage))
        else:
            out.append(("early_exit", max(n_visits - 1, 0), None))
    return sorted(out, key=lambda d: (d[1], d[0]))


_GIVE_TABLE = "; pass a customer table with it: jg.compare(journeys, jmap, customers=table)"


def _unvisited(
    jmap: JourneyMap, journeys: Journeys | SparkJourneys
) -> list[tuple[str, str | None]]:
    """Map touchpoints absent from the journeys, with a case-insensitive or close match."""
    seen = list(journeys.touchpoints)
    by_case = {t.casefold(): t for t in seen}
    out = []
    for stage in jmap.stages:
        for t in stage.touchpoints:
            if t in seen:
                continue
            close = difflib.get_close_matches(t, seen, n=1, cutoff=0.6)
            out.append((t, by_case.get(t.casefold()) or (close[0] if close else None)))
    return out


def _never_occurs(touchpoint: str, hint: str | None) -> str:
    guess = f"; did you mean {hint!r}?" if hint is not None else "."
    return f"map touchpoint {touchpoint!r} never occurs in the journeys{guess}"


def _check_map_against(jmap: JourneyMap, journeys: Journeys | SparkJourneys) -> None:
    """Raise when no map touchpoint occurs in the journeys: every number would be 0."""
    missing = _unvisited(jmap, journeys)
    owned = [t for stage in jmap.stages for t in stage.touchpoints]
    if len(missing) < len(owned):
        return
    hints = [f"{t!r} -> {h!r}" for t, h in missing if h is not None]
    guess = f"; closest names: {', '.join(hints[:8])}" if hints else ""
    msg = (
        f"none of the journey map's touchpoints occur in the journeys: the map has "
        f"{owned[:12]}, the journeys have {list(journeys.touchpoints)[:12]}{guess}. "
        "Fix the map's touchpoint names (they are case-sensitive) or rename the events: "
        "mine(..., rename={...})"
    )
    raise JourneygraphError(msg)


def _check_types(journeys: Any, jmap: Any) -> None:
    """TypeErrors that say what to pass instead of an AttributeError deep inside."""
    from .journeymap import JourneyMap

    spark = type(journeys).__name__ == "SparkJourneys"
    if not isinstance(journeys, Journeys) and not spark:
        log = isinstance(journeys, EventLog) or type(journeys).__name__ == "SparkEventLog"
        how = "jg.mine(log)" if log else "jg.mine(jg.read_events(...))"
        msg = f"compare() takes mined Journeys first, not a {type(journeys).__name__}; use {how}"
        raise TypeError(msg)
    if not isinstance(jmap, JourneyMap):
        how = "jg.JourneyMap.linear(...), .from_yaml(path) or .from_dict(...)"
        if isinstance(jmap, list | tuple):
            how = f"jg.JourneyMap.linear({list(jmap)!r}) (one stage per touchpoint)"
        elif isinstance(jmap, dict):
            how = "jg.JourneyMap.linear({stage: [touchpoints]}) or jg.JourneyMap.from_dict(...)"
        msg = f"compare() takes a JourneyMap, not a {type(jmap).__name__}; build one with {how}"
        raise TypeError(msg)


@overload
def compare(
    journeys: SparkJourneys,
    jmap: JourneyMap,
    *,
    strict: bool = False,
    customers: pl.DataFrame | None = None,
    customer: str | None = None,
) -> SparkDivergence: ...


@overload
def compare(
    journeys: Journeys,
    jmap: JourneyMap,
    *,
    strict: bool = False,
    customers: pl.DataFrame | EventLog | None = None,
    customer: str | None = None,
) -> Divergence: ...


def compare(
    journeys: Journeys | SparkJourneys,
    jmap: JourneyMap,
    *,
    strict: bool = False,
    customers: pl.DataFrame | EventLog | None = None,
    customer: str | None = None,
) -> Divergence | SparkDivergence:
    """Align every journey with the journey map and label each divergence.

    Parameters
    ----------
    journeys
        Mined journeys (:func:`journeygraph.mine`).
    jmap
        The company's journey map.
    strict
        Align every event on its own instead of stage visits.
    customers
        Optional customer table (a ``customer`` column plus outcomes, survey
        scores, segments) joined into ``Divergence.customers``. Or the
        `EventLog` itself: then each event attribute gives the customer's last
        non-null value in time order (an outcome logged on the final event).
        One row per customer; ids are cast to the events' id type when that
        changes no id.
    customer
        The customer table's id column, when it is not called ``customer``.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> jmap = jg.JourneyMap.linear({"Explore": ["search", "product"], "Buy": ["cart", "pay"]})
    >>> df = pl.DataFrame({"user": [1, 1, 1, 2, 2, 2], "ts": [1, 2, 3, 1, 2, 3],
    ...                    "event": ["search", "product", "pay", "cart", "chat", "pay"]})
    >>> journeys = jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))
    >>> div = jg.compare(journeys, jmap)
    >>> div.customers.select("journey", "cost", "fitness", "conforms").rows()
    [(1, 0, 1.0, True), (2, 3, 0.4, False)]
    >>> for row in div.deviations.select("journey", "kind", "position", "stage").rows():
    ...     print(row)
    (2, 'wrong_entry', 0, 'Buy')
    (2, 'off_map', 1, None)
    (2, 'loop', 2, 'Buy')
    """
    if type(journeys).__name__ == "SparkJourneys":  # the same work per customer partition
        from . import _spark  # imports pyspark only now

        assert isinstance(journeys, _spark.SparkJourneys)
        _check_types(journeys, jmap)
        _check_map_against(jmap, journeys)
        if isinstance(customers, EventLog):
            msg = "on Spark journeys customers= takes a polars DataFrame (one row per customer)"
            raise JourneygraphError(msg)
        table = customer_table(customers, ids=journeys.id_type, customer=customer)
        notes = [_never_occurs(t, hint) for t, hint in _unvisited(jmap, journeys)]
        code = _spark.CompareCode(
            align=_divergence,
            summary=_summary_of,
            through=_through_of,
            graph=_overlay_graph_of,
            gap_sums=_gap_sums,
            gap=_gap_of,
            drivers_kind=_drivers_kind,
            driver_counts=_driver_counts,
            drivers_of=_drivers_of,
        )
        found = _spark.compare(journeys, jmap, strict, table, notes, code)
        for message in found.map_warnings:
            warnings.warn(message, MapWarning, stacklevel=2)
        return found
    _check_types(journeys, jmap)
    assert isinstance(journeys, Journeys)  # _check_types raised otherwise
    _check_map_against(jmap, journeys)
    table = customer_table(customers, ids=journeys.core.id_type, customer=customer)
    div = _divergence(journeys, jmap, strict=strict, table=table)
    for message in div.map_warnings:
        warnings.warn(message, MapWarning, stacklevel=2)
    return div


def _divergence(
    journeys: Journeys, jmap: JourneyMap, *, strict: bool, table: pl.DataFrame | None
) -> Divergence:
    """The alignment behind `compare`, without its checks and warnings (a Spark partition
    may miss every map touchpoint)."""
    stage_of = jmap.stage_of
    index_of = jmap.index_of
    automaton = Automaton(
        len(jmap.stages),
        [(index_of[a], index_of[b]) for a, b in jmap.moves],
        [index_of[s] for s in jmap.start_stages],
        [index_of[s] for s in jmap.end_stages],
    )
    symbol_of = np.array(
        [index_of[stage_of[t]] if t in stage_of else -1 for t in journeys.touchpoints],
        dtype=np.int64,
    )
    seq = journeys.core.sequence.select(JOURNEY, "touchpoint", "timestamp", "_pos")
    symbol = lookup(pl.Series(symbol_of), pl.col("touchpoint").to_physical())
    code = pl.col("touchpoint").to_physical().cast(pl.Int64)
    seq = seq.with_columns(symbol.alias("symbol"))
    if strict:
        starts = pl.lit(True)
    else:
        key = pl.when(pl.col("symbol") >= 0).then(pl.col("symbol")).otherwise(-1 - code)
        starts = (pl.col(JOURNEY) != pl.col(JOURNEY).shift(1)) | (key != key.shift(1))
        starts = starts.fill_null(True)
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    first_row = (
        pl.when(pl.col(JOURNEY) != pl.col(JOURNEY).shift(1)).then(row).forward_fill().fill_null(0)
    )
    visits = (
        seq.filter(starts)
        .with_columns((row - first_row).alias("_visit"))
        .select(
            JOURNEY,
            "_visit",
            "symbol",
            "touchpoint",
            pl.col("timestamp").alias("time"),
            pl.col("_pos").alias("position"),
        )
    )
    per_journey = visits.group_by(JOURNEY, maintain_order=True).agg(
        pl.col("symbol").alias("_symbols")
    )
    distinct = per_journey.group_by("_symbols", maintain_order=True).agg(pl.col(JOURNEY))
    distinct = distinct.with_row_index("_seq")
    sequences = (
        distinct.explode(JOURNEY)
        .select(JOURNEY, "_seq", pl.col("_symbols").list.len().alias("length"))
        .sort(JOURNEY)
    )
    costs, moves = align(automaton, distinct.get_column("_symbols").to_list())
    return Divergence(
        journeys,
        jmap,
        strict=strict,
        visits=visits,
        sequences=sequences,
        costs=costs,
        moves=moves,
        shortest=automaton.shortest_word,
        customers=table,
    )
