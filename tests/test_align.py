"""The alignment engine against brute force over the map's language."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from journeygraph._align import Automaton, Move, align


def lcs(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    @cache
    def go(i: int, j: int) -> int:
        if i == len(a) or j == len(b):
            return 0
        if a[i] == b[j] and a[i] >= 0:
            return 1 + go(i + 1, j + 1)
        return max(go(i + 1, j), go(i, j + 1))

    return go(0, 0)


def words(moves: set[tuple[int, int]], starts: set[int], ends: set[int], max_len: int):
    """Every word of the language with at most max_len symbols."""
    frontier = [(s,) for s in sorted(starts)]
    while frontier:
        nxt = []
        for w in frontier:
            if w[-1] in ends:
                yield w
            if len(w) < max_len:
                nxt += [(*w, b) for a, b in sorted(moves) if a == w[-1]]
        frontier = nxt


def brute_cost(x: tuple[int, ...], moves, starts, ends, shortest: int) -> int:
    # cost(x, w) = |x| + |w| - 2 LCS >= |w| - |x|, and the optimum is <= |x| + shortest,
    # so words longer than 2|x| + shortest can never win
    bound = 2 * len(x) + shortest
    return min(len(x) + len(w) - 2 * lcs(x, w) for w in words(moves, starts, ends, bound))


@st.composite
def maps(draw: st.DrawFn) -> tuple[int, set[tuple[int, int]], set[int], set[int]]:
    n = draw(st.integers(1, 4))
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    moves = {(i, i + 1) for i in range(n - 1)} | draw(st.sets(pairs, max_size=3))
    starts = {0} | draw(st.sets(st.integers(0, n - 1), max_size=1))
    ends = {n - 1} | draw(st.sets(st.integers(0, n - 1), max_size=1))
    return n, moves, starts, ends


def replay(moves: list[Move], x: list[int], a: Automaton, ends: set[int]) -> int:
    """Check the moves form a valid alignment of x with a word of the language; return cost."""
    assert [m.position for m in moves if m.kind != "model"] == list(range(len(x)))
    word = [m.stage for m in moves if m.kind != "log"]
    state = 0
    for stage in word:
        assert stage is not None
        assert stage + 1 in a.successors[state], (state, stage)
        state = stage + 1
    assert word, "every word of the language has at least one stage"
    assert state - 1 in ends
    for m in moves:
        if m.kind == "sync":
            assert x[m.position] == m.stage
    return sum(m.kind != "sync" for m in moves)


@settings(max_examples=150, deadline=None)
@given(spec=maps(), data=st.data())
def test_cost_equals_brute_force_and_moves_are_a_valid_alignment(spec, data) -> None:
    n, moves, starts, ends = spec
    a = Automaton(n, moves, starts, ends)
    seqs = data.draw(st.lists(st.lists(st.integers(-1, n - 1), max_size=5), min_size=1, max_size=4))
    costs, aligned = align(a, seqs)
    assert aligned is not None
    for x, cost, mv in zip(seqs, costs.tolist(), aligned, strict=True):
        assert cost == brute_cost(tuple(x), moves, starts, ends, a.shortest_word)
        assert replay(mv, x, a, ends) == cost
        assert 0 <= cost <= len(x) + a.shortest_word


def test_hand_computed_cases() -> None:
    # Discover(0) -> Explore(1) -> Buy(2) -> Use(3); Explore may loop back to Discover
    a = Automaton(4, [(0, 1), (1, 2), (2, 3), (1, 0)], starts=[0], ends=[3])
    cases = {
        (0, 1, 2, 3): 0,  # the ideal path
        (0, 1, 0, 1, 2, 3): 0,  # allowed loop
        (0, 2, 3): 1,  # skipped Explore
        (1, 2, 3): 1,  # wrong entry: Discover is missing
        (0, 1, 2): 1,  # early exit: Use is missing
        (0, 1, -1, 2, 3): 1,  # one off-map touchpoint
        (0, 2, 1, 3): 2,  # out of order
        (): 4,  # nothing: the whole shortest path is missing
    }
    costs, _ = align(a, [list(k) for k in cases])
    assert dict(zip(cases, costs.tolist(), strict=True)) == cases
    assert a.shortest_word == 4


def test_unreachable_symbols_and_empty_batch() -> None:
    a = Automaton(2, [(0, 1)], starts=[0], ends=[1])
    costs, aligned = align(a, [])
    assert costs.tolist() == []
    assert aligned == []
    costs, _ = align(a, [[1, 0]])  # 0 after 1 is impossible: one log move and one model move
    assert costs.tolist() == [2]
