"""The compiled kernels' own building blocks, against numpy as an oracle."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph import _kernels, datasets
from journeygraph.ingest import by_customer_and_time, codes_from_keys, customer_codes


@given(
    keys=st.lists(st.integers(0, 6), max_size=300),
    spare=st.integers(0, 3),
)
def test_sort_block_is_a_stable_sort_of_the_prefix(keys: list[int], spare: int) -> None:
    # short blocks take insertion sort, long ones (> 32) the merge sort; the
    # few keys make ties common, and the spare tail must stay untouched
    size = len(keys)
    key = np.array([*keys, *range(spare)], dtype=np.int64)
    index = np.arange(size + spare, dtype=np.int64)
    expected = np.argsort(key[:size], kind="stable")
    tail = key[size:].copy()
    _kernels._sort_block(key, index, size)
    assert key[:size].tolist() == sorted(keys)
    assert index[:size].tolist() == expected.tolist()
    assert key[size:].tolist() == tail.tolist()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_tables_do_not_depend_on_the_number_of_threads() -> None:
    # the kernels split journeys into 4 chunks per core they may run on; pinning
    # the process to one core changes the chunks, and must not change a table
    data = datasets.generate(3_000, seed=4)

    def tables() -> list[pl.DataFrame]:
        log = jg.read_events(data.events, **datasets.COLUMNS)
        j = jg.mine(log, session_gap="30m", collapse_repeats=True)
        return [j.edges, j.nodes, j.stats, j.aggregate_edges, j.core.sequence]

    cores = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cores)})
        one = tables()
    finally:
        os.sched_setaffinity(0, cores)
    for a, b in zip(one, tables(), strict=True):
        assert a.equals(b)


KEYS = st.sampled_from([0, 1, -1, 7, 2**63 - 1, -(2**63), 2**32, 12345678901234])


@given(keys=st.lists(KEYS | st.integers(-(2**63), 2**63 - 1), max_size=200), big=st.booleans())
def test_group_numbers_equal_keys_alike(keys: list[int], big: bool) -> None:
    # big: repeated past 2**13 rows, so the rows are split into hash partitions
    key = np.array(keys * (9_000 // max(len(keys), 1) + 1) if big else keys, dtype=np.int64)
    code, first = _kernels.group(key)
    distinct, first_seen, inverse = np.unique(key, return_index=True, return_inverse=True)
    assert sorted(code[first_seen].tolist()) == list(range(len(distinct)))  # dense codes
    assert (code == code[first_seen][inverse]).all()  # equal keys, equal codes; and only them
    assert first.tolist() == [int(np.flatnonzero(code == c)[0]) for c in range(len(first))]


@given(keys=st.sets(st.integers(-(2**63), 2**63 - 1), max_size=100), data=st.data())
def test_positions_finds_every_query(keys: set[int], data: st.DataObject) -> None:
    table = np.array(sorted(keys), dtype=np.int64)
    if not len(table):
        return
    picks = data.draw(st.lists(st.integers(0, len(table) - 1), max_size=50))
    assert _kernels.positions(table, table[picks]).tolist() == picks


@given(
    journeys=st.lists(
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4)), min_size=1, max_size=40),
        min_size=1,
        max_size=12,
    )
)
def test_pair_medians_are_the_medians_of_each_pairs_durations(
    journeys: list[list[tuple[int, int]]],
) -> None:
    # few touchpoints and few distinct gaps: long runs of equal durations in every pair
    touchpoint = np.array([tp for j in journeys for tp, _ in j], dtype=np.int32)
    time = np.concatenate([np.cumsum([gap**3 for _, gap in j]) for j in journeys]).astype(np.int64)
    starts = np.zeros(len(journeys) + 1, dtype=np.int64)
    np.cumsum([len(j) for j in journeys], out=starts[1:])
    spans: dict[int, list[int]] = {}
    for a, b in itertools.pairwise(starts):
        for i in range(a, b - 1):
            pair = int(touchpoint[i]) * 3 + int(touchpoint[i + 1])
            spans.setdefault(pair, []).append(int(time[i + 1] - time[i]))
    keys = np.array(sorted(spans), dtype=np.int64)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(spans[k]) for k in keys], out=offsets[1:])
    got = _kernels.pair_medians(starts, touchpoint, time, 3, keys, offsets)
    for key, median in zip(keys.tolist(), got.tolist(), strict=True):
        ordered = sorted(spans[key])
        half = len(ordered) // 2
        expected = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) // 2
        assert median == expected


def test_text_ids_whose_hashes_collide_are_ranked_exactly() -> None:
    # keys standing in for hashes that all collide: the check must catch it and rank instead
    ids = pl.Series(["b", "a", "c", "a", "b", "é", "a"])
    code, lo, n = customer_codes(ids)
    also, lo_also, n_also = codes_from_keys(ids, np.zeros(len(ids), dtype=np.int64))
    ranks = {v: i for i, v in enumerate(sorted(set(ids)))}
    assert (code - lo).tolist() == [ranks[v] for v in ids]
    assert (also - lo_also).tolist() == [ranks[v] for v in ids]
    assert n == n_also == 4


def test_import_does_not_import_heavy_packages() -> None:
    # numba, scipy, networkx and polars take seconds together: names import on first use
    heavy = ("numba", "scipy", "networkx", "polars", "pydantic")
    code = (
        "import sys, journeygraph\n"
        f"loaded = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mining_does_not_import_scipy_linalg_and_leaves_it_importable() -> None:
    # numba's start probes for BLAS through scipy.linalg (a quarter of a second): kept out
    code = (
        "import sys, polars as pl, journeygraph as jg\n"
        "df = pl.DataFrame({'u': [1, 1], 't': [1, 2], 'e': ['a', 'b']})\n"
        "j = jg.mine(jg.read_events(df, customer='u', timestamp='t', touchpoint='e'))\n"
        "assert j.aggregate_edges.height == 1\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "import scipy.linalg\n"
        "assert scipy.linalg.cython_blas is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scipy_linalg_is_kept_out_only_on_the_thread_starting_numba() -> None:
    # while numba starts on one thread, another thread's import of scipy.linalg works
    code = (
        "import sys, threading\n"
        "from journeygraph import _kernels\n"
        "got = []\n"
        "def other():\n"
        "    import scipy.linalg\n"
        "    got.append(scipy.linalg.cython_blas)\n"
        "with _kernels._no_blas_probe():\n"
        "    try:\n"
        "        import scipy.linalg.cython_blas\n"
        "    except ImportError:\n"
        "        got.append('blocked here')\n"
        "    t = threading.Thread(target=other)\n"
        "    t.start()\n"
        "    t.join()\n"
        "assert got[0] == 'blocked here' and got[1] is not None, got\n"
        "import scipy.linalg\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_public_name_is_its_module_object_whatever_is_imported_first() -> None:
    # importing the submodule `report` (or `mine`, ...) must not hide the function of that name
    code = (
        "import importlib, journeygraph as jg\n"
        "import journeygraph.report, journeygraph.compare, journeygraph.cli\n"
        "for name in jg.__all__:\n"
        "    value = getattr(jg, name)\n"
        "    home = jg._HOME.get(name)\n"
        "    if home is not None:\n"
        "        module = importlib.import_module('journeygraph.' + home)\n"
        "        assert value is getattr(module, name), name\n"
        "assert callable(jg.report) and callable(jg.mine) and callable(jg.compare)\n"
        "assert jg.journeymap.JourneyMap is jg.JourneyMap\n"
        "assert sorted(set(jg.__all__) - set(dir(jg))) == []"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=80, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), min_size=64, max_size=200),
    drop=st.lists(st.integers(0, 199), max_size=40),
)
def test_an_ordering_restricted_to_kept_rows_is_the_ordering_of_those_rows(
    events: list[tuple[int, int]], drop: list[int]
) -> None:
    # a few dropped rows (duplicates) take the fast path, many (filters) the general one
    frame = pl.DataFrame(events, schema=["customer", "timestamp"], orient="row").with_columns(
        pl.format("c{}", "customer").alias("customer"),
        pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
    )
    keep = np.ones(frame.height, dtype=np.bool_)
    keep[[d for d in drop if d < frame.height]] = False
    if not keep.any():
        return
    got = by_customer_and_time(frame).restricted(keep)
    expected = by_customer_and_time(frame.filter(pl.Series(keep)))
    for a, b in zip(got, expected, strict=True):
        assert a.tolist() == b.tolist()
    # rows taken out of the order only (duplicates) stay out, numbered as the kept rows
    ordering = by_customer_and_time(frame)
    out = np.unique([d for d in drop[::3] if d < frame.height]).astype(np.int64)
    places = np.flatnonzero(np.isin(ordering.rows, out))
    got = ordering.without(places).restricted(keep)
    numbered = np.cumsum(keep) - 1
    assert got.left_out.tolist() == numbered[out[keep[out]]].tolist()
    compact, _ = ordering.without(places).compact(frame)
    assert compact.equals(frame.filter(~pl.Series(np.isin(np.arange(frame.height), out))))
    kept = frame.filter(pl.Series(keep)).with_row_index("_at")
    expected = by_customer_and_time(kept.filter(~pl.col("_at").is_in(got.left_out.tolist())))
    assert got.time.tolist() == expected.time.tolist()
    assert got.new_customer.tolist() == expected.new_customer.tolist()
    kept_rows = kept.get_column("_at").gather(expected.rows).to_list()
    assert got.rows.tolist() == kept_rows
