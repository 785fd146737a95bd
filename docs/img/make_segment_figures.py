"""Render the pictures of the funnel, contrast, changes and flows pages into docs/img/.

Run from the repository root (needs matplotlib, not a dependency of
journeygraph, and Chromium, see ``make chromium``)::

    PYTHONPATH=src:tests .venv/bin/python docs/img/make_segment_figures.py

Uses the planted-stories log of the test suite (``tests/planted.py``): an
error page for app users in weeks 8-10, payments halving in weeks 15-17,
loyal customers adding to the cart more often. Seeded.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl
from planted import stories_log

import journeygraph as jg

OUT = Path(__file__).resolve().parent


def shot(page: Path, out: Path, size: str = "1200,760") -> None:
    subprocess.run(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--virtual-time-budget=5000", f"--screenshot={out}", f"--window-size={size}",
         page.as_uri()],
        check=True, capture_output=True,
    )  # fmt: skip


def main() -> None:
    events, customers = stories_log(0)
    log = jg.read_events(
        events, customer="user_id", timestamp="ts", touchpoint="event", channel="platform"
    )
    sessions = jg.mine(log, session_gap="30m", journey="session")
    tmp = Path(tempfile.mkdtemp())

    # what changed: the payment transition against its baseline, week by week
    ch = jg.changes(sessions, every="1w")
    s = ch.series("transition", "checkout → payment_done")
    fig, ax = plt.subplots(figsize=(7.2, 3.2), dpi=100)
    x = s.get_column("period_start").to_list()
    ax.plot(x, s.get_column("rate"), marker="o", color="#4263eb", label="rate this week")
    ax.plot(x, s.get_column("baseline"), ls="--", color="#868e96", label="baseline")
    flagged = s.filter("flagged")
    ax.scatter(flagged.get_column("period_start").to_list(), flagged.get_column("rate"),
               s=90, facecolors="none", edgecolors="#e03131", linewidths=2,
               label="flagged (q < 0.05)", zorder=3)  # fmt: skip
    ax.set_ylabel("P(payment_done | checkout)")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower left", frameon=False)
    ax.set_title("checkout → payment_done, sessions starting each week")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(OUT / "changes-series.png")
    plt.close(fig)

    # funnel: loyal against new customers
    f = jg.funnel(sessions, ["product", "cart", "checkout", "payment_done"], by="tier",
                  customers=customers)  # fmt: skip
    fig, ax = plt.subplots(figsize=(7.2, 3.2), dpi=100)
    for i, (segment, colour) in enumerate((("loyal", "#4263eb"), ("new", "#f08c00"))):
        rows = f.table.filter(pl.col("segment") == segment)
        xs = [k + (i - 0.5) * 0.38 for k in range(rows.height)]
        ax.bar(xs, rows.get_column("conversion_first"), width=0.36, color=colour, label=segment)
        for xx, v in zip(xs, rows.get_column("conversion_first"), strict=True):
            ax.text(xx, v + 0.02, f"{v:.0%}", ha="center", fontsize=8)
    ax.set_xticks(range(4), f.steps)
    ax.set_ylabel("of journeys reaching step 1")
    ax.set_ylim(0, 1.12)
    ax.legend(frameon=False)
    ax.set_title("Funnel by customer tier (sessions)")
    fig.tight_layout()
    fig.savefig(OUT / "funnel.png")
    plt.close(fig)

    c = jg.contrast(sessions, by="tier", customers=customers)
    shot(jg.to_html(c.graph("loyal"), tmp / "diff.html"), OUT / "contrast-graph.png")
    flows = sessions.flows(around="cart", before=3, after=3, top=5)
    shot(jg.to_html(flows, tmp / "flows.html"), OUT / "flows-sankey.png", "1400,720")


if __name__ == "__main__":
    main()
