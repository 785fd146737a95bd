"""The report page: sections, charts and tables around the numbers of `report`.

Presentation only: every number comes from ``journeygraph._facts.Facts``,
and every name from the data is escaped here (``html.escape`` for markup and
attributes, `_page.json_payload` for the graphs' data).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _deviations, _page
from ._version import __version__

if TYPE_CHECKING:
    import polars as pl

    from ._facts import Facts

__all__ = ["SECTIONS", "Drawings", "Section", "page", "section_facts"]

_MAX_CHART_LABEL = 26  # characters of a chart label; the tooltip has it whole
_TOP_EXITS = 8  # last touchpoints charted
_TOP_SHADOW_ROWS = 5  # shadow paths listed under the overlay

_BLUE = "#3b5bdb"
_GREY = "#adb5bd"
_RED = "#c92a2a"
_NONE = "\u2013"  # en dash: no value


@dataclass(frozen=True)
class Drawings:
    """The graphs the page shows, each laid out once (`render.draw`)."""

    overlay: _page.Drawing
    archetypes: Sequence[_page.Drawing]


def page(
    facts: Facts,
    drawings: Drawings,
    *,
    own: Mapping[str, Any],
    title: str,
    sections: Sequence[Section] | None = None,
) -> str:
    """The whole report page as HTML text.

    ``own`` holds each section's own numbers (`section_facts`); ``sections``
    defaults to `SECTIONS`.
    """
    sections = SECTIONS if sections is None else sections
    shown = [s for s in sections if s.shown(facts)]
    script, tooltip_css = _page.vis_assets()
    graphs: list[tuple[str, _page.Drawing, int]] = [
        ("overlay", drawings.overlay, 520),
        *[(f"archetype-{i}", drawing, 380) for i, drawing in enumerate(drawings.archetypes)],
    ]
    data = "".join(
        f'<script type="application/json" class="jg-graph-data" data-target="graph-{name}">'
        f"{_page.json_payload(drawing.data)}</script>\n"
        for name, drawing, _ in graphs
    )
    heights = "".join(f"#graph-{name} {{ height: {h}px; }}\n" for name, _, h in graphs)
    e = html.escape
    nav = "".join(f'<a href="#{s.key}">{e(s.title)}</a>' for s in shown)
    # what other sections lead with, for the findings: (sentence, key, title)
    leads = [
        (text, key, s.title)
        for s in shown
        if s.finding is not None
        for text, key in s.finding(facts, own.get(s.key))
    ]
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{_page.policy(script, _APP)}">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f'<meta name="generator" content="journeygraph {e(__version__)}">\n',
            f"<title>{e(_page.text(title))}</title>\n",
            f"<style>{_page.CSS}{tooltip_css}\n{_REPORT_CSS}{heights}</style>\n",
            f"<script>{script}</script>\n</head>\n<body>\n",
            f"<header>\n<h1>{e(_page.text(title))}</h1>\n",
            f'<p class="jg-lede">{e(_lede(facts))}</p>\n',
            f'<nav class="jg-nav">{nav}</nav>\n</header>\n',
            *[
                s.render(facts, drawings, leads if s.key == "findings" else own.get(s.key))
                for s in shown
            ],
            data,
            f"<script>{_APP}</script>\n</body>\n</html>\n",
        ]
    )


def section_facts(facts: Facts, sections: Sequence[Section] | None = None) -> dict[str, Any]:
    """Each shown section's own numbers (its ``compute``), before any page is made."""
    sections = SECTIONS if sections is None else sections
    return {s.key: s.compute(facts) for s in sections if s.compute is not None and s.shown(facts)}


def _unit(facts: Facts) -> str:
    """What one journey is on this page: ``"customer"`` or ``"session"``."""
    return "session" if facts.journeys.options.journey == "session" else "customer"


def _customers_of(facts: Facts) -> int:
    return facts.n_customers


def _lede(facts: Facts) -> str:
    j = facts.journeys
    kind = (
        "a journey map proposed from the journeys"
        if facts.proposed is not None
        else "the journey map"
    )
    names = facts.div.jmap.stage_names
    if len(names) > 8:
        names = (*names[:3], f"{len(names) - 5} more", *names[-2:])
    unit = _unit(facts)
    whose = ""
    if unit == "session":
        whose = (
            f" of {_page.count(_customers_of(facts), 'customer')} (a journey is one session: "
            "every share on this page counts sessions)"
        )
    return (
        f"{_page.count(j.n_journeys, unit)}{whose}, {_page.count(j.n_events, 'event')} over "
        f"{_page.count(len(j.touchpoints), 'touchpoint')}, held against {kind} "
        f"({' → '.join(names)}) and grouped into "
        f"{_page.count(facts.archetypes.height, 'archetype')}."
    )


