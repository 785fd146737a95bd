"""The company's idealised journey map: `JourneyMap` of ordered `Stage` objects.

A journey map has ordered **stages**; each stage has a name and the
**touchpoints** that belong to it (a touchpoint belongs to at most one stage). A
stage may be **optional**. The map also lists the **extra transitions** between
stages that the company accepts (loops back, branches, skips), the **start** and
**end** stages, and optional **SLA** times (``max_time``).

Rules (also in docs/journeymap.md), for stages ``0..n-1`` in map order:

* **moves**: from stage ``i`` to stage ``i + 1`` (kind ``"next"``); from ``i`` to
  ``j > i + 1`` when every stage strictly between them is optional (kind
  ``"skip"``); and every pair listed in ``transitions`` (kind ``"extra"``, unless
  it already is a default move). A pair ``(s, s)`` allows repeating stage ``s``.
* **start stages**: ``start`` if given; otherwise the first stage and every stage
  all of whose predecessors are optional.
* **end stages**: ``end`` if given; otherwise the last stage and every stage all of
  whose followers are optional.
* **language**: the sequences of stage names along a path of moves (at least one
  stage; stages may repeat when transitions allow loops) that begins at a start
  stage and finishes at an end stage.

Maps are frozen pydantic models with ``extra="forbid"``: a misspelled key is an
error. Build them with `JourneyMap.linear`, `JourneyMap.from_yaml`,
`JourneyMap.from_json`, `JourneyMap.from_dict` or `JourneyMap.from_journeys`;
these raise `JourneygraphError` with a message naming the offending stage,
touchpoint or key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import itertools
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import networkx as nx
import polars as pl
import pydantic
import yaml
from pydantic import (
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ._align import distances
from ._errors import JourneygraphError
from .schema import DURATION_RE, Frozen, parse_duration

if TYPE_CHECKING:
    from ._spark import SparkJourneys
    from .mine import Journeys

__all__ = ["JourneyMap", "Stage", "format_duration"]

Duration = str | dt.timedelta | int | float
MoveKind = Literal["next", "skip", "extra"]

_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DURATION_RE.pattern},
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "null"},
    ],
    "default": None,
}
# units used when writing a duration, largest first (in microseconds)
_WRITE_UNITS: tuple[tuple[str, int], ...] = (
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
)


def format_duration(value: dt.timedelta) -> str:
    """Write a duration the way `parse_duration` reads it, e.g. ``"30m"``, ``"2d"``.

    The largest of ``d``, ``h``, ``m``, ``s`` and ``ms`` that divides the duration
    exactly is used; other durations are written as seconds with six decimals.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeygraph.journeymap import format_duration
    >>> format_duration(dt.timedelta(hours=36)), format_duration(dt.timedelta(seconds=1.5))
    ('36h', '1500ms')
    """
    micros = value // dt.timedelta(microseconds=1)
    for unit, size in _WRITE_UNITS:
        if micros % size == 0:
            return f"{micros // size}{unit}"
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}s"


class Stage(Frozen):
    """One stage of a journey map: a name and the touchpoints that belong to it.

    Attributes
    ----------
    name : str
        The stage's name; not empty, unique in its map.
    touchpoints : tuple[str, ...]
        The touchpoints (event names) of the stage: at least one, no duplicates.
    optional : bool
        Whether journeys may skip the stage (see `JourneyMap`). Default ``False``.
    max_time : datetime.timedelta | None
        SLA: the expected maximum time from entering this stage to entering the
        next stage. Given as ``"30m"``, ``"1.5h"``, ``"2d"``, ``"500ms"``, a number
        of seconds or a ``timedelta``; written back as such a string.

    Examples
    --------
    >>> from journeygraph.journeymap import Stage
    >>> Stage(name="Explore", touchpoints=["product_view", "compare"], max_time="2d")
    Stage(name='Explore', touchpoints=('product_view', 'compare'), optional=False,
          max_time=datetime.timedelta(days=2))
    """

    model_config = pydantic.ConfigDict(
        json_schema_extra={"description": "One stage of a journey map."}
    )

    name: str = Field(
        description="The stage's name; unique in the map, not empty.",
        json_schema_extra={"minLength": 1},
    )
    touchpoints: tuple[str, ...] = Field(
        description=(
            "The touchpoints (event names) that belong to this stage: at least one, no "
            "duplicates; a touchpoint belongs to at most one stage of the map."
        ),
        json_schema_extra={"minItems": 1, "items": {"type": "string", "minLength": 1}},
    )
    optional: bool = Field(
        default=False,
        description=(
            "Whether customers may skip this stage: a journey may go from a stage before "
            "it straight to the stage after it."
        ),
    )
    max_time: Annotated[
        dt.timedelta | None,
        PlainSerializer(format_duration, when_used="json-unless-none"),
        WithJsonSchema(_DURATION_SCHEMA),
    ] = Field(
        default=None,
        description=(
            "SLA: the expected maximum time from entering this stage to entering the next "
            "stage, written like '30m', '1.5h', '2d', '500ms' or a number of seconds."
        ),
    )

    @field_validator("max_time", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> dt.timedelta | None:
        return None if value is None else parse_duration(value, name="max_time")

    @model_validator(mode="after")
    def _check(self) -> Stage:
        if not self.name.strip():
            msg = f"a stage name must not be empty (got {self.name!r})"
            raise ValueError(msg)
        if not self.touchpoints:
            msg = f"stage {self.name!r} has no touchpoints; list at least one"
            raise ValueError(msg)
        seen: set[str] = set()
        for touchpoint in self.touchpoints:
            if not touchpoint.strip():
                msg = f"stage {self.name!r} has an empty touchpoint name ({touchpoint!r})"
                raise ValueError(msg)
            if touchpoint in seen:
                msg = f"stage {self.name!r} lists touchpoint {touchpoint!r} twice"
                raise ValueError(msg)
            seen.add(touchpoint)
        return self


@dataclass(frozen=True)
class _Plan:
    """The map's moves as stage indices; computed once when a map is validated."""

    names: tuple[str, ...]
    index: dict[str, int]
    stage_of: dict[str, str]
    successors: tuple[tuple[int, ...], ...]  # by stage index, sorted
    kinds: dict[tuple[int, int], MoveKind]  # every move and its kind
    starts: tuple[int, ...]  # sorted
    ends: tuple[int, ...]  # sorted


