"""Mining on Spark (local[N]) against the local engine, on the same Parquet events.

    python benchmarks/spark.py --customers 1000000 --master "local[2]" --partitions 40

Generates (once) the seeded sample events of ``benchmarks/run.py``, then runs,
each in a fresh process: the local engine (read, mine, per-journey and
aggregate tables) and the Spark backend (read, mine: the pass over customer
partitions, persisted; then the aggregate tables and a count of every
per-journey table). Prints one JSON line per run with wall times, the peak RSS
of the driver (Python and JVM) and of the Spark Python workers, and the
per-partition throughput (events per second per core in the pass).

With ``--analyses`` both runs then compare the journeys with the sample's map
and customer table and time each population result: ``summary`` (on Spark
the comparison pass runs here), ``overlay_graph``, ``perception_gap`` and
``drivers`` (reached and a customer outcome; on Spark one more pass each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from run import DATA, dataset  # noqa: E402 -- the same cached sample events as `make bench`


def customer_table(customers: int, seed: int = 0) -> Path:
    """Generate (once) and cache the sample's customer table beside its events."""
    path = DATA / f"customers_{customers}_{seed}.parquet"
    if not path.exists():
        from journeygraph import datasets

        DATA.mkdir(parents=True, exist_ok=True)
        datasets.generate(customers, seed=seed).customers.write_parquet(path)
    return path


def analyses(journeys: Any, customers: str) -> dict[str, float]:
    """Seconds of compare and each population result of the comparison."""
    import polars as pl

    import journeygraph as jg
    from journeygraph import datasets

    table = pl.read_parquet(customers)
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    out = {}
    t0 = time.perf_counter()
    div = jg.compare(journeys, jmap, customers=table, customer="customer_id")
    div.summary()  # on Spark the comparison pass runs here
    out["compare_summary_seconds"] = time.perf_counter() - t0
    calls = {
        "overlay_graph": lambda: div.overlay_graph(),
        "perception_gap": lambda: div.perception_gap("survey_score", "churned"),
        "drivers_reached": lambda: div.drivers(reached="purchase"),
        "drivers_churned": lambda: div.drivers("churned"),
    }
    for name, call in calls.items():
        t0 = time.perf_counter()
        call()
        out[f"{name}_seconds"] = time.perf_counter() - t0
    return out


def local_case(path: str, customers: str | None = None) -> dict[str, Any]:
    import journeygraph as jg
    from journeygraph import datasets

    t0 = time.perf_counter()
    journeys = jg.mine(jg.read_events(path, **datasets.COLUMNS))
    for table in (journeys.edges, journeys.nodes, journeys.stats):
        table.height  # noqa: B018
    journeys.aggregate_edges, journeys.aggregate_nodes  # noqa: B018
    seconds = time.perf_counter() - t0
    return {
        "engine": "local",
        "seconds": seconds,
        "events": journeys.n_events,
        "journeys": journeys.n_journeys,
        **({} if customers is None else analyses(journeys, customers)),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


class Peaks:
    """Samples the RSS of the JVM and the Python workers (children of this process)."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.jvm = 0.0
        self.workers = 0.0
        self.worker_sum = 0.0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop:
            jvm = workers = 0.0
            biggest = 0.0
            for p in self.me.children(recursive=True):
                try:
                    rss = p.memory_info().rss / 1024**3
                    name = " ".join(p.cmdline()[:3])
                except Exception:  # a worker that just ended
                    continue
                if "java" in name:
                    jvm += rss
                elif "python" in name:
                    workers += rss
                    biggest = max(biggest, rss)
            self.jvm = max(self.jvm, jvm)
            self.worker_sum = max(self.worker_sum, workers)
            self.workers = max(self.workers, biggest)
            time.sleep(0.2)


def spark_case(
    path: str, master: str, partitions: int, memory: str, customers: str | None = None
) -> dict[str, Any]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import journeygraph as jg
    from journeygraph import datasets

    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.driver.memory", memory)
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    peaks = Peaks()
    started = time.perf_counter()
    log = jg.read_events(spark.read.parquet(path), **datasets.COLUMNS)
    journeys = jg.mine(log)  # the pass: shuffle by customer, mine, persist, report
    mined = time.perf_counter()
    rss_mined = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    journeys.aggregate_edges, journeys.aggregate_nodes  # noqa: B018
    aggregated = time.perf_counter()
    rows = [journeys.edges.count(), journeys.nodes.count(), journeys.stats.count()]
    done = time.perf_counter()
    analysed = {} if customers is None else analyses(journeys, customers)
    peaks.stop = True
    stored = spark.sparkContext._jsc.sc().getRDDStorageInfo()
    persisted = sum(i.memSize() + i.diskSize() for i in stored) / 1024**3
    cores = int(master.split("[")[1].rstrip("]")) if "[" in master else os.cpu_count() or 1
    return {
        "engine": f"spark {master}",
        "partitions": partitions,
        "session_seconds": started - t0,
        "mine_seconds": mined - started,
        "aggregate_seconds": aggregated - mined,
        "count_tables_seconds": done - aggregated,
        "seconds": aggregated - started,
        "events": journeys.n_events,
        "journeys": journeys.n_journeys,
        "table_rows": rows,
        **analysed,
        "events_per_core_second": journeys.n_events / ((mined - started) * cores),
        "driver_python_rss_after_mine_gb": rss_mined,
        "driver_python_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "driver_jvm_rss_gb": peaks.jvm,
        "worker_peak_rss_gb": peaks.workers,
        "workers_total_rss_gb": peaks.worker_sum,
        "persisted_gb": persisted,  # what Spark holds at the end (memory + disk)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--engines", default="local,spark", help="which runs, comma-separated")
    parser.add_argument("--analyses", action="store_true", help="also compare and its results")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, table, *rest = args.child
        customers = table or None
        if kind == "local":
            result = local_case(path, customers)
        else:
            result = spark_case(path, rest[0], int(rest[1]), rest[2], customers)
        print(json.dumps(result))
        return
    path = str(dataset(args.customers))
    table = str(customer_table(args.customers)) if args.analyses else ""
    runs = [
        ["local", path, table],
        ["spark", path, table, args.master, str(args.partitions), args.driver_memory],
    ]
    runs = [run for run in runs if run[0] in args.engines.split(",")]
    for child in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", *child],
            check=True,
            capture_output=True,
            text=True,
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
