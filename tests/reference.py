"""A deliberately simple, plain-Python reference for ``journeygraph.mine``.

Written from the documented definitions (module docstrings of
``journeygraph.ingest`` and ``journeygraph.mine``), not from the engine's
columnar strategy: lists, dicts and loops only, no polars.

Input rows are dicts with the keys ``customer``, ``timestamp`` (an aware
``datetime``), ``touchpoint`` and optionally ``channel`` (str or None) and
``tie_breaker``. A row whose touchpoint is None or "" is invalid: it is counted
as dropped ("missing touchpoint", as read with ``on_invalid="drop"``). Row order
is input order. Output tables are lists of dicts whose keys are the engine's
column names, in the engine's documented row order.

Conventions the docs leave open (chosen here, stated once):

* With a tie-breaker, a missing channel sorts after any channel.
* The tie-breaker ordering uses the event log's touchpoint and channel (the
  ingestion rule), *before* ``rename`` / ``by_channel`` re-key them.
* Journeys are in journey order: by customer, then session number.

Documented rules followed here: a channel switch is a transition whose two
events have different, known channels; ``collapse_repeats`` merges consecutive
events of the same touchpoint *within a session* (a repeat after a
``session_gap`` is kept); a median of an even count is the mean of the two
middle values rounded down to whole microseconds.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ZERO = dt.timedelta(0)
US = dt.timedelta(microseconds=1)

BEFORE_START = "before start="
AT_OR_AFTER_END = "at or after end="
IN_DROP = "touchpoint in drop="
NOT_IN_KEEP = "touchpoint not in keep="
COLLAPSED = "collapsed into the previous event"
MISSING_TOUCHPOINT = "missing touchpoint"


def median(durations: list[dt.timedelta]) -> dt.timedelta:
    """Middle value; for an even count the mean of the two middle values, floored to 1 µs."""
    ordered = sorted(durations)
    half = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[half]
    total_us = (ordered[half - 1] + ordered[half]) // US
    return (total_us // 2) * US


@dataclass
class Event:
    customer: Any
    timestamp: dt.datetime
    touchpoint: str
    channel: str | None
    session: int = 0  # 1-based session number within the customer


@dataclass
class Result:
    edges: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    stats: list[dict[str, Any]]
    aggregate_edges: list[dict[str, Any]]
    aggregate_nodes: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    touchpoints: list[str] = field(default_factory=list)


def order_rows(rows: list[dict[str, Any]], *, tie_breaker: bool) -> list[dict[str, Any]]:
    """The ingestion ordering rule, as a plain sort with an explicit key."""
    numbered = list(enumerate(rows))

    def key(item: tuple[int, dict[str, Any]]) -> tuple[Any, ...]:
        row_number, row = item
        if not tie_breaker:
            return (row["customer"], row["timestamp"], row_number)
        channel = row.get("channel")
        channel_key = (1, "") if channel is None else (0, channel)
        return (
            row["customer"],
            row["timestamp"],
            row["tie_breaker"],
            row["touchpoint"],
            channel_key,
        )

    return [row for _, row in sorted(numbered, key=key)]


def mine(
    rows: list[dict[str, Any]],
    *,
    tie_breaker: bool = False,
    session_gap: dt.timedelta | None = None,
    journey: str = "customer",
    collapse_repeats: bool = False,
    rename: dict[str, str] | None = None,
    keep: set[str] | None = None,
    drop: set[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    by_channel: bool = False,
) -> Result:
    dropped: dict[str, int] = {}
    valid = [row for row in rows if row["touchpoint"] not in (None, "")]
    if len(valid) < len(rows):
        dropped[MISSING_TOUCHPOINT] = len(rows) - len(valid)
    ordered = order_rows(valid, tie_breaker=tie_breaker)

    # --- filters, in the documented order: window, rename, keep/drop, channel key
    events: list[Event] = []
    for row in ordered:
        ts = row["timestamp"]
        name = row["touchpoint"]
        if rename is not None and name in rename:
            name = rename[name]
        reason = None
        if start is not None and ts < start:
            reason = BEFORE_START
        elif end is not None and ts >= end:
            reason = AT_OR_AFTER_END
        elif drop is not None and name in drop:
            reason = IN_DROP
        elif keep is not None and name not in keep:
            reason = NOT_IN_KEEP
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        channel = row.get("channel")
        if by_channel and channel is not None:
            name = f"{channel}:{name}"
        events.append(Event(row["customer"], ts, name, channel))

    # --- per customer, in order
    by_customer: dict[Any, list[Event]] = {}
    for event in events:
        by_customer.setdefault(event.customer, []).append(event)

    # --- sessions (before collapsing)
    customer_sessions: dict[Any, int] = {}
    for customer, evs in by_customer.items():
        n = 1
        for i, event in enumerate(evs):
            gap = ZERO if i == 0 else event.timestamp - evs[i - 1].timestamp
            if session_gap is not None and gap > session_gap:
                n += 1
            event.session = n
        customer_sessions[customer] = n

    # --- journeys: (id, customer, session, events)
    journeys: list[tuple[Any, Any, int, list[Event]]] = []
    for customer in sorted(by_customer):
        evs = by_customer[customer]
        if journey == "customer":
            journeys.append((customer, customer, 1, evs))
        else:
            for n in range(1, customer_sessions[customer] + 1):
                part = [e for e in evs if e.session == n]
                journeys.append((f"{customer}#{n}", customer, n, part))

    # --- collapse repeats within each journey
    if collapse_repeats:
        collapsed = []
        for jid, customer, session, evs in journeys:
            kept = []
            for i, e in enumerate(evs):
                previous = evs[i - 1] if i > 0 else None
                if (
                    previous is not None
                    and previous.touchpoint == e.touchpoint
                    and previous.session == e.session
                ):
                    continue  # a repeat within the session: merged into the first
                kept.append(e)
            collapsed.append((jid, customer, session, kept))
        n_removed = sum(len(j[3]) for j in journeys) - sum(len(j[3]) for j in collapsed)
        if n_removed:
            dropped[COLLAPSED] = n_removed
        journeys = collapsed

    edges: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    all_transitions: list[tuple[Any, Any, str, str, dt.timedelta]] = []  # jid, cust, s, t, d

    for jid, customer, session, evs in journeys:
        # transitions
        per_edge: dict[tuple[str, str], list[tuple[dt.datetime, dt.timedelta]]] = {}
        for i in range(len(evs) - 1):
            a, b = evs[i], evs[i + 1]
            duration = b.timestamp - a.timestamp
            per_edge.setdefault((a.touchpoint, b.touchpoint), []).append((b.timestamp, duration))
            all_transitions.append((jid, customer, a.touchpoint, b.touchpoint, duration))
        for source, target in sorted(per_edge):
            made = per_edge[(source, target)]
            times = [t for t, _ in made]
            durations = [d for _, d in made]
            edges.append(
                {
                    "journey": jid,
                    "source": source,
                    "target": target,
                    "count": len(made),
                    "first_time": min(times),
                    "last_time": max(times),
                    "total_time": sum(durations, ZERO),
                    "median_time": median(durations),
                }
            )

        # nodes
        per_node: dict[str, dict[str, Any]] = {}
        for i, event in enumerate(evs):
            dwell = ZERO
            if i + 1 < len(evs) and evs[i + 1].session == event.session:
                dwell = evs[i + 1].timestamp - event.timestamp
            node = per_node.setdefault(
                event.touchpoint, {"visits": 0, "positions": [], "dwell": ZERO}
            )
            node["visits"] += 1
            node["positions"].append(i)
            node["dwell"] += dwell
        for name in sorted(per_node):
            node = per_node[name]
            nodes.append(
                {
                    "journey": jid,
                    "touchpoint": name,
                    "visits": node["visits"],
                    "first_position": min(node["positions"]),
                    "last_position": max(node["positions"]),
                    "dwell": node["dwell"],
                }
            )

        # stats
        names = [e.touchpoint for e in evs]
        self_loops = sum(1 for i in range(1, len(names)) if names[i] == names[i - 1])
        revisits = 0
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen and not (i > 0 and names[i - 1] == name):
                revisits += 1
            seen.add(name)
        backtracks = sum(
            1 for i in range(2, len(names)) if names[i] == names[i - 2] and names[i] != names[i - 1]
        )
        switches = 0
        for i in range(1, len(evs)):
            c0, c1 = evs[i - 1].channel, evs[i].channel
            if c0 is not None and c1 is not None and c0 != c1:
                switches += 1
        stats.append(
            {
                "journey": jid,
                "customer": customer,
                "session": session,
                "events": len(evs),
                "touchpoints": len(set(names)),
                "entry": names[0],
                "exit": names[-1],
                "start": evs[0].timestamp,
                "end": evs[-1].timestamp,
                "duration": evs[-1].timestamp - evs[0].timestamp,
                "self_loops": self_loops,
                "revisits": revisits,
                "backtracks": backtracks,
                "cycles": len(per_edge) - len(set(names)) + 1,
                "channel_switches": switches,
                "sessions": 1 if journey == "session" else customer_sessions[customer],
            }
        )

    # --- aggregate edges
    total = len(all_transitions)
    out_of: Counter[str] = Counter(s for _, _, s, _, _ in all_transitions)
    into: Counter[str] = Counter(t for _, _, _, t, _ in all_transitions)
    grouped: dict[tuple[str, str], list[tuple[Any, Any, dt.timedelta]]] = {}
    for jid, customer, source, target, duration in all_transitions:
        grouped.setdefault((source, target), []).append((jid, customer, duration))
    aggregate_edges = []
    for source, target in sorted(grouped):
        made = grouped[(source, target)]
        n = len(made)
        aggregate_edges.append(
            {
                "source": source,
                "target": target,
                "events": n,
                "customers": len({c for _, c, _ in made}),
                "journeys": len({j for j, _, _ in made}),
                "share": n / total,
                "p_next": n / out_of[source],
                "p_prev": n / into[target],
                "median_time": median([d for _, _, d in made]),
            }
        )

    # --- aggregate nodes
    visits: Counter[str] = Counter()
    node_customers: dict[str, set[Any]] = {}
    node_journeys: dict[str, set[Any]] = {}
    for jid, customer, _, evs in journeys:
        for e in evs:
            visits[e.touchpoint] += 1
            node_customers.setdefault(e.touchpoint, set()).add(customer)
            node_journeys.setdefault(e.touchpoint, set()).add(jid)
    starts = Counter(evs[0].touchpoint for *_, evs in journeys)
    ends = Counter(evs[-1].touchpoint for *_, evs in journeys)
    aggregate_nodes = [
        {
            "touchpoint": name,
            "visits": visits[name],
            "customers": len(node_customers[name]),
            "journeys": len(node_journeys[name]),
            "starts": starts[name],
            "ends": ends[name],
        }
        for name in sorted(visits)
    ]

    # --- variants
    counts: Counter[tuple[str, ...]] = Counter(
        tuple(e.touchpoint for e in evs) for *_, evs in journeys
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], list(item[0])))
    variants = []
    running = 0
    for sequence, count in ranked:
        running += count
        variants.append(
            {
                "variant": list(sequence),
                "length": len(sequence),
                "journeys": count,
                "share": count / len(journeys),
                "cumulative_share": running / len(journeys),
            }
        )

    return Result(
        edges=edges,
        nodes=nodes,
        stats=stats,
        aggregate_edges=aggregate_edges,
        aggregate_nodes=aggregate_nodes,
        variants=variants,
        rows_read=len(rows),
        rows_kept=sum(len(evs) for *_, evs in journeys),
        dropped=dropped,
        touchpoints=sorted(visits),
    )
