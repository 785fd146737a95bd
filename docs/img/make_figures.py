"""Render the figures of docs/mining.md into docs/img/.

Run from the repository root (needs matplotlib, which is not a dependency of
journeygraph: ``.venv/bin/pip install matplotlib``)::

    .venv/bin/python docs/img/make_figures.py

Writes ``aggregate-graph.png`` (stage-level aggregate graph of generated
sample journeys) and ``journey-graph.png`` (one customer's journey graph).
The data is seeded, so the pictures are reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import polars as pl
from matplotlib.lines import Line2D

import journeygraph as jg
from journeygraph.datasets import IDEAL_STAGES, generate

OUT = Path(__file__).resolve().parent
MAP_COLOR = "#3b5bdb"  # forward along the journey map
BACK_COLOR = "#f08c00"  # backwards on the map
OFF_COLOR = "#c92a2a"  # to or from touchpoints that are not on the map
NODE_COLOR = "#e7ecff"
LOOP_COLOR = "#868e96"
ENTRY_COLOR = "#d3f9d8"
EXIT_COLOR = "#ffc9c9"
OFF_NODE_COLOR = "#ffe3e3"
DPI = 100
NODE_SIZE = 5200

SUPPORT = ("help_center", "support_chat", "support_call", "ticket")


def sample_log() -> jg.EventLog:
    data = generate(2_000, seed=7)
    return jg.read_events(
        data.events,
        customer="customer_id",
        timestamp="timestamp",
        touchpoint="touchpoint",
        channel="channel",
    )


def stage_journeys(log: jg.EventLog) -> jg.Journeys:
    """The code shown in docs/mining.md: touchpoints grouped into stages."""
    stage_of = {tp: stage for stage, tps in IDEAL_STAGES.items() for tp in tps}
    stage_of |= dict.fromkeys(SUPPORT, "Support")
    stage_of |= {"cancel": "Cancel", "survey": "Survey"}
    return jg.mine(log, rename=stage_of, collapse_repeats=True)


def draw_aggregate(journeys: jg.Journeys, path: Path) -> None:
    g = journeys.aggregate_graph(weight="customers")
    n_customers = journeys.n_journeys
    stages = list(IDEAL_STAGES)
    pos = {stage: (2.0 * i, 0.0) for i, stage in enumerate(stages)}
    pos |= {"Support": (5.0, -2.2), "Cancel": (9.0, -2.2), "Survey": (9.0, 2.2)}
    order = {stage: i for i, stage in enumerate(stages)}

    fig, ax = plt.subplots(figsize=(11, 5.6), dpi=DPI)
    shown = [(u, v, d) for u, v, d in g.edges(data=True) if d["customers"] >= 0.03 * n_customers]
    widest = max(d["customers"] for _, _, d in shown)
    for u, v, d in shown:
        if u not in order or v not in order:
            color = OFF_COLOR
        elif order[v] > order[u]:
            color = MAP_COLOR
        else:
            color = BACK_COLOR
        nx.draw_networkx_edges(
            g,
            pos,
            edgelist=[(u, v)],
            width=0.6 + 7.0 * d["customers"] / widest,
            edge_color=color,
            alpha=0.75,
            arrowsize=14,
            node_size=NODE_SIZE,
            connectionstyle="arc3,rad=0.25",
            ax=ax,
        )
    drawn = sorted({u for u, _, _ in shown} | {v for _, v, _ in shown})
    colors = [NODE_COLOR if n in order else OFF_NODE_COLOR for n in drawn]
    nx.draw_networkx_nodes(
        g,
        pos,
        nodelist=drawn,
        node_size=NODE_SIZE,
        node_color=colors,
        edgecolors="#495057",
        linewidths=1.0,
        ax=ax,
    )
    labels = {
        n: f"{n}\n{d['customers']:,} customers\nstart {d['starts']:,} · end {d['ends']:,}"
        for n, d in g.nodes(data=True)
        if n in drawn
    }
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=7, ax=ax)
    legend = [
        Line2D([0], [0], color=MAP_COLOR, lw=3, label="forward along the journey map"),
        Line2D([0], [0], color=BACK_COLOR, lw=3, label="backwards on the map"),
        Line2D([0], [0], color=OFF_COLOR, lw=3, label="to / from off-map touchpoints"),
    ]
    ax.legend(handles=legend, loc="upper left", fontsize=8, frameon=False)
    ax.set_title(
        f"Aggregate journey graph of {n_customers:,} sample customers, by stage "
        "(edge width = customers; edges with ≥ 3% of customers)",
        fontsize=10,
    )
    ax.set_xlim(-1.2, 11.2)
    ax.set_ylim(-3.1, 3.1)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def pick_customer(journeys: jg.Journeys) -> int:
    """A mid-sized journey with a self-loop, a backtrack and a revisit."""
    candidates = journeys.stats.filter(
        pl.col("events").is_between(10, 13),
        pl.col("touchpoints").is_between(6, 8),
        pl.col("self_loops") >= 1,
        pl.col("backtracks") >= 1,
        pl.col("revisits") >= 2,
    )
    return int(candidates.get_column("journey")[0])


def draw_journey(journeys: jg.Journeys, customer: int, path: Path) -> None:
    g = journeys.graph(customer)
    nodes = sorted(g.nodes(data=True), key=lambda item: item[1]["first_position"])
    # touchpoints left to right in order of first visit, zig-zagging up and down
    pos = {name: (1.6 * i, 0.9 if i % 2 else -0.9) for i, (name, _) in enumerate(nodes)}
    first = {name: d["first_position"] for name, d in nodes}
    fig, ax = plt.subplots(figsize=(11, 4.8), dpi=DPI)
    for u, v, d in g.edges(data=True):
        if u == v:
            color = LOOP_COLOR
        elif first[v] > first[u]:
            color = MAP_COLOR
        else:
            color = BACK_COLOR
        nx.draw_networkx_edges(
            g,
            pos,
            edgelist=[(u, v)],
            width=1.8 + 1.5 * (d["count"] - 1),
            edge_color=color,
            alpha=0.85,
            arrowsize=14,
            node_size=NODE_SIZE,
            connectionstyle="arc3,rad=0.2",
            ax=ax,
        )
    edge_labels = {(u, v): f"{d['count']}x" for u, v, d in g.edges(data=True) if d["count"] > 1}
    if edge_labels:
        nx.draw_networkx_edge_labels(
            g, pos, edge_labels=edge_labels, font_size=8, connectionstyle="arc3,rad=0.2", ax=ax
        )
    entry, exit_ = g.graph["entry"], g.graph["exit"]
    colors = [
        ENTRY_COLOR if n == entry else EXIT_COLOR if n == exit_ else NODE_COLOR for n in g.nodes
    ]
    nx.draw_networkx_nodes(
        g, pos, node_size=NODE_SIZE, node_color=colors, edgecolors="#495057", linewidths=1.0, ax=ax
    )
    labels = {
        n: f"{n}\nvisits {d['visits']}\nfirst at {d['first_position']}"
        for n, d in g.nodes(data=True)
    }
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=7, ax=ax)
    legend = [
        Line2D([0], [0], color=MAP_COLOR, lw=3, label="to a touchpoint seen for the first time"),
        Line2D([0], [0], color=BACK_COLOR, lw=3, label="back to a touchpoint seen before"),
        Line2D([0], [0], color=LOOP_COLOR, lw=3, label="self-loop"),
        Line2D(
            [0],
            [0],
            marker="o",
            lw=0,
            markersize=10,
            markerfacecolor=ENTRY_COLOR,
            markeredgecolor="#495057",
            label="entry",
        ),
        Line2D(
            [0],
            [0],
            marker="o",
            lw=0,
            markersize=10,
            markerfacecolor=EXIT_COLOR,
            markeredgecolor="#495057",
            label="exit",
        ),
    ]
    ax.legend(
        handles=legend,
        loc="lower center",
        ncol=5,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, -0.08),
    )
    s = g.graph
    ax.set_title(
        f"Journey graph of customer {customer}: {s['events']} events, "
        f"{s['touchpoints']} touchpoints, self_loops={s['self_loops']}, "
        f"revisits={s['revisits']}, backtracks={s['backtracks']}, cycles={s['cycles']}",
        fontsize=10,
    )
    xs = [x for x, _ in pos.values()]
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(-1.9, 1.9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def main() -> int:
    log = sample_log()
    by_stage = stage_journeys(log)
    draw_aggregate(by_stage, OUT / "aggregate-graph.png")
    journeys = jg.mine(log, session_gap="30m")
    customer = pick_customer(journeys)
    draw_journey(journeys, customer, OUT / "journey-graph.png")
    for name in ("aggregate-graph.png", "journey-graph.png"):
        size = (OUT / name).stat().st_size
        print(f"{OUT / name}: {size / 1024:.0f} KB")
        if size >= 200 * 1024:
            print("  too large (keep figures under 200 KB)", file=sys.stderr)
            return 1
    print(f"journey graph of customer {customer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def overlay_figure(out: Path) -> None:
    """docs/divergence.md: map moves (used / bypassed) and the busiest shadow paths."""
    sample = generate(5_000, seed=0)
    log = jg.read_events(
        sample.events, customer="customer_id", timestamp="timestamp", touchpoint="touchpoint"
    )
    jmap = jg.JourneyMap.linear(IDEAL_STAGES, optional=["Renew"])
    g = jg.compare(jg.mine(log), jmap).overlay_graph(top_shadow=8)
    stages = [n for n, d in g.nodes(data=True) if d["kind"] == "stage"]
    others = sorted(n for n, d in g.nodes(data=True) if d["kind"] != "stage")
    pos = {s: (2.0 * i, 0.0) for i, s in enumerate(stages)}
    pos |= {n: (1.0 + 2.2 * i, -1.6) for i, n in enumerate(others)}
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=110)
    top = max(d["journeys"] for *_, d in g.edges(data=True)) or 1
    for a, b, d in g.edges(data=True):
        shadow = d["kind"] == "shadow"
        nx.draw_networkx_edges(
            g,
            pos,
            edgelist=[(a, b)],
            ax=ax,
            width=0.8 + 7 * d["journeys"] / top,
            edge_color="#d0443e" if shadow else "#3b6fc6",
            style="dashed" if shadow else "solid",
            connectionstyle="arc3,rad=0.35" if shadow else "arc3,rad=0.0",
            arrowsize=14,
            node_size=2600,
            alpha=0.85,
        )
    reach = {s: g.nodes[s]["reach"] for s in stages}
    nx.draw_networkx_nodes(
        g, pos, nodelist=stages, node_color="#e8eefb", node_size=2600, edgecolors="#3b6fc6", ax=ax
    )
    nx.draw_networkx_nodes(
        g,
        pos,
        nodelist=others,
        node_color="#fbe9e8",
        node_size=1500,
        edgecolors="#d0443e",
        node_shape="s",
        ax=ax,
    )
    labels = {s: f"{s}\nreach {reach[s]:.0%}" for s in stages} | {n: n for n in others}
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=8, ax=ax)
    ax.legend(
        handles=[
            Line2D([], [], color="#3b6fc6", lw=3, label="map move (width: journeys)"),
            Line2D([], [], color="#d0443e", lw=2, ls="--", label="shadow path (off the map)"),
        ],
        loc="lower right",
        fontsize=8,
        frameon=False,
    )
    width = max(2.0 * (len(stages) - 1), 2.2 * max(len(others) - 1, 0) + 1.0)
    ax.set_xlim(-0.9, width + 0.9)
    ax.set_ylim(-2.3, 1.0)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out / "overlay.png")
    plt.close(fig)


if __name__ == "__main__" and "--overlay" in sys.argv:
    overlay_figure(Path(__file__).resolve().parent)
