"""Report sections for since when and for whom: "What changed", "Segments", "Funnel".

Each is a `_report_html.Section`: its numbers come from `changes`,
`contrast` and `funnel` (``compute``), its HTML from ``render``. `report`
places them before the notes. ``Facts.by`` and ``Facts.every`` say what to
split by and the period; "What changed" is shown with ``every``, "Segments"
with ``by``, "Funnel" always (through the map's stages).
"""

from __future__ import annotations

import html
from typing import Any

import polars as pl

from . import _page
from ._facts import Facts
from ._report_html import Drawings, Section, _section, _table
from .changes import Changes, changes
from .contrast import Contrast, contrast
from .funnel import Funnel, funnel

__all__ = ["SEGMENT_SECTIONS"]

_TOP_EPISODES = 5
_TOP_ROWS = 10
_BLUE, _GREY, _RED = "#3b5bdb", "#868e96", "#c92a2a"
_DASHED = ' stroke-dasharray="4 3"'


def _pct(value: float | None) -> str:
    return "\u2013" if value is None or value != value else f"{100 * value:.1f} %"


# ------------------------------------------------------------------ what changed
def _changes(facts: Facts) -> Changes:
    return changes(
        facts.journeys,
        every=facts.every or "1w",
        by=facts.by,
        customers=facts.customers,
        jmap=facts.div.jmap,
    )


def _log_edges(ch: Changes) -> tuple[Any, Any]:
    """The start of the first period tested and the end of the last."""
    return ch.table.get_column("period_start").min(), ch.table.get_column("period_end").max()


def _at_edge(row: dict[str, Any], edges: tuple[Any, Any]) -> str | None:
    """``"start"`` / ``"end"`` when an episode in the number of journeys starting touches
    the log's first / last period tested: often when tracking began or the export
    stopped, not a change in customers."""
    if row["kind"] != "journeys":
        return None
    if row["start"] <= edges[0]:
        return "start"
    return "end" if row["end"] >= edges[1] else None


def _sentence(row: dict[str, Any], edges: tuple[Any, Any] | None = None) -> str:
    who = "" if row["segment"] == "all" else f" for {row['segment']}"
    start, end = row["start"].date(), row["end"].date()
    periods = row["periods"]
    span = f"({periods} period{'s' if periods != 1 else ''}"
    edge = None if edges is None else _at_edge(row, edges)
    if edge is not None:
        up = row["direction"] == "up"
        return (
            f"From {start} to {end} {span}, at the {edge} of the log){who}, "
            f"{'more' if up else 'fewer'} journeys started than expected: "
            f"{row['peak_rate']:,.0f} against {row['baseline']:,.0f} in the period furthest "
            f"{'above' if up else 'below'}, about {row['journeys_affected']:,} "
            f"{'more' if up else 'fewer'} in all (q = {row['q_value']:.2g}). At the {edge} of "
            "a log this is often where "
            f"{'tracking began' if edge == 'start' else 'the export stopped'}, not a change "
            "in customers."
        )
    if row["kind"] == "journeys":
        what = "the number of journeys starting"
        change = f"{'rose' if row['direction'] == 'up' else 'fell'} to {row['peak_rate']:,.0f}"
        base = f"(expected {row['baseline']:,.0f})"
    else:
        what = _share_of(row["kind"], row["item"], "journeys")
        change = f"{'rose' if row['direction'] == 'up' else 'fell'} to {_pct(row['peak_rate'])}"
        base = f"from {_pct(row['baseline'])}"
    return (
        f"From {start} to {end} {span}){who}, "
        f"{what} {change} {base}: about {row['journeys_affected']:,} journeys affected "
        f"(q = {row['q_value']:.2g})."
    )


