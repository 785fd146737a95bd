"""A realistic multi-session clickstream, as a tracking export looks (reusable in tests).

``realistic_log(...)`` simulates an online shop over several months: customers
return for several sessions over weeks, each session walks a Markov chain over
page views, and the export is messy the way real ones are:

* customer ids and session ids are text (``"C00042"``, ``"9f3a61c2"``);
* rows are in time order, customers interleaved (not grouped);
* a share of rows is repeated exactly (retried tracking calls);
* a share of timestamps is written ``"%m/%d/%Y %H:%M:%S"`` instead of ISO 8601
  (the rest are ``"2024-03-13T10:00:00Z"``), so ``timestamp_format=US_FORMAT``
  is needed to read every row.

Planted effects are knobs, all off by default, so a test can assert the
analysis finds an effect with the knob on and finds nothing with it off:

* ``chat_helps``: in a session with a ``support_chat``, the chance of going
  from ``cart`` to ``checkout`` rises by this much;
* ``app_checkout_drop``: on the ``app`` platform, the chance of leaving at
  ``checkout`` rises by this much.

The customer table (``purchased``: any session reached ``payment_done``) and
the shop's journey map (``STAGES``) come with it. Everything is a plain
function of its arguments and ``seed``: same arguments, identical frames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

import journeygraph as jg

__all__ = ["COLUMNS", "STAGES", "US_FORMAT", "RealisticLog", "realistic_log", "sessions"]

US_FORMAT = "%m/%d/%Y %H:%M:%S"
# read_events keywords for the raw frame
COLUMNS = {
    "customer": "user_id",
    "timestamp": "ts",
    "touchpoint": "event",
    "channel": "platform",
}
# the shop's idealised journey map: stage -> touchpoints
STAGES: dict[str, list[str]] = {
    "Browse": ["home", "search", "catalog"],
    "Consider": ["product"],
    "Buy": ["cart", "checkout", "payment_done"],
}
_EXIT = "<exit>"
_MAX_PAGES = 40  # per session: 40 views of at most 5 min fit in the spacing
_SPACING = 4 * 3600.0  # seconds added between consecutive session starts
# page -> (next page, weight); "<exit>" ends the session
_CHAIN: dict[str, list[tuple[str, float]]] = {
    "<start>": [("home", 0.55), ("search", 0.25), ("product", 0.12), ("account", 0.08)],
    "home": [("search", 0.35), ("catalog", 0.3), ("account", 0.05), (_EXIT, 0.3)],
    "search": [("product", 0.45), ("search", 0.15), ("catalog", 0.1), (_EXIT, 0.3)],
    "catalog": [("product", 0.45), ("catalog", 0.1), ("search", 0.1), (_EXIT, 0.35)],
    "product": [("cart", 0.3), ("product", 0.15), ("search", 0.15), (_EXIT, 0.4)],
    "cart": [("checkout", 0.4), ("support_chat", 0.1), ("product", 0.15), (_EXIT, 0.35)],
    "support_chat": [("cart", 0.6), (_EXIT, 0.4)],
    "checkout": [("payment_done", 0.6), ("cart", 0.1), (_EXIT, 0.3)],
    "payment_done": [("account", 0.3), (_EXIT, 0.7)],
    "account": [("home", 0.3), (_EXIT, 0.7)],
}


@dataclass(frozen=True)
class RealisticLog:
    """A generated export and what is known about it.

    Attributes
    ----------
    events : pl.DataFrame
        The raw rows as a file would hold them: ``user_id``, ``session_id``,
        ``ts`` (text, ISO 8601 or ``US_FORMAT``), ``event``, ``platform``, in time
        order, exact duplicates included.
    clean : pl.DataFrame
        The same events without the duplicates, ``ts`` as a UTC datetime: the
        ground truth to compute expected numbers from.
    customers : pl.DataFrame
        One row per customer: ``user_id``, ``purchased`` (bool), ``plan``.
    n_duplicates : int
        Rows of ``events`` that exactly repeat an earlier row.
    """

    events: pl.DataFrame
    clean: pl.DataFrame
    customers: pl.DataFrame
    n_duplicates: int


def realistic_log(
    n_customers: int = 600,
    *,
    seed: int = 0,
    weeks: int = 26,
    sessions_per_customer: float = 5.0,
    duplicate_rate: float = 0.03,
    non_iso_rate: float = 0.1,
    chat_helps: float = 0.0,
    app_checkout_drop: float = 0.0,
) -> RealisticLog:
    """Simulate ``n_customers`` shoppers over ``weeks`` weeks (see the module docs).

    Each customer has ``1 + Poisson(sessions_per_customer - 1)`` sessions at
    random times in the period, on one platform per session (``web`` or
    ``app``), with 5 s to 5 min between page views. ``duplicate_rate`` of
    events are sent twice (or three times); ``non_iso_rate`` of rows have
    their time written in ``US_FORMAT``.
    """
    rng = np.random.default_rng(seed)
    period = dt.timedelta(weeks=weeks).total_seconds()
    origin = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows: list[tuple[str, str, float, str, str]] = []
    purchased: dict[str, bool] = {}
    plans = ["free", "plus", "pro"]
    plan_of: dict[str, str] = {}
    session_serial = 0
    for c in range(n_customers):
        customer = f"C{c:05d}"
        plan_of[customer] = plans[int(rng.integers(3))]
        purchased[customer] = False
        n_sessions = 1 + int(rng.poisson(max(sessions_per_customer - 1.0, 0.0)))
        first = rng.uniform(0, period * 0.8)
        starts = np.sort(first + rng.uniform(0, period * 0.2 + 1, size=n_sessions))
        starts[1:] += np.arange(1, n_sessions) * _SPACING  # sessions never overlap
        for start in starts:
            session_serial += 1
            session = f"{(session_serial * 2654435761) % 2**32:08x}"
            platform = "app" if rng.random() < 0.4 else "web"
            t = float(start)
            page = _step("<start>", rng, chat=False, app=False, knobs=(0.0, 0.0))
            chatted = False
            for _ in range(_MAX_PAGES):
                if page == _EXIT:
                    break
                rows.append((customer, session, t, page, platform))
                purchased[customer] |= page == "payment_done"
                chatted |= page == "support_chat"
                page = _step(
                    page,
                    rng,
                    chat=chatted,
                    app=platform == "app",
                    knobs=(chat_helps, app_checkout_drop),
                )
                t += float(rng.uniform(5, 300))
    clean = pl.DataFrame(
        rows, schema=["user_id", "session_id", "_t", "event", "platform"], orient="row"
    ).sort("_t", maintain_order=True)
    # whole seconds, as most exports write them
    seconds = clean.get_column("_t").cast(pl.Int64)
    clean = clean.with_columns(
        (pl.lit(origin) + pl.duration(seconds=seconds)).dt.cast_time_unit("us").alias("ts")
    ).drop("_t")
    us = pl.Series(rng.random(clean.height) < non_iso_rate)
    text = pl.when(us).then(pl.col("ts").dt.strftime(US_FORMAT))
    written = clean.with_columns(
        text.otherwise(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).alias("ts")
    ).select("user_id", "session_id", "ts", "event", "platform")
    # a retried tracking call repeats its row exactly
    sent = 1 + (rng.random(clean.height) < duplicate_rate)
    sent += (sent > 1) & (rng.random(clean.height) < 0.3)
    events = written.select(pl.all().gather(np.repeat(np.arange(clean.height), sent)))
    customers = pl.DataFrame(
        {
            "user_id": list(purchased),
            "purchased": list(purchased.values()),
            "plan": [plan_of[c] for c in purchased],
        }
    )
    return RealisticLog(
        events=events,
        clean=clean.select("user_id", "session_id", "ts", "event", "platform"),
        customers=customers,
        n_duplicates=events.height - clean.height,
    )


def _step(
    page: str, rng: np.random.Generator, *, chat: bool, app: bool, knobs: tuple[float, float]
) -> str:
    chat_helps, app_drop = knobs
    options = dict(_CHAIN[page])
    if page == "cart" and chat and chat_helps:
        options["checkout"] += chat_helps
    if page == "checkout" and app and app_drop:
        options[_EXIT] += app_drop
    names = list(options)
    weights = np.array([options[n] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def sessions(n_customers: int, *, seed: int, **knobs: float) -> jg.Journeys:
    """``realistic_log(n_customers, seed=seed, **knobs)`` read as a user reads the export
    (text ids, the platform as channel, the session column, US dates) and mined one
    journey per session."""
    log = jg.read_events(
        realistic_log(n_customers, seed=seed, **knobs).events,
        **COLUMNS,
        session="session_id",
        timestamp_format=US_FORMAT,
    )
    return jg.mine(log, journey="session")
