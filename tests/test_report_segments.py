"""The report's "What changed", "Segments" and "Funnel" sections, from the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import journeygraph as jg
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
    assert "<h2>Segments by channel</h2>" in text
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