# ----------------------------------------------------------------------- sections
def _section(key: str, heading: str, *parts: str) -> str:
    body = "".join(parts)
    return f'<section id="{key}">\n<h2>{html.escape(heading)}</h2>\n{body}</section>\n'


def _headline(facts: Facts, _drawings: Drawings, _own: None) -> str:
    j, s = facts.journeys, facts.summary
    top_exit, top_exit_share = facts.exits[0]
    reach = facts.reach.sort(["drop_off", "stage"], descending=[True, False]).row(0, named=True)
    units = _unit(facts) + "s"
    kpis = [_kpi(units, units, f"{j.n_journeys:,}", j.n_journeys)]
    if units == "sessions":
        n = _customers_of(facts)
        kpis.append(_kpi("customers", "customers", f"{n:,}", n))
    kpis += [
        _kpi("events", "events", f"{j.n_events:,}", j.n_events),
        _kpi(
            "conformance",
            "follow the map without a deviation",
            _pct(s["conformance"]),
            s["conformance"],
        ),
        _kpi("fitness", "mean fitness to the map", _pct(s["mean_fitness"]), s["mean_fitness"]),
        _kpi(
            "exit_stage",
            "the stage most journeys stop at (their last stage reached)",
            f"{reach['stage']} ({_pct(reach['drop_off'])})",
            reach["stage"],
        ),
        _kpi(
            "exit",
            "the touchpoint most journeys end with",
            f"{top_exit} ({_pct(top_exit_share)})",
            top_exit,
        ),
    ]
    if facts.outcome is not None:
        rate = facts.outcome_value
        kind = facts.outcome_kind or "mean"
        kpis.append(
            _kpi(
                "outcome",
                f"{facts.outcome} ({kind}"
                + (" of customers)" if _unit(facts) == "session" else ")"),
                _value(rate, kind),
                rate,
            )
        )
    if facts.gap is not None:
        everyone = facts.gap.row(0, named=True)
        label = f"mean {facts.score}, from the {_pct(everyone['answered'])} who answered"
        kpis.append(_kpi("score", label, _number(everyone["mean_score"]), everyone["mean_score"]))
    return _section("headline", "In numbers", f'<div class="jg-kpis">{"".join(kpis)}</div>\n')


def _leave(facts: Facts, _drawings: Drawings, _own: None) -> str:
    exits = facts.exits[:_TOP_EXITS]
    chart = _bar_chart(
        "exits",
        [tp for tp, _ in exits],
        [("share of journeys ending here", [share for _, share in exits], _RED)],
        label="The touchpoints journeys end at",
    )
    reach = facts.reach
    stages = _bar_chart(
        "drop-off",
        reach.get_column("stage").to_list(),
        [
            (
                "share of journeys whose last stage this is",
                reach.get_column("drop_off").to_list(),
                _RED,
            )
        ],
        label="The last stage journeys reach",
    )
    return _section(
        "leave",
        "Where journeys leave",
        f"<p>The last touchpoint of each journey (one {_unit(facts)}), and the last stage of "
        "the map it reached.</p>\n",
        '<div class="jg-pair">',
        f"<figure>{chart}<figcaption>Last touchpoint (top {len(exits)}).</figcaption></figure>",
        f"<figure>{stages}<figcaption>Last stage of the map reached.</figcaption></figure>",
        "</div>\n",
    )


