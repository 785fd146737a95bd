"""jg.report: sections present, numbers equal to independently computed ones, escaping, no map.

tests/browser/test_report_browser.py opens the same kind of report in Chromium.
"""

from __future__ import annotations

import collections
import html
import json
import re
import subprocess
import sys
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import journeygraph as jg
from journeygraph import datasets
from journeygraph.report import _TOP_SHADOW

EVIL_TOUCHPOINT = '<script>alert("tp")</script>'
EVIL_PREFIX = '"><img src=x onerror=alert(1)>'
SECTIONS = [
    "findings",
    "headline",
    "leave",
    "map",
    "archetypes",
    "drivers",
    "perception",
    "funnel",
    "notes",
]
DATA = re.compile(r'<script type="application/json" class="jg-graph-data" data-target="([^"]+)">')
K = 3


@cache
def sample() -> datasets.SampleData:
    """Sample data whose names are markup: every customer id, and the most common last
    touchpoint ('feature_use', renamed: so it is off the map and a headline number)."""
    data = datasets.generate(1_500, seed=11)
    ids = (EVIL_PREFIX + pl.col("customer_id").cast(pl.String)).alias("customer_id")
    events = data.events.with_columns(
        ids,
        pl.col("touchpoint").replace({"feature_use": EVIL_TOUCHPOINT}),
    )
    customers = data.customers.drop("archetype").with_columns(ids)
    return datasets.SampleData(events=events, customers=customers)


def outcomes() -> pl.DataFrame:
    """The customer table as compare() and cluster() take it (report() also takes customer_id)."""
    return sample().customers.rename({"customer_id": "customer"})


def log() -> jg.EventLog:
    return jg.read_events(sample().events, **datasets.COLUMNS)


def jmap() -> jg.JourneyMap:
    return jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])


