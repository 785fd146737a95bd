"""Messy real-world files and wrong arguments: read right, or an error that names the fix.

Every bad input has a test asserting the message names the column or value
and the fix. Expected numbers come from the generator's ground truth
(`realistic.realistic_log`), not from the reader.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
from functools import cache
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import journeygraph as jg
from journeygraph.cli import main
from realistic import COLUMNS, STAGES, US_FORMAT, RealisticLog, realistic_log


@cache
def shop() -> RealisticLog:
    return realistic_log(150, seed=5)


def read(source: object, **kwargs: object) -> jg.EventLog:
    options: dict[str, object] = {**COLUMNS, "timestamp_format": US_FORMAT, **kwargs}
    return jg.read_events(source, **options)  # type: ignore[arg-type]


def truth() -> pl.DataFrame:
    """The clean events in the engine's order, canonical column names."""
    clean = shop().clean.rename(
        {"user_id": "customer", "ts": "timestamp", "event": "touchpoint", "platform": "channel"}
    )
    return clean.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC")).sort(
        "customer", "timestamp", maintain_order=True
    )


def canonical(log: jg.EventLog) -> pl.DataFrame:
    return log.collect().select("customer", "timestamp", "touchpoint", "channel")


# ------------------------------------------------------------------ compressed files
def _compress(raw: bytes, path: Path) -> None:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(raw))
    elif path.suffix == ".bz2":
        path.write_bytes(bz2.compress(raw))
    else:
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(raw)


@pytest.mark.parametrize(
    "name", ["e.csv.gz", "e.csv.zst", "e.csv.bz2", "e.ndjson.gz", "e.jsonl.bz2"]
)
def test_compressed_files_read_like_plain_ones(tmp_path: Path, name: str) -> None:
    plain = tmp_path / name.rsplit(".", 1)[0]
    if ".csv" in name:
        shop().events.write_csv(plain)
    else:
        shop().events.write_ndjson(plain)
    _compress(plain.read_bytes(), tmp_path / name)
    expected = truth().select("customer", "timestamp", "touchpoint", "channel")
    assert_frame_equal(canonical(read(tmp_path / name)), expected)
    assert_frame_equal(canonical(read(plain)), expected)


