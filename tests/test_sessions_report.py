"""Sessions end to end, counts that add up, maps checked against the data.

The realistic multi-session log (`realistic.realistic_log`) goes through
read_events -> mine(journey="session") -> compare -> report and the CLI; the
page's headline numbers are checked against an independent polars
computation on the generator's clean ground truth.
"""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings

import journeygraph as jg
from journeygraph.cli import main
from realistic import COLUMNS, STAGES, US_FORMAT, RealisticLog, realistic_log

DATA = re.compile(
    r'<script type="application/json" (?:class="jg-graph-data" data-target="graph-|id=")([^"]+)">'
)
KPI = re.compile(r'data-kpi="(\w+)" data-value="([^"]*)"')
STAGE_OF = {t: s for s, ts in STAGES.items() for t in ts}
ORDER = list(STAGES)


@cache
def shop() -> RealisticLog:
    return realistic_log(400, seed=11)


def read() -> jg.EventLog:
    return jg.read_events(
        shop().events, **COLUMNS, session="session_id", timestamp_format=US_FORMAT
    )


@cache
def sessions() -> jg.Journeys:
    return jg.mine(read(), journey="session")


def truth() -> pl.DataFrame:
    """Per session, from the clean rows: customer, touchpoints in order, stages in order."""
    clean = shop().clean.sort("user_id", "ts", maintain_order=True)
    stage = pl.col("event").replace_strict(STAGE_OF, default=None)
    return clean.group_by("user_id", "session_id", maintain_order=True).agg(
        pl.col("event").alias("events"), stage.alias("stages")
    )


