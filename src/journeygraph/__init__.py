"""journeygraph: make customer journeys measurable.

Read raw events (`read_events`), mine one journey graph per customer
(`mine`), work with the columnar results (`Journeys`), and hold every journey
against the company's journey map (`JourneyMap`, `compare` → `Divergence`),
group them into archetypes (`cluster` → `Archetypes`, `ArchetypeModel`);
draw any of their graphs as self-contained HTML (`to_html`), or write the whole
analysis as one report (`report`).
"""

from . import journeymap
from ._errors import InvalidEventsError, JourneygraphError
from ._version import __version__ as __version__
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
