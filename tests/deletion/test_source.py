"""Cleaning a Delta source: the MERGE matches rows by the same keyed row id the read gives."""

from __future__ import annotations

import pandas as pd

from spark_lester import read_delta
from spark_lester.deletion.request import DeletionRequest
from spark_lester.deletion.source import clean_source
from spark_lester.frame.source import keyed_row_id


def test_the_three_keyed_row_id_paths_agree(spark, tmp_path):
    """The same row gets the same id from the source read (Spark), on the driver (resolve),
    and in clean_source's MERGE: deleting the driver's ids removes exactly those rows."""
    path = str(tmp_path / "people")
    keys = ["a", "", "héllo", "x" * 200, "17", "-3"]
    rows = pd.DataFrame({"key": keys, "v": range(len(keys))})
    spark.createDataFrame(rows).write.format("delta").save(path)

    frame = read_delta("people", path, key="key", spark=spark)
    read_ids = {r["key"]: r["__prov_people"] for r in frame.df.collect()}
    assert read_ids == {k: keyed_row_id("people", k) for k in keys}

    gone = {"", "héllo", "17"}
    request = DeletionRequest(source="people", action="delete_rows", keys=tuple(gone))
    spec = {"name": "people", "key": "key", "ids": {keyed_row_id("people", k) for k in gone},
            "columns": []}
    metrics = clean_source(spark, path, spec, request)
    left = {r["key"] for r in spark.read.format("delta").load(path).collect()}
    assert left == set(keys) - gone
    assert metrics.rows_deleted == len(gone)
