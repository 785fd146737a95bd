"""In a notebook: compact HTML summaries and graphs shown inline, offline."""

from __future__ import annotations

import html
import re
from pathlib import Path

import polars as pl

import journeygraph as jg
from journeygraph import datasets
from journeygraph.compare import DEVIATIONS

EVIL = "<b>&x</b>"


def analysed() -> tuple[jg.Journeys, jg.Divergence, jg.Archetypes]:
    sample = datasets.generate(400, seed=4)
    events = sample.events.with_columns(
        pl.when(pl.col("touchpoint") == "reviews")
        .then(pl.lit(EVIL))
        .otherwise(pl.col("touchpoint"))
        .alias("touchpoint")
    )
    journeys = jg.mine(jg.read_events(events, **datasets.COLUMNS))
    div = jg.compare(journeys, jg.JourneyMap.linear(datasets.IDEAL_STAGES))
    return journeys, div, jg.cluster(journeys, k=3, seed=0, jmap=div)


def test_summaries_say_what_they_hold_and_escape_names() -> None:
    journeys, div, arch = analysed()
    shown = journeys._repr_html_()
    assert f"{journeys.n_journeys:,} (customers)" in shown
    assert f"<td>{journeys.n_events:,}</td>" in shown
    assert EVIL not in shown
    d = div._repr_html_()
    assert f"{div.conformance:.1%}" in d
    assert all(f"<td>{kind}</td>" in d for kind in DEVIATIONS)
    a = arch._repr_html_()
    for row in arch.table.iter_rows(named=True):
        assert html.escape(row["description"]) in a
        assert html.escape(row["representative_path"]) in a
    assert EVIL not in a
    m = div.drivers(reached="purchase")
    shown_m = m._repr_html_()
    assert "reached purchase" in shown_m
    assert EVIL not in shown_m


def test_show_is_the_to_html_page_inline(tmp_path: Path) -> None:
    _, div, _ = analysed()
    graph = div.overlay_graph()
    written = jg.to_html(graph, tmp_path / "overlay.html").read_text(encoding="utf-8")
    shown = jg.show(graph)
    assert shown.html == written
    frame = shown._repr_html_()
    srcdoc = re.fullmatch(r'<iframe srcdoc="(.*)" style=.*', frame, flags=re.S)
    assert srcdoc is not None
    assert html.unescape(srcdoc.group(1)) == written
    assert 'sandbox="allow-scripts"' in frame
    assert re.search(r"(src|href)=\"https?://", written) is None  # nothing from any host
