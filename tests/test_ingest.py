"""Tests of read_events / EventLog: sources, timestamps, validation, ordering."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph.ingest import order_events

UTC = dt.UTC
COLS = {"customer": "user", "timestamp": "ts", "touchpoint": "event"}


def events(**overrides: list[object]) -> pl.DataFrame:
    data: dict[str, list[object]] = {
        "user": ["u2", "u1", "u1", "u2"],
        "ts": [
            dt.datetime(2024, 5, 1, 9, tzinfo=UTC),
            dt.datetime(2024, 5, 1, 11, tzinfo=UTC),
            dt.datetime(2024, 5, 1, 10, tzinfo=UTC),
            dt.datetime(2024, 5, 1, 8, tzinfo=UTC),
        ],
        "event": ["cart", "buy", "search", "search"],
        "device": ["app", "web", "web", "app"],
    }
    data.update(overrides)
    return pl.DataFrame(data)


EXPECTED = [
    ("u1", dt.datetime(2024, 5, 1, 10, tzinfo=UTC), "search"),
    ("u1", dt.datetime(2024, 5, 1, 11, tzinfo=UTC), "buy"),
    ("u2", dt.datetime(2024, 5, 1, 8, tzinfo=UTC), "search"),
    ("u2", dt.datetime(2024, 5, 1, 9, tzinfo=UTC), "cart"),
]


def triples(log: jg.EventLog) -> list[tuple[object, ...]]:
    return log.collect().select("customer", "timestamp", "touchpoint").rows()


# --------------------------------------------------------------------------- sources
def test_polars_eager_and_lazy_give_the_same_ordered_events() -> None:
    assert triples(jg.read_events(events(), **COLS)) == EXPECTED
    assert triples(jg.read_events(events().lazy(), **COLS)) == EXPECTED


def test_pandas_and_arrow_sources() -> None:
    df = events()
    assert triples(jg.read_events(df.to_pandas(), **COLS)) == EXPECTED
    assert triples(jg.read_events(df.to_arrow(), **COLS)) == EXPECTED
    assert isinstance(df.to_arrow(), pa.Table)
    assert isinstance(df.to_pandas(), pd.DataFrame)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ndjson", ".jsonl"])
def test_files(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"events{suffix}"
    df = events().with_columns(pl.col("ts").dt.to_string("%Y-%m-%dT%H:%M:%S%z"))
    if suffix == ".csv":
        df.write_csv(path)
    elif suffix == ".parquet":
        events().write_parquet(path)
    else:
        df.write_ndjson(path)
    log = jg.read_events(path, **COLS)
    assert triples(log) == EXPECTED
    assert log.attributes == ["device"]


def test_glob_reads_all_files_in_order(tmp_path: Path) -> None:
    df = events()
    df.head(2).write_parquet(tmp_path / "part-0.parquet")
    df.tail(2).write_parquet(tmp_path / "part-1.parquet")
    log = jg.read_events(str(tmp_path / "part-*.parquet"), **COLS)
    assert triples(log) == EXPECTED
    assert log.report.rows_read == 4


def test_csv_keeps_leading_zeros_in_ids(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user,ts,event\n007,2024-05-01T10:00:00Z,42\n")
    row = jg.read_events(path, **COLS).collect().row(0, named=True)
    assert row["customer"] == "007"
    assert row["touchpoint"] == "42"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("/nonexistent/events.parquet", "no event file"),
        ([1, 2, 3], "cannot read events from a list"),
    ],
)
def test_unreadable_sources(source: object, fragment: str) -> None:
    with pytest.raises(jg.InvalidEventsError, match=fragment):
        jg.read_events(source, **COLS)


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "events.xlsx"
    path.write_text("x")
    with pytest.raises(jg.InvalidEventsError, match=r"\.csv, \.parquet"):
        jg.read_events(path, **COLS)


# ------------------------------------------------------------------------ timestamps
def ts_of(values: list[object], **kwargs: object) -> list[dt.datetime]:
    df = pl.DataFrame({"user": ["u"] * len(values), "ts": values, "event": ["e"] * len(values)})
    kwargs.setdefault("duplicates", "keep")  # equal instants written differently stay rows
    log = jg.read_events(df, **COLS, **kwargs)  # type: ignore[arg-type]
    return log.lazy().collect().get_column("timestamp").to_list()


def test_iso_strings_with_mixed_offsets_are_normalised_to_utc() -> None:
    got = ts_of(
        [
            "2024-05-01T12:00:00+02:00",
            "2024-05-01T10:00:00Z",
            "2024-05-01 10:00:00",
            "2024-05-01T05:00:00.5-05:00",
            "2024-05-01",
        ]
    )
    assert got == [
        dt.datetime(2024, 5, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 10, 0, 0, 500_000, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 0, tzinfo=UTC),
    ]


def test_naive_values_are_read_in_the_given_timezone() -> None:
    got = ts_of(["2024-05-01T12:00:00", "2024-05-01T12:00:00+00:00"], timezone="Europe/Berlin")
    assert got == [dt.datetime(2024, 5, 1, 10, tzinfo=UTC), dt.datetime(2024, 5, 1, 12, tzinfo=UTC)]
    naive = [dt.datetime(2024, 1, 1, 12)]
    assert ts_of(naive, timezone="America/New_York") == [dt.datetime(2024, 1, 1, 17, tzinfo=UTC)]


def test_aware_datetimes_in_another_zone_become_utc() -> None:
    df = pl.DataFrame({"user": ["u"], "ts": [dt.datetime(2024, 5, 1, 12)], "event": ["e"]})
    df = df.with_columns(pl.col("ts").dt.replace_time_zone("Asia/Tokyo").dt.cast_time_unit("ns"))
    got = jg.read_events(df, **COLS).collect().get_column("timestamp")
    assert got.dtype == pl.Datetime("us", "UTC")
    assert got.to_list() == [dt.datetime(2024, 5, 1, 3, tzinfo=UTC)]


def test_dates() -> None:
    assert ts_of([dt.date(2024, 5, 1)]) == [dt.datetime(2024, 5, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (1_714_557_600, "auto"),
        (1_714_557_600_000, "auto"),
        (1_714_557_600_000_000, "auto"),
        (1_714_557_600_000_000_000, "auto"),
        (1_714_557_600.0, "auto"),
        (1_714_557_600, "s"),
        (1_714_557_600_000, "ms"),
    ],
)
def test_epoch_numbers(value: int | float, unit: str) -> None:
    assert ts_of([value], timestamp_unit=unit) == [dt.datetime(2024, 5, 1, 10, tzinfo=UTC)]


# ------------------------------------------------------------------------- bad input
def test_missing_column_suggests_close_names() -> None:
    with pytest.raises(jg.InvalidEventsError) as info:
        jg.read_events(events(), customer="usr", timestamp="ts", touchpoint="event")
    message = str(info.value)
    assert "'usr'" in message
    assert "customer=" in message
    assert "did you mean ['user']" in message
    assert info.value.column == "usr"


@pytest.mark.parametrize(
    ("column", "values", "reason", "n_bad"),
    [
        ("user", ["u2", None, None, "u2"], "missing customer", 2),
        ("ts", [None, dt.datetime(2024, 5, 1, tzinfo=UTC), None, None], "missing timestamp", 3),
        ("event", ["cart", "", None, "search"], "missing touchpoint", 2),
    ],
)
def test_invalid_rows_raise_with_column_count_examples_and_fix(
    column: str, values: list[object], reason: str, n_bad: int
) -> None:
    df = events(**{column: values})
    with pytest.raises(jg.InvalidEventsError) as info:
        jg.read_events(df, **COLS)
    err = info.value
    assert isinstance(err, ValueError)
    assert f"column {column!r}: {n_bad} row(s) with {reason}" in str(err)
    assert "fix:" in str(err)
    assert "on_invalid='drop'" in str(err)
    assert err.column == column
    assert err.n_rows == n_bad
    assert 1 <= len(err.examples) <= 3
    assert all("row" in example for example in err.examples)


def test_unparseable_timestamps_show_the_raw_value() -> None:
    df = events(ts=["2024-05-01T10:00:00Z", "yesterday", "2024-13-45", "2024-05-01T11:00:00Z"])
    with pytest.raises(jg.InvalidEventsError) as info:
        jg.read_events(df, **COLS)
    message = str(info.value)
    assert "column 'ts': 2 row(s) with unparseable timestamp" in message
    assert "yesterday" in message
    assert [e["row"] for e in info.value.examples] == [1, 2]


def test_drop_counts_every_dropped_row_by_reason() -> None:
    df = events(
        user=["u2", None, "u1", "u2"],
        ts=["2024-05-01T09:00:00Z", "2024-05-01T11:00:00Z", "never", "2024-05-01T08:00:00Z"],
        event=["cart", "buy", "search", None],
    )
    log = jg.read_events(df, **COLS, on_invalid="drop")
    report = log.report
    assert report.rows_read == 4
    assert report.rows_kept == 1
    assert report.dropped == {
        "missing customer": 1,
        "unparseable timestamp": 1,
        "missing touchpoint": 1,
    }
    assert log.collect().height == 1
    assert "dropped 1: missing customer" in str(report)


def test_lazy_input_is_checked_only_when_needed() -> None:
    lf = events(user=[None, "u1", "u1", "u2"]).lazy()
    log = jg.read_events(lf, **COLS)  # no error yet: nothing has been read
    with pytest.raises(jg.InvalidEventsError, match="missing customer"):
        log.collect()
    with pytest.raises(jg.InvalidEventsError, match="missing customer"):
        jg.mine(jg.read_events(lf, **COLS))


def test_empty_input() -> None:
    with pytest.raises(jg.InvalidEventsError, match="no valid events"):
        jg.read_events(events().clear(), **COLS)
    all_bad = events(user=[None, None, None, None])
    with pytest.raises(jg.InvalidEventsError, match="all 4 rows were invalid"):
        jg.read_events(all_bad, **COLS, on_invalid="drop")


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"user": [1.5, 2.5, 3.5, 4.5]}, "user"),
        ({"ts": [True, False, True, True]}, "ts"),
        ({"event": [[1], [2], [3], [4]]}, "event"),
    ],
)
def test_wrong_types_name_the_column_and_the_cast(
    overrides: dict[str, list[object]], column: str
) -> None:
    with pytest.raises(jg.InvalidEventsError, match=f"column '{column}'") as info:
        jg.read_events(events(**overrides), **COLS)
    assert info.value.column == column


BAD_OPTIONS = [
    ({"on_invalid": "skip"}, "on_invalid"),
    ({"timestamp_unit": "minutes"}, "timestamp_unit"),
    ({"channel": "ts"}, "both timestamp= and channel="),
    ({"attributes": ["nope"]}, "attribute column"),
]


@pytest.mark.parametrize(("kwargs", "fragment"), BAD_OPTIONS)
def test_bad_options(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(jg.JourneygraphError, match=fragment):
        jg.read_events(events(), **COLS, **kwargs)  # type: ignore[arg-type]


def test_attribute_named_like_a_canonical_column() -> None:
    df = events().rename({"device": "channel"})
    unmapped = jg.read_events(df, **COLS)  # an unmapped 'channel' is just an attribute
    assert not unmapped.has_channel
    assert unmapped.attributes == ["channel"]
    mapped = jg.read_events(df, **COLS, channel="channel")
    assert mapped.has_channel
    assert mapped.attributes == []
    clashing = events().with_columns(pl.lit("x").alias("customer"))
    with pytest.raises(jg.InvalidEventsError, match=r"\['customer'\] have names journeygraph uses"):
        jg.read_events(clashing, **COLS)


def test_attributes_subset_is_kept() -> None:
    df = events().with_columns(pl.lit(1).alias("extra"))
    assert jg.read_events(df, **COLS).attributes == ["device", "extra"]
    log = jg.read_events(df, **COLS, attributes=["extra"])
    assert log.attributes == ["extra"]
    assert "extra" in log.collect().columns


# -------------------------------------------------------------------------- ordering
def test_equal_timestamps_keep_input_order() -> None:
    same = dt.datetime(2024, 5, 1, tzinfo=UTC)
    df = pl.DataFrame({"user": ["a"] * 3, "ts": [same] * 3, "event": ["z", "x", "y"]})
    assert jg.read_events(df, **COLS).collect().get_column("touchpoint").to_list() == [
        "z",
        "x",
        "y",
    ]


def test_tie_breaker_orders_ties() -> None:
    same = dt.datetime(2024, 5, 1, tzinfo=UTC)
    df = pl.DataFrame(
        {"user": ["a"] * 3, "ts": [same] * 3, "event": ["z", "x", "y"], "seq": [3, 1, 2]}
    )
    log = jg.read_events(df, **COLS, tie_breaker="seq")
    assert log.collect().get_column("touchpoint").to_list() == ["x", "y", "z"]


rows = st.lists(
    st.tuples(
        st.integers(0, 3),  # customer
        st.integers(0, 4),  # timestamp: few values, many ties
        st.integers(0, 2),  # tie breaker: ties even there
        st.sampled_from(["a", "b", "c"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=rows, seed=st.integers(0, 2**32 - 1), as_text=st.booleans())
def test_with_tie_breaker_row_order_does_not_matter(
    rows: list[tuple[int, int, int, str]], seed: int, as_text: bool
) -> None:
    def read(rs: list[tuple[int, int, int, str]]) -> pl.DataFrame:
        df = pl.DataFrame(rs, schema=["user", "ts", "seq", "event"], orient="row")
        if as_text:
            df = df.with_columns(pl.format("c{}", "user").alias("user"))
        log = jg.read_events(df, **COLS, tie_breaker="seq", timestamp_unit="s")
        return log.collect().drop("_row")

    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    assert read(rows).equals(read(shuffled))


@settings(max_examples=60, deadline=None)
@given(rows=rows, wide=st.booleans())
def test_order_matches_python_sort(rows: list[tuple[int, int, int, str]], wide: bool) -> None:
    # wide customer ids or time spans force the multi-sort path instead of the packed key
    scale = 2**40 if wide else 1
    df = pl.DataFrame(
        {
            "customer": [r[0] * scale for r in rows],
            "timestamp": [
                dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=r[1]) for r in rows
            ],
            "touchpoint": [r[3] for r in rows],
        }
    ).with_row_index("_row")
    got = order_events(df, ["customer", "timestamp", "_row"]).get_column("_row").to_list()
    expected = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i))
    assert got == expected
