"""Reproducible benchmarks: ``make bench`` (or ``python benchmarks/run.py --help``).

``--groups render`` runs only the `jg.to_html` case, ``--groups cluster`` only
the archetypes, ``--groups report`` only `jg.report`, ``--groups peers`` the
same job in journeygraph, DuckDB, polars and pm4py (``benchmarks/peers.py``)
on logs with each kind of id in each row order, plus the import time and the
first mine's compile time; ``--groups realistic`` compare, cluster and report
on a time-ordered text-id log beside the sample data. ``--quick`` runs a
smaller set once.

Each case runs in a fresh subprocess so its peak memory is its own. Input data
comes from the seeded generator (``journeygraph.datasets``) and is cached as
Parquet under ``benchmarks/data/``. Results are printed as a markdown table and
written into docs/benchmarks.md between the ``<!-- bench:NAME -->`` markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import peers

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
DOC = ROOT / "docs" / "benchmarks.md"

# name -> (customers, description); ~10 events per customer, 30 touchpoints
MINING_SIZES = {
    "0.5M": 50_000,  # a smoke test: --sizes 0.5M
    "5M": 500_000,
    "10M": 1_000_000,
}


def dataset(customers: int, seed: int = 0) -> Path:
    """Generate (once) and cache the sample events for ``customers`` as Parquet."""
    path = DATA / f"events_{customers}_{seed}.parquet"
    if not path.exists():
        from journeygraph import datasets

        DATA.mkdir(parents=True, exist_ok=True)
        sample = datasets.generate(customers, seed=seed)
        tmp = path.with_suffix(".tmp")
        sample.events.write_parquet(tmp)
        tmp.rename(path)
    return path


def peer_dataset(customers: int, ids: str, order: str, seed: int = 0) -> Path:
    """Generate (once) and cache sample events with ``ids`` in row ``order`` as Parquet."""
    path = DATA / f"events_{customers}_{seed}_{ids}_{order}.parquet"
    if not path.exists():
        from journeygraph import datasets

        DATA.mkdir(parents=True, exist_ok=True)
        sample = datasets.generate(customers, seed=seed, ids=ids, order=order)  # type: ignore[arg-type]
        tmp = path.with_suffix(".tmp")
        sample.events.write_parquet(tmp)
        tmp.rename(path)
    return path


def case_mine(path: str) -> dict[str, float]:
    """Read Parquet, mine, and build edges, nodes, stats and the aggregate tables."""
    import journeygraph as jg
    from journeygraph import datasets

    t0 = time.perf_counter()
    log = jg.read_events(path, **datasets.COLUMNS)
    journeys = jg.mine(log)
    tables = [
        journeys.edges,
        journeys.nodes,
        journeys.stats,
        journeys.aggregate_edges,
        journeys.aggregate_nodes,
    ]
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "events": journeys.n_events,
        "journeys": journeys.n_journeys,
        "edge_rows": tables[0].height,
    }


def eight_stage_map() -> object:
    """The sample data's six ideal stages plus Support and Leave: an 8-stage map."""
    import journeygraph as jg
    from journeygraph import datasets

    stages = dict(datasets.IDEAL_STAGES)
    stages["Support"] = ["help_center", "support_chat", "support_call", "ticket"]
    stages["Leave"] = ["cancel"]
    return jg.JourneyMap.linear(stages, optional=["Renew", "Support", "Leave"])


def case_compare(path: str) -> dict[str, float]:
    """Align every journey with an 8-stage map and build the per-journey table."""
    import journeygraph as jg
    from journeygraph import datasets

    log = jg.read_events(path, **datasets.COLUMNS)
    journeys = jg.mine(log)
    journeys.stats  # noqa: B018 -- mining is measured separately
    jmap = eight_stage_map()
    t0 = time.perf_counter()
    div = jg.compare(journeys, jmap)  # type: ignore[arg-type]
    table = div.customers
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "events": journeys.n_events, "journeys": table.height}


