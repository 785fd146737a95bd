"""Exact optimal alignment of symbol sequences against a journey map's language.

The map is an automaton: a virtual initial state and one state per stage;
entering a stage emits its symbol (the stage index). Allowed moves are the
edges; the initial state connects to the start stages; a word of the language
is the symbols along a path from the initial state that ends in an end stage.

An alignment of a journey ``x`` (stage indices, ``-1`` for off-map symbols)
with a word ``w`` is a sequence of moves: *sync* (consume one symbol of each,
equal symbols, cost 0), *log* (a journey symbol only, cost 1) and *model* (a
map symbol only, cost 1). The optimal cost over all words of the language is
``min_w (len(x) + len(w) - 2 * LCS(x, w))``.

With ``hop[q, s]``, the fewest model moves needed to go from state ``q`` into
stage ``s`` (intermediate stages are model moves, entering ``s`` is the sync),
and ``tail[q]``, the fewest model moves from ``q`` to an end stage, the optimum
is a dynamic programme over the journey: ``D[i+1, q] = D[i, q] + 1`` (log) and
``D[i+1, x_i] = min_q D[i, q] + hop[q, x_i]`` (sync); the cost is
``min_q D[n, q] + tail[q]``. Model moves commute with log moves, so this covers
every alignment. It runs in O(len(x) * states) and is vectorised over many
sequences at once. Ties are broken deterministically: an earlier sync is kept
(so deviations are reported where the journey leaves the map), then the lowest
state index.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Automaton", "Move", "align", "distances"]

INF = np.iinfo(np.int32).max // 4
PAD = -2  # padding symbol: no move, no cost


@dataclass(frozen=True)
class Move:
    """One aligned move: ``kind`` is ``"sync"``, ``"log"`` or ``"model"``.

    ``position`` is the journey index consumed (``sync``/``log``) or the index
    of the next journey symbol (``model``); ``stage`` is the map stage entered
    (``sync``/``model``) or ``None`` (``log``); ``symbol`` is the journey's
    symbol consumed (``sync``/``log``; ``-1`` off the map) or ``None`` (``model``).
    """

    kind: Literal["sync", "log", "model"]
    position: int
    stage: int | None
    symbol: int | None = None


class Automaton:
    """The journey map as an automaton over stage indices ``0..n_stages-1``.

    State 0 is the virtual initial state; stage ``s`` is state ``s + 1``.
    """

    def __init__(
        self,
        n_stages: int,
        moves: Iterable[tuple[int, int]],
        starts: Iterable[int],
        ends: Iterable[int],
    ) -> None:
        self.n_stages = n_stages
        n = n_stages + 1
        succ: list[set[int]] = [set() for _ in range(n)]
        for a, b in moves:
            succ[a + 1].add(b + 1)
        for s in starts:
            succ[0].add(s + 1)
        self.successors = [sorted(x) for x in succ]
        self.ends = frozenset(e + 1 for e in ends)
        # BFS from every state: hop[q, s] = edges on a shortest path q -> s, minus 1
        self.hop = np.full((n, n_stages), INF, dtype=np.int32)
        self._parent: list[list[int]] = []
        for q in range(n):
            dist, parent = self._bfs(q)
            self._parent.append(parent)
            for s in range(n_stages):
                if dist[s + 1] < INF:
                    self.hop[q, s] = dist[s + 1] - 1
        # tail[q]: model moves from q to an end stage (0 if q is an end stage)
        self.tail = np.full(n, INF, dtype=np.int32)
        for q in range(n):
            if q in self.ends:
                self.tail[q] = 0
                continue
            best = min((int(self.hop[q, e - 1]) + 1 for e in self.ends), default=INF)
            self.tail[q] = min(best, INF)

    def _bfs(self, source: int) -> tuple[list[int], list[int]]:
        """Shortest paths of at least one edge from ``source`` (so a state can reach itself)."""
        n = self.n_stages + 1
        dist, parent = [INF] * n, [-1] * n
        queue: deque[int] = deque()
        for nxt in self.successors[source]:
            if dist[nxt] == INF:
                dist[nxt], parent[nxt] = 1, source
                queue.append(nxt)
        while queue:
            q = queue.popleft()
            for nxt in self.successors[q]:
                if dist[nxt] == INF:
                    dist[nxt], parent[nxt] = dist[q] + 1, q
                    queue.append(nxt)
        return dist, parent

    def path(self, source: int, target: int) -> list[int]:
        """States strictly between ``source`` and ``target`` on the chosen shortest path."""
        parent = self._parent[source]
        out = []
        q = parent[target]
        while q != source:
            out.append(q)
            q = parent[q]
            if len(out) > self.n_stages + 1:  # pragma: no cover - guards a broken parent table
                msg = "inconsistent shortest-path table"
                raise RuntimeError(msg)
        return out[::-1]

    @property
    def shortest_word(self) -> int:
        """Length of the shortest word of the language (model moves for an empty journey)."""
        return int(self.tail[0])

    def _end_path(self, q: int) -> list[int]:
        """States visited from ``q`` to the nearest end stage (model moves)."""
        if q in self.ends:
            return []
        target = min(self.ends, key=lambda e: (int(self.hop[q, e - 1]), e))
        return [*self.path(q, target), target]


def align(
    automaton: Automaton, sequences: Sequence[Sequence[int]]
) -> tuple[npt.NDArray[np.int64], list[list[Move]]]:
    """Optimal alignment cost and moves of every sequence against the automaton.

    Symbols are stage indices, or ``-1`` for a symbol off the map. Returns the
    costs and the aligned moves of each sequence.

    Examples
    --------
    >>> a = Automaton(3, moves=[(0, 1), (1, 2)], starts=[0], ends=[2])
    >>> costs, aligned = align(a, [[0, 1, 2], [0, 2], [0, -1, 1, 2], []])
    >>> costs.tolist()
    [0, 1, 1, 3]
    >>> [(m.kind, m.position, m.stage) for m in aligned[1]]
    [('sync', 0, 0), ('model', 1, 1), ('sync', 1, 2)]
    """
    n_seq = len(sequences)
    n_states = automaton.n_stages + 1
    length = max((len(s) for s in sequences), default=0)
    x = np.full((n_seq, length), PAD, dtype=np.int64)
    for row, seq in enumerate(sequences):
        x[row, : len(seq)] = seq
    if n_seq and (x.max(initial=-1) >= automaton.n_stages or x.min(initial=0) < PAD):
        msg = "symbols must be stage indices or -1"
        raise ValueError(msg)

    d = np.full((n_seq, n_states), INF, dtype=np.int64)
    d[:, 0] = 0
    rows = np.arange(n_seq)
    # choice[i, b]: for the state entered by sync at step i, the predecessor state;
    # synced[i, b]: whether sync won into that state (else the state came by log)
    pred = np.zeros((length, n_seq), dtype=np.int16)
    synced = np.zeros((length, n_seq), dtype=bool)
    hop = automaton.hop.astype(np.int64)
    for i in range(length):
        sym = x[:, i]
        on_map = sym >= 0
        live = sym != PAD
        new = d.copy()
        new[live] += 1  # log move: stay in the state, pay 1
        if on_map.any():
            b = rows[on_map]
            s = sym[on_map]
            via = d[b] + hop[:, s].T  # (k, states): cost of syncing into s from each state
            best_q = via.argmin(axis=1)
            best = via[np.arange(b.size), best_q]
            target = s + 1
            wins = best < new[b, target]  # on ties keep the earlier sync (log this one)
            new[b[wins], target[wins]] = best[wins]
            pred[i, b] = best_q
            synced[i, b[wins]] = True
        d = np.minimum(new, INF)
    final = d + automaton.tail.astype(np.int64)[None, :]
    end_state = final.argmin(axis=1)
    costs = final[rows, end_state]
    return costs, [
        _backtrack(automaton, x[b], int(end_state[b]), pred[:, b], synced[:, b])
        for b in range(n_seq)
    ]


def _backtrack(
    automaton: Automaton,
    x: npt.NDArray[np.int64],
    end_state: int,
    pred: npt.NDArray[np.int16],
    synced: npt.NDArray[np.bool_],
) -> list[Move]:
    n = int((x != PAD).sum())
    out: list[Move] = [Move("model", n, q - 1) for q in automaton._end_path(end_state)][::-1]
    q = end_state
    for i in range(n - 1, -1, -1):
        sym = int(x[i])
        if sym >= 0 and q == sym + 1 and synced[i]:
            out.append(Move("sync", i, sym, sym))
            before = int(pred[i])
            out.extend(Move("model", i, p - 1) for p in reversed(automaton.path(before, q)))
            q = before
        else:
            out.append(Move("log", i, None, sym))
    return out[::-1]


def distances(neighbours: Sequence[Sequence[int]], sources: Iterable[int]) -> dict[int, int]:
    """Breadth-first distances from the sources (unreached nodes are left out)."""
    dist = dict.fromkeys(sources, 0)
    queue = deque(dist)
    while queue:
        q = queue.popleft()
        for b in neighbours[q]:
            if b not in dist:
                dist[b] = dist[q] + 1
                queue.append(b)
    return dist
