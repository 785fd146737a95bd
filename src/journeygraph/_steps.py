"""Ordered events of mined journeys, and compiled kernels that walk them step by step.

Funnels (`funnel`) and step flows (`Journeys.flows`) both look at each
journey's events in order. `ordered` is the one place they get them from;
the kernels below run on those arrays, one journey block at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._kernels import compiled

if TYPE_CHECKING:
    from ._core import Core

NO_LIMIT = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Ordered:
    """The journeys' events in order; journey ``j`` is ``starts[j]:starts[j + 1]``.

    ``touchpoint`` codes index ``Journeys.touchpoints``; ``time`` is in
    microseconds since the epoch; ``channel`` codes index ``channels`` (-1 for
    none; empty when the log has no channel).
    """

    starts: npt.NDArray[np.int64]
    touchpoint: npt.NDArray[np.int32]
    time: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int32]
    channels: list[str]


def ordered(core: Core) -> Ordered:
    """The ordered event arrays of mined journeys (``Journeys.core``'s journey blocks)."""
    blocks = core.blocks
    return Ordered(blocks.starts, blocks.touchpoint, blocks.time, blocks.channel, core.channels)


def funnel_match(
    starts: Any, touchpoint: Any, time: Any, member: Any, within: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Each journey's deepest funnel match; see `_funnel_match`."""
    depth, when, after = _funnel_match(starts, touchpoint, time, member, np.int64(within))
    return depth, when, after


@compiled
def _funnel_match(starts: Any, touchpoint: Any, time: Any, member: Any, within: Any) -> Any:
    """Deepest ordered match of the steps in every journey.

    ``member[s, t]`` says touchpoint ``t`` counts as step ``s``. A match takes
    a step-1 event (the anchor), then for each next step the earliest later
    event of it, all no later than ``anchor time + within``. For a fixed anchor
    taking the earliest event is optimal, so the deepest match is found by
    trying anchors in order; without a window the first anchor is already
    deepest. Among equally deep matches the one with the earliest anchor wins
    (and it is the lexicographically smallest tuple of positions).

    Returns per journey the depth reached, the time of each matched step
    (-1 past the depth) and the touchpoint after the last matched event
    (-1 at the journey's end, -2 when not even step 1 was reached).
    """
    n = len(starts) - 1
    k = member.shape[0]
    depth = np.zeros(n, dtype=np.int32)
    when = np.full((n, k), -1, dtype=np.int64)
    after = np.full(n, -2, dtype=np.int32)
    pos = np.empty(k, dtype=np.int64)
    best = np.empty(k, dtype=np.int64)
    for j in range(n):
        lo = starts[j]
        hi = starts[j + 1]
        deepest = 0
        for a in range(lo, hi):
            if not member[0, touchpoint[a]]:
                continue
            limit = time[a] + within if within >= 0 else NO_LIMIT
            d = 1
            pos[0] = a
            p = a + 1
            while d < k and p < hi and time[p] <= limit:
                if member[d, touchpoint[p]]:
                    pos[d] = p
                    d += 1
                p += 1
            if d > deepest:
                deepest = d
                best[:d] = pos[:d]
            if deepest == k or within < 0:
                break
        depth[j] = deepest
        for s in range(deepest):
            when[j, s] = time[best[s]]
        if deepest > 0:
            last = best[deepest - 1]
            after[j] = touchpoint[last + 1] if last + 1 < hi else -1
    return depth, when, after


def journey_features(
    starts: Any, touchpoint: Any, group: Any, n_groups: int, stage_of: Any, n_stages: int
) -> tuple[Any, Any, Any, Any, Any]:
    """Per group of journeys: journeys in it, visiting each touchpoint, leaving each
    touchpoint, making each transition and reaching each stage (at least once);
    see `_journey_features`."""
    size, touch, out, pair, stage = _journey_features(
        starts, touchpoint, group, np.int64(n_groups), stage_of, np.int64(n_stages)
    )
    return size, touch, out, pair, stage


@compiled
def _journey_features(
    starts: Any, touchpoint: Any, group: Any, n_groups: Any, stage_of: Any, n_stages: Any
) -> Any:
    """Count journeys per group (``group[j]``, -1 to skip) that have each feature.

    ``size[g]``: journeys; ``touch[g, t]``: visiting ``t``; ``out[g, t]``:
    with a transition out of ``t``; ``pair[g, a, b]``: with a transition
    ``a → b``; ``stage[g, s]``: visiting a touchpoint ``t`` with
    ``stage_of[t] == s``. Each journey counts once per feature, however often
    it has it.
    """
    t = len(stage_of)
    size = np.zeros(n_groups, dtype=np.int64)
    touch = np.zeros((n_groups, t), dtype=np.int64)
    out = np.zeros((n_groups, t), dtype=np.int64)
    pair = np.zeros((n_groups, t, t), dtype=np.int64)
    seen = np.full(t, -1, dtype=np.int64)
    left = np.full(t, -1, dtype=np.int64)
    made = np.full((t, t), -1, dtype=np.int64)
    stage = np.zeros((n_groups, max(n_stages, 1)), dtype=np.int64)
    reached = np.full(max(n_stages, 1), -1, dtype=np.int64)
    for j in range(len(starts) - 1):
        g = group[j]
        if g < 0:
            continue
        size[g] += 1
        lo = starts[j]
        hi = starts[j + 1]
        for p in range(lo, hi):
            a = touchpoint[p]
            if seen[a] != j:
                seen[a] = j
                touch[g, a] += 1
                s = stage_of[a]
                if s >= 0 and reached[s] != j:
                    reached[s] = j
                    stage[g, s] += 1
            if p + 1 < hi:
                b = touchpoint[p + 1]
                if left[a] != j:
                    left[a] = j
                    out[g, a] += 1
                if made[a, b] != j:
                    made[a, b] = j
                    pair[g, a, b] += 1
    return size, touch, out, pair, stage
