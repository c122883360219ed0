"""artifacts/store.py: versions and commit metadata read from the Delta log directly."""

from __future__ import annotations

from delta.tables import DeltaTable

from spark_lester.artifacts import store
from spark_lester.deletion.merge import last_metrics, stamped


def test_commit_info_and_last_metrics_equal_delta_history(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.range(10).selectExpr("id", "id * 2 AS v").coalesce(1).write.format("delta").save(path)
    source = spark.createDataFrame([(3, -1), (11, 5)], "id LONG, v LONG")
    with stamped(spark, "req-7"):
        (DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), "t.id = s.id")
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    version = store.table_version(spark, path)
    assert version == 1
    (row,) = DeltaTable.forPath(spark, path).history(1).collect()
    info = store.commit_info(spark, path, version)
    assert info["operation"] == row.operation == "MERGE"
    assert info["userMetadata"] == row.userMetadata == "spark_lester request=req-7"
    assert info["operationMetrics"] == row.operationMetrics
    metrics = last_metrics(spark, path)
    assert metrics.version == 1 and metrics.operation == "MERGE"
    assert metrics.rows_updated == 1 and metrics.rows_inserted == 1
    assert store.commit_info(spark, path, 0)["operation"] == "WRITE"
