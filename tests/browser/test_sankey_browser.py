"""Step flows as a Sankey page in a real browser: offline, error-free, every band drawn."""

from __future__ import annotations

import datetime as dt

import polars as pl

import journeygraph as jg

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

DRAWN = """() => ({
  links: document.querySelectorAll("#journeygraph-sankey path.jg-link").length,
  nodes: document.querySelectorAll("#journeygraph-sankey rect.jg-node").length,
  tips: Array.from(document.querySelectorAll("#journeygraph-sankey title")).map(t => t.textContent),
  height: document.querySelector("#journeygraph-sankey svg").getBoundingClientRect().height,
})"""


def test_sankey_renders_offline_with_numbers_on_hover(open_page, tmp_path):
    paths = ["home search product cart checkout pay", "search product cart help", "cart pay"]
    rows = [
        (f"u{i:03d}", T0 + dt.timedelta(hours=i, minutes=k), event)
        for i in range(60)
        for k, event in enumerate(paths[i % 3].split())
    ]
    frame = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row")
    log = jg.read_events(frame, customer="user", timestamp="ts", touchpoint="event")
    flows = jg.mine(log).flows(around="cart", before=2, after=2)
    path = jg.to_html(flows, tmp_path / "flows.html")
    with open_page(path, screenshot="sankey.png") as seen:
        seen.assert_clean()
        drawn = seen.evaluate(DRAWN)
    assert drawn["links"] == flows.links.height
    assert drawn["nodes"] == flows.nodes.height
    assert drawn["height"] > 100
    assert "cart → checkout (step 0 → 1): 20 journeys, 33.3%" in drawn["tips"]
