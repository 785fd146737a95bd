"""journeygraph: make customer journeys measurable.

Read raw events (`read_events`), mine one journey graph per customer
(`mine`), and work with the columnar results (`Journeys`).
"""

from ._errors import InvalidEventsError, JourneygraphError
from .ingest import EventLog, read_events
from .mine import Journeys, mine
from .schema import EventSchema, IngestReport, MineOptions

__all__ = [
    "EventLog",
    "EventSchema",
    "IngestReport",
    "InvalidEventsError",
    "JourneygraphError",
    "Journeys",
    "MineOptions",
    "mine",
    "read_events",
]
__version__ = "0.1.0"