def _series(ch: Changes, row: dict[str, Any]) -> str:
    """A small line chart of the rate (blue) against its baseline (grey), flagged periods red."""
    s = ch.series(row["kind"], row["item"], row["segment"])
    rates = [v if v == v else None for v in s.get_column("rate").to_list()]
    base = [v if v == v else None for v in s.get_column("baseline").to_list()]
    flagged = s.get_column("flagged").to_list()
    values = [v for v in rates + base if v is not None]
    if not values:
        return ""
    top, low = max(values), min(values)
    span = top - low or 1.0
    width, height, pad = 360, 70, 6
    step = (width - 2 * pad) / max(len(rates) - 1, 1)

    def y(v: float) -> float:
        return float(pad + (height - 2 * pad) * (1 - (v - low) / span))

    def line(vals: list[float | None], colour: str, dash: str = "") -> str:
        pts = " ".join(
            f"{pad + i * step:.1f},{y(v):.1f}" for i, v in enumerate(vals) if v is not None
        )
        return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{pts}"/>'

    dots = "".join(
        f'<circle cx="{pad + i * step:.1f}" cy="{y(v):.1f}" r="3" fill="{_RED}"/>'
        for i, (v, f) in enumerate(zip(rates, flagged, strict=True))
        if f and v is not None
    )
    e = html.escape
    label = f"{row['item']} per period: rate (blue) against baseline (grey), flagged in red"
    return (
        f'<svg class="jg-chart" data-chart="changed" role="img" aria-label="{e(label)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{e(label)}</title>'
        f"{line(base, _GREY, _DASHED)}{line(rates, _BLUE)}{dots}</svg>\n"
    )


def _render_changes(facts: Facts, _drawings: Drawings, own: Changes | None) -> str:
    if own is None:
        return ""
    edges = _log_edges(own)
    # the log's own start and end after the changes within it
    rows = sorted(own.episodes.iter_rows(named=True), key=lambda r: _at_edge(r, edges) is not None)[
        :_TOP_EPISODES
    ]
    e = html.escape
    if not rows:
        body = "<p>No rate changed: nothing flagged at q &lt; 0.05.</p>\n"
    else:
        body = "".join(
            f'<div class="jg-episode"><p>{e(_page.text(_sentence(r, edges)))}</p>'
            f"{_series(own, r)}</div>\n"
            for r in rows
        )
    untested = own.untested.height
    note = (
        f"<p>Each journey belongs to the {e(own.every)} period in which it starts. Every rate "
        "is tested against the same segment's other periods (periods that stand out in a "
        "first, robust pass are left out of the baseline); q-values are Benjamini-Hochberg "
        "over everything tested. Largest episodes first, those in the number of journeys "
        "starting at the log's start or end last"
        + (f"; {untested} period(s) had too few journeys and were not tested" if untested else "")
        + ".</p>\n"
    )
    return _section("changed", "What changed", note, body)


def _changed_finding(facts: Facts, own: Changes | None) -> list[tuple[str, str]]:
    """The largest change of a rate (a share of journeys), for the findings; changes in
    the number of journeys starting are often the log's own start and end."""
    if own is None:
        return []
    rates = own.episodes.filter(pl.col("kind") != "journeys")
    return [(_page.text(_sentence(rates.row(0, named=True))), "changed")] if rates.height else []


# --------------------------------------------------------------------- segments
def _contrast(facts: Facts) -> Contrast | None:
    if facts.by is None:
        return None
    return contrast(facts.journeys, by=facts.by, customers=facts.customers, jmap=facts.div.jmap)


def _render_segments(facts: Facts, _drawings: Drawings, own: Contrast | None) -> str:
    if own is None:
        return ""
    rows = own.table.filter(pl.col("significant")).head(_TOP_ROWS)
    sizes = ", ".join(f"{g} {n:,}" for g, n in own.groups.iter_rows())
    body = _table(
        ["group", "kind", "item", "share", "rest", "difference [95 % CI]", "q"],
        [
            [
                r["group"],
                r["kind"],
                _page.text(r["item"]),
                _pct(r["share"]),
                _pct(r["share_rest"]),
                f"{_pct(r['difference'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]",
                f"{r['q_value']:.2g}",
            ]
            for r in rows.iter_rows(named=True)
        ],
        numeric={3, 4, 5, 6},
    )
    if rows.height == 0:
        body = "<p>No group differs from the rest at q &lt; 0.05.</p>\n"
    e = html.escape
    return _section(
        "segments",
        f"Segments by {facts.by_name or own.by}",
        f"<p>Each group against the rest (journeys: {e(sizes)}): touchpoints visited, "
        "transitions made among the journeys visiting the source, stages reached. Two-"
        "proportion tests, Benjamini-Hochberg q-values; largest impact first.</p>\n",
        body,
    )


