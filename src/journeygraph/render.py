"""Journey graphs as self-contained interactive HTML: `to_html`.

`to_html` takes any graph the library produces — one customer's journey graph
(``Journeys.graph``), the aggregate graph (``Journeys.aggregate_graph``), the
overlay on the journey map (``Divergence.overlay_graph``), an archetype graph —
or any other ``networkx`` graph with numeric attributes, and writes one HTML
file: node size by volume, edge width by the chosen weight, tooltips with every
attribute, a legend, and a note of what was pruned.

pyvis builds the network data (nodes, edges, options). The page around it is
our own: pyvis's template loads Bootstrap from a CDN, and the page must open
offline. vis-network's script (shipped inside the pyvis package) is inlined, a
Content-Security-Policy allows no request to any host and runs only the page's
own two scripts (by hash), and the graph's data is embedded as JSON in a
``<script type="application/json" id="journeygraph-data">`` element with
``<``, ``>`` and ``&`` escaped, so names from the data are never markup.
Tooltips are built as text nodes, never parsed as HTML.

Positions are computed here, not by the browser's physics: a seeded spring
layout (stages of a journey map left to right in map order), rounded to whole
pixels. The same graph always gives the same file, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import numbers
import os
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from . import _page, _sankey
from ._errors import JourneygraphError
from .flows import Flows

__all__ = ["Shown", "show", "to_html"]

# Edge attributes tried, in order, when no weight is named: the aggregate graph's
# chosen ``weight``, a journey graph's ``count``, the overlay's ``journeys``.
_WEIGHTS = ("weight", "count", "journeys", "events", "customers")
# Node attributes tried, in order, for the node size.
_VOLUMES = ("journeys", "customers", "visits", "events", "count")  # distinct journeys first
_MAX_LABEL = 32  # characters of a name on the canvas; the tooltip has it whole
_AUTO_EDGE_LABELS = 60  # label edges with their weight when at most this many are shown
_STAGE_GAP = 260  # px between stages of a journey map
_KAMADA_KAWAI_MAX = 150  # nodes; above, its all-pairs distances cost too much: spring layout
_MIN_GAP = 90  # px wanted between the two closest nodes of a spring layout
_STEP = 170  # px between touchpoints of one journey, in order of first visit
_ROW_GAP = 150  # px between rows of touchpoints off the map

_NODE = {"background": "#dbe4ff", "border": "#3b5bdb"}
_ENTRY = {"background": "#d3f9d8", "border": "#2f9e44"}
_EXIT = {"background": "#ffe3e3", "border": "#c92a2a"}
_OFF_MAP = {"background": "#fff4e6", "border": "#e8590c"}
_EDGE = "#5c7cfa"
_MAP_USED = "#3b5bdb"
_MAP_UNUSED = "#ced4da"
_SHADOW = "#e8590c"
_HIGHLIGHT = "#1c1c1c"


@dataclass(frozen=True)
class _Weight:
    """How edges are weighed: the attribute read and the name shown."""

    attribute: str | None  # None: every edge weighs 1
    name: str  # shown in the legend ("customers" for the aggregate's ``weight``)


@dataclass(frozen=True)
class _Edge:
    source: int  # node index
    target: int
    attrs: Mapping[str, Any]
    weight: float
    kept_always: bool  # a transition of the journey map itself: never pruned


def to_html(
    graph: nx.Graph[Any] | Flows,
    path: str | os.PathLike[str],
    *,
    weight: str | None = None,
    top_k: int | None = None,
    min_weight: float | dt.timedelta | None = None,
    title: str | None = None,
    node_size: str | None = None,
    edge_labels: bool | None = None,
    height: int = _page.HEIGHT,
) -> Path:
    """Write a graph as one self-contained, interactive HTML file.

    Node size shows volume, edge width the chosen weight; hovering shows every
    attribute (counts with thousands separators, shares and probabilities as
    percentages, times as durations). A legend explains colours and sizes,
    and the page says how many edges were pruned. The file loads nothing from
    any host and opens offline; the same graph always gives the same bytes.

    Parameters
    ----------
    graph
        A ``networkx`` graph: ``Journeys.graph(id)``, ``Journeys.aggregate_graph()``,
        ``Contrast.graph(group)`` (edges coloured by the graph's own ``color``),
        ``Divergence.overlay_graph()``, an archetype graph, or any other
        (not a multigraph). Nodes of an overlay with ``kind="stage"`` are laid
        out left to right by their ``index``. A `Journeys.flows` result is drawn
        as a Sankey diagram (d3-sankey's layout, inlined; ``title`` applies).
    path
        The file to write (parent folders are created).
    weight
        Numeric edge attribute for edge width, pruning and edge labels
        (durations count in seconds). By default the first of ``weight``,
        ``count``, ``journeys``, ``events``, ``customers`` that every edge has,
        else 1 per edge.
    top_k
        Keep only the ``top_k`` heaviest outgoing edges of every node.
    min_weight
        Keep only edges weighing at least this much (applied before ``top_k``).
        Transitions of the journey map in an overlay are never pruned.
    title
        Page heading; by default ``graph.graph["title"]`` or a description of the graph.
    node_size
        Numeric node attribute for node size. By default the first of
        ``journeys``, ``customers`` (distinct journeys through the node),
        ``visits``, ``events``, ``count`` that every node has, else the weight
        through the node (the larger of in and out).
    edge_labels
        Write each edge's weight on it; by default only when at most 60
        edges are shown.
    height
        Height of the drawing in pixels.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": [1, 1, 1, 2, 2], "ts": [1, 2, 3, 1, 2],
    ...                    "event": ["home", "search", "buy", "home", "buy"]})
    >>> journeys = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
    ...                                   touchpoint="event"))
    >>> out = Path(tempfile.mkdtemp())
    >>> page = jg.to_html(journeys.aggregate_graph("customers"), out / "all.html", top_k=1)
    >>> page.name, page.stat().st_size < 1_000_000
    ('all.html', True)
    >>> "showing 2 of 3 transitions" in page.read_text(encoding="utf-8")
    True
    """
    if not isinstance(path, str | os.PathLike):
        msg = f"path must be a file name, not {type(path).__name__}"  # type: ignore[unreachable]
        raise JourneygraphError(msg)
    target = Path(path)
    if target.is_dir():
        msg = f"path {str(target)!r} is a folder; name the HTML file to write"
        raise JourneygraphError(msg)
    _check_options(top_k=top_k, min_weight=min_weight, height=height, title=title)
    if isinstance(graph, Flows):  # step flows are a Sankey diagram, not a network
        return _sankey.write(graph, target, title=title)
    drawing = draw(
        graph,
        weight=weight,
        top_k=top_k,
        min_weight=min_weight,
        title=title,
        node_size=node_size,
        edge_labels=edge_labels,
    )
    return _page.write(drawing, target, height=height)


class Shown:
    """A graph drawn for a notebook: `show` returns one; Jupyter displays it inline.

    Attributes
    ----------
    html : str
        The whole self-contained page, exactly what `to_html` would write.
    height : int
        Height of the drawing in pixels.
    """

    def __init__(self, html_text: str, height: int) -> None:
        self.html = html_text
        self.height = height

    def __repr__(self) -> str:
        return f"Shown({len(self.html):,} characters of HTML)"

    def _repr_html_(self) -> str:
        # an iframe keeps the page's own Content-Security-Policy and scripts apart from
        # the notebook's; srcdoc needs no file and no server
        doc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" style="width: 100%; height: {self.height + 160}px; '
            'border: 0" sandbox="allow-scripts"></iframe>'
        )


def show(
    graph: nx.Graph[Any],
    *,
    weight: str | None = None,
    top_k: int | None = None,
    min_weight: float | dt.timedelta | None = None,
    title: str | None = None,
    node_size: str | None = None,
    edge_labels: bool | None = None,
    height: int = _page.HEIGHT,
) -> Shown:
    """Show a graph inline in a Jupyter notebook, offline, like `to_html`.

    Takes the same options as `to_html` and returns a `Shown`, which the
    notebook displays as the interactive drawing in a sandboxed frame; nothing
    is written and nothing is loaded from any host.

    Examples
    --------
    >>> import polars as pl
    >>> import journeygraph as jg
    >>> df = pl.DataFrame({"user": [1, 1, 2], "ts": [1, 2, 1], "event": ["home", "buy", "home"]})
    >>> journeys = jg.mine(jg.read_events(df, customer="user", timestamp="ts",
    ...                                   touchpoint="event"))
    >>> shown = jg.show(journeys.aggregate_graph())
    >>> shown._repr_html_().startswith("<iframe srcdoc=")
    True
    >>> "default-src 'none'" in shown.html  # the page's policy: no request to any host
    True
    """
    _check_options(top_k=top_k, min_weight=min_weight, height=height, title=title)
    drawing = draw(
        graph,
        weight=weight,
        top_k=top_k,
        min_weight=min_weight,
        title=title,
        node_size=node_size,
        edge_labels=edge_labels,
    )
    return Shown(_page.page_html(drawing, height=height), height)


def draw(
    graph: nx.Graph[Any],
    *,
    weight: str | None = None,
    top_k: int | None = None,
    min_weight: float | dt.timedelta | None = None,
    title: str | None = None,
    node_size: str | None = None,
    edge_labels: bool | None = None,
) -> _page.Drawing:
    """Everything `to_html` draws, without the page around it (the report reuses it)."""
    if not isinstance(graph, nx.Graph):
        kind = type(graph).__name__  # type: ignore[unreachable]
        msg = (
            "to_html needs a networkx graph (journeys.graph(id), journeys.aggregate_graph(), "
            f"divergence.overlay_graph()), not {kind}"
        )
        raise JourneygraphError(msg)
    if graph.is_multigraph():
        msg = "to_html does not draw multigraphs; collapse parallel edges first: nx.DiGraph(g)"
        raise JourneygraphError(msg)
    chosen = _choose_weight(graph, weight)
    index = {node: i for i, node in enumerate(graph.nodes)}
    edges = _edges(graph, index, chosen)
    shown = _prune(edges, top_k=top_k, min_weight=_as_number(min_weight))
    overlay = _is_overlay(graph)
    sizes, size_name = _volumes(graph, edges, node_size, chosen)
    positions = _layout(graph, index, shown, overlay=overlay)
    if edge_labels is None:
        edge_labels = chosen.attribute is not None and len(shown) <= _AUTO_EDGE_LABELS
    heading = _page.text(title if title is not None else _default_title(graph, overlay=overlay))

    from pyvis.network import Network  # imported here: it pulls in IPython

    net = Network(
        width="100%",
        directed=graph.is_directed(),
        heading=heading,
        cdn_resources="in_line",
    )
    names = [_page.text(node) for node in graph.nodes]
    node_scale = _scaler(sizes, low=6.0, high=30.0)
    for node, i in index.items():
        attrs = graph.nodes[node]
        x, y = positions[i]
        net.add_node(
            i,
            label=_label(names[i], size_name, sizes[i]),
            name=names[i],
            title=_tooltip(names[i], attrs),
            x=x,
            y=y,
            size=node_scale(sizes[i]),
            color=_node_color(graph, node, overlay=overlay),
            shape="dot",
        )
    arrow = "→" if graph.is_directed() else "\u2013"  # en dash: no direction
    # the aggregate graph's `weight` repeats the attribute it was chosen from
    skip = {"weight"} if chosen.attribute == "weight" and chosen.name != "weight" else set()
    edge_scale = _scaler((e.weight for e in shown), low=1.0, high=8.0)
    for j, e in enumerate(shown):
        style = _edge_style(e.attrs, overlay=overlay)
        options: dict[str, Any] = {
            "id": j,
            "width": edge_scale(e.weight),
            "weight": e.weight,
            "title": _tooltip(f"{names[e.source]} {arrow} {names[e.target]}", e.attrs, skip),
            **style,
        }
        if edge_labels:
            options["label"] = _page.format_value(chosen.name, _weight_value(e, chosen))
        net.add_edge(e.source, e.target, **options)
    net.set_options(json.dumps(_vis_options()))
    nodes, vis_edges, _, _, _, vis_options = net.get_network_data()
    summary = {
        "nodes": len(index),
        "stages": sum(d.get("kind") == "stage" for _, d in graph.nodes(data=True))
        if overlay
        else None,
        "edges": len(edges),
        "edges_shown": len(shown),
        "weight": chosen.name,
        "node_size": size_name,
        "top_k": None if top_k is None else int(top_k),
        "min_weight": _as_number(min_weight),
    }
    return _page.Drawing(
        heading=heading,
        summary=summary,
        facts=_facts(graph, heading),
        legend=_legend(graph, overlay=overlay, size_name=size_name, weight_name=chosen.name),
        data={
            "nodes": nodes,
            "edges": vis_edges,
            "options": json.loads(vis_options),
            "summary": summary,
        },
    )


# --------------------------------------------------------------------- arguments
def _check_options(*, top_k: Any, min_weight: Any, height: Any, title: Any) -> None:
    if top_k is not None and (not _page.is_int(top_k) or top_k < 1):
        msg = f"top_k must be a whole number of edges per node, at least 1, not {top_k!r}"
        raise JourneygraphError(msg)
    if min_weight is not None and _as_number(min_weight) is None:
        msg = f"min_weight must be a finite number (or a timedelta), not {min_weight!r}"
        raise JourneygraphError(msg)
    if not _page.is_int(height) or height < 100:
        msg = f"height must be a whole number of pixels, at least 100, not {height!r}"
        raise JourneygraphError(msg)
    if title is not None and not isinstance(title, str):
        msg = f"title must be a string, not {type(title).__name__}"
        raise JourneygraphError(msg)


def _as_number(value: Any) -> float | None:
    """A finite float for numbers and durations (in seconds); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _choose_weight(graph: nx.Graph[Any], weight: str | None) -> _Weight:
    attrs = [d for _, _, d in graph.edges(data=True)]
    if weight is None:
        for name in _WEIGHTS:
            if all(_as_number(d.get(name)) is not None for d in attrs) and attrs:
                return _Weight(name, _weight_name(graph, name, attrs))
        return _Weight(None, "edges")
    if not isinstance(weight, str):
        msg = f"weight must be the name of an edge attribute, not {weight!r}"  # type: ignore[unreachable]
        raise JourneygraphError(msg)
    missing = sum(_as_number(d.get(weight)) is None for d in attrs)
    if missing:
        numeric = sorted(
            str(k) for k in attrs[0] if all(_as_number(d.get(k)) is not None for d in attrs)
        )
        msg = (
            f"weight={weight!r} is not a number on {missing:,} of {len(attrs):,} edges; "
            f"numeric attributes every edge has: {numeric}"
        )
        raise JourneygraphError(msg)
    return _Weight(weight, weight)


