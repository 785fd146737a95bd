"""Small polars helpers shared by the engine and the analyses (internal).

The engine's private column names live here too, so every module that reads
the core's frames (`journeygraph._core.Core`) spells them the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "JOURNEY",
    "LOGGED",
    "RAW_TS",
    "REASON",
    "ROW",
    "categories",
    "durations",
    "group_runs",
    "lookup",
    "offsets",
    "ratio",
]

# private column names of the engine's frames
JOURNEY = "_journey"  # journey code (UInt32), dense, in journey-id order
LOGGED = "_logged_touchpoint"  # the touchpoint as logged, kept to order ties
# columns of the checked event frame (journeygraph.ingest)
ROW = "_row"  # 0-based input row number: keeps equal timestamps in input order
REASON = "_reason"  # why a row is invalid (null: valid)
RAW_TS = "_raw_timestamp"  # the timestamp as given, for error messages


def ratio(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """``numerator / denominator`` as exact IEEE division in every row.

    polars divides a long column by a scalar through multiplying by its
    reciprocal, but short chunks exactly, so ``3 / 5`` could come out as 0.6 or
    0.6000000000000001 depending on how the data is chunked. Broadcasting the
    denominator to a column first makes the result independent of layout.
    """
    as_column = numerator.cast(pl.Float64) * 0.0 + denominator
    return numerator.cast(pl.Float64) / as_column


def group_runs(keyed: pl.DataFrame, *aggs: pl.Expr) -> pl.DataFrame:
    """Aggregate ``keyed`` by its integer ``_key`` column; result in key order.

    Sorting one packed integer key with only the value columns it needs, then
    aggregating the sorted runs, is several times faster than hashing a
    multi-column key. The result has ``_key``, the run length ``_n`` and ``aggs``.
    """
    if not keyed.get_column("_key").is_sorted():
        keyed = keyed.sort("_key")  # aggregates ignore order within a run
    runs = keyed.with_columns(pl.col("_key").set_sorted()).group_by("_key", maintain_order=True)
    return runs.agg(pl.len().alias("_n"), *aggs)


def lookup(table: pl.Series, index: pl.Expr) -> pl.Expr:
    """``table[index]`` for every row: decode codes (stage, touchpoint) to values."""
    return pl.lit(table).gather(index)


def categories(frame: pl.DataFrame, column: str) -> list[str]:
    """The categories of an Enum column."""
    dtype = frame.schema[column]
    assert isinstance(dtype, pl.Enum)
    return list(dtype.categories)


def durations(microseconds: npt.NDArray[np.int64], name: str) -> pl.Series:
    """Microseconds as a ``Duration("us")`` series."""
    return pl.Series(name, microseconds).cast(pl.Duration("us"))


def offsets(sizes: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """First row of each journey's block in a per-journey table, plus the end."""
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out
