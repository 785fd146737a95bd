"""Seeded synthetic customer journeys with planted archetypes.

`generate` simulates a realistic multi-channel event log: every customer
belongs to one of five planted archetypes (:data:`ARCHETYPES`), and each
archetype is its own Markov chain over touchpoints, with its own start
distribution, transition and exit probabilities, time gaps, channel mix and
devices. The simulation is fully vectorised with numpy: all customers of an
archetype advance one step at a time, so a million customers (about ten
million events) take seconds. The same arguments and ``seed`` always give
identical frames.

The result is a `SampleData` with the ``events`` (shuffled, as real logs
are) and a ``customers`` table holding the planted ``archetype`` label and the
outcomes (``converted``, ``churned``, ``revenue``, ``survey_score``), which are
derived from each customer's behaviour plus noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import polars as pl

from ._errors import JourneygraphError

__all__ = [
    "ARCHETYPES",
    "CHANNELS",
    "COLUMNS",
    "IDEAL_STAGES",
    "TOUCHPOINTS",
    "SampleData",
    "events_for",
    "generate",
]

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_I16 = npt.NDArray[np.int16]
_I8 = npt.NDArray[np.int8]
_Bool = npt.NDArray[np.bool_]

TOUCHPOINTS: tuple[str, ...] = (
    # discover
    "ad_click",
    "social_post",
    "search",
    "referral",
    "email_open",
    # explore
    "home_page",
    "product_view",
    "compare",
    "reviews",
    "pricing_page",
    # buy
    "add_to_cart",
    "checkout",
    "payment",
    "purchase",
    # onboard
    "account_setup",
    "welcome_email",
    "tutorial",
    "first_use",
    # use
    "app_session",
    "feature_use",
    "usage_report",
    # support (off the journey map)
    "help_center",
    "support_chat",
    "support_call",
    "ticket",
    # renew
    "renewal_notice",
    "renewal",
    "upgrade",
    # leave / feedback (off the journey map)
    "cancel",
    "survey",
)
"""The 30 touchpoint names that occur in generated events."""

CHANNELS: tuple[str, ...] = ("web", "app", "store", "email", "call_center")
"""The channels an event can happen in."""

IDEAL_STAGES: dict[str, tuple[str, ...]] = {
    "Discover": ("ad_click", "social_post", "search", "referral", "email_open"),
    "Explore": ("home_page", "product_view", "compare", "reviews", "pricing_page"),
    "Buy": ("add_to_cart", "checkout", "payment", "purchase"),
    "Onboard": ("account_setup", "welcome_email", "tutorial", "first_use"),
    "Use": ("app_session", "feature_use", "usage_report"),
    "Renew": ("renewal_notice", "renewal", "upgrade"),
}
"""The company's idealised, linear journey map: ordered stages and their touchpoints.

Support touchpoints (``help_center``, ``support_chat``, ``support_call``,
``ticket``), ``cancel`` and ``survey`` are deliberately off the map.
"""

COLUMNS: dict[str, str] = {
    "customer": "customer_id",
    "timestamp": "timestamp",
    "touchpoint": "touchpoint",
    "channel": "channel",
}
"""The column mapping of ``SampleData.events`` for `read_events`.