def follows_the_map(stages: list[str | None]) -> bool:
    """Only map touchpoints, stage visits exactly Browse -> Consider -> Buy."""
    if any(s is None for s in stages):
        return False
    visits = [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
    return visits == ORDER


def graph_nodes(html: str) -> dict[str, dict[str, Any]]:
    out = {}
    for match in DATA.finditer(html):
        end = html.index("</script>", match.end())
        out[match.group(1)] = json.loads(html[match.end() : end])
    return out


def drawn_counts(data: dict[str, Any]) -> dict[str, int]:
    """Each drawn node's name and the number written under it."""
    return {n["name"]: int(n["label"].split("\n")[1].replace(",", "")) for n in data["nodes"]}


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("report")
    jmap = jg.JourneyMap.linear(STAGES)
    target = jg.report(
        sessions(),
        jmap,
        folder,
        customers=shop().customers.rename({"user_id": "customer"}),
        outcome="purchased",
        k=3,
    )
    return target.read_text(encoding="utf-8")


def test_session_report_headline_numbers_match_polars(page: str) -> None:
    per_session = truth()
    shown = dict(KPI.findall(page))
    assert int(shown["sessions"]) == per_session.height
    assert int(shown["customers"]) == shop().clean.get_column("user_id").n_unique()
    assert int(shown["events"]) == shop().clean.height
    follows = [follows_the_map(s) for s in per_session.get_column("stages").to_list()]
    assert float(shown["conformance"]) == pytest.approx(sum(follows) / len(follows))
    exits = per_session.get_column("events").list.last().value_counts(sort=True)
    assert shown["exit"] == exits.row(0)[0]
    assert "a journey is one session: every share on this page counts sessions" in page
    assert "Journeys: one per session (sessions from the session id column)" in page
    assert "Share of sessions in each archetype." in page
    # the outcome is per customer: its rate counts each customer once, and so do the moments
    purchased = shop().customers.get_column("purchased")
    assert float(shown["outcome"]) == pytest.approx(purchased.mean())
    assert "purchased (rate of customers)" in page
    assert f"rate among the {purchased.len():,} customers whose purchased is known" in page
    assert "were rolled up to their" in page
    # archetypes are of sessions: their outcome column says whose outcome it is
    assert (
        "outcome of the sessions&#x27; customers" in page
        or "outcome of the sessions' customers" in page
    )
    assert "node size: customers" not in page


def test_stage_reach_node_counts_and_exits_match_polars(page: str) -> None:
    per_session = truth()
    n = per_session.height
    div = jg.compare(sessions(), jg.JourneyMap.linear(STAGES))
    reach = dict(div.stage_reach().select("stage", "reach").iter_rows())
    drop = dict(div.stage_reach().select("stage", "drop_off").iter_rows())
    drawn = drawn_counts(graph_nodes(page)["overlay"])
    for stage in ORDER:
        reached = per_session.filter(pl.col("stages").list.contains(stage)).height
        assert reach[stage] == pytest.approx(reached / n)
        assert drawn[stage] == reached  # the number under the stage node
        last = per_session.filter(pl.col("stages").list.drop_nulls().list.last() == stage).height
        assert drop[stage] == pytest.approx(last / n)
    for touchpoint in ("support_chat", "account"):  # off the map
        through = per_session.filter(pl.col("events").list.contains(touchpoint)).height
        assert drawn.get(touchpoint, through) == through


def test_per_session_tables_carry_the_customer() -> None:
    div = jg.compare(
        sessions(),
        jg.JourneyMap.linear(STAGES),
        customers=shop().customers.rename({"user_id": "customer"}),
    )
    table = div.customers
    assert table.height == truth().height
    assert {"journey", "customer"} <= set(table.columns)
    prefix = table.get_column("journey").str.split("#").list.first()
    assert (prefix == table.get_column("customer")).all()


# ------------------------------------------------------------------ counts that add up
ALPHABET = ["home", "search", "product", "cart", "pay", "chat"]
MAP = jg.JourneyMap.linear(
    {"Look": ["home", "search"], "Pick": ["product"], "Buy": ["cart", "pay"]}
)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 6), st.sampled_from(ALPHABET)), min_size=1, max_size=60)
)
def test_no_drawn_count_exceeds_the_journeys_and_stage_nodes_equal_reach(
    rows: list[tuple[int, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    frame = pl.DataFrame(
        {
            "c": [f"c{c}" for c, _ in rows],
            "t": list(range(len(rows))),
            "e": [e for _, e in rows],
        }
    )
    journeys = jg.mine(jg.read_events(frame, customer="c", timestamp="t", touchpoint="e"))
    if not set(journeys.touchpoints) & {"home", "search", "product", "cart", "pay"}:
        return  # compare raises: no map touchpoint occurs (tested below)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        div = jg.compare(journeys, MAP)
    graph = div.overlay_graph()
    n = journeys.n_journeys
    out = tmp_path_factory.mktemp("overlay") / "overlay.html"
    drawn = drawn_counts(
        graph_nodes(jg.to_html(graph, out).read_text(encoding="utf-8"))["journeygraph-data"]
    )
    for node, attrs in graph.nodes(data=True):
        assert drawn[node] == attrs["journeys"] <= n
        if attrs["kind"] == "stage":
            assert attrs["journeys"] == round(attrs["reach"] * n)
        else:  # an off-map touchpoint: journeys that visited it
            visited = frame.filter(pl.col("e") == node).get_column("c").n_unique()
            assert attrs["journeys"] == visited


# ------------------------------------------------------------------ maps checked
def test_map_touchpoints_never_visited_are_named_with_a_suggestion() -> None:
    typo = jg.JourneyMap.linear(
        {"Browse": ["Home", "search"], "Consider": ["product"], "Buy": ["cart", "chekout"]}
    )
    with pytest.warns(jg.MapWarning, match="never occurs") as caught:
        div = jg.compare(sessions(), typo)
    messages = [str(w.message) for w in caught]
    assert "map touchpoint 'Home' never occurs in the journeys; did you mean 'home'?" in messages
    assert (
        "map touchpoint 'chekout' never occurs in the journeys; did you mean 'checkout'?"
        in messages
    )
    assert div.map_warnings == messages


def test_a_map_none_of_whose_touchpoints_occur_raises() -> None:
    upper = jg.JourneyMap.linear({"Browse": ["Home"], "Buy": ["Cart"]})
    with pytest.raises(jg.JourneygraphError, match=r"none of the journey map's touchpoints") as e:
        jg.compare(sessions(), upper)
    assert "'Home' -> 'home'" in str(e.value)
    assert "case-sensitive" in str(e.value)


# ------------------------------------------------------------------ command line
def test_cli_mine_session_gap_writes_session_journeys(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    shop().events.write_csv(path)
    columns = [f"--{role}={column}" for role, column in COLUMNS.items()]
    argv = ["mine", str(path), *columns, f"--timestamp-format={US_FORMAT}", "--no-progress"]
    assert main([*argv, "--session-gap", "30m", "--out", str(tmp_path / "gap")]) == 0
    stats = pl.read_parquet(tmp_path / "gap" / "stats.parquet")
    assert stats.height == truth().height  # one row per session, not per customer
    assert main([*argv, "--journey", "customer", "--out", str(tmp_path / "c")]) == 0
    assert pl.read_parquet(tmp_path / "c" / "stats.parquet").height == shop().customers.height


def test_cli_report_takes_mining_options_and_shows_map_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.csv"
    shop().events.write_csv(path)
    jmap = tmp_path / "map.yaml"
    jg.JourneyMap.linear({"Browse": ["Home", "search"], "Buy": ["cart"]}).to_yaml(jmap)
    columns = [f"--{role}={column}" for role, column in COLUMNS.items()]
    argv = [
        "report", str(path), *columns, f"--timestamp-format={US_FORMAT}",
        "--session=session_id", "--drop=account", "--collapse-repeats", "--map", str(jmap),
        "--k=2", "--no-progress", "--out", str(tmp_path / "r"),
    ]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "journeygraph: warning: map touchpoint 'Home' never occurs" in err
    assert "touchpoint in drop=" in err
    text = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "did you mean &#x27;home&#x27;?" in text
    assert "drop=" in text
    shown = dict(KPI.findall(text))
    no_account = truth().filter(pl.col("events").list.set_difference(["account"]).list.len() > 0)
    assert int(shown["sessions"]) == no_account.height


# ------------------------------------------------- customer outcomes over sessions
def test_a_customer_outcome_over_sessions_is_counted_on_customers() -> None:
    """drivers('purchased') on session journeys rolls sessions up to customers: the
    visits and next steps equal those of customer journeys with the same sessions,
    mined and compared independently (deviations differ: they are aligned per
    session), and every count is customers."""
    jmap = jg.JourneyMap.linear(STAGES)
    table = shop().customers.rename({"user_id": "customer"})
    n_customers = table.height
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # map check: 'payment_done' etc.
        by_session = jg.compare(sessions(), jmap, customers=table).drivers(
            "purchased", min_journeys=3
        )
        by_customer = jg.compare(jg.mine(read()), jmap, customers=table).drivers(
            "purchased", min_journeys=3
        )
    assert by_session.unit == by_customer.unit == "customers"
    assert any("rolled up to their" in note for note in by_session.notes)
    # the log's session column is the sessions of customer journeys too (no 30-minute rule)
    assert not any("No sessions were given" in note for note in by_customer.notes)
    assert by_session.table.get_column("journeys").max() <= n_customers
    steps = pl.col("feature").str.starts_with("visited:") | pl.col("feature").str.starts_with(
        "next:"
    )
    columns = ["feature", "stage", "journeys", "affected", "with", "without", "adjusted", "p_value"]
    left = by_session.table.filter(steps).select(columns).sort("feature", "stage")
    right = by_customer.table.filter(steps).select(columns).sort("feature", "stage")
    assert left.height >= 2  # the off-map pages: account, support_chat
    assert left.equals(right)


def test_the_perception_gap_over_sessions_counts_customers() -> None:
    jmap = jg.JourneyMap.linear(STAGES)
    customers = shop().customers.rename({"user_id": "customer"})
    # a survey answered by every third customer, score 0..10 from the id
    number = pl.col("customer").str.slice(1).cast(pl.Int64)
    survey = customers.with_columns(pl.when(number % 3 == 0).then(number % 11).alias("nps"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        div = jg.compare(sessions(), jmap, customers=survey)
    gap = div.perception_gap("nps", "purchased")
    everyone = gap.row(0, named=True)
    assert everyone["group"] == "all"
    assert everyone["customers"] == customers.height  # not the sessions
    answered = survey.get_column("nps").is_not_null()
    assert everyone["answered"] == pytest.approx(answered.mean())
    assert everyone["mean_score"] == pytest.approx(survey.get_column("nps").mean())
    # a customer conforms when each of its sessions does
    per_customer = div.customers.group_by("customer").agg(pl.col("conforms").all())
    by_group = dict(zip(gap["group"], gap["customers"], strict=True))
    assert by_group["conforms"] == per_customer.get_column("conforms").sum()
    assert by_group["conforms"] + by_group["deviates"] == customers.height
    purchased = customers.get_column("purchased").sum()
    assert by_group["purchased=true"] == purchased
