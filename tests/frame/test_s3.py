"""Sources on S3 through S3A against moto's server: same rows, same row ids."""

from __future__ import annotations

import boto3
import pandas as pd
import pytest

from spark_lester import read_csv
from spark_lester.errors import SourceNotFoundError

pytestmark = pytest.mark.s3


def test_read_csv_from_s3_matches_local(spark, s3_endpoint, tmp_path):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="lester-src")
    pd.DataFrame({"k": [1, 2, 3], "v": ["a", "b", None]}).to_csv(tmp_path / "t.csv", index=False)
    s3.upload_file(str(tmp_path / "t.csv"), "lester-src", "in/t.csv")
    remote = read_csv("t", "s3a://lester-src/in/t.csv", key="k", spark=spark)
    local = read_csv("t", str(tmp_path / "t.csv"), key="k", spark=spark)
    assert sorted(remote.df.collect()) == sorted(local.df.collect())
    assert remote.plan.path == "s3a://lester-src/in/t.csv"


def test_missing_s3_object_is_typed(spark, s3_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="lester-empty")
    with pytest.raises(SourceNotFoundError, match="no csv data at s3a://lester-empty/nope.csv"):
        read_csv("t", "s3a://lester-empty/nope.csv", spark=spark)
