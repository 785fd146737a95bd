"""jg.to_html pages in a real browser: offline, error-free, complete, names inert as text."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph import datasets

OpenPage = Callable[..., AbstractContextManager[Any]]  # conftest's open_page: yields a Visit

# names of the graph's nodes as the page's network holds them, and its edges as name pairs
NETWORK = """() => {
  const data = window.journeygraph.network.body.data;
  const names = {};
  data.nodes.get().forEach(n => { names[n.id] = n.name; });
  return {
    nodes: data.nodes.get().map(n => n.name),
    edges: data.edges.get().map(e => [names[e.from], names[e.to]]),
    embedded: window.journeygraph.data.edges.length,
    summary: window.journeygraph.data.summary,
  };
}"""

# how many canvas pixels are not white: proof that something was drawn
INK = """() => {
  const canvas = document.querySelector("#journeygraph-network canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 0 && (pixels[i] < 240 || pixels[i + 1] < 240 || pixels[i + 2] < 240)) ink++;
  }
  return ink;
}"""

# where a node is drawn, in page coordinates
NODE_AT = """(name) => {
  const network = window.journeygraph.network;
  const node = network.body.data.nodes.get().find(n => n.name === name);
  const at = network.canvasToDOM(network.getPosition(node.id));
  const box = document.getElementById("journeygraph-network").getBoundingClientRect();
  return [box.left + at.x, box.top + at.y];
}"""


@cache
def sample() -> jg.Journeys:
    data = datasets.generate(1_500, seed=3)
    return jg.mine(jg.read_events(data.events, **datasets.COLUMNS))


def network(seen: Any) -> dict[str, Any]:
    out = seen.evaluate(NETWORK)
    assert isinstance(out, dict)
    return out


def assert_same_graph(seen: Any, graph: nx.DiGraph[Any]) -> None:
    shown = network(seen)
    assert sorted(shown["nodes"]) == sorted(str(n) for n in graph.nodes)
    assert sorted(map(tuple, shown["edges"])) == sorted((str(u), str(v)) for u, v in graph.edges)


def test_aggregate_graph_renders_offline_and_complete(open_page: OpenPage, tmp_path: Path) -> None:
    graph = sample().aggregate_graph("customers")
    path = jg.to_html(graph, tmp_path / "aggregate.html")
    with open_page(path, screenshot="aggregate-graph.png") as seen:
        seen.assert_clean()
        assert seen.page.locator("#journeygraph-network canvas").count() == 1
        assert isinstance(ink := seen.evaluate(INK), int)
        assert ink > 1_000
        assert_same_graph(seen, graph)


def test_pruned_page_shows_what_it_says_it_kept(open_page: OpenPage, tmp_path: Path) -> None:
    graph = sample().aggregate_graph("customers")
    kept = sum(min(2, graph.out_degree(n)) for n in graph.nodes)
    path = jg.to_html(graph, tmp_path / "pruned.html", top_k=2)
    with open_page(path, screenshot="aggregate-top2.png") as seen:
        seen.assert_clean()
        shown = network(seen)
        assert len(shown["edges"]) == shown["embedded"] == shown["summary"]["edges_shown"] == kept
        assert sorted(shown["nodes"]) == sorted(graph.nodes)
        text = seen.page.locator(".jg-summary").inner_text()
        assert f"showing {kept:,} of {graph.number_of_edges():,} transitions" in text
        for source, target in shown["edges"]:
            assert graph.has_edge(source, target)


def test_journey_graph(open_page: OpenPage, tmp_path: Path) -> None:
    journeys = sample()
    busiest = journeys.stats.sort("events", descending=True)["journey"][0]
    graph = journeys.graph(busiest)
    path = jg.to_html(graph, tmp_path / "journey.html")
    with open_page(path, screenshot="journey-graph.png") as seen:
        seen.assert_clean()
        assert_same_graph(seen, graph)
        assert seen.page.locator("h1").text_content() == f"Journey {busiest}"


def test_overlay_stages_left_to_right_and_shadow_paths_dashed(
    open_page: OpenPage, tmp_path: Path
) -> None:
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES)
    graph = jg.compare(sample(), jmap).overlay_graph()
    path = jg.to_html(graph, tmp_path / "overlay.html")
    with open_page(path, screenshot="overlay.png") as seen:
        seen.assert_clean()
        assert_same_graph(seen, graph)
        xs = seen.evaluate("""() => {
          const network = window.journeygraph.network;
          const positions = network.getPositions();
          const x = {};
          network.body.data.nodes.get().forEach(n => { x[n.name] = positions[n.id].x; });
          return x;
        }""")
        assert isinstance(xs, dict)
        stages = sorted(
            (d["index"], n) for n, d in graph.nodes(data=True) if d.get("kind") == "stage"
        )
        assert [xs[n] for _, n in stages] == sorted(xs[n] for _, n in stages)
        assert len({xs[n] for _, n in stages}) == len(stages)
        dashed = seen.evaluate(
            "() => window.journeygraph.network.body.data.edges.get().filter(e => e.dashes).length"
        )
        assert dashed == sum(d["kind"] == "shadow" for _, _, d in graph.edges(data=True))


XSS = [
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    '<img src=x onerror="alert(3)">',
    "<!-- &amp; \"quoted\" 'single' -->",
]


def test_markup_in_names_stays_text(open_page: OpenPage, tmp_path: Path) -> None:
    graph: nx.DiGraph[str] = nx.DiGraph(title="<script>alert(4)</script>")
    nx.add_path(graph, XSS, count=3)
    path = jg.to_html(graph, tmp_path / "xss.html")
    with open_page(path, screenshot="xss.png") as seen:
        seen.assert_clean()
        assert seen.page.locator("h1").text_content() == "<script>alert(4)</script>"
        assert seen.page.title() == "<script>alert(4)</script>"
        assert seen.page.locator("img").count() == 0
        assert seen.page.locator("script").count() == 3  # vis-network, the data, the page's own
        assert_same_graph(seen, graph)
        # the tooltip shows the name as text
        x, y = seen.evaluate(NODE_AT, XSS[2])  # type: ignore[misc]
        seen.page.mouse.move(x, y)
        tooltip = seen.page.locator(".vis-tooltip")
        tooltip.wait_for(state="visible")
        assert (tooltip.text_content() or "").split("\n")[0] == XSS[2]
        assert tooltip.locator("img, script").count() == 0
        assert seen.dialogs == []


def test_harness_sees_requests_errors_and_dialogs(open_page: OpenPage, tmp_path: Path) -> None:
    """The checks above can fail: a page that does everything forbidden is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<img src="https://example.invalid/pixel.png"><img src="local.png">'
        "<script>console.error('broken'); alert('hi'); undefined_function();</script>",
        encoding="utf-8",
    )
    with open_page(page, ready=None) as seen:
        seen.page.wait_for_load_state("load")
        assert seen.external == ["https://example.invalid/pixel.png"]
        assert any(url.endswith("/local.png") for url in seen.requests)
        assert "console: broken" in seen.errors
        assert any(e.startswith("uncaught: ") and "undefined_function" in e for e in seen.errors)
        assert seen.dialogs == ["alert: hi"]


# names built from markup fragments and any printable character
names = st.lists(
    st.one_of(
        st.sampled_from(["<", ">", "&", '"', "'", "/", "</script>", "<!--", "\\", " ", "&amp;"]),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=8,
).map("".join)


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(touchpoints=st.lists(names, min_size=2, max_size=4, unique=True), title=names)
def test_any_touchpoint_name_renders_as_itself(
    open_page: OpenPage, touchpoints: list[str], title: str
) -> None:
    graph: nx.DiGraph[str] = nx.DiGraph()
    nx.add_path(graph, touchpoints, count=1)
    with tempfile.TemporaryDirectory() as folder:
        path = jg.to_html(graph, Path(folder) / "names.html", title=title)
        with open_page(path) as seen:
            seen.assert_clean()
            assert seen.page.locator("h1").text_content() == title
            assert_same_graph(seen, graph)
