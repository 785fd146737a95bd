"""The same job in journeygraph and in other tools, for ``benchmarks/run.py --groups peers``.

The job: from a Parquet event log, drop exact duplicate rows (equal in every
column: a retried tracking call; the first is kept, as `jg.read_events` does
by default), order each customer's events by time (ties in file order), then
count every directly-follows pair of touchpoints (source, target) and the
touchpoints customers start and end at. Each
function reads the file, does the job and returns its seconds and a digest of
its counts, so the runner can check that every tool found the same numbers.

journeygraph does much more than the peers for the same time: per-customer
edge and node tables with first/last times, total and median durations,
dwell, positions, per-journey stats (self-loops, revisits, backtracks,
cycles, channel switches), and the aggregate tables with customers, shares
and transition probabilities. The peers compute only the three counts.

The peers are optional (``pip install -e ".[bench]"``); never runtime
dependencies of journeygraph.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from typing import Any

CUSTOMER, TIME, TOUCHPOINT = "customer_id", "timestamp", "touchpoint"


def digest(
    follows: Iterable[tuple[str, str, int]],
    starts: Iterable[tuple[str, int]],
    ends: Iterable[tuple[str, int]],
) -> str:
    """A short fingerprint of the three count tables, whatever order they came in."""
    canonical = json.dumps(
        [sorted((str(a), str(b), int(n)) for a, b, n in follows)]
        + [sorted((str(a), int(n)) for a, n in table if n) for table in (starts, ends)]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def journeygraph_job(path: str) -> dict[str, Any]:
    """Read, mine, and build edges, nodes, stats and the aggregate tables (everything)."""
    from journeygraph import datasets, mine, read_events  # imported, as the peers are

    t0 = time.perf_counter()
    journeys = mine(read_events(path, **datasets.COLUMNS))
    tables = [
        journeys.edges,
        journeys.nodes,
        journeys.stats,
        journeys.aggregate_edges,
        journeys.aggregate_nodes,
    ]
    seconds = time.perf_counter() - t0
    edges, nodes = tables[3], tables[4]
    return {
        "seconds": seconds,
        "events": journeys.n_events,
        "digest": digest(
            edges.select("source", "target", "events").rows(),
            nodes.select("touchpoint", "starts").rows(),
            nodes.select("touchpoint", "ends").rows(),
        ),
    }


DUCKDB_SQL = f"""
CREATE TEMP TABLE follows AS
WITH events AS (  -- exact duplicates dropped: the first of equal rows kept
    SELECT * EXCLUDE (file_row_number), min(file_row_number) AS file_row_number
    FROM read_parquet(?, file_row_number = true)
    GROUP BY ALL
)
SELECT {TOUCHPOINT} AS source,
       lead({TOUCHPOINT}) OVER w AS target,
       lag({TOUCHPOINT}) OVER w IS NULL AS first
FROM events
WINDOW w AS (PARTITION BY {CUSTOMER} ORDER BY {TIME}, file_row_number)
"""


def duckdb_job(path: str) -> dict[str, Any]:
    """DuckDB SQL: GROUP BY every column (duplicates), lead()/lag() over each customer by
    time, then three GROUP BYs."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(DUCKDB_SQL, [path])
    follows = con.execute(
        "SELECT source, target, count(*) FROM follows WHERE target IS NOT NULL GROUP BY ALL"
    ).fetchall()
    starts = con.execute("SELECT source, count(*) FROM follows WHERE first GROUP BY ALL").fetchall()
    ends = con.execute(
        "SELECT source, count(*) FROM follows WHERE target IS NULL GROUP BY ALL"
    ).fetchall()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "digest": digest(follows, starts, ends)}


def polars_job(path: str) -> dict[str, Any]:
    """polars: ``unique`` rows (first kept), a stable sort by customer and time,
    ``shift(-1).over(customer)``, group-bys."""
    import polars as pl

    t0 = time.perf_counter()
    events = (
        pl.scan_parquet(path)
        .unique(keep="first", maintain_order=True)
        .select(CUSTOMER, TIME, TOUCHPOINT)
        .sort(CUSTOMER, TIME, maintain_order=True)
        .with_columns(pl.col(TOUCHPOINT).shift(-1).over(CUSTOMER).alias("target"))
        .collect()
    )
    follows = (
        events.lazy().filter(pl.col("target").is_not_null()).group_by(TOUCHPOINT, "target").len()
    )
    firsts = events.lazy().group_by(CUSTOMER).agg(pl.col(TOUCHPOINT).first())
    lasts = events.lazy().group_by(CUSTOMER).agg(pl.col(TOUCHPOINT).last())
    follows_df, starts, ends = pl.collect_all(
        [follows, firsts.group_by(TOUCHPOINT).len(), lasts.group_by(TOUCHPOINT).len()]
    )
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "digest": digest(follows_df.rows(), starts.rows(), ends.rows()),
    }


def pm4py_job(path: str) -> dict[str, Any]:
    """pm4py ``discover_dfg`` on the log read with pandas, duplicate rows dropped."""
    import pandas as pd
    import pm4py

    t0 = time.perf_counter()
    frame = pd.read_parquet(path).drop_duplicates()[[CUSTOMER, TIME, TOUCHPOINT]]
    frame[CUSTOMER] = frame[CUSTOMER].astype(str)  # pm4py takes text case ids only
    dfg, starts, ends = pm4py.discover_dfg(
        frame, case_id_key=CUSTOMER, activity_key=TOUCHPOINT, timestamp_key=TIME
    )
    seconds = time.perf_counter() - t0
    follows = [(a, b, n) for (a, b), n in dfg.items()]
    return {
        "seconds": seconds,
        "digest": digest(follows, starts.items(), ends.items()),
    }


JOBS = {
    "journeygraph": journeygraph_job,
    "duckdb": duckdb_job,
    "polars": polars_job,
    "pm4py": pm4py_job,
}
