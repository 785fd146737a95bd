"""Exceptions raised by journeygraph.

Every error a user can cause by passing bad data is a `JourneygraphError`,
which subclasses `ValueError`, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "FilteredOutError",
    "InvalidEventsError",
    "JourneygraphError",
    "LocalOnlyError",
    "MapWarning",
]


class JourneygraphError(ValueError):
    """Base class of the errors journeygraph raises for bad input."""


class LocalOnlyError(JourneygraphError, AttributeError):
    """Raised when a result of Spark journeys is asked for what only local results have.

    The message names the method or property and the call that gives it on this
    machine (``journeys.to_local(...)``). It is an `AttributeError` too, so
    ``getattr(result, name, default)`` and ``hasattr`` treat the name as absent.

    >>> err = LocalOnlyError("SparkJourneys.core is local only: journeys.to_local().core")
    >>> isinstance(err, JourneygraphError), isinstance(err, AttributeError)
    (True, True)
    """


class MapWarning(UserWarning):
    """Warned by `compare` when the journey map names touchpoints the journeys never visit.

    The message names each one with the likely name meant (``'Home' never
    occurs; did you mean 'home'?``). Silence it where that is expected, e.g.
    in property tests over small random journeys:

    >>> import warnings
    >>> import journeygraph as jg
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", jg.MapWarning)
    """


class InvalidEventsError(JourneygraphError):
    """Raised when an event source cannot be read as a valid event log.

    The message names the column, how many rows are affected, shows a few
    examples and says how to fix it. The same facts are kept as attributes.

    Attributes
    ----------
    column : str | None
        The offending column in the caller's data (``None`` for table-wide problems).
    n_rows : int
        How many rows have the problem (0 for schema problems).
    examples : list[dict]
        A few offending rows, with their 0-based input row number.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        n_rows: int = 0,
        examples: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.column = column
        self.n_rows = n_rows
        self.examples = list(examples)


class FilteredOutError(JourneygraphError):
    """Raised by `mine` when its filters leave no event.

    Attributes
    ----------
    dropped : dict[str, int]
        Rows dropped, by reason (ingestion and the filters), as in an `IngestReport`.
    """

    def __init__(self, message: str, *, dropped: Mapping[str, int]) -> None:
        super().__init__(message)
        self.dropped = dict(dropped)
