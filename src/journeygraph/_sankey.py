"""A `Flows` as one self-contained Sankey page: d3-sankey's layout, inlined, drawn as SVG.

The layout is d3-sankey's (vendored unchanged in ``_vendor/d3`` with its
dependencies and licenses); this module only lays the columns out by step
offset and draws the nodes and links, with every number on hover. Like every
journeygraph page it loads nothing from any host (a Content-Security-Policy
allows only these scripts, by hash).
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _page

if TYPE_CHECKING:
    from .flows import Flows

_LIBRARIES = ("d3-array", "d3-path", "d3-shape", "d3-sankey")

_APP = r"""(function () {
  const data = JSON.parse(document.getElementById("journeygraph-flows").textContent);
  const columns = data.offsets.length;
  const width = Math.max(900, 190 * columns), height = data.height;
  const svgNS = "http://www.w3.org/2000/svg";
  const palette = ["#4263eb", "#0ca678", "#f08c00", "#ae3ec9", "#1098ad", "#e8590c",
                   "#5c940d", "#d6336c", "#3b5bdb", "#f59f00"];
  const special = {"other": "#adb5bd", "(start)": "#495057", "(end)": "#212529"};
  function colour(name) {
    if (special[name]) return special[name];
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return palette[h % palette.length];
  }
  const fmt = n => n.toLocaleString("en-US");
  const pct = s => (100 * s).toFixed(1) + "%";
  const graph = d3.sankey()
    .nodeId(d => d.id)
    .nodeAlign(d => d.column)
    .nodeSort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1))
    .nodeWidth(14).nodePadding(12)
    .extent([[8, 24], [width - 150, height - 8]])({
      nodes: data.nodes.map(d => Object.assign({}, d)),
      links: data.links.map(d => Object.assign({}, d)),
    });
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  function el(name, attrs, parent, tip) {
    const e = document.createElementNS(svgNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (tip) {
      const t = document.createElementNS(svgNS, "title");
      t.textContent = tip;
      e.appendChild(t);
    }
    parent.appendChild(e);
    return e;
  }
  const heads = el("g", {"class": "jg-heads"}, svg);
  data.offsets.forEach((o, i) => {
    const x = 8 + i * ((width - 150 - 8 - 14) / Math.max(columns - 1, 1));
    const t = el("text", {x: x, y: 14, "font-size": 12, fill: "#495057"}, heads);
    t.textContent = o === 0 ? data.around : (o > 0 ? "+" + o : String(o));
  });
  const links = el("g", {"class": "jg-links", fill: "none"}, svg);
  const path = d3.sankeyLinkHorizontal();
  graph.links.forEach(l => {
    el("path", {d: path(l), stroke: colour(l.source.name), "stroke-opacity": 0.35,
                "stroke-width": Math.max(1, l.width), "class": "jg-link"}, links,
       `${l.source.name} → ${l.target.name} (step ${l.offset} → ${l.offset + 1}): ` +
       `${fmt(l.value)} journeys, ${pct(l.share)}`);
  });
  const nodes = el("g", {"class": "jg-nodes"}, svg);
  graph.nodes.forEach(n => {
    const hidden = n.hidden ? ` (sums ${n.hidden} touchpoints)` : "";
    el("rect", {x: n.x0, y: n.y0, width: n.x1 - n.x0, height: Math.max(1, n.y1 - n.y0),
                fill: colour(n.name), "class": "jg-node"}, nodes,
       `${n.name}${hidden} at step ${n.offset}: ${fmt(n.journeys)} journeys, ${pct(n.share)}`);
    if (n.y1 - n.y0 >= 9) {
      const label = el("text", {x: n.x1 + 4, y: (n.y0 + n.y1) / 2 + 4, "font-size": 11,
                                fill: "#212529"}, nodes);
      label.textContent = `${n.name} ${pct(n.share)}`;
    }
  });
  document.getElementById("journeygraph-sankey").appendChild(svg);
  window.journeygraph = {data: data, graph: graph};
  document.body.setAttribute("data-rendered", "");
})();
"""

_CSS = """
body { font-family: sans-serif; margin: 16px; color: #212529; background: #fff; }
.jg-summary { color: #495057; }
#journeygraph-sankey { overflow-x: auto; border: 1px solid #dee2e6; margin: 8px 0; }
.jg-link:hover { stroke-opacity: 0.65; }
"""


@cache
def _library(name: str) -> str:
    return (
        resources.files("journeygraph")
        .joinpath("_vendor", "d3", f"{name}.min.js")
        .read_text(encoding="utf-8")
    )


def payload(flows: Flows) -> dict[str, Any]:
    """The nodes and links as d3-sankey takes them, with every number for the tooltips."""
    offsets = list(range(-flows.before, flows.after + 1))
    nodes = [
        {
            "id": f"{row['offset']}|{row['touchpoint']}",
            "name": row["touchpoint"],
            "offset": row["offset"],
            "column": row["offset"] + flows.before,
            "journeys": row["journeys"],
            "share": row["share"],
            "hidden": row["hidden"],
        }
        for row in flows.nodes.iter_rows(named=True)
    ]
    links = [
        {
            "source": f"{row['offset']}|{row['source']}",
            "target": f"{row['offset'] + 1}|{row['target']}",
            "value": row["journeys"],
            "offset": row["offset"],
            "share": row["share"],
        }
        for row in flows.links.iter_rows(named=True)
    ]
    tallest = max((len(flows.nodes.filter(flows.nodes["offset"] == o)) for o in offsets), default=1)
    return {
        "around": flows.around,
        "offsets": offsets,
        "journeys": flows.journeys,
        "nodes": nodes,
        "links": links,
        "height": max(420, 70 * tallest),
    }


def write(flows: Flows, target: Path, *, title: str | None = None) -> Path:
    """Write ``flows`` as a Sankey page at ``target``."""
    libraries = [_library(name) for name in _LIBRARIES]
    heading = title or f"What journeys did around {flows.around}"
    data = _page.json_payload(payload(flows))
    other = flows.nodes.filter(flows.nodes["touchpoint"] == "other")
    hidden = float(other["journeys"].sum()) / max(
        flows.journeys * len(flows.nodes["offset"].unique()), 1
    )
    summary = (
        f"{flows.journeys:,} journeys aligned on their first {flows.around}; "
        f"{flows.before} steps before and {flows.after} after; the top {flows.top} touchpoints per "
        f"step, the rest summed as “other” ({hidden:.1%} of all steps shown). "
        "Hover over a node or a band for its numbers."
    )
    policy = _page.policy(*libraries, _APP)
    e = html.escape
    page = "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n',
            '<meta name="generator" content="journeygraph">\n',
            f"<title>{e(heading)}</title>\n<style>{_CSS}</style>\n",
            *[f"<script>{s}</script>\n" for s in libraries],
            "</head>\n<body>\n",
            f'<h1>{e(heading)}</h1>\n<p class="jg-summary">{e(summary)}</p>\n',
            '<div id="journeygraph-sankey"></div>\n',
            '<p class="jg-summary">Layout: d3-sankey (BSD-3-Clause), inlined.</p>\n',
            f'<script type="application/json" id="journeygraph-flows">{data}</script>\n',
            f"<script>{_APP}</script>\n</body>\n</html>\n",
        ]
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8", newline="\n")
    return target