def _make_plan(m: JourneyMap) -> _Plan:
    stages = m.stages
    n = len(stages)
    names = tuple(s.name for s in stages)
    index = {name: i for i, name in enumerate(names)}
    kinds: dict[tuple[int, int], MoveKind] = {}
    for i in range(n - 1):
        kinds[i, i + 1] = "next"
        j = i + 1
        while j < n - 1 and stages[j].optional:  # every stage strictly before j + 1 is optional
            kinds[i, j + 1] = "skip"
            j += 1
    for source, target in m.transitions:
        kinds.setdefault((index[source], index[target]), "extra")
    successors: list[list[int]] = [[] for _ in range(n)]
    for a, b in sorted(kinds):
        successors[a].append(b)
    if m.start:
        starts = sorted({index[s] for s in m.start})
    else:
        starts = [0]
        while starts[-1] < n - 1 and stages[starts[-1]].optional:
            starts.append(starts[-1] + 1)
    if m.end:
        ends = sorted({index[s] for s in m.end})
    else:
        ends = [n - 1]
        while ends[-1] > 0 and stages[ends[-1]].optional:
            ends.append(ends[-1] - 1)
        ends.reverse()
    return _Plan(
        names=names,
        index=index,
        stage_of={t: s.name for s in stages for t in s.touchpoints},
        successors=tuple(tuple(x) for x in successors),
        kinds=dict(sorted(kinds.items())),
        starts=tuple(starts),
        ends=tuple(ends),
    )


def _unknown(what: str, name: str, names: Sequence[str]) -> str:
    """Message for a name that is not a stage, suggesting close matches."""
    lowered = {n.lower(): n for n in reversed(names)}  # the first of equal names wins
    close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"{what} names unknown stage {name!r}{hint} (stages: {', '.join(names)})"


