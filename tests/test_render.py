"""jg.to_html: what the file holds, checked against the input graph (tests/browser opens it)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph import datasets
from journeygraph._page import duration as _duration

DATA = re.compile(r'<script type="application/json" id="journeygraph-data">(.*?)</script>', re.S)
SCRIPTS = re.compile(r"<script>(.*?)</script>", re.S)


@cache
def sample() -> jg.Journeys:
    data = datasets.generate(800, seed=5)
    return jg.mine(jg.read_events(data.events, **datasets.COLUMNS))


def aggregate() -> nx.DiGraph[Any]:
    return sample().aggregate_graph("customers")


def journey() -> nx.DiGraph[Any]:
    return sample().graph(sample().stats.sort("events")["journey"][-1])


def overlay() -> nx.DiGraph[Any]:
    return jg.compare(sample(), jg.JourneyMap.linear(datasets.IDEAL_STAGES)).overlay_graph()


def archetype() -> nx.DiGraph[Any]:
    return jg.cluster(sample(), k=3).graph(0)


def plain() -> nx.DiGraph[Any]:
    """No attributes at all, integer nodes, a self-loop and an isolated node."""
    g: nx.DiGraph[int] = nx.DiGraph([(1, 2), (2, 3), (3, 1), (3, 3)])
    g.add_node(4)
    return g


GRAPHS = {
    "journey": journey,
    "aggregate": aggregate,
    "overlay": overlay,
    "archetype": archetype,
    "plain": plain,
    "undirected": lambda: nx.Graph([("a", "b"), ("b", "c")]),
    "one node": lambda: nx.DiGraph([("only", "only")]),
    "empty": nx.DiGraph,
}


def embedded(path: Path) -> dict[str, Any]:
    match = DATA.search(path.read_text(encoding="utf-8"))
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def shown_edges(data: dict[str, Any]) -> list[tuple[str, str]]:
    name = {n["id"]: n["name"] for n in data["nodes"]}
    return [(name[e["from"]], name[e["to"]]) for e in data["edges"]]


@pytest.mark.parametrize("kind", list(GRAPHS))
def test_every_node_and_edge_is_in_the_page(kind: str, tmp_path: Path) -> None:
    graph = GRAPHS[kind]()
    path = jg.to_html(graph, tmp_path / "graph.html")
    assert path == tmp_path / "graph.html"
    data = embedded(path)
    assert [n["name"] for n in data["nodes"]] == [str(n) for n in graph.nodes]
    assert shown_edges(data) == [(str(u), str(v)) for u, v in graph.edges]
    assert data["summary"]["edges"] == data["summary"]["edges_shown"] == graph.number_of_edges()
    arrows = {e.get("arrows") for e in data["edges"]}
    assert arrows <= ({"to"} if graph.is_directed() else {None})


@pytest.mark.parametrize("kind", list(GRAPHS))
def test_same_input_gives_the_same_bytes(kind: str, tmp_path: Path) -> None:
    first = jg.to_html(GRAPHS[kind](), tmp_path / "a.html", top_k=2)
    second = jg.to_html(GRAPHS[kind](), tmp_path / "b.html", top_k=2)
    assert first.read_bytes() == second.read_bytes()


def test_same_events_mined_again_give_the_same_bytes(tmp_path: Path) -> None:
    data = datasets.generate(300, seed=9)
    pages = []
    for i in range(2):
        journeys = jg.mine(jg.read_events(data.events, **datasets.COLUMNS))
        pages.append(jg.to_html(journeys.aggregate_graph(), tmp_path / f"{i}.html").read_bytes())
    assert pages[0] == pages[1]


def test_nothing_is_loaded_from_any_host(tmp_path: Path) -> None:
    text = jg.to_html(overlay(), tmp_path / "o.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert not re.search(r"url\(\s*[\"']?\s*(?:https?:)?//", text, re.I)
    assert not re.search(r"@import", text)
    assert "<link" not in text
    assert not re.search(r"<script[^>]+src", text)
    assert "sourceMappingURL" not in text
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert policy is not None
    assert "default-src 'none'" in policy.group(1)


def test_the_policy_runs_exactly_the_pages_own_scripts(tmp_path: Path) -> None:
    text = jg.to_html(aggregate(), tmp_path / "a.html").read_text(encoding="utf-8")
    policy = re.search(r"script-src ([^;]+);", text)
    assert policy is not None
    allowed = set(policy.group(1).split())
    inline = SCRIPTS.findall(text)
    assert len(inline) == 2  # vis-network and the page's own
    hashes = {
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline
    }
    assert allowed == hashes


XSS = ["<script>alert(1)</script>", "</script><script>alert(2)</script>", "<!--", "a&b"]


def test_markup_in_names_is_never_markup_in_the_file(tmp_path: Path) -> None:
    graph: nx.DiGraph[str] = nx.DiGraph(title="</title><script>alert(3)</script>")
    nx.add_path(graph, XSS)
    text = jg.to_html(graph, tmp_path / "x.html").read_text(encoding="utf-8")
    assert text.count("</script") == 3
    body = text[text.index("</head>") :]  # vis-network, in the head, has "<script>" in a string
    assert body.count("<script") == 2
    assert "alert(1)" in text  # as escaped text
    assert "<script>alert" not in text
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;</title>" in text
    data = embedded(tmp_path / "x.html")
    assert [n["name"] for n in data["nodes"]] == XSS
    assert [n["title"].split("\n")[0] for n in data["nodes"]] == XSS


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=5, unique=True),
    title=st.text(max_size=10),
)
def test_any_names_round_trip(names: list[str], title: str, tmp_path: Path) -> None:
    graph: nx.DiGraph[str] = nx.DiGraph()
    nx.add_path(graph, names)
    path = jg.to_html(graph, tmp_path / "n.html", title=title)
    text = path.read_text(encoding="utf-8")
    assert text.count("</script") == 3
    data = embedded(path)
    assert [n["name"] for n in data["nodes"]] == names
    assert shown_edges(data) == list(graph.edges)


weighted_graphs = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 20)), max_size=40
).map(lambda rows: nx.DiGraph([(u, v, {"weight": w}) for u, v, w in rows]))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=weighted_graphs, top_k=st.integers(1, 4), min_weight=st.none() | st.integers(0, 20))
def test_pruning_keeps_the_heaviest(
    graph: nx.DiGraph[int], top_k: int, min_weight: int | None, tmp_path: Path
) -> None:
    path = jg.to_html(graph, tmp_path / "p.html", top_k=top_k, min_weight=min_weight)
    data = embedded(path)
    kept = {(int(u), int(v)) for u, v in shown_edges(data)}
    assert [n["name"] for n in data["nodes"]] == [str(n) for n in graph.nodes]
    heavy = {
        (u, v) for u, v, w in graph.edges(data="weight") if min_weight is None or w >= min_weight
    }
    assert kept <= heavy
    for node in graph.nodes:
        candidates = [(v, graph[node][v]["weight"]) for v in graph.successors(node)]
        candidates = [(v, w) for v, w in candidates if (node, v) in heavy]
        ours = [w for v, w in candidates if (node, v) in kept]
        dropped = [w for v, w in candidates if (node, v) not in kept]
        assert len(ours) == min(top_k, len(candidates))
        assert all(d <= o for d in dropped for o in ours)
    assert data["summary"]["edges_shown"] == len(kept)
    assert data["summary"]["edges"] == graph.number_of_edges()


def test_the_page_says_what_was_pruned(tmp_path: Path) -> None:
    graph = aggregate()
    path = jg.to_html(graph, tmp_path / "p.html", top_k=2, min_weight=3)
    shown = len(embedded(path)["edges"])
    total = graph.number_of_edges()
    summary = f"showing {shown:,} of {total:,} transitions (customers ≥ 3, the top 2 per node"
    assert summary in path.read_text(encoding="utf-8")
    assert f"{total - shown:,} pruned" in path.read_text(encoding="utf-8")


def test_map_transitions_are_never_pruned(tmp_path: Path) -> None:
    graph = overlay()
    path = jg.to_html(graph, tmp_path / "o.html", top_k=1, min_weight=10**9)
    kept = set(shown_edges(embedded(path)))
    assert kept == {(u, v) for u, v, kind in graph.edges(data="kind") if kind == "map"}


def test_overlay_stages_in_map_order_and_styles(tmp_path: Path) -> None:
    graph = overlay()
    graph.add_edge("Renew", "Discover", kind="map", journeys=0, bypassed=0, used=False)
    data = embedded(jg.to_html(graph, tmp_path / "o.html"))
    by_name = {n["name"]: n for n in data["nodes"]}
    stages = sorted((d["index"], n) for n, d in graph.nodes(data=True) if d["kind"] == "stage")
    xs = [by_name[n]["x"] for _, n in stages]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    assert {by_name[n]["y"] for _, n in stages} == {0}
    assert all(by_name[n]["y"] != 0 for n, d in graph.nodes(data=True) if d["kind"] != "stage")
    style = {
        (u, v): (e.get("dashes"), e["color"]["color"])
        for (u, v), e in zip(shown_edges(data), data["edges"], strict=True)
    }
    for u, v, d in graph.edges(data=True):
        dashed, color = style[(u, v)]
        assert dashed is (d["kind"] == "shadow")
        if d["kind"] == "map":
            assert (color == "#ced4da") is (not d["used"])  # unused map transitions are grey


def test_sizes_follow_volume_and_widths_follow_weight(tmp_path: Path) -> None:
    graph = aggregate()
    data = embedded(jg.to_html(graph, tmp_path / "a.html"))
    sizes = sorted((graph.nodes[n["name"]]["journeys"], n["size"]) for n in data["nodes"])
    assert [s for _, s in sizes] == sorted(s for _, s in sizes)
    assert sizes[0][1] < sizes[-1][1]
    widths = sorted(
        (graph.edges[e]["customers"], d["width"])
        for e, d in zip(shown_edges(data), data["edges"], strict=True)
    )
    assert [w for _, w in widths] == sorted(w for _, w in widths)
    assert widths[0][1] < widths[-1][1]


@pytest.mark.parametrize(
    ("kind", "name", "attribute"),
    [
        ("aggregate", "customers", "customers"),
        ("journey", "count", "count"),
        ("overlay", "journeys", "journeys"),
        ("archetype", "support", "support"),
        ("plain", "edges", None),
    ],
)
def test_default_weight(kind: str, name: str, attribute: str | None, tmp_path: Path) -> None:
    graph = GRAPHS[kind]()
    data = embedded(jg.to_html(graph, tmp_path / "g.html"))
    assert data["summary"]["weight"] == name
    for edge, shown in zip(shown_edges(data), data["edges"], strict=True):
        expected = 1 if attribute is None else graph.edges[edge][attribute]
        assert shown["weight"] == expected
        if attribute is not None:
            assert f"\n{attribute}: " in shown["title"]
        assert "\nweight: " not in shown["title"]  # the aggregate's copy of its weight


def test_a_weight_copied_from_another_attribute_is_named_after_it(tmp_path: Path) -> None:
    """An archetype graph's edges carry ``weight`` = ``support`` (a share)."""
    graph: nx.DiGraph[str] = nx.DiGraph(title="Archetype 0: browsers", description="browsers")
    graph.add_edge("a", "b", weight=0.5, events=10, support=0.5)
    graph.add_edge("b", "c", weight=0.25, events=5, support=0.25)
    path = jg.to_html(graph, tmp_path / "a.html")
    data = embedded(path)
    assert data["summary"]["weight"] == "support"
    assert [e["label"] for e in data["edges"]] == ["50.0 %", "25.0 %"]
    assert "\nweight: " not in data["edges"][0]["title"]
    assert "description: browsers" not in path.read_text(encoding="utf-8")  # in the title


