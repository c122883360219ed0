"""Equal opportunity of a run's model on its test rows, by a column of any source.

For each group (a value of ``source.column``), the false-negative rate
``FNR = P(pred = 0 | label = 1)`` of the run's latest model on the run's test rows; the
equal opportunity difference is the largest FNR minus the smallest, over the groups that
have positives. The group column is found through row provenance, so it need not be an
output column of the pipeline: the running example drops ``customers.level``, and its model
can still be audited by level. A test row merged from several source rows (an aggregate)
counts once in each distinct group among them; a row without a source row (an outer join)
and a NULL value fall in the group ``"null"``.

Group names are data values: group by columns such as a bank or a level, not by an
identifying column.

>>> import spark_lester                                            # doctest: +SKIP
>>> spark_lester.fairness_report("first", "customers.level",
...                              warehouse="./.lester/warehouse")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.layout import FEATURES, MODEL
from spark_lester.errors import ColumnNotFoundError, QueryError
from spark_lester.plan.columns import ROW_ID, SPLIT, provenance_column
from spark_lester.queries._private import check_source, resolve_run, source_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_lester.artifacts.registry import RunRecord

#: Scratch columns of the query: the model's 0/1 prediction, the group value.
PRED, GROUP = "__lester_pred", "__lester_group"
#: The group of NULL values and of rows without a source row.
NULL_GROUP = "null"


def fairness_report(run: str | RunRecord, by: str, *, warehouse: str | None = None,
                    spark: SparkSession | None = None, threshold: float = 0.5
                    ) -> dict[str, Any]:
    """Per-group FNR and the equal opportunity difference of ``run``'s model (JSON-ready).

    ``by`` is ``"source.column"``; a row is predicted positive when the model's
    P(y = 1 | x) exceeds ``threshold`` (0.5: the model's own ``predict``). Raises
    ``RunNotFoundError``, ``QueryError`` (bad ``by``, unknown source, no label or model),
    ``ColumnNotFoundError`` (the source has no such column).
    """
    from pyspark.sql import functions as F

    from spark_lester.artifacts.model import load_model

    spark, record = resolve_run(run, warehouse=warehouse, spark=spark)
    source, column = split_by(record, by)
    if record.label is None or MODEL not in record.tables:
        raise QueryError("it has no label or no model to audit.", run_id=record.run_id,
                         hint="Set LABEL and MODEL in the pipeline file and run it again.")
    rows = source_frame(spark, record, source)
    data_columns = [c for c in rows.columns if c != provenance_column(source)]
    if column not in data_columns:
        raise ColumnNotFoundError(column, available=data_columns, op=f"fairness_report {source}")
    model = load_model(spark, record.tables[MODEL].path)
    features = spark.read.format("delta").load(record.tables[FEATURES].path)
    test = features.where(F.col(SPLIT) == F.lit("test"))
    scored = predict(test, model.params.to_bytes(), record.label, provenance_column(source),
                     threshold)
    groups = group_rates(scored, rows, source, column, record.label)
    return {"run_id": record.run_id, "by": by, "model_version": model.version,
            "threshold": threshold, "test_rows": test.count(), "groups": groups,
            **equal_opportunity(groups)}


def split_by(run: RunRecord, by: str) -> tuple[str, str]:
    """``"customers.level"`` -> ``("customers", "level")``, the source checked against the run."""
    source, dot, column = by.partition(".")
    if not dot or not source or not column:
        raise QueryError(f"group column {by!r} is not 'source.column' (sources: "
                         f"{', '.join(sorted(run.sources))}).", run_id=run.run_id,
                         hint="For example --by customers.level.")
    check_source(run, source)
    return source, column


def predict(test: DataFrame, params: bytes, label: str, pcol: str, threshold: float
            ) -> DataFrame:
    """Row id, provenance ``pcol``, label and the 0/1 prediction of each test row.

    Predictions are computed on the executors (``mapInPandas``) from the model's bytes.
    """
    from pyspark.sql.types import IntegerType, StructField, StructType

    def score(batches):  # type: ignore[no-untyped-def]
        import numpy as np

        from spark_lester.models.params import ModelParams

        model = ModelParams.from_bytes(params)
        for pdf in batches:
            if len(pdf):
                X = np.asarray(pdf["features"].tolist(), dtype=np.float64)
                pred = (model.predict_proba(X) > threshold).astype(np.int32)
            else:
                pred = np.zeros(0, dtype=np.int32)
            yield pdf[[ROW_ID, pcol, label]].assign(**{PRED: pred})

    schema = StructType([test.schema[ROW_ID], test.schema[pcol], test.schema[label],
                         StructField(PRED, IntegerType(), False)])
    return test.select(ROW_ID, pcol, label, "features").mapInPandas(score, schema)


def group_rates(scored: DataFrame, rows: DataFrame, source: str, column: str, label: str
                ) -> list[dict[str, Any]]:
    """Per group of ``rows[column]``: n, positives, false negatives and FNR (None: no positives)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    pcol = provenance_column(source)
    if isinstance(scored.schema[pcol].dataType, ArrayType):
        scored = scored.withColumn(pcol, F.explode_outer(pcol))
    values = rows.select(pcol, F.col(column).cast("string").alias(GROUP))
    joined = scored.join(values, on=pcol, how="left") \
        .select(ROW_ID, label, PRED, F.coalesce(F.col(GROUP), F.lit(NULL_GROUP)).alias(GROUP)) \
        .distinct()
    positive = F.col(label) == F.lit(1)
    counts = joined.groupBy(GROUP).agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(positive.cast("long")).alias("positives"),
        F.sum((positive & (F.col(PRED) == F.lit(0))).cast("long")).alias("false_negatives"),
    ).orderBy(GROUP).collect()
    out = []
    for r in counts:
        positives, misses = int(r["positives"] or 0), int(r["false_negatives"] or 0)
        out.append({"group": r[GROUP], "n": int(r["n"]), "positives": positives,
                    "false_negatives": misses,
                    "fnr": misses / positives if positives else None})
    return out


def equal_opportunity(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Largest minus smallest FNR over groups with positives, and which groups those are.

    >>> equal_opportunity([{"group": "a", "fnr": 0.5}, {"group": "b", "fnr": None},
    ...                    {"group": "c", "fnr": 0.2}])
    {'equal_opportunity_difference': 0.3, 'worst_group': 'a', 'best_group': 'c'}
    >>> equal_opportunity([{"group": "b", "fnr": None}])["equal_opportunity_difference"] is None
    True
    """
    rated = [g for g in groups if g["fnr"] is not None]
    if not rated:
        return {"equal_opportunity_difference": None, "worst_group": None, "best_group": None}
    worst = max(rated, key=lambda g: g["fnr"])
    best = min(rated, key=lambda g: g["fnr"])
    return {"equal_opportunity_difference": round(worst["fnr"] - best["fnr"], 12),
            "worst_group": worst["group"], "best_group": best["group"]}