class JourneyMap(Frozen):
    """The company's idealised journey map: ordered stages, allowed moves, start and end.

    **Moves.** From each stage to the next one (``"next"``); from stage ``i`` over
    to stage ``j > i + 1`` when every stage strictly between is optional
    (``"skip"``); and every pair in ``transitions`` (``"extra"``). A transition
    ``(s, s)`` allows repeating stage ``s``; one to an earlier stage allows a loop.

    **Start and end.** Without ``start``, the start stages are the first stage
    and every stage whose predecessors are all optional; without ``end``, the end
    stages are the last stage and every stage whose followers are all optional.
    An explicit ``start`` / ``end`` replaces these defaults.

    **Language.** The sequences of stage names along a path of moves from a start
    stage to an end stage: at least one stage, repeats only where transitions
    allow loops.

    Attributes
    ----------
    stages : tuple[Stage, ...]
        The stages in journey order; at least one, names unique, every touchpoint
        in at most one stage.
    transitions : tuple[tuple[str, str], ...]
        Extra allowed moves ``(from_stage, to_stage)``. Default: none.
    start, end : tuple[str, ...]
        Allowed first / last stages; empty means the defaults above.

    Build maps with `linear`, `from_yaml`, `from_json`, `from_dict` or
    `from_journeys`; they raise `JourneygraphError` for invalid input.
    Constructing ``JourneyMap(...)`` directly raises pydantic's
    ``ValidationError`` (also a ``ValueError``) instead.

    Examples
    --------
    >>> from journeygraph.journeymap import JourneyMap
    >>> m = JourneyMap.linear(
    ...     {"Discover": ["ad_click", "search"], "Explore": ["product_view"], "Buy": ["purchase"]},
    ...     optional=["Explore"], transitions=[("Explore", "Discover")])
    >>> m.moves
    (('Discover', 'Explore'), ('Discover', 'Buy'), ('Explore', 'Discover'), ('Explore', 'Buy'))
    >>> m.stage_of["search"], m.successors("Explore"), m.shortest_path()
    ('Discover', ('Discover', 'Buy'), ('Discover', 'Buy'))
    >>> print(m.to_yaml(), end="")
    stages:
    - name: Discover
      touchpoints: [ad_click, search]
    - name: Explore
      touchpoints: [product_view]
      optional: true
    - name: Buy
      touchpoints: [purchase]
    transitions:
    - [Explore, Discover]
    """

    model_config = pydantic.ConfigDict(
        title="JourneyMap",
        json_schema_extra={
            "description": (
                "A journey map: ordered stages with their touchpoints, the extra transitions "
                "the company accepts, and the start and end stages (journeygraph)."
            )
        },
    )

    stages: tuple[Stage, ...] = Field(
        description="The stages in journey order; at least one, names unique.",
        json_schema_extra={"minItems": 1},
    )
    transitions: tuple[tuple[str, str], ...] = Field(
        default=(),
        description=(
            "Extra allowed moves [from_stage, to_stage] besides going to the next stage and "
            "skipping optional stages: loops back, branches, skips. [s, s] allows repeating s."
        ),
    )
    start: tuple[str, ...] = Field(
        default=(),
        description=(
            "Stages a journey may begin in. Default: the first stage and every stage whose "
            "predecessors are all optional."
        ),
    )
    end: tuple[str, ...] = Field(
        default=(),
        description=(
            "Stages a journey may finish in. Default: the last stage and every stage whose "
            "followers are all optional."
        ),
    )

    _plan: _Plan | None = PrivateAttr(default=None)

    @field_validator("stages", mode="after")
    @classmethod
    def _not_empty(cls, stages: tuple[Stage, ...]) -> tuple[Stage, ...]:
        if not stages:
            msg = "a journey map needs at least one stage"
            raise ValueError(msg)
        return stages

    @model_validator(mode="before")
    @classmethod
    def _pairs(cls, data: Any) -> Any:
        value = data.get("transitions") if isinstance(data, Mapping) else None
        if isinstance(value, list | tuple):
            for k, pair in enumerate(value):
                if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                    msg = f"transitions[{k}] = {pair!r} is not a pair [from_stage, to_stage]"
                    raise ValueError(msg)
        return data

    @model_validator(mode="after")
    def _check(self) -> JourneyMap:
        owner: dict[str, str] = {}
        position: dict[str, int] = {}
        for i, stage in enumerate(self.stages):
            if stage.name in position:
                msg = (
                    f"stage name {stage.name!r} is used twice "
                    f"(stages[{position[stage.name]}] and stages[{i}])"
                )
                raise ValueError(msg)
            position[stage.name] = i
            for touchpoint in stage.touchpoints:
                if touchpoint in owner:
                    msg = (
                        f"touchpoint {touchpoint!r} is in two stages, {owner[touchpoint]!r} "
                        f"and {stage.name!r}; a touchpoint belongs to at most one stage"
                    )
                    raise ValueError(msg)
                owner[touchpoint] = stage.name
        names = list(position)
        for k, pair in enumerate(self.transitions):
            for name in pair:
                if name not in position:
                    raise ValueError(_unknown(f"transitions[{k}] {list(pair)}", name, names))
        for key, listed in (("start", self.start), ("end", self.end)):
            for name in listed:
                if name not in position:
                    raise ValueError(_unknown(key, name, names))
        plan = _make_plan(self)
        reached = distances(plan.successors, plan.starts)
        for e in plan.ends:
            if e not in reached:
                starts = [plan.names[s] for s in plan.starts]
                msg = (
                    f"end stage {plan.names[e]!r} cannot be reached from any start stage "
                    f"{starts}; add a transition to it or change start/end"
                )
                raise ValueError(msg)
        self._plan = plan
        return self

    @property
    def _p(self) -> _Plan:
        if self._plan is None:  # built without validation (model_construct)
            self._plan = _make_plan(self)
        return self._plan

    # ------------------------------------------------------------- lookups
    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stage names, in map order."""
        return self._p.names

    @property
    def stage_of(self) -> dict[str, str]:
        """Touchpoint → the name of its stage (a new dict on each access)."""
        return dict(self._p.stage_of)

    @property
    def index_of(self) -> dict[str, int]:
        """Stage name → its 0-based position in the map (a new dict on each access)."""
        return dict(self._p.index)

    @property
    def start_stages(self) -> tuple[str, ...]:
        """The stages a journey may begin in (``start`` or the default), in map order.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> m = JourneyMap.linear(["ad", "home", "buy", "review"], optional=["ad", "review"])
        >>> m.start_stages, m.end_stages
        (('ad', 'home'), ('buy', 'review'))
        """
        return tuple(self._p.names[i] for i in self._p.starts)

    @property
    def end_stages(self) -> tuple[str, ...]:
        """The stages a journey may finish in (``end`` or the default), in map order."""
        return tuple(self._p.names[i] for i in self._p.ends)

    def successors(self, stage: str) -> tuple[str, ...]:
        """The stages a journey may move to from ``stage``, in map order.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> m = JourneyMap.linear(["a", "b", "c"], optional=["b"], transitions=[("b", "b")])
        >>> m.successors("a"), m.successors("b"), m.successors("c")
        (('b', 'c'), ('b', 'c'), ())
        """
        if stage not in self._p.index:
            raise JourneygraphError(_unknown("successors()", stage, self._p.names))
        return tuple(self._p.names[j] for j in self._p.successors[self._p.index[stage]])

    @property
    def moves(self) -> tuple[tuple[str, str], ...]:
        """Every allowed move ``(from_stage, to_stage)``, sorted by the stages' positions."""
        names = self._p.names
        return tuple((names[a], names[b]) for a, b in self._p.kinds)

    def move_kind(self, source: str, target: str) -> MoveKind | None:
        """``"next"``, ``"skip"`` or ``"extra"`` for an allowed move, else ``None``.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> m = JourneyMap.linear(["a", "b", "c"], optional=["b"], transitions=[("c", "a")])
        >>> [m.move_kind(*move) for move in [("a", "b"), ("a", "c"), ("c", "a"), ("b", "a")]]
        ['next', 'skip', 'extra', None]
        """
        index = self._p.index
        for name in (source, target):
            if name not in index:
                raise JourneygraphError(_unknown("move_kind()", name, self._p.names))
        return self._p.kinds.get((index[source], index[target]))

    def accepts(self, stages: Sequence[str]) -> bool:
        """Whether a sequence of stage names is in the map's language.

        It is when it is not empty, begins at a start stage, finishes at an end stage
        and every step is an allowed move. Unknown names are not accepted.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> m = JourneyMap.linear(["a", "b", "c"], optional=["b"])
        >>> m.accepts(["a", "c"]), m.accepts(["a", "b", "c"]), m.accepts(["b", "c"])
        (True, True, False)
        """
        if isinstance(stages, str):
            stages = [stages]
        index = self._p.index
        if not stages or any(s not in index for s in stages):
            return False
        path = [index[s] for s in stages]
        return (
            path[0] in self._p.starts
            and path[-1] in self._p.ends
            and all(move in self._p.kinds for move in itertools.pairwise(path))
        )

    def shortest_path(self) -> tuple[str, ...]:
        """A shortest sequence of the map's language (fewest stage visits).

        Among the shortest sequences it returns the one whose stage positions are
        lexicographically smallest (earliest start stage, then earliest next stage,
        and so on), so the result is deterministic.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> JourneyMap.linear(["a", "b", "c", "d"], optional=["b", "c"]).shortest_path()
        ('a', 'd')
        """
        plan = self._p
        # tail[q]: fewest moves from stage q to an end stage
        predecessors: list[list[int]] = [[] for _ in plan.names]
        for a, b in plan.kinds:
            predecessors[b].append(a)
        tail = distances(predecessors, plan.ends)
        q = min(plan.starts, key=lambda s: (tail.get(s, len(plan.names)), s))
        path = [q]
        while tail[q] > 0:
            q = next(b for b in plan.successors[q] if tail.get(b) == tail[q] - 1)
            path.append(q)
        return tuple(plan.names[i] for i in path)

    def graph(self) -> nx.DiGraph[str]:
        """The map as a ``networkx.DiGraph``: stages are nodes, moves are edges.

        Node attributes: ``index``, ``touchpoints``, ``optional``, ``max_time``,
        ``start`` and ``end`` (whether it is a start / end stage). Edge attribute:
        ``kind``, one of ``"next"``, ``"skip"``, ``"extra"``.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> g = JourneyMap.linear(["a", "b", "c"], optional=["b"]).graph()
        >>> sorted(g.edges(data="kind"))
        [('a', 'b', 'next'), ('a', 'c', 'skip'), ('b', 'c', 'next')]
        >>> g.nodes["b"]
        {'index': 1, 'touchpoints': ('b',), 'optional': True, 'max_time': None,
         'start': False, 'end': False}
        """
        plan = self._p
        g: nx.DiGraph[str] = nx.DiGraph()
        for i, stage in enumerate(self.stages):
            g.add_node(
                stage.name,
                index=i,
                touchpoints=stage.touchpoints,
                optional=stage.optional,
                max_time=stage.max_time,
                start=i in plan.starts,
                end=i in plan.ends,
            )
        for (a, b), kind in plan.kinds.items():
            g.add_edge(plan.names[a], plan.names[b], kind=kind)
        return g

    # -------------------------------------------------------- construction
    @classmethod
    def linear(
        cls,
        stages: Mapping[str, str | Sequence[str]] | Sequence[str],
        *,
        optional: Iterable[str] = (),
        transitions: Iterable[Sequence[str]] = (),
        start: Iterable[str] = (),
        end: Iterable[str] = (),
        max_time: Mapping[str, Duration] | None = None,
    ) -> JourneyMap:
        """Build the common map: stages in order, some optional, a few extra transitions.

        Parameters
        ----------
        stages
            A mapping stage name → its touchpoints (a list, or one string for a single
            touchpoint), in journey order; or a sequence of names, each both a stage
            and its only touchpoint.
        optional
            Names of the optional stages.
        transitions
            Extra allowed moves ``(from_stage, to_stage)``.
        start, end
            Stages a journey may begin / finish in (default: see `JourneyMap`).
        max_time
            Stage name → SLA duration (``"30m"``, ``"2d"``, seconds, a ``timedelta``).

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> m = JourneyMap.linear({"Discover": ["ad_click", "search"], "Buy": "purchase"},
        ...                       max_time={"Discover": "2d"})
        >>> [(s.name, s.touchpoints, s.max_time) for s in m.stages]
        [('Discover', ('ad_click', 'search'), datetime.timedelta(days=2)),
         ('Buy', ('purchase',), None)]
        """
        if isinstance(stages, str):
            msg = f"stages={stages!r} is one string; pass a list of stage names or a mapping"
            raise JourneygraphError(msg)
        if isinstance(stages, Mapping):
            pairs = [
                (name, [tps] if isinstance(tps, str) else list(tps)) for name, tps in stages.items()
            ]
        else:
            pairs = [(name, [name]) for name in stages]
        names = [name for name, _ in pairs]
        optional = _names(optional)
        sla = dict(max_time or {})
        for key, listed in (("optional", optional), ("max_time", list(sla))):
            for name in listed:
                if name not in names:
                    problem = _unknown(key, name, [str(n) for n in names])
                    raise JourneygraphError(f"invalid journey map: {problem}")
        data = {
            "stages": [
                {
                    "name": name,
                    "touchpoints": tps,
                    "optional": name in optional,
                    "max_time": sla.get(name),
                }
                for name, tps in pairs
            ],
            "transitions": [list(t) for t in transitions],
            "start": _names(start),
            "end": _names(end),
        }
        return _validate(data, "")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JourneyMap:
        """Build a map from a dict shaped like `to_dict`'s output (e.g. loaded YAML).

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> JourneyMap.from_dict({"stages": [{"name": "Buy", "touchpoints": ["purchase"]}]})
        JourneyMap(stages=(Stage(name='Buy', touchpoints=('purchase',), optional=False,
                   max_time=None),), transitions=(), start=(), end=())
        """
        return _validate(data, "")

    def to_dict(self) -> dict[str, Any]:
        """The map as plain JSON-compatible data (lists, strings), defaults left out.

        Durations are written as strings like ``"30m"``; ``from_dict`` reads the
        result back into an equal map.
        """
        out: dict[str, Any] = self.model_dump(mode="json", exclude_defaults=True)
        return out

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> JourneyMap:
        """Read a map from JSON text, or from a JSON file.

        ``source`` is read as a file when it is a path object or a string naming an
        existing file; otherwise it is parsed as JSON text.
        """
        text, origin = _read(source)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"invalid journey map{origin}: not valid JSON: {exc}"
            raise JourneygraphError(msg) from None
        return _validate(data, origin)

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """The map as JSON text (see `to_dict`); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> JourneyMap:
        """Read a map from YAML text, or from a YAML file.

        ``source`` is read as a file when it is a path object or a string naming an
        existing file; otherwise it is parsed as YAML text.

        Examples
        --------
        >>> from journeygraph.journeymap import JourneyMap
        >>> m = JourneyMap.from_yaml('''
        ... stages:
        ...   - name: Discover
        ...     touchpoints: [ad_click, search]
        ...   - name: Explore
        ...     touchpoints: [product_view, compare]
        ...     optional: true
        ...     max_time: 2d
        ...   - name: Buy
        ...     touchpoints: [purchase]
        ... transitions: [[Explore, Discover]]
        ... ''')
        >>> m.start_stages, m.end_stages, m.stages[1].max_time
        (('Discover',), ('Buy',), datetime.timedelta(days=2))
        """
        text, origin = _read(source)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            msg = f"invalid journey map{origin}: not valid YAML: {exc}"
            raise JourneygraphError(msg) from None
        return _validate(data, origin)

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        """The map as readable YAML text (see `to_dict`); also written to ``path`` if given."""
        text = yaml.safe_dump(
            self.to_dict(), sort_keys=False, default_flow_style=None, allow_unicode=True
        )
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_journeys(
        cls,
        journeys: Journeys | SparkJourneys,
        *,
        min_share: float = 0.05,
        max_stages: int = 8,
        reached: str | None = None,
    ) -> JourneyMap:
        """Propose a map from the whole population, for teams that do not have one yet.

        The result is a starting point to edit, not a finished map:

        1. The **common touchpoints** are those visited in at least ``min_share``
           of the journeys.
        2. They are ordered by **precedence**: a touchpoint's place is the share
           of its pairings with other common touchpoints, over the journeys
           visiting both, in which the other one was visited first (0 = always
           first, 1 = always last). It compares touchpoints where customers meet
           both, so a page visited late in long journeys does not land after
           the pages it leads to. Ties (and a touchpoint never visited with
           another common one) are ordered by the median, over the journeys
           that visit it, of its first position relative to the journey's
           length, then by the mean, then by name.
        3. In that order they are grouped into at most ``max_stages`` stages,
           cut at the widest gaps between consecutive places. A stage is
           named after its most visited touchpoint; it is optional when fewer
           than half of the journeys visit it.
        4. With ``reached`` (a touchpoint), the map ends there: it is the last
           stage on its own, required, and touchpoints that typically come after
           it are left out. The **way to it** counts as common too: a touchpoint
           that at least half of the journeys reaching it visit before it is
           kept, however rare, so the map shows how customers get to the goal.

        Touchpoints keep their names, so with ``by_channel=True`` a touchpoint is
        a ``"channel:touchpoint"``. The result is deterministic.

        Spark journeys (``jg.mine(spark_log)``) give the same map: each partition's
        journeys are counted by `position_counts`, `precedence_counts` and (for step
        3) `journeys_visiting`, and the counts added up in Spark; the placement is
        made from the summed counts by the same code as locally.

        Examples
        --------
        >>> import polars as pl
        >>> import journeygraph as jg
        >>> from journeygraph.journeymap import JourneyMap
        >>> df = pl.DataFrame({"user": [1, 1, 1, 2, 2, 3, 3, 3],
        ...                    "ts": [1, 2, 3, 1, 2, 1, 2, 3],
        ...                    "event": ["home", "home", "buy", "home", "buy",
        ...                              "home", "help", "buy"]})
        >>> journeys = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
        ...                                   touchpoint="event"))
        >>> m = JourneyMap.from_journeys(journeys)
        >>> [(s.name, s.optional) for s in m.stages]
        [('home', False), ('help', True), ('buy', False)]
        >>> two = JourneyMap.from_journeys(journeys, max_stages=2)
        >>> [(s.name, s.touchpoints) for s in two.stages]
        [('home', ('home',)), ('buy', ('help', 'buy'))]
        """
        if isinstance(min_share, bool) or not 0 < min_share <= 1:
            msg = f"min_share={min_share!r} must be a share of journeys in (0, 1]"
            raise JourneygraphError(msg)
        least = 1 if reached is None else 2
        if isinstance(max_stages, bool) or not isinstance(max_stages, int) or max_stages < least:
            msg = f"max_stages={max_stages!r} must be a whole number >= {least}"
            raise JourneygraphError(msg)
        n = journeys.n_journeys
        if reached is not None and reached not in {str(t) for t in journeys.touchpoints}:
            msg = f"reached={reached!r} is not a touchpoint of the journeys"
            raise JourneygraphError(msg)
        if type(journeys).__name__ == "SparkJourneys":  # counted per partition, finished here
            from . import _spark  # imports pyspark only now

            assert isinstance(journeys, _spark.SparkJourneys)
            spark = journeys

            def tally(work: Counting, tables: Names, keys: Names) -> pl.DataFrame:
                return _spark.table_sums(spark, work, tables, keys)

        else:
            from .mine import Journeys

            assert isinstance(journeys, Journeys)
            local = journeys

            def tally(work: Counting, tables: Names, keys: Names) -> pl.DataFrame:
                return work(*[getattr(local, t) for t in tables])  # one set: nothing to add up

        # every count is made by the same function of the per-journey tables, on the
        # journeys here or on each Spark partition (then summed by its keys)
        placed = _placed(tally(position_counts, ("nodes", "stats"), POSITION_KEYS))
        nodes, by_touchpoint = ("nodes",), ("touchpoint",)
        common = pl.col("journeys") / n >= min_share
        if reached is not None:
            reaching = placed.filter(pl.col("touchpoint") == reached).item(0, "journeys")
            found = tally(functools.partial(journeys_before, reached=reached), nodes, by_touchpoint)
            way = found.filter(2 * pl.col("journeys") >= reaching).get_column("touchpoint")
            common |= pl.col("touchpoint").is_in([reached, *way])
        placed = placed.filter(common)
        ranks = functools.partial(
            precedence_counts, common=placed.get_column("touchpoint").to_list()
        )
        rows = _in_order(placed, tally(ranks, nodes, by_touchpoint))
        if reached is not None:
            rows = rows[: [r["touchpoint"] for r in rows].index(reached)]
        groups = _cut_at_gaps(rows, max_stages - (reached is not None))
        names = [[r["touchpoint"] for r in group] for group in groups]
        visiting = functools.partial(journeys_visiting, groups=names)
        visits = dict(tally(visiting, nodes, ("group",)).iter_rows())
        stages = []
        for g, group in enumerate(groups):
            name = min(group, key=lambda r: (-r["journeys"], r["touchpoint"]))["touchpoint"]
            share = visits.get(g, 0) / n
            stages.append({"name": name, "touchpoints": names[g], "optional": share < 0.5})
        if reached is not None:
            stages.append({"name": reached, "touchpoints": [reached], "optional": False})
        return _validate({"stages": stages}, " (proposed from journeys)")


# the keys of `position_counts`: its ``journeys`` add up over disjoint sets of journeys
POSITION_KEYS = ("touchpoint", "first_position", "span")
Names = tuple[str, ...]
Counting = Callable[..., pl.DataFrame]  # counts of some journeys' per-journey tables


def position_counts(nodes: pl.DataFrame, stats: pl.DataFrame) -> pl.DataFrame:
    """How many journeys first visit each touchpoint at each place: one row per
    (``touchpoint``, ``first_position``, ``span``) with ``journeys``, where ``span`` is
    the journey's events less one (at least 1). `JourneyMap.from_journeys` places a
    touchpoint from these counts, which add up over disjoint sets of journeys (Spark
    partitions): the per-journey tables ``nodes`` and ``stats`` of those journeys."""
    spans = stats.select("journey", (pl.col("events").cast(pl.Int64) - 1).clip(1).alias("span"))
    return (
        nodes.select(
            "journey",
            pl.col("touchpoint").cast(pl.String),
            pl.col("first_position").cast(pl.Int64),
        )
        .join(spans, on="journey")
        .group_by(*POSITION_KEYS)
        .agg(pl.len().cast(pl.Int64).alias("journeys"))
    )


def precedence_counts(nodes: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    """How often each of the ``common`` touchpoints comes after the others: one row per
    touchpoint with ``earlier``, its pairings (journey, other common touchpoint) in which
    the other was first visited before it, and ``pairings``, all its pairings (per
    journey, the common touchpoints it visits less one). Adds up over disjoint sets of
    journeys (Spark partitions): the per-journey table ``nodes`` of those journeys."""
    kept = nodes.select(
        "journey", pl.col("touchpoint").cast(pl.String), pl.col("first_position").cast(pl.Int64)
    ).filter(pl.col("touchpoint").is_in(common))
    # first positions differ within a journey, so a touchpoint's rank among the journey's
    # common touchpoints counts those visited before it
    ranked = kept.select(
        "touchpoint",
        (pl.col("first_position").rank("ordinal").over("journey").cast(pl.Int64) - 1).alias(
            "earlier"
        ),
        (pl.len().over("journey").cast(pl.Int64) - 1).alias("pairings"),
    )
    return ranked.group_by("touchpoint").agg(pl.col("earlier").sum(), pl.col("pairings").sum())


def journeys_before(nodes: pl.DataFrame, reached: str) -> pl.DataFrame:
    """Per touchpoint, the ``journeys`` of ``nodes`` that first visit it before their
    first visit to ``reached``; adds up over disjoint sets of journeys."""
    visits = nodes.select(
        "journey", pl.col("touchpoint").cast(pl.String), pl.col("first_position").cast(pl.Int64)
    )
    goal = visits.filter(pl.col("touchpoint") == reached).select(
        "journey", pl.col("first_position").alias("_goal")
    )
    return (
        visits.join(goal, on="journey")
        .filter(pl.col("first_position") < pl.col("_goal"))
        .group_by("touchpoint")
        .agg(pl.len().cast(pl.Int64).alias("journeys"))
    )


def _in_order(placed: pl.DataFrame, precedence: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of `_placed` with their ``place``: the share of ``earlier`` among
    ``pairings`` (`precedence_counts`, summed), or the median relative first position
    for a touchpoint without pairings; sorted by place, median, mean and name."""
    share = dict(
        zip(
            precedence.get_column("touchpoint").to_list(),
            (e / p if p else None for e, p in precedence.select("earlier", "pairings").rows()),
            strict=True,
        )
    )
    rows = []
    for row in placed.rows(named=True):
        place = share.get(row["touchpoint"])
        rows.append({**row, "place": row["median"] if place is None else place})
    return sorted(rows, key=lambda r: (r["place"], r["median"], r["mean"], r["touchpoint"]))


