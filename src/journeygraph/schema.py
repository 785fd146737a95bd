"""Validated option models: how to read events (`EventSchema`) and mine them.

These are frozen pydantic models with ``extra="forbid"``: a misspelled option is
an error, never a silent default. Users rarely build them by hand; the keyword
arguments of `read_events` and `mine` are
validated through them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ._errors import JourneygraphError

__all__ = ["EventSchema", "IngestReport", "MineOptions"]

_M = TypeVar("_M", bound=BaseModel)

DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)\s*$")
_DURATION_UNITS = {
    "ms": dt.timedelta(milliseconds=1),
    "s": dt.timedelta(seconds=1),
    "m": dt.timedelta(minutes=1),
    "min": dt.timedelta(minutes=1),
    "h": dt.timedelta(hours=1),
    "d": dt.timedelta(days=1),
    "w": dt.timedelta(weeks=1),
}


def parse_duration(value: str | dt.timedelta | int | float, *, name: str) -> dt.timedelta:
    """Read ``"30m"``, ``"1.5h"``, ``"2d"``, a number of seconds or a timedelta."""
    if isinstance(value, dt.timedelta):
        out = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out = dt.timedelta(seconds=value)
    elif isinstance(value, str) and (m := DURATION_RE.match(value)):
        out = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    else:
        msg = (
            f"{name}={value!r} is not a duration; write a number and a unit, like '30m', "
            "'2h', '1d' (units: ms, s, m or min, h, d, w; '1.5h' works), a number of seconds, "
            "or a datetime.timedelta"
        )
        raise JourneygraphError(msg)
    if out <= dt.timedelta(0):
        msg = f"{name}={value!r} must be a positive duration"
        raise JourneygraphError(msg)
    return out


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def validated(model: type[_M], **kwargs: Any) -> _M:
    """Build ``model(**kwargs)``, turning pydantic's error into a JourneygraphError."""
    try:
        return model(**kwargs)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            cause = err.get("ctx", {}).get("error")
            if err["type"] == "value_error" and isinstance(cause, ValueError):
                problems.append(str(cause))  # our own message, already names the option
                continue
            where = ".".join(str(p) for p in err["loc"]) or "arguments"
            problems.append(f"{where}={err.get('input')!r}: {err['msg']}")
        msg = f"invalid {model.__name__} options: " + "; ".join(problems)
        if len(problems) == 1 and problems[0].split("=")[0] in model.model_fields:
            msg = problems[0]
        raise JourneygraphError(msg) from None


class EventSchema(Frozen):
    """Which columns of the caller's data hold what, and how to read them.

    Examples
    --------
    >>> from journeygraph.schema import EventSchema
    >>> EventSchema(customer="user_id", timestamp="ts", touchpoint="event").channel is None
    True
    """

    customer: str
    timestamp: str
    touchpoint: str
    channel: str | None = None
    tie_breaker: str | None = None
    session: str | None = None
    attributes: tuple[str, ...] | None = None
    timestamp_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto"
    timestamp_format: str | None = None
    timezone: str = "UTC"
    separator: str | None = None
    on_invalid: Literal["raise", "drop"] = "raise"
    duplicates: Literal["drop", "keep"] = "drop"

    @field_validator("separator", mode="after")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) != 1:
            msg = f"separator={value!r} must be one character, like ',', ';', '\\t' or '|'"
            raise ValueError(msg)
        return value

    @field_validator("timestamp_format", mode="after")
    @classmethod
    def _strftime(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            msg = (
                f"timestamp_format={value!r} has no strftime codes; write it like "
                "'%m/%d/%Y %H:%M' or '%d.%m.%Y %H:%M:%S'"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _distinct_columns(self) -> EventSchema:
        roles = {
            "customer": self.customer,
            "timestamp": self.timestamp,
            "touchpoint": self.touchpoint,
            "channel": self.channel,
            "tie_breaker": self.tie_breaker,
            "session": self.session,
        }
        seen: dict[str, str] = {}
        for role, column in roles.items():
            if column is None:
                continue
            if column in seen:
                msg = f"column {column!r} is given as both {seen[column]}= and {role}="
                raise ValueError(msg)
            seen[column] = role
        return self

    @property
    def roles(self) -> dict[str, str]:
        """Canonical name → caller's column, for the roles that are set."""
        out = {
            "customer": self.customer,
            "timestamp": self.timestamp,
            "touchpoint": self.touchpoint,
        }
        if self.channel is not None:
            out["channel"] = self.channel
        if self.tie_breaker is not None:
            out["tie_breaker"] = self.tie_breaker
        if self.session is not None:
            out["session"] = self.session
        return out


class MineOptions(Frozen):
    """How `mine` turns events into journeys (see its docstring)."""

    session_gap: dt.timedelta | None = None
    journey: Literal["customer", "session"] = "customer"
    collapse_repeats: bool = False
    rename: dict[str, str] | None = None
    keep: frozenset[str] | None = None
    drop: frozenset[str] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    by_channel: bool = False

    @field_validator("session_gap", mode="before")
    @classmethod
    def _gap(cls, value: Any) -> dt.timedelta | None:
        return None if value is None else parse_duration(value, name="session_gap")

    @field_validator("start", "end", mode="after")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _consistent(self) -> MineOptions:
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start={self.start} must be before end={self.end}"
            raise ValueError(msg)
        if self.keep is not None and self.drop is not None and self.keep & self.drop:
            both = sorted(self.keep & self.drop)
            msg = f"touchpoints {both} are in both keep= and drop="
            raise ValueError(msg)
        return self


class IngestReport(Frozen):
    """What happened to every input row: read, kept, dropped (by reason), repaired.

    ``rows_read == rows_kept + sum(dropped.values())`` always holds; nothing is
    dropped without being counted here.

    Examples
    --------
    >>> from journeygraph.schema import IngestReport
    >>> r = IngestReport(rows_read=10, rows_kept=8, dropped={"missing customer": 2})
    >>> r.rows_dropped
    2
    """

    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = {}
    repaired: dict[str, int] = {}

    @model_validator(mode="after")
    def _balanced(self) -> IngestReport:
        if self.rows_read != self.rows_kept + sum(self.dropped.values()):
            msg = "rows_read must equal rows_kept plus all dropped rows"
            raise ValueError(msg)
        return self

    @property
    def rows_dropped(self) -> int:
        """Total number of dropped rows."""
        return sum(self.dropped.values())

    def __str__(self) -> str:
        lines = [f"{self.rows_read:,} rows read, {self.rows_kept:,} kept"]
        lines += [f"  dropped {n:,}: {why}" for why, n in sorted(self.dropped.items()) if n]
        lines += [f"  repaired {n:,}: {why}" for why, n in sorted(self.repaired.items()) if n]
        return "\n".join(lines)
