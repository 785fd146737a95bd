"""The deviation kinds: one registry of what each kind is, says and needs (internal).

Every kind `compare` reports is one `Kind` here, in report order. Each says

* ``name``: the label in ``Divergence.deviations["kind"]`` and the count
  column of ``Divergence.customers``;
* ``sentence`` and ``at_stage``: how the report reads it, on its own
  ("skipped a stage") and at a stage ("skipped {stage}");
* ``detector``: ``"alignment"`` (labelled from the optimal alignment of the
  stage visits, in ``compare._label``) or ``"time"`` (measured on the visits'
  timestamps against the stages' ``max_time``, in ``Divergence._late``);
* ``plantable``: whether ``strategies.journeys_with_deviations`` can plant it
  (its planting rule is ``strategies._PLANTERS[name]``), or explicitly not.

Adding a kind: one entry here, its detection (``compare._label`` for an
alignment kind, a frame like ``Divergence._late`` for a time kind), and a
planting rule in ``strategies`` unless it says ``plantable=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ALIGNMENT_KINDS", "KINDS", "NAMES", "PLANTABLE", "Kind", "kind"]


@dataclass(frozen=True)
class Kind:
    """One deviation kind (see the module docs)."""

    name: str
    meaning: str
    sentence: str
    at_stage: str
    detector: Literal["alignment", "time"]
    plantable: bool

    def text(self, stage: str | None = None) -> str:
        """The report's words for it: ``"skipped a stage"``, or at a stage ``"skipped Buy"``."""
        return self.at_stage.format(stage) if stage else self.sentence


KINDS: tuple[Kind, ...] = (
    Kind(
        "skipped_stage",
        "the map needs a stage here that the journey never did",
        "skipped a stage",
        "skipped {}",
        "alignment",
        plantable=True,
    ),
    Kind(
        "off_map",
        "a touchpoint that belongs to no stage",
        "went off the map",
        "went off the map at {}",
        "alignment",
        plantable=True,
    ),
    Kind(
        "out_of_order",
        "a stage visit the map does not allow here, ahead of any stage reached so far",
        "jumped ahead",
        "jumped ahead to {}",
        "alignment",
        plantable=True,
    ),
    Kind(
        "loop",
        "a stage visit the map does not allow here, back to a stage already reached",
        "looped back",
        "looped back to {}",
        "alignment",
        plantable=True,
    ),
    Kind(
        "wrong_entry",
        "the first stage visited is not a start stage of the map",
        "started mid-map",
        "started at {}",
        "alignment",
        plantable=True,
    ),
    Kind(
        "early_exit",
        "the journey ends before an end stage",
        "left before the end",
        "left after {}",
        "alignment",
        plantable=True,
    ),
    Kind(
        "late",
        "the time from entering a stage to the next stage visit is over its max_time",
        "took too long",
        "took too long in {}",
        "time",
        plantable=True,
    ),
)

NAMES: tuple[str, ...] = tuple(k.name for k in KINDS)
ALIGNMENT_KINDS: tuple[str, ...] = tuple(k.name for k in KINDS if k.detector == "alignment")
PLANTABLE: tuple[str, ...] = tuple(k.name for k in KINDS if k.plantable)
_BY_NAME = {k.name: k for k in KINDS}


def kind(name: str) -> Kind:
    """The kind called ``name``; a KeyError naming the known kinds otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        msg = f"no deviation kind {name!r}; the kinds are {', '.join(NAMES)}"
        raise KeyError(msg) from None