def _map(facts: Facts, drawings: Drawings, _own: None) -> str:
    e = html.escape
    stages = " → ".join(facts.div.jmap.stage_names)
    if facts.proposed is not None:
        origin = (
            '<p class="jg-note"><b>This journey map is proposed</b>, not given: no map was '
            "passed, so one was built from the journeys: every touchpoint at least "
            f"{facts.proposed:.0%} of journeys visit"
            + (
                f", and those most journeys reaching {e(m.reached)} visit before it"
                if (m := facts.moments) is not None and m.reached is not None
                else ""
            )
            + ", in the order customers visit them, grouped into stages (optional when fewer "
            "than half of the journeys reach them); rarer touchpoints count as off the map. "
            "It is written to <code>proposed-map.yaml</code>: edit it and run the report "
            "again with it.</p>\n"
        )
    else:
        origin = ""
    for warning in facts.div.map_warnings:  # map touchpoints the data never has
        origin += f'<p class="jg-note jg-warning">Warning: {e(_page.text(warning))}</p>\n'
    reach = facts.reach
    chart = _bar_chart(
        "stage-reach",
        reach.get_column("stage").to_list(),
        [
            ("reached by any path", reach.get_column("reach").to_list(), _BLUE),
            (
                "reached along the map, no deviation before",
                reach.get_column("reach_ideal").to_list(),
                _GREY,
            ),
        ],
        label="Stage reach: any path vs along the map",
    )
    kinds = [k for k in _deviations.NAMES if facts.summary[k] > 0]
    profile = _bar_chart(
        "deviations",
        [_deviations.kind(k).sentence for k in kinds],
        [("share of journeys", [facts.summary[k] for k in kinds], _BLUE)],
        label="Share of journeys with each kind of deviation",
    )
    shadow_rows = [
        [_page.text(u), _page.text(v), f"{n:,}"] for u, v, n in facts.shadow[:_TOP_SHADOW_ROWS]
    ]
    return _section(
        "map",
        "Against the journey map",
        origin,
        f'<p>Stages: <span class="jg-stages">{e(_page.text(stages))}</span>. '
        f"{_pct(facts.summary['conformance'])} of journeys ({_unit(facts)}s) follow the map "
        "without any "
        f"deviation; the mean fitness is {_pct(facts.summary['mean_fitness'])} "
        "(1 follows the map, 0 matches nothing).</p>\n",
        _graph_box("overlay", drawings.overlay, "graphs/overlay.html"),
        '<div class="jg-pair">',
        f"<figure>{chart}<figcaption>Blue: share of journeys that reached the stage by any "
        "path. Grey: share that reached it along the map, with no deviation before.</figcaption>"
        "</figure>",
        f"<figure>{profile}<figcaption>Journeys with at least one deviation of each kind."
        "</figcaption></figure>",
        "</div>\n",
        "<h3>Shadow paths: the busiest steps the map does not have</h3>\n"
        + _table(["from", "to", "journeys"], shadow_rows, numeric={2})
        if shadow_rows
        else "",
    )


def _graph_box(name: str, drawing: _page.Drawing, link: str) -> str:
    e = html.escape
    return (
        f'<div class="jg-graph">\n<div class="jg-canvas" id="graph-{name}"></div>\n'
        f'<p class="jg-summary">{e(_page.summary_line(drawing.summary))} '
        f'<a href="{e(link)}">Open full size</a>.</p>\n'
        f'<ul class="jg-legend">{_page.legend_items(drawing.legend)}</ul>\n</div>\n'
    )


def _archetypes(facts: Facts, drawings: Drawings, _own: None) -> str:
    table = facts.archetypes
    k = table.height
    chosen = (
        f"chosen automatically (the knee of the likelihood curve, seed {facts.seed})"
        if facts.k_asked == "auto"
        else f"as asked (seed {facts.seed})"
    )
    sizes = _bar_chart(
        "archetype-sizes",
        [f"Archetype {i}" for i in range(k)],
        [(f"share of {_unit(facts)}s", table.get_column("share").to_list(), _BLUE)],
        label="Archetype sizes",
    )
    cards = "".join(
        _card(facts, row, drawings.archetypes[row["archetype"]])
        for row in table.iter_rows(named=True)
    )
    return _section(
        "archetypes",
        "Archetypes",
        f"<p>{_unit(facts).capitalize()}s whose journeys look alike, grouped into "
        f"{_page.count(k, 'archetype')} "
        f"— {chosen}. Each card shows who they are, their journey graph (transitions made by "
        "at least 5 % of the archetype), how they diverge from the map compared with everyone, "
        "and their outcomes.</p>\n",
        f"<figure>{sizes}<figcaption>Share of {_unit(facts)}s in each archetype.</figcaption>"
        "</figure>\n",
        f'<div class="jg-cards">\n{cards}</div>\n',
    )


