"""The compiled kernels' own building blocks, against numpy as an oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from journeygraph import _kernels


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
