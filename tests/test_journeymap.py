"""Tests of ``journeygraph.journeymap``: validation messages, hand-computed moves and
defaults, shortest paths and the language against brute-force enumeration,
round trips through dict / JSON / YAML / files, the JSON schema, and proposing a
map from mined journeys.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import statistics
from pathlib import Path
from typing import Any

import polars as pl
import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import journeygraph as jg
from journeygraph import JourneygraphError
from journeygraph.journeymap import JourneyMap, Stage, format_duration
from journeygraph.schema import parse_duration


def stage(name: str, *touchpoints: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "touchpoints": list(touchpoints or [name.lower()]), **extra}


ABC = [stage("A"), stage("B"), stage("C")]

# (input dict, fragment of the JourneygraphError message)
BAD_MAPS: list[tuple[Any, str]] = [
    ({"stages": []}, "stages: a journey map needs at least one stage"),
    ({"transitions": []}, "missing key 'stages'"),
    (
        {"stages": [stage("A", "a"), stage("A", "b")]},
        "stage name 'A' is used twice (stages[0] and stages[1])",
    ),
    (
        {"stages": [stage("Discover", "search"), stage("Explore", "view", "search")]},
        "touchpoint 'search' is in two stages, 'Discover' and 'Explore'",
    ),
    (
        {"stages": [stage("Discover"), stage("Explore")], "transitions": [["Explore", "Discovr"]]},
        "transitions[0] ['Explore', 'Discovr'] names unknown stage 'Discovr'; "
        "did you mean 'Discover'?",
    ),
    ({"stages": ABC, "transitions": [["A"]]}, "transitions[0] = ['A'] is not a pair"),
    ({"stages": ABC, "transitions": ["AB"]}, "transitions[0] = 'AB' is not a pair"),
    ({"stages": ABC, "start": ["a"]}, "start names unknown stage 'a'; did you mean 'A'?"),
    ({"stages": ABC, "end": ["Buy"]}, "end names unknown stage 'Buy' (stages: A, B, C)"),
    (
        {"stages": ABC, "start": ["C"], "end": ["A"]},
        "end stage 'A' cannot be reached from any start stage ['C']",
    ),
    (
        {"stages": ABC, "start": ["B"], "end": ["A", "C"]},
        "end stage 'A' cannot be reached from any start stage ['B']",
    ),
    (
        {"stagez": ABC},
        "unknown key 'stagez' (did you mean 'stages'?); allowed keys: stages, transitions",
    ),
    ({"stages": ABC, "transition": []}, "unknown key 'transition' (did you mean 'transitions'?)"),
    (
        {"stages": [{"name": "A", "touchpoint": ["a"]}]},
        "stages[0] (A): unknown key 'touchpoint' (did you mean 'touchpoints'?)",
    ),
    ({"stages": [{"name": "A"}]}, "stages[0] (A): missing key 'touchpoints'"),
    ({"stages": [{"touchpoints": ["a"]}]}, "stages[0]: missing key 'name'"),
    ({"stages": [stage("A"), stage("", "b")]}, "stages[1]: a stage name must not be empty"),
    ({"stages": [stage("  ", "b")]}, "a stage name must not be empty (got '  ')"),
    ({"stages": [{"name": "A", "touchpoints": []}]}, "stage 'A' has no touchpoints"),
    ({"stages": [stage("A", "a", "a")]}, "stage 'A' lists touchpoint 'a' twice"),
    ({"stages": [stage("A", "a", "")]}, "stage 'A' has an empty touchpoint name"),
    (
        {"stages": [stage("A", max_time="soon")]},
        "stages[0] (A).max_time: max_time='soon' is not a duration",
    ),
    ({"stages": [stage("A", max_time=0)]}, "max_time=0 must be a positive duration"),
    ({"stages": [stage("A", optional="maybe")]}, "stages[0] (A).optional:"),
    ({"stages": "A"}, "stages: should be a list"),
    ([stage("A")], "expected a mapping with a 'stages' key, got list"),
    (None, "expected a mapping with a 'stages' key, got nothing"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD_MAPS)
def test_bad_maps_raise_a_clear_error(data: Any, fragment: str) -> None:
    with pytest.raises(JourneygraphError) as info:
        JourneyMap.from_dict(data)
    assert fragment in str(info.value)
    assert str(info.value).startswith("invalid journey map")
    # the same input as JSON text gives the same message
    with pytest.raises(JourneygraphError, match=re.escape(fragment)):
        JourneyMap.from_json(json.dumps(data))


@pytest.mark.parametrize(("data", "fragment"), BAD_MAPS)
def test_bad_maps_from_yaml_text(data: Any, fragment: str) -> None:
    with pytest.raises(JourneygraphError, match=re.escape(fragment)):
        JourneyMap.from_yaml(yaml.safe_dump(data))


def test_misspelled_yaml_keys_are_named() -> None:
    text = "stages:\n  - name: Discover\n    touchpoint: [ad_click]\n"
    with pytest.raises(JourneygraphError, match=r"stages\[0\] \(Discover\): unknown key 'touch"):
        JourneyMap.from_yaml(text)
    with pytest.raises(JourneygraphError, match="unknown key 'stagez'"):
        JourneyMap.from_yaml("stagez:\n  - name: A\n    touchpoints: [a]\n")


def test_unparseable_text_and_wrong_types() -> None:
    with pytest.raises(JourneygraphError, match="not valid YAML"):
        JourneyMap.from_yaml("stages: [")
    with pytest.raises(JourneygraphError, match="not valid JSON"):
        JourneyMap.from_json("{")
    with pytest.raises(JourneygraphError, match="got nothing"):
        JourneyMap.from_yaml("")
    # a string that names no file is text: here a YAML scalar
    with pytest.raises(JourneygraphError, match="got str"):
        JourneyMap.from_yaml("no/such/map.yaml")
    with pytest.raises(FileNotFoundError):
        JourneyMap.from_yaml(Path("no/such/map.yaml"))
    with pytest.raises(TypeError):
        JourneyMap.from_yaml(42)  # type: ignore[arg-type]


def test_direct_construction_raises_pydantic_errors() -> None:
    with pytest.raises(pydantic.ValidationError, match="used twice"):
        JourneyMap(
            stages=(Stage(name="A", touchpoints=("a",)), Stage(name="A", touchpoints=("b",)))
        )
    with pytest.raises(ValueError, match="has no touchpoints"):
        Stage(name="A", touchpoints=())
    with pytest.raises(ValueError, match="Extra inputs"):
        Stage(name="A", touchpoints=("a",), optinal=True)  # type: ignore[call-arg]


def test_maps_are_frozen_and_hashable() -> None:
    m = JourneyMap.linear(["a", "b"])
    with pytest.raises(pydantic.ValidationError):
        m.start = ("b",)  # type: ignore[misc]
    assert m == JourneyMap.linear({"a": "a", "b": ["b"]})
    assert hash(m) == hash(JourneyMap.linear({"a": "a", "b": ["b"]}))
    assert m != JourneyMap.linear(["a", "b"], optional=["b"])


# ------------------------------------------------------------ linear()
def test_linear_forms() -> None:
    m = JourneyMap.linear(
        {"Discover": ["ad_click", "search"], "Buy": "purchase"},
        optional=["Discover"],
        transitions=[("Buy", "Buy")],
        max_time={"Buy": 90},
    )
    assert m.stages == (
        Stage(name="Discover", touchpoints=("ad_click", "search"), optional=True),
        Stage(name="Buy", touchpoints=("purchase",), max_time=dt.timedelta(seconds=90)),
    )
    assert m.transitions == (("Buy", "Buy"),)
    assert m.stage_of == {"ad_click": "Discover", "search": "Discover", "purchase": "Buy"}
    assert m.index_of == {"Discover": 0, "Buy": 1}
    names = JourneyMap.linear(["home", "buy"], optional="home", start="home", end=["buy"])
    assert [(s.name, s.touchpoints, s.optional) for s in names.stages] == [
        ("home", ("home",), True),
        ("buy", ("buy",), False),
    ]
    assert (names.start, names.end) == (("home",), ("buy",))


def test_linear_errors() -> None:
    with pytest.raises(JourneygraphError, match="optional names unknown stage 'hom'; did you"):
        JourneyMap.linear(["home", "buy"], optional=["hom"])
    with pytest.raises(JourneygraphError, match="max_time names unknown stage 'pay'"):
        JourneyMap.linear(["home", "buy"], max_time={"pay": "2d"})
    with pytest.raises(JourneygraphError, match="is one string"):
        JourneyMap.linear("home")
    with pytest.raises(JourneygraphError, match="touchpoint 'x' is in two stages, 'a' and 'b'"):
        JourneyMap.linear({"a": ["x"], "b": ["y", "x"]})
    with pytest.raises(JourneygraphError, match="needs at least one stage"):
        JourneyMap.linear([])


def test_lookups_of_unknown_stages() -> None:
    m = JourneyMap.linear(["Discover", "Buy"])
    with pytest.raises(JourneygraphError, match="unknown stage 'Discovr'; did you mean 'Discover'"):
        m.successors("Discovr")
    with pytest.raises(JourneygraphError, match="unknown stage 'x'"):
        m.move_kind("Buy", "x")
    assert m.stage_of is not m.stage_of  # callers cannot corrupt the map
    m.stage_of["Discover"] = "Buy"
    assert m.stage_of["Discover"] == "Discover"


# --------------------------------------------------- defaults and moves
@pytest.mark.parametrize(
    ("optional", "start", "end", "starts", "ends"),
    [
        ((), (), (), "a", "d"),
        (("a",), (), (), "ab", "d"),
        (("a", "b"), (), (), "abc", "d"),
        (("b",), (), (), "a", "d"),
        (("d",), (), (), "a", "cd"),
        (("c", "d"), (), (), "a", "bcd"),
        (("a", "c"), (), (), "ab", "d"),
        (("a", "b", "c", "d"), (), (), "abcd", "abcd"),
        (("a", "b", "c"), (), (), "abcd", "d"),
        (("a",), ("c", "a"), ("b", "d"), "ac", "bd"),  # explicit start/end replace defaults
        ((), ("b",), ("c",), "b", "c"),
    ],
)
def test_default_start_and_end_stages(
    optional: tuple[str, ...], start: tuple[str, ...], end: tuple[str, ...], starts: str, ends: str
) -> None:
    m = JourneyMap.linear(list("abcd"), optional=optional, start=start, end=end)
    assert m.start_stages == tuple(starts)
    assert m.end_stages == tuple(ends)


def test_moves_of_a_linear_map() -> None:
    m = JourneyMap.linear(list("abc"))
    assert m.moves == (("a", "b"), ("b", "c"))
    assert [m.successors(s) for s in "abc"] == [("b",), ("c",), ()]
    assert m.shortest_path() == ("a", "b", "c")


def test_moves_skipping_optional_stages() -> None:
    m = JourneyMap.linear(list("abcde"), optional=["b", "c"])
    assert m.moves == (
        ("a", "b"),
        ("a", "c"),
        ("a", "d"),
        ("b", "c"),
        ("b", "d"),
        ("c", "d"),
        ("d", "e"),
    )
    assert [m.successors(s) for s in "abcde"] == [("b", "c", "d"), ("c", "d"), ("d",), ("e",), ()]
    kinds = {move: m.move_kind(*move) for move in m.moves}
    assert [move for move, kind in kinds.items() if kind == "skip"] == [
        ("a", "c"),
        ("a", "d"),
        ("b", "d"),
    ]
    assert m.move_kind("a", "e") is None
    assert m.shortest_path() == ("a", "d", "e")


def test_moves_with_extra_transitions() -> None:
    m = JourneyMap.linear(
        list("abcd"), optional=["c"], transitions=[("c", "a"), ("b", "b"), ("a", "b"), ("d", "b")]
    )
    assert m.moves == (
        ("a", "b"),
        ("b", "b"),
        ("b", "c"),
        ("b", "d"),
        ("c", "a"),
        ("c", "d"),
        ("d", "b"),
    )
    assert [m.successors(s) for s in "abcd"] == [("b",), ("b", "c", "d"), ("a", "d"), ("b",)]
    # a listed transition that is also a default move keeps its default kind
    assert [m.move_kind(*move) for move in m.moves] == [
        "next",
        "extra",
        "next",
        "skip",
        "extra",
        "next",
        "extra",
    ]
    assert m.accepts(list("abbcabd"))
    assert not m.accepts(list("abca"))  # 'a' is not an end stage
    assert not m.accepts(["a", "x"])
    assert not m.accepts([])


def test_shortest_path_ties_go_to_the_earliest_stages() -> None:
    # a -> b -> d and a -> c -> d are both shortest; b comes first
    m = JourneyMap.linear(list("abcd"), transitions=[("a", "c"), ("b", "d")], end=["d"])
    assert m.shortest_path() == ("a", "b", "d")
    # the only start is late, the end is reached through a loop back
    m = JourneyMap.linear(list("abc"), transitions=[("c", "a")], start=["c"], end=["b"])
    assert m.shortest_path() == ("c", "a", "b")
    assert JourneyMap.linear(["solo"]).shortest_path() == ("solo",)


# ---------------------------------------------- brute force on small maps
def reference(
    n: int,
    optional: list[bool],
    extra: set[tuple[int, int]],
    start: list[int],
    end: list[int],
) -> tuple[set[tuple[int, int]], set[int], set[int]]:
    """Moves, start and end stages straight from the rules, for stages 0..n-1."""
    moves = {(i, j) for i in range(n) for j in range(i + 1, n) if all(optional[i + 1 : j])} | extra
    starts = set(start) or {j for j in range(n) if all(optional[:j])}
    ends = set(end) or {j for j in range(n) if all(optional[j + 1 :])}
    return moves, starts, ends


def walks(moves: set[tuple[int, int]], starts: set[int], max_len: int) -> list[tuple[int, ...]]:
    """Every walk of at most ``max_len`` stages that begins at a start stage."""
    out: list[tuple[int, ...]] = [(s,) for s in sorted(starts)]
    frontier = list(out)
    for _ in range(max_len - 1):
        frontier = [(*w, b) for w in frontier for a, b in sorted(moves) if a == w[-1]]
        out += frontier
    return out


@st.composite
def small_maps(
    draw: st.DrawFn,
) -> tuple[int, list[bool], set[tuple[int, int]], list[int], list[int]]:
    n = draw(st.integers(1, 5))
    optional = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    extra = draw(st.sets(pairs, max_size=4))
    subsets = st.lists(st.integers(0, n - 1), max_size=3)
    start = draw(st.one_of(st.just([]), subsets))
    end = draw(st.one_of(st.just([]), subsets))
    return n, optional, extra, start, end


@settings(max_examples=300, deadline=None)
@given(small_maps())
def test_moves_language_and_shortest_path_match_brute_force(
    spec: tuple[int, list[bool], set[tuple[int, int]], list[int], list[int]],
) -> None:
    n, optional, extra, start, end = spec
    names = [f"s{i}" for i in range(n)]
    moves, starts, ends = reference(n, optional, extra, start, end)
    all_walks = walks(moves, starts, max(n, 3))
    language = [w for w in all_walks if w[-1] in ends]
    reached = {w[-1] for w in all_walks}

    def build() -> JourneyMap:
        return JourneyMap.linear(
            names,
            optional=[names[i] for i in range(n) if optional[i]],
            transitions=[(names[a], names[b]) for a, b in sorted(extra)],
            start=[names[i] for i in start],
            end=[names[i] for i in end],
        )

    if not ends <= reached:  # invalid exactly when some end stage is unreachable
        with pytest.raises(JourneygraphError, match="cannot be reached from any start stage"):
            build()
        return
    m = build()
    assert m.moves == tuple((names[a], names[b]) for a, b in sorted(moves))
    for i in range(n):
        assert m.successors(names[i]) == tuple(names[b] for a, b in sorted(moves) if a == i)
    assert m.start_stages == tuple(names[i] for i in sorted(starts))
    assert m.end_stages == tuple(names[i] for i in sorted(ends))
    # a shortest word never repeats a stage, so the walks of up to n stages contain one
    best = min(language, key=lambda w: (len(w), w))
    assert m.shortest_path() == tuple(names[i] for i in best)
    # membership: every word over the stages of up to 3 symbols (and every walk)
    words = {w for k in range(1, 4) for w in itertools.product(range(n), repeat=k)}
    in_language = set(language)
    for w in words | set(all_walks):
        assert m.accepts([names[i] for i in w]) == (w in in_language), w


# ------------------------------------------------------------ round trips
TRICKY = ["yes", "no", "null", "~", "1", "1.5", "true", "- a", "a: b", "#x", "[x]", "'q'", '"d"']
text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(
        alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=8
    ).filter(str.strip),
)
durations = st.one_of(
    st.none(),
    st.timedeltas(min_value=dt.timedelta(microseconds=1), max_value=dt.timedelta(days=999)),
    st.sampled_from(["30m", "1.5h", "2d", "500ms", "1w", 90, 0.25]),
)


@st.composite
def valid_maps(draw: st.DrawFn) -> JourneyMap:
    n = draw(st.integers(1, 5))
    names = draw(st.lists(text, min_size=n, max_size=n, unique=True))
    pool = draw(st.lists(text, min_size=n, max_size=3 * n, unique=True))
    touchpoints: list[list[str]] = [[pool[i]] for i in range(n)]
    for tp in pool[n:]:
        touchpoints[draw(st.integers(0, n - 1))].append(tp)
    stages = [
        {
            "name": name,
            "touchpoints": tps,
            "optional": draw(st.booleans()),
            "max_time": draw(durations),
        }
        for name, tps in zip(names, touchpoints, strict=True)
    ]
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(names)).map(list)
    subsets = st.lists(st.sampled_from(names), max_size=3)
    data = {
        "stages": stages,
        "transitions": draw(st.lists(pairs, max_size=4)),
        "start": draw(subsets),
        "end": draw(subsets),
    }
    try:
        return JourneyMap.from_dict(data)
    except JourneygraphError as exc:
        if "cannot be reached" not in str(exc):
            raise
    reject()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(m=valid_maps())
def test_round_trips(m: JourneyMap, tmp_path: Path) -> None:
    assert JourneyMap.from_dict(m.to_dict()) == m
    assert JourneyMap.from_json(m.to_json()) == m
    assert JourneyMap.from_yaml(m.to_yaml()) == m
    assert json.loads(json.dumps(m.to_dict())) == m.to_dict()  # plain JSON data
    assert yaml.safe_load(m.to_yaml()) == m.to_dict()
    m.to_yaml(tmp_path / "map.yaml")
    m.to_json(str(tmp_path / "map.json"))
    assert JourneyMap.from_yaml(tmp_path / "map.yaml") == m
    assert JourneyMap.from_yaml(str(tmp_path / "map.yaml")) == m
    assert JourneyMap.from_json(tmp_path / "map.json") == m
    assert JourneyMap.from_json(str(tmp_path / "map.json")) == m
    assert JourneyMap.model_validate(m.model_dump()) == m


@given(st.timedeltas(min_value=dt.timedelta(microseconds=1), max_value=dt.timedelta(days=9999)))
def test_durations_are_written_exactly(value: dt.timedelta) -> None:
    assert parse_duration(format_duration(value), name="max_time") == value


def test_to_dict_leaves_out_defaults_and_writes_readable_durations() -> None:
    m = JourneyMap.linear({"A": ["a"], "B": ["b"]}, optional=["B"], max_time={"A": 5400})
    assert m.to_dict() == {
        "stages": [
            {"name": "A", "touchpoints": ["a"], "max_time": "90m"},
            {"name": "B", "touchpoints": ["b"], "optional": True},
        ]
    }
    assert m.to_yaml() == (
        "stages:\n"
        "- name: A\n"
        "  touchpoints: [a]\n"
        "  max_time: 90m\n"
        "- name: B\n"
        "  touchpoints: [b]\n"
        "  optional: true\n"
    )


EXAMPLE_YAML = """
stages:
  - name: Discover
    touchpoints: [ad_click, search]
  - name: Explore
    touchpoints: [product_view, compare]
    optional: true
    max_time: 2d
  - name: Buy
    touchpoints: [checkout, purchase]
    max_time: 30m