def test_a_duration_weighs_its_seconds(tmp_path: Path) -> None:
    graph = aggregate()
    data = embedded(jg.to_html(graph, tmp_path / "t.html", weight="median_time"))
    for edge, shown in zip(shown_edges(data), data["edges"], strict=True):
        assert shown["weight"] == graph.edges[edge]["median_time"].total_seconds()


def test_tooltips_and_labels_read_like_numbers(tmp_path: Path) -> None:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_node("search", visits=12_345, dwell=dt.timedelta(hours=2, minutes=5))
    graph.add_node("buy", visits=7, first_seen=dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC))
    graph.add_edge(
        "search",
        "buy",
        events=1_234,
        share=0.25,
        p_next=1 / 3,
        median_time=dt.timedelta(minutes=3, seconds=20),
        used=True,
        note=None,
    )
    data = embedded(jg.to_html(graph, tmp_path / "t.html", weight="share"))
    search, buy = data["nodes"]
    assert search["label"] == "search\n12,345"
    assert search["title"] == "search\nvisits: 12,345\ndwell: 2 h 5 min"
    assert buy["title"] == "buy\nvisits: 7\nfirst_seen: 2024-05-01 09:30:00+00:00"
    (edge,) = data["edges"]
    assert edge["label"] == "25.0 %"
    assert edge["title"] == (
        "search → buy\nevents: 1,234\nshare: 25.0 %\np_next: 33.3 %\n"
        "median_time: 3 min 20 s\nused: yes"
    )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(0), "0 ms"),
        (dt.timedelta(milliseconds=250), "250 ms"),
        (dt.timedelta(seconds=2.5), "2.5 s"),
        (dt.timedelta(seconds=45), "45 s"),
        (dt.timedelta(minutes=3), "3 min"),
        (dt.timedelta(minutes=3, seconds=20), "3 min 20 s"),
        (dt.timedelta(hours=2, minutes=5, seconds=59), "2 h 5 min"),
        (dt.timedelta(days=1, hours=4), "1 d 4 h"),
        (dt.timedelta(days=40), "40 d"),
        (dt.timedelta(seconds=-90), "-1 min 30 s"),
    ],
)
def test_durations(delta: dt.timedelta, text: str) -> None:
    assert _duration(delta) == text