def _card(facts: Facts, row: Mapping[str, Any], drawing: _page.Drawing) -> str:
    e, i = html.escape, row["archetype"]
    items = [
        (f"{_unit(facts)}s", f"{row['size']:,} ({_pct(row['share'])})"),
        (
            "typical journey",
            _page.typical(row["events_median"], row["duration_median"]),
        ),
        ("enters at", f"{_page.text(row['entry'])} ({_pct(row['entry_share'])})"),
        ("leaves at", f"{_page.text(row['exit'])} ({_pct(row['exit_share'])})"),
    ]
    if row.get("channel") is not None:
        items.append(("channel", f"{_page.text(row['channel'])} ({_pct(row['channel_share'])})"))
    items.append(
        (
            "representative journey",
            f"{_page.text(row['representative_path'])} ({_page.text(row['representative'])})",
        )
    )
    facts_list = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items)
    kinds = [k for k in _deviations.NAMES if facts.summary[k] > 0 or row[f"with_{k}"] > 0]
    labels = ["no deviation", "mean fitness", *[_deviations.kind(k).sentence for k in kinds]]
    own = [row["conformance"], row["fitness"], *[row[f"with_{k}"] for k in kinds]]
    everyone = [
        facts.summary["conformance"],
        facts.summary["mean_fitness"],
        *[facts.summary[k] for k in kinds],
    ]
    profile = _bar_chart(
        f"profile-{i}",
        labels,
        [(f"archetype {i}", own, _BLUE), ("everyone", everyone, _GREY)],
        label=f"Divergence profile of archetype {i}",
    )
    per_session = _unit(facts) == "session"
    outcome_header = "outcome of the sessions' customers" if per_session else "outcome"
    outcomes = [
        [
            column,
            _value(row[column], kind),
            _value(facts.overall[column], kind),
        ]
        for column, kind in facts.outcomes
    ]
    outcome_table = (
        _table([outcome_header, f"archetype {i}", "everyone"], outcomes, numeric={1, 2})
        if outcomes
        else ""
    )

    def steps(frame: pl.DataFrame) -> str:
        return "".join(
            f"<li>{e(_page.text(r['source']))} → {e(_page.text(r['target']))}: "
            f"{_pct(r['support'])} of the archetype, {r['lift']:.1f}\u00d7 everyone</li>"
            for r in frame.iter_rows(named=True)
        )

    over, under = steps(facts.distinctive[i]), steps(facts.avoided[i])
    distinct = (f"<p>More often than everyone:</p><ul>{over}</ul>\n" if over else "") + (
        f"<p>Less often than everyone:</p><ul>{under}</ul>\n" if under else ""
    )
    return (
        f'<article class="jg-card" id="archetype-{i}" data-share="{_raw(row["share"])}" '
        f'data-size="{row["size"]}">\n'
        f"<h3>Archetype {i}: {e(_page.text(row['description']))}</h3>\n"
        f"<dl>{facts_list}</dl>\n"
        + (f"<h4>What sets it apart</h4>\n{distinct}" if distinct else "")
        + _graph_box(f"archetype-{i}", drawing, f"graphs/archetype-{i}.html")
        + f"<figure>{profile}<figcaption>Blue: this archetype; grey: everyone.</figcaption>"
        "</figure>\n" + outcome_table + "</article>\n"
    )


def _drivers(facts: Facts, _drawings: Drawings, _own: None) -> str:
    if facts.moments is None or facts.drivers is None:
        return ""
    m = facts.moments
    outcome, kind = m.outcome, m.kind
    known = facts.journeys.n_journeys if m.reached is not None else facts.known
    e = html.escape
    rows = [
        [
            f"{e(_feature_text(r['feature']))}<br><code>{e(_page.text(r['feature']))}</code>",
            e(_page.text(r["stage"])),
            f"{r['affected']:,} of {r['journeys']:,}",
            _value(r["with"], kind),
            _value(r["without"], kind),
            _difference(r["adjusted"], kind)
            + f" [{_difference(r['ci_low'], kind)}, {_difference(r['ci_high'], kind)}]",
            _difference(r["naive"], kind),
            f"{r['q_value']:.2g}",
            "yes" if r["significant"] else "no",
        ]
        for r in facts.drivers.iter_rows(named=True)
    ]
    body = (
        _table(
            [
                "what they did",
                "at stage",
                "journeys with it, of those at the stage",
                f"{outcome} {kind} with",
                "without",
                "adjusted difference [95 % CI]",
                "naive difference",
                "q-value",
                "significant (q < 0.05)",
            ],
            rows,
            numeric={2, 3, 4, 5, 6, 7},
            raw=True,
        )
        if rows
        else "<p>No moment is shared by at least 30 journeys with it and 30 without it.</p>\n"
    )
    return _section(
        "drivers",
        f"What goes with {outcome}",
        f"<p>Moments that matter: at each stage, the {m.unit} that did something there "
        f"compared with the other {m.unit} that reached the stage, on {e(outcome)} "
        + (
            f"({kind} among all {known:,} {m.unit}; only what happened before reaching "
            f"{e(m.reached)} counts"
            if m.reached
            else f"({kind} among the {known:,} {m.unit} whose {e(outcome)} is known"
        )
        + "). The adjusted "
        "difference compares like with like (journeys with as many sessions at the stage "
        "and as long); the naive one does not. Largest impact (journeys times adjusted "
        "difference) first; q-values correct for testing many rows. This is association, "
        "not cause.</p>\n",
        body + _note_list(m.notes),
    )