RENDER_CUSTOMERS = 20_000
RENDER_NODES = 60


def case_render(path: str) -> dict[str, float]:
    """`jg.to_html` of a 60-touchpoint aggregate graph, unpruned; the first call pays imports."""
    import tempfile

    import journeygraph as jg
    from journeygraph import datasets

    journeys = jg.mine(jg.read_events(path, **datasets.COLUMNS), by_channel=True)
    graph = journeys.aggregate_graph("customers")
    busiest = sorted(graph.nodes, key=lambda n: (-graph.nodes[n]["visits"], n))[:RENDER_NODES]
    graph = graph.subgraph(busiest).copy()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "graph.html"
        t0 = time.perf_counter()
        jg.to_html(graph, out)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        jg.to_html(graph, out)
        seconds = time.perf_counter() - t0
        size = out.stat().st_size
    return {
        "seconds": seconds,
        "first_seconds": first,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "megabytes": size / 1e6,
    }


CLUSTER_SIZES = {"1M": 1_000_000}


def case_cluster(path: str) -> dict[str, float]:
    """`jg.cluster(k="auto")` with the archetype table and every archetype graph."""
    import journeygraph as jg
    from journeygraph import datasets

    journeys = jg.mine(jg.read_events(path, **datasets.COLUMNS))
    journeys.stats  # noqa: B018 -- mining is measured separately
    t0 = time.perf_counter()
    arch = jg.cluster(journeys, "auto", seed=0)
    fitted = time.perf_counter() - t0
    arch.table  # noqa: B018
    graphs = [arch.graph(i) for i in arch]
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "fit_seconds": fitted,
        "journeys": journeys.n_journeys,
        "events": journeys.n_events,
        "k": len(graphs),
    }


REPORT_CUSTOMERS = 1_000_000


def customer_table(customers: int, seed: int = 0, ids: str = "dense") -> Path:
    """Generate (once) and cache the sample's customer table (outcomes, survey scores)."""
    suffix = "" if ids == "dense" else f"_{ids}"
    path = DATA / f"customers_{customers}_{seed}{suffix}.parquet"
    if not path.exists():
        from journeygraph import datasets

        DATA.mkdir(parents=True, exist_ok=True)
        sample = datasets.generate(customers, seed=seed, ids=ids)  # type: ignore[arg-type]
        table = sample.customers.drop("archetype")
        tmp = path.with_suffix(".tmp")
        table.write_parquet(tmp)
        tmp.rename(path)
    return path


def case_report(path: str) -> dict[str, float]:
    """`jg.report` from the Parquet files to the written folder, everything included."""
    import tempfile

    import polars as pl

    import journeygraph as jg
    from journeygraph import datasets

    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    ids = "text" if "_text_" in Path(path).name else "dense"
    table = customer_table(REPORT_CUSTOMERS, ids=ids)  # generated by the parent, untimed
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        log = jg.read_events(path, **datasets.COLUMNS)
        customers = pl.read_parquet(table)
        page = jg.report(log, jmap, folder, outcome="churned", customers=customers, seed=0)
        seconds = time.perf_counter() - t0
        files = [p for p in Path(folder).rglob("*") if p.is_file()]
        return {
            "seconds": seconds,
            "customers": customers.height,
            "events": pl.scan_parquet(path).select(pl.len()).collect().item(),
            "k": len(list(Path(folder).glob("graphs/archetype-*.html"))),
            "page_megabytes": page.stat().st_size / 1e6,
            "folder_megabytes": sum(p.stat().st_size for p in files) / 1e6,
        }


def case_import(path: str) -> dict[str, float]:
    """``import journeygraph`` in a fresh process (``path`` unused)."""
    t0 = time.perf_counter()
    import journeygraph  # noqa: F401

    return {"seconds": time.perf_counter() - t0, "numba": float("numba" in sys.modules)}


