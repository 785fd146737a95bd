"""A shop with planted effects, for the tests of moments that matter.

Customers come back for many sessions over months; more active customers have
more sessions, and so more of everything, purchases included. In a session a
customer browses (``home`` or ``search``, ``product`` views, sometimes ``help``,
off the map), may put something in the ``cart`` (and sometimes goes back to a
``product`` and to the ``cart`` again: a loop, with **no** effect), may go to
``checkout`` / ``shipping``, and there may meet ``payment_error`` (off the map),
which cuts that session's chance to ``purchase`` by two thirds (none with
``harm=False``). Rows come in time order with customers interleaved, text ids,
and a few exact duplicate rows, as real logs do.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

import journeygraph as jg

STAGES = {
    "Browse": ["home", "search", "product"],
    "Cart": ["cart"],
    "Checkout": ["checkout", "shipping"],
    "Purchase": ["purchase"],
}
T0 = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
P_ERROR = 0.3
P_BUY = 0.6


def shop(n_customers: int, *, seed: int, harm: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events (``user``, ``ts``, ``event``) and customers (``customer``, ``converted``,
    ``revenue``, ``sessions``)."""
    rng = np.random.default_rng(seed)
    users: list[str] = []
    times: list[dt.datetime] = []
    events: list[str] = []
    table: list[tuple[str, bool, float, int]] = []
    for c in range(n_customers):
        user = f"cust-{c:05d}"
        n_sessions = 1 + int(rng.poisson(rng.lognormal(0.3, 0.9)))
        days = np.sort(rng.uniform(0, 180, n_sessions))
        bought, revenue = False, 0.0
        for day in days:
            t = T0 + dt.timedelta(days=float(day))
            path = [str(rng.choice(["home", "search"]))]
            path += ["product"] * (1 + int(rng.geometric(0.5)) - 1)
            if rng.random() < 0.2:
                path += ["help", "product"]
            if rng.random() < 0.55:
                path.append("cart")
                if rng.random() < 0.3:  # the loop: back to a product, then the cart again
                    path += ["product", "cart"]
                if rng.random() < 0.6:
                    path += ["checkout", "shipping"]
                    error = rng.random() < P_ERROR
                    p_buy = P_BUY
                    if error:
                        path.append("payment_error")
                        p_buy = P_BUY / 3 if harm else P_BUY
                    if rng.random() < p_buy:
                        path.append("purchase")
                        bought = True
                        revenue += float(np.round(rng.gamma(2.0, 30.0), 2))
            for tp in path:
                t += dt.timedelta(seconds=float(rng.integers(5, 300)))
                users.append(user)
                times.append(t)
                events.append(tp)
                if rng.random() < 0.01:  # an exact duplicate row, as logs have
                    users.append(user)
                    times.append(t)
                    events.append(tp)
        table.append((user, bought, revenue, n_sessions))
    frame = pl.DataFrame({"user": users, "ts": times, "event": events})
    frame = frame.sort("ts", maintain_order=True)  # interleaved, in time order
    customers = pl.DataFrame(
        table,
        schema={
            "customer": pl.String,
            "converted": pl.Boolean,
            "revenue": pl.Float64,
            "sessions": pl.Int64,
        },
        orient="row",
    )
    return frame, customers


def compared(
    n_customers: int, *, seed: int, harm: bool = True, journey: str = "customer"
) -> jg.Divergence:
    events, customers = shop(n_customers, seed=seed, harm=harm)
    log = jg.read_events(events, customer="user", timestamp="ts", touchpoint="event")
    journeys = jg.mine(log, session_gap="30m", journey=journey)  # type: ignore[arg-type]
    return jg.compare(journeys, jg.JourneyMap.linear(STAGES), customers=customers)