def _note_list(notes: tuple[str, ...]) -> str:
    """What an analysis left out or changed, and why, as a list under its table."""
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f'<ul class="jg-notes">{items}</ul>\n'


def _finding_items(facts: Facts, leads: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The findings: (sentence, section it comes from), most important first: the
    moments that matter, what other sections lead with (``leads``: a segment that
    differs, a rate that changed), the busiest path off the map, the leakiest stage."""
    items: list[tuple[str, str]] = []
    m = facts.moments
    if m is not None and facts.drivers is not None:
        unit = m.unit
        significant = [r for r in facts.drivers.iter_rows(named=True) if r["significant"]]
        for r in significant[: 4 - min(len(leads), 1)]:
            share = r["affected"] / r["journeys"]
            if m.reached is not None:
                result = f"reached {m.reached}"
            elif m.kind == "rate":
                result = f"had {m.outcome}"
            else:
                result = f"had a mean {m.outcome} of"
            if m.kind == "rate":
                rates = f"{_pct(r['with'])} of them {result} vs {_pct(r['without'])} of the others"
            else:
                rates = (
                    f"they {result} {_number(r['with'])} vs {_number(r['without'])} for the others"
                )
            items.append(
                (
                    f"At {_page.text(r['stage'])}, {_pct(share)} of {unit} "
                    f"({r['affected']:,}) {_feature_text(r['feature'])}; {rates} "
                    f"(adjusted {_difference(r['adjusted'], m.kind)}, "
                    f"q {_q(r['q_value'])}).",
                    "drivers",
                )
            )
    items.extend(leads)
    if facts.shadow:
        source, target, count = facts.shadow[0]
        share = count / facts.journeys.n_journeys
        items.append(
            (
                f"The busiest path off the map is {_page.text(source)} \u2192 "
                f"{_page.text(target)}: {count:,} journeys ({_pct(share)}) take it.",
                "map",
            )
        )
    ends = set(facts.div.jmap.end_stages)
    worst = None
    for r in facts.reach.iter_rows(named=True):
        if r["stage"] in ends or not r["reach"]:
            continue
        lost = r["drop_off"] / r["reach"]
        if worst is None or lost > worst[1]:
            worst = (r["stage"], lost, r["drop_off"])
    if worst is not None and worst[1] > 0:
        stage, lost, share = worst
        items.append(
            (
                f"{_page.text(stage)} loses the most journeys: {_pct(lost)} of those that "
                f"reach it go no further on the map ({_pct(share)} of all journeys).",
                "leave",
            )
        )
    return items


def _q(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def _has_findings(facts: Facts) -> bool:
    return bool(_finding_items(facts))


def _findings(facts: Facts, _drawings: Drawings, leads: list[tuple[str, str, str]] | None) -> str:
    leads = leads or []
    items = _finding_items(facts, [(text, key) for text, key, _ in leads])
    titles = _TITLES | {key: title for _, key, title in leads}
    e = html.escape
    listed = "".join(
        f'<li>{e(text)} <a href="#{key}">See {e(titles[key].lower())}.</a></li>'
        for text, key in items
    )
    note = ""
    m = facts.moments
    if m is not None and facts.drivers is not None and not facts.drivers["significant"].any():
        note = f"<p>No moment goes with {e(m.outcome)} beyond chance (no q-value under 0.05).</p>\n"
    return _section("findings", "Findings", note, f'<ol class="jg-findings">{listed}</ol>\n')


def _perception(facts: Facts, _drawings: Drawings, _own: None) -> str:
    if facts.score is None or facts.gap is None:
        return ""
    score, gap, by, e = facts.score, facts.gap, facts.gap_by, html.escape
    overall = gap.row(0, named=True)
    groups = [r for r in gap.iter_rows(named=True) if by and str(r["group"]).startswith(f"{by}=")]
    split = "; ".join(
        f"of customers with {_page.text(r['group'])}, {_pct(r['answered'])} answered "
        f"(mean {_number(r['mean_score'])})"
        for r in groups
    )
    rows = [
        [
            _page.text(r["group"]),
            f"{r['customers']:,}",
            _pct(r["answered"]),
            _number(r["mean_score"]),
            _pct(r["fitness_answered"]),
            _pct(r["fitness_silent"]),
        ]
        for r in gap.iter_rows(named=True)
    ]
    return _section(
        "perception",
        "The perception gap",
        f"<p>{_pct(overall['answered'])} of customers gave a {e(score)}, with a mean of "
        f"{_number(overall['mean_score'])}" + (f"; {e(split)}" if split else "") + ". "
        "Survey averages speak for those who answer: the "
        "table shows who they are and how their journeys compare with those who stayed "
        "silent (fitness: how closely the journey follows the map).</p>\n",
        _table(
            [
                "customers",
                "count",
                "answered",
                f"mean {score}",
                "fitness, answered",
                "fitness, silent",
            ],
            rows,
            numeric={1, 2, 3, 4, 5},
        ),
    )


def _notes(facts: Facts, _drawings: Drawings, _own: None) -> str:
    e = html.escape
    report = str(facts.journeys.report).replace("\n", ";")
    model = facts.arch.model
    items = [
        f"Events: {e(report)}.",
        _mined(facts),
        (
            "Journey map: proposed from the journeys by JourneyMap.from_journeys "
            f"(proposed-map.yaml): the touchpoints at least {facts.proposed * 100:.0f} % of "
            "journeys visit (and, with a goal, those most journeys reaching it visit before "
            "it), ordered by precedence (how often each is visited before the others, in "
            "the journeys visiting both), grouped into at most 8 stages at the widest gaps."
            if facts.proposed is not None
            else "Journey map: as given."
        )
        + " Every journey is aligned with it exactly (jg.compare); a deviation is any step "
        "the map does not allow.",
        f"Archetypes: a mixture of Markov chains (jg.cluster), k = {model.k_} "
        + (
            f"chosen among {model.k_range[0]} to {model.k_range[1]}"
            if facts.k_asked == "auto"
            else "as asked"
        )
        + f", seed {facts.seed}.",
        "Outcomes and deviations: association, not cause; 95 % intervals by the normal "
        "approximation.",
        f"Made by journeygraph {e(__version__)}; the same data and seed give the same report.",
    ]
    return _section(
        "notes", "How this was made", "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>\n"
    )


# ---------------------------------------------------------------------- sections
def _always(_facts: Facts) -> bool:
    return True


@dataclass(frozen=True)
class Section:
    """One section of the report page, in one place.

    Attributes
    ----------
    key
        The section's ``id`` on the page and its link in the navigation.
    title
        The link's text.
    render
        ``render(facts, drawings, own) -> str``: the section's HTML, one
        ``<section id="{key}">`` (see `_section`). ``own`` is what
        ``compute`` returned, or None.
    shown
        ``shown(facts) -> bool``: whether the page has the section (and its
        link); by default always.
    compute
        ``compute(facts) -> Any``: numbers of its own, computed from the
        analyses in ``facts`` (``facts.journeys``, ``facts.div``,
        ``facts.arch``, ``facts.customers``) before any page is made; None
        when the shared `Facts` are enough.
    finding
        ``finding(facts, own) -> [(sentence, key)]``: what the section leads
        with in the Findings (at most a sentence or two, linking to ``key``);
        None when it has nothing to add there.
    """

    key: str
    title: str
    render: Callable[[Facts, Drawings, Any], str]
    shown: Callable[[Facts], bool] = _always
    compute: Callable[[Facts], Any] | None = None
    finding: Callable[[Facts, Any], list[tuple[str, str]]] | None = None


def _has_outcome(facts: Facts) -> bool:
    return facts.drivers is not None  # an outcome column, or reached=


def _has_score(facts: Facts) -> bool:
    return facts.score is not None


# The report's sections, in page order. To add one: write its render (and
# compute) function and add one Section here, where it belongs on the page.
SECTIONS: tuple[Section, ...] = (
    Section("findings", "Findings", _findings, shown=_has_findings),
    Section("headline", "In numbers", _headline),
    Section("leave", "Where journeys leave", _leave),
    Section("map", "Against the map", _map),
    Section("archetypes", "Archetypes", _archetypes),
    Section("drivers", "What goes with the outcome", _drivers, shown=_has_outcome),
    Section("perception", "Perception gap", _perception, shown=_has_score),
    Section("notes", "How this was made", _notes),
)
_TITLES = {s.key: s.title for s in SECTIONS}


# ---------------------------------------------------------------------- pieces
def _mined(facts: Facts) -> str:
    options = facts.journeys.options
    set_ = {
        name: value
        for name, value in options.model_dump().items()
        if value not in (None, False) and name != "journey"
    }
    how = "; ".join(f"{k}={v}" for k, v in sorted(set_.items())) or "defaults"
    if options.journey == "session":
        log = facts.journeys.log
        column = log is not None and log.schema.session is not None
        source = "the session id column" if column else "the session gap"
        return f"Journeys: one per session (sessions from {source}), mined with {how}."
    return f"Journeys: one per customer, mined with {how}."


def _kpi(key: str, label: str, shown: str, raw: Any) -> str:
    e = html.escape
    return (
        f'<div class="jg-kpi" data-kpi="{key}" data-value="{e(_raw(raw))}">'
        f"<b>{e(_page.text(shown))}</b><span>{e(label)}</span></div>"
    )


def _raw(value: Any) -> str:
    """A value for a ``data-`` attribute, the same on every run.

    Floats keep 12 significant digits: polars' parallel sums (a group's mean)
    may differ in the last bits from run to run.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.12g}"
    return _page.text(value)