def _weight_name(graph: nx.Graph[Any], name: str, attrs: list[dict[str, Any]]) -> str:
    """What a ``weight`` attribute measures: the graph's ``weight`` setting (the
    aggregate graph), else another attribute equal to it on every edge (an
    archetype's ``support``), else ``weight``."""
    if name != "weight":
        return name
    if isinstance(graph.graph.get("weight"), str):
        return str(graph.graph["weight"])
    same = [k for k in attrs[0] if k != "weight" and all(d.get(k) == d["weight"] for d in attrs)]
    return str(same[0]) if same else name


def _edges(graph: nx.Graph[Any], index: Mapping[Hashable, int], chosen: _Weight) -> list[_Edge]:
    out = []
    for u, v, attrs in graph.edges(data=True):
        value = 1.0 if chosen.attribute is None else _as_number(attrs[chosen.attribute])
        out.append(_Edge(index[u], index[v], attrs, value or 0.0, attrs.get("kind") == "map"))
    return out


def _weight_value(edge: _Edge, chosen: _Weight) -> Any:
    """The weight as the graph holds it (a timedelta stays a timedelta, for display)."""
    return 1 if chosen.attribute is None else edge.attrs[chosen.attribute]


def _prune(edges: list[_Edge], *, top_k: int | None, min_weight: float | None) -> list[_Edge]:
    """Edges kept by ``min_weight`` and then ``top_k`` per source, in graph order."""
    kept = [e for e in edges if e.kept_always or min_weight is None or e.weight >= min_weight]
    if top_k is None:
        return kept
    by_source: dict[int, list[_Edge]] = {}
    for e in kept:
        if not e.kept_always:
            by_source.setdefault(e.source, []).append(e)
    best = {
        id(e)
        for group in by_source.values()
        for e in sorted(group, key=lambda e: (-e.weight, e.target))[:top_k]
    }
    return [e for e in kept if e.kept_always or id(e) in best]


