"""Take the screenshots of docs/browser.md with headless Chromium.

Run from the repository root (after ``make chromium`` and the dev install)::

    .venv/bin/python docs/img/make_screenshots.py

Writes ``browser-aggregate.png`` (the sample's aggregate graph, top 3
transitions per touchpoint, with one tooltip open) and ``browser-overlay.png``
(the journeys against the ideal map). The data is seeded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

import journeygraph as jg
from journeygraph import datasets

OUT = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def hover(page: Page, name: str) -> None:
    """Move the mouse over the node called ``name`` so its tooltip shows."""
    x, y = page.evaluate(
        """(name) => {
          const network = window.journeygraph.network;
          const node = network.body.data.nodes.get().find(n => n.name === name);
          const at = network.canvasToDOM(network.getPosition(node.id));
          const box = document.getElementById("journeygraph-network").getBoundingClientRect();
          return [box.left + at.x, box.top + at.y];
        }""",
        name,
    )
    page.mouse.move(x, y)
    page.locator(".vis-tooltip").wait_for(state="visible")


def main() -> None:
    sample = datasets.generate(5_000, seed=0)
    log = jg.read_events(sample.events, **datasets.COLUMNS)
    journeys = jg.mine(log)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    with tempfile.TemporaryDirectory() as folder:
        pages = {
            "browser-aggregate": jg.to_html(
                journeys.aggregate_graph("customers"),
                Path(folder) / "all.html",
                top_k=3,
                height=560,
            ),
            "browser-overlay": jg.to_html(
                jg.compare(journeys, jmap).overlay_graph(top_shadow=12),
                Path(folder) / "overlay.html",
                height=520,
            ),
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, path in pages.items():
                page = browser.new_page(viewport={"width": 1000, "height": 740})
                page.goto(path.as_uri())
                page.wait_for_selector("body[data-rendered]", state="attached")
                if name == "browser-aggregate":
                    hover(page, "product_view")
                page.screenshot(path=OUT / f"{name}.png")
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