def journeys_visiting(nodes: pl.DataFrame, groups: list[list[str]]) -> pl.DataFrame:
    """Per ``group`` (index into ``groups``, lists of touchpoint names), the ``journeys``
    of ``nodes`` visiting any of its touchpoints; adds up over disjoint sets of journeys."""
    visits = nodes.select("journey", pl.col("touchpoint").cast(pl.String))
    rows = [
        (g, visits.filter(pl.col("touchpoint").is_in(names)).get_column("journey").n_unique())
        for g, names in enumerate(groups)
    ]
    return pl.DataFrame(rows, schema={"group": pl.Int64, "journeys": pl.Int64}, orient="row")


def _placed(counts: pl.DataFrame) -> pl.DataFrame:
    """Per touchpoint, from `position_counts` (in any order, summed over partitions):
    ``journeys`` visiting it, the ``median`` and ``mean`` of its first position relative
    to the journey's length, sorted by median, mean and name.

    The median is the mean of the two middle values (the middle one of an odd count);
    the mean is the exactly rounded sum (``math.fsum``) of the per-span sums, over the
    journeys: both depend only on the counts, not on their order or partitions.
    """
    position = pl.col("first_position").cast(pl.Float64) / pl.col("span").cast(pl.Float64)
    values = (
        counts.group_by("touchpoint", position.alias("_rel"))
        .agg(pl.col("journeys").sum())
        .sort("touchpoint", "_rel")
        .with_columns(
            pl.col("journeys").cum_sum().over("touchpoint").alias("_upto"),
            pl.col("journeys").sum().over("touchpoint").alias("_total"),
        )
    )
    below = pl.col("_upto") - pl.col("journeys")
    low, high = (
        values.filter((below <= at) & (at < pl.col("_upto"))).select("touchpoint", "_rel")
        for at in ((pl.col("_total") - 1) // 2, pl.col("_total") // 2)
    )
    medians = low.join(high, on="touchpoint", suffix="_high").select(
        "touchpoint", ((pl.col("_rel") + pl.col("_rel_high")) / 2).alias("median")
    )
    sums = counts.group_by("touchpoint", "span").agg(
        (pl.col("first_position") * pl.col("journeys")).sum().alias("_sum"),
        pl.col("journeys").sum(),
    )
    terms: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    for touchpoint, span, total, journeys in sums.iter_rows():
        terms.setdefault(touchpoint, []).append(total / span)
        totals[touchpoint] = totals.get(touchpoint, 0) + journeys
    names = sorted(totals)
    means = pl.DataFrame(
        {
            "touchpoint": names,
            "journeys": [totals[t] for t in names],
            "mean": [math.fsum(terms[t]) / totals[t] for t in names],
        },
        schema={"touchpoint": pl.String, "journeys": pl.Int64, "mean": pl.Float64},
    )
    return (
        means.join(medians, on="touchpoint")
        .select("touchpoint", "journeys", "median", "mean")
        .sort("median", "mean", "touchpoint")
    )


def _cut_at_gaps(rows: list[dict[str, Any]], k: int) -> list[list[dict[str, Any]]]:
    """Split ordered rows into at most ``k`` runs at the widest gaps of ``place``
    (then ``median``); among equal gaps the earlier one is cut first."""
    if len(rows) <= k:
        return [[r] for r in rows]
    gaps = sorted(
        range(1, len(rows)),
        key=lambda i: (
            -(rows[i]["place"] - rows[i - 1]["place"]),
            -(rows[i]["median"] - rows[i - 1]["median"]),
            i,
        ),
    )
    cuts = sorted(gaps[: k - 1])
    return [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]


def _names(names: Iterable[str]) -> list[str]:
    """A list of names; a single string is one name, not its characters."""
    return [names] if isinstance(names, str) else list(names)


def _read(source: str | os.PathLike[str]) -> tuple[str, str]:
    """The text of a map and where it came from (for messages)."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and os.path.isfile(source)):
        path = Path(source)
        return path.read_text(encoding="utf-8"), f" in {str(path)!r}"
    if isinstance(source, str):
        return source, ""
    msg = f"expected map text or a path to a file, not {type(source).__name__}"  # type: ignore[unreachable]
    raise TypeError(msg)


_FIELDS = {"": list(JourneyMap.model_fields), "stage": list(Stage.model_fields)}


def _validate(data: Any, origin: str) -> JourneyMap:
    """``JourneyMap.model_validate(data)``, with a readable `JourneygraphError`."""
    if not isinstance(data, Mapping):
        got = "nothing (empty input)" if data is None else type(data).__name__
        msg = f"invalid journey map{origin}: expected a mapping with a 'stages' key, got {got}"
        raise JourneygraphError(msg)
    try:
        return JourneyMap.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(_explain(err, data) for err in exc.errors())
        msg = f"invalid journey map{origin}: {problems}"
        raise JourneygraphError(msg) from None


def _explain(err: Any, data: Mapping[str, Any]) -> str:
    """One pydantic error as ``where: what``, naming stages and keys."""
    loc: tuple[Any, ...] = tuple(err["loc"])
    where: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, int) and where:
            where[-1] += f"[{part}]"
            try:
                node = node[part]
            except (TypeError, IndexError, KeyError):
                node = None
            named = isinstance(node, Mapping) and str(node.get("name") or "").strip()
            if loc[0] == "stages" and len(where) == 1 and named:
                where[-1] += f" ({node['name']})"
        else:
            where.append(str(part))
            node = node.get(part) if isinstance(node, Mapping) else None
    kind = err["type"]
    if kind in ("extra_forbidden", "missing") and loc and isinstance(loc[-1], str):
        key = where.pop() if where else ""
        fields = _FIELDS["stage" if loc[0] == "stages" and len(loc) > 2 else ""]
        if kind == "missing":
            what = f"missing key {key!r}"
        else:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            what = f"unknown key {key!r}{hint}; allowed keys: {', '.join(fields)}"
    elif kind == "tuple_type":
        what = "should be a list"
    else:
        what = str(err["msg"]).removeprefix("Value error, ")
    return f"{'.'.join(where)}: {what}" if where else what