Examples
--------
>>> import journeygraph as jg
>>> from journeygraph import datasets
>>> log = jg.read_events(datasets.generate(10, seed=0).events, **datasets.COLUMNS)
>>> log.attributes
['device']
"""

ARCHETYPES: tuple[str, ...] = (
    "straight_buyer",
    "researcher",
    "struggler",
    "stalled_churner",
    "app_first",
)
"""The planted archetype labels (``customers["archetype"]``)."""

_DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
Ids = Literal["dense", "text", "sparse"]  # kinds of customer id `generate` writes
Order = Literal["shuffled", "time", "customer"]  # orders of the event rows

_DEFAULT_WEIGHTS: dict[str, float] = {
    "straight_buyer": 0.30,
    "researcher": 0.20,
    "struggler": 0.15,
    "stalled_churner": 0.15,
    "app_first": 0.20,
}
_MAX_LEN = 60  # journeys are cut after this many events
_END = "END"

# --------------------------------------------------------------------------- #
# Markov chain states. A state is a touchpoint in a phase: most touchpoints only
# occur before (pre) or after (post) the purchase; a few occur in both phases
# and get a second state ("name@post" / "name@pre"), so that the chain cannot
# return to the funnel after buying. ``purchase`` is the phase boundary.
# --------------------------------------------------------------------------- #
_PRE_STATES: tuple[str, ...] = (
    "ad_click",
    "social_post",
    "search",
    "referral",
    "email_open",
    "home_page",
    "product_view",
    "compare",
    "reviews",
    "pricing_page",
    "add_to_cart",
    "checkout",
    "payment",
    "purchase",
    "app_session",
    "help_center@pre",
)
_POST_STATES: tuple[str, ...] = (
    "account_setup",
    "welcome_email",
    "tutorial",
    "first_use",
    "app_session@post",
    "feature_use",
    "usage_report",
    "email_open@post",
    "home_page@post",
    "product_view@post",
    "help_center",
    "support_chat",
    "support_call",
    "ticket",
    "renewal_notice",
    "renewal",
    "upgrade",
    "cancel",
    "survey",
)
_STATES: tuple[str, ...] = _PRE_STATES + _POST_STATES
_SUPPORT = frozenset({"help_center", "support_chat", "support_call", "ticket"})

_Rows = Mapping[str, Mapping[str, float]]

# Transitions shared by all archetypes unless an archetype overrides a row.
# Weights are relative; "END" is the probability weight of the journey ending.
_BASE_ROWS: _Rows = {
    "ad_click": {"home_page": 2, "product_view": 5, "search": 1, "pricing_page": 1, _END: 1},
    "social_post": {"home_page": 2, "product_view": 2, "ad_click": 1, _END: 2},
    "search": {"product_view": 5, "home_page": 2, "search": 1, "reviews": 1, _END: 1},
    "referral": {"home_page": 3, "product_view": 3, _END: 0.5},
    "email_open": {"home_page": 1, "product_view": 3, _END: 2},
    "home_page": {
        "product_view": 5,
        "search": 2,
        "pricing_page": 1,
        "help_center@pre": 0.3,
        _END: 1,
    },
    "product_view": {
        "product_view": 2,
        "add_to_cart": 3,
        "compare": 1,
        "reviews": 1,
        "pricing_page": 1,
        "search": 1,
        _END: 1.5,
    },
    "compare": {"product_view": 3, "reviews": 2, "pricing_page": 1, "search": 1, _END: 1},
    "reviews": {"product_view": 3, "compare": 1, "add_to_cart": 1, _END: 1},
    "pricing_page": {"add_to_cart": 3, "product_view": 2, "compare": 1, _END: 1.5},
    "add_to_cart": {"checkout": 5, "product_view": 1, _END: 1.5},
    "checkout": {"payment": 6, "add_to_cart": 0.5, _END: 1},
    "payment": {"purchase": 9, "checkout": 0.5, _END: 0.3},
    "purchase": {"account_setup": 6, "welcome_email": 3, _END: 0.5},
    "app_session": {"product_view": 4, "app_session": 2, "add_to_cart": 1, _END: 1.5},
    "help_center@pre": {"product_view": 2, "pricing_page": 1, _END: 1},
    "account_setup": {"welcome_email": 3, "tutorial": 3, "first_use": 3, _END: 0.5},
    "welcome_email": {"tutorial": 2, "first_use": 3, "account_setup": 1, _END: 0.5},
    "tutorial": {"first_use": 4, "help_center": 1, _END: 0.5},
    "first_use": {"feature_use": 4, "app_session@post": 3, "help_center": 1, _END: 1},
    "app_session@post": {
        "feature_use": 4,
        "app_session@post": 2,
        "usage_report": 1,
        "help_center": 0.5,
        _END: 1.5,
    },
    "feature_use": {
        "app_session@post": 3,
        "feature_use": 2,
        "usage_report": 1,
        "help_center": 0.5,
        _END: 1.5,
    },
    "usage_report": {"app_session@post": 2, "renewal_notice": 1, "email_open@post": 1, _END: 1},
    "email_open@post": {
        "app_session@post": 2,
        "renewal_notice": 1,
        "home_page@post": 1,
        _END: 1,
    },
    "home_page@post": {"product_view@post": 2, "help_center": 1, "app_session@post": 1, _END: 1},
    "product_view@post": {"upgrade": 1, "home_page@post": 1, _END: 1},
    "help_center": {"support_chat": 2, "app_session@post": 2, "feature_use": 1, _END: 1.5},
    "support_chat": {
        "ticket": 1,
        "support_call": 1,
        "app_session@post": 1,
        "help_center": 1,
        _END: 1.5,
    },
    "support_call": {"ticket": 2, "app_session@post": 1, _END: 1.5},
    "ticket": {
        "support_call": 1,
        "support_chat": 1,
        "survey": 1,
        "app_session@post": 1,
        _END: 1.5,
    },
    "renewal_notice": {"renewal": 4, "cancel": 1, "email_open@post": 1, _END: 1},
    "renewal": {"app_session@post": 2, "upgrade": 1, "survey": 1, _END: 2},
    "upgrade": {"feature_use": 2, "app_session@post": 1, _END: 2},
    "cancel": {_END: 1},  # cancel always ends the journey
    "survey": {_END: 3, "app_session@post": 1},
}

# Probability that the gap after an event in this state starts a new session
# (a multi-hour to multi-day gap), before the archetype's pre/post multiplier.
_BASE_BREAK: Mapping[str, float] = {
    **dict.fromkeys(_PRE_STATES, 0.08),
    "purchase": 0.1,
    "account_setup": 0.2,
    "welcome_email": 0.3,
    "tutorial": 0.2,
    "first_use": 0.35,
    "app_session@post": 0.5,
    "feature_use": 0.4,
    "usage_report": 0.6,
    "email_open@post": 0.5,
    "home_page@post": 0.3,
    "product_view@post": 0.3,
    "help_center": 0.15,
    "support_chat": 0.2,
    "support_call": 0.3,
    "ticket": 0.5,
    "renewal_notice": 0.6,
    "renewal": 0.5,
    "upgrade": 0.4,
    "cancel": 0.0,
    "survey": 0.3,
}
# Probability that the next event is logged in the same second (a timestamp tie).
_TIE: Mapping[str, float] = {"payment": 0.3, "purchase": 0.1, "app_session": 0.03}
_BASE_TIE = 0.01

# Channel weights per touchpoint: web, app, store, email, call_center.
_CHANNEL_WEIGHTS: Mapping[str, tuple[float, float, float, float, float]] = {
    "ad_click": (8, 2, 0, 0, 0),
    "social_post": (5, 5, 0, 0, 0),
    "search": (9, 1, 0, 0, 0),
    "referral": (8, 1, 1, 0, 0),
    "email_open": (0, 0, 0, 10, 0),
    "home_page": (10, 0, 0, 0, 0),
    "product_view": (6, 2, 2, 0, 0),
    "compare": (9, 1, 0, 0, 0),
    "reviews": (7, 3, 0, 0, 0),
    "pricing_page": (9, 1, 0, 0, 0),
    "add_to_cart": (6, 2, 2, 0, 0),
    "checkout": (6, 2, 2, 0, 0),
    "payment": (6, 2, 2, 0, 0),
    "purchase": (6, 2, 2, 0, 0),
    "account_setup": (6, 3, 1, 0, 0),
    "welcome_email": (0, 0, 0, 10, 0),
    "tutorial": (5, 5, 0, 0, 0),
    "first_use": (4, 6, 0, 0, 0),
    "app_session": (0, 10, 0, 0, 0),
    "feature_use": (4, 6, 0, 0, 0),
    "usage_report": (3, 1, 0, 6, 0),
    "help_center": (7, 3, 0, 0, 0),
    "support_chat": (6, 4, 0, 0, 0),
    "support_call": (0, 0, 0, 0, 10),
    "ticket": (4, 0, 0, 3, 3),
    "renewal_notice": (0, 1, 0, 9, 0),
    "renewal": (6, 2, 1, 0, 1),
    "upgrade": (6, 3, 1, 0, 0),
    "cancel": (4, 0, 1, 0, 5),
    "survey": (3, 1, 0, 6, 0),
}


@dataclass(frozen=True)
class _Spec:
    """Everything that makes one archetype behave differently."""

    start: Mapping[str, float]
    rows: _Rows  # overrides whole rows of _BASE_ROWS
    pre_break: float  # multiplier of _BASE_BREAK before the purchase
    post_break: float  # ... and after it
    break_days: float  # median gap between sessions, days
    gap_seconds: float  # median gap within a session, seconds
    channel_boost: tuple[float, float, float, float, float]  # multiplies _CHANNEL_WEIGHTS
    devices: tuple[float, float, float]  # primary device: desktop, mobile, tablet
    revenue: float  # median order value
    mood: float  # shift of the latent satisfaction


_SPECS: Mapping[str, _Spec] = {
    # Enters via an ad or a search, looks at one or two products, buys at once,
    # sets up, uses the product a little. Short, single-session, web/desktop.
    "straight_buyer": _Spec(
        start={"ad_click": 0.55, "search": 0.35, "referral": 0.1},
        rows={
            "ad_click": {"product_view": 8, "search": 0.5, _END: 0.1},
            "search": {"product_view": 8, "search": 0.3, _END: 0.1},
            "referral": {"product_view": 6, "home_page": 1, _END: 0.05},
            "home_page": {"product_view": 6, _END: 0.1},
            "product_view": {
                "add_to_cart": 8,
                "product_view": 0.5,
                "reviews": 0.3,
                "pricing_page": 0.3,
                _END: 0.15,
            },
            "reviews": {"add_to_cart": 3, "product_view": 1, _END: 0.1},
            "pricing_page": {"add_to_cart": 6, _END: 0.2},
            "add_to_cart": {"checkout": 12, _END: 0.15},
            "checkout": {"payment": 12, _END: 0.1},
            "payment": {"purchase": 1},
            "purchase": {"account_setup": 8, "welcome_email": 1, _END: 0.1},
            "account_setup": {"first_use": 5, "welcome_email": 1, "tutorial": 0.5, _END: 2},
            "welcome_email": {"first_use": 4, "account_setup": 1, _END: 0.3},
            "first_use": {"feature_use": 5, "app_session@post": 2, _END: 5},
            "feature_use": {
                "app_session@post": 1.5,
                "feature_use": 1,
                "usage_report": 0.8,
                _END: 7,
            },
            "app_session@post": {
                "feature_use": 2.5,
                "usage_report": 0.8,
                "renewal_notice": 0.5,
                _END: 7,
            },
            "usage_report": {"renewal_notice": 2, "app_session@post": 1, _END: 2},
            "renewal_notice": {"renewal": 8, _END: 1},
            "renewal": {"upgrade": 1, "survey": 0.5, _END: 4},
            "help_center": {"app_session@post": 2, "feature_use": 1, _END: 2},
        },
        pre_break=0.4,
        post_break=0.8,
        break_days=1.0,
        gap_seconds=35.0,
        channel_boost=(1.5, 0.7, 0.8, 1.0, 0.5),
        devices=(0.6, 0.3, 0.1),
        revenue=90.0,
        mood=0.8,
    ),
    # Loops search <-> product_view <-> compare / reviews over many sessions; only
    # the pricing page leads to the cart. Long journeys, about half convert.
    "researcher": _Spec(
        start={"search": 0.55, "social_post": 0.3, "referral": 0.1, "email_open": 0.05},
        rows={
            "search": {"product_view": 6, "compare": 2, "reviews": 2, "search": 1, _END: 0.35},
            "social_post": {"search": 3, "product_view": 2, "reviews": 1, _END: 0.15},
            "ad_click": {"search": 2, "product_view": 3, "compare": 1, _END: 0.3},
            "referral": {"search": 2, "product_view": 3, "reviews": 1, _END: 0.15},
            "email_open": {"product_view": 3, "search": 2, _END: 0.3},
            "home_page": {"search": 3, "product_view": 3, "compare": 1, _END: 0.3},
            "product_view": {
                "search": 3.5,
                "compare": 3,
                "reviews": 3,
                "product_view": 1.5,
                "pricing_page": 3,
                _END: 0.8,
            },
            "compare": {
                "product_view": 3,
                "reviews": 2,
                "search": 2,
                "pricing_page": 2.3,
                _END: 0.58,
            },
            "reviews": {
                "product_view": 3,
                "search": 2,
                "compare": 2,
                "pricing_page": 1.3,
                _END: 0.58,
            },
            "pricing_page": {
                "compare": 2,
                "product_view": 2,
                "search": 1,
                "add_to_cart": 6,
                _END: 0.6,
            },
            "add_to_cart": {"checkout": 8, "product_view": 1.5, "compare": 0.5, _END: 0.4},
            "checkout": {"payment": 8, _END: 0.3},
            "payment": {"purchase": 10, _END: 0.2},
            "purchase": {"account_setup": 6, "welcome_email": 3, _END: 1},
            "account_setup": {"first_use": 4, "tutorial": 2, _END: 3},
            "first_use": {"feature_use": 3, "app_session@post": 2, "help_center": 0.5, _END: 2},
            "feature_use": {"app_session@post": 2, "feature_use": 1, _END: 3},
            "app_session@post": {"feature_use": 2, "product_view@post": 0.5, _END: 3},
        },
        pre_break=2.5,
        post_break=1.0,
        break_days=1.5,
        gap_seconds=70.0,
        channel_boost=(1.3, 0.8, 1.5, 1.0, 0.5),
        devices=(0.55, 0.35, 0.1),
        revenue=140.0,
        mood=0.3,
    ),
    # Needs help before buying (help center, failed payments), buys, then keeps
    # coming back to help_center / support_chat / support_call / ticket.
    "struggler": _Spec(
        start={"social_post": 0.35, "referral": 0.3, "search": 0.2, "ad_click": 0.15},
        rows={
            "ad_click": {"product_view": 6, "home_page": 1, "search": 0.5, _END: 0.1},
            "search": {"product_view": 6, "home_page": 1, _END: 0.1},
            "social_post": {"product_view": 4, "home_page": 1, _END: 0.1},
            "referral": {"product_view": 5, "home_page": 1, _END: 0.05},
            "email_open": {"product_view": 5, _END: 0.1},
            "home_page": {"product_view": 5, "help_center@pre": 2, _END: 0.1},
            "product_view": {
                "add_to_cart": 4,
                "help_center@pre": 2.5,
                "product_view": 1,
                "reviews": 0.5,
                _END: 0.1,
            },
            "help_center@pre": {
                "product_view": 2,
                "pricing_page": 1,
                "add_to_cart": 1,
                "help_center@pre": 0.2,
                _END: 0.08,
            },
            "pricing_page": {"add_to_cart": 5, "help_center@pre": 1, _END: 0.15},
            "reviews": {"add_to_cart": 2, "product_view": 2, _END: 0.1},
            "add_to_cart": {"checkout": 8, "help_center@pre": 1, _END: 0.12},
            "checkout": {"payment": 8, "help_center@pre": 1, _END: 0.1},
            "payment": {"purchase": 6, "checkout": 1.5, _END: 0.05},
            "purchase": {"account_setup": 6, "welcome_email": 2, _END: 0.05},
            "account_setup": {"tutorial": 3, "help_center": 3, "first_use": 2, _END: 0.1},
            "welcome_email": {"tutorial": 2, "account_setup": 1, "help_center": 1, _END: 0.1},
            "tutorial": {"help_center": 4, "first_use": 2, _END: 0.1},
            "first_use": {"help_center": 4, "feature_use": 2, "support_chat": 1, _END: 0.2},
            "feature_use": {
                "help_center": 3,
                "support_chat": 1,
                "app_session@post": 1,
                _END: 0.6,
            },
            "app_session@post": {
                "help_center": 3,
                "feature_use": 1,
                "support_chat": 1,
                _END: 0.6,
            },
            "help_center": {
                "support_chat": 3,
                "ticket": 1,
                "support_call": 1,
                "help_center": 0.5,
                "feature_use": 1,
                _END: 2,
            },
            "support_chat": {
                "ticket": 3,
                "support_call": 2,
                "help_center": 1,
                "app_session@post": 0.7,
                _END: 1.6,
            },
            "support_call": {
                "ticket": 3,
                "support_chat": 1,
                "help_center": 1,
                "app_session@post": 0.5,
                _END: 1.7,
            },
            "ticket": {
                "support_call": 1.5,
                "support_chat": 1.5,
                "help_center": 1,
                "feature_use": 1,
                "survey": 0.4,
                "cancel": 0.35,
                _END: 2.3,
            },
            "survey": {_END: 3, "help_center": 1},
        },
        pre_break=1.0,
        post_break=0.8,
        break_days=0.7,
        gap_seconds=60.0,
        channel_boost=(1.0, 1.0, 1.0, 1.0, 3.0),
        devices=(0.5, 0.4, 0.1),
        revenue=100.0,
        mood=-0.5,
    ),
    # Comes from a promotional email or referral, buys quickly, sets up the
    # account and then stalls: weeks between the few events, ends with cancel.
    "stalled_churner": _Spec(
        start={"email_open": 0.5, "referral": 0.25, "ad_click": 0.25},
        rows={
            "ad_click": {"product_view": 6, "pricing_page": 0.3, _END: 0.08},
            "email_open": {"product_view": 5, "pricing_page": 0.3, _END: 0.08},
            "referral": {"product_view": 5, "pricing_page": 0.3, _END: 0.08},
            "search": {"product_view": 6, _END: 0.15},
            "social_post": {"product_view": 4, _END: 0.2},
            "home_page": {"product_view": 4, _END: 0.2},
            "product_view": {
                "add_to_cart": 6,
                "pricing_page": 0.3,
                "product_view": 0.3,
                _END: 0.15,
            },
            "pricing_page": {"add_to_cart": 5, _END: 0.15},
            "reviews": {"add_to_cart": 3, _END: 0.2},
            "add_to_cart": {"checkout": 10, _END: 0.15},
            "checkout": {"payment": 10, _END: 0.1},
            "payment": {"purchase": 1},
            "purchase": {"account_setup": 10, _END: 0.1},
            "account_setup": {
                "welcome_email": 3,
                "email_open@post": 2,
                "first_use": 0.8,
                "cancel": 2,
            },
            "welcome_email": {"email_open@post": 3, "first_use": 0.5, "cancel": 1.5},
            "first_use": {"email_open@post": 2, "cancel": 1.5, _END: 0.1},
            "email_open@post": {
                "renewal_notice": 1.5,
                "cancel": 2,
                "email_open@post": 0.3,
                "first_use": 0.3,
                _END: 0.15,
            },
            "renewal_notice": {"cancel": 5, "renewal": 0.3, _END: 0.2},
            "renewal": {"cancel": 1, _END: 1},
        },
        pre_break=1.0,
        post_break=2.5,
        break_days=9.0,
        gap_seconds=45.0,
        channel_boost=(1.0, 0.6, 1.0, 2.0, 1.0),
        devices=(0.5, 0.4, 0.1),
        revenue=70.0,
        mood=-0.3,
    ),
    # Starts mid-funnel in the app (no Discover touchpoints), buys in the app and
    # keeps using it: mostly the app channel on mobile devices.
    "app_first": _Spec(
        start={"app_session": 0.65, "product_view": 0.35},
        rows={
            "app_session": {
                "product_view": 5,
                "app_session": 1.0,
                "add_to_cart": 1.2,
                "reviews": 0.3,
                _END: 0.35,
            },
            "product_view": {
                "app_session": 1.5,
                "add_to_cart": 3,
                "product_view": 1,
                "reviews": 0.5,
                _END: 0.3,
            },
            "reviews": {"product_view": 2, "add_to_cart": 1, "app_session": 1, _END: 0.3},
            "home_page": {"app_session": 1, "product_view": 2, _END: 1},
            "pricing_page": {"add_to_cart": 2, "app_session": 1, _END: 0.5},
            "compare": {"product_view": 2, "app_session": 1, _END: 0.5},
            "add_to_cart": {"checkout": 7, "app_session": 1, _END: 0.6},
            "checkout": {"payment": 9, _END: 0.4},
            "payment": {"purchase": 10, _END: 0.2},
            "purchase": {"first_use": 5, "account_setup": 2, "welcome_email": 1, _END: 0.2},
            "account_setup": {"first_use": 4, "app_session@post": 2, _END: 0.3},
            "welcome_email": {"app_session@post": 3, "first_use": 1, _END: 0.5},
            "first_use": {"app_session@post": 4, "feature_use": 3, _END: 1.5},
            "app_session@post": {
                "feature_use": 3,
                "app_session@post": 1.5,
                "upgrade": 0.2,
                "help_center": 0.2,
                "renewal_notice": 0.3,
                _END: 3,
            },
            "feature_use": {"app_session@post": 3, "feature_use": 1, "upgrade": 0.2, _END: 2.4},
            "renewal_notice": {"renewal": 5, "cancel": 0.7, _END: 0.5},
            "renewal": {"app_session@post": 2, "upgrade": 0.5, _END: 2},
        },
        pre_break=1.2,
        post_break=1.0,
        break_days=1.0,
        gap_seconds=20.0,
        channel_boost=(0.3, 8.0, 0.5, 1.0, 0.5),
        devices=(0.05, 0.75, 0.2),
        revenue=45.0,
        mood=0.5,
    ),
}


@dataclass(frozen=True)
class _Model:
    """The archetype specs compiled into arrays (A archetypes, S states)."""

    start_cum: _F64  # (A, S) cumulative start probabilities
    succ: _I16  # (A, S, K) successor state, -1 = end of journey
    succ_cum: _F64  # (A, S, K) cumulative successor probabilities
    trans: _F64  # (A, S, S) dense transition matrix without the end column
    break_p: _F64  # (A*S,) probability of a session break after the state
    tie_p: _F64  # (A*S,) probability of a same-second next event
    channel_cum: _F64  # (A*S, C) cumulative channel probabilities
    device_cum: _F64  # (A, 3) cumulative primary-device probabilities
    gap_log: _F64  # (A,) log of the median in-session gap, seconds
    break_log: _F64  # (A,) log of the median session-break gap, seconds
    revenue_log: _F64  # (A,) log of the median order value
    mood: _F64  # (A,)
    state_tp: _I16  # (S,) touchpoint code of each state
    is_post: _Bool  # (S,) state is after the purchase


def _cumulative(weights: _F64) -> _F64:
    """Normalise the last axis and accumulate; the tail is exactly 1 (``u < 1`` never passes)."""
    cum = np.cumsum(weights / weights.sum(axis=-1, keepdims=True), axis=-1)
    cum[cum > 1.0 - 1e-12] = 1.0
    return cum


@cache
def _model() -> _Model:
    n_a, n_s, n_c = len(ARCHETYPES), len(_STATES), len(CHANNELS)
    index = {s: i for i, s in enumerate(_STATES)}
    tp_index = {t: i for i, t in enumerate(TOUCHPOINTS)}
    state_tp = np.array([tp_index[s.split("@")[0]] for s in _STATES], dtype=np.int16)
    is_post = np.array([s in _POST_STATES for s in _STATES], dtype=np.bool_)
    width = 1 + max(
        len(r) for spec in _SPECS.values() for r in {**_BASE_ROWS, **spec.rows}.values()
    )
    start = np.zeros((n_a, n_s))
    succ = np.full((n_a, n_s, width), -1, dtype=np.int16)
    succ_w = np.zeros((n_a, n_s, width))
    trans = np.zeros((n_a, n_s, n_s))
    break_p = np.zeros((n_a, n_s))
    channel_w = np.zeros((n_a, n_s, n_c))
    for a, name in enumerate(ARCHETYPES):
        spec = _SPECS[name]
        for state, w in spec.start.items():
            start[a, index[state]] = w
        rows = {**_BASE_ROWS, **spec.rows}
        for s, state in enumerate(_STATES):
            row = rows[state]
            total = sum(row.values())
            for k, (target, w) in enumerate(row.items()):
                succ[a, s, k] = -1 if target == _END else index[target]
                succ_w[a, s, k] = w
                if target != _END:
                    trans[a, s, index[target]] += w / total
            mult = spec.post_break if is_post[s] else spec.pre_break
            break_p[a, s] = min(0.95, _BASE_BREAK[state] * mult)
            channel_w[a, s] = np.array(_CHANNEL_WEIGHTS[TOUCHPOINTS[state_tp[s]]]) * np.array(
                spec.channel_boost
            )
    tie = np.array([_TIE.get(s, _BASE_TIE) for s in _STATES])
    specs = [_SPECS[name] for name in ARCHETYPES]
    return _Model(
        start_cum=_cumulative(start),
        succ=succ,
        succ_cum=_cumulative(succ_w),
        trans=trans,
        break_p=break_p.reshape(-1),
        tie_p=np.tile(tie, n_a),
        channel_cum=_cumulative(channel_w).reshape(n_a * n_s, n_c),
        device_cum=_cumulative(np.array([s.devices for s in specs], dtype=np.float64)),
        gap_log=np.log([s.gap_seconds for s in specs]),
        break_log=np.log([s.break_days * 86_400.0 for s in specs]),
        revenue_log=np.log([s.revenue for s in specs]),
        mood=np.array([s.mood for s in specs], dtype=np.float64),
        state_tp=state_tp,
        is_post=is_post,
    )


@dataclass(frozen=True)
class SampleData:
    """A generated event log and the ground truth about its customers.

    Attributes
    ----------
    events : polars.DataFrame
        One row per event, shuffled unless ``order=`` says otherwise: ``customer_id`` (Int64;
        String for ``ids="text"``),
        ``timestamp`` (``Datetime("us", "UTC")``, whole seconds), ``touchpoint``,
        ``channel`` and ``device`` (String).
    customers : polars.DataFrame
        One row per customer, in customer number order (sorted for ``ids="dense"``): the planted
        ``archetype`` (String), ``converted`` and ``churned`` (Boolean),
        ``revenue`` (Float64, 0.0 unless converted) and ``survey_score``
        (Int64 0..10, null when the customer did not answer the survey).
    """

    events: pl.DataFrame
    customers: pl.DataFrame


# --------------------------------------------------------------------------- #
# argument handling
# --------------------------------------------------------------------------- #
def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an integer, got {value!r}"
        raise JourneygraphError(msg)
    if value < minimum:
        msg = f"{name} must be >= {minimum}, got {value!r}"
        raise JourneygraphError(msg)
    return int(value)


def _check_weights(archetype_weights: Mapping[str, float] | None) -> _F64:
    if archetype_weights is None:
        archetype_weights = _DEFAULT_WEIGHTS
    unknown = sorted(set(archetype_weights) - set(ARCHETYPES))
    if unknown:
        msg = f"archetype_weights has unknown archetypes {unknown}; valid names are {ARCHETYPES}"
        raise JourneygraphError(msg)
    weights = np.zeros(len(ARCHETYPES))
    for i, name in enumerate(ARCHETYPES):
        w = archetype_weights.get(name, 0.0)
        if isinstance(w, bool) or not isinstance(w, int | float | np.number):
            msg = f"archetype_weights[{name!r}] must be a number, got {w!r}"
            raise JourneygraphError(msg)
        if not math.isfinite(w) or w < 0:
            msg = f"archetype_weights[{name!r}] must be finite and >= 0, got {w!r}"
            raise JourneygraphError(msg)
        weights[i] = float(w)
    if weights.sum() <= 0:
        msg = "archetype_weights must have a positive sum"
        raise JourneygraphError(msg)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _check_start(start: object) -> datetime:
    if isinstance(start, str):
        try:
            value = datetime.fromisoformat(start)
        except ValueError:
            msg = f"start={start!r} is not an ISO 8601 date or datetime, e.g. '2026-01-01'"
            raise JourneygraphError(msg) from None
    elif isinstance(start, datetime):
        value = start
    else:
        msg = f"start must be an ISO 8601 string or a datetime, got {start!r}"
        raise JourneygraphError(msg)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------- #
# simulation
# --------------------------------------------------------------------------- #
def _pick(cum_rows: _F64, u: _F64) -> _I64:
    """Index of the category each uniform ``u`` falls in, one cumulative row each."""
    return np.asarray((u[:, None] >= cum_rows).sum(axis=1), dtype=np.int64)


def _walk(model: _Model, a: int, m: int, rng: np.random.Generator) -> tuple[_I64, _I16, _I64]:
    """Run ``m`` customers of archetype ``a`` through its chain, all at once.

    Returns the local customer index, state and step of every event, step-major.
    """
    idx = np.arange(m, dtype=np.int64)
    start_cum = model.start_cum[a]
    state = np.searchsorted(start_cum, rng.random(m), side="right").astype(np.int16)
    succ, succ_cum = model.succ[a], model.succ_cum[a]
    out_idx: list[_I64] = []
    out_state: list[_I16] = []
    for step in range(_MAX_LEN):
        out_idx.append(idx)
        out_state.append(state)
        if step == _MAX_LEN - 1:
            break
        k = _pick(succ_cum[state], rng.random(idx.size))
        nxt = succ[state, k]
        alive = nxt >= 0
        idx, state = idx[alive], nxt[alive]
        if idx.size == 0:
            break
    sizes = np.array([len(i) for i in out_idx], dtype=np.int64)
    steps = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    return np.concatenate(out_idx), np.concatenate(out_state), steps


def _answer_probability(propensity: _F64, rate: float) -> _F64:
    """``min(1, c * propensity)`` with ``c`` chosen so that the mean is ``rate``."""
    n = propensity.size
    if rate <= 0.0:
        return np.zeros(n)
    if rate >= 1.0:
        return np.ones(n)
    w = np.sort(propensity)[::-1]
    tail = np.cumsum(w[::-1])[::-1]  # sum of w[k:]
    k = np.arange(n, dtype=np.float64)
    target = rate * n
    c = (target - k) / tail
    ok = (c * w <= 1.0) & (target - k > 0)
    first = int(np.argmax(ok))
    return np.asarray(np.minimum(1.0, c[first] * propensity), dtype=np.float64)


def generate(
    n_customers: int = 1_000,
    *,
    seed: int = 0,
    start: str | datetime = "2026-01-01",
    days: int = 90,
    survey_rate: float = 0.2,
    archetype_weights: Mapping[str, float] | None = None,
    ids: Ids = "dense",
    order: Order = "shuffled",
) -> SampleData:
    """Simulate customer journeys with planted archetypes.

    Each customer is assigned an archetype (by ``archetype_weights``) and walks
    that archetype's Markov chain over touchpoints; every event gets a channel
    and a device, and a timestamp from within-session gaps of seconds to
    minutes and occasional multi-day gaps between sessions. Journeys have about
    10 events on average (1 to 60). Outcomes are derived from the behaviour
    plus noise.

    Parameters
    ----------
    n_customers : int, default 1000
        Number of customers (>= 1). Customer ids are ``1..n_customers``.
    seed : int, default 0
        Seed for `default_rng`; the same arguments and seed
        always give identical frames.
    start : str or datetime, default "2026-01-01"
        Beginning of the period in which journeys start. Naive values are UTC.
    days : int, default 90
        Journeys start uniformly over this many days (>= 1); later events of a
        journey may fall after the period.
    survey_rate : float, default 0.2
        Expected share of customers who answer the survey (0..1). Happier
        customers answer more often, so answers overstate satisfaction.
    archetype_weights : mapping of str to float, optional
        Relative share of each archetype; missing archetypes get weight 0. The
        default is 30% straight_buyer, 20% researcher, 15% struggler, 15%
        stalled_churner and 20% app_first.
    ids : {"dense", "text", "sparse"}, default "dense"
        Customer ids: the integers ``1..n_customers`` (Int64), text
        (``"c1"``, ``"c2"``, ...; String, so their sorted order is not the
        numbers'), or sparse 64-bit integers spread over the whole Int64 range,
        as hashed ids are (a bijective mix of the numbers).
    order : {"shuffled", "time", "customer"}, default "shuffled"
        Order of the event rows: shuffled (with the seed); by time, customers
        interleaved, as logs arrive (ties by customer number, then step); or
        grouped by customer number, each customer's events in time order.

    Returns
    -------
    SampleData
        ``events`` (rows in ``order``) and ``customers`` (ground truth).

    Raises
    ------
    ValueError
        If an argument is out of range (a `JourneygraphError`).

    Examples
    --------
    >>> from journeygraph.datasets import ARCHETYPES, generate
    >>> data = generate(500, seed=1)
    >>> data.events.columns
    ['customer_id', 'timestamp', 'touchpoint', 'channel', 'device']
    >>> data.customers.columns
    ['customer_id', 'archetype', 'converted', 'churned', 'revenue', 'survey_score']
    >>> data.customers.height
    500
    >>> set(data.customers["archetype"]) == set(ARCHETYPES)
    True
    >>> 5 < data.events.height / data.customers.height < 15
    True
    >>> generate(500, seed=1).events.equals(data.events)
    True
    >>> log = generate(3, seed=1, ids="text", order="time").events
    >>> log["customer_id"].unique().sort().to_list()
    ['c1', 'c2', 'c3']
    >>> log["timestamp"].is_sorted()
    True
    """
    n = _check_int(n_customers, "n_customers", 1)
    seed = _check_int(seed, "seed", 0)
    days = _check_int(days, "days", 1)
    if (
        isinstance(survey_rate, bool)
        or not isinstance(survey_rate, int | float | np.number)
        or not 0.0 <= float(survey_rate) <= 1.0
    ):
        msg = f"survey_rate must be a number between 0 and 1, got {survey_rate!r}"
        raise JourneygraphError(msg)
    weights = _check_weights(archetype_weights)
    start_dt = _check_start(start)
    for name, value, allowed in (("ids", ids, get_args(Ids)), ("order", order, get_args(Order))):
        if value not in allowed:
            msg = f"{name} must be one of {list(allowed)}, got {value!r}"
            raise JourneygraphError(msg)
    start_us = (start_dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    model = _model()
    n_a, n_s = len(ARCHETYPES), len(_STATES)
    streams = np.random.default_rng(seed).spawn(8 + n_a)
    rng_assign, rng_time, rng_gap, rng_channel, rng_device, rng_outcome, rng_survey = streams[:7]
    rng_shuffle, rng_walks = streams[7], streams[8:]

    # --- archetypes and walks ------------------------------------------------
    arch = np.searchsorted(np.cumsum(weights), rng_assign.random(n), side="right")
    arch = np.minimum(arch, n_a - 1).astype(np.int8)
    parts_c: list[_I64] = []
    parts_s: list[_I16] = []
    parts_t: list[_I64] = []
    for a in range(n_a):
        members = np.flatnonzero(arch == a)
        if members.size == 0:
            continue
        local, states, steps = _walk(model, a, members.size, rng_walks[a])
        parts_c.append(members[local])
        parts_s.append(states)
        parts_t.append(steps)
    walk_c = np.concatenate(parts_c)
    lengths = np.bincount(walk_c, minlength=n).astype(np.int64)
    offsets = np.cumsum(lengths) - lengths
    n_events = int(lengths.sum())
    # Lay the events out customer by customer, in step order.
    pos = offsets[walk_c] + np.concatenate(parts_t)
    state = np.empty(n_events, dtype=np.int16)
    state[pos] = np.concatenate(parts_s)
    del walk_c, pos, parts_c, parts_s, parts_t
    cust = np.repeat(np.arange(n, dtype=np.int64), lengths)
    arch_e = arch[cust]
    key = arch_e.astype(np.int64) * n_s + state

    # --- time -----------------------------------------------------------------
    day = rng_time.integers(0, days, n)
    daytime = np.clip(rng_time.normal(14 * 3600, 3.5 * 3600, n), 0, 86_399)
    anytime = rng_time.uniform(0, 86_400, n)
    tod = np.where(rng_time.random(n) < 0.85, daytime, anytime).astype(np.int64)
    start_s = day * 86_400 + tod

    z = rng_gap.standard_normal(n_events)
    brk = rng_gap.random(n_events) < model.break_p[key]
    tie = (rng_gap.random(n_events) < model.tie_p[key]) & ~brk
    in_session = np.clip(np.rint(np.exp(model.gap_log[arch_e] + 0.9 * z)), 1, 1_500)
    # Session breaks are always longer than 31 minutes, so a 30-minute rule splits there.
    between = 1_860 + np.minimum(np.exp(model.break_log[arch_e] + 1.0 * z), 120 * 86_400.0)
    gap_after = np.where(brk, np.rint(between), np.where(tie, 0.0, in_session)).astype(np.int64)
    del z, tie, in_session, between
    gap = np.empty(n_events, dtype=np.int64)  # gap before each event
    gap[0] = 0
    gap[1:] = gap_after[:-1]
    gap[offsets] = 0
    del gap_after
    elapsed = np.cumsum(gap)
    elapsed -= np.repeat(elapsed[offsets], lengths)
    ts_us = start_us + (start_s[cust] + elapsed) * 1_000_000
    del elapsed

    # --- channel and device ---------------------------------------------------
    u = rng_channel.random(n_events)
    channel = np.zeros(n_events, dtype=np.int8)
    for j in range(len(CHANNELS) - 1):
        channel += u >= model.channel_cum[key, j]
    del u, key
    primary = _pick(model.device_cum[arch], rng_device.random(n)).astype(np.int8)
    prim_e = primary[cust]
    u1 = rng_device.random(n_events)
    u2 = rng_device.random(n_events)
    device = np.where(u1 < 0.85, prim_e, (u2 * 3).astype(np.int8))
    on_app = channel == CHANNELS.index("app")
    app_device = np.where(prim_e == 0, np.where(u2 < 0.8, 1, 2), prim_e)
    device = np.where(on_app, app_device, device).astype(np.int8)
    del prim_e, u1, u2, on_app, app_device

    # --- outcomes ---------------------------------------------------------------
    tp = model.state_tp[state]
    post = model.is_post[state]
    tp_index = {t: i for i, t in enumerate(TOUCHPOINTS)}

    def count(mask: _Bool) -> _I64:
        return np.add.reduceat(mask.astype(np.int64), offsets)

    converted = count(tp == tp_index["purchase"]) > 0
    cancelled = count(tp == tp_index["cancel"]) > 0
    support_codes = np.array([tp_index[t] for t in sorted(_SUPPORT)])
    n_support = count(np.isin(tp, support_codes))
    n_renewal = count(tp == tp_index["renewal"])
    n_upgrade = count(tp == tp_index["upgrade"])
    n_post = count(post)
    longest_post_gap = np.maximum.reduceat(np.where(post, gap, 0), offsets)
    stalled = converted & ((n_post == 0) | (longest_post_gap > 7 * 86_400))
    del gap, post, tp

    churn_p = np.clip(
        0.05 + 0.09 * np.minimum(n_support, 8) + 0.3 * stalled - 0.04 * n_renewal, 0.01, 0.9
    )
    churn_p = np.where(cancelled, 0.95, churn_p)
    churned = converted & (rng_outcome.random(n) < churn_p)
    order_value = np.exp(model.revenue_log[arch] + 0.5 * rng_outcome.standard_normal(n))
    revenue = np.where(
        converted, np.round(order_value * (1.0 + 0.9 * n_renewal + 0.4 * n_upgrade), 2), 0.0
    )

    # Latent satisfaction; every customer has one, only some answer.
    mood = (
        6.5
        + model.mood[arch]
        + 1.0 * converted
        + 1.0 * (n_renewal > 0)
        - 2.5 * churned
        - 0.4 * np.minimum(n_support, 6)
        + 1.3 * rng_survey.standard_normal(n)
    )
    score = np.clip(np.rint(mood), 0, 10).astype(np.int64)
    answer_p = _answer_probability(np.exp(0.35 * (mood - mood.mean())), float(survey_rate))
    answered = rng_survey.random(n) < answer_p

    # --- frames ------------------------------------------------------------------
    perm = rng_shuffle.permutation(n_events)
    if order == "time":
        perm = np.argsort(ts_us, kind="stable")
    elif order == "customer":
        perm = np.arange(n_events)
    customer_ids = _customer_ids(n, ids)
    events = pl.DataFrame(
        {
            "customer_id": customer_ids.gather(cust[perm]),
            "timestamp": pl.Series(ts_us[perm], dtype=pl.Datetime("us", "UTC")),
            "touchpoint": pl.Series(TOUCHPOINTS).gather(model.state_tp[state[perm]]),
            "channel": pl.Series(CHANNELS).gather(channel[perm]),
            "device": pl.Series(_DEVICES).gather(device[perm]),
        }
    )
    customers = pl.DataFrame(
        {
            "customer_id": customer_ids,
            "archetype": pl.Series(ARCHETYPES).gather(arch),
            "converted": pl.Series(converted, dtype=pl.Boolean),
            "churned": pl.Series(churned, dtype=pl.Boolean),
            "revenue": pl.Series(revenue, dtype=pl.Float64),
            "survey_score": pl.Series(score, dtype=pl.Int64),
        }
    ).with_columns(
        pl.when(pl.Series(answered))
        .then(pl.col("survey_score"))
        .otherwise(None)
        .alias("survey_score")
    )
    return SampleData(events=events, customers=customers)


def _customer_ids(n: int, ids: Ids) -> pl.Series:
    """The ids of customers ``1..n``, in that order (see `generate`)."""
    numbers = np.arange(1, n + 1, dtype=np.uint64)
    if ids == "text":
        return pl.select(pl.concat_str(pl.lit("c"), pl.Series(numbers).cast(pl.String))).to_series()
    if ids == "sparse":  # splitmix64's finaliser: a bijection, so the ids stay distinct
        z = numbers * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        numbers = z ^ (z >> np.uint64(31))
    return pl.Series(numbers.view(np.int64), dtype=pl.Int64)


def _mean_length(weights: _F64) -> float:
    """Expected events per customer under the chains (with the length cap)."""
    model = _model()
    start = np.diff(model.start_cum, axis=1, prepend=0.0)
    total = 0.0
    for a, w in enumerate(weights):
        if w == 0:
            continue
        p = start[a]
        expected = 0.0
        for _ in range(_MAX_LEN):
            expected += float(p.sum())
            p = p @ model.trans[a]
        total += w * expected
    return total


def events_for(
    n_events: int,
    *,
    seed: int = 0,
    start: str | datetime = "2026-01-01",
    days: int = 90,
    survey_rate: float = 0.2,
    archetype_weights: Mapping[str, float] | None = None,
    ids: Ids = "dense",
    order: Order = "shuffled",
) -> SampleData:
    """Generate about ``n_events`` events, choosing the number of customers for you.

    The number of customers is ``n_events`` divided by the expected events per
    customer (computed exactly from the archetype chains); if the sampled total
    misses by more than 2% the customer count is corrected and the log drawn
    again (this only happens for small ``n_events``). For ``n_events`` in the
    thousands and up the total is within 5% of the target.

    Parameters
    ----------
    n_events : int
        Target number of events (>= 1).
    seed, start, days, survey_rate, archetype_weights, ids, order
        As for `generate`.

    Returns
    -------
    SampleData

    Examples
    --------
    >>> from journeygraph.datasets import events_for
    >>> data = events_for(20_000, seed=3)
    >>> abs(data.events.height - 20_000) <= 1_000
    True
    """
    target = _check_int(n_events, "n_events", 1)
    weights = _check_weights(archetype_weights)
    n = max(1, round(target / _mean_length(weights)))
    best: SampleData | None = None
    for _ in range(4):
        data = generate(
            n,
            seed=seed,
            start=start,
            days=days,
            survey_rate=survey_rate,
            archetype_weights=archetype_weights,
            ids=ids,
            order=order,
        )
        if best is None or abs(data.events.height - target) < abs(best.events.height - target):
            best = data
        if abs(data.events.height - target) <= 0.02 * target:
            break
        n = max(1, round(n * target / data.events.height))
    assert best is not None
    return best