def case_first_mine(path: str) -> dict[str, float]:
    """The first `mine` (and its tables) in a process: kernels compiled, or loaded from cache."""
    import journeygraph as jg
    from journeygraph import datasets

    log = jg.read_events(path, **datasets.COLUMNS)
    t0 = time.perf_counter()
    journeys = jg.mine(log, session_gap="30m")
    journeys.stats  # noqa: B018
    journeys.aggregate_edges  # noqa: B018
    return {"seconds": time.perf_counter() - t0}


SEGMENT_CUSTOMERS = 1_000_000
SEGMENT_DAYS = 182  # six months of journey starts: 26 weekly periods


def six_months(customers: int, seed: int = 0) -> Path:
    """Generate (once) and cache sample events whose journeys start over six months."""
    path = DATA / f"events_{customers}_{seed}_{SEGMENT_DAYS}d.parquet"
    if not path.exists():
        from journeygraph import datasets

        DATA.mkdir(parents=True, exist_ok=True)
        sample = datasets.generate(customers, seed=seed, days=SEGMENT_DAYS)
        tmp = path.with_suffix(".tmp")
        sample.events.write_parquet(tmp)
        tmp.rename(path)
    return path


def _segment_case(path: str, run: str) -> dict[str, float]:
    """Mine (not measured), then time one of contrast / changes / funnel."""
    import journeygraph as jg
    from journeygraph import datasets

    journeys = jg.mine(jg.read_events(path, **datasets.COLUMNS))
    journeys.stats  # noqa: B018 -- mining is measured separately
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES)
    t0 = time.perf_counter()
    if run == "contrast":
        rows = jg.contrast(journeys, by="channel", jmap=jmap).table.height
    elif run == "changes":
        rows = jg.changes(journeys, every="1w", by="channel", jmap=jmap).table.height
    else:
        rows = jg.funnel(journeys, jmap=jmap, within="30d", by="channel").table.height
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "events": journeys.n_events,
        "journeys": journeys.n_journeys,
        "rows": rows,
    }


def case_contrast(path: str) -> dict[str, float]:
    """`jg.contrast` by last channel, with stage reach."""
    return _segment_case(path, "contrast")


def case_changes(path: str) -> dict[str, float]:
    """`jg.changes` weekly over six months, by last channel, with stage reach."""
    return _segment_case(path, "changes")


def case_funnel(path: str) -> dict[str, float]:
    """`jg.funnel` through the map's six stages within 30 days, by last channel."""
    return _segment_case(path, "funnel")


CASES = {
    "contrast": case_contrast,
    "changes": case_changes,
    "funnel": case_funnel,
    "mine": case_mine,
    "import": case_import,
    "first_mine": case_first_mine,
    "compare": case_compare,
    "render": case_render,
    "cluster": case_cluster,
    "report": case_report,
}


