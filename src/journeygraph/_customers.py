"""The customer table: one row per customer, outcomes and scores (internal).

`compare`, `cluster` and `report` take a customer table (or the event log,
whose attributes make one) and check it here, with the same rules and the same
messages:

* the id column is ``customer``, or the one named with ``customer=`` (the
  report also takes the events' own customer column name);
* ids are cast to the events' id type when that loses nothing (``1`` and
  ``"1"``), otherwise an error names both types and the fix;
* every row has an id, and no id is on two rows (an error names a few);
* an outcome is a boolean or numeric column, a survey score a numeric one.
"""

from __future__ import annotations

import re
from typing import Literal

import polars as pl

from ._errors import JourneygraphError
from ._frames import ROW
from .ingest import EventLog

__all__ = [
    "customer_table",
    "from_attributes",
    "is_outcome_type",
    "outcome_kind",
    "score_column",
]

_SCORE_NAMES = re.compile(r"score|nps|csat|rating|satisfaction", re.IGNORECASE)


def customer_table(
    customers: object,
    *,
    ids: pl.DataType,
    customer: str | None = None,
    also: str | None = None,
) -> pl.DataFrame | None:
    """``customers`` checked, with a ``customer`` column of the events' id type ``ids``.

    ``customers`` is a polars DataFrame, an `EventLog` (its attributes'
    last values) or None. ``customer`` names the id column when it is not
    ``customer``; ``also`` is another name taken when neither is there (the
    report passes the events' own customer column).
    """
    if customers is None:
        return None
    if isinstance(customers, EventLog):
        return from_attributes(customers)
    if not isinstance(customers, pl.DataFrame):
        msg = f"customers must be a polars DataFrame, not {type(customers).__name__}"
        raise JourneygraphError(msg)
    if customer is not None and not isinstance(customer, str):
        msg = f"customer= must be the name of the id column, not {customer!r}"  # type: ignore[unreachable]
        raise JourneygraphError(msg)
    name = _id_column(customers, customer, also)
    if name != "customer":
        customers = customers.rename({name: "customer"})
    customers = _aligned(customers, ids)
    ids_column = customers.get_column("customer")
    missing = ids_column.null_count()
    if missing:
        msg = (
            f"{missing:,} rows of the customer table have no customer id; drop them or fill them in"
        )
        raise JourneygraphError(msg)
    repeated = ids_column.filter(ids_column.is_duplicated()).unique().sort()
    if repeated.len():
        msg = (
            f"the customer table has {repeated.len():,} customer ids on more than one row "
            f"(e.g. {repeated.head(3).to_list()}); give one row per customer"
        )
        raise JourneygraphError(msg)
    return customers


def _id_column(customers: pl.DataFrame, customer: str | None, also: str | None) -> str:
    columns = customers.columns
    if customer is not None:
        if customer not in columns:
            msg = f"customer={customer!r}: the customer table has no such column; it has {columns}"
            raise JourneygraphError(msg)
        if customer != "customer" and "customer" in columns:
            msg = (
                f"the customer table has both 'customer' and customer={customer!r}; "
                "rename or drop one of them"
            )
            raise JourneygraphError(msg)
        return customer
    if "customer" in columns:
        return "customer"
    if also is not None and also in columns:
        return also
    named = "" if also is None else f" (or {also!r})"
    msg = (
        f"the customer table needs a 'customer'{named} column with the customer ids, "
        f"or name yours with customer='...'; it has {columns}"
    )
    raise JourneygraphError(msg)


def _aligned(customers: pl.DataFrame, wanted: pl.DataType) -> pl.DataFrame:
    """The ``customer`` column cast to ``wanted`` when the cast loses nothing: it reads
    back as the same ids, and text ids are made only of integers or categories."""
    have = customers.schema["customer"]
    if have == wanted:
        return customers
    ids = customers.get_column("customer")
    cast = ids
    try:
        cast = ids.cast(wanted, strict=True)
        lossless = cast.cast(have, strict=True).equals(ids)
    except pl.exceptions.PolarsError:
        lossless = False
    if wanted == pl.String and not (
        have.is_integer() or isinstance(have, pl.Categorical | pl.Enum)
    ):
        lossless = False  # 17.0 written as "17.0" is no text id "17"
    if not lossless:
        msg = (
            f"customer ids in the customer table are {have} and cannot be read as the events' "
            f"{wanted} ids without changing them; give both the same type, e.g. "
            f"customers.with_columns(pl.col('customer').cast(pl.{wanted})) or read the "
            "events' ids as that type"
        )
        raise JourneygraphError(msg)
    return customers.with_columns(cast)


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


def outcome_kind(
    table: pl.DataFrame | None, outcome: str, *, fix: str, found: list[str] | None = None
) -> Literal["rate", "mean"]:
    """``"rate"`` for a boolean outcome column, ``"mean"`` for a numeric one.

    ``fix`` says how to give the column when it is missing; ``found`` the
    columns to list then (by default the table's, but ``customer``).
    """
    if table is None or outcome not in table.columns:
        have = found if found is not None else _columns(table)
        msg = f"no outcome column {outcome!r}{fix}; outcome columns found: {have}"
        raise JourneygraphError(msg)
    dtype = table.schema[outcome]
    if not is_outcome_type(dtype):
        msg = f"outcome {outcome!r} must be boolean or numeric, not {dtype}"
        raise JourneygraphError(msg)
    return "rate" if dtype == pl.Boolean else "mean"


def score_column(
    table: pl.DataFrame | None, score: str | None, *, outcome: str | None = None
) -> str | None:
    """The survey score column: ``score`` checked, or the first numeric column named
    like a score (``score``, ``nps``, ``csat``, ``rating``, ``satisfaction``), if any."""
    if score is not None:
        if table is None or score not in table.columns:
            msg = f"no survey score column {score!r}; columns found: {_columns(table)}"
            raise JourneygraphError(msg)
        dtype = table.schema[score]
        if dtype == pl.Boolean or not dtype.is_numeric():
            msg = f"score {score!r} must be numeric, not {dtype}"
            raise JourneygraphError(msg)
        return score
    if table is None:
        return None
    return next(
        (
            c
            for c, dtype in table.schema.items()
            if c not in ("customer", outcome)
            and dtype.is_numeric()
            and _SCORE_NAMES.search(c) is not None
        ),
        None,
    )


def _columns(table: pl.DataFrame | None) -> list[str]:
    return [] if table is None else [c for c in table.columns if c != "customer"]
