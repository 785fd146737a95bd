"""The page shell shared by `render` and the report (internal).

Everything around a drawing that makes a page: the CSS, the inlined
vis-network assets, the Content-Security-Policy, the JSON payload escaping,
and the formatting helpers that turn numbers, shares and durations into what
a person reads. `render` draws graphs into a `Drawing`; `write` puts one on a
page of its own; the report's page (``_report_html``) reuses the same pieces.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "CSS",
    "HEIGHT",
    "Drawing",
    "count",
    "duration",
    "format_value",
    "html_summary",
    "is_int",
    "json_payload",
    "legend_items",
    "page_html",
    "policy",
    "summary_line",
    "text",
    "vis_assets",
    "write",
]

# Attributes that hold a share in [0, 1]: shown as percentages.
_SHARES = frozenset(
    {
        "share",
        "p_next",
        "p_prev",
        "reach",
        "reach_ideal",
        "drop_off",
        "fitness",
        "conformance",
        "support",
    }
)


_MANY_EDGES = 150  # more unpruned edges than this: the page suggests pruning


HEIGHT = 700  # px: the drawing on a page of its own


@dataclass(frozen=True)
class Drawing:
    """A graph ready for the page: its heading, notes, legend and vis-network data."""

    heading: str
    summary: Mapping[str, Any]
    facts: list[str]
    legend: list[tuple[str, str]]
    data: Mapping[str, Any]  # nodes, edges, options and summary, embedded as JSON


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def text(value: Any) -> str:
    """``str(value)`` as valid Unicode (lone surrogates cannot be written as UTF-8)."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def format_value(name: str, value: Any) -> str | None:
    """A value as a person reads it; None for values not worth showing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.timedelta):
        return duration(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_int(value):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            return str(number)
        if name in _SHARES:
            return f"{number:.1%}".replace("%", " %")
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        return f"{number:,.2f}" if abs(number) >= 0.01 else f"{number:.3g}"
    if isinstance(value, str):
        return text(value)
    shown = text(value)
    return shown if len(shown) <= 80 else shown[:79] + "…"


def duration(value: dt.timedelta | None, *, coarse: bool = False) -> str:
    """A duration as a person reads it: ``3 min 20 s``, ``2 h 5 min``, ``1 d 4 h``.

    Two units at most. ``coarse=True`` gives one rounded unit, for a phrase:
    ``40 s``, ``3 min``, ``2 h``, ``5 days`` (days from two days on). None
    reads ``no time``.
    """
    if value is None:
        return "no time"
    seconds = value.total_seconds()
    if coarse:
        for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size * (2 if unit == "days" else 1):
                return f"{seconds / size:.0f} {unit}"
        return f"{seconds:.0f} s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f} ms"
    if seconds < 10 and not seconds.is_integer():
        return f"{sign}{seconds:.1f} s"
    whole = round(seconds)
    steps = [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)]
    for k, (unit, size) in enumerate(steps):
        if whole >= size:
            big, rest = divmod(whole, size)
            if k + 1 == len(steps):
                return f"{sign}{big} {unit}"
            small_unit, small_size = steps[k + 1]
            small = rest // small_size
            return f"{sign}{big} {unit}" + (f" {small} {small_unit}" if small else "")
    return f"{sign}0 s"  # pragma: no cover - whole >= 1 here


@cache
def vis_assets() -> tuple[str, str]:
    """vis-network's script as shipped in the pyvis package, and its tooltip CSS."""
    lib = resources.files("pyvis") / "lib" / "vis-9.1.2"
    script = (lib / "vis-network.min.js").read_text(encoding="utf-8")
    # the source map is not shipped; a browser's developer tools would try to fetch it
    script = re.sub(r"^//# sourceMappingURL=.*$", "", script, flags=re.M)
    css = (lib / "vis-network.css").read_text(encoding="utf-8")
    tooltip = css[css.index("div.vis-tooltip{") :]
    return script, tooltip[: tooltip.index("}") + 1]