def run_child(case: str, path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one case in a fresh interpreter; returns its measurements and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def best_of(
    case: str, path: Path, repeat: int
) -> tuple[dict[str, float], float, list[dict[str, float]]]:
    """Run ``case`` ``repeat`` times: the fastest run, the highest peak RSS, and all runs."""
    runs = [run_child(case, path) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    return best, max(r["peak_rss_gb"] for r in runs), runs


PEER_IDS = ("text", "dense", "sparse")
PEER_ORDERS = ("time", "customer", "shuffled")
PM4PY_SIZES = ("0.5M",)


def run_peers(
    sizes: list[str], ids_kinds: list[str], orders: list[str], tools: list[str], repeat: int
) -> str:
    """The peers table: median seconds of each tool, journeygraph's ratio to each.

    Tools take turns within each repeat (journeygraph, DuckDB, ..., then
    again), so a change in the machine's load falls on all of them alike.
    """
    rows = []
    for size in sizes:
        for ids in ids_kinds:
            for order in orders:
                path = peer_dataset(MINING_SIZES[size], ids, order)
                # pm4py takes 3-10x the others: run at the smoke-test size only
                here = [t for t in tools if t != "pm4py" or size in PM4PY_SIZES]
                runs: dict[str, list[dict[str, Any]]] = {t: [] for t in here}
                for _ in range(repeat):
                    for tool in here:
                        runs[tool].append(run_child(f"peer:{tool}", path))
                median = {t: statistics.median(r["seconds"] for r in runs[t]) for t in here}
                ours_digest = runs["journeygraph"][0]["digest"]
                differ = [t for t in here if any(r["digest"] != ours_digest for r in runs[t])]
                ours = median["journeygraph"]
                peak = max(r["peak_rss_gb"] for r in runs["journeygraph"])
                cells = [f"{median[t]:.2f}" if t in median else "—" for t in tools]
                ratios = [
                    f"{median[t] / ours:.2f}" if t in median else "—"
                    for t in tools
                    if t != "journeygraph"
                ]
                events = int(runs["journeygraph"][0]["events"])
                same = "all" if not differ else "all but " + ", ".join(differ)
                rows.append(
                    f"| {size} | {events:,} | {ids} | {order} | "
                    + " | ".join(cells + ratios)
                    + f" | {peak:.2f} | {same} |"
                )
                print("peers", rows[-1], flush=True)
    others = [t for t in tools if t != "journeygraph"]
    header = (
        "| size | events | ids | row order | "
        + " | ".join(f"{t} (s)" for t in tools)
        + " | "
        + " | ".join(f"{t} ÷ journeygraph" for t in others)
        + " | journeygraph peak RSS (GB) | same counts |\n"
        + "|---|---:|---|---|"
        + "---:|" * (len(tools) + len(others) + 1)
        + "---|"
    )
    return header + "\n" + "\n".join(rows)


def run_startup(repeat: int) -> str:
    """Import time, and the first mine with the kernels compiled, then loaded from cache."""
    imports = [run_child("import", Path()) for _ in range(repeat)]
    small = dataset(RENDER_CUSTOMERS)
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache}  # numba's user cache first: an empty one compiles
        compiled = run_child("first_mine", small, env)
        loaded = [run_child("first_mine", small, env) for _ in range(repeat)]
    again = statistics.median(r["seconds"] for r in loaded)
    imported = statistics.median(r["seconds"] for r in imports)
    numba = "yes" if any(r["numba"] for r in imports) else "no"
    return (
        "| `import journeygraph` (s) | imports numba | first `mine` after installing: "
        "compiles the kernels (s) | first `mine` in a new process: kernels from cache (s) |\n"
        "|---:|---|---:|---:|\n"
        f"| {imported:.2f} | {numba} | {compiled['seconds']:.1f} | {again:.2f} |"
    )


def run_realistic(repeat: int) -> str:
    """compare, cluster and report of 1M customers: the sample data beside a realistic log."""
    customers = MINING_SIZES["10M"]
    logs = {
        "sample (dense ids, shuffled)": dataset(customers),
        "text ids, time order": peer_dataset(customers, "text", "time"),
    }
    customer_table(REPORT_CUSTOMERS)
    customer_table(REPORT_CUSTOMERS, ids="text")
    rows = []
    for case in ("compare", "cluster", "report"):
        for label, path in logs.items():
            best, peak, _ = best_of(case, path, repeat)
            rate = best["events"] / best["seconds"]
            rows.append(
                f"| `{case}` | {label} | {int(best['events']):,} | {best['seconds']:.1f} | "
                f"{rate / 1e6:.2f} M | {peak:.2f} |"
            )
            print("realistic", rows[-1], flush=True)
    return (
        "| case | log | events | seconds | events/s | peak RSS (GB) |\n"
        "|---|---|---:|---:|---:|---:|\n" + "\n".join(rows)
    )


def child(case: str, path: str) -> None:
    result = peers.JOBS[case[5:]](path) if case.startswith("peer:") else CASES[case](path)
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps(result))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import polars

    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, Python "
        f"{platform.python_version()}, polars {polars.__version__}"
    )


