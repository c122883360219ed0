from __future__ import annotations

import pytest

from spark_lester.analyze.locations import Location, dataset_key, looks_like_location, normalize_uri, overlaps


@pytest.mark.parametrize(("raw", "uri"), [
    ("s3a://bucket/path/", "s3://bucket/path"),
    ("s3n://bucket//a///b/", "s3://bucket/a/b"),
    ("S3://bucket/x", "s3://bucket/x"),
    ("s3://b/t/year=2024/month=01/part.csv", "s3://b/t/year={year}/month={month}/part.csv"),
    ("s3://b/t/dt={{ds}}/", "s3://b/t/dt={{ ds }}"),
    ("s3://b/t/dt={run_date}", "s3://b/t/dt={run_date}"),
    ("s3://{bucket}/raw/{{  macros.ds_add(ds, -1) }}", "s3://{bucket}/raw/{{ macros.ds_add(ds, -1) }}"),
    ("glue://Sales.Orders", "glue://sales.orders"),
    ("jdbc:postgresql://h:5432/db", "jdbc:postgresql://h:5432/db"),
    ("hdfs:///tmp/x/", "hdfs:///tmp/x"),
    ("{input_path}", "{input_path}"),
])
def test_normalize(raw, uri):
    assert normalize_uri(raw) == uri


def test_dataset_key_and_overlap():
    assert dataset_key("s3://b/t/dt={dt}/part-0.parquet") == "s3://b/t"
    assert dataset_key("athena://db.t") == "glue://db.t"
    assert overlaps("s3://b/t", "s3://b/t/x/y")
    assert not overlaps("s3://b/t", "s3://b/tt")


def test_location_role_is_validated():
    with pytest.raises(ValueError, match="role"):
        Location("sideways", "s3://x", "s3://x")


def test_looks_like_location():
    assert looks_like_location("s3://b/{{ ds }}/x")
    assert not looks_like_location("/local/file.csv")
    assert not looks_like_location("SELECT * FROM t")