_APP = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("journeygraph-data").textContent);
  function tip(text) {
    var box = document.createElement("div");
    box.className = "jg-tip";
    box.textContent = text;  /* text, never markup */
    return box;
  }
  var nodes = data.nodes.map(function (n) { return Object.assign({}, n, {title: tip(n.title)}); });
  var edges = data.edges.map(function (e) { return Object.assign({}, e, {title: tip(e.title)}); });
  var container = document.getElementById("journeygraph-network");
  var network = new vis.Network(
    container, {nodes: new vis.DataSet(nodes), edges: new vis.DataSet(edges)}, data.options);
  network.once("afterDrawing", function () {
    document.body.setAttribute("data-rendered", "true");
  });
  network.fit();
  window.journeygraph = {network: network, data: data};
})();
"""


CSS = """
body { font-family: sans-serif; margin: 16px; color: #212529; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 4px; }
p { margin: 4px 0; }
.jg-summary { color: #495057; }
.jg-facts { color: #868e96; font-size: 0.85em; }
#journeygraph-network { width: 100%; border: 1px solid #dee2e6; margin: 8px 0; }
.jg-legend { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap;
             gap: 6px 20px; font-size: 0.85em; color: #495057; }
.jg-legend li { display: flex; align-items: center; gap: 6px; }
.jg-swatch { display: inline-block; width: 14px; height: 14px; border: 2px solid transparent;
             box-sizing: border-box; }
.jg-tip { white-space: pre-line; font-family: sans-serif; font-size: 13px; }
"""


def write(drawing: Drawing, target: Path, *, height: int = HEIGHT) -> Path:
    """Write ``drawing`` as a `to_html` page (the report writes its full-size graphs so)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_page(drawing, height=height), encoding="utf-8", newline="\n")
    return target


def page_html(drawing: Drawing, *, height: int = HEIGHT) -> str:
    """The `to_html` page of ``drawing`` as text (for `show`)."""
    return _page(drawing, height=height)


def divergence_summary(div: Any) -> str:
    """`html_summary` of a `Divergence` or a Spark one (``summary()``, ``jmap``): conformance,
    fitness, each deviation's share."""
    import polars as pl

    from ._deviations import NAMES

    row = div.summary().row(0, named=True)
    items = [
        ("journeys", f"{row['journeys']:,}"),
        ("stages", " \u2192 ".join(div.jmap.stage_names)),
        ("follow the map without a deviation", f"{row['conformance']:.1%}"),
        ("mean fitness", f"{row['mean_fitness']:.3f}"),
    ]
    kinds = pl.DataFrame({"deviation": list(NAMES), "share of journeys": [row[k] for k in NAMES]})
    return html_summary(repr(div), items, kinds)


def archetypes_summary(arch: Any) -> str:
    """`html_summary` of `Archetypes` or Spark ones (``table``, ``journeys``): one row per
    archetype, with its path."""
    table = arch.table.select("archetype", "size", "share", "description", "representative_path")
    return html_summary(repr(arch), [("journeys", f"{arch.journeys.n_journeys:,}")], table)


def html_summary(
    heading: str, items: Sequence[tuple[str, str]], frame: pl.DataFrame | None = None
) -> str:
    """A compact notebook summary: a heading, key facts, and optionally a small table.

    Every value is escaped; floats in ``frame`` are shown with 3 significant digits."""
    e = html.escape
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in items)
    table = ""
    if frame is not None and frame.height:
        head = "".join(f"<th>{e(c)}</th>" for c in frame.columns)

        def cell(v: object) -> str:
            if isinstance(v, float):
                return e(f"{v:.3g}")
            return e("" if v is None else str(v))

        body = "".join(
            "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
            for row in frame.iter_rows()
        )
        table = f'<table class="jg-table"><tr>{head}</tr>{body}</table>'
    return (
        f'<div class="journeygraph"><strong>{e(heading)}</strong>'
        f"<table>{facts}</table>{table}</div>"
    )


def _page(drawing: Drawing, *, height: int) -> str:
    script, tooltip_css = vis_assets()
    e = html.escape
    facts_line = " · ".join(e(f) for f in drawing.facts)
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{policy(script, _APP)}">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            '<meta name="generator" content="journeygraph">\n',
            f"<title>{e(drawing.heading)}</title>\n",
            f"<style>{CSS}{tooltip_css}\n",
            f"#journeygraph-network {{ height: {int(height)}px; }}</style>\n",
            f"<script>{script}</script>\n</head>\n<body>\n",
            f"<h1>{e(drawing.heading)}</h1>\n",
            f'<p class="jg-summary">{e(summary_line(drawing.summary))}</p>\n',
            f'<p class="jg-facts">{facts_line}</p>\n' if facts_line else "",
            '<div id="journeygraph-network"></div>\n',
            f'<ul class="jg-legend">{legend_items(drawing.legend)}</ul>\n',
            '<script type="application/json" id="journeygraph-data">',
            f"{json_payload(drawing.data)}</script>\n",
            f"<script>{_APP}</script>\n</body>\n</html>\n",
        ]
    )


def policy(*scripts: str) -> str:
    """A Content-Security-Policy: no request to any host; only ``scripts`` run (by hash)."""
    return (
        "default-src 'none'; "
        f"script-src {' '.join(_hash(s) for s in scripts)}; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:"
    )


def json_payload(data: Any) -> str:
    """``data`` as JSON to embed in a ``<script type="application/json">`` element."""
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    # inside <script>, "</script" or "<!--" would end or change the element: escape < > &
    return payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def legend_items(legend: Iterable[tuple[str, str]]) -> str:
    e = html.escape
    return "".join(
        f'<li><span class="jg-swatch" style="{e(css)}"></span>{e(text)}</li>'
        if css
        else f"<li>{e(text)}</li>"
        for css, text in legend
    )


def summary_line(summary: Mapping[str, Any]) -> str:
    nodes, total, shown = summary["nodes"], summary["edges"], summary["edges_shown"]
    stages = summary["stages"]
    if stages is None:
        line = f"{count(nodes, 'touchpoint')}; "
    else:
        line = f"{count(stages, 'stage')} and {count(nodes - stages, 'touchpoint')} off the map; "
    if shown == total:
        hint = " Thin them out with top_k= or min_weight=." if total > _MANY_EDGES else ""
        return line + f"{count(total, 'transition')}.{hint}"
    rules = []
    if summary["min_weight"] is not None:
        rules.append(
            f"{summary['weight']} ≥ {format_value(summary['weight'], summary['min_weight'])}"
        )
    if summary["top_k"] is not None:
        rules.append(f"the top {summary['top_k']} per node by {summary['weight']}")
    return (
        line + f"showing {shown:,} of {total:,} transitions ({', '.join(rules)}; "
        f"{total - shown:,} pruned)."
    )


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def typical(events: float, span: dt.timedelta | None, *, coarse: bool = False) -> str:
    """A typical journey in words: ``5 events over 3 min 2 s``; one event has no duration.

    >>> typical(5, dt.timedelta(seconds=182)), typical(1, dt.timedelta(0))
    ('5 events over 3 min 2 s', '1 event')
    """
    what = f"{events:g} event" + ("" if events == 1 else "s")
    if events <= 1 and not span:
        return what
    return f"{what} over {duration(span, coarse=coarse)}"


def _hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
