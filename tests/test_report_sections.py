"""The report's sections are data: one `Section` each, in page order.

Adding a section is one object: its render (and its own numbers) shows up on
the page with its navigation link, in the place given; a section that is not
shown leaves neither.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl

import journeygraph as jg
from journeygraph import datasets
from journeygraph._facts import Facts, facts_of
from journeygraph._report_html import SECTIONS, Drawings, Section, page, section_facts
from journeygraph.render import draw
from journeygraph.report import REPORT_SECTIONS

K = 2


@cache
def facts() -> Facts:
    sample = datasets.generate(200, seed=5)
    log = jg.read_events(sample.events, **datasets.COLUMNS)
    table = sample.customers.rename({"customer_id": "customer"})
    journeys = jg.mine(log)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    div = jg.compare(journeys, jmap, customers=table)
    arch = jg.cluster(journeys, K, jmap=div, customers=table)
    return facts_of(
        journeys, div, arch, customers=table, outcome="churned", outcome_kind="rate",
        score=None, proposed=None, k_asked=K, seed=0, top_shadow=12, top_drivers=10,
    )  # fmt: skip


@cache
def drawings() -> Drawings:
    f = facts()
    return Drawings(draw(f.overlay), [draw(g) for g in f.archetype_graphs])


def section_ids(text: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', text)


def nav_links(text: str) -> list[str]:
    nav = re.search(r'<nav class="jg-nav">(.*?)</nav>', text)
    assert nav is not None
    return re.findall(r'<a href="#([^"]+)">', nav.group(1))


def test_each_shown_section_is_on_the_page_once_in_order_with_its_link() -> None:
    text = page(facts(), drawings(), own=section_facts(facts()), title="t")
    shown = [s.key for s in SECTIONS if s.shown(facts())]
    assert section_ids(text) == shown
    assert nav_links(text) == shown
    assert "perception" not in shown  # no survey score was given
    assert len({s.key for s in SECTIONS}) == len(SECTIONS)


def test_adding_a_section_is_one_object() -> None:
    def busiest(f: Facts) -> pl.DataFrame:
        # numbers of its own, from the analyses, computed before the page
        return f.journeys.aggregate_edges.sort("events", descending=True, maintain_order=True)[:1]

    def render(f: Facts, d: Drawings, own: pl.DataFrame) -> str:
        row = own.row(0, named=True)
        return f'<section id="busiest"><p>{row["source"]} to {row["target"]}</p></section>\n'

    extra = Section("busiest", "Busiest step", render, compute=busiest)
    hidden = Section("never", "Never", render, shown=lambda f: False, compute=busiest)
    sections = (*SECTIONS[:2], extra, *SECTIONS[2:], hidden)
    own = section_facts(facts(), sections)
    assert sorted(own) == ["busiest"]  # hidden sections compute nothing
    text = page(facts(), drawings(), own=own, title="t", sections=sections)
    expected = [s.key for s in sections if s.shown(facts())]
    assert section_ids(text) == expected
    assert nav_links(text) == expected
    assert expected[2] == "busiest"
    edges = facts().journeys.aggregate_edges.to_dicts()
    top = max(edges, key=lambda e: (e["events"], -edges.index(e)))
    assert f"<p>{top['source']} to {top['target']}</p>" in text


def test_the_report_writes_this_page(tmp_path: Path) -> None:
    f = facts()
    sample = datasets.generate(200, seed=5)
    written = jg.report(
        jg.read_events(sample.events, **datasets.COLUMNS),
        f.div.jmap,
        tmp_path,
        outcome="churned",
        customers=sample.customers.select("customer_id", "churned"),
        k=K,
        title="t",
    ).read_text(encoding="utf-8")
    own = section_facts(f, REPORT_SECTIONS)  # the report's sections, with their own numbers
    expected = page(f, drawings(), own=own, title="t", sections=REPORT_SECTIONS)
    assert section_ids(written) == section_ids(expected)