def test_edge_labels_only_when_few_edges(tmp_path: Path) -> None:
    few = embedded(jg.to_html(overlay(), tmp_path / "few.html"))
    many = embedded(jg.to_html(aggregate(), tmp_path / "many.html"))
    off = embedded(jg.to_html(overlay(), tmp_path / "off.html", edge_labels=False))
    assert len(few["edges"]) <= 60 < len(many["edges"])
    assert all("label" in e for e in few["edges"])
    assert not any("label" in e for e in many["edges"] + off["edges"])


def test_node_size_by_a_named_attribute(tmp_path: Path) -> None:
    graph = aggregate()
    data = embedded(jg.to_html(graph, tmp_path / "s.html", node_size="starts"))
    assert data["summary"]["node_size"] == "starts"
    largest = max(data["nodes"], key=lambda n: n["size"])["name"]
    assert graph.nodes[largest]["starts"] == max(s for _, s in graph.nodes(data="starts"))


def test_title_and_facts(tmp_path: Path) -> None:
    graph = journey()
    text = jg.to_html(graph, tmp_path / "j.html").read_text(encoding="utf-8")
    assert f"<h1>Journey {graph.graph['journey']}</h1>" in text
    assert f"events: {graph.graph['events']}" in text
    named = nx.DiGraph([("a", "b")], title="Archetype 0: browsers")
    assert "<h1>Archetype 0: browsers</h1>" in jg.to_html(named, tmp_path / "n.html").read_text()


