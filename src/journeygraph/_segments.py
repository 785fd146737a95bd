"""Segments of journeys: what ``by=`` means in `funnel`, `contrast` and `changes`.

``by`` is one of

* a column of the customer table (``customers=``), each journey taking its
  customer's value;
* ``"channel"``: the last channel of the journey (needs ``channel=`` when reading);
* a mapping of group name to journey ids.

Every journey gets a segment; journeys whose value is missing form the
segment ``"(missing)"`` rather than being dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ._errors import JourneygraphError
from ._steps import ordered

if TYPE_CHECKING:
    from .mine import Journeys

MISSING = "(missing)"
By = str | Mapping[str, Iterable[Any]]


@dataclass(frozen=True)
class Segments:
    """Segment code of every journey (in journey order) and the segment names."""

    code: npt.NDArray[np.int32]
    names: list[str]
    by: str

    def sizes(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.code, minlength=len(self.names)).astype(np.int64)


def whole(journeys: Journeys) -> Segments:
    """Every journey in one segment, ``"all"``."""
    return Segments(np.zeros(journeys.n_journeys, dtype=np.int32), ["all"], "")


def segments(journeys: Journeys, by: By | None, customers: pl.DataFrame | None) -> Segments:
    """Resolve ``by`` (see the module docs) to a segment per journey."""
    if by is None:
        return whole(journeys)
    if isinstance(by, Mapping):
        return _from_mapping(journeys, by)
    if not isinstance(by, str):
        kind = type(by).__name__  # type: ignore[unreachable]
        msg = f"by must be a column name or a mapping of group → journey ids, not {kind}"
        raise JourneygraphError(msg)
    if customers is not None and by in customers.columns:
        return _from_customers(journeys, by, customers)
    if by == "channel":
        return _last_channel(journeys)
    known = [] if customers is None else [c for c in customers.columns if c != "customer"]
    msg = (
        f"cannot split by {by!r}: it is not a column of the customer table "
        f"(columns: {known or 'no customers= given'}) nor 'channel'; pass customers= with "
        f"a {by!r} column, or a mapping of group name to journey ids"
    )
    raise JourneygraphError(msg)


def _coded(values: pl.Series, by: str) -> Segments:
    text = values.cast(pl.String).fill_null(MISSING)
    names = sorted(text.unique().to_list())
    lookup = pl.Series(names, dtype=pl.Enum(names))
    code = text.cast(pl.Enum(lookup.to_list())).to_physical().cast(pl.Int32).to_numpy()
    return Segments(np.ascontiguousarray(code), names, by)


def _from_customers(journeys: Journeys, by: str, customers: pl.DataFrame) -> Segments:
    if "customer" not in customers.columns:
        msg = f"the customer table needs a 'customer' column; it has {customers.columns}"
        raise JourneygraphError(msg)
    ids = journeys.stats.select("customer")
    table = customers.select("customer", by)
    if table.get_column("customer").is_duplicated().any():
        n = int(table.get_column("customer").is_duplicated().sum())
        msg = f"{n} rows of the customer table repeat a customer id; keep one row per customer"
        raise JourneygraphError(msg)
    if table.schema["customer"] != ids.schema["customer"]:
        try:
            table = table.with_columns(pl.col("customer").cast(ids.schema["customer"], strict=True))
        except pl.exceptions.PolarsError:
            msg = (
                f"customer ids in the customer table are {table.schema['customer']} and cannot "
                f"be read as the events' {ids.schema['customer']} ids; give both the same type"
            )
            raise JourneygraphError(msg) from None
    joined = ids.join(table, on="customer", how="left", maintain_order="left")
    return _coded(joined.get_column(by), by)


def _last_channel(journeys: Journeys) -> Segments:
    events = ordered(journeys.core)
    if not events.channels:
        msg = "by='channel' needs a channel column: read_events(..., channel='your_column')"
        raise JourneygraphError(msg)
    last = events.channel[events.starts[1:] - 1]
    names = pl.Series(events.channels, dtype=pl.String)
    values = pl.Series(last).to_frame("c").select(pl.when(pl.col("c") >= 0).then("c"))
    return _coded(names.gather(values.to_series()), "channel")


def _from_mapping(journeys: Journeys, by: Mapping[str, Iterable[Any]]) -> Segments:
    ids = journeys.stats.get_column("journey")
    rows = [(str(name), j) for name, members in by.items() for j in members]
    if not rows:
        msg = "by= is an empty mapping; give at least one group of journey ids"
        raise JourneygraphError(msg)
    groups = pl.DataFrame(
        {"segment": [r[0] for r in rows], "journey": [r[1] for r in rows]},
        schema={"segment": pl.String, "journey": ids.dtype},
        strict=False,
    )
    twice = groups.filter(pl.col("journey").is_duplicated())
    if twice.height:
        msg = (
            f"{twice.get_column('journey').n_unique()} journey ids are in more than one group "
            f"of by= (e.g. {twice.get_column('journey').head(3).to_list()}); "
            "put each journey in one group"
        )
        raise JourneygraphError(msg)
    unknown = groups.join(ids.to_frame(), on="journey", how="anti")
    if unknown.height:
        msg = (
            f"{unknown.height} journey ids of by= are not journeys "
            f"(e.g. {unknown.get_column('journey').head(3).to_list()}); "
            f"journey ids look like {ids.head(3).to_list()}"
        )
        raise JourneygraphError(msg)
    joined = ids.to_frame().join(groups, on="journey", how="left", maintain_order="left")
    return _coded(joined.get_column("segment").fill_null("(other)"), "group")