def record(name: str, table: str) -> None:
    """Replace the block between ``<!-- bench:name -->`` markers in docs/benchmarks.md."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{table}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="*", default=["5M", "10M"], choices=list(MINING_SIZES))
    groups = ["mining", "cluster", "render", "report", "peers", "realistic", "segments"]
    parser.add_argument(
        "--groups",
        nargs="*",
        default=groups,
        choices=groups,
        help="mining: mine and compare at --sizes; cluster: archetypes of 1M customers; "
        "render: jg.to_html of a 60-node graph; report: jg.report of 1M customers; "
        "peers: journeygraph vs DuckDB, polars and pm4py at --sizes (needs the bench extra), "
        "plus import and compile times; realistic: compare, cluster and report of 1M "
        "customers on a time-ordered text-id log; segments: contrast, changes and funnel of 1M "
        "customers over six months",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per case; the best (peers: median) is kept"
    )
    parser.add_argument("--peer-tools", nargs="*", default=list(peers.JOBS), choices=peers.JOBS)
    parser.add_argument("--peer-ids", nargs="*", default=list(PEER_IDS), choices=PEER_IDS)
    parser.add_argument("--peer-orders", nargs="*", default=list(PEER_ORDERS), choices=PEER_ORDERS)
    parser.add_argument(
        "--quick", action="store_true", help="5M events only, one run per case, no recording"
    )
    parser.add_argument("--no-record", action="store_true", help="do not edit docs/benchmarks.md")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.quick:
        args.sizes, args.repeat, args.no_record = ["5M"], 1, True

    mining, comparing = [], []
    for size in args.sizes if "mining" in args.groups else []:
        customers = MINING_SIZES[size]
        path = dataset(customers)
        for case, rows in (("mine", mining), ("compare", comparing)):
            best, peak, _ = best_of(case, path, args.repeat)
            rate = (best["events"] if case == "mine" else best["journeys"]) / best["seconds"]
            rows.append(
                f"| {size} | {int(best['events']):,} | {int(best['journeys']):,} | "
                f"{best['seconds']:.2f} | {rate / 1e6:.2f} M | {peak:.2f} |"
            )
            print(case, rows[-1], flush=True)
    when = (
        f"Measured {dt.date.today().isoformat()} on {machine()}; best of {args.repeat} runs, "
        "each in a fresh process."
    )
    tables: dict[str, str] = {}
    if "mining" in args.groups:
        tables["mining"] = (
            f"{when} Wall time covers reading Parquet, validating, ordering, mining, and "
            "building edges, nodes, stats and the aggregate tables.\n\n"
            "| case | events | customers | seconds | events/s | peak RSS (GB) |\n"
            "|---|---:|---:|---:|---:|---:|\n" + "\n".join(mining)
        )
        tables["compare"] = (
            f"{when} Wall time covers `jg.compare` against an 8-stage map and building "
            "`div.customers` (mining excluded; peak RSS includes it).\n\n"
            "| case | events | journeys | seconds | journeys/s | peak RSS (GB) |\n"
            "|---|---:|---:|---:|---:|---:|\n" + "\n".join(comparing)
        )
    if "segments" in args.groups:
        rows = []
        for case in ("contrast", "changes", "funnel"):
            best, peak, _ = best_of(case, six_months(SEGMENT_CUSTOMERS), args.repeat)
            rows.append(
                f"| {case} | {int(best['events']):,} | {int(best['journeys']):,} | "
                f"{int(best['rows']):,} | {best['seconds']:.2f} | {peak:.2f} |"
            )
            print(rows[-1], flush=True)
        tables["segments"] = (
            f"{when} Journeys start over six months (26 weekly periods). Wall time covers "
            "the call and its table (mining excluded; peak RSS includes it): `contrast` by "
            "last channel with stage reach; `changes` weekly by last channel with stage reach; "
            "`funnel` through the six map stages within 30 days, by last channel.\n\n"
            "| case | events | journeys | table rows | seconds | peak RSS (GB) |\n"
            "|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows)
        )
    if "cluster" in args.groups:
        rows = []
        for size, customers in CLUSTER_SIZES.items():
            best, peak, _ = best_of("cluster", dataset(customers), args.repeat)
            rows.append(
                f"| {size} | {int(best['events']):,} | {int(best['k'])} | "
                f"{best['fit_seconds']:.1f} | {best['seconds']:.1f} | {peak:.2f} |"
            )
            print("cluster", rows[-1], flush=True)
        tables["cluster"] = (
            f'{when} `jg.cluster(journeys, k="auto", seed=0)` (choosing k in 2..10 on a '
            "20,000-journey sample, then refining on all), then the archetype table and every "
            "archetype graph. Mining excluded from the time; peak RSS includes it.\n\n"
            "| customers | events | k found | fit (s) | fit + table + graphs (s) "
            "| peak RSS (GB) |\n|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows)
        )
    if "render" in args.groups:
        best, _, runs = best_of("render", dataset(RENDER_CUSTOMERS), args.repeat)
        first = min(r["first_seconds"] for r in runs)
        row = (
            f"| {int(best['nodes'])} | {int(best['edges']):,} | {best['megabytes']:.2f} | "
            f"{first:.2f} | {best['seconds']:.3f} |"
        )
        print("render", row, flush=True)
        tables["render"] = (
            f"{when} An aggregate graph of the {RENDER_NODES} busiest channel:touchpoint "
            f"nodes of {RENDER_CUSTOMERS:,} sample customers (`mine(by_channel=True)`), "
            "unpruned. *First call* includes importing pyvis (which imports IPython); "
            "*again* is a second call in the same process.\n\n"
            "| nodes | edges | file (MB) | first call (s) | again (s) |\n"
            "|---:|---:|---:|---:|---:|\n" + row
        )
    if "report" in args.groups:
        customer_table(REPORT_CUSTOMERS)
        best, peak, _ = best_of("report", dataset(REPORT_CUSTOMERS), args.repeat)
        row = (
            f"| {int(best['customers']):,} | {int(best['events']):,} | {int(best['k'])} | "
            f"{best['seconds']:.1f} | {best['page_megabytes']:.2f} | "
            f"{best['folder_megabytes']:.1f} | {peak:.2f} |"
        )
        print("report", row, flush=True)
        tables["report"] = (
            f'{when} `jg.report(log, jmap, folder, outcome="churned", customers=table)` '
            'with k="auto", timed from reading the event and customer Parquet files to the '
            "written folder: mining, the comparison with the 6-stage ideal map, archetypes, "
            "outcome drivers, the perception gap, the page and its full-size graph pages.\n\n"
            "| customers | events | k found | seconds | index.html (MB) | folder (MB) "
            "| peak RSS (GB) |\n|---:|---:|---:|---:|---:|---:|---:|\n" + row
        )
    if "peers" in args.groups:
        tools = ["journeygraph", *[t for t in args.peer_tools if t != "journeygraph"]]
        peer_table = run_peers(args.sizes, args.peer_ids, args.peer_orders, tools, args.repeat)
        tables["peers"] = (
            f"{when.replace('best of', 'median of')} Each cell: one tool, reading the "
            "Parquet file included, imports not. *÷ journeygraph* above 1 means "
            "journeygraph is faster. *Same counts*: the tools whose directly-follows, start and "
            "end counts equal journeygraph's.\n\n" + peer_table
        )
        tables["startup"] = f"{when}\n\n" + run_startup(args.repeat)
    if "realistic" in args.groups:
        tables["realistic"] = (
            f"{when} Mining excluded from compare and cluster (their peak RSS includes it); "
            "report timed from reading the files to the written folder.\n\n"
            + run_realistic(args.repeat)
        )
    for name, table in tables.items():
        print(table)
        if not args.no_record:
            record(name, table)


if __name__ == "__main__":
    main()