# ------------------------------------------------------------------------ layout
def _is_overlay(graph: nx.Graph[Any]) -> bool:
    return any(
        d.get("kind") == "stage" and _page.is_int(d.get("index")) for _, d in graph.nodes(data=True)
    )


def _layout(
    graph: nx.Graph[Any], index: Mapping[Hashable, int], shown: list[_Edge], *, overlay: bool
) -> list[tuple[int, int]]:
    """Whole-pixel positions per node index; the same graph always gets the same ones."""
    n = len(index)
    if overlay:
        return _map_layout(graph, index)
    first = [_as_number(d.get("first_position")) for _, d in graph.nodes(data=True)]
    if n and all(f is not None for f in first):  # one journey: a timeline, left to right
        order = sorted(range(n), key=lambda i: (first[i], i))
        return _timeline(order)
    skeleton: nx.Graph[int] = nx.Graph()
    skeleton.add_nodes_from(range(n))
    skeleton.add_edges_from((e.source, e.target) for e in shown if e.source != e.target)
    # tie every other component to the largest one, for the layout only: otherwise the
    # spring pushes a lone node far away and the scale limit crams everything else
    parts = sorted(nx.connected_components(skeleton), key=lambda c: (-len(c), min(c)))
    skeleton.add_edges_from((min(parts[0]), min(part)) for part in parts[1:])
    # a fixed start on a circle and a fixed seed: deterministic, and stable for equal input
    start = {
        i: (math.cos(2 * math.pi * i / max(n, 1)), math.sin(2 * math.pi * i / max(n, 1)))
        for i in range(n)
    }
    spread: Mapping[int, Any]
    if 1 < n <= _KAMADA_KAWAI_MAX:  # even edge lengths: dense cores and long chains both read
        spread = nx.kamada_kawai_layout(skeleton, pos=start)
    elif n > 1:
        spread = nx.spring_layout(skeleton, pos=start, iterations=100)
    else:
        spread = start
    points = np.array([spread[i] for i in range(n)], dtype=np.float64).reshape(n, 2)
    # stretch until the closest two nodes are _MIN_GAP apart, within bounds
    base = 100.0 * math.sqrt(max(n, 4))
    scale = base
    if 1 < n < 500:
        gaps = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
        closest = float(gaps[np.triu_indices(n, 1)].min())
        scale = min(max(base, _MIN_GAP / max(closest, 1e-9)), 1.5 * base)
    return [(round(x * scale), round(y * scale)) for x, y in points.tolist()]


