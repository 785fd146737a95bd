"""Archetypes: features against a plain-Python reference, EM invariants, quality on
planted archetypes, the results tables against brute force, and errors."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from sklearn.metrics import adjusted_rand_score

import journeygraph as jg
from journeygraph import datasets
from journeygraph.strategies import event_logs

cluster_module = importlib.import_module("journeygraph.cluster")
COLUMNS = {"customer": "customer", "timestamp": "timestamp", "touchpoint": "touchpoint"}
ALPHABET = ("home", "search", "product", "cart", "pay", "chat")


def mine(frame: pl.DataFrame, **columns: str) -> jg.Journeys:
    return jg.mine(jg.read_events(frame, **(columns or COLUMNS)))


# --------------------------------------------------------------------------- #
# features: the engine's sparse counts equal a plain-Python reading of the events
# --------------------------------------------------------------------------- #
def gap_label(seconds: float) -> str:
    for bound, label in cluster_module.GAP_BINS:
        if seconds < bound:
            return str(label)
    return ">=30d"


def reference_features(frame: pl.DataFrame, channel: bool) -> dict[Any, Counter[str]]:
    """Feature counts per customer, straight from the event rows (no ties in time)."""
    by_customer: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        by_customer[row["customer"]].append(row)
    out: dict[Any, Counter[str]] = {}
    for customer, rows in by_customer.items():
        rows.sort(key=lambda r: r["timestamp"])
        c: Counter[str] = Counter()
        c[f"entry:{rows[0]['touchpoint']}"] += 1
        for a, b in zip(rows, [*rows[1:], None], strict=True):
            c[f"visit:{a['touchpoint']}"] += 1
            c[f"move:{a['touchpoint']}>{b['touchpoint'] if b else '(end)'}"] += 1
            if channel:
                c[f"channel:{a['touchpoint']}@{a['channel']}"] += 1
            if b is not None:
                c[f"gap:{gap_label((b['timestamp'] - a['timestamp']).total_seconds())}"] += 1
        out[customer] = c
    return out


@settings(max_examples=40, deadline=None)
@given(
    frame=event_logs(
        customers=(2, 6),
        events=(1, 9),
        touchpoints=ALPHABET,
        channels=("web", "app"),
        span=dt.timedelta(days=40),
        ties=False,
    )
)
@pytest.mark.parametrize("channels", [False, True])
def test_feature_rows_count_exactly_what_the_events_show(
    frame: pl.DataFrame, channels: bool
) -> None:
    journeys = mine(frame, **COLUMNS, channel="channel")
    space = cluster_module._space_of(journeys, channels_too=channels)
    rows = cluster_module._rows_of(journeys, space)
    expected = reference_features(frame, channel=channels)
    assert rows.weight.sum() == journeys.n_journeys
    X = rows.X.toarray()
    for code, customer in enumerate(journeys.stats.get_column("journey")):
        row = X[rows.inverse[code]]
        got = Counter({space.names[i]: int(v) for i, v in enumerate(row) if v})
        assert got == expected[customer]
    # identical rows are folded: distinct rows really are distinct
    assert len({tuple(r) for r in X}) == X.shape[0]


# --------------------------------------------------------------------------- #
# EM
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def small() -> tuple[datasets.SampleData, jg.Journeys]:
    data = datasets.generate(3_000, seed=3)
    return data, jg.mine(jg.read_events(data.events, **datasets.COLUMNS))


def test_em_never_lowers_the_likelihood(small: tuple[datasets.SampleData, jg.Journeys]) -> None:
    _, journeys = small
    space = cluster_module._space_of(journeys, channels_too=True)
    rows = cluster_module._rows_of(journeys, space)
    resp = np.random.default_rng(0).dirichlet(np.ones(4), size=rows.X.shape[0])
    # the prior adds log p(parameters); EM climbs the posterior, so compare that
    logliks = []
    for n in range(1, 12):
        fit = cluster_module._em(rows, space, resp, max_iter=n, tol=0.0)
        prior = cluster_module._ALPHA * (fit.log_prob.sum() + fit.log_weight.sum())
        logliks.append(fit.loglik + prior)
    assert all(b >= a - 1e-6 * abs(a) for a, b in itertools.pairwise(logliks))


def test_probabilities_are_distributions_within_each_group(
    small: tuple[datasets.SampleData, jg.Journeys],
) -> None:
    _, journeys = small
    model = jg.ArchetypeModel(k=3, seed=0).fit(journeys)
    starts = model._space.group_starts
    sums = np.add.reduceat(np.exp(model.feature_log_prob_), starts, axis=1)
    np.testing.assert_allclose(sums, 1.0, rtol=1e-9)
    assert math.isclose(model.weights_.sum(), 1.0)
    assert list(model.weights_) == sorted(model.weights_, reverse=True)
    assert len(model.feature_names_) == model.feature_log_prob_.shape[1]


def test_separate_worlds_are_recovered_exactly() -> None:
    # three groups of customers that share no touchpoint: any sane model splits them
    rng = np.random.default_rng(1)
    worlds = [("a1", "a2", "a3"), ("b1", "b2"), ("c1", "c2", "c3", "c4")]
    rows, truth = [], []
    for customer in range(300):
        world = worlds[customer % 3]
        truth.append(customer % 3)
        for t in range(int(rng.integers(2, 7))):
            rows.append((customer, t * 60, str(rng.choice(world))))
    frame = pl.DataFrame(rows, schema=["customer", "timestamp", "touchpoint"], orient="row")
    arch = jg.cluster(mine(frame), k="auto", k_range=(2, 6), seed=0)
    assert len(arch) == 3
    assert adjusted_rand_score(truth, arch.labels.get_column("archetype")) == 1.0


def test_knee_of_a_hand_computed_curve() -> None:
    # x = 0, .25, .5, .75, 1 and y = 0, .6, .9, .95, 1: gains .35, .4, .2 -> k = 4
    assert cluster_module._knee([2, 3, 4, 5, 6], [0.0, 6.0, 9.0, 9.5, 10.0]) == 4
    # a straight line has no knee: the smallest k
    assert cluster_module._knee([2, 3, 4], [1.0, 2.0, 3.0]) == 2


# --------------------------------------------------------------------------- #
# quality on planted archetypes (the bar: ARI >= 0.9 at 100k, k found)
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray[Any, Any], jg.Journeys]:
    data = datasets.generate(100_000, seed=11)
    journeys = jg.mine(jg.read_events(data.events, **datasets.COLUMNS))
    truth = data.customers.sort("customer_id").get_column("archetype").to_numpy()
    return truth, journeys


def test_auto_finds_the_planted_archetypes_and_two_seeds_agree(
    planted: tuple[np.ndarray[Any, Any], jg.Journeys],
) -> None:
    truth, journeys = planted
    first = jg.ArchetypeModel("auto", seed=0).fit(journeys)
    assert first.k_ == len(datasets.ARCHETYPES)
    assert adjusted_rand_score(truth, first.labels_) >= 0.9
    second = jg.ArchetypeModel("auto", seed=1).fit(journeys)
    assert adjusted_rand_score(first.labels_, second.labels_) >= 0.9
    chosen = first.selection_.filter(pl.col("chosen")).get_column("k").to_list()
    assert chosen == [first.k_]


# --------------------------------------------------------------------------- #
# determinism and predict
# --------------------------------------------------------------------------- #
def test_same_seed_same_everything(small: tuple[datasets.SampleData, jg.Journeys]) -> None:
    _, journeys = small
    a = jg.cluster(journeys, k="auto", k_range=(2, 5), seed=4)
    b = jg.cluster(journeys, k="auto", k_range=(2, 5), seed=4)
    assert a.labels.equals(b.labels)
    assert a.table.equals(b.table)
    np.testing.assert_array_equal(a.model.feature_log_prob_, b.model.feature_log_prob_)


def test_predict_labels_new_customers_and_ignores_unseen_touchpoints(
    small: tuple[datasets.SampleData, jg.Journeys],
) -> None:
    _, journeys = small
    model = jg.ArchetypeModel(k=4, seed=0).fit(journeys)
    # the same journeys under new customer ids, plus a touchpoint the model never saw
    events = small[0].events.with_columns(pl.col("customer_id") + 10_000)
    unseen = events.head(1).with_columns(pl.lit("hologram").alias("touchpoint"))
    new = jg.mine(jg.read_events(pl.concat([events, unseen]), **datasets.COLUMNS))
    predicted = model.predict(new)
    assert predicted.height == journeys.n_journeys
    # everyone but the customer with the extra event keeps the training label
    changed = unseen.get_column("customer_id")[0]
    same = predicted.filter(pl.col("journey") != changed).get_column("archetype").to_numpy()
    train = np.delete(model.labels_, np.flatnonzero(journeys.stats["journey"] == changed - 10_000))
    np.testing.assert_array_equal(same, train)


# --------------------------------------------------------------------------- #
# the results against brute force
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def described(small: tuple[datasets.SampleData, jg.Journeys]) -> jg.Archetypes:
    data, journeys = small
    jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES)
    outcomes = data.customers.rename({"customer_id": "customer"})
    return jg.cluster(journeys, k=4, seed=0, jmap=jmap, customers=outcomes)


def test_table_sizes_outcomes_and_examples(
    described: jg.Archetypes, small: tuple[datasets.SampleData, jg.Journeys]
) -> None:
    data, _journeys = small
    table = described.table
    labels = dict(described.labels.select("journey", "archetype").iter_rows())
    counts = Counter(labels.values())
    assert table.get_column("size").to_list() == [counts[i] for i in range(4)]
    assert math.isclose(table.get_column("share").sum(), 1.0)
    converted = dict(data.customers.select("customer_id", "converted").iter_rows())
    for row in table.iter_rows(named=True):
        members = [j for j, a in labels.items() if a == row["archetype"]]
        rate = sum(converted[j] for j in members) / len(members)
        assert math.isclose(row["converted"], rate)
        assert labels[row["representative"]] == row["archetype"]
        assert row["representative"] == row["examples"][0]
        assert all(labels[j] == row["archetype"] for j in row["examples"])
        assert isinstance(row["description"], str)
        assert row["description"]
        assert 0 <= row["conformance"] <= 1
        assert 0 <= row["fitness"] <= 1


def test_a_divergence_is_reused_as_the_map(
    described: jg.Archetypes, small: tuple[datasets.SampleData, jg.Journeys]
) -> None:
    _, journeys = small
    div = described.divergence
    assert div is not None
    again = jg.cluster(journeys, k=4, seed=0, jmap=div)
    assert again.divergence is div
    columns = ["conformance", "fitness", "with_off_map"]
    assert again.table.select(columns).equals(described.table.select(columns))
    other = mine(pl.DataFrame({"customer": [1, 2], "timestamp": [1, 1], "touchpoint": ["a", "b"]}))
    with pytest.raises(jg.JourneygraphError, match="Divergence of other journeys"):
        jg.cluster(other, k=2, jmap=div)


def test_entry_and_exit_distributions_by_brute_force(described: jg.Archetypes) -> None:
    labels = dict(described.labels.select("journey", "archetype").iter_rows())
    stats = described.journeys.stats.select("journey", "entry", "exit").rows()
    for of, column in (("entry", 1), ("exit", 2)):
        expected = Counter((labels[row[0]], row[column]) for row in stats)
        size = Counter(labels.values())
        got = described.distribution(of)
        assert {(a, t): n for a, t, n, _ in got.rows()} == dict(expected)
        for a, _, n, share in got.rows():
            assert math.isclose(share, n / size[a])
    with pytest.raises(jg.JourneygraphError, match='of must be "entry" or "exit"'):
        described.distribution("middle")  # type: ignore[arg-type]


def test_archetype_graph_support_and_lift_by_brute_force(described: jg.Archetypes) -> None:
    edges = described.journeys.edges.select("journey", "source", "target", "count").rows()
    labels = dict(described.labels.select("journey", "archetype").iter_rows())
    size = Counter(labels.values())
    n = len(labels)
    users: dict[tuple[int, str, str], set[Any]] = defaultdict(set)
    everyone: dict[tuple[str, str], set[Any]] = defaultdict(set)
    events: Counter[tuple[int, str, str]] = Counter()
    for journey, source, target, count in edges:
        users[(labels[journey], source, target)].add(journey)
        everyone[(source, target)].add(journey)
        events[(labels[journey], source, target)] += count
    for i in described:
        g = described.graph(i, min_support=0.1)
        assert g.graph["size"] == size[i]
        expected = {
            (s, t)
            for (a, s, t), members in users.items()
            if a == i and len(members) / size[i] >= 0.1
        }
        assert set(g.edges) == expected
        for s, t, d in g.edges(data=True):
            support = len(users[(i, s, t)]) / size[i]
            assert math.isclose(d["support"], support)
            assert d["weight"] == d["support"]
            assert d["events"] == events[(i, s, t)]
            assert math.isclose(d["lift"], support / (len(everyone[(s, t)]) / n))
        top = described.distinctive_edges(i, top=3, min_support=0.1)
        lifts = top.get_column("lift").to_list()
        assert lifts == sorted(lifts, reverse=True)
        assert all(lift > 1 for lift in lifts)
        # under-represented: common among everyone (>= 10 %), lowest lift, below 1
        under = described.distinctive_edges(i, top=3, min_support=0.1, direction="under")
        expected_under = sorted(
            (
                (len(users[(i, s, t)]) / size[i]) / (len(members) / n),
                -len(members),
                s,
                t,
            )
            for (s, t), members in everyone.items()
            if len(members) / n >= 0.1
        )
        expected_under = [e for e in expected_under if e[0] < 1][:3]
        assert under.select("source", "target").rows() == [(s, t) for _, _, s, t in expected_under]
        for row, (lift, *_) in zip(under.iter_rows(named=True), expected_under, strict=True):
            assert math.isclose(row["lift"], lift)


def test_customers_from_event_attributes() -> None:
    frame = pl.DataFrame(
        {
            "customer": [1, 1, 2, 2, 3, 3, 4],
            "timestamp": [1, 2, 1, 2, 1, 2, 1],
            "touchpoint": ["a", "b", "a", "b", "c", "d", "c"],
            "bought": [None, True, None, False, None, True, False],
        }
    )
    log = jg.read_events(frame, **COLUMNS)
    arch = jg.cluster(jg.mine(log), k=2, seed=0, customers=log)
    rates = dict(arch.table.select("size", "bought").iter_rows())
    assert rates == {2: 0.5}  # {1, 2} and {3, 4}: one buyer each


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 1}, "k must be an integer >= 2"),
        ({"k": "many"}, "k must be an integer >= 2"),
        ({"k": True}, "k must be an integer >= 2"),
        ({"k_range": (2, 3)}, "k_range must be"),
        ({"k_range": (1, 8)}, "k_range must be"),
        ({"k_range": 5}, "k_range must be"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"n_init": 0}, "n_init must be"),
        ({"max_iter": 0}, "max_iter must be"),
        ({"sample_size": 10}, "sample_size must be"),
        ({"tol": -1.0}, "tol must be"),
        ({"progress": "yes"}, "progress must be"),
        ({"channels": "yes"}, "channels must be True or False"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(jg.JourneygraphError, match=message):
        jg.ArchetypeModel(**kwargs)


def test_misuse_gets_clear_errors(small: tuple[datasets.SampleData, jg.Journeys]) -> None:
    data, journeys = small
    with pytest.raises(jg.JourneygraphError, match="not fitted yet"):
        jg.ArchetypeModel(k=2).predict(journeys)
    with pytest.raises(jg.JourneygraphError, match="mine the events first"):
        jg.cluster(data.events)  # type: ignore[arg-type]
    arch = jg.cluster(journeys, k=2)
    with pytest.raises(jg.JourneygraphError, match="archetype must be an integer from 0 to 1"):
        arch.graph(2)
    with pytest.raises(jg.JourneygraphError, match="min_support"):
        arch.graph(0, min_support=2)
    with pytest.raises(jg.JourneygraphError, match="needs a 'customer' column"):
        jg.cluster(journeys, k=2, customers=data.customers)
    one = mine(pl.DataFrame({"customer": [1, 2], "timestamp": [1, 1], "touchpoint": ["a", "a"]}))
    with pytest.raises(jg.JourneygraphError, match="cannot form 2 archetypes from 1 distinct"):
        jg.cluster(one, k=2)


def test_archetypes_are_about_behaviour_not_the_device_column() -> None:
    """Two planted behaviours; every customer uses one device for everything,
    independent of behaviour. Archetypes follow behaviour, not the device."""
    rng = np.random.default_rng(8)
    shop = ["search", "product", "cart", "checkout"]
    care = ["home", "help", "support_chat", "faq"]
    rows, truth, devices = [], [], []
    t0 = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    for c in range(600):
        group = int(rng.random() < 0.5)
        device = str(rng.choice(["desktop", "mobile", "tablet"]))
        truth.append(group)
        devices.append(device)
        steps = care if group else shop
        path = [steps[0]] + [str(rng.choice(steps[1:])) for _ in range(int(rng.integers(3, 9)))]
        start = t0 + dt.timedelta(hours=float(rng.uniform(0, 2000)))
        rows += [
            (f"c{c:04d}", start + dt.timedelta(minutes=2 * j), tp, device)
            for j, tp in enumerate(path)
        ]
    frame = pl.DataFrame(
        rows, schema=["customer", "timestamp", "touchpoint", "channel"], orient="row"
    ).sort("timestamp")
    journeys = mine(frame, **COLUMNS, channel="channel")
    arch = jg.cluster(journeys, k=2, seed=0)
    labels = arch.labels.get_column("archetype").to_list()
    order = {f"c{c:04d}": c for c in range(600)}
    ids = arch.labels.get_column("journey").to_list()
    by_truth = [truth[order[j]] for j in ids]
    by_device = [devices[order[j]] for j in ids]
    assert adjusted_rand_score(by_truth, labels) >= 0.9
    assert adjusted_rand_score(by_device, labels) <= 0.05
    assert not any("mostly" in d for d in arch.table.get_column("description"))
    # the representative journey is shown as its path
    for row in arch.table.iter_rows(named=True):
        first = row["representative_path"].split(" \u2192 ")[0]
        assert first in ("search", "home")
