"""The realistic test log is what it says: time-ordered, text ids, sessions, duplicates."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from realistic import US_FORMAT, realistic_log


def test_same_seed_same_frames_and_the_promised_mess() -> None:
    a, b = realistic_log(120, seed=3), realistic_log(120, seed=3)
    assert_frame_equal(a.events, b.events)
    clean = a.clean
    assert clean.get_column("ts").is_sorted()  # time order, customers interleaved
    assert not clean.get_column("user_id").is_sorted()
    sessions = clean.group_by("user_id").agg(pl.col("session_id").n_unique())
    assert sessions.get_column("session_id").mean() > 3  # type: ignore[operator]
    # every duplicate is an exact repeat of a clean row, and counted
    assert a.events.height - a.events.unique().height == a.n_duplicates > 0
    us = a.events.filter(pl.col("ts").str.contains("/"))
    parsed = us.get_column("ts").str.to_datetime(US_FORMAT, time_zone="UTC")
    assert us.height > 0
    assert parsed.null_count() == 0
    # one session never spans another of its customer's sessions
    spans = clean.group_by("user_id", "session_id").agg(
        pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")
    )
    ordered = spans.sort("user_id", "lo")
    overlap = ordered.filter(
        (pl.col("user_id") == pl.col("user_id").shift(-1))
        & (pl.col("hi") >= pl.col("lo").shift(-1))
    )
    assert overlap.height == 0
