"""The same analysis on Apache Spark (``pip install "journeygraph[spark]"``).

The engine works one customer at a time, so Spark runs it unchanged: the
events are partitioned by customer, every partition is read and mined by the
local `read_events` and `mine` on an executor (``mapInArrow``), and the
small, summable per-partition results are added up. Nothing here redefines a
journey measure; this module only moves rows and adds sums.

What runs where:

* **executors**: checking and typing rows, ordering, sessions, every
  per-journey table (``edges``, ``nodes``, ``stats``) and per-partition sums
  (edge and touchpoint counts, variant counts, transition-duration value
  counts, report counts). One pass over the events, persisted.
* **driver**: adding up the sums (a few thousand rows), exact medians from the
  duration value counts, and anything the caller collects.

Ties. After a shuffle input order means nothing, so the order of events with
equal timestamps comes from a rule, recorded in ``SparkEventLog.tie_rule``:

1. with ``tie_breaker=``, the local rule (tie-breaker, touchpoint, channel);
2. a frame read from files: the (file, row) order, from Spark's hidden
   ``_metadata`` columns (Parquet's ``row_index``; for other formats the
   file's split and the row's place in it, which is the row order as long as
   the frame is the read plus row-wise steps such as ``filter`` or ``select``);
3. any other frame: equal timestamps are ordered by touchpoint, then channel.

Under the same rule local results are identical: files read by
``jg.read_events("dir/*.parquet")`` keep (file, row) order too, and rule 3
equals reading a frame sorted by customer, timestamp, touchpoint and channel.

pyspark is imported only by the functions that need it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import polars as pl

from . import _page
from ._aggregates import Weight, aggregate_graph_of, edge_table, variant_table
from ._deviations import NAMES as DEVIATIONS
from ._errors import FilteredOutError, JourneygraphError, LocalOnlyError
from ._frames import RAW_TS, REASON, ROW
from .schema import EventSchema, IngestReport, MineOptions

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from ._moments import Moments
    from .flows import Flows

__all__ = ["CompareCode", "Engine", "SparkEventLog", "SparkJourneys", "mine", "read_events"]

EventLog = Any  # journeygraph.ingest.EventLog (this module sits below ingest and mine)
Journeys = Any  # journeygraph.mine.Journeys
# what executors make of one partition's local journeys: named tables
Work = Callable[[Journeys], dict[str, pl.DataFrame]]


@dataclass(frozen=True)
class Engine:
    """The local engine's entry points, handed over by `read_events` and `mine`.

    Executors run exactly these functions on their partitions. They are passed
    in rather than imported because `ingest` and `mine` dispatch to this module.
    """

    read_events: Callable[..., Any]
    tally: Callable[..., IngestReport]
    mine: Callable[..., Any] | None = None


# helper columns of the prepared source frame: the (file, row) tie order
_FILE, _BLOCK, _POS = "_jg_file", "_jg_block", "_jg_pos"
# the per-partition tables one mining pass writes, each as one struct column
_TABLES = ("edges", "nodes", "stats", "pairs", "touchpoints", "durations", "variants", "report")
_REPORT_FIELDS = [("field", pl.String()), ("key", pl.String()), ("n", pl.Int64())]
_DURATION_FIELDS = [
    ("source", pl.String()),
    ("target", pl.String()),
    ("duration", pl.Int64()),
    ("n", pl.Int64()),
]


# ---------------------------------------------------------------------------- reading
class SparkEventLog:
    """Events in a Spark DataFrame, checked by the same rules as `EventLog`.

    Build one with ``jg.read_events(spark_df, ...)``. Rows are checked by
    Spark the first time a result is needed (`report` or `mine`).

    Attributes
    ----------
    schema : EventSchema
        The column mapping, as for a local log.
    frame : pyspark.sql.DataFrame
        The event columns and the helper columns of the tie rule.
    tie_rule : str
        How events of one customer with equal timestamps are ordered.
    """

    def __init__(
        self,
        frame: DataFrame,
        schema: EventSchema,
        order: tuple[str, ...],
        tie_rule: str,
        engine: Engine,
    ) -> None:
        self.frame = frame
        self._engine = engine
        self.schema = schema
        self.tie_rule = tie_rule
        self._order = order
        self._reason_counts: dict[str | None, int] | None = None
        self._shuffled: DataFrame | None = None

    def __repr__(self) -> str:
        roles = ", ".join(f"{k}={v!r}" for k, v in self.schema.roles.items())
        return f"SparkEventLog({roles}, ties: {self.tie_rule})"

    @property
    def has_channel(self) -> bool:
        """Whether a channel column was named."""
        return self.schema.channel is not None

    @property
    def attributes(self) -> list[str]:
        """Names of the extra attribute columns carried along."""
        fixed = {*self.schema.roles.values(), _FILE, _BLOCK, _POS}
        return [c for c in self.frame.columns if c not in fixed]

    @cached_property
    def report(self) -> IngestReport:
        """Rows read, kept and dropped by reason, counted by Spark (same rules and errors)."""
        counts = self._check() if self._reason_counts is None else self._reason_counts
        self._reason_counts = counts
        return self._engine.tally(self.schema, counts, self._examples)

    @property
    def attribute_types(self) -> dict[str, pl.DataType]:
        """The polars type of every attribute column (as a local log would have it)."""
        return dict(_empty_like(self.frame.select(*self.attributes)).schema)

    def customer_values(
        self,
        columns: list[str],
        local: Callable[[EventLog, list[str]], pl.DataFrame],
        id_type: pl.DataType,
    ) -> pl.DataFrame:
        """One row per customer made by ``local`` (``from_attributes``: each attribute's
        last value) on every partition of whole customers, collected, sorted by customer."""
        plan = self._plan()
        plan = dataclasses.replace(plan, read={**plan.read, "attributes": list(columns)})
        types = self.attribute_types
        layout = {"values": [("customer", id_type), *[(c, types[c]) for c in columns]]}
        helpers = [c for c in self.frame.columns if c in _HELPERS]
        frame = self.frame.select(*self.schema.roles.values(), *columns, *helpers)

        def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            events = _local_frame(list(batches), plan.order, plan.helpers)
            if events is None:
                return
            log = plan.log(events)
            if log.reason_counts().get(None):
                yield _batch("values", local(log, list(columns)), layout)

        parts = frame.repartition(self.schema.customer).mapInArrow(run, _spark_schema(layout))
        found = _collected(parts.select("values.*"))
        fields = dict(layout["values"])
        return found.select(pl.col(c).cast(fields[c]) for c in fields).sort("customer")

    def to_local(self) -> EventLog:
        """All events as a local `EventLog` (collects to the driver: for small logs)."""
        return self._engine.read_events(self._collect(self.frame), **self.schema.model_dump())

    # -------------------------------------------------------------- internals
    @property
    def _carried(self) -> list[str]:
        """Attributes the executors read: all of them when exact duplicates are dropped
        (a duplicate equals its first in every column), else none."""
        return self.attributes if self.schema.duplicates == "drop" else []

    def _plan(self, options: MineOptions | None = None, engine: Engine | None = None) -> _Plan:
        read = self.schema.model_dump()
        read.update(attributes=self._carried, on_invalid="drop")
        options_ = None if options is None else options.model_dump()
        return _Plan(read, options_, self._order, engine or self._engine)

    def _events(self) -> DataFrame:
        """The columns mining reads (with the tie order's helper columns), partitioned by
        customer and persisted: the first pass reads the source and shuffles it, every
        later pass (`compare`, `cluster`, `drivers`, ...) reads these partitions again."""
        if self._shuffled is None:
            columns = [
                *self.schema.roles.values(),
                *self._carried,
                *[c for c in self.frame.columns if c in _HELPERS],
            ]
            frame = self.frame.select(*columns).repartition(self.schema.customer)
            self._shuffled = frame.persist()
        return self._shuffled

    def _unpersist(self) -> None:
        """Free the persisted partitions of `_events` (a later pass shuffles again)."""
        if self._shuffled is not None:
            self._shuffled.unpersist()
            self._shuffled = None

    def _collect(self, frame: DataFrame) -> pl.DataFrame:
        """Rows of ``frame`` on the driver, in tie order, without helper columns."""
        arrow = frame.toArrow()
        plan = self._plan()
        local = _local_frame([arrow], plan.order, plan.helpers)
        if local is None:
            empty = pl.from_arrow(arrow.schema.empty_table())
            assert isinstance(empty, pl.DataFrame)
            return empty.drop(plan.helpers)
        return local

    def _check(self) -> dict[str | None, int]:
        """Rows by reason (``None``: valid), counted in Spark.

        Batch by batch; by customer partitions when exact duplicates are
        dropped, since a customer's duplicates may sit in different batches.
        """
        plan = self._plan()
        schema = _spark_schema({"report": _REPORT_FIELDS})
        whole = self.schema.duplicates == "drop"
        frame = self._events() if whole else self.frame
        parts = (
            frame.mapInArrow(lambda batches: plan.check(batches, whole=whole), schema)
            .select("report.*")
            .groupBy("key")
            .sum("n")
            .toArrow()
        )
        columns = parts.to_pydict().values()
        return {key or None: int(n) for key, n in zip(*columns, strict=True)}

    def _examples(self) -> pl.DataFrame:
        """The first three invalid rows of each reason, in tie order."""
        plan = self._plan()
        fields = [
            ("reason", pl.String()),
            ("json", pl.String()),
            *[(c, pl.String()) for c in _SORTS],
        ]
        rows = (
            self.frame.mapInArrow(
                lambda batches: plan.examples(batches), _spark_schema({"example": fields})
            )
            .select("example.*")
            .toArrow()
        )
        found = pl.from_arrow(rows)
        assert isinstance(found, pl.DataFrame)
        found = found.sort([*_SORTS], nulls_last=True, maintain_order=True)
        found = found.group_by("reason", maintain_order=True).head(3)
        records = [json.loads(text) for text in found.get_column("json")]
        return pl.DataFrame(
            {
                REASON: found.get_column("reason"),
                ROW: [r["row"] for r in records],
                "customer": [r["customer"] for r in records],
                "touchpoint": [r["touchpoint"] for r in records],
                RAW_TS: [r["raw"] for r in records],
            },
            strict=False,
        )


_HELPERS = (_FILE, _BLOCK, _POS)
_SORTS = ("sort_file", "sort_block", "sort_pos")


def read_events(source: DataFrame, schema: EventSchema, engine: Engine) -> SparkEventLog:
    """A `SparkEventLog` over a Spark DataFrame (``jg.read_events`` dispatches here).

    The column checks (names, types) run at once, on the driver, by the local
    rules; the row checks run in Spark when a result is first needed.
    """
    _configure(source)
    from pyspark.sql import functions as F

    # the local reader checks names and types on an empty frame of the same schema
    engine.read_events(_empty_like(source).lazy(), **schema.model_dump())

    columns = list(schema.roles.values())
    attributes = (
        [c for c in source.columns if c not in columns]
        if schema.attributes is None
        else list(schema.attributes)
    )
    frame = source.select(*columns, *attributes)
    order: tuple[str, ...] = ()
    if schema.tie_breaker is not None:
        rule = (
            f"tie_breaker={schema.tie_breaker!r}, then touchpoint"
            + (", then channel" if schema.channel else "")
            + " (the local rule)"
        )
    elif (files := _file_order(source)) is not None:
        frame = source.select(*columns, *attributes, *files)
        order = (_FILE, _BLOCK, _POS)
        rule = "file, then row within the file (Spark's _metadata columns)"
    else:
        order = (schema.touchpoint, *([schema.channel] if schema.channel else []))
        rule = "no file order and no tie_breaker=: equal timestamps ordered by touchpoint" + (
            ", then channel" if schema.channel else ""
        )
    del F
    return SparkEventLog(frame, schema, order, rule, engine)


def _file_order(source: DataFrame) -> list[Any] | None:
    """Columns giving each row's (file, row) place, or None for frames not read from files."""
    from pyspark.sql import functions as F

    if not source.inputFiles():
        return None
    try:
        fields = source.select("_metadata").schema["_metadata"].dataType.fieldNames()  # type: ignore[attr-defined]
    except Exception:
        return None
    if "row_index" in fields:  # Parquet
        return [
            F.col("_metadata.file_path").alias(_FILE),
            F.lit(0).cast("long").alias(_BLOCK),
            F.col("_metadata.row_index").alias(_POS),
        ]
    # within one split of a file rows are read in order, by one task: its row ids increase
    return [
        F.col("_metadata.file_path").alias(_FILE),
        F.col("_metadata.file_block_start").alias(_BLOCK),
        F.monotonically_increasing_id().alias(_POS),
    ]


def _configure(source: DataFrame) -> None:
    """Executor defaults: the driver's Python, and thread pools sized to a task's cores.

    Only what the caller has not set: ``PYSPARK_PYTHON`` (or
    ``spark.pyspark.python``) wins over the driver's interpreter; the workers'
    ``POLARS_MAX_THREADS``, ``NUMBA_NUM_THREADS`` and ``JOURNEYGRAPH_THREADS``
    default to ``spark.task.cpus``; ``NUMBA_CACHE_DIR`` is passed on when set.
    """
    session = source.sparkSession
    context = getattr(session, "sparkContext", None)
    try:
        context = session.sparkContext
    except Exception:  # Spark Connect: the server's configuration decides
        return
    conf = context.getConf()
    if "PYSPARK_PYTHON" not in os.environ and not conf.contains("spark.pyspark.python"):
        context.pythonExec = sys.executable
    cores = session.conf.get("spark.task.cpus", "1") or "1"
    env = context.environment
    for name in ("POLARS_MAX_THREADS", "NUMBA_NUM_THREADS", "JOURNEYGRAPH_THREADS"):
        env.setdefault(name, os.environ.get(name, cores))
    if "NUMBA_CACHE_DIR" in os.environ:
        env.setdefault("NUMBA_CACHE_DIR", os.environ["NUMBA_CACHE_DIR"])


# ---------------------------------------------------------------- executors' work
@dataclass(frozen=True)
class _Plan:
    """What an executor needs to read and mine its partition (pickled to the workers)."""

    read: dict[str, Any]
    options: dict[str, Any] | None
    order: tuple[str, ...]
    engine: Engine

    @property
    def helpers(self) -> tuple[str, ...]:
        """The helper columns among the tie order (dropped before reading)."""
        return tuple(c for c in self.order if c in _HELPERS)

    def log(self, frame: pl.DataFrame) -> EventLog:
        """The partition's rows as a local log (lazy: rows are checked when counted)."""
        return self.engine.read_events(frame.lazy(), **self.read)

    def check(
        self, batches: Iterable[pa.RecordBatch], *, whole: bool = False
    ) -> Iterator[pa.RecordBatch]:
        """Reason counts of each batch of raw rows, or of all of them (``whole``)."""
        parts = [list(batches)] if whole else ([b] for b in batches)
        for part in parts:
            frame = _local_frame(part, self.order, self.helpers)
            if frame is None:
                continue
            counts = self.log(frame).reason_counts()
            rows = [("ingest", reason or "", n) for reason, n in counts.items()]
            yield _batch("report", _rows(rows, _REPORT_FIELDS), {"report": _REPORT_FIELDS})

    def examples(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The first invalid rows of each reason in a batch, with their tie order."""
        fields = [
            ("reason", pl.String()),
            ("json", pl.String()),
            *[(c, pl.String()) for c in _SORTS],
        ]
        for batch in batches:
            raw = pl.from_arrow(batch)
            assert isinstance(raw, pl.DataFrame)
            if raw.height == 0:
                continue
            if self.order:
                raw = raw.sort(list(self.order), nulls_last=True, maintain_order=True)
            log = self.log(raw.drop(self.helpers))
            found = log.invalid_examples()
            rows = []
            for r in found.iter_rows(named=True):
                place = raw.row(r[ROW], named=True)
                row = place.get(_POS) if _BLOCK in place and not place.get(_BLOCK) else None
                record = {
                    "row": row,
                    "customer": r["customer"],
                    "touchpoint": r["touchpoint"],
                    "raw": r[RAW_TS],
                }
                sort = [place.get(c) for c in _HELPERS]
                rows.append(
                    (
                        r[REASON],
                        json.dumps(record, default=str),
                        *[
                            None if v is None else f"{v:020d}" if isinstance(v, int) else v
                            for v in sort
                        ],
                    )
                )
            yield _batch("example", _rows(rows, fields), {"example": fields})

    def mine(
        self, batches: Iterable[pa.RecordBatch], layout: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        """Mine one partition (whole customers); yield its tables, one struct column each."""
        frame = _local_frame(list(batches), self.order, self.helpers)
        if frame is None:
            return
        log = self.log(frame)
        counts = log.reason_counts()
        ingest = [("ingest", reason or "", n) for reason, n in counts.items()]
        if not counts.get(None):  # every row invalid: dropped as ingestion counted them
            invalid = [("dropped", reason, n) for reason, n in counts.items() if reason]
            yield _batch("report", _rows([*ingest, *invalid], _REPORT_FIELDS), layout)
            return
        assert self.options is not None
        assert self.engine.mine is not None
        try:
            journeys = self.engine.mine(log, **self.options)
        except FilteredOutError as exc:
            mined = [("dropped", k, n) for k, n in exc.dropped.items()]
            mined.append(("read", "", sum(counts.values())))
            yield _batch("report", _rows([*ingest, *mined], _REPORT_FIELDS), layout)
            return
        report = journeys.report
        mined = [("dropped", k, n) for k, n in report.dropped.items()]
        mined += [("repaired", k, n) for k, n in report.repaired.items()]
        mined += [
            ("read", "", report.rows_read),
            ("kept", "", report.rows_kept),
            ("journeys", "", journeys.n_journeys),
        ]
        yield _batch("report", _rows([*ingest, *mined], _REPORT_FIELDS), layout)
        for name, table in _partition_tables(journeys).items():
            yield _batch(name, table, layout)

    def analyse(
        self, batches: Iterable[pa.RecordBatch], work: Work, layout: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        """Mine one partition again and yield the tables ``work`` makes of its journeys."""
        frame = _local_frame(list(batches), self.order, self.helpers)
        if frame is None:
            return
        log = self.log(frame)
        if not log.reason_counts().get(None):
            return
        assert self.options is not None
        assert self.engine.mine is not None
        try:
            journeys = self.engine.mine(log, **self.options)
        except FilteredOutError:
            return
        for name, table in work(journeys).items():
            yield _batch(name, table, layout)


def _gather(
    tables: DataFrame, names: tuple[str, ...], layout: dict[str, list[tuple[str, Any]]]
) -> dict[str, pl.DataFrame]:
    """The rows of the small tables ``names`` of a pass, on the driver (one job)."""
    arrow = _selected(tables, names).toArrow()
    return {name: _valid_rows(arrow, name, layout[name]) for name in names}


def _collected(frame: DataFrame) -> pl.DataFrame:
    """The rows of a (small) Spark DataFrame on the driver, as a polars frame."""
    found = pl.from_arrow(frame.toArrow())
    assert isinstance(found, pl.DataFrame)
    return found


def _empty_like(frame: DataFrame) -> pl.DataFrame:
    """An empty polars frame with the local types of ``frame``'s columns (times in UTC)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    empty = pl.from_arrow(to_arrow_schema(frame.schema, timezone="UTC").empty_table())
    assert isinstance(empty, pl.DataFrame)
    return empty


def _selected(tables: DataFrame, names: tuple[str, ...]) -> DataFrame:
    """The struct columns ``names`` of a pass, only the rows where one of them is set."""
    from pyspark.sql import functions as F

    present = F.col(names[0]).isNotNull()
    for name in names[1:]:
        present = present | F.col(name).isNotNull()
    return tables.where(present).select(*names)


def _valid_rows(arrow: pa.Table, name: str, fields: list[tuple[str, Any]]) -> pl.DataFrame:
    """The rows of table ``name`` in packed struct columns (where that column is set)."""
    column = arrow.column(name)
    rows = pl.from_arrow(column.filter(column.is_valid()))
    assert isinstance(rows, pl.Series)
    return rows.struct.unnest() if rows.len() else _rows([], fields)


def _unpack(tables: DataFrame, name: str) -> DataFrame:
    """One table of a pass as a Spark DataFrame of its own columns."""
    from pyspark.sql import functions as F

    return tables.where(F.col(name).isNotNull()).select(f"{name}.*")


def _partition_tables(journeys: Journeys) -> dict[str, pl.DataFrame]:
    """Everything one partition contributes: per-journey tables and summable counts."""
    return {
        "edges": journeys.edges,
        "nodes": journeys.nodes,
        "stats": journeys.stats,
        "pairs": journeys.aggregate_edges.select(
            "source", "target", "events", "customers", "journeys"
        ),
        "touchpoints": journeys.aggregate_nodes,
        "durations": _duration_counts(journeys),
        "variants": journeys.variants().select("variant", "journeys"),
    }


def _duration_counts(journeys: Journeys) -> pl.DataFrame:
    """How often each transition (source, target) took each duration, in microseconds."""
    times = journeys.core.transition_times()
    n = len(journeys.touchpoints)
    vocab = pl.Series(journeys.touchpoints)
    counted = times.group_by("_pair", pl.col("duration").dt.total_microseconds()).agg(
        pl.len().alias("n")
    )
    pair = counted.get_column("_pair")
    return pl.DataFrame(
        {
            "source": vocab.gather(pair // n),
            "target": vocab.gather(pair % n),
            "duration": counted.get_column("duration").cast(pl.Int64),
            "n": counted.get_column("n").cast(pl.Int64),
        }
    )


def _local_frame(
    batches: list[pa.RecordBatch] | list[pa.Table], sort: tuple[str, ...], helpers: tuple[str, ...]
) -> pl.DataFrame | None:
    """Raw rows as one polars frame in tie order, without the helper columns."""
    import pyarrow as pa

    if not batches:
        return None
    tables = [b if isinstance(b, pa.Table) else pa.Table.from_batches([b]) for b in batches]
    frame = pl.from_arrow(pa.concat_tables(tables))
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        return None
    if sort:
        frame = frame.sort(list(sort), nulls_last=True, maintain_order=True)
    return frame.drop(helpers)


# ----------------------------------------------------------------- arrow boundary
def _safe_dtype(dtype: Any) -> Any:
    """The type Spark accepts: names for Enums, signed for unsigned integers."""
    if isinstance(dtype, pl.Enum | pl.Categorical):
        return pl.String()
    if dtype in (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
        return pl.Int64()
    if isinstance(dtype, pl.List):
        return pl.List(_safe_dtype(dtype.inner))
    return dtype


def _arrow_type(dtype: Any) -> pa.DataType:
    """The Arrow type Spark reads for a Spark-safe polars type (small strings and lists)."""
    import pyarrow as pa

    if dtype == pl.String:
        return pa.string()
    if isinstance(dtype, pl.List):
        return pa.list_(_arrow_type(dtype.inner))
    if isinstance(dtype, pl.Datetime):
        return pa.timestamp(dtype.time_unit, tz=dtype.time_zone)
    if isinstance(dtype, pl.Duration):
        return pa.duration(dtype.time_unit)
    return pl.Series([], dtype=dtype).to_arrow().type


def _struct(fields: list[tuple[str, pl.DataType]]) -> pa.StructType:
    import pyarrow as pa

    return pa.struct([pa.field(n, _arrow_type(_safe_dtype(d))) for n, d in fields])


def _spark_schema(layout: dict[str, list[tuple[str, Any]]]) -> Any:
    """The Spark schema of a frame of struct columns, one per table of ``layout``."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema

    arrow = pa.schema([pa.field(name, _struct(fields)) for name, fields in layout.items()])
    return from_arrow_schema(arrow, prefer_timestamp_ntz=True)


def _rows(rows: list[tuple[Any, ...]], fields: list[tuple[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(fields), orient="row")


def _batch(name: str, table: pl.DataFrame, layout: dict[str, Any]) -> pa.RecordBatch:
    """``table`` as the struct column ``name``; the other tables' columns null."""
    import pyarrow as pa

    safe = table.with_columns(
        pl.col(c).cast(_safe_dtype(d)) for c, d in table.schema.items() if _safe_dtype(d) != d
    )
    struct_type = _struct(list(safe.schema.items()))
    arrow = safe.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(pa.schema(list(struct_type)))
    values = pa.StructArray.from_arrays(
        [column.combine_chunks() for column in arrow.columns], fields=list(struct_type)
    )
    n = len(values)
    columns = [
        values if other == name else pa.nulls(n, type=_struct(fields))
        for other, fields in layout.items()
    ]
    return pa.RecordBatch.from_arrays(columns, names=list(layout))


# ---------------------------------------------------------------------------- mining
def mine(log: SparkEventLog, options: MineOptions, local: Callable[..., Any]) -> SparkJourneys:
    """Mine a `SparkEventLog` (``jg.mine`` dispatches here, passing itself as ``local``).

    One pass, persisted: the events are shuffled by customer (these partitions are
    persisted too, for later passes) and every partition is mined by ``local``.
    """
    if options.by_channel and not log.has_channel:
        msg = "by_channel=True needs a channel column: read_events(..., channel='your_column')"
        raise JourneygraphError(msg)
    engine = dataclasses.replace(log._engine, mine=local)
    layout = _layout(log, options, engine)
    plan = log._plan(options, engine)
    schema = _spark_schema(layout)
    tables = log._events().mapInArrow(lambda batches: plan.mine(batches, layout), schema)
    tables = tables.persist()
    return SparkJourneys(log, options, tables, layout, plan)


def _layout(
    log: SparkEventLog, options: MineOptions, engine: Engine
) -> dict[str, list[tuple[str, Any]]]:
    """The columns and types of each per-partition table, from mining one made-up event."""
    layout = _layout_of(_partition_tables(_one_event(log, options, engine)))
    layout["durations"] = list(_DURATION_FIELDS)
    layout["report"] = list(_REPORT_FIELDS)
    return layout


def _one_event(log: SparkEventLog, options: MineOptions, engine: Engine) -> Journeys:
    """Journeys of one made-up event, mined locally: they show every table's types."""
    roles = list(log.schema.roles.values())
    empty = _empty_like(log.frame.select(*roles))
    one = pl.DataFrame(
        {
            c: pl.Series([_example(log.schema, c, d)]).cast(d, strict=False)
            for c, d in empty.schema.items()
        }
    )
    plain = options.model_copy(
        update={"rename": None, "keep": None, "drop": None, "start": None, "end": None}
    )
    assert engine.mine is not None
    events = engine.read_events(one, **log.schema.model_dump())
    return engine.mine(events, **plain.model_dump())


def _layout_of(tables: dict[str, pl.DataFrame]) -> dict[str, list[tuple[str, Any]]]:
    return {name: list(t.schema.items()) for name, t in tables.items()}


def _example(schema: EventSchema, column: str, dtype: pl.DataType) -> Any:
    """A valid value of ``column``'s type for its role."""
    import datetime as dt

    if column == schema.timestamp:
        if dtype == pl.String:
            return "2024-05-01T10:00:00Z"
        if isinstance(dtype, pl.Datetime):
            return dt.datetime(2024, 5, 1, 10)
        if dtype == pl.Date:
            return dt.date(2024, 5, 1)
        return 1_714_557_600
    if dtype == pl.Boolean:
        return True
    if dtype.is_numeric():
        return 1
    return "a"


class _LocalOnly:
    """A name of the local class that the Spark class does not have (one descriptor for
    every such name, so each is one line of the class).

    Using it raises a `LocalOnlyError` saying ``why`` it is local only and the call
    that gives it on this machine: ``advice(result, *args, **kwargs)`` (the same
    arguments as the local method) writes that call. A property raises when read,
    a method when called. ``tests/test_spark.py`` lists these names and checks
    that every other public name of the local classes exists here too.
    """

    def __init__(self, why: str, advice: Callable[..., str], *, is_property: bool = False):
        self.why = why
        self.advice = advice
        self.is_property = is_property
        self.name = ""
        self.__doc__ = f"Not on Spark: {why} (raises LocalOnlyError with the local call)."

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = f"{owner.__name__}.{name}"

    def __get__(self, result: Any, owner: type | None = None) -> Any:
        if result is None:
            return self
        if self.is_property:
            self.refuse(result)
        return functools.partial(self.refuse, result)

    def refuse(self, result: Any, *args: Any, **kwargs: Any) -> None:
        msg = f"{self.name} {self.why}: {self.advice(result, *args, **kwargs)}"
        raise LocalOnlyError(msg)


class _Persisted:
    """Tables from one pass over customer partitions, persisted in Spark as one
    packed DataFrame (`_unpack` one by name, `_gather` the small ones)."""

    _tables: DataFrame
    _layout: dict[str, list[tuple[str, Any]]]

    def _table(self, name: str) -> DataFrame:
        return _unpack(self._tables, name)

    def _gathered(self, names: tuple[str, ...]) -> dict[str, pl.DataFrame]:
        return _gather(self._tables, names, self._layout)

    def unpersist(self) -> None:
        """Free the persisted tables in Spark."""
        self._tables.unpersist()


class SparkJourneys(_Persisted):
    """Journeys mined on Spark: per-journey tables in Spark, aggregates on the driver.

    Built by ``jg.mine(spark_log, ...)``. ``edges``, ``nodes`` and ``stats``
    are Spark DataFrames with the local tables' columns (touchpoints as names,
    unsigned counts as ``long``); the aggregates are computed from summed
    per-partition counts and returned as polars frames and networkx graphs,
    equal to the local ones.

    Attributes
    ----------
    options : MineOptions
        The options the journeys were mined with.
    log : SparkEventLog
        The events they were mined from.
    """

    def __init__(
        self,
        log: SparkEventLog,
        options: MineOptions,
        tables: DataFrame,
        layout: dict[str, list[tuple[str, Any]]],
        plan: _Plan,
    ) -> None:
        self._plan = plan
        self.log = log
        self.options = options
        self._tables = tables
        self._layout = layout
        self.report  # noqa: B018 -- runs the pass: errors now, as locally

    def __repr__(self) -> str:
        return (
            f"SparkJourneys({self.n_journeys:,} journeys, {self.n_events:,} events, "
            f"{len(self.touchpoints)} touchpoints)"
        )

    def __len__(self) -> int:
        return self.n_journeys

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter, from what the pass already counted (no job)."""
        items = [
            ("journeys", f"{self.n_journeys:,} ({self.options.journey}s)"),
            ("events", f"{self.n_events:,}"),
            ("touchpoints", f"{len(self.touchpoints):,}"),
            ("tables", "edges, nodes, stats: Spark DataFrames (persisted)"),
        ]
        return _page.html_summary(repr(self), items)

    @property
    def edges(self) -> DataFrame:
        """One row per journey and transition (see `Journeys.edges`), a Spark DataFrame."""
        return self._table("edges")

    @property
    def nodes(self) -> DataFrame:
        """One row per journey and touchpoint (see `Journeys.nodes`), a Spark DataFrame."""
        return self._table("nodes")

    @property
    def stats(self) -> DataFrame:
        """One row per journey (see `Journeys.stats`), a Spark DataFrame."""
        return self._table("stats")

    def unpersist(self) -> None:
        """Free the persisted tables and the events partitioned by customer in Spark."""
        self._tables.unpersist()
        self.log._unpersist()

    @cached_property
    def _small(self) -> dict[str, pl.DataFrame]:
        """The small per-partition tables (report counts, pair and touchpoint sums), one job."""
        return self._gathered(("report", "pairs", "touchpoints"))

    @property
    def id_type(self) -> pl.DataType:
        """The polars type of the customer ids (as in the local journeys)."""
        dtype: pl.DataType = dict(self._layout["stats"])["customer"]
        return dtype

    def _analyse(
        self, work: Work, *, persist: bool = True
    ) -> tuple[DataFrame, dict[str, list[tuple[str, Any]]]]:
        """The tables ``work`` makes of each partition's local journeys, persisted
        (unless ``persist=False``: for tables read once).

        One more pass over the events: each partition of the persisted customer
        partitions (no source read, no shuffle) is mined again, as in `jg.mine`'s
        pass, and handed to ``work`` on the executor.
        """
        plan = self._plan
        layout = _layout_of(work(_one_event(self.log, self.options, plan.engine)))
        schema = _spark_schema(layout)
        events = self.log._events()
        tables = events.mapInArrow(lambda batches: plan.analyse(batches, work, layout), schema)
        return (tables.persist() if persist else tables), layout

    @cached_property
    def _counts(self) -> pl.DataFrame:
        return self._small["report"].group_by("field", "key").agg(pl.col("n").sum())

    @cached_property
    def report(self) -> IngestReport:
        """Every input row, kept or dropped by reason, through ingestion and mining."""
        counts = {(field, key): int(n) for field, key, n in self._counts.iter_rows()}
        ingest = {key or None: n for (field, key), n in counts.items() if field == "ingest"}
        self.log._reason_counts = ingest
        self.log.report  # noqa: B018 -- raises for invalid rows, as locally
        dropped = {key: n for (field, key), n in counts.items() if field == "dropped" and n}
        kept = counts.get(("kept", ""), 0)
        if kept == 0:
            msg = (
                f"no events left after mining filters (dropped: {dropped}); widen start=/end= "
                "or check keep=/drop= names against the touchpoints in the data"
            )
            raise FilteredOutError(msg, dropped=dropped)
        return IngestReport(
            rows_read=sum(n for (field, _), n in counts.items() if field == "ingest"),
            rows_kept=kept,
            dropped=dropped,
            repaired={key: n for (field, key), n in counts.items() if field == "repaired" and n},
        )

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return int(self._counts.filter(pl.col("field") == "journeys").get_column("n").sum())

    @property
    def n_events(self) -> int:
        """Number of events in the journeys."""
        return self.report.rows_kept

    @cached_property
    def touchpoints(self) -> list[str]:
        """The touchpoint vocabulary, sorted (as `Journeys.touchpoints`)."""
        return sorted(self._small["touchpoints"].get_column("touchpoint").unique().to_list())

    def _local_types(self, name: str, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with the local table's types; touchpoints as the global vocabulary."""
        vocab = pl.Enum(self.touchpoints)

        def local(dtype: Any) -> Any:
            if isinstance(dtype, pl.Enum):
                return vocab
            if isinstance(dtype, pl.List):
                return pl.List(local(dtype.inner))
            return dtype

        types = dict(self._layout[name])
        return frame.select(pl.col(c).cast(local(types[c])) for c in frame.columns if c in types)

    # -------------------------------------------------------------- aggregates
    @cached_property
    def aggregate_nodes(self) -> pl.DataFrame:
        """Every touchpoint over all journeys (see `Journeys.aggregate_nodes`)."""
        parts = self._small["touchpoints"]
        summed = parts.group_by("touchpoint").agg(pl.exclude("touchpoint").sum())
        return self._local_types("touchpoints", summed).sort("touchpoint")

    @cached_property
    def aggregate_edges(self) -> pl.DataFrame:
        """Every observed transition over all journeys (see `Journeys.aggregate_edges`).

        Counts are sums over partitions; ``median_time`` is exact, from the
        summed value counts of every transition's duration.
        """
        parts = self._small["pairs"]
        summed = parts.group_by("source", "target").agg(pl.exclude("source", "target").sum())
        counted = self._local_types("pairs", summed).join(self._medians(), on=["source", "target"])
        return edge_table(counted, self.n_events - self.n_journeys)

    def _medians(self) -> pl.DataFrame:
        """Each transition's median duration: the middle value(s) found in Spark, averaged here."""
        values = _middle_values(self._table("durations"), ("source", "target"), "duration")
        vocab = pl.Enum(self.touchpoints)
        return (
            values.with_columns(pl.col("duration").cast(pl.Duration("us")))
            .group_by("source", "target")
            .agg(pl.col("duration").median().alias("median_time"))
            .with_columns(pl.col("source", "target").cast(vocab))
        )

    def aggregate_graph(self, weight: Weight = "events") -> nx.DiGraph[Any]:
        """All journeys as one ``networkx.DiGraph`` (see `Journeys.aggregate_graph`)."""
        return aggregate_graph_of(self.aggregate_nodes, self.aggregate_edges, weight)

    def variants(self) -> pl.DataFrame:
        """Distinct touchpoint sequences, most common first (see `Journeys.variants`)."""
        parts = self._table("variants").groupBy("variant").sum("journeys")
        counted = _collected(parts.withColumnRenamed("sum(journeys)", "journeys"))
        return variant_table(self._local_types("variants", counted), self.n_journeys)

    def flows(self, around: str, *, before: int = 3, after: int = 3, top: int = 8) -> Flows:
        """What journeys did in the steps before and after a touchpoint (see
        `Journeys.flows`): a `Flows` equal to the local one.

        No pass over the events: each partition's distinct touchpoint sequences
        (its persisted ``variants`` counts) are counted per step by the local
        `step_counts`, the counts are summed in Spark, and the local code keeps
        the ``top`` touchpoints per step and sums the rest as ``"other"``.
        """
        from .flows import STEP_KEYS, flows_of, sequence_counts, window

        before, after = window(around, before, after, top, self.touchpoints)
        work = functools.partial(sequence_counts, around=around, before=before, after=after)
        counts = table_sums(self, work, ("variants",), STEP_KEYS)
        return flows_of(counts, around, before, after, top)

    # -------------------------------------------------------------- local work
    def to_local(
        self, customers: list[Any] | None = None, *, fraction: float | None = None, seed: int = 0
    ) -> Journeys:
        """Mine some customers (or all) on the driver: a local `Journeys`, equal to their part.

        Parameters
        ----------
        customers
            Customer ids to take; by default all (collects every event: for small logs).
        fraction
            Instead, a share of the customers, chosen by a hash of the id and ``seed``.
        """
        from pyspark.sql import functions as F

        frame = self.log._events()
        customer = F.col(self.log.schema.customer)
        if customers is not None:
            frame = frame.where(customer.isin(list(customers)))
        elif fraction is not None:
            if not 0 < fraction <= 1:
                msg = f"fraction={fraction!r} must be in (0, 1]"
                raise JourneygraphError(msg)
            bucket = F.pmod(F.xxhash64(customer, F.lit(seed)), F.lit(1_000_000))
            frame = frame.where(bucket < int(fraction * 1_000_000))
        events = self.log._collect(frame)
        plan = self._plan
        assert plan.options is not None
        assert plan.engine.mine is not None
        journeys: Journeys = plan.engine.mine(plan.log(events), **plan.options)
        return journeys

    def graph(self, journey: Any) -> nx.DiGraph[Any]:
        """One journey's graph (see `Journeys.graph`), mined on the driver from its events."""
        graph: nx.DiGraph[Any] = self.to_local([self._customer_of(journey)]).graph(journey)
        return graph

    def _customer_of(self, journey: Any) -> Any:
        """The customer whose journey has id ``journey`` (a small job)."""
        from pyspark.sql import functions as F

        found = self.stats.where(F.col("journey") == F.lit(journey)).select("customer").limit(1)
        rows = found.collect()
        if not rows:
            sample = [r[0] for r in self.stats.select("journey").limit(3).collect()]
            msg = f"no journey {journey!r}; journey ids look like {sample}"
            raise JourneygraphError(msg)
        return rows[0][0]

    # ------------------------------------------------- local only (see _LocalOnly)
    core = _LocalOnly(
        "is the local engine's arrays of every event in one process (an internal interface)",
        lambda journeys: (
            "bring the journeys to this machine: journeys.to_local().core "
            "(every event: for small logs; journeys.to_local(fraction=0.01).core for a sample)"
        ),
        is_property=True,
    )
    graphs = _LocalOnly(
        "builds every journey's graph in one process",
        lambda journeys: (
            "take one journey's with journeys.graph(journey_id), or all of "
            "journeys brought to this machine: journeys.to_local().graphs() (every event: for "
            "small logs; journeys.to_local(fraction=0.01).graphs() for a sample)"
        ),
    )
    merge = _LocalOnly(
        "adds up batches mined on this machine",
        lambda journeys, other: (
            "on Spark, mine the union of both batches' events: "
            "jg.mine(jg.read_events(events.unionByName(other_events), "
            "**journeys.log.schema.model_dump()), **journeys.options.model_dump()) with events "
            "and other_events the batches' Spark DataFrames; for batches small enough for this "
            "machine: journeys.to_local().merge(other.to_local())"
        ),
    )


# ---------------------------------------------------------------------------- compare
_COUNTS = ("reach", "reach_ideal", "drop_off")


@dataclass(frozen=True)
class CompareCode:
    """The local code `compare` hands over: executors and the driver run exactly these.

    ``align`` is the local alignment without `compare`'s checks (a partition may
    miss every map touchpoint); ``through`` counts the journeys through each
    stage and off-map touchpoint of a local `Divergence`; ``gap_sums`` makes
    the summable counts of `Divergence.perception_gap` from ``customers`` rows;
    ``summary``, ``graph`` and ``gap`` finish `Divergence.summary`,
    `Divergence.overlay_graph` and `Divergence.perception_gap` from their tables.
    ``drivers_kind`` checks `Divergence.drivers`' arguments, ``driver_counts``
    makes a local `Divergence`'s stratum counts and ``drivers_of`` finishes the
    moments from counts added up.
    """

    align: Callable[..., Any]
    summary: Callable[[pl.DataFrame, str | None], pl.DataFrame]
    through: Callable[[Any], pl.DataFrame]
    graph: Callable[[pl.DataFrame, pl.DataFrame, pl.DataFrame, int], nx.DiGraph[str]]
    gap_sums: Callable[..., pl.DataFrame]
    gap: Callable[[pl.DataFrame], pl.DataFrame]
    drivers_kind: Callable[..., bool]
    driver_counts: Callable[..., dict[str, pl.DataFrame]]
    drivers_of: Callable[..., Moments]


def compare(
    journeys: SparkJourneys,
    jmap: Any,
    strict: bool,
    customers: pl.DataFrame | None,
    notes: list[str],
    code: CompareCode,
) -> SparkDivergence:
    """Compare Spark journeys with a map (``jg.compare`` dispatches here, after its checks).

    Each partition's journeys are compared by the local alignment (``code``);
    the per-journey tables stay in Spark, the population tables are summed.
    """
    work = _CompareWork(jmap, strict, customers, code)
    tables, layout = journeys._analyse(work)
    return SparkDivergence(journeys, work, tables, layout, notes)


@dataclass(frozen=True)
class _CompareWork:
    """One partition's comparison: per-journey tables and summable population counts."""

    jmap: Any
    strict: bool
    customers: pl.DataFrame | None
    code: CompareCode

    def __call__(self, journeys: Journeys) -> dict[str, pl.DataFrame]:
        div = self.code.align(journeys, self.jmap, strict=self.strict, table=self.customers)
        n = journeys.n_journeys
        # shares of this partition's journeys, back to counts (exact: k / n * n rounds to k)
        reach = div.stage_reach().with_columns(
            (pl.col(c) * n).round().cast(pl.Int64) for c in _COUNTS
        )
        return {
            "customers": div.customers,
            "deviations": div.deviations,
            "overlay": div.overlay(),
            "counts": div.deviation_counts().drop("share"),
            "reach": reach,
            "through": self.code.through(div),
        }


@dataclass(frozen=True)
class _DriverWork:
    """One partition's stratum counts for `SparkDivergence.drivers` (the local code)."""

    compare: _CompareWork
    outcome: str | None
    reached: str | None

    def __call__(self, journeys: Journeys) -> dict[str, pl.DataFrame]:
        c = self.compare
        div = c.code.align(journeys, c.jmap, strict=c.strict, table=c.customers)
        found: dict[str, pl.DataFrame] = c.code.driver_counts(div, self.outcome, self.reached)
        return found


@dataclass(frozen=True)
class _GapWork:
    """One partition of ``customers`` (whole customers): the local `perception_gap` sums."""

    sums: Callable[..., pl.DataFrame]
    score: str
    outcome: str | None
    sessions: bool
    fields: list[tuple[str, Any]]

    @property
    def columns(self) -> list[str]:
        return [c for c, _ in self.fields]

    def __call__(
        self, batches: Iterable[pa.RecordBatch], layout: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        frame = _local_frame(list(batches), (), ())
        if frame is None:
            return
        frame = frame.cast(dict(self.fields))  # the local types (Spark has no unsigned)
        found = self.sums(frame, self.score, self.outcome, sessions=self.sessions)
        yield _batch("gap", found, layout)


class SparkDivergence(_Persisted):
    """Spark journeys held against a journey map. Build with ``jg.compare(spark_journeys, jmap)``.

    ``customers`` and ``deviations`` are Spark DataFrames with the local
    `Divergence` tables' columns (names for Enums, ``long`` counts). The
    population tables are polars frames equal to the local ones: `overlay`,
    `stage_reach`, `deviation_counts` and `overlay_graph` from counts summed
    over partitions; `summary` from the distinct (fitness, conformance,
    deviation) rows of ``customers``, counted in Spark and finished by the
    local code; `perception_gap` from per-group sums of each partition of
    ``customers``; `drivers` from stratum counts of another pass over the
    partitions. Each is finished on the driver by the local code.

    Attributes
    ----------
    journeys : SparkJourneys
        The journeys compared.
    jmap : JourneyMap
        The map they were compared with.
    strict : bool
        Whether every event was aligned on its own (else stage visits).
    map_warnings : list of str
        Map touchpoints the journeys never visit, as for `Divergence.map_warnings`.
    """

    def __init__(
        self,
        journeys: SparkJourneys,
        work: _CompareWork,
        tables: DataFrame,
        layout: dict[str, list[tuple[str, Any]]],
        notes: list[str],
    ) -> None:
        self.journeys = journeys
        self.jmap = work.jmap
        self.strict = work.strict
        self._work = work
        self.map_warnings = notes
        self._tables = tables
        self._layout = layout
        self._code = work.code

    def __repr__(self) -> str:
        return (
            f"SparkDivergence({self.journeys.n_journeys:,} journeys vs "
            f"{len(self.jmap.stages)} stages, conformance {self.conformance:.1%})"
        )

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter, as `Divergence`'s (from the summed counts)."""
        return _page.divergence_summary(self)

    @property
    def customers(self) -> DataFrame:
        """One row per journey (see `Divergence.customers`), a Spark DataFrame."""
        return self._table("customers")

    def alignment(self, journey: Any) -> pl.DataFrame:
        """One journey's optimal alignment (see `Divergence.alignment`): its customer's
        events are brought to the driver and compared there, as `graph` does.

        A journey's alignment depends on its own events and the map only, so it
        equals the local one.
        """
        customer = self.journeys._customer_of(journey)
        local = self.journeys.to_local([customer])
        found: pl.DataFrame = self._code.align(
            local, self.jmap, strict=self.strict, table=None
        ).alignment(journey)
        return found

    @property
    def deviations(self) -> DataFrame:
        """One row per deviation (see `Divergence.deviations`), a Spark DataFrame."""
        return self._table("deviations")

    @cached_property
    def _small(self) -> dict[str, pl.DataFrame]:
        found = self._gathered(("overlay", "counts", "reach", "through"))
        types = {name: dict(self._layout[name]) for name in found}
        return {
            name: frame.select(pl.col(c).cast(types[name][c]) for c in frame.columns)
            for name, frame in found.items()
        }

    def summary(self, by: str | None = None) -> pl.DataFrame:
        """Population numbers, overall or per segment (see `Divergence.summary`).

        The distinct rows of the columns it needs are counted in Spark; the
        local code finishes them on the driver (quartiles need the whole
        distribution of fitness, which takes few distinct values).
        """
        from pyspark.sql import functions as F

        frame = self.customers
        if by is not None and by not in frame.columns:
            msg = f"no column {by!r} to split by; customers has {frame.columns}"
            raise JourneygraphError(msg)
        columns = [
            *([] if by is None else [F.col(by)]),
            F.col("fitness"),
            F.col("conforms"),
            *[(F.col(k) > 0).alias(k) for k in DEVIATIONS],
        ]
        needed = frame.select(*columns)
        grouped = needed.groupBy(*needed.columns).agg(F.count(F.lit(1)).alias("_jg_n"))
        counted = _collected(grouped)
        rows = np.repeat(np.arange(counted.height), counted.get_column("_jg_n").to_numpy())
        return self._code.summary(counted.drop("_jg_n")[rows], by)

    @property
    def conformance(self) -> float:
        """Share of journeys without any deviation."""
        return float(self.summary().get_column("conformance")[0] or 0.0)

    def deviation_counts(self) -> pl.DataFrame:
        """Per deviation kind and stage: ``deviations``, ``journeys`` and ``share`` of all
        journeys, most frequent first (see `Divergence.deviation_counts`)."""
        parts = self._small["counts"]
        summed = parts.group_by("kind", "stage").agg(
            pl.col("deviations", "journeys").sum().cast(parts.schema["journeys"])
        )
        return summed.with_columns(
            (pl.col("journeys") / self.journeys.n_journeys).alias("share")
        ).sort(["journeys", "kind", "stage"], descending=[True, False, False], nulls_last=True)

    def stage_reach(self) -> pl.DataFrame:
        """Per stage: ``reach``, ``reach_ideal`` and ``drop_off`` shares of all journeys,
        in map order (see `Divergence.stage_reach`)."""
        order = pl.DataFrame({"stage": list(self.jmap.stage_names)})
        n = self.journeys.n_journeys
        summed = self._small["reach"].group_by("stage").agg(pl.col(_COUNTS).sum())
        return order.join(summed, on="stage", how="left", maintain_order="left").select(
            "stage", *[(pl.col(c).fill_null(0) / n).alias(c) for c in _COUNTS]
        )

    def overlay(self) -> pl.DataFrame:
        """Every map move and every observed step off the map, with usage (see
        `Divergence.overlay`): map moves in map order, then shadow paths by volume."""
        parts = self._small["overlay"]
        counts = parts.schema["journeys"]
        summed = parts.group_by("source", "target", "kind").agg(
            pl.col("journeys").sum().cast(counts), pl.col("bypassed").sum().cast(counts)
        )
        moves = pl.DataFrame(
            [(a, b, i) for i, (a, b) in enumerate(self.jmap.moves)],
            schema={"source": pl.String, "target": pl.String, "_order": pl.Int64},
            orient="row",
        )
        on_map = moves.join(summed.filter(pl.col("kind") == "map"), on=["source", "target"])
        shadow = summed.filter(pl.col("kind") == "shadow").with_columns(
            pl.lit(None, counts).alias("bypassed")
        )
        columns = ["source", "target", "kind", "journeys", "bypassed"]
        return pl.concat(
            [
                on_map.sort("_order").select(columns),
                shadow.select(columns).sort(
                    ["journeys", "source", "target"], descending=[True, False, False]
                ),
            ]
        )

    def drivers(
        self,
        outcome: str | None = None,
        *,
        reached: str | None = None,
        min_journeys: int = 30,
    ) -> Moments:
        """Moments that matter (see `Divergence.drivers`): a `Moments` equal to the local one.

        One more pass over the persisted customer partitions: each is mined and
        compared again, and the local code counts its journeys at risk by feature,
        stage and stratum of exposure (rolling sessions up to customers for a
        column outcome), with the touchpoints that end journeys. The driver
        adds the counts up and the local code finishes them: exits, strata,
        the Mantel-Haenszel effects, the disguise check, q-values and notes.
        """
        extra = self._work.customers
        given = [] if extra is None else [c for c in extra.columns if c != "customer"]
        empty = _rows([], self._layout["customers"])
        touchpoints = self.journeys.touchpoints
        binary = self._code.drivers_kind(empty, given, self.jmap, touchpoints, outcome, reached)
        work = _DriverWork(self._work, outcome, reached)
        tables, layout = self.journeys._analyse(work, persist=False)
        found = _gather(tables, tuple(layout), layout)
        parts = {name: frame.cast(dict(layout[name])) for name, frame in found.items()}
        return self._code.drivers_of(parts, self.jmap, outcome, reached, binary, min_journeys)

    def perception_gap(self, score: str, outcome: str | None = None) -> pl.DataFrame:
        """Who answers surveys, and how their scores compare with behaviour (see
        `Divergence.perception_gap`).

        Each partition of ``customers`` holds whole customers: the local code
        counts and sums its rows per group there (rolling sessions up to their
        customers), the driver adds the sums and finishes them by the local code.
        """
        sessions = self.journeys.options.journey == "session"
        fields = self._layout["customers"]
        # the local checks and errors, and the sums' columns, on an empty table
        empty = self._code.gap_sums(_rows([], fields), score, outcome, sessions=sessions)
        needed = dict.fromkeys(["customer", "fitness", "conforms", score, outcome])
        types = dict(fields)
        work = _GapWork(
            self._code.gap_sums,
            score,
            outcome,
            sessions,
            [(c, types[c]) for c in needed if c is not None],
        )
        layout = {"gap": list(empty.schema.items())}
        sums = (
            self.customers.select(*work.columns)
            .mapInArrow(lambda batches: work(batches, layout), _spark_schema(layout))
            .select("gap.*")
            .toArrow()
        )
        found = pl.from_arrow(sums)
        assert isinstance(found, pl.DataFrame)
        return self._code.gap(found.cast(empty.schema))

    def overlay_graph(self, *, top_shadow: int = 20) -> nx.DiGraph[str]:
        """The overlay as a ``networkx.DiGraph`` (see `Divergence.overlay_graph`).

        Built on the driver by the local code from `stage_reach`, `overlay` and
        the journeys through each stage and off-map touchpoint, all summed over
        partitions.
        """
        parts = self._small["through"]
        through = parts.group_by("symbol", "touchpoint").agg(pl.col("journeys").sum())
        graph = self._code.graph(self.stage_reach(), self.overlay(), through, top_shadow)
        return graph


# ---------------------------------------------------------------------------- cluster
def cluster(
    journeys: SparkJourneys,
    model: Any,
    fraction: float | None,
    customers: pl.DataFrame | None,
    divergence: SparkDivergence | None,
    local: Any,
) -> SparkArchetypes:
    """Fit ``model`` on a driver sample, label every journey in Spark (``jg.cluster`` dispatches).

    The sample is ``fraction`` of the customers (by default enough for about
    twice the model's ``sample_size`` journeys), chosen by a hash of the id
    and the model's seed; the fitted model goes to every partition, with the
    customer table. ``local`` is `cluster`'s side: the partition work and the
    local code that finishes the description from summed counts.
    """
    n = journeys.n_journeys
    if fraction is None:
        fraction = min(1.0, 2 * model.sample_size / n)
    sample = journeys.to_local(fraction=fraction, seed=model.seed)
    model.fit(sample)
    tables, layout = journeys._analyse(local.work(model, customers))
    return SparkArchetypes(model, journeys, tables, layout, fraction, sample, divergence, local)


def _middle_values(counts: DataFrame, keys: tuple[str, ...], value: str) -> pl.DataFrame:
    """Per key, the middle value(s) of value counts ``n`` (summed here over partitions).

    One row per middle value (the one of an odd count twice): their median is
    the median of all the values, exactly, and only these rows reach the driver.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    summed = counts.groupBy(*keys, value).agg(F.sum("n").alias("n"))
    group = Window.partitionBy(*keys)
    upto = F.sum("n").over(group.orderBy(value).rowsBetween(Window.unboundedPreceding, 0))
    ranked = summed.withColumn("upto", upto).withColumn("total", F.sum("n").over(group))
    below = F.col("upto") - F.col("n")
    low = F.floor((F.col("total") - 1) / 2)
    high = F.floor(F.col("total") / 2)
    holds_low = (below <= low) & (low < F.col("upto"))
    holds_high = (below <= high) & (high < F.col("upto"))
    middle = ranked.where(holds_low | holds_high).select(
        *keys, value, holds_low.alias("_low"), holds_high.alias("_high")
    )
    found = _collected(middle)
    return pl.concat(
        [
            found.filter(pl.col("_low")).select(*keys, value),
            found.filter(pl.col("_high")).select(*keys, value),
        ]
    )


def _summed(
    parts: pl.DataFrame, types: dict[str, Any], keys: Iterable[str] | None = None
) -> pl.DataFrame:
    """Per-partition count tables added up by ``keys`` (by default ``archetype`` and the
    text columns), in partition order, with the local types."""
    if keys is None:
        keys = [c for c, d in parts.schema.items() if c == "archetype" or d == pl.String]
    keys = list(keys)
    values = [c for c in parts.columns if c not in keys]
    summed = parts.group_by(keys, maintain_order=True).agg(pl.col(values).sum())
    return summed.select(pl.col(c).cast(types[c]) for c in parts.columns)


def _per_partition(
    frame: DataFrame, work: Callable[[pl.DataFrame], pl.DataFrame], name: str, example: pl.DataFrame
) -> DataFrame:
    """``work`` on every partition of ``frame`` (as one polars frame): a table ``name``
    with the columns ``work`` gives ``example``."""
    layout = _layout_of({name: work(example)})

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = _local_frame(list(batches), (), ())
        if local is not None:
            yield _batch(name, work(local), layout)

    return frame.mapInArrow(run, _spark_schema(layout))


class SparkArchetypes(_Persisted):
    """Spark journeys grouped into archetypes. Build with ``jg.cluster(spark_journeys, k)``.

    The model is fitted on the driver, on a sample of customers; every journey
    is labelled by it in Spark. ``labels`` is a Spark DataFrame (the local
    `Archetypes.labels` columns). `table`, `graph` and `distinctive_edges`
    equal the local ones: they are made by the local code from per-archetype
    counts summed over partitions (exact medians from summed value counts),
    except that the representative journeys (``representative``,
    ``representative_path``, ``examples``) are the most central ones of the
    sample the model was fitted on (all journeys with ``fraction=1``).

    Attributes
    ----------
    model : ArchetypeModel
        The model fitted on the sample (use ``model.predict`` on local journeys).
    journeys : SparkJourneys
        The journeys labelled.
    fraction : float
        The share of customers the model was fitted on.
    sample : Journeys
        The local journeys of those customers.
    divergence : SparkDivergence or None
        The comparison with the journey map, when one was given.
    """

    def __init__(
        self,
        model: Any,
        journeys: SparkJourneys,
        tables: DataFrame,
        layout: dict[str, list[tuple[str, Any]]],
        fraction: float,
        sample: Journeys,
        divergence: SparkDivergence | None,
        local: Any,
    ) -> None:
        self.model = model
        self.journeys = journeys
        self.fraction = fraction
        self.sample = sample
        self.divergence = divergence
        self._tables = tables
        self._layout = layout
        self._local = local

    def __repr__(self) -> str:
        return f"SparkArchetypes({len(self)} archetypes of {self.journeys.n_journeys:,} journeys)"

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter, as `Archetypes`'."""
        return _page.archetypes_summary(self)

    def __len__(self) -> int:
        return int(self.model.k_)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))

    @property
    def labels(self) -> DataFrame:
        """One row per journey: ``journey``, ``customer``, ``archetype``, ``probability``."""
        return self._table("labels")

    def sizes(self) -> pl.DataFrame:
        """Per archetype: ``size`` (journeys) and ``share`` of all journeys."""
        types = dict(self._layout["sizes"])
        every = pl.DataFrame({"archetype": pl.arange(0, len(self), eager=True)})
        return (
            every.with_columns(pl.col("archetype").cast(types["archetype"]))
            .join(self._counts["sizes"], on="archetype", how="left", maintain_order="left")
            .with_columns(pl.col("size").fill_null(0))
            .with_columns((pl.col("size") / self.journeys.n_journeys).alias("share"))
        )

    def distribution(self, of: str = "entry") -> pl.DataFrame:
        """Where each archetype's journeys start (``of="entry"``) or end (``"exit"``), as
        `Archetypes.distribution`, from counts summed over partitions."""
        sizes = self._counts["sizes"].sort("archetype")
        found: pl.DataFrame = self._local.distribution_of(self._counts.get(of, sizes), sizes, of)
        return found

    @cached_property
    def _counts(self) -> dict[str, pl.DataFrame]:
        """The per-archetype count tables of every partition, added up (one job)."""
        names = tuple(n for n in (*self._local.tallies, "outcomes") if n in self._layout)
        parts = self._gathered(names)
        return {name: _summed(parts[name], dict(self._layout[name])) for name in names}

    def _divergence_sums(self) -> pl.DataFrame:
        """`divergence`'s per-journey values summed per archetype: labels joined with
        ``divergence.customers`` in Spark, summed per partition by the local code."""
        assert self.divergence is not None

        k, sums = len(self), self._local.divergence_sums
        columns = ["journey", "conforms", "fitness", *DEVIATIONS]
        joined = self.labels.select("journey", "archetype").join(
            self.divergence.customers.select(*columns), on="journey"
        )
        empty = _empty_like(joined)
        summed = _per_partition(joined, lambda frame: sums(frame, k), "sums", empty)
        parts = _collected(summed.select("sums.*"))
        return _summed(parts, dict(sums(empty, k).schema))

    @cached_property
    def _description(self) -> Any:
        types = {name: dict(fields) for name, fields in self._layout.items()}
        medians = {}
        for name, (keys, value, _) in self._local.medians.items():
            table = f"median_{name}"
            middle = _middle_values(self._table(table), keys, value)
            middle = middle.with_columns(pl.col(c).cast(types[table][c]) for c in keys)
            medians[name] = self._local.medians_of(name, middle)
        means = []
        if self.divergence is not None:
            means.append(self._local.means_of(self._divergence_sums()))
        if "outcomes" in self._counts:
            means.append(self._local.means_of(self._counts["outcomes"]))
        counts = {n: t for n, t in self._counts.items() if n in self._local.tallies}
        return self._local.describe(
            self.model, self.sample, self.journeys.n_journeys, counts, medians, means
        )

    @property
    def table(self) -> pl.DataFrame:
        """One row per archetype, as `Archetypes.table` (representatives from the sample)."""
        table: pl.DataFrame = self._description.table
        return table

    def graph(self, archetype: int, *, min_support: float = 0.05) -> nx.DiGraph[str]:
        """The archetype graph, as `Archetypes.graph`, from counts summed over partitions."""
        graph: nx.DiGraph[str] = self._description.graph(archetype, min_support=min_support)
        return graph

    def distinctive_edges(
        self,
        archetype: int,
        *,
        top: int = 5,
        min_support: float = 0.1,
        direction: str = "over",
    ) -> pl.DataFrame:
        """The transitions that most set an archetype apart, as `Archetypes.distinctive_edges`."""
        found: pl.DataFrame = self._description.distinctive_edges(
            archetype, top=top, min_support=min_support, direction=direction
        )
        return found


# ---------------------------------------------------------------------------- funnel
def funnel_counts(
    journeys: SparkJourneys, work: Work, gap_keys: tuple[str, ...]
) -> dict[str, pl.DataFrame]:
    """A funnel's counts (``jg.funnel`` dispatches here): ``work`` counts each partition's
    journeys (reach, next touchpoints, value counts of step times), summed here; the
    caller finishes them with the local code."""
    from pyspark.sql import functions as F

    tables, layout = journeys._analyse(work)
    try:
        types = {name: dict(fields) for name, fields in layout.items()}
        small = _gather(tables, ("reach", "next"), layout)
        out = {
            "reach": _summed(small["reach"], types["reach"], ("segment", "step")),
            "next": _summed(small["next"], types["next"], ("segment", "step", "next")),
        }
        gaps = _unpack(tables, "gap").groupBy(*gap_keys).agg(F.sum("n").alias("n"))
        found = _collected(gaps)
        out["gap"] = found.select(pl.col(c).cast(types["gap"][c]) for c in types["gap"])
    finally:
        tables.unpersist()
    return out


def per_journey(journeys: SparkJourneys, work: Work) -> DataFrame:
    """The one table ``work`` makes of each partition's journeys (one row per journey),
    as a Spark DataFrame; not persisted: each action runs the pass."""
    tables, layout = journeys._analyse(work, persist=False)
    (name,) = layout
    return _unpack(tables, name)


def summed_counts(journeys: SparkJourneys, work: Work) -> dict[str, pl.DataFrame]:
    """The count tables ``work`` makes of each partition's journeys, added up by their
    text columns (in partition order), with the local types."""
    tables, layout = journeys._analyse(work)
    try:
        parts = _gather(tables, tuple(layout), layout)
    finally:
        tables.unpersist()
    out = {}
    for name, fields in layout.items():
        keys = [c for c, d in fields if d == pl.String]
        out[name] = _summed(parts[name], dict(fields), keys)
    return out


def start_range(journeys: SparkJourneys) -> tuple[Any, Any, pl.DataType]:
    """The first and last journey start, and their local type."""
    from pyspark.sql import functions as F

    dtype: pl.DataType = dict(journeys._layout["stats"])["start"]
    found = journeys.stats.agg(F.min("start").alias("lo"), F.max("start").alias("hi"))
    frame = _collected(found)
    frame = frame.select(pl.col("lo", "hi").cast(dtype))
    return frame.item(0, "lo"), frame.item(0, "hi"), dtype


def table_sums(
    journeys: SparkJourneys,
    work: Callable[..., pl.DataFrame],
    tables: tuple[str, ...],
    keys: tuple[str, ...],
) -> pl.DataFrame:
    """``work`` on each partition's per-journey ``tables`` (e.g. ``nodes``, ``stats``:
    whole customers, as polars frames with Spark's types, one argument each), its other
    columns summed by ``keys`` in Spark; collected with the types ``work`` gives. No pass
    over the events: the persisted tables of `jg.mine`'s pass are read."""
    from pyspark.sql import functions as F

    fields = {name: [(c, _safe_dtype(d)) for c, d in journeys._layout[name]] for name in tables}
    example = work(*[_rows([], fields[name]) for name in tables])
    layout = _layout_of({"sums": example})

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        parts = list(batches)
        if not parts:
            return
        arrow = pa.Table.from_batches(parts)
        frames = [_valid_rows(arrow, name, fields[name]) for name in tables]
        yield _batch("sums", work(*frames), layout)

    frame = _selected(journeys._tables, tables).mapInArrow(run, _spark_schema(layout))
    values = [c for c in example.columns if c not in keys]
    summed = frame.select("sums.*").groupBy(*keys).agg(*[F.sum(c).alias(c) for c in values])
    found = _collected(summed)
    return found.select(pl.col(c).cast(d) for c, d in example.schema.items())


# ---------------------------------------------------------------------------- report
def distinct_customers(journeys: SparkJourneys) -> pl.Series:
    """The customers of the journeys (each once, collected), with the local id type."""
    found = _collected(journeys.stats.select("customer").distinct())
    return found.get_column("customer").cast(journeys.id_type).sort()


def column_means(
    frame: DataFrame,
    columns: list[str],
    sums: Callable[[pl.Series, pl.DataFrame, int], pl.DataFrame],
    means_of: Callable[[pl.DataFrame], pl.DataFrame],
) -> dict[str, Any]:
    """The mean of each column over all rows (nulls skipped): the local ``sums`` of every
    partition, added here in partition order, divided by the local ``means_of``."""
    selected = frame.select(*columns)
    empty = _empty_like(selected)

    def work(part: pl.DataFrame) -> pl.DataFrame:
        return sums(pl.Series("archetype", np.zeros(part.height, dtype=np.int64)), part, 1)

    parts = _collected(_per_partition(selected, work, "sums", empty).select("sums.*"))
    summed = _summed(parts, dict(work(empty).schema), ("archetype",))
    means: dict[str, Any] = means_of(summed).drop("archetype").row(0, named=True)
    return means
