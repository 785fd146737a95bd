"""Render the pictures of docs/archetypes.md into docs/img/.

Run from the repository root (needs matplotlib, not a dependency of
journeygraph: ``.venv/bin/pip install matplotlib``; and Chromium, see
``make chromium``)::

    .venv/bin/python docs/img/make_archetype_figures.py

Writes ``archetype-knee.png`` (how ``k="auto"`` chooses), ``archetype-profile.png``
(share, conformance and outcomes per archetype) and ``archetype-graph.png``
(one archetype graph in the browser). The data is seeded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from playwright.sync_api import sync_playwright

import journeygraph as jg
from journeygraph import datasets

OUT = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def knee(arch: jg.Archetypes, out: Path) -> None:
    sel = arch.model.selection_
    k = sel.get_column("k").to_numpy()
    ll = sel.get_column("loglik").to_numpy()
    x = (k - k[0]) / (k[-1] - k[0])
    y = (ll - ll.min()) / (ll.max() - ll.min())
    best = int(np.argmax(y - x))
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.plot(k, y, "o-", color="#3b5bdb", label="log-likelihood (scaled to 0..1)")
    ax.plot([k[0], k[-1]], [0, 1], "--", color="#868e96", label="chord between the ends")
    ax.vlines(k[best], x[best], y[best], color="#c92a2a", lw=2, label=f"knee: k = {k[best]}")
    ax.set_xlabel("number of archetypes k")
    ax.set_ylabel("scaled log-likelihood")
    ax.set_xticks(k)
    ax.legend(frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def profile(arch: jg.Archetypes, out: Path) -> None:
    table = arch.table
    labels = [f"{i}: {d.split(',')[0]}" for i, d in enumerate(table.get_column("description"))]
    columns = {
        "share of customers": ("share", "#3b5bdb"),
        "follow the map": ("conformance", "#2f9e44"),
        "converted": ("converted", "#f08c00"),
        "churned": ("churned", "#c92a2a"),
    }
    fig, ax = plt.subplots(figsize=(8, 3.8), dpi=100)
    width = 0.2
    at = np.arange(len(labels))
    for j, (name, (column, color)) in enumerate(columns.items()):
        values = table.get_column(column).to_numpy()
        ax.bar(at + (j - 1.5) * width, values, width, label=name, color=color)
    ax.set_xticks(at, labels, rotation=12, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False, ncols=4, loc="upper center", bbox_to_anchor=(0.5, 1.12), fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def screenshot(arch: jg.Archetypes, out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page_path = jg.to_html(arch.graph(1, min_support=0.15), Path(folder) / "a.html", height=520)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-rendered]", state="attached")
            page.screenshot(path=out)
            browser.close()


def main() -> None:
    data = datasets.generate(20_000, seed=0)
    journeys = jg.mine(jg.read_events(data.events, **datasets.COLUMNS))
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    outcomes = data.customers.rename({"customer_id": "customer"})
    arch = jg.cluster(journeys, k="auto", seed=0, jmap=jmap, customers=outcomes)
    knee(arch, OUT / "archetype-knee.png")
    profile(arch, OUT / "archetype-profile.png")
    screenshot(arch, OUT / "archetype-graph.png")


if __name__ == "__main__":
    main()
