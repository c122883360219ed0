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
from spark_lester.deletion.records import LedgerEntry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STARTED, COMPLETED, NOOP, FAILED = "started", "completed", "noop", "failed"
#: Tables updated but not erased (``--no-erase``): re-submitting the request erases.
UPDATED = "updated"
#: States after which re-submitting the same request continues it.
RESUMABLE = (STARTED, UPDATED)
_SCHEMA = ("request_id STRING, status STRING, at TIMESTAMP, fingerprint STRING, "
           "description STRING, reason STRING, runs STRING, tables STRING, sources STRING, "
           "changes STRING, timings STRING, verification STRING, quality STRING, model STRING, "
           "seconds DOUBLE")


def append(spark: SparkSession, layout: Layout, entry: LedgerEntry) -> None:
    """Append one row (unset fields are NULL; ``at`` is now)."""
    values = entry.to_json()
    values["at"] = datetime.now(timezone.utc)
    for key in LedgerEntry.JSON:
        values[key] = json.dumps(values[key], sort_keys=True, default=str) \
            if values[key] is not None else None
    names = [f.split()[0] for f in _SCHEMA.split(", ")]
    df = spark.createDataFrame([tuple(values.get(n) for n in names)], _SCHEMA)
    with store.storage_errors(layout.ledger):
        df.write.format("delta").mode("append").save(layout.ledger)


def entries(spark: SparkSession, layout: Layout, request_id: str | None = None
            ) -> list[LedgerEntry]:
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
        for key in LedgerEntry.JSON:
            if row.get(key) is not None:
                row[key] = json.loads(row[key])
    return [LedgerEntry.from_json(row) for row in rows]


def expected_versions(history: list[LedgerEntry]) -> dict[str, int | None]:
    """Per table path, its version after the latest completed request that changed it."""
    out: dict[str, int | None] = {}
    for row in history:
        if row.status == COMPLETED and row.tables:
            out |= {path: state.after for path, state in row.tables.items()}
    return out


def cleaned_sources(history: list[LedgerEntry]) -> dict[str, Any]:
    """Per Delta source path, its fingerprint after the latest completed request that
    cleaned it (``registry.fingerprint``)."""
    out: dict[str, Any] = {}
    for row in history:
        if row.status == COMPLETED and row.sources:
            out |= {path: state.get("after") for path, state in row.sources.items()}
    return out
