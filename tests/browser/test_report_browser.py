"""jg.report in a real browser: offline, error-free, every section and graph there, names inert."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import journeygraph as jg
from journeygraph import datasets

OpenPage = Callable[..., AbstractContextManager[Any]]  # conftest's open_page: yields a Visit

EVIL_TOUCHPOINT = '<img src=x onerror="alert(1)">'
EVIL_PREFIX = "<script>alert(2)</script>"
K = 3
SECTIONS = [
    "findings",
    "headline",
    "leave",
    "map",
    "archetypes",
    "drivers",
    "perception",
    "funnel",
    "notes",
]

# per graph container: the nodes and edges vis-network holds, and what the page embedded
NETWORKS = """() => {
  const out = {};
  for (const [id, entry] of Object.entries(window.journeygraph.networks)) {
    const data = entry.network.body.data;
    out[id] = {
      nodes: data.nodes.get().map(n => n.name),
      edges: data.edges.get().length,
      embedded: [entry.data.nodes.length, entry.data.edges.length],
      canvas: document.getElementById(id).querySelectorAll("canvas").length,
    };
  }
  return out;
}"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, jg.EventLog, jg.JourneyMap]:
    data = datasets.generate(1_200, seed=5)
    ids = (EVIL_PREFIX + pl.col("customer_id").cast(pl.String)).alias("customer_id")
    events = data.events.with_columns(
        ids, pl.col("touchpoint").replace({"feature_use": EVIL_TOUCHPOINT})
    )
    log = jg.read_events(events, **datasets.COLUMNS)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    customers = data.customers.drop("archetype").with_columns(ids)
    folder = tmp_path_factory.mktemp("report")
    page = jg.report(log, jmap, folder, outcome="churned", customers=customers, k=K)
    return page, log, jmap


def test_report_opens_offline_complete_and_inert(open_page: OpenPage, made: Any) -> None:
    page, log, jmap = made
    journeys = jg.mine(log)
    overlay = jg.compare(journeys, jmap).overlay_graph(top_shadow=12)
    arch = jg.cluster(journeys, K, seed=0)
    with open_page(page, screenshot="report.png") as seen:
        seen.assert_clean()  # no request, no console error, no dialog
        for section in SECTIONS:
            assert seen.page.locator(f"section#{section} h2").is_visible()
        networks = seen.evaluate(NETWORKS)
        assert isinstance(networks, dict)
        expected = {"graph-overlay": overlay} | {
            f"graph-archetype-{i}": arch.graph(i, min_support=0.2) for i in range(K)
        }
        assert sorted(networks) == sorted(expected)
        for name, graph in expected.items():
            shown = networks[name]
            assert sorted(shown["nodes"]) == sorted(str(n) for n in graph.nodes)
            assert shown["edges"] == graph.number_of_edges()
            assert shown["embedded"] == [graph.number_of_nodes(), graph.number_of_edges()]
            assert shown["canvas"] == 1
        assert EVIL_TOUCHPOINT in networks["graph-overlay"]["nodes"]  # a node name, as data
        # the injected names are text on the page, not elements
        assert seen.evaluate("() => document.querySelectorAll('img').length") == 0
        assert seen.evaluate("() => document.scripts.length") == 2 + 1 + K
        headline = seen.page.locator('[data-kpi="exit"] b').inner_text()
        assert headline.startswith(EVIL_TOUCHPOINT)
        assert seen.page.locator("dd", has_text=EVIL_PREFIX).count() == K  # representatives
        assert seen.page.locator("svg.jg-chart").count() >= 4 + K


def test_full_size_graph_pages_open_clean(open_page: OpenPage, made: Any) -> None:
    page, _, _ = made
    for name in ("overlay.html", "archetype-0.html"):
        with open_page(page.parent / "graphs" / name) as seen:
            seen.assert_clean()