def _segment_finding(facts: Facts, own: Contrast | None) -> list[tuple[str, str]]:
    """The step where a group differs most from the rest, for the findings: the top
    significant transition (among the journeys at its source, so like with like), else
    the top stage, deviation or outcome row. Which touchpoints a group visits is left to
    the section: it often says what the group is (app customers visit the app), not
    what it does differently."""
    if own is None:
        return []
    found = own.table.filter(pl.col("significant") & (pl.col("kind") != "touchpoint"))
    steps = found.filter(pl.col("kind") == "transition")
    if (steps if steps.height else found).height == 0:
        return []
    top = (steps if steps.height else found).row(0, named=True)
    unit = "sessions" if facts.journeys.options.journey == "session" else "customers"
    what = _share_of(top["kind"], top["item"], unit)
    sentence = (
        f"For {facts.by_name or own.by} {top['group']}, {what} is {_pct(top['share'])} against "
        f"{_pct(top['share_rest'])} for the rest ({_pp(top['difference'])}, "
        f"q = {top['q_value']:.2g})."
    )
    return [(_page.text(sentence), "segments")]


def _share_of(kind: str, item: str, unit: str) -> str:
    """What a rate of `changes` or `contrast` counts, in words."""
    return {
        "touchpoint": f"the share of {unit} visiting {item}",
        "transition": f"the share of {unit} going {item} (of those at {item.split(' → ')[0]})",
        "stage": f"the share of {unit} reaching stage {item}",
        "deviation": f"the share of {unit} with a {item} deviation",
        "outcome": f"the share of {unit} with {item}",
    }.get(kind, item)


def _pp(value: float) -> str:
    return f"{100 * value:+.1f} pp"


# ----------------------------------------------------------------------- funnel
def _funnel(facts: Facts) -> Funnel:
    return funnel(facts.journeys, jmap=facts.div.jmap, by=facts.by, customers=facts.customers)


def _render_funnel(facts: Facts, _drawings: Drawings, own: Funnel | None) -> str:
    if own is None:
        return ""
    rows = [
        [
            r["segment"],
            r["name"],
            f"{r['journeys']:,}",
            _pct(r["conversion_previous"]),
            _pct(r["conversion_first"]),
            "\u2013" if r["median_time"] is None else _page.duration(r["median_time"]),
            ", ".join(r["instead"]),
        ]
        for r in own.table.iter_rows(named=True)
    ]
    body = _table(
        [
            "segment",
            "stage",
            "journeys",
            "from previous",
            "from first",
            "median time",
            "stopped: next",
        ],
        rows,
        numeric={2, 3, 4, 5},
    )
    return _section(
        "funnel",
        "Funnel",
        "<p>Journeys reaching each stage of the map in order (other events in between are "
        "fine); time from the previous stage; what those who stopped did next.</p>\n",
        body,
    )


def _has_every(facts: Facts) -> bool:
    return facts.every is not None


def _has_by(facts: Facts) -> bool:
    return facts.by is not None


SEGMENT_SECTIONS: tuple[Section, ...] = (
    Section(
        "changed",
        "What changed",
        _render_changes,
        shown=_has_every,
        compute=_changes,
        finding=_changed_finding,
    ),
    Section(
        "segments",
        "Segments",
        _render_segments,
        shown=_has_by,
        compute=_contrast,
        finding=_segment_finding,
    ),
    Section("funnel", "Funnel", _render_funnel, compute=_funnel),
)
