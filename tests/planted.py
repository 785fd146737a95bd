"""A shop's multi-session log over six months with planted stories (reusable in tests).

``stories_log(seed, stories=True)`` simulates customers (text ids, a ``tier``
and a ``platform``) who visit several times over 26 weeks from Monday
2024-01-01; each visit walks a Markov chain of page views a minute or so
apart; visits are days apart, so ``session_gap="30m"`` splits them. Rows come
in time order with customers interleaved, and a share of rows is repeated
exactly (retried tracking calls).

The stories, all off with ``stories=False`` (then nothing changes over time
and the tiers behave alike):

* ``ERROR_WEEKS``: on the ``app`` platform, after ``cart`` a fifth of visits
  hit ``error_page`` (a broken deploy);
* ``PAYMENT_WEEKS``: ``checkout → payment_done`` halves for everyone (a
  payment provider rejecting payments);
* ``loyal`` customers go ``product → cart`` far more often than ``new`` ones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
WEEKS = 26
ERROR_WEEKS = range(8, 11)
PAYMENT_WEEKS = range(15, 18)
EXIT = "<exit>"
CHAIN: dict[str, list[tuple[str, float]]] = {
    "<start>": [("home", 0.6), ("search", 0.4)],
    "home": [("search", 0.5), ("catalog", 0.3), (EXIT, 0.2)],
    "search": [("product", 0.6), ("search", 0.1), (EXIT, 0.3)],
    "catalog": [("product", 0.6), (EXIT, 0.4)],
    "product": [("cart", 0.35), ("product", 0.15), ("search", 0.2), (EXIT, 0.3)],
    "cart": [("checkout", 0.6), ("product", 0.15), (EXIT, 0.25)],
    "error_page": [("cart", 0.4), (EXIT, 0.6)],
    "checkout": [("payment_done", 0.8), (EXIT, 0.2)],
    "payment_done": [(EXIT, 1.0)],
}


def _chain(
    page: str, *, week: int, platform: str, tier: str, stories: bool
) -> list[tuple[str, float]]:
    options = CHAIN[page]
    if not stories:
        return options
    if page == "cart" and platform == "app" and week in ERROR_WEEKS:
        return [("error_page", 0.2), ("checkout", 0.45), ("product", 0.1), (EXIT, 0.25)]
    if page == "checkout" and week in PAYMENT_WEEKS:
        return [("payment_done", 0.4), (EXIT, 0.6)]
    if page == "product" and tier == "loyal":
        return [("cart", 0.6), ("product", 0.1), ("search", 0.1), (EXIT, 0.2)]
    return options


def stories_log(
    seed: int, *, customers: int = 6000, stories: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events (``user_id``, ``ts``, ``event``, ``platform``); customers (``customer``, ``tier``)."""
    rng = np.random.default_rng(seed)
    span = WEEKS * 7 * 86400.0
    rows: list[tuple[str, dt.datetime, str, str]] = []
    table = []
    for c in range(customers):
        cid = f"C{c:05d}"
        tier = "loyal" if rng.random() < 0.5 else "new"
        platform = "app" if rng.random() < 0.5 else "web"
        table.append((cid, tier))
        for start in np.sort(rng.uniform(0, span - 3600, size=rng.integers(1, 5))):
            t = float(start)
            week = int(t // (7 * 86400))
            page = "<start>"
            for _ in range(30):
                options = _chain(page, week=week, platform=platform, tier=tier, stories=stories)
                u = rng.random() * sum(w for _, w in options)
                for page, w in options:  # noqa: B007 - the page drawn is the one u falls in
                    u -= w
                    if u < 0:
                        break
                if page == EXIT:
                    break
                rows.append((cid, T0 + dt.timedelta(seconds=round(t)), page, platform))
                t += float(rng.uniform(20, 120))
    events = pl.DataFrame(rows, schema=["user_id", "ts", "event", "platform"], orient="row")
    repeated = events.sample(fraction=0.02, seed=seed)
    events = pl.concat([events, repeated]).sort("ts", maintain_order=True)
    return events, pl.DataFrame(table, schema=["customer", "tier"], orient="row")
