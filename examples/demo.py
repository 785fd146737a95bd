"""The demo behind ``make demo``: generate sample events, mine them, write an HTML summary.

Run ``python examples/demo.py --out out/demo [--customers 20000]``. Writes the
generated events as Parquet (so the demo reads a real file, as a user would)
and ``report.html``, a self-contained page that opens offline.
"""

from __future__ import annotations

import argparse
import html
import time
from pathlib import Path

import polars as pl

import journeygraph as jg
from journeygraph import datasets


def table(frame: pl.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A polars frame as an HTML table, every value escaped."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column, value in row.items():
            text = formats[column].format(value) if column in formats else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def bars(frame: pl.DataFrame, label: str, value: str) -> str:
    """A horizontal bar chart in plain HTML/CSS."""
    top = max(frame.get_column(value).max() or 1, 1)  # type: ignore[type-var]
    rows = []
    for row in frame.iter_rows(named=True):
        width = 100 * row[value] / top
        rows.append(
            f"<div class='bar'><span>{html.escape(str(row[label]))}</span>"
            f"<i style='width:{width:.1f}%'></i><b>{row[value]:,}</b></div>"
        )
    return "".join(rows)


STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#1d2433}
h1{margin-bottom:0}.sub{color:#667}
.kpis{display:flex;gap:1em;flex-wrap:wrap;margin:1.5em 0}
.kpi{background:#f3f5f9;border-radius:8px;padding:.8em 1.2em;min-width:150px}
.kpi b{display:block;font-size:1.6em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #e3e6ee;padding:.3em .6em;text-align:left;font-size:.9em}
.bar{display:grid;grid-template-columns:160px 1fr 80px;align-items:center;gap:.5em;margin:2px 0}
.bar i{background:#4a7bd0;height:14px;border-radius:3px;display:block}
.bar b{font-weight:normal;text-align:right}
.bar.ideal i{background:#9aa5b8}
"""


def divergence_html(div: jg.Divergence) -> str:
    """Conformance, stage reach, shadow paths and churn drivers."""
    reach = div.stage_reach()
    rows = "".join(
        f"<div class='bar'><span>{html.escape(r['stage'])}</span>"
        f"<i style='width:{100 * r['reach']:.1f}%'></i><b>{r['reach']:.0%}</b></div>"
        f"<div class='bar ideal'><span></span>"
        f"<i style='width:{100 * r['reach_ideal']:.1f}%'></i><b>{r['reach_ideal']:.0%}</b></div>"
        for r in reach.iter_rows(named=True)
    )
    shadow = div.overlay().filter(pl.col("kind") == "shadow").head(8)
    drivers = (
        div.drivers("churned")
        .filter(pl.col("significant"))
        .head(8)
        .select("feature", "customers", "with", "without", "lift")
    )
    return f"""
<h2>Against the journey map</h2>
<p>{div.conformance:.0%} of customers follow the ideal map
({html.escape(" → ".join(div.jmap.stage_names))}) without any deviation.
Blue: share reaching each stage by any path; grey: along the map, with no
deviation before.</p>
{rows}
<h2>Shadow paths: busiest steps the map does not have</h2>
{table(shadow.select("source", "target", "journeys"), {"journeys": "{:,}"})}
<h2>What goes with churn</h2>
<p>Churn rate with and without each feature (association, not cause).</p>
{table(drivers, {"with": "{:.0%}", "without": "{:.0%}", "lift": "{:.1f}", "customers": "{:,}"})}
"""


def report(journeys: jg.Journeys, seconds: float, div: jg.Divergence | None = None) -> str:
    stats = journeys.stats
    n = journeys.n_journeys
    looped = stats.filter(pl.col("cycles") > 0).height / n
    backtracked = stats.filter(pl.col("backtracks") > 0).height / n
    median_len = stats.get_column("events").median()
    kpis = [
        ("customers", f"{n:,}"),
        ("events", f"{journeys.n_events:,}"),
        ("touchpoints", f"{len(journeys.touchpoints)}"),
        ("median events / journey", f"{median_len:g}"),
        ("journeys with a loop", f"{looped:.0%}"),
        ("journeys that backtrack", f"{backtracked:.0%}"),
    ]
    variants = (
        journeys.variants()
        .head(10)
        .with_columns(pl.col("variant").list.eval(pl.element().cast(pl.String)).list.join(" → "))
    )
    distinct = journeys.variants().height
    transitions = (
        journeys.aggregate_edges.sort("customers", descending=True)
        .head(15)
        .select("source", "target", "customers", "events", "p_next", "median_time")
    )
    entries = journeys.aggregate_nodes.sort("starts", descending=True).head(8)
    exits = journeys.aggregate_nodes.sort("ends", descending=True).head(8)
    kpi_html = "".join(f"<div class='kpi'>{html.escape(k)}<b>{v}</b></div>" for k, v in kpis)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>journeygraph demo</title>
<style>{STYLE}</style></head><body>
<h1>Customer journeys</h1>
<p class="sub">Mined by journeygraph {jg.__version__} in {seconds:.2f} s from generated sample
data. {html.escape(str(journeys.report)).replace(chr(10), "; ")}</p>
<div class="kpis">{kpi_html}</div>
<h2>Where journeys start</h2>{bars(entries, "touchpoint", "starts")}
<h2>Where journeys end</h2>{bars(exits, "touchpoint", "ends")}
<h2>Most common paths</h2>
<p>{distinct:,} distinct paths; the ten most common cover
{variants.get_column("cumulative_share").max():.0%} of customers.</p>
{
        table(
            variants.select("variant", "journeys", "share", "cumulative_share"),
            {"share": "{:.1%}", "cumulative_share": "{:.1%}", "journeys": "{:,}"},
        )
    }
<h2>Busiest transitions</h2>
{table(transitions, {"p_next": "{:.2f}", "customers": "{:,}", "events": "{:,}"})}
{divergence_html(div) if div is not None else ""}
</body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    sample = datasets.generate(args.customers, seed=args.seed)
    events_path = args.out / "events.parquet"
    sample.events.write_parquet(events_path)

    start = time.perf_counter()
    log = jg.read_events(events_path, **datasets.COLUMNS)
    journeys = jg.mine(log, session_gap="30m")
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    customers = sample.customers.rename({"customer_id": "customer"})
    div = jg.compare(journeys, jmap, customers=customers)
    page = report(journeys, time.perf_counter() - start, div)
    seconds = time.perf_counter() - start

    path = args.out / "report.html"
    path.write_text(page, encoding="utf-8")
    print(journeys)
    print(journeys.report)
    print(div)
    print(f"mined and reported in {seconds:.2f} s")
    print(f"report written to {path.resolve()}")


if __name__ == "__main__":
    main()
