"""The deviation registry: every kind compare reports is described once, completely."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis.errors import InvalidArgument

import journeygraph as jg
from journeygraph import _deviations, strategies
from journeygraph.compare import DEVIATIONS


def test_every_kind_has_a_sentence_a_detector_and_a_planting_decision() -> None:
    assert [k.name for k in _deviations.KINDS] == list(DEVIATIONS)
    assert len(set(DEVIATIONS)) == len(DEVIATIONS)
    for kind in _deviations.KINDS:
        assert kind.meaning, kind
        assert kind.sentence, kind
        assert kind.at_stage.count("{}") == 1, kind
        assert kind.detector in ("alignment", "time"), kind
        assert isinstance(kind.plantable, bool), kind
        assert kind.text() == kind.sentence
        assert "Checkout" in kind.text("Checkout")


def test_every_plantable_kind_has_exactly_one_planting_rule() -> None:
    assert sorted(strategies._PLANTERS) == sorted(_deviations.PLANTABLE)


def test_the_report_words_come_from_the_registry() -> None:
    words = {k.name: (k.sentence, k.at_stage.format("Buy")) for k in _deviations.KINDS}
    assert words["skipped_stage"] == ("skipped a stage", "skipped Buy")
    assert words["late"] == ("took too long", "took too long in Buy")


def test_compare_reports_exactly_the_registered_kinds() -> None:
    jmap = jg.JourneyMap.linear(["Explore", "Buy", "Use"], max_time={"Explore": "1h"})
    df = pl.DataFrame(
        {
            "customer": ["a", "a", "a", "b", "b"],
            "timestamp": [0, 1, 2, 0, 10_000],  # seconds: b takes 2.8 h in Explore
            "touchpoint": ["Explore", "Use", "Buy", "Explore", "Buy"],
        }
    )
    log = jg.read_events(
        df.with_columns(pl.from_epoch("timestamp")),
        customer="customer",
        timestamp="timestamp",
        touchpoint="touchpoint",
    )
    div = jg.compare(jg.mine(log), jmap)
    assert list(div.deviations.schema["kind"].categories) == list(DEVIATIONS)  # type: ignore[attr-defined]
    time_kinds = {k.name for k in _deviations.KINDS if k.detector == "time"}
    found = set(div.deviations.get_column("kind").cast(pl.String))
    assert "late" in found & time_kinds
    assert div.customers.select(DEVIATIONS).columns == list(DEVIATIONS)


def test_unknown_kinds_raise() -> None:
    jmap = jg.JourneyMap.linear(["a", "b", "c"])
    with pytest.raises(InvalidArgument, match="cannot plant 'teleport'; plantable kinds are"):
        strategies.journeys_with_deviations(jmap, kinds=["teleport"]).example()
    with pytest.raises(KeyError, match="no deviation kind 'teleport'; the kinds are skipped_stage"):
        _deviations.kind("teleport")