def _pct(value: float | None) -> str:
    return _NONE if value is None else str(_page.format_value("share", value))


def _number(value: float | None) -> str:
    return _NONE if value is None else f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def _value(value: float | None, kind: str) -> str:
    """An outcome as a rate (boolean outcomes) or a mean."""
    return _pct(value) if kind == "rate" else _number(value)


def _difference(value: float | None, kind: str) -> str:
    if value is None:
        return _NONE
    if kind == "rate":
        return f"{value * 100:+.1f} pp"
    return f"{value:+,.2f}"


def _feature_text(feature: str) -> str:
    """``skipped_stage:Explore`` → ``skipped Explore``."""
    name, _, stage = feature.partition(":")
    if name == "visited":
        return f"met {_page.text(stage)}"
    if name == "next":
        return f"went on to {_page.text(stage)}"
    if name not in _deviations.NAMES:
        return _page.text(feature)
    return _deviations.kind(name).text(_page.text(stage) if stage else None)


def _table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: frozenset[int] | set[int] = frozenset(),
    raw: bool = False,
) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then the caller escaped them)."""
    e = html.escape

    def cell(j: int, text: str, tag: str) -> str:
        cls = ' class="jg-num"' if j in numeric else ""
        return f"<{tag}{cls}>{text if raw and tag == 'td' else e(text)}</{tag}>"

    header = "".join(cell(j, h, "th") for j, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell(j, c, "td") for j, c in enumerate(row)) + "</tr>" for row in rows
    )
    return (
        f'<table class="jg-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>\n'
    )


def _bar_chart(
    name: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    label: str,
) -> str:
    """Horizontal bars of shares (0..1) as inline SVG, one group per label."""
    e = html.escape
    bar, gap, group_gap, left, width, right = 12, 2, 10, 170, 270, 60
    legend = 16 * len(series) + 4 if len(series) > 1 else 0  # one line per series
    group = len(series) * bar + (len(series) - 1) * gap
    height = legend + len(labels) * (group + group_gap) + 4
    top = max([1e-12, *(v for _, values, _ in series for v in values if v is not None)])
    scale = width / max(top, 1.0)  # shares fill the width at 1
    parts = [
        f'<svg class="jg-chart" data-chart="{e(name)}" role="img" aria-label="{e(label)}" '
        f'viewBox="0 0 {left + width + right} {height}" width="{left + width + right}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{e(label)}</title>",
    ]
    if legend:
        for s, (s_name, _, color) in enumerate(series):
            parts.append(
                f'<rect x="{left}" y="{4 + 16 * s}" width="10" height="10" fill="{color}"/>'
                f'<text x="{left + 14}" y="{13 + 16 * s}" class="jg-legend-text">{e(s_name)}</text>'
            )
    for r, text in enumerate(labels):
        y0 = legend + r * (group + group_gap)
        full = _page.text(text)
        short = full if len(full) <= _MAX_CHART_LABEL else full[: _MAX_CHART_LABEL - 1] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y0 + group / 2 + 4:g}" text-anchor="end">'
            f"<title>{e(full)}</title>{e(short)}</text>"
        )
        for s, (s_name, values, color) in enumerate(series):
            value = values[r]
            y = y0 + s * (bar + gap)
            w = 0.0 if value is None else max(value, 0.0) * scale
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}" '
                f'data-label="{e(full)}" data-series="{e(s_name)}" data-value="{e(_raw(value))}">'
                f"<title>{e(full)}, {e(s_name)}: {_pct(value)}</title></rect>"
                f'<text x="{left + w + 4:.1f}" y="{y + bar - 2}" class="jg-value">'
                f"{_pct(value)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------ assets
_APP = """
(function () {
  "use strict";
  function tip(text) {
    var box = document.createElement("div");
    box.className = "jg-tip";
    box.textContent = text;  /* text, never markup */
    return box;
  }
  var blocks = document.querySelectorAll("script.jg-graph-data");
  var networks = {};
  var pending = blocks.length;
  function drawn() {
    pending -= 1;
    if (pending <= 0) { document.body.setAttribute("data-rendered", "true"); }
  }
  Array.prototype.forEach.call(blocks, function (block) {
    var data = JSON.parse(block.textContent);
    var target = block.getAttribute("data-target");
    function withTip(item) { return Object.assign({}, item, {title: tip(item.title)}); }
    var nodes = data.nodes.map(withTip);
    var edges = data.edges.map(withTip);
    var network = new vis.Network(document.getElementById(target),
      {nodes: new vis.DataSet(nodes), edges: new vis.DataSet(edges)}, data.options);
    network.once("afterDrawing", drawn);
    network.fit();
    networks[target] = {network: network, data: data};
  });
  if (!blocks.length) { document.body.setAttribute("data-rendered", "true"); }
  window.journeygraph = {networks: networks};
})();
"""

_REPORT_CSS = """
body { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; line-height: 1.45; }
header { border-bottom: 1px solid #dee2e6; padding-bottom: 8px; margin-bottom: 8px; }
h1 { font-size: 1.7em; }
h2 { font-size: 1.3em; margin: 28px 0 8px; border-bottom: 1px solid #e9ecef; }
h3 { font-size: 1.05em; margin: 12px 0 6px; }
.jg-lede { color: #495057; font-size: 1.05em; }
.jg-nav { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 0.9em; }
.jg-nav a, a { color: #3b5bdb; }
.jg-kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
           gap: 10px; }
.jg-kpi { background: #f1f3f5; border-radius: 6px; padding: 10px 12px; }
.jg-kpi b { display: block; font-size: 1.35em; overflow-wrap: anywhere; }
.jg-kpi span { color: #495057; font-size: 0.85em; }
.jg-pair { display: flex; flex-wrap: wrap; gap: 12px 32px; }
figure { margin: 8px 0; }
figcaption { color: #495057; font-size: 0.85em; max-width: 590px; }
.jg-chart { max-width: 100%; height: auto; font-family: sans-serif; font-size: 12px; }
.jg-chart text { fill: #212529; }
.jg-chart .jg-value, .jg-chart .jg-legend-text { fill: #495057; font-size: 11px; }
.jg-note { background: #fff4e6; border-left: 4px solid #e8590c; padding: 6px 10px; }
.jg-graph { margin: 8px 0 12px; }
.jg-canvas { width: 100%; border: 1px solid #dee2e6; }
.jg-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
            gap: 16px; }
.jg-card { border: 1px solid #dee2e6; border-radius: 8px; padding: 4px 14px 12px; }
.jg-card dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px;
              margin: 6px 0; font-size: 0.92em; }
.jg-card dt { color: #495057; }
.jg-card dd { margin: 0; overflow-wrap: anywhere; }
.jg-table { border-collapse: collapse; margin: 6px 0 12px; font-size: 0.9em; }
.jg-table th, .jg-table td { border-bottom: 1px solid #e9ecef; padding: 4px 10px;
                             text-align: left; vertical-align: top; }
.jg-table .jg-num { text-align: right; font-variant-numeric: tabular-nums; }
.jg-table code { color: #868e96; font-size: 0.85em; }
"""
