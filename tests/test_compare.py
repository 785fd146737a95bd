"""compare(): costs against brute force, every deviation label on hand-made journeys."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeygraph as jg

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

# Discover -> Explore -> Buy -> Use, Explore may loop back to Discover
STAGES = {
    "Discover": ["ad", "search"],
    "Explore": ["product", "reviews"],
    "Buy": ["cart", "pay"],
    "Use": ["app"],
}


def jmap(**kwargs: object) -> jg.JourneyMap:
    return jg.JourneyMap.linear(STAGES, **kwargs)  # type: ignore[arg-type]


def journeys_of(
    paths: dict[str, list[str]], minutes: dict[str, list[int]] | None = None
) -> jg.Journeys:
    rows = []
    for customer, path in paths.items():
        times = (minutes or {}).get(customer, list(range(len(path))))
        rows += [
            {"user": customer, "ts": T0 + dt.timedelta(minutes=m), "event": tp}
            for tp, m in zip(path, times, strict=True)
        ]
    log = jg.read_events(pl.DataFrame(rows), customer="user", timestamp="ts", touchpoint="event")
    return jg.mine(log)


def labels(div: jg.Divergence, journey: str) -> list[tuple[str, int, str | None]]:
    frame = div.deviations.filter(pl.col("journey") == journey)
    return [(str(k), p, s) for k, p, s in frame.select("kind", "position", "stage").rows()]


def test_ideal_journey_conforms() -> None:
    div = jg.compare(journeys_of({"a": ["ad", "search", "product", "cart", "pay", "app"]}), jmap())
    row = div.customers.row(0, named=True)
    assert (row["visits"], row["cost"], row["fitness"], row["conforms"]) == (4, 0, 1.0, True)
    assert labels(div, "a") == []


@pytest.mark.parametrize(
    ("path", "expected_cost", "expected"),
    [
        # skipped Explore: one map-only move, reported at the next visit (cart, position 1)
        (["ad", "cart", "app"], 1, [("skipped_stage", 1, "Explore")]),
        # an off-map touchpoint between two stages
        (["ad", "product", "chat", "cart", "app"], 1, [("off_map", 2, None)]),
        # entering at Explore: Discover is not a start stage... Explore is not either
        (["product", "cart", "app"], 1, [("wrong_entry", 0, "Explore")]),
        # leaving after Buy: Use never reached
        (["ad", "product", "cart"], 1, [("early_exit", 2, "Buy")]),
        # back from Buy to Explore is not allowed: a loop
        (["ad", "product", "cart", "reviews", "app"], 1, [("loop", 3, "Explore")]),
        # Use before Buy: out of order, then Buy is a loop back
        (["ad", "product", "app", "cart", "app"], 1, [("out_of_order", 2, "Use")]),
    ],
)
def test_each_deviation_kind(
    path: list[str], expected_cost: int, expected: list[tuple[str, int, str | None]]
) -> None:
    div = jg.compare(journeys_of({"c": path}), jmap())
    assert div.customers.get_column("cost").to_list() == [expected_cost]
    assert labels(div, "c") == expected


def test_allowed_loop_is_not_a_deviation() -> None:
    looping = jmap(transitions=[("Explore", "Discover")])
    div = jg.compare(
        journeys_of({"r": ["search", "product", "search", "reviews", "cart", "app"]}), looping
    )
    assert div.customers.get_column("conforms").to_list() == [True]
    div = jg.compare(
        journeys_of({"r": ["search", "product", "search", "reviews", "cart", "app"]}), jmap()
    )
    assert labels(div, "r") == [("loop", 2, "Discover"), ("loop", 3, "Explore")]


def test_optional_stage_may_be_skipped() -> None:
    optional = jmap(optional=["Explore"])
    div = jg.compare(journeys_of({"s": ["ad", "cart", "app"]}), optional)
    assert div.customers.get_column("conforms").to_list() == [True]


def test_late_transition() -> None:
    stages = [jg.journeymap.Stage(name=n, touchpoints=tuple(t)) for n, t in STAGES.items()]
    stages[2] = stages[2].model_copy(update={"max_time": dt.timedelta(hours=1)})
    sla = jg.JourneyMap(stages=tuple(stages))
    paths = {"fast": ["ad", "product", "cart", "app"], "slow": ["ad", "product", "cart", "app"]}
    minutes = {"fast": [0, 1, 2, 30], "slow": [0, 1, 2, 200]}
    div = jg.compare(journeys_of(paths, minutes), sla)
    assert labels(div, "fast") == []
    assert labels(div, "slow") == [("late", 3, "Buy")]


@pytest.mark.parametrize("sla", ["4.1s", "2.01s", dt.timedelta(microseconds=249)])
def test_late_is_exact_at_the_limit(sla: str | dt.timedelta) -> None:
    # these limits are one microsecond short as float seconds * 1e6
    sla_map = jmap(max_time={"Buy": sla})
    limit = sla_map.stages[2].max_time
    assert limit is not None
    seconds = [dt.timedelta(seconds=s) for s in (0, 1, 2)]
    rows = [
        {"user": user, "ts": T0 + offset, "event": tp}
        for user, extra in (("on_time", 0), ("late", 1))
        for tp, offset in zip(
            ["ad", "product", "cart", "app"],
            [*seconds, seconds[2] + limit + dt.timedelta(microseconds=extra)],
            strict=True,
        )
    ]
    log = jg.read_events(pl.DataFrame(rows), customer="user", timestamp="ts", touchpoint="event")
    div = jg.compare(jg.mine(log), sla_map)
    assert labels(div, "on_time") == []
    assert labels(div, "late") == [("late", 3, "Buy")]


def test_stage_visits_vs_strict() -> None:
    path = ["ad", "search", "product", "cart", "pay", "app"]
    loose = jg.compare(journeys_of({"a": path}), jmap())
    strict = jg.compare(journeys_of({"a": path}), jmap(), strict=True)
    assert loose.customers.get_column("visits").to_list() == [4]
    assert strict.customers.get_column("visits").to_list() == [6]
    # strict: the second event of a stage has nowhere to go on a map without self-loops
    assert strict.customers.get_column("cost").to_list() == [2]


# ------------------------------------------------------------- brute force
def lcs(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    @cache
    def go(i: int, j: int) -> int:
        if i == len(a) or j == len(b):
            return 0
        if a[i] == b[j]:
            return 1 + go(i + 1, j + 1)
        return max(go(i + 1, j), go(i, j + 1))

    return go(0, 0)


def brute_cost(visits: tuple[str, ...], m: jg.JourneyMap) -> int:
    """min over every word of the map's language of |x| + |w| - 2 LCS(x, w).

    Words longer than 2|x| + shortest can never win (cost >= |w| - |x|), so
    walking the map's moves up to that length enumerates every candidate.
    """
    bound = 2 * len(visits) + len(m.shortest_path())
    best = None
    frontier = [(s,) for s in m.start_stages]
    while frontier:
        longer = []
        for word in frontier:
            if word[-1] in m.end_stages:
                assert m.accepts(list(word))
                cost = len(visits) + len(word) - 2 * lcs(visits, word)
                best = cost if best is None else min(best, cost)
            if len(word) < bound:
                longer += [(*word, nxt) for nxt in m.successors(word[-1])]
        frontier = longer
    assert best is not None
    return best


def visits_of(path: list[str], m: jg.JourneyMap) -> tuple[str, ...]:
    labels_ = [m.stage_of.get(tp, f"~{tp}") for tp in path]
    return tuple(k for k, _ in itertools.groupby(labels_))


TOUCHPOINTS = ["ad", "product", "cart", "app", "chat"]


@settings(max_examples=40, deadline=None)
@given(
    paths=st.lists(
        st.lists(st.sampled_from(TOUCHPOINTS), min_size=1, max_size=5), min_size=1, max_size=6
    ),
    loop=st.booleans(),
    optional=st.booleans(),
)
def test_costs_equal_brute_force_and_invariants(
    paths: list[list[str]], loop: bool, optional: bool
) -> None:
    small = jg.JourneyMap.linear(
        {"Discover": ["ad"], "Explore": ["product"], "Buy": ["cart"], "Use": ["app"]},
        transitions=[("Buy", "Explore")] if loop else [],
        optional=["Explore"] if optional else [],
    )
    named = {f"c{i}": p for i, p in enumerate(paths)}
    if all(t == "chat" for p in paths for t in p):  # no map touchpoint occurs at all
        with pytest.raises(jg.JourneygraphError, match="none of the journey map's touchpoints"):
            jg.compare(journeys_of(named), small)
        return
    div = jg.compare(journeys_of(named), small)
    shortest = len(small.shortest_path())
    for row in div.customers.iter_rows(named=True):
        visits = visits_of(named[row["journey"]], small)
        assert row["visits"] == len(visits)
        assert row["cost"] == brute_cost(visits, small)
        assert 0 <= row["cost"] <= len(visits) + shortest
        assert 0.0 <= row["fitness"] <= 1.0
        assert (row["cost"] == 0) == small.accepts(list(visits))
        assert row["conforms"] == (row["cost"] == 0)  # no SLA in this map


# ---------------------------------------------------------- population view
def population() -> tuple[jg.Divergence, dict[str, list[str]]]:
    paths = {
        "a": ["ad", "product", "cart", "app"],
        "b": ["ad", "product", "cart", "app"],
        "c": ["ad", "cart", "app"],
        "d": ["product", "cart"],
        "e": ["ad", "chat", "product"],
    }
    customers = pl.DataFrame(
        {
            "customer": list(paths),
            "churned": [False, False, True, True, True],
            "score": [9, None, 3, None, None],
        }
    )
    return jg.compare(journeys_of(paths), jmap(), customers=customers), paths


def test_summary_and_counts_by_hand() -> None:
    div, _ = population()
    s = div.summary().row(0, named=True)
    assert s["journeys"] == 5
    assert s["conformance"] == pytest.approx(2 / 5)
    assert s["skipped_stage"] == pytest.approx(1 / 5)
    assert s["early_exit"] == pytest.approx(2 / 5)  # d and e
    by = div.summary(by="churned").sort("churned")
    assert by.get_column("conformance").to_list() == [1.0, 0.0]


def test_overlay_and_stage_reach_by_hand() -> None:
    div, _ = population()
    overlay = div.overlay()
    maps = {
        (r["source"], r["target"]): r
        for r in overlay.filter(pl.col("kind") == "map").iter_rows(named=True)
    }
    assert maps[("Discover", "Explore")]["journeys"] == 2  # a, b (e has chat between)
    assert maps[("Explore", "Buy")]["journeys"] == 3  # a, b, d
    # reached Buy or later without Explore -> Buy: c
    assert maps[("Explore", "Buy")]["bypassed"] == 1
    shadow = {
        (r["source"], r["target"]): r["journeys"]
        for r in overlay.filter(pl.col("kind") == "shadow").iter_rows(named=True)
    }
    assert shadow == {("Discover", "Buy"): 1, ("Discover", "chat"): 1, ("chat", "Explore"): 1}
    reach = {r["stage"]: r for r in div.stage_reach().iter_rows(named=True)}
    assert reach["Use"]["reach"] == pytest.approx(3 / 5)
    assert reach["Use"]["reach_ideal"] == pytest.approx(2 / 5)  # c skipped Explore before Use
    assert reach["Buy"]["drop_off"] == pytest.approx(1 / 5)  # d
    g = div.overlay_graph()
    assert g["Explore"]["Buy"]["kind"] == "map"
    assert g["Discover"]["chat"]["kind"] == "shadow"
    assert g.nodes["chat"]["kind"] == "off_map"


def test_drivers_by_hand() -> None:
    """Five journeys, column outcome `churned`: at each stage, the journeys that did
    something there against the others that reached it; exits are never features."""
    div, _ = population()
    moments = div.drivers("churned", min_journeys=1)
    rows = {(r["feature"], r["stage"]): r for r in moments.table.iter_rows(named=True)}
    assert not any(f.startswith("early_exit") for f, _ in rows)
    # e went to chat during Discover: 1 of the 4 that reached Discover (d started at
    # Explore); e churned, of a, b, c one did
    row = rows["visited:chat", "Discover"]
    assert (row["journeys"], row["affected"]) == (4, 1)
    assert row["with"] == 1.0
    assert row["without"] == pytest.approx(1 / 3)
    assert row["naive"] == pytest.approx(2 / 3)
    assert 0 <= row["q_value"] <= 1
    with pytest.raises(jg.JourneygraphError, match="no outcome column 'revenue'"):
        div.drivers("revenue")


def test_perception_gap_by_hand() -> None:
    div, _ = population()
    gap = {r["group"]: r for r in div.perception_gap("score", "churned").iter_rows(named=True)}
    assert gap["all"]["answered"] == pytest.approx(2 / 5)
    assert gap["all"]["mean_score"] == pytest.approx(6.0)
    assert gap["conforms"]["answered"] == pytest.approx(1 / 2)
    assert gap["churned=true"]["mean_score"] == pytest.approx(3.0)


def test_identical_journeys_get_identical_results_and_alignment_table() -> None:
    div, _ = population()
    rows = div.customers.filter(pl.col("journey").is_in(["a", "b"])).drop(
        "journey", "customer", "churned", "score"
    )
    assert rows.n_unique() == 1
    moves = div.alignment("c")
    assert moves.select("move", "stage").rows() == [
        ("sync", "Discover"),
        ("model", "Explore"),
        ("sync", "Buy"),
        ("sync", "Use"),
    ]
    with pytest.raises(jg.JourneygraphError, match="no journey 'zz'"):
        div.alignment("zz")


def test_outcomes_from_event_attributes() -> None:
    rows = [
        {"user": "a", "ts": T0, "event": "ad", "churned": None, "nps": 9},
        {
            "user": "a",
            "ts": T0 + dt.timedelta(minutes=1),
            "event": "app",
            "churned": False,
            "nps": None,
        },
        {"user": "b", "ts": T0, "event": "ad", "churned": None, "nps": 3},
        {
            "user": "b",
            "ts": T0 + dt.timedelta(minutes=1),
            "event": "cart",
            "churned": True,
            "nps": 4,
        },
    ]
    log = jg.read_events(pl.DataFrame(rows), customer="user", timestamp="ts", touchpoint="event")
    div = jg.compare(jg.mine(log), jmap(), customers=log)
    got = div.customers.select("journey", "churned", "nps").rows()
    assert got == [("a", False, 9), ("b", True, 4)]
    bare = jg.read_events(
        pl.DataFrame(rows).drop("churned", "nps"),
        customer="user",
        timestamp="ts",
        touchpoint="event",
    )
    with pytest.raises(jg.JourneygraphError, match="needs attribute columns"):
        jg.compare(jg.mine(bare), jmap(), customers=bare)


def test_every_table_is_deterministic() -> None:
    from journeygraph import datasets

    sample = datasets.generate(400, seed=3)
    customers = sample.customers.rename({"customer_id": "customer"})
    jm = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])

    def tables() -> list[pl.DataFrame]:
        log = jg.read_events(
            sample.events.sample(fraction=1.0, seed=1), **datasets.COLUMNS, tie_breaker=None
        )
        div = jg.compare(jg.mine(log), jm, customers=customers)
        return [
            div.customers,
            div.deviations,
            div.summary(by="archetype"),
            div.deviation_counts(),
            div.overlay(),
            div.stage_reach(),
            div.drivers("churned", min_journeys=5).table,
            div.drivers(reached="purchase", min_journeys=5).table,
            div.perception_gap("survey_score", "churned"),
        ]

    for first, second in zip(tables(), tables(), strict=True):
        assert first.equals(second)
