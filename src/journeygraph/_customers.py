"""The customer table: one row per customer, outcomes and scores (internal).

`compare`, `cluster` and `report` take a customer table (or the event log,
whose attributes make one); this module is where such a table is built.
"""

from __future__ import annotations

import polars as pl

from ._errors import JourneygraphError
from .ingest import ROW, EventLog

__all__ = ["from_attributes", "is_outcome_type"]


def from_attributes(log: EventLog, columns: list[str] | None = None) -> pl.DataFrame:
    """One row per customer: each event attribute's (or each of ``columns``) last
    non-null value in time order."""
    attributes = log.attributes if columns is None else columns
    if not attributes:
        msg = "customers=log needs attribute columns on the events (outcomes, scores)"
        raise JourneygraphError(msg)
    last = [pl.col(a).sort_by("timestamp", ROW).drop_nulls().last() for a in attributes]
    return log.lazy().group_by("customer").agg(last).collect().sort("customer")


def is_outcome_type(dtype: pl.DataType) -> bool:
    """Whether a column of this type can be an outcome (boolean or numeric)."""
    return dtype == pl.Boolean or dtype.is_numeric()