@cache
def mapped(folder: Path) -> Path:
    return jg.report(
        log(), jmap(), folder, outcome="churned", customers=sample().customers, k=K, seed=0
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mapped(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def proposed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return jg.report(log(), None, tmp_path_factory.mktemp("proposed"), k=K)


class Tags(HTMLParser):
    """Every element and attribute of a page, and the text of each element with an id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Tags:
    tags = Tags()
    tags.feed(text)
    return tags


def kpis(text: str) -> dict[str, str]:
    return {
        a["data-kpi"] or "": a["data-value"] or ""
        for tag, a in parse(text).tags
        if tag == "div" and "data-kpi" in a
    }


def bars(text: str, chart: str) -> dict[tuple[str, str], float]:
    """(label, series) -> value of every bar of one chart."""
    part = text[text.index(f'data-chart="{chart}"') :]
    part = part[: part.index("</svg>")]
    return {
        (a["data-label"] or "", a["data-series"] or ""): float(a["data-value"] or "nan")
        for tag, a in parse("<svg " + part).tags
        if tag == "rect" and "data-series" in a
    }


def graph_data(text: str) -> dict[str, dict[str, Any]]:
    """The embedded vis-network data of each graph, by its container id."""
    out = {}
    for match in DATA.finditer(text):
        end = text.index("</script>", match.end())
        out[match.group(1)] = json.loads(text[match.end() : end])
    return out


def raw_last_touchpoints() -> collections.Counter[str]:
    """Each customer's last touchpoint, from the raw rows (stable sort: ties keep row order)."""
    rows = sample().events.select("customer_id", "timestamp", "touchpoint").rows()
    last: dict[str, tuple[Any, int, str]] = {}
    for i, (customer, ts, tp) in enumerate(rows):
        if customer not in last or (ts, i) >= last[customer][:2]:
            last[customer] = (ts, i, tp)
    return collections.Counter(tp for _, _, tp in last.values())


# ----------------------------------------------------------------------- content
def test_files_and_sections(page: Path, text: str) -> None:
    assert page.name == "index.html"
    graphs = sorted(p.name for p in (page.parent / "graphs").iterdir())
    assert graphs == [*(f"archetype-{i}.html" for i in range(K)), "overlay.html"]
    assert not (page.parent / "proposed-map.yaml").exists()
    ids = [a.get("id") for tag, a in parse(text).tags if tag == "section"]
    assert ids == SECTIONS
    assert "proposed" not in text


def test_headline_numbers_match_the_raw_data(text: str) -> None:
    events, customers = sample().events, sample().customers
    shown = kpis(text)
    assert int(shown["customers"]) == events.get_column("customer_id").n_unique() == 1_500
    assert int(shown["events"]) == events.unique().height  # exact duplicates are dropped
    assert float(shown["outcome"]) == pytest.approx(customers.get_column("churned").mean())
    answered = customers.get_column("survey_score").is_not_null().mean()
    assert float(shown["score"]) == pytest.approx(customers.get_column("survey_score").mean())
    assert f"from the {answered:.1%} who answered".replace("%", " %") in text
    last = raw_last_touchpoints()
    top = sorted(last.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    assert shown["exit"] == top == EVIL_TOUCHPOINT
    exits = bars(text, "exits")
    for (label, _), share in exits.items():
        assert share == pytest.approx(last[label] / 1_500)
    assert len(exits) == min(8, len(last))


def test_map_numbers_match_the_library_computed_again(text: str) -> None:
    div = jg.compare(jg.mine(log()), jmap())
    shown = kpis(text)
    assert float(shown["conformance"]) == pytest.approx(div.conformance)
    conforming = div.customers.get_column("conforms").sum()
    assert float(shown["conformance"]) == pytest.approx(conforming / 1_500)
    assert float(shown["fitness"]) == pytest.approx(div.customers.get_column("fitness").mean())
    reach = bars(text, "stage-reach")
    for row in div.stage_reach().iter_rows(named=True):
        assert reach[row["stage"], "reached by any path"] == pytest.approx(row["reach"])
        ideal = reach[row["stage"], "reached along the map, no deviation before"]
        assert ideal == pytest.approx(row["reach_ideal"])
    last_stage = div.customers.get_column("exit_stage").value_counts(sort=True).row(0)[0]
    assert shown["exit_stage"] == last_stage
    overlay = div.overlay_graph(top_shadow=_TOP_SHADOW)
    data = graph_data(text)["graph-overlay"]
    assert len(data["nodes"]) == overlay.number_of_nodes()
    assert len(data["edges"]) == overlay.number_of_edges()
    assert {n["name"] for n in data["nodes"]} == set(overlay.nodes)


def test_archetype_cards_match_the_archetype_table(text: str) -> None:
    journeys = jg.mine(log())
    table = jg.cluster(journeys, K, seed=0, jmap=jmap(), customers=outcomes()).table
    cards = {a["id"]: a for tag, a in parse(text).tags if tag == "article"}
    assert sorted(cards) == [f"archetype-{i}" for i in range(K)]
    assert sum(int(c["data-size"] or 0) for c in cards.values()) == 1_500
    sizes = bars(text, "archetype-sizes")
    data = graph_data(text)
    arch = jg.cluster(journeys, K, seed=0)
    for row in table.iter_rows(named=True):
        i = row["archetype"]
        assert float(cards[f"archetype-{i}"]["data-share"] or 0) == pytest.approx(row["share"])
        assert sizes[f"Archetype {i}", "share of customers"] == pytest.approx(row["share"])
        assert f"Archetype {i}: {html.escape(row['description'])}</h3>" in text
        assert f"{row['churned']:.1%}".replace("%", " %") in text
        graph = arch.graph(i, min_support=0.2)  # the card: main transitions only
        assert len(data[f"graph-archetype-{i}"]["nodes"]) == graph.number_of_nodes()
        assert len(data[f"graph-archetype-{i}"]["edges"]) == graph.number_of_edges()
        path = f"{row['representative_path']} ({row['representative']})"
        assert f"<dd>{html.escape(path)}</dd>" in text


def test_drivers_are_the_deviations_that_go_with_the_outcome(text: str) -> None:
    div = jg.compare(jg.mine(log()), jmap(), customers=outcomes())
    drivers = div.drivers("churned").table
    section = text[text.index('<section id="drivers">') : text.index('<section id="perception">')]
    codes = re.findall(r"<code>(.*?)</code>", section)
    assert codes == [html.escape(f) for f in drivers.get_column("feature").head(10)]
    assert "What goes with churned" in section


def test_perception_gap_rows(text: str) -> None:
    customers = sample().customers
    start = text.index('<section id="perception">')
    section = text[start : text.index("<section", start + 1)]
    groups = re.findall(r"<tr><td>([^<]*)</td>", section)
    assert groups == ["all", "conforms", "deviates", "churned=false", "churned=true"]
    churned = customers.filter(pl.col("churned"))
    answered = churned.get_column("survey_score").is_not_null().mean()
    assert f"churned=true, {answered:.1%} answered".replace("%", " %") in section


# ---------------------------------------------------------------------- escaping
def test_names_from_the_data_are_escaped(text: str) -> None:
    tags = parse(text)
    scripts = [a for tag, a in tags.tags if tag == "script"]
    assert len(scripts) == 2 + 1 + K  # vis-network, the app, one data block per graph
    assert {tag for tag, _ in tags.tags} <= {
        *("html", "head", "meta", "title", "style", "script", "body", "header", "h1", "h2"),
        *("h3", "p", "nav", "a", "section", "div", "span", "b", "ul", "li", "figure"),
        *("figcaption", "svg", "rect", "text", "dl", "dt", "dd", "article", "table", "thead"),
        *("tbody", "tr", "th", "td", "code", "br", "ol", "h4"),
    }
    assert not any(name.startswith("on") for _, a in tags.tags for name in a)
    assert "<img" not in text
    assert EVIL_TOUCHPOINT not in text
    assert html.escape(EVIL_TOUCHPOINT) in text  # shown as text
    assert html.escape(EVIL_PREFIX) in text  # a representative customer, as text
    names = {n["name"] for block in graph_data(text).values() for n in block["nodes"]}
    assert EVIL_TOUCHPOINT in names  # in the graphs' data, as JSON, never as markup
    for match in DATA.finditer(text):
        payload = text[match.end() : text.index("</script>", match.end())]
        assert "<" not in payload


def test_the_page_asks_for_nothing(text: str) -> None:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert policy is not None
    assert policy.group(1).startswith("default-src 'none';")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    links = [a["href"] for tag, a in parse(text).tags if tag == "a"]
    assert all(h and (h.startswith("#") or h.startswith("graphs/")) for h in links)


# ------------------------------------------------------------------------ no map
def test_without_a_map_one_is_proposed_and_said_so(proposed: Path) -> None:
    text = proposed.read_text(encoding="utf-8")
    journeys = jg.mine(log())
    expected = jg.JourneyMap.from_journeys(journeys, min_share=0.2)
    written = jg.JourneyMap.from_yaml(proposed.parent / "proposed-map.yaml")
    assert written == expected
    assert "This journey map is proposed" in text
    assert "a journey map proposed from the journeys" in text
    stages = [
        n for n in graph_data(text)["graph-overlay"]["nodes"] if n["name"] in expected.stage_names
    ]
    assert len(stages) == len(expected.stage_names)
    # no customer table, and the events carry no numeric attribute: no outcome sections
    ids = [a.get("id") for tag, a in parse(text).tags if tag == "section"]
    assert ids == ["findings", "headline", "leave", "map", "archetypes", "funnel", "notes"]
    div = jg.compare(journeys, expected)
    assert float(kpis(text)["conformance"]) == pytest.approx(div.conformance)


def test_same_input_same_files(tmp_path: Path, page: Path) -> None:
    again = jg.report(
        log(), jmap(), tmp_path / "again", outcome="churned", customers=sample().customers, k=K
    )

    def files(folder: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }

    assert files(again.parent) == files(page.parent)


def test_outcomes_from_event_attributes_and_a_numeric_outcome(tmp_path: Path) -> None:
    data = datasets.generate(600, seed=2)
    outcomes = data.customers.select("customer_id", "revenue", "churned")
    events = data.events.join(outcomes, on="customer_id")
    logged = jg.read_events(events, **datasets.COLUMNS)
    page = jg.report(logged, jmap(), tmp_path, outcome="revenue", k=K)
    text = page.read_text(encoding="utf-8")
    assert float(kpis(text)["outcome"]) == pytest.approx(outcomes.get_column("revenue").mean())
    assert "revenue mean with" in text
    assert 'id="perception"' not in text  # no survey score column
    assert "churned" in text  # the other outcome, on the archetype cards


def test_stale_archetype_pages_are_removed(tmp_path: Path) -> None:
    small = jg.read_events(datasets.generate(500, seed=4).events, **datasets.COLUMNS)
    jg.report(small, jmap(), tmp_path, k=4)
    jg.report(small, jmap(), tmp_path, k=2)
    assert sorted(p.name for p in (tmp_path / "graphs").iterdir()) == [
        "archetype-0.html",
        "archetype-1.html",
        "overlay.html",
    ]


# ------------------------------------------------------------------------ errors
def bad_calls(tmp_path: Path) -> list[tuple[dict[str, Any], str]]:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    customers = sample().customers
    return [
        ({"log": sample().events}, "report needs an EventLog"),
        ({"jmap": "map.yaml"}, "jmap must be a JourneyMap"),
        ({"outdir": None}, "name the folder"),
        ({"outdir": a_file}, "is a file"),
        ({"outcome": "nope"}, "no outcome column 'nope'"),
        ({"outcome": "nope", "customers": None}, "outcome columns found: \\[\\]"),
        (
            {"outcome": "segment", "customers": customers.with_columns(segment=pl.lit("a"))},
            "outcome 'segment' must be boolean or numeric",
        ),
        ({"customers": customers.rename({"customer_id": "id"})}, "needs a 'customer'"),
        (
            {"customers": pl.concat([customers, customers.head(2)])},
            "2 customer ids on more than one",
        ),
        ({"customers": customers.to_pandas()}, "must be a polars DataFrame"),
        ({"score": "nope"}, "no survey score column 'nope'"),
        ({"score": "churned"}, "score 'churned' must be numeric"),
        ({"k": 1}, "k must be an integer >= 2"),
        ({"title": 3}, "title must be"),
    ]


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    base: dict[str, Any] = {
        "log": log(),
        "jmap": jmap(),
        "outdir": tmp_path / "out",
        "customers": sample().customers,
        "k": K,
    }
    for change, message in bad_calls(tmp_path):
        args = {**base, **change}
        with pytest.raises(jg.JourneygraphError, match=message):
            jg.report(args.pop("log"), args.pop("jmap"), args.pop("outdir"), **args)
    assert not (tmp_path / "out").exists()  # every check runs before anything is written


def test_customer_ids_of_another_type() -> None:
    events = datasets.generate(300, seed=1).events
    customers = pl.DataFrame({"customer": ["x1", "x2"], "churned": [True, False]})
    with pytest.raises(jg.JourneygraphError, match="String and cannot be read as the events'"):
        jg.report(jg.read_events(events, **datasets.COLUMNS), None, "unused", customers=customers)


def test_the_example_script_writes_a_report(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "examples" / "report.py"
    done = subprocess.run(
        [sys.executable, script, tmp_path], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report: {(tmp_path / 'index.html').resolve()}"