def test_compressed_parquet_name_is_refused_with_the_accepted_forms(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet.gz"
    path.write_bytes(b"x")
    with pytest.raises(jg.InvalidEventsError, match=r"\.gz, \.zst or \.bz2"):
        read(path)


# ------------------------------------------------------------------ separators
@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_separator_is_detected_from_the_header(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "e.csv"
    shop().events.write_csv(path, separator=sep)
    assert_frame_equal(canonical(read(path)), truth().drop("session_id"))


def test_fused_header_names_the_separator_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    shop().events.write_csv(path, separator=";")
    with pytest.raises(jg.InvalidEventsError) as info:
        read(path, separator=",")
    message = str(info.value)
    assert "'user_id'" in message
    assert "joined by ';'" in message
    assert "separator=';'" in message


# ------------------------------------------------------------------ timestamps
def test_timestamp_format_reads_non_iso_rows_alongside_iso_ones() -> None:
    events = shop().events
    assert events.get_column("ts").str.contains("/").sum() > 0
    assert_frame_equal(canonical(read(events)), truth().drop("session_id"))


@pytest.mark.parametrize(
    ("values", "suggested"),
    [
        (["03/13/2024 10:00", "12/01/2024 09:30"], "%m/%d/%Y %H:%M"),
        (["13/03/2024 10:00:05", "01/12/2024 09:30:00"], "%d/%m/%Y %H:%M:%S"),
        (["13.03.2024", "01.12.2024"], "%d.%m.%Y"),
    ],
)
def test_unparseable_timestamps_suggest_the_format(values: list[str], suggested: str) -> None:
    df = pl.DataFrame({"user": ["a", "b"], "when": values, "ev": ["x", "y"]})
    with pytest.raises(jg.InvalidEventsError) as info:
        jg.read_events(df, customer="user", timestamp="when", touchpoint="ev")
    message = str(info.value)
    assert "column 'when'" in message
    assert values[0] in message
    assert f"timestamp_format={suggested!r}" in message
    log = jg.read_events(
        df, customer="user", timestamp="when", touchpoint="ev", timestamp_format=suggested
    )
    assert log.report.rows_kept == 2


def test_timestamp_format_with_an_offset_and_in_a_zone() -> None:
    df = pl.DataFrame(
        {"u": ["a", "a"], "t": ["01/05/2024 10:00 +0200", "01/05/2024 10:00"], "e": ["x", "y"]}
    )
    log = jg.read_events(
        df,
        customer="u",
        timestamp="t",
        touchpoint="e",
        timestamp_format="%m/%d/%Y %H:%M %z",
        on_invalid="drop",
    )
    times = log.collect().get_column("timestamp").to_list()
    assert times == [dt.datetime(2024, 1, 5, 8, 0, tzinfo=dt.UTC)]
    assert log.report.dropped == {"unparseable timestamp": 1}
    naive = jg.read_events(
        df.slice(1),
        customer="u",
        timestamp="t",
        touchpoint="e",
        timestamp_format="%m/%d/%Y %H:%M",
        timezone="Europe/Paris",
    )
    assert naive.collect().get_column("timestamp").to_list() == [
        dt.datetime(2024, 1, 5, 9, 0, tzinfo=dt.UTC)
    ]


# ------------------------------------------------------------------ duplicates
def test_exact_duplicates_are_dropped_and_counted_as_their_own_reason() -> None:
    log = read(shop().events)
    assert log.report.dropped == {"exact duplicate": shop().n_duplicates}
    assert log.report.rows_read == shop().events.height
    kept = read(shop().events, duplicates="keep")
    assert kept.report.rows_kept == shop().events.height
    # duplicates no longer inflate self-loops: the same edges as the clean events
    clean = jg.read_events(shop().clean, **COLUMNS)
    assert_frame_equal(jg.mine(log).edges, jg.mine(clean).edges)
    assert jg.mine(kept).edges.get_column("count").sum() > jg.mine(log).edges["count"].sum()


def test_a_row_differing_in_any_attribute_is_not_a_duplicate() -> None:
    df = pl.DataFrame(
        {
            "u": ["a"] * 4,
            "t": [1, 1, 1, 2],
            "e": ["x", "x", "x", "y"],
            "price": [1.0, 1.0, 2.0, 1.0],
        }
    )
    log = jg.read_events(df, customer="u", timestamp="t", touchpoint="e")
    assert log.report.dropped == {"exact duplicate": 1}
    assert log.collect().get_column("_row").to_list() == [0, 2, 3]


duplicated_rows = st.lists(
    st.tuples(
        st.integers(0, 2),  # customer
        st.integers(0, 3),  # timestamp: many ties
        st.sampled_from(["a", "b"]),
        st.sampled_from(["web", "app"]),  # an attribute
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=duplicated_rows, as_text=st.booleans(), lazy=st.booleans())
def test_exact_duplicates_are_the_rows_equal_to_an_earlier_row(
    rows: list[tuple[int, int, str, str]], as_text: bool, lazy: bool
) -> None:
    df = pl.DataFrame(rows, schema=["u", "t", "e", "device"], orient="row")
    if as_text:
        df = df.with_columns(pl.format("user-{}", "u").alias("u"))
    # brute force: a row is a duplicate when an earlier row has the same values in every column
    seen: set[tuple[object, ...]] = set()
    firsts = []
    for i, row in enumerate(df.iter_rows()):
        if row not in seen:
            firsts.append(i)
        seen.add(row)
    cols = {"customer": "u", "timestamp": "t", "touchpoint": "e", "timestamp_unit": "s"}
    log = jg.read_events(df.lazy() if lazy else df, **cols)  # type: ignore[arg-type]
    assert log.lazy().collect().get_column("_row").to_list() == firsts
    repeats = df.height - len(firsts)
    assert log.report.dropped == ({"exact duplicate": repeats} if repeats else {})
    # mined, the duplicates are gone, also from batches merged later
    unique = df.gather(firsts)
    mined = jg.mine(log)
    reference = jg.mine(jg.read_events(unique, duplicates="keep", **cols))  # type: ignore[arg-type]
    assert_frame_equal(mined.edges, reference.edges)
    assert_frame_equal(mined.stats, reference.stats)
    twice = jg.read_events(pl.concat([unique, unique]), duplicates="keep", **cols)  # type: ignore[arg-type]
    assert_frame_equal(mined.merge(mined).edges, jg.mine(twice).edges)
    # mining with a filter drops the same duplicates and filters the rest
    start = dt.datetime(1970, 1, 1, 0, 0, 1)
    late = unique.filter(pl.col("t") >= 1)
    if late.height:
        mined = jg.mine(jg.read_events(df.lazy() if lazy else df, **cols), start=start)  # type: ignore[arg-type]
        reference = jg.mine(jg.read_events(late, duplicates="keep", **cols), start=start)  # type: ignore[arg-type]
        assert_frame_equal(mined.edges, reference.edges)
        assert_frame_equal(mined.stats, reference.stats)
        early = unique.height - late.height
        expected = {"exact duplicate": repeats, "before start=": early}
        assert mined.report.dropped == {k: n for k, n in expected.items() if n}


# ------------------------------------------------------------------ sessions
def test_session_journeys_from_the_column_match_the_ground_truth() -> None:
    log = read(shop().events, session="session_id")
    sessions = jg.mine(log, journey="session")
    expected = shop().clean.select("user_id", "session_id").n_unique()
    assert sessions.n_journeys == expected
    per_customer = sessions.stats.group_by("customer").len().sort("customer")
    truth_counts = (
        shop().clean.group_by("user_id").agg(pl.col("session_id").n_unique()).sort("user_id")
    )
    assert per_customer.get_column("len").to_list() == truth_counts["session_id"].to_list()
    # sessions here are hours apart with minutes between views: a 30-minute gap agrees
    by_gap = jg.mine(read(shop().events), journey="session", session_gap="30m")
    assert_frame_equal(sessions.stats, by_gap.stats)
    assert_frame_equal(sessions.edges, by_gap.edges)


def test_missing_session_id_names_the_column_and_the_fix() -> None:
    events = shop().events.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise("session_id").alias("session_id")
    )
    with pytest.raises(jg.InvalidEventsError) as info:
        read(events, session="session_id")
    message = str(info.value)
    assert "column 'session_id': 1 row(s) with missing session" in message
    assert "session_gap=" in message


def test_session_journeys_need_sessions() -> None:
    with pytest.raises(jg.JourneygraphError, match=r"session='session_id'.*session_gap="):
        jg.mine(read(shop().events), journey="session")


# ------------------------------------------------------------------ wrong types
BAD_CALLS = [
    (lambda: jg.mine(shop().events), TypeError, r"not a DataFrame.*read_events"),
    (
        lambda: jg.compare(jg.mine(read(shop().events)), ["home", "cart"]),  # type: ignore[arg-type]
        TypeError,
        r"not a list.*JourneyMap\.linear\(\['home', 'cart'\]\)",
    ),
    (
        lambda: jg.compare(read(shop().events), jg.JourneyMap.linear(STAGES)),  # type: ignore[arg-type]
        TypeError,
        r"not a EventLog.*jg\.mine\(log\)",
    ),
    (
        lambda: jg.mine(read(shop().events), session_gap="30 minutes"),
        jg.JourneygraphError,
        r"session_gap='30 minutes' is not a duration.*'30m', '2h', '1d'",
    ),
    (
        lambda: read(shop().events, separator=";;"),
        jg.JourneygraphError,
        r"separator=';;' must be one character",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_CALLS)
def test_wrong_arguments_say_what_to_pass(call: object, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call()  # type: ignore[operator]


# ------------------------------------------------------------------ command line
def test_cli_reads_messy_csv_and_writes_session_journeys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress(shop().events.write_csv(separator=";").encode()))
    columns = [f"--{role}={column}" for role, column in COLUMNS.items()]
    argv = ["mine", str(path), *columns, "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"--timestamp-format '{US_FORMAT}'" in err
    assert "timestamp_format" not in err
    code = main([*argv, f"--timestamp-format={US_FORMAT}", "--session=session_id"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"dropped {shop().n_duplicates:,}: exact duplicate" in out


def test_cli_errors_name_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "e.csv"
    shop().events.write_csv(path)
    assert main(["mine", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "column 'customer' (--customer) is not in the events" in capsys.readouterr().err
    columns = [f"--{role}={column}" for role, column in COLUMNS.items()]
    argv = ["mine", str(path), *columns, f"--timestamp-format={US_FORMAT}"]
    assert main([*argv, "--session-gap", "30 minutes", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "--session-gap '30 minutes' is not a duration" in err
    assert "'30m', '2h', '1d'" in err
    assert "pydantic" not in err
    assert main([*argv, "--separator", ";", "--out", str(tmp_path / "o")]) == 1
    assert "--separator ','" in capsys.readouterr().err
