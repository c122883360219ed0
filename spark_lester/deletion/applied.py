"""What earlier requests did to each run's sources: the *current cleaned state*.

Sources are usually not cleaned (a CSV file, someone else's table): the artifacts are. So
that a later request starts from the state the earlier ones left, and never brings back a
row they deleted or a cell they redacted, every request records per run the source rows it
changed: ``<warehouse>/_lester/applied``, one row per (request, run, source, action, row
id), with the redacted column names. Row ids only (64-bit hashes), never values.

Before a request computes anything, the run's sources are read as the run read them and
every earlier request's changes are applied to them (:func:`apply_changes`); the request
identifies its rows in, and re-derives its artifacts from, that cleaned state. A request
records its own rows (:func:`record`) before it changes any table; the rows of a request
whose last ledger state is ``failed`` are not applied (it changed nothing; re-submitted, it
records them again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import Layout
from spark_lester.plan.columns import provenance_column

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

    from spark_lester.deletion.records import LedgerEntry
    from spark_lester.frame.frame import LesterFrame

_SCHEMA = ("request_id STRING, run_id STRING, source STRING, action STRING, "
           "columns STRING, row_id LONG")
#: Up to this many ids a change is applied as ``IN (...)``; above it, by a broadcast join.
_INLINE = 2000


@dataclass
class SourceChange:
    """One request's change of one source of one run."""

    request_id: str
    source: str
    action: str
    columns: tuple[str, ...] = ()
    ids: set[int] = field(default_factory=set)


def load(spark: SparkSession, layout: Layout, history: list[LedgerEntry], *,
         exclude: str | None = None) -> dict[str, list[SourceChange]]:
    """Run id -> the changes of every earlier request (in ledger order), except
    ``exclude`` (the request being applied) and requests whose last state is ``failed``."""
    if not store.exists(spark, layout.applied):
        return {}
    last: dict[str, str] = {}
    order: dict[str, int] = {}
    for i, entry in enumerate(history):
        last[entry.request_id] = entry.status
        order.setdefault(entry.request_id, i)
    with store.storage_errors(layout.applied):
        rows = spark.read.format("delta").load(layout.applied).collect()
    grouped: dict[tuple[str, str, str, str, str], set[int]] = {}
    for r in rows:
        if r.request_id == exclude or last.get(r.request_id) == "failed":
            continue
        grouped.setdefault((r.run_id, r.request_id, r.source, r.action, r.columns or "[]"),
                           set()).add(int(r.row_id))
    out: dict[str, list[SourceChange]] = {}
    for (run_id, rid, source, action, columns), ids in sorted(
            grouped.items(), key=lambda kv: (order.get(kv[0][1], len(history)), kv[0])):
        out.setdefault(run_id, []).append(
            SourceChange(rid, source, action, tuple(json.loads(columns)), ids))
    return out


def recorded(spark: SparkSession, layout: Layout, request_id: str) -> bool:
    """Whether ``request_id`` has recorded its rows (an earlier attempt did)."""
    if not store.exists(spark, layout.applied):
        return False
    from pyspark.sql import functions as F

    with store.storage_errors(layout.applied):
        df = spark.read.format("delta").load(layout.applied)
        return bool(df.where(F.col("request_id") == request_id).limit(1).collect())


def record(spark: SparkSession, layout: Layout, request_id: str,
           changes: Mapping[str, list[SourceChange]]) -> int:
    """Append the request's changes (run id -> changes); nothing when it already did."""
    rows = [(request_id, run_id, c.source, c.action, json.dumps(list(c.columns)), int(i))
            for run_id, items in sorted(changes.items()) for c in items for i in sorted(c.ids)]
    if not rows or recorded(spark, layout, request_id):
        return 0
    df = spark.createDataFrame(rows, _SCHEMA)
    with store.storage_errors(layout.applied):
        df.write.format("delta").mode("append").save(layout.applied)
    return len(rows)


def ids_in(column: str, ids: set[int] | list[int]) -> Column:
    from pyspark.sql import functions as F

    values = sorted({int(i) for i in ids})
    return F.col(column).isin(values) if values else F.lit(False)


def apply_changes(frames: Mapping[str, LesterFrame], changes: list[SourceChange]
                  ) -> dict[str, LesterFrame]:
    """The source frames with ``changes`` applied in order: deleted rows dropped, redacted
    cells NULL (a row keeps its id: it is the same row, redacted)."""
    from pyspark.sql import functions as F

    from spark_lester.frame.frame import LesterFrame

    out = dict(frames)
    for change in changes:
        frame = out.get(change.source)
        if frame is None or not change.ids:
            continue
        col = provenance_column(change.source)
        df = frame.df
        if change.action == "delete_rows":
            df = _without(df, col, change.ids)
        else:
            hit = ids_in(col, change.ids)
            for column in change.columns:
                if column in df.columns:
                    dtype = df.schema[column].dataType
                    df = df.withColumn(column, F.when(hit, F.lit(None).cast(dtype))
                                       .otherwise(F.col(column)))
        out[change.source] = LesterFrame(df, frame.plan)
    return out


def _without(df: Any, col: str, ids: set[int]) -> Any:
    if len(ids) <= _INLINE:
        return df.where(~ids_in(col, ids))
    from pyspark.sql import functions as F

    spark = df.sparkSession
    gone = spark.createDataFrame([(int(i),) for i in sorted(ids)], f"{col} LONG")
    return df.join(F.broadcast(gone), on=col, how="left_anti").select(*df.columns)
