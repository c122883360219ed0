"""Row ids: stable across re-reads and partitionings; typed errors for bad sources."""

from __future__ import annotations

import pandas as pd
import pytest

from spark_lester import read_csv, read_parquet
from spark_lester.errors import ColumnNotFoundError, SourceNameError, SourceNotFoundError


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("src")
    df = pd.DataFrame({"k": range(200), "name": [f"n{i % 17}" for i in range(200)],
                       "x": [i % 5 for i in range(200)]})
    # Duplicated rows (identical in every column) for the key-less rule.
    dup = pd.concat([df, df.iloc[:20], df.iloc[:5]], ignore_index=True)
    dup.to_csv(folder / "dup.csv", index=False)
    df.to_csv(folder / "data.csv", index=False)
    return folder


def _ids(frame, by):
    pdf = frame.df.toPandas()
    return sorted(zip(*[pdf[c] for c in by], pdf[frame.provenance_columns[0]]))


@pytest.mark.parametrize("key", ["k", None])
def test_row_ids_stable_across_partitionings(spark, data_files, key):
    path = str(data_files / "dup.csv")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "512")
    many = read_csv("t", path, key=key, spark=spark)
    assert spark.read.option("header", "true").csv(path).rdd.getNumPartitions() > 3
    many_ids = _ids(many, ["k", "name", "x"])  # computed while the small split size is set
    spark.conf.unset("spark.sql.files.maxPartitionBytes")
    one = read_csv("t", path, key=key, spark=spark)
    cols = ["k", "name", "x"]
    assert many_ids == _ids(one, cols)
    shuffled = read_csv("t", path, key=key, spark=spark)
    shuffled.df.repartition(7)  # a repartition downstream does not change ids either
    assert _ids(shuffled, cols) == _ids(one, cols)


def test_keyless_duplicates_get_distinct_ids(spark, data_files):
    frame = read_csv("t", str(data_files / "dup.csv"), spark=spark)
    ids = frame.df.select("__prov_t").toPandas()["__prov_t"]
    assert ids.is_unique and len(ids) == 225


def test_same_data_as_parquet_gets_same_key_ids(spark, data_files, tmp_path):
    csv = read_csv("t", str(data_files / "data.csv"), key="k", spark=spark)
    csv.df.drop("__prov_t").write.parquet(str(tmp_path / "p"))
    pq = read_parquet("t", str(tmp_path / "p"), key="k", spark=spark)
    assert _ids(csv, ["k"]) == _ids(pq, ["k"])


def test_missing_file_is_typed(spark, tmp_path):
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        read_csv("t", str(tmp_path / "nope.csv"), spark=spark)


def test_unknown_key_column_is_typed(spark, data_files):
    with pytest.raises(ColumnNotFoundError, match="'kk' does not exist.*Did you mean 'k'"):
        read_csv("t", str(data_files / "data.csv"), key="kk", spark=spark)


def test_invalid_source_name(spark, data_files):
    with pytest.raises(SourceNameError, match="not valid"):
        read_csv("Bad Name", str(data_files / "data.csv"), spark=spark)


def test_keyed_row_id_on_the_driver_equals_spark(spark, data_files):
    """identify() computes ids of named keys without a Spark job: they must be the ids the
    source read gives the same rows (int keys, and strings: empty, non-ASCII, long)."""
    from spark_lester.frame.source import keyed_row_id

    frame = read_csv("data", str(data_files / "data.csv"), key="k",
                     schema="k INT, name STRING, x INT")
    prov = frame.provenance_columns[0]
    got = {int(r["k"]): int(r[prov]) for r in frame.df.collect()}
    assert got == {k: keyed_row_id("data", k) for k in got}
    strings = ["", "héllo wörld", "x" * 300, "customer7@example.com", "-12"]
    rows = spark.createDataFrame([(s,) for s in strings], "s STRING").selectExpr(
        "s", "xxhash64('mails', s) AS id").collect()
    assert {r.s: r.id for r in rows} == {s: keyed_row_id("mails", s) for s in strings}
    assert keyed_row_id("data", 1) != keyed_row_id("other", 1)
