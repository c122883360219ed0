"""Applying a change set to an artifact table with one Delta MERGE by surrogate row id.

The MERGE source holds the change set with an operation column; the condition matches on the
surrogate id only (never on a data value, so no personal data ever appears in the commit's
predicate), plus the cluster column's ids when every changed row has one (written so that
Delta skips files value by value, see :func:`~spark_lester.deletion.ivm.change.skipping_isin`):
Delta skips every file outside the touched clusters. The request id is stamped into the
commit's ``userMetadata``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.deletion.ivm.change import DELETE, INSERT, OP, UPDATE, TableChange, skipping_isin
from spark_lester.deletion.records import MergeMetrics, skipped
from spark_lester.plan.columns import ROW_ID

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


def commit_tag(request_id: str) -> str:
    return f"spark_lester request={request_id}"


@contextmanager
def stamped(spark: SparkSession, request_id: str) -> Iterator[None]:
    """Every Delta commit inside carries the request id in its ``userMetadata``."""
    previous = spark.conf.get(_USER_METADATA, None)
    if previous == commit_tag(request_id):  # nested (or concurrent under one outer stamp)
        yield
        return
    spark.conf.set(_USER_METADATA, commit_tag(request_id))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(_USER_METADATA)
        else:
            spark.conf.set(_USER_METADATA, previous)


def merge(spark: SparkSession, path: str, change: TableChange, *, request_id: str,
          cluster_by: str | None) -> MergeMetrics:
    """Apply ``change`` to the Delta table at ``path``; return metrics of the MERGE."""
    from delta.tables import DeltaTable
    from pyspark.sql import Row
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    started = time.perf_counter()
    if change.empty:
        return skipped()
    target = DeltaTable.forPath(spark, path)
    schema = target.toDF().schema
    names = schema.fieldNames()
    with stamped(spark, request_id), store.storage_errors(path):
        if change.replacement is not None:
            _replace(target, change, names)
        else:
            # delete rows carry only the id: every other field of the source may be NULL
            fields = [StructField(f.name, f.dataType, True) for f in schema.fields]
            full = StructType([*fields, StructField(OP, StringType(), False)])
            empty = {n: None for n in names}
            rows = [Row(**{**empty, ROW_ID: rid, OP: DELETE}) for rid in sorted(set(change.deletes))]
            rows += [Row(**{**{n: r.get(n) for n in names}, OP: UPDATE}) for r in change.updates]
            rows += [Row(**{**{n: r.get(n) for n in names}, OP: INSERT}) for r in change.inserts]
            source = spark.createDataFrame([tuple(r[n] for n in full.fieldNames()) for r in rows],
                                           full)
            cond = (F.col(f"t.{ROW_ID}") == F.col(f"s.{ROW_ID}")) & (F.col(f"s.{OP}") != INSERT)
            clusters = _cluster_ids(change, cluster_by)
            if clusters is not None:
                cond = cond & skipping_isin(f"t.{cluster_by}", clusters)
            assign = {n: F.col(f"s.{n}") for n in names}
            # only the clauses the change needs: without inserts Delta runs a matched-only
            # MERGE (an inner join instead of an outer one)
            builder = target.alias("t").merge(source.alias("s"), cond)
            if change.deletes:
                builder = builder.whenMatchedDelete(condition=F.col(f"s.{OP}") == DELETE)
            if change.updates:
                builder = builder.whenMatchedUpdate(condition=F.col(f"s.{OP}") == UPDATE,
                                                    set=assign)
            if change.inserts:
                builder = builder.whenNotMatchedInsert(condition=F.col(f"s.{OP}") == INSERT,
                                                       values=assign)
            builder.execute()
    return dataclasses.replace(last_metrics(spark, path),
                               seconds=round(time.perf_counter() - started, 3))


#: Marks, in a replacement, the rows whose id is not unique (on either side).
_DUPLICATE = "__lester_duplicate"


def _replace(target: Any, change: TableChange, names: list[str]) -> None:
    """MERGE the complete new table: rows matched by id are updated where they differ, new
    ids inserted, ids gone deleted. A union can emit one row id twice (the same row through
    two branches); MERGE refuses two source rows for one target row, so the rows of an id
    that is not unique on either side never match: the target's copies are deleted and the
    new copies inserted, in the same commit."""
    from pyspark.sql import functions as F

    from spark_lester.deletion.ivm.change import isin

    source = change.replacement
    assert source is not None
    current = target.toDF()
    duplicated = (source.groupBy(ROW_ID).count().where(F.col("count") > 1).select(ROW_ID)
                  .union(current.groupBy(ROW_ID).count().where(F.col("count") > 1)
                         .select(ROW_ID)).distinct())
    ids = [int(r[0]) for r in duplicated.collect()]
    source = source.withColumn(_DUPLICATE, isin(ROW_ID, ids))
    assign = {n: F.col(f"s.{n}") for n in names}
    differs = None
    for n in names:
        if n == ROW_ID:
            continue
        term = ~F.col(f"t.{n}").eqNullSafe(F.col(f"s.{n}"))
        differs = term if differs is None else differs | term
    cond = (F.col(f"t.{ROW_ID}") == F.col(f"s.{ROW_ID}")) & ~F.col(f"s.{_DUPLICATE}")
    (target.alias("t").merge(source.alias("s"), cond)
     .whenMatchedUpdate(condition=differs, set=assign)
     .whenNotMatchedInsert(values=assign)
     .whenNotMatchedBySourceDelete()
     .execute())


def _cluster_ids(change: TableChange, cluster_by: str | None) -> list[int] | None:
    if cluster_by is None:
        return None
    values: set[int] = set()
    for row in (*change.before, *change.updates, *change.inserts):
        value = row.get(cluster_by)
        if value is None:
            return None
        values.add(int(value))
    deleted = set(change.deletes)
    known = {r[ROW_ID] for r in change.before}
    if deleted - known:
        return None
    return sorted(values)


def last_metrics(spark: SparkSession, path: str) -> MergeMetrics:
    """Row and file counts of the table's latest commit, and where the MERGE's time went
    (Delta's operationMetrics: materialising the source, finding the touched files,
    rewriting them)."""
    version = store.table_version(spark, path)
    info = store.commit_info(spark, path, version)
    return MergeMetrics.from_delta(info.get("operationMetrics") or {}, version=version,
                                   operation=info.get("operation"))
