"""Comparing two runs' artifacts: the oracle for "incremental update = full re-run".

Prepared rows are compared as multisets over every column (row ids and provenance included,
both are deterministic); X is compared row by row (joined on the row id) with a tolerance.
Computed on Spark, so it scales to the benchmark sizes.

The model is compared the same way: the unlearned model of the updated run against the
model the re-run trained from scratch on the cleaned data (same kind, seed, X), with the
metrics of ``unlearning.quality`` (rho, residuals, accuracy gap, membership inference).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED
from spark_lester.artifacts.registry import RunRecord
from spark_lester.plan.columns import ROW_ID, SPLIT

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

TOLERANCE = 1e-6


def same_artifacts(spark: SparkSession, left: RunRecord, right: RunRecord,
                   tolerance: float = TOLERANCE) -> dict[str, Any]:
    """Whether ``left``'s and ``right``'s prepared tables and X agree (and by how much)."""
    from pyspark.sql import functions as F

    from spark_lester.features.encode import FEATURES as VECTOR

    out: dict[str, Any] = {}
    for name in (PREPARED, FEATURES):
        a = spark.read.format("delta").load(left.tables[name].path)
        b = spark.read.format("delta").load(right.tables[name].path)
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


def training_rows_of(spark: SparkSession, run: RunRecord, where: Column
                     ) -> dict[int, tuple[list[float], float]]:
    """Row id -> (feature vector, label) of ``run``'s training rows whose prepared row
    satisfies ``where`` (read before a request, to know what the model must forget)."""
    from pyspark.sql import functions as F

    from spark_lester.features.encode import FEATURES as VECTOR

    prepared = spark.read.format("delta").load(run.tables[PREPARED].path)
    ids = [int(r[0]) for r in prepared.where(where).select(ROW_ID).collect()]
    df = spark.read.format("delta").load(run.tables[FEATURES].path)
    rows = df.where((F.col(SPLIT) == "train") & F.col(ROW_ID).isin(ids)) \
        .select(ROW_ID, VECTOR, F.col(run.label).cast("double")).collect() if ids else []
    return {int(r[0]): (list(r[1]), float(r[2])) for r in rows}


def model_against_retrain(spark: SparkSession, run: RunRecord, baseline: RunRecord,
                          original: Any, old_rows: dict[int, tuple[list[float], float]]
                          ) -> dict[str, Any]:
    """The updated ``run``'s model against ``baseline``'s (trained from scratch on the
    cleaned data): ``original`` is the model before the request, ``old_rows`` the training
    rows it may have changed (``training_rows_of`` before the request)."""
    import numpy as np
    from pyspark.sql import functions as F

    from spark_lester.artifacts.model import load_model, training_data
    from spark_lester.features.encode import FEATURES as VECTOR
    from spark_lester.unlearning.quality import unlearning_quality

    unlearned = load_model(spark, run.tables[MODEL].path)
    retrained = load_model(spark, baseline.tables[MODEL].path)
    features = spark.read.format("delta").load(run.tables[FEATURES].path)
    now = {int(r[0]): list(r[1]) for r in features.where(F.col(ROW_ID).isin(sorted(old_rows)))
           .select(ROW_ID, VECTOR).collect()} if old_rows else {}
    gone = [v for rid, v in old_rows.items()
            if rid not in now or not np.array_equal(now[rid], v[0])]
    test = features.where(F.col(SPLIT) == "test").select(VECTOR, run.label)
    width = unlearned.params.d
    deleted = (np.asarray([v[0] for v in gone], dtype=np.float64).reshape(len(gone), width),
               np.asarray([v[1] for v in gone], dtype=np.float64))
    report = unlearning_quality(original, unlearned.params, retrained.params,
                                remaining=training_data(features, run.label), deleted=deleted,
                                test=test, label_col=run.label)
    return {"method": unlearned.method, "rho": report.rho,
            "accuracy_gap": report.accuracy_gap,
            "retrain_seconds": baseline.tables[MODEL].train_seconds,
            "model_version": unlearned.version, "rows_forgotten": len(gone),
            "quality": report.to_dict()}
