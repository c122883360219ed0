"""The audit ledger: an append-only Delta table of what every deletion request did.

One row per state change of a request: ``started`` (with table versions before), then
``completed`` (versions after, rows/cells/feature ranges changed, timings per step and the
verification result), or ``noop`` / ``failed`` with the reason. Rows hold ids, counts, paths
and a fingerprint of the request, never key values or predicates.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import Layout

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STARTED, COMPLETED, NOOP, FAILED = "started", "completed", "noop", "failed"
#: Tables updated but not erased (``--no-erase``): re-submitting the request erases.
UPDATED = "updated"
#: States after which re-submitting the same request continues it.
RESUMABLE = (STARTED, UPDATED)
_JSON = ("runs", "tables", "sources", "changes", "timings", "verification", "quality", "model")
_SCHEMA = ("request_id STRING, status STRING, at TIMESTAMP, fingerprint STRING, "
           "description STRING, reason STRING, runs STRING, tables STRING, sources STRING, "
           "changes STRING, timings STRING, verification STRING, quality STRING, model STRING, "
           "seconds DOUBLE")


def append(spark: SparkSession, layout: Layout, entry: dict[str, Any]) -> None:
    """Append one row (missing fields are NULL)."""
    values: dict[str, Any] = {"at": datetime.now(timezone.utc)}
    for key in ("request_id", "status", "fingerprint", "description", "reason", "seconds"):
        values[key] = entry.get(key)
    for key in _JSON:
        values[key] = json.dumps(entry[key], sort_keys=True, default=str) \
            if entry.get(key) is not None else None
    names = [f.split()[0] for f in _SCHEMA.split(", ")]
    df = spark.createDataFrame([tuple(values.get(n) for n in names)], _SCHEMA)
    with store.storage_errors(layout.ledger):
        df.write.format("delta").mode("append").save(layout.ledger)


def entries(spark: SparkSession, layout: Layout, request_id: str | None = None
            ) -> list[dict[str, Any]]:
    """Ledger rows, oldest first, optionally of one request."""
    if not store.exists(spark, layout.ledger):
        return []
    with store.storage_errors(layout.ledger):
        df = spark.read.format("delta").load(layout.ledger)
        if request_id is not None:
            df = df.where(df.request_id == request_id)
        # sorted here: a Spark sort costs a sampling job and a shuffle, per request
        rows = sorted((r.asDict() for r in df.collect()), key=lambda r: r["at"])
    for row in rows:
        for key in _JSON:
            if row.get(key) is not None:
                row[key] = json.loads(row[key])
    return rows


def expected_versions(history: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Latest recorded state per path (``key`` is "tables" or "sources") from completed rows."""
    out: dict[str, Any] = {}
    for row in history:
        if row["status"] == COMPLETED and row.get(key):
            for path, state in row[key].items():
                out[path] = state.get("after")
    return out
