"""journeygraph: make customer journeys measurable.

Read raw events (`read_events`), mine one journey graph per customer
(`mine`), work with the columnar results (`Journeys`), and hold every journey
against the company's journey map (`JourneyMap`, `compare` → `Divergence`),
group them into archetypes (`cluster` → `Archetypes`, `ArchetypeModel`);
draw any of their graphs as self-contained HTML (`to_html`), or write the whole
analysis as one report (`report`).

Every name is imported when first used (``import journeygraph`` stays fast:
polars, scipy, networkx and numba load with the first function that needs them).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from ._errors import InvalidEventsError, JourneygraphError, MapWarning
from ._version import __version__ as __version__

if TYPE_CHECKING:
    from . import journeymap
    from .changes import Changes, changes
    from .cluster import ArchetypeModel, Archetypes, cluster
    from .compare import Divergence, Moments, compare
    from .contrast import Contrast, contrast
    from .funnel import Funnel, funnel
    from .ingest import EventLog, read_events
    from .journeymap import JourneyMap, Stage
    from .mine import Journeys, mine
    from .render import show, to_html
    from .report import report
    from .schema import EventSchema, IngestReport, MineOptions

__all__ = [
    "ArchetypeModel",
    "Archetypes",
    "Changes",
    "Contrast",
    "Divergence",
    "EventLog",
    "EventSchema",
    "Funnel",
    "IngestReport",
    "InvalidEventsError",
    "JourneyMap",
    "JourneygraphError",
    "Journeys",
    "MapWarning",
    "MineOptions",
    "Moments",
    "Stage",
    "changes",
    "cluster",
    "compare",
    "contrast",
    "funnel",
    "journeymap",
    "mine",
    "read_events",
    "report",
    "show",
    "to_html",
]

# public name -> the submodule that defines it
_HOME = {
    "ArchetypeModel": "cluster",
    "Archetypes": "cluster",
    "Changes": "changes",
    "Contrast": "contrast",
    "Divergence": "compare",
    "EventLog": "ingest",
    "EventSchema": "schema",
    "Funnel": "funnel",
    "IngestReport": "schema",
    "JourneyMap": "journeymap",
    "Journeys": "mine",
    "MineOptions": "schema",
    "Moments": "compare",
    "Stage": "journeymap",
    "changes": "changes",
    "cluster": "cluster",
    "compare": "compare",
    "contrast": "contrast",
    "funnel": "funnel",
    "mine": "mine",
    "read_events": "ingest",
    "report": "report",
    "show": "render",
    "to_html": "render",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name == "journeymap":
        return importlib.import_module(".journeymap", __name__)
    home = _HOME.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package module: importing submodule ``mine`` must not hide function ``mine``.

    Python binds a submodule to its package's attribute of the same name when
    it is first imported; six functions share a name with their module, so
    that binding is skipped for them (``journeygraph.mine`` stays the function,
    as with eager imports; the module is ``sys.modules["journeygraph.mine"]``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOME.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
