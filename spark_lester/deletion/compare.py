"""Comparing two runs' artifacts: the oracle for "incremental update = full re-run".

Prepared rows are compared as multisets over every column (row ids and provenance included,
both are deterministic); X is compared row by row (joined on the row id) with a tolerance.
Computed on Spark, so it scales to the benchmark sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.layout import FEATURES, PREPARED
from spark_lester.artifacts.registry import RunRecord
from spark_lester.plan.columns import ROW_ID

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TOLERANCE = 1e-6


def same_artifacts(spark: SparkSession, left: RunRecord, right: RunRecord,
                   tolerance: float = TOLERANCE) -> dict[str, Any]:
    """Whether ``left``'s and ``right``'s prepared tables and X agree (and by how much)."""
    from pyspark.sql import functions as F

    from spark_lester.features.encode import FEATURES as VECTOR

    out: dict[str, Any] = {}
    for name in (PREPARED, FEATURES):
        a = spark.read.format("delta").load(left.tables[name]["path"])
        b = spark.read.format("delta").load(right.tables[name]["path"])
        cols = sorted(c for c in a.columns if c != VECTOR)
        if sorted(c for c in b.columns if c != VECTOR) != cols:
            out[name] = {"equal": False, "reason": "different columns"}
            continue
        a, b = a.select(*cols, *([VECTOR] if name == FEATURES else [])), \
            b.select(*cols, *([VECTOR] if name == FEATURES else []))
        only_left = a.select(*cols).exceptAll(b.select(*cols)).count()
        only_right = b.select(*cols).exceptAll(a.select(*cols)).count()
        entry: dict[str, Any] = {"rows": a.count(), "only_left": only_left,
                                 "only_right": only_right}
        if name == FEATURES:
            joined = a.select(ROW_ID, F.col(VECTOR).alias("x")).join(
                b.select(ROW_ID, F.col(VECTOR).alias("y")), ROW_ID, "full_outer")
            diff = joined.select(F.when(F.col("x").isNull() | F.col("y").isNull(),
                                        F.lit(float("inf")))
                                 .otherwise(F.aggregate(
                                     F.zip_with("x", "y", lambda p, q: F.abs(p - q)),
                                     F.lit(0.0).cast("float"),
                                     lambda acc, v: F.greatest(acc, v))).alias("d"))
            worst = diff.agg(F.max("d")).collect()[0][0]
            entry["max_abs_diff"] = float(worst) if worst is not None else 0.0
        entry["equal"] = only_left == 0 and only_right == 0 and \
            entry.get("max_abs_diff", 0.0) <= tolerance
        out[name] = entry
    out["equal"] = all(out[n]["equal"] for n in (PREPARED, FEATURES))
    return out