def _timeline(order: list[int]) -> list[tuple[int, int]]:
    """Nodes left to right in ``order``, alternately higher and lower so skips stay clear."""
    positions = [(0, 0)] * len(order)
    for rank, i in enumerate(order):
        positions[i] = (rank * _STEP, (rank % 2) * _STEP // 2)
    return positions


def _map_layout(graph: nx.Graph[Any], index: Mapping[Hashable, int]) -> list[tuple[int, int]]:
    """Stages left to right by index; other nodes in rows above and below, near their stages."""
    positions: list[tuple[int, int]] = [(0, 0)] * len(index)
    stage_x: dict[Hashable, int] = {}
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") == "stage" and _page.is_int(attrs.get("index")):
            stage_x[node] = int(attrs["index"]) * _STAGE_GAP
            positions[index[node]] = (stage_x[node], 0)
    middle = (min(stage_x.values()) + max(stage_x.values())) // 2
    wanted = []
    for node in graph.nodes:
        if node in stage_x:
            continue
        near = [stage_x[m] for m in nx.all_neighbors(graph, node) if m in stage_x]
        x = round(sum(near) / len(near)) if near else middle
        wanted.append((x, index[node]))
    taken: dict[int, list[int]] = {}  # row -> x positions used
    rows = [r for k in range(1, len(wanted) + 1) for r in (k, -k)]
    for x, i in sorted(wanted):
        row = next(r for r in rows if all(abs(x - u) >= _STAGE_GAP * 0.6 for u in taken.get(r, [])))
        taken.setdefault(row, []).append(x)
        positions[i] = (x, row * _ROW_GAP)
    return positions


# ------------------------------------------------------------------------ styles
def _volumes(
    graph: nx.Graph[Any], edges: list[_Edge], node_size: str | None, chosen: _Weight
) -> tuple[list[float], str]:
    """Each node's volume (in index order) and what it measures."""
    nodes = [d for _, d in graph.nodes(data=True)]
    candidates = _VOLUMES if node_size is None else (node_size,)
    for name in candidates:
        values = [_as_number(d.get(name)) for d in nodes]
        if nodes and all(v is not None for v in values):
            return [max(v or 0.0, 0.0) for v in values], name
    if node_size is not None:
        missing = sum(_as_number(d.get(node_size)) is None for d in nodes)
        msg = f"node_size={node_size!r} is not a number on {missing:,} of {len(nodes):,} nodes"
        raise JourneygraphError(msg)
    into = [0.0] * len(nodes)
    out = [0.0] * len(nodes)
    for e in edges:
        out[e.source] += max(e.weight, 0.0)
        into[e.target] += max(e.weight, 0.0)
    return [max(a, b) for a, b in zip(into, out, strict=True)], f"{chosen.name} through the node"


def _scaler(values: Iterable[float], *, low: float, high: float) -> Callable[[float], float]:
    """Map values in [0, largest] to [low, high] by square root (area-like), 2 decimals.

    When all values are equal (one customer's journey, often) they sit in the middle.
    """
    values = list(values)
    top = max(values, default=0.0)
    if top <= 0 or min(values) == top:
        middle = round((low + high) / 2, 2)
        return lambda _: middle
    return lambda value: round(low + (high - low) * math.sqrt(max(value, 0.0) / top), 2)


def _node_color(graph: nx.Graph[Any], node: Hashable, *, overlay: bool) -> dict[str, Any]:
    attrs = graph.nodes[node]
    if overlay:
        colors = _NODE if attrs.get("kind") == "stage" else _OFF_MAP
    elif node == graph.graph.get("entry"):
        colors = _ENTRY
    elif node == graph.graph.get("exit"):
        colors = _EXIT
    else:
        colors = _NODE
    return {**colors, "highlight": {"background": colors["background"], "border": _HIGHLIGHT}}


def _edge_style(attrs: Mapping[str, Any], *, overlay: bool) -> dict[str, Any]:
    def color(base: str, **extra: Any) -> dict[str, Any]:
        return {"color": base, "highlight": _HIGHLIGHT, "hover": _HIGHLIGHT, **extra}

    if overlay and attrs.get("kind") == "map":
        used = attrs.get("used", True)
        return {"color": color(_MAP_USED if used else _MAP_UNUSED), "dashes": False}
    if overlay and attrs.get("kind") == "shadow":
        # arched well away from the row of stages, which the map's own transitions follow
        arch = {"enabled": True, "type": "curvedCW", "roundness": 0.35}
        return {"color": color(_SHADOW), "dashes": True, "smooth": arch}
    if isinstance(attrs.get("color"), str):  # the graph's own colour (a difference graph)
        return {"color": color(attrs["color"], opacity=0.85)}
    return {"color": color(_EDGE, opacity=0.75)}


def _vis_options() -> dict[str, Any]:
    # No spaces in values: pyvis's set_options strips every space.
    return {
        "autoResize": True,
        "physics": {"enabled": False},
        "layout": {"randomSeed": 0, "improvedLayout": False},
        "interaction": {"hover": True, "tooltipDelay": 120, "multiselect": True},
        "nodes": {"borderWidth": 2, "font": {"size": 16, "face": "sans-serif"}},
        "edges": {
            "arrows": {"to": {"enabled": True, "scaleFactor": 0.6}},
            "smooth": {"enabled": True, "type": "curvedCW", "roundness": 0.15},
            # horizontal labels with a white halo: rotated ones along curved edges were
            # unreadable in the report's screenshots
            "font": {"size": 12, "align": "horizontal", "strokeWidth": 4},
            "selfReference": {"size": 18},
        },
    }


# -------------------------------------------------------------------------- text


def _label(name: str, size_name: str, volume: float) -> str:
    short = name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "…"
    return f"{short}\n{_page.format_value(size_name, volume)}"


def _tooltip(heading: str, attrs: Mapping[str, Any], skip: Iterable[str] = ()) -> str:
    lines = [heading]
    for key, value in attrs.items():
        shown = None if key in skip else _page.format_value(str(key), value)
        if shown is not None:
            lines.append(f"{_page.text(key)}: {shown}")
    return "\n".join(lines)


def _default_title(graph: nx.Graph[Any], *, overlay: bool) -> str:
    if isinstance(graph.graph.get("title"), str):
        return str(graph.graph["title"])
    if overlay:
        return "Journeys against the journey map"
    if "journey" in graph.graph:
        return f"Journey {graph.graph['journey']}"
    if "weight" in graph.graph:
        return "All journeys"
    return "Journey graph"


def _facts(graph: nx.Graph[Any], heading: str) -> list[str]:
    """The graph's own attributes (a journey's stats row), formatted; not those in the title."""
    out = []
    for key, value in graph.graph.items():
        repeated = key in ("title", "weight", "legend") or (
            isinstance(value, str) and value in heading
        )
        shown = None if repeated else _page.format_value(str(key), value)
        if shown is not None:
            out.append(f"{_page.text(key)}: {shown}")
    return out


def _legend(
    graph: nx.Graph[Any], *, overlay: bool, size_name: str, weight_name: str
) -> list[tuple[str, str]]:
    """(swatch CSS, text) rows."""

    def swatch(colors: Mapping[str, str]) -> str:
        return (
            f"border-radius:50%;background:{colors['background']};border-color:{colors['border']}"
        )

    def line(color: str, style: str = "solid") -> str:
        return f"height:0;border:0;border-top:3px {style} {color}"

    if overlay:
        rows = [
            (swatch(_NODE), "stage of the journey map, left to right in map order"),
            (swatch(_OFF_MAP), "touchpoint off the map"),
            (line(_MAP_USED), "map transition that journeys made"),
            (line(_MAP_UNUSED), "map transition no journey made"),
            (line(_SHADOW, "dashed"), "shadow path: a step the map does not have"),
        ]
    else:
        rows = [(swatch(_NODE), "touchpoint")]
    if not overlay and ("entry" in graph.graph or "exit" in graph.graph):
        rows += [
            (swatch(_ENTRY), "entry: where the journey starts"),
            (swatch(_EXIT), "exit: where the journey ends"),
        ]
    for colour, text in graph.graph.get("legend", ()):  # the graph's own edge colours
        rows.append((line(str(colour)), str(text)))
    rows += [
        ("", f"node size: {size_name}"),
        ("", f"edge width: {weight_name}"),
        ("", "hover over a node or an edge for its numbers; drag to move, scroll to zoom"),
    ]
    return rows


# -------------------------------------------------------------------------- page