transitions: [[Explore, Discover], [Buy, Buy]]
end: [Buy]
"""


def test_example_yaml() -> None:
    m = JourneyMap.from_yaml(EXAMPLE_YAML)
    assert m.stage_names == ("Discover", "Explore", "Buy")
    assert m.stages[1].max_time == dt.timedelta(days=2)
    assert m.stages[2].max_time == dt.timedelta(minutes=30)
    assert m.moves == (
        ("Discover", "Explore"),
        ("Discover", "Buy"),
        ("Explore", "Discover"),
        ("Explore", "Buy"),
        ("Buy", "Buy"),
    )


# ------------------------------------------------------------ JSON schema
def test_json_schema_describes_every_field() -> None:
    schema = JourneyMap.model_json_schema()
    stage_schema = schema["$defs"]["Stage"]
    for obj in (schema, stage_schema):
        assert obj["additionalProperties"] is False
        assert obj["description"]
        assert all(prop["description"] for prop in obj["properties"].values())
    assert set(schema["properties"]) == {"stages", "transitions", "start", "end"}
    assert schema["required"] == ["stages"]
    assert stage_schema["required"] == ["name", "touchpoints"]
    # durations are the readable strings (or seconds), not ISO 8601
    pattern = stage_schema["properties"]["max_time"]["anyOf"][0]["pattern"]
    assert all(
        re.match(pattern, d)
        for d in [
            "30m",
            "1.5h",
            "2d",
            "500ms",
            format_duration(dt.timedelta(seconds=1, microseconds=7)),
        ]
    )
    assert not re.match(pattern, "P2D")
    # the good YAML validates through pydantic, the same model the schema comes from
    assert JourneyMap.model_validate(yaml.safe_load(EXAMPLE_YAML)).stage_names[0] == "Discover"


def test_json_schema_validates_yaml_with_jsonschema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = JourneyMap.model_json_schema()
    jsonschema.validate(yaml.safe_load(EXAMPLE_YAML), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"stagez": []}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"stages": [{"name": "A", "touchpoint": ["a"]}]}, schema)


# ------------------------------------------------------------ graph
def test_graph_attributes() -> None:
    m = JourneyMap.from_yaml(EXAMPLE_YAML)
    g = m.graph()
    assert list(g.nodes) == ["Discover", "Explore", "Buy"]
    assert g.nodes["Discover"] == {
        "index": 0,
        "touchpoints": ("ad_click", "search"),
        "optional": False,
        "max_time": None,
        "start": True,
        "end": False,
    }
    assert g.nodes["Explore"]["optional"] is True
    assert g.nodes["Explore"]["max_time"] == dt.timedelta(days=2)
    assert (g.nodes["Buy"]["start"], g.nodes["Buy"]["end"]) == (False, True)
    assert sorted(g.edges(data="kind")) == [
        ("Buy", "Buy", "extra"),
        ("Discover", "Buy", "skip"),
        ("Discover", "Explore", "next"),
        ("Explore", "Buy", "next"),
        ("Explore", "Discover", "extra"),
    ]
    assert tuple(g.edges) == m.moves


# ------------------------------------------------------------ from_journeys
def journeys_of(sequences: dict[str, list[str]]) -> jg.Journeys:
    rows = [(user, t, event) for user, seq in sequences.items() for t, event in enumerate(seq)]
    df = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row")
    return jg.mine(jg.read_events(df, customer="user", timestamp="ts", touchpoint="event"))


LOG = {
    # the most common variant, with a consecutive repeat and a later revisit
    "a": ["home", "search", "search", "product", "home", "buy"],
    "b": ["home", "search", "search", "product", "home", "buy"],
    "c": ["home", "search", "search", "product", "home", "buy"],
    "d": ["ad", "home", "search", "product", "reviews", "buy"],
    "e": ["home", "product", "reviews", "buy"],
    "f": ["home", "search", "help"],
}


def test_from_journeys_hand_made_log() -> None:
    journeys = journeys_of(LOG)
    # place: other touchpoints first visited before it / its pairings, over journeys
    # (a, b, c: home search product buy; d: ad home search product reviews buy;
    # e: home product reviews buy; f: home search help): ad 0/5; home 1/19;
    # search 6/16; product 10/17; reviews 6/8; buy 17/17 and help 2/2: then the
    # median relative first position (both 1), the mean (both 1), the name
    order = ("ad", "home", "search", "product", "reviews", "buy", "help")
    assert JourneyMap.from_journeys(journeys) == JourneyMap.linear(
        list(order), optional=["ad", "reviews", "help"]
    )
    assert JourneyMap.from_journeys(journeys, min_share=0.2).stage_names == (
        "home", "search", "product", "reviews", "buy"
    )  # fmt: skip
    assert JourneyMap.from_journeys(journeys, min_share=1).stage_names == ("home",)
    # at most 3 stages: cut at the two widest gaps (home 0.053 -> search 0.375, and
    # reviews 0.75 -> buy 1); named after their most visited touchpoint (search and
    # product: 5 journeys each, the name decides)
    three = JourneyMap.from_journeys(journeys, max_stages=3)
    assert [(s.name, s.touchpoints) for s in three.stages] == [
        ("home", ("ad", "home")),
        ("product", ("search", "product", "reviews")),
        ("buy", ("buy", "help")),
    ]
    # ending at a touchpoint: what typically comes after it is left out
    to_product = JourneyMap.from_journeys(journeys, reached="product")
    assert to_product.stage_names == ("ad", "home", "search", "product")
    assert not to_product.stages[-1].optional


def ideal_order_log(n: int, seed: int) -> tuple[list[str], jg.Journeys]:
    """Journeys along a known order, with skips, swapped neighbours, loops back,
    a rare noise touchpoint, customers interleaved in time."""
    import datetime as dt

    import numpy as np

    order = ["ad", "landing", "search", "product", "reviews", "cart", "checkout", "purchase"]
    rng = np.random.default_rng(seed)
    rows = []
    t0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    for c in range(n):
        path = [tp for tp in order if rng.random() > 0.25]
        path = path[: int(rng.integers(2, len(path) + 1))] if len(path) > 2 else path
        for i in range(len(path) - 1):
            if rng.random() < 0.1:
                path[i], path[i + 1] = path[i + 1], path[i]
        if len(path) > 3 and rng.random() < 0.3:  # a loop back to an earlier touchpoint
            i = int(rng.integers(2, len(path)))
            path.insert(i, path[int(rng.integers(0, i - 1))])
        if rng.random() < 0.03:
            path.insert(int(rng.integers(0, len(path) + 1)), "survey")
        start = t0 + dt.timedelta(hours=float(rng.uniform(0, 24 * 60)))
        for j, tp in enumerate(path):
            rows.append((f"user-{c:04d}", start + dt.timedelta(minutes=3 * j), tp))
    df = pl.DataFrame(rows, schema=["user", "ts", "event"], orient="row").sort("ts")
    log = jg.read_events(df, customer="user", timestamp="ts", touchpoint="event")
    return order, jg.mine(log)


def test_from_journeys_recovers_the_generated_order() -> None:
    from scipy.stats import kendalltau

    order, journeys = ideal_order_log(800, seed=4)
    m = JourneyMap.from_journeys(journeys, max_stages=10)
    assert set(m.stage_names) == set(order)  # survey (3 %) is below min_share
    tau = kendalltau([order.index(s) for s in m.stage_names], range(len(order))).statistic
    assert tau >= 0.9
    # grouped: stages are runs of the order, each touchpoint once
    grouped = JourneyMap.from_journeys(journeys, max_stages=4)
    assert len(grouped.stages) == 4
    flat = [tp for s in grouped.stages for tp in s.touchpoints]
    assert kendalltau([order.index(t) for t in flat], range(len(flat))).statistic >= 0.9
    # ending at checkout: purchase is left out, checkout is the last stage
    to_checkout = JourneyMap.from_journeys(journeys, max_stages=4, reached="checkout")
    assert to_checkout.stage_names[-1] == "checkout"
    assert "purchase" not in {tp for s in to_checkout.stages for tp in s.touchpoints}


PAGES = ["home", "search", "product", "help", "buy"]
# a few customers' touchpoint sequences (empty ones are left out by the tests)
SEQUENCES = st.dictionaries(
    st.sampled_from("abcdefgh"), st.lists(st.sampled_from(PAGES), max_size=9), min_size=1
)


def test_from_journeys_orders_by_what_customers_visit_first() -> None:
    # catalog always leads to product, but journeys reaching catalog are long and
    # browse before it: its median relative first position (0.5) is after product's
    # (0.25); by precedence, catalog comes first in every journey visiting both
    short = ["home", "product", "cart", "home", "home"]
    browsing = ["home", "search", "search", "catalog", "product", "cart"]
    sequences = {f"s{i}": short for i in range(4)} | {f"b{i}": browsing for i in range(3)}
    journeys = journeys_of(sequences)
    assert JourneyMap.from_journeys(journeys).stage_names == (
        "home", "search", "catalog", "product", "cart"
    )  # fmt: skip


def test_proposed_shop_map_follows_the_shop() -> None:
    # the realistic shop's sessions (text ids, time order, duplicates): browsing pages
    # come before the product, the product before buying, the payment last
    from realistic import sessions

    journeys = sessions(600, seed=3)
    names = JourneyMap.from_journeys(journeys, reached="payment_done").stage_names
    assert [t for t in names if t != "account"] == [
        "home", "search", "catalog", "product", "cart", "checkout", "payment_done"
    ]  # fmt: skip
    # as the report proposes it (touchpoints of at least 20 % of sessions): checkout
    # is rarer, but most sessions reaching the payment go through it
    shares = journeys.aggregate_nodes.select("touchpoint", pl.col("journeys") / len(journeys))
    assert dict(shares.iter_rows())["checkout"] < 0.2
    assert "checkout" not in JourneyMap.from_journeys(journeys, min_share=0.2).stage_names
    to_payment = JourneyMap.from_journeys(journeys, min_share=0.2, reached="payment_done")
    assert to_payment.stage_names[-3:] == ("cart", "checkout", "payment_done")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequences=SEQUENCES,
    common=st.sets(st.sampled_from(PAGES)),
    cut=st.integers(0, 8),
)
def test_precedence_counts_match_pairs_and_add_up_over_parts(
    sequences: dict[str, list[str]], common: set[str], cut: int
) -> None:
    from journeygraph.journeymap import precedence_counts

    sequences = {user: seq for user, seq in sequences.items() if seq}
    if not sequences:
        reject()
    nodes = journeys_of(sequences).nodes
    counted = precedence_counts(nodes, sorted(common))
    # brute force: every journey, every ordered pair of distinct common touchpoints
    earlier: dict[str, int] = {}
    pairings: dict[str, int] = {}
    for seq in sequences.values():
        first = {tp: seq.index(tp) for tp in seq if tp in common}
        for tp, at in first.items():
            others = [o for o in first if o != tp]
            earlier[tp] = earlier.get(tp, 0) + sum(first[o] < at for o in others)
            pairings[tp] = pairings.get(tp, 0) + len(others)
    assert {r[0]: (r[1], r[2]) for r in counted.rows()} == {
        tp: (earlier[tp], pairings[tp]) for tp in earlier
    }
    # counted over two disjoint sets of journeys (Spark partitions) and added up
    ids = nodes.get_column("journey").unique().sort()
    part = pl.col("journey").is_in(ids.head(cut).implode())
    halves = [precedence_counts(nodes.filter(keep), sorted(common)) for keep in (part, ~part)]
    summed = pl.concat(halves).group_by("touchpoint").sum()
    assert_frame_equal(summed, counted, check_row_order=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences=SEQUENCES, reached=st.sampled_from(PAGES), cut=st.integers(0, 8))
def test_journeys_before_match_brute_force_and_add_up_over_parts(
    sequences: dict[str, list[str]], reached: str, cut: int
) -> None:
    from journeygraph.journeymap import journeys_before

    sequences = {user: seq for user, seq in sequences.items() if seq}
    if not sequences:
        reject()
    nodes = journeys_of(sequences).nodes
    counted = journeys_before(nodes, reached)
    expected: dict[str, int] = {}
    for seq in sequences.values():
        if reached in seq:
            for tp in set(seq[: seq.index(reached)]):
                expected[tp] = expected.get(tp, 0) + 1
    assert dict(counted.rows()) == expected
    ids = nodes.get_column("journey").unique().sort()
    part = pl.col("journey").is_in(ids.head(cut).implode())
    halves = [journeys_before(nodes.filter(keep), reached) for keep in (part, ~part)]
    summed = pl.concat(halves).group_by("touchpoint").sum()
    assert_frame_equal(summed, counted, check_row_order=False)


@pytest.mark.parametrize("share", [0, -0.1, 1.5, True])
def test_from_journeys_rejects_bad_min_share(share: float) -> None:
    with pytest.raises(JourneygraphError, match="min_share"):
        JourneyMap.from_journeys(journeys_of(LOG), min_share=share)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_stages": 0}, "max_stages=0 must be a whole number >= 1"),
        ({"max_stages": 1, "reached": "buy"}, "max_stages=1 must be a whole number >= 2"),
        ({"max_stages": 2.5}, "max_stages=2.5"),
        ({"reached": "nowhere"}, "reached='nowhere' is not a touchpoint"),
    ],
)
def test_from_journeys_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(JourneygraphError, match=match):
        JourneyMap.from_journeys(journeys_of(LOG), **kwargs)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequences=SEQUENCES,
    cut=st.integers(0, 8),
)
def test_placement_counts_add_up_over_parts_and_match_brute_force(
    sequences: dict[str, list[str]], cut: int
) -> None:
    from fractions import Fraction

    from journeygraph.journeymap import _placed, position_counts

    sequences = {user: seq for user, seq in sequences.items() if seq}
    if not sequences:
        reject()
    journeys = journeys_of(sequences)
    nodes, stats = journeys.nodes, journeys.stats
    placed = _placed(position_counts(nodes, stats))
    # brute force: every journey's relative first position, per touchpoint
    rel = (
        nodes.select("journey", pl.col("touchpoint").cast(pl.String), "first_position")
        .join(stats.select("journey", "events"), on="journey")
        .with_columns(span=(pl.col("events").cast(pl.Int64) - 1).clip(1))
    )
    assert sorted(placed.get_column("touchpoint")) == sorted(rel["touchpoint"].unique())
    for touchpoint, journeys, median, mean in placed.iter_rows():
        rows = rel.filter(pl.col("touchpoint") == touchpoint)
        assert journeys == rows.height
        assert median == statistics.median(
            p / s for p, s in rows.select("first_position", "span").iter_rows()
        )
        exact = (
            sum(
                (Fraction(p, s) for p, s in rows.select("first_position", "span").iter_rows()),
                Fraction(0),
            )
            / rows.height
        )
        assert abs(mean - float(exact)) <= 4e-16 * max(1.0, abs(float(exact)))
    # counted over two disjoint sets of journeys (Spark partitions), in either order,
    # and added up: the same placement, bit for bit
    ids = stats.get_column("journey").sort()
    part = pl.col("journey").is_in(ids.head(cut).implode())
    halves = [position_counts(nodes.filter(keep), stats.filter(keep)) for keep in (part, ~part)]
    for order in (halves, halves[::-1]):
        summed = pl.concat(order).group_by("touchpoint", "first_position", "span").sum()
        assert_frame_equal(_placed(summed), placed)
