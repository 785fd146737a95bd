"""The compiled kernels' own building blocks, against numpy as an oracle."""

from __future__ import annotations

import os

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import journeygraph as jg
from journeygraph import _kernels, datasets


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
