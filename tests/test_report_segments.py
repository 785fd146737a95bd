"""The report's "What changed", "Segments" and "Funnel" sections, from the command line."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import journeygraph as jg
from planted import T0 as PLANTED_START
from planted import stories_log


def test_report_by_platform_every_week(tmp_path: Path) -> None:
    events, customers = stories_log(0, customers=1500)
    events.write_csv(tmp_path / "events.csv")
    customers.write_csv(tmp_path / "customers.csv")
    done = subprocess.run(
        [sys.executable, "-m", "journeygraph", "report", tmp_path / "events.csv",
         "--customer", "user_id", "--timestamp", "ts", "--touchpoint", "event",
         "--channel", "platform", "--customers", tmp_path / "customers.csv",
         "--by", "platform", "--every", "1w", "--k", "2", "--out", tmp_path / "report"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'<section id="([a-z-]+)">', text)
    assert ids.index("changed") < ids.index("segments") < ids.index("funnel") < ids.index("notes")
    for key in ("changed", "segments", "funnel"):
        assert f'href="#{key}"' in text
    assert "<h2>Segments by platform</h2>" in text  # the channel column, as named
    # one sentence and one small time series per episode shown
    changed = text[text.index('<section id="changed">') : text.index('<section id="segments">')]
    assert changed.count('class="jg-episode"') == changed.count('data-chart="changed"') >= 1


def test_sections_are_not_shown_without_by_and_every(tmp_path: Path) -> None:
    events, _ = stories_log(1, customers=300)
    log = jg.read_events(events, customer="user_id", timestamp="ts", touchpoint="event")
    text = jg.report(log, outdir=tmp_path, k=2).read_text(encoding="utf-8")
    assert '<section id="changed">' not in text
    assert '<section id="segments">' not in text
    assert '<section id="funnel">' in text  # through the (proposed) map's stages


def findings_of(text: str) -> list[str]:
    """The Findings list's sentences, as read on the page."""
    block = text[text.index('<ol class="jg-findings">') : text.index("</ol>")]
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in block.split("<li>")[1:]]


@pytest.mark.parametrize("stories", [True, False])
def test_findings_lead_with_the_planted_segment_and_change(tmp_path: Path, stories: bool) -> None:
    # planted: loyal customers go product -> cart far more often; in weeks 15-17
    # checkout -> payment_done halves for everyone. Without the stories, neither.
    events, customers = stories_log(2, customers=3000, stories=stories)
    log = jg.read_events(events, customer="user_id", timestamp="ts", touchpoint="event")
    journeys = jg.mine(log, session_gap="30m", journey="session")
    jmap = jg.JourneyMap.linear(["home", "search", "product", "cart", "checkout", "payment_done"])
    page = jg.report(
        journeys, jmap, outdir=tmp_path, customers=customers, by="tier", every="1w", k=2
    ).read_text(encoding="utf-8")
    found = findings_of(page)
    segment = [f for f in found if f.startswith("For tier ")]
    changed = [f for f in found if f.startswith("From ")]
    if not stories:
        assert segment == changed == []
        return
    assert len(segment) == len(changed) == 1
    assert "product → cart" in segment[0]
    assert "See segments." in segment[0]
    # the change is dated within the planted weeks and names the payment step
    first, last = (PLANTED_START + dt.timedelta(weeks=w) for w in (15, 18))
    start, end = (dt.date.fromisoformat(d) for d in re.findall(r"\d{4}-\d\d-\d\d", changed[0]))
    assert first.date() <= start < end <= last.date(), changed[0]
    assert "payment_done" in changed[0]
    assert "See what changed." in changed[0]


def test_the_logs_own_start_and_end_are_not_told_as_changes(tmp_path: Path) -> None:
    # the realistic shop's first sessions start in the first weeks and its last end
    # in the last ones: few journeys start at both ends of the log
    from realistic import sessions

    journeys = sessions(1500, seed=5)
    changes = jg.changes(journeys, every="1w")
    first = changes.table.get_column("period_start").min()
    last = changes.table.get_column("period_end").max()
    volume = changes.episodes.filter(pl.col("kind") == "journeys")
    edge = volume.filter((pl.col("start") <= first) | (pl.col("end") >= last))
    assert edge.height >= 2, "the planted ramps at both ends are found"
    page = jg.report(journeys, outdir=tmp_path, every="1w", k=2).read_text(encoding="utf-8")
    section = page[page.index('<section id="changed">') : page.index('<section id="funnel">')]
    told = [html.unescape(p) for p in re.findall(r'<div class="jg-episode"><p>(.*?)</p>', section)]
    at_edges = [i for i, text in enumerate(told) if "of the log)" in text]
    assert at_edges, told
    # every episode at the log's ends says so, none says the count rose or fell, and
    # they come after the changes within the log
    assert at_edges == list(range(len(told) - len(at_edges), len(told)))
    for text in (told[i] for i in at_edges):
        assert "rose" not in text
        assert "fell" not in text
        assert "not a change in customers" in text
    for i, text in enumerate(told):
        if i not in at_edges:
            assert str(first.date()) not in text.split(" (")[0]


def test_the_segment_finding_is_a_step_not_what_makes_the_group(tmp_path: Path) -> None:
    # in the sample, app customers are those with app sessions: the largest differences
    # by channel are reaching the stage of app_session and visiting it, which say what
    # the group is. The finding names the step where the group behaves differently.
    from journeygraph import datasets

    sample = datasets.generate(3000, seed=1)
    log = jg.read_events(sample.events, **datasets.COLUMNS)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES)
    top = jg.contrast(jg.mine(log), by="channel", jmap=jmap).table.row(0, named=True)
    assert top["kind"] in ("stage", "touchpoint")
    assert top["significant"]
    page = jg.report(log, jmap, outdir=tmp_path, by="channel", k=2).read_text(encoding="utf-8")
    found = [f for f in findings_of(page) if f.startswith("For channel ")]
    assert len(found) == 1
    assert "visiting" not in found[0]
    assert "reaching stage" not in found[0]
    assert " going " in found[0]
    assert "→" in found[0]