def test_sixty_touchpoints_fit_in_a_small_file(tmp_path: Path) -> None:
    journeys = jg.mine(
        jg.read_events(datasets.generate(2_000, seed=1).events, **datasets.COLUMNS), by_channel=True
    )
    graph = journeys.aggregate_graph("customers")
    busiest = sorted(graph.nodes, key=lambda n: -graph.nodes[n]["visits"])[:60]
    path = jg.to_html(graph.subgraph(busiest), tmp_path / "sixty.html")
    assert len(embedded(path)["nodes"]) == 60
    assert path.stat().st_size <= 1_500_000


def test_parent_folders_are_created(tmp_path: Path) -> None:
    path = jg.to_html(plain(), str(tmp_path / "a" / "b" / "g.html"))
    assert path.exists()


BAD_ARGS: list[tuple[Any, dict[str, Any], str]] = [
    ("not a graph", {}, "networkx graph"),
    (nx.MultiDiGraph([(1, 2)]), {}, "multigraph"),
    ("aggregate", {"weight": "nope"}, "weight='nope' is not a number on"),
    ("journey", {"weight": "first_time"}, "numeric attributes every edge has: ['count'"),
    ("aggregate", {"weight": 3}, "weight must be the name"),
    ("aggregate", {"top_k": -1}, "top_k"),
    ("aggregate", {"top_k": 0}, "top_k"),
    ("aggregate", {"top_k": 1.5}, "top_k"),
    ("aggregate", {"top_k": True}, "top_k"),
    ("aggregate", {"min_weight": "5"}, "min_weight"),
    ("aggregate", {"min_weight": float("nan")}, "min_weight"),
    ("aggregate", {"height": 10}, "height"),
    ("aggregate", {"title": 5}, "title"),
    ("aggregate", {"node_size": "nope"}, "node_size='nope' is not a number on"),
]


@pytest.mark.parametrize(("graph", "kwargs", "message"), BAD_ARGS)
def test_bad_arguments(graph: Any, kwargs: dict[str, Any], message: str, tmp_path: Path) -> None:
    if isinstance(graph, str) and graph in GRAPHS:
        graph = GRAPHS[graph]()
    with pytest.raises(jg.JourneygraphError, match=re.escape(message)):
        jg.to_html(graph, tmp_path / "bad.html", **kwargs)
    assert not (tmp_path / "bad.html").exists()


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(jg.JourneygraphError, match="is a folder"):
        jg.to_html(plain(), tmp_path)


def test_to_html_is_public() -> None:
    assert "to_html" in jg.__all__
    assert jg.__all__ == sorted(jg.__all__)
