"""The whole analysis as one page: :func:`report`.

`report` runs every step of the library on an event log — mine the journeys,
hold them against the journey map (or a map proposed from the journeys),
group them into archetypes, relate deviations to an outcome and survey
scores to behaviour — and writes what a CX lead needs to see into a folder:

* ``index.html``: the report. Headline numbers, where journeys leave, the
  journeys against the map (overlay graph, stage reach ideal vs actual), one
  card per archetype (description, share, graph, divergence profile, outcome
  rates), the deviations that go with the outcome, the perception gap, and
  how the numbers were made.
* ``graphs/overlay.html`` and ``graphs/archetype-<i>.html``: the same graphs
  full size, one `to_html` page each.
* ``proposed-map.yaml``: the proposed journey map, when none was given; edit
  it and pass it back.

Like `to_html`, every page is self-contained: vis-network is inlined once, the
graphs' data sits in ``<script type="application/json">`` elements with
``<``, ``>`` and ``&`` escaped, charts are inline SVG, a
Content-Security-Policy forbids any request to any host and runs only the
page's own scripts (by hash), and every name from the data is escaped. The
same input and seed give the same files, byte for byte.

Where each number comes from (to check one, compute it yourself):

=========================== ==============================================
headline customers, events  ``Journeys.n_journeys``, ``Journeys.n_events``
conformance, fitness        ``Divergence.conformance``, ``Divergence.summary()``
where journeys leave        ``Journeys.stats["exit"]``, ``Divergence.stage_reach()["drop_off"]``
stage reach                 ``Divergence.stage_reach()``
archetype cards             ``Archetypes.table``, ``Archetypes.graph(i)``,
                            ``Archetypes.distinctive_edges(i)``
moments that matter         ``Divergence.drivers(outcome).table``
perception gap              ``Divergence.perception_gap(score, outcome)``
=========================== ==============================================
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Literal

import polars as pl

from . import _page
from ._customers import (
    customer_table,
    from_attributes,
    is_outcome_type,
    outcome_kind,
    score_column,
)
from ._errors import JourneygraphError
from ._facts import facts_of
from ._report_html import SECTIONS, Drawings, page, section_facts
from ._report_segments import SEGMENT_SECTIONS
from .cluster import ArchetypeModel, cluster
from .compare import compare
from .ingest import EventLog
from .journeymap import JourneyMap
from .mine import Journeys, mine
from .render import draw

__all__ = ["report"]

_TOP_SHADOW = 12  # shadow paths drawn on the overlay
_TOP_DRIVERS = 10  # deviations listed against the outcome
# a proposed map gives a stage to touchpoints at least this share of journeys visit
# (5 % made two dozen stages on the sample data: an overlay too wide to read)
PROPOSED_MIN_SHARE = 0.2
# the report's sections: since when, for whom and the funnel go before the notes
REPORT_SECTIONS = (*SECTIONS[:-1], *SEGMENT_SECTIONS, SECTIONS[-1])


def report(
    log: EventLog | Journeys,
    jmap: JourneyMap | None = None,
    outdir: str | os.PathLike[str] | None = None,
    *,
    outcome: str | None = None,
    reached: str | None = None,
    customers: pl.DataFrame | None = None,
    customer: str | None = None,
    score: str | None = None,
    k: int | Literal["auto"] = "auto",
    seed: int = 0,
    title: str | None = None,
    progress: bool | None = None,
    by: str | None = None,
    every: str | None = None,
) -> Path:
    """Write the whole analysis of an event log as one self-contained HTML report.

    Mines the journeys, compares them with the journey map (or proposes one
    with `JourneyMap.from_journeys` when ``jmap`` is None, and says so on the
    page), finds archetypes, relates deviations to ``outcome`` and survey
    scores to behaviour, and writes ``index.html`` plus full-size graph pages
    under ``graphs/`` into ``outdir``. Everything opens offline; the same
    input and seed give the same files, byte for byte.

    Parameters
    ----------
    log
        Events read with :func:`journeygraph.read_events` (mined with
        `mine`'s defaults: one journey per customer), or journeys mined with
        :func:`journeygraph.mine`, so every mining option applies: sessions
        (``journey="session"``), renaming, keep/drop, a time window. With
        session journeys every number on the page counts sessions, and says so.
    jmap
        The company's journey map; None proposes one from the journeys (and
        writes it to ``proposed-map.yaml`` to edit and pass back).
    outdir
        Folder to write (created if missing; files of an earlier report are
        replaced).
    outcome
        A boolean or numeric column of ``customers`` (``churned``,
        ``revenue``): the report shows which deviations go with it and its
        rate per archetype.
    reached
        A touchpoint or stage: the moments that matter are about reaching it
        (``"purchase"``), counting only what journeys did before. It takes
        the place of ``outcome`` there; a proposed map ends at it.
    customers
        One row per customer: a ``customer`` column (or the events' own
        customer column name) plus outcomes and survey scores. By default the
        last non-null value of each numeric or boolean event attribute.
    customer
        The customer table's id column, when it is neither ``customer`` nor
        the events' own customer column name.
    score
        A numeric survey column of ``customers`` for the perception gap; by
        default the first numeric column named like ``score``, ``nps``,
        ``csat``, ``rating`` or ``satisfaction``, if any.
    k
        Number of archetypes, or "auto" (see :func:`journeygraph.cluster`).
    seed
        Seed of the archetype model: same input and seed, same report.
    title
        Page title; by default "Customer journeys".
    progress
        Show progress bars on standard error; None shows them when standard
        error is a terminal.
    by
        Adds a "Segments" section (each group against the rest) and splits the
        funnel and "What changed" by this column of ``customers``, or by the
        journeys' last channel when it names the channel column (or is
        ``"channel"``).
    every
        Adds a "What changed" section: rates per period of this length
        (``"1w"``, ``"1d"``) against their baseline, and the top episodes.

    Returns
    -------
    Path
        The report page, ``outdir/index.html``.

    Examples
    --------
    >>> import tempfile
    >>> import journeygraph as jg
    >>> from journeygraph import datasets
    >>> sample = datasets.generate(400, seed=0)
    >>> log = jg.read_events(sample.events, **datasets.COLUMNS)
    >>> jmap = jg.JourneyMap.linear(datasets.IDEAL_STAGES, optional=["Renew"])
    >>> page = jg.report(log, jmap, tempfile.mkdtemp(), outcome="churned",
    ...                  customers=sample.customers, k=3)
    >>> page.name, sorted(p.name for p in (page.parent / "graphs").iterdir())
    ('index.html', ['archetype-0.html', 'archetype-1.html', 'archetype-2.html', 'overlay.html'])
    >>> text = page.read_text(encoding="utf-8")
    >>> 'data-kpi="customers" data-value="400"' in text, "proposed" in text
    (True, False)
    """
    _check_arguments(log, jmap, outdir, outcome=outcome, score=score, title=title, reached=reached)
    assert outdir is not None  # checked above
    folder = Path(outdir)
    # checks k, seed and progress before any work
    ArchetypeModel(k, seed=seed, progress=progress)
    show = sys.stderr.isatty() if progress is None else progress
    with _Steps(show, total=4 if jmap is not None else 5) as step:
        step("reading and mining events")
        journeys: Any = (
            log if isinstance(log, Journeys) or _on_spark(log, "SparkJourneys") else mine(log)
        )
        events = journeys.log
        if events is None:  # merged journeys: no event attributes to read outcomes from
            events = log if isinstance(log, EventLog) else None
        table = _customer_table(events, customers, customer, journeys)
        kind = None if outcome is None else outcome_kind(table, outcome, fix=_fix(outcome))
        score = score_column(table, score, outcome=outcome)
        proposed = PROPOSED_MIN_SHARE if jmap is None else None
        if jmap is None:
            step("proposing a journey map")
            jmap = JourneyMap.from_journeys(journeys, min_share=PROPOSED_MIN_SHARE, reached=reached)
        step("comparing journeys with the map")
        div = compare(journeys, jmap, customers=table)
        step("finding archetypes")
        arch = cluster(journeys, k, seed=seed, jmap=div, customers=table, progress=progress)
        step("writing the report")
        facts = facts_of(
            journeys,
            div,
            arch,
            customers=table,
            outcome=outcome,
            outcome_kind=kind,
            reached=reached,
            score=score,
            proposed=proposed,
            k_asked=k,
            seed=seed,
            top_shadow=_TOP_SHADOW,
            top_drivers=_TOP_DRIVERS,
        )
        channel = None if events is None else events.schema.channel
        split = "channel" if by is not None and by == channel else by
        facts = dataclasses.replace(facts, by=split, by_name=by, every=every)
        own = section_facts(
            facts, REPORT_SECTIONS
        )  # each section's own numbers, before any page is made
        # the overlay is laid out once: in the page and on its own full-size page; the
        # archetype cards show the main transitions, their full-size pages every one
        drawings = Drawings(
            overlay=draw(facts.overlay),
            archetypes=[draw(graph) for graph in facts.archetype_thumbnails],
        )
        full = [draw(graph) for graph in facts.archetype_graphs]
        html = page(
            facts, drawings, own=own, title=title or "Customer journeys", sections=REPORT_SECTIONS
        )
        folder.mkdir(parents=True, exist_ok=True)
        if proposed is not None:
            jmap.to_yaml(folder / "proposed-map.yaml")
        graphs = folder / "graphs"
        for stale in graphs.glob("archetype-*.html"):
            stale.unlink()  # from an earlier report with more archetypes
        _page.write(drawings.overlay, graphs / "overlay.html")
        for i, drawing in enumerate(full):
            _page.write(drawing, graphs / f"archetype-{i}.html")
        target = folder / "index.html"
        target.write_text(html, encoding="utf-8", newline="\n")
    return target


# --------------------------------------------------------------------- arguments
def _check_arguments(
    log: Any, jmap: Any, outdir: Any, *, outcome: Any, score: Any, title: Any, reached: Any
) -> None:
    if not isinstance(log, EventLog | Journeys) and not _on_spark(log):
        msg = (
            "report needs an EventLog or mined Journeys: read the events first with "
            "jg.read_events(source, customer=..., timestamp=..., touchpoint=...) (and mine "
            f"them with jg.mine(log, ...) for sessions or filters), not {type(log).__name__}"
        )
        raise JourneygraphError(msg)
    if jmap is not None and not isinstance(jmap, JourneyMap):
        msg = (
            "jmap must be a JourneyMap (jg.JourneyMap.from_yaml(path)) or None to propose one, "
            f"not {type(jmap).__name__}"
        )
        raise JourneygraphError(msg)
    if outdir is None:
        msg = "name the folder to write the report into: jg.report(log, jmap, 'report/')"
        raise JourneygraphError(msg)
    if not isinstance(outdir, str | os.PathLike):
        msg = f"outdir must be a folder name, not {type(outdir).__name__}"
        raise JourneygraphError(msg)
    if Path(outdir).exists() and not Path(outdir).is_dir():
        msg = f"outdir {os.fspath(outdir)!r} is a file; name a folder for the report"
        raise JourneygraphError(msg)
    for name, value in (
        ("outcome", outcome),
        ("score", score),
        ("title", title),
        ("reached", reached),
    ):
        if value is not None and not isinstance(value, str):
            msg = f"{name} must be a column name (a string) or None, not {value!r}"
            raise JourneygraphError(msg)


def _customer_table(
    log: Any,
    customers: pl.DataFrame | None,
    customer: str | None,
    journeys: Any,
) -> pl.DataFrame | None:
    """The customer table (the events' own customer column name works as its id column),
    or one made of the events' boolean and numeric attributes."""
    if customers is None:
        if log is None:
            return None
        if _on_spark(log):  # each partition (whole customers) by the local code
            usable = [a for a, d in log.attribute_types.items() if is_outcome_type(d)]
            if not usable:
                return None
            found: pl.DataFrame = log.customer_values(usable, from_attributes, journeys.id_type)
            return found
        schema = log.lazy().collect_schema()
        usable = [a for a in log.attributes if is_outcome_type(schema[a])]
        return from_attributes(log, usable) if usable else None
    ids = journeys.id_type if _on_spark(journeys) else journeys.core.id_type
    also = None if log is None else log.schema.customer
    return customer_table(customers, ids=ids, customer=customer, also=also)


def _on_spark(value: object, kind: str | None = None) -> bool:
    """Whether ``value`` is a Spark log or Spark journeys (or the one ``kind`` named)."""
    if type(value).__module__ != "journeygraph._spark":
        return False
    return kind is None or type(value).__name__ == kind


def _fix(outcome: str) -> str:
    return (
        f": give a customer table (customers=, or --customers on the command line) with the "
        f"customer ids and {outcome!r}, or keep {outcome!r} as a column of the events"
    )


# ------------------------------------------------------------------------ steps
class _Steps:
    """A progress bar over the report's steps (tqdm on standard error), or nothing."""

    def __init__(self, show: bool, *, total: int) -> None:
        self._bar: Any = None
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="journeygraph report", file=sys.stderr, leave=False)
        self._started = False

    def __enter__(self) -> _Steps:
        return self

    def __call__(self, name: str) -> None:
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_description(f"journeygraph: {name}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
