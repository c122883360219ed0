"""deletion/ivm/change.py: reading the affected rows of an artifact table.

The table is clustered by ``__prov_a``: rows of one ``a`` id sit in one file, while ``b`` ids
are scattered over every file. Anchors of ``b`` defeat Delta's min/max file skipping, so
``affected_rows`` first finds the rows' clusters from the id columns and then reads whole
rows from those clusters' files only. The file counts come from the scan's own metric.
"""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_lester.artifacts import store
from spark_lester.deletion.ivm.change import _any_anchor, affected_rows, isin, skipping_isin

CLUSTER = "__prov_a"


@pytest.fixture(scope="module")
def clustered(spark, tmp_path_factory):
    """400 rows in 8 files: ``a`` = i // 10 (clustered), ``b`` = i * 7919 % 400 (scattered)."""
    path = str(tmp_path_factory.mktemp("change") / "table")
    df = spark.range(400).select(
        F.col("id").alias("__row_id"), (F.col("id") / 10).cast("long").alias(CLUSTER),
        (F.col("id") * 7919 % 400).alias("__prov_b"),
        F.concat(F.lit("text "), F.col("id").cast("string")).alias("text"))
    store.write_clustered(df, path, cluster_by=CLUSTER, rows=400, rows_per_file=50,
                          stats_columns=["__row_id", CLUSTER, "__prov_b"])
    return path


@pytest.fixture
def scans(monkeypatch):
    """The number of files each collected Delta scan read (Spark's ``numFiles`` metric)."""
    seen: list[int] = []
    original = DataFrame.collect

    def spy(self):
        rows = original(self)
        plan = self._jdf.queryExecution().executedPlan()
        leaves = plan.collectLeaves()
        for i in range(leaves.size()):
            metrics = leaves.apply(i).metrics()
            if metrics.contains("numFiles"):
                seen.append(int(metrics.apply("numFiles").value()))
        return rows

    monkeypatch.setattr(DataFrame, "collect", spy)
    return seen


def _plain(df, anchors):
    return sorted((r.asDict() for r in df.where(_any_anchor(anchors, df.columns)).collect()),
                  key=lambda r: r["__row_id"])


def test_anchors_of_another_source_read_only_their_clusters_files(spark, clustered, scans):
    df = spark.read.format("delta").load(clustered)
    # b ids 7919*i % 400 for i = 3 and i = 215: rows 3 and 215, in clusters 0 and 21
    anchors = {"a": [5], "b": [3 * 7919 % 400, 215 * 7919 % 400]}
    rows = affected_rows(df, anchors, CLUSTER)
    assert sorted(r["__row_id"] for r in rows) == [3, *range(50, 60), 215]
    assert len(scans) == 2
    # first the ids from every file, then the rows from the files of clusters 0, 5 and 21
    assert scans[0] == 8
    assert scans[1] <= 3 < scans[0]
    scans.clear()
    assert sorted(rows, key=lambda r: r["__row_id"]) == _plain(df, anchors)
    assert scans == [8]  # the plain filter reads every file: the b ids are everywhere


def test_anchors_of_the_cluster_source_alone_are_one_read(spark, clustered, scans):
    df = spark.read.format("delta").load(clustered)
    rows = affected_rows(df, {"a": [12, 13]}, CLUSTER)
    assert sorted(r["__row_id"] for r in rows) == list(range(120, 140))
    assert len(scans) == 1 and scans[0] <= 2


def test_an_id_filter_skips_files_value_by_value(spark, clustered, scans):
    """Delta reads ``IN`` as the range of its values: ids at both ends of the range (clusters 0
    and 39) make it read every file; ``skipping_isin`` reads their two files."""
    df = spark.read.format("delta").load(clustered)
    assert len(df.where(isin(CLUSTER, [0, 39])).collect()) == 20
    assert len(df.where(skipping_isin(CLUSTER, [0, 39])).collect()) == 20
    assert scans == [8, 2]
    # more ids than a disjunction is written for: a plain IN, the same rows
    assert len(df.where(skipping_isin(CLUSTER, range(-100, 100))).collect()) == 400


def test_no_matching_row_and_no_cluster_column(spark, clustered, scans):
    df = spark.read.format("delta").load(clustered)
    assert affected_rows(df, {"a": [], "b": [1000]}, CLUSTER) == []
    assert len(scans) == 1  # nothing found: no second read
    anchors = {"b": [3 * 7919 % 400]}
    assert affected_rows(df, anchors, None) == _plain(df, anchors)


def test_rows_without_a_cluster_id_are_not_skipped(spark, tmp_path):
    path = str(tmp_path / "nulls")
    df = spark.createDataFrame([(1, None, 10, "x"), (2, 1, 11, "y"), (3, 2, 10, "z")],
                               "__row_id LONG, __prov_a LONG, __prov_b LONG, text STRING")
    df.write.format("delta").save(path)
    table = spark.read.format("delta").load(path)
    rows = affected_rows(table, {"b": [10]}, CLUSTER)
    assert sorted(r["__row_id"] for r in rows) == [1, 3]


def test_a_table_of_one_file_is_read_once(spark, clustered, scans):
    df = spark.read.format("delta").load(clustered)
    anchors = {"a": [5], "b": [3 * 7919 % 400]}
    rows = affected_rows(df, anchors, CLUSTER, files=1)
    assert sorted(r["__row_id"] for r in rows) == [3, *range(50, 60)]
    assert scans == [8]  # one read (this table really has 8 files: nothing is skipped)
    assert store.file_count(spark, clustered) == 8
