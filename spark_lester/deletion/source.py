"""Cleaning the source itself (``clean_source``): the same change applied to a Delta source.

Rows are matched by recomputing the source's row id from its key column inside the MERGE
condition, so no key value is ever written into a predicate. Only keyed Delta sources can be
cleaned; anything else is refused before any table changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.deletion.ivm.change import RunChange
from spark_lester.deletion.records import MergeMetrics
from spark_lester.deletion.request import DeletionRequest
from spark_lester.errors import RequestError
from spark_lester.frame.source import keyed_row_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def cleaned_names(request: DeletionRequest) -> list[str]:
    """The sources a ``clean_source`` request cleans: its own (``delete_rows``), or the
    sources of the columns it redacts."""
    if request.action == "delete_rows":
        return [request.source]
    return sorted({s for s, _ in request.columns})


def sources_to_clean(request: DeletionRequest, changes: list[RunChange]) -> dict[str, Any]:
    """Source name -> {path, key, ids, columns}; typed error for sources that cannot be."""
    names = cleaned_names(request)
    out: dict[str, Any] = {}
    for change in changes:
        for name in names:
            meta = change.run.sources[name]
            if meta["format"] != "delta" or meta.get("key") is None:
                raise RequestError(f"clean_source needs a keyed Delta source, but '{name}' is "
                                   f"{meta['format']}{'' if meta.get('key') else ' without key'}.",
                                   request_id=request.request_id, field="clean_source",
                                   hint="Clean that source with its own tools, or drop "
                                   "clean_source.")
            entry = out.setdefault(meta["path"], {"name": name, "key": meta["key"],
                                                  "ids": set(), "columns": []})
            entry["ids"].update(change.changed.get(name, ()))
            entry["columns"] = [c for s, c in request.columns if s == name]
    return out


def clean_source(spark: SparkSession, path: str, spec: dict[str, Any], request: DeletionRequest
                 ) -> MergeMetrics:
    """Delete or redact the rows ``spec["ids"]`` of the Delta source at ``path``."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_lester.deletion.merge import last_metrics

    ids = sorted(spec["ids"])
    if not ids:
        return MergeMetrics(skipped=True)
    target = DeltaTable.forPath(spark, path)
    source = spark.createDataFrame([(i,) for i in ids], "id LONG")
    cond = keyed_row_id(spec["name"], F.col(f"t.{spec['key']}")) == F.col("s.id")
    with store.storage_errors(path):
        merger = target.alias("t").merge(source.alias("s"), cond)
        if request.action == "delete_rows":
            merger = merger.whenMatchedDelete()
        else:
            schema = target.toDF().schema
            merger = merger.whenMatchedUpdate(set={
                c: F.lit(None).cast(schema[c].dataType) for c in spec["columns"]})
        merger.execute()
    return last_metrics(spark, path)
