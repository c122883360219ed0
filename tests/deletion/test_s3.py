"""deletion/unlearn.py on S3: the differential tests of test_unlearn.py against moto's S3.

Sources are uploaded to a bucket with boto3, the warehouse is ``s3a://<bucket>/...``, Spark
reads and writes through S3A and the verification scan reads every object through pyarrow's
S3 file system, all against moto's server on loopback (see tests/conftest.py). The run both
tests start from is made once and restored in place for each (``SavedRun`` in conftest.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from spark_lester.config import LesterConfig
from spark_lester.deletion.request import CARD_NUMBER
from spark_lester.deletion.unlearn import unlearn
from spark_lester.deletion.verify import scan
from tests.deletion.conftest import (RUNNING_EXAMPLE, SavedRun, assert_same_artifacts,
                                     baseline_run)

pytestmark = pytest.mark.s3

BUCKET = "lester-s3"


@pytest.fixture(scope="module")
def s3(s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def upload(s3, local: str, key: str) -> str:
    s3.upload_file(local, BUCKET, key)
    return f"s3a://{BUCKET}/{key}"


def upload_frame(s3, frame: pd.DataFrame, key: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=frame.to_csv(index=False).encode())
    return f"s3a://{BUCKET}/{key}"


@pytest.fixture(scope="module")
def s3_sources(s3, small_example):
    """The small running example's sources, uploaded once."""
    return {name: upload(s3, small_example[name], f"raw/{name}.csv")
            for name in ("customers", "mails")}


@pytest.fixture(scope="module")
def saved_s3_run(spark, s3, s3_sources):
    """The running example's run ``r1`` in an S3 warehouse, made once for this module."""
    return SavedRun(spark, RUNNING_EXAMPLE, s3_sources, f"s3a://{BUCKET}/warehouse", s3=s3,
                    rows_per_file=200)


def config(warehouse: str, endpoint: str) -> LesterConfig:
    return LesterConfig.from_env(warehouse=warehouse, s3_endpoint=endpoint)


@pytest.mark.long  # CI's 45 minutes; tests/cluster runs the incident on s3a:// in CI
def test_redacting_mail_subjects_on_s3_equals_rerun(spark, s3, s3_endpoint, s3_sources,
                                                    saved_s3_run, small_example):
    warehouse, original = saved_s3_run.restore()
    leaked = small_example["leaks_data"]["customer_ids"]
    assert original.tables["prepared"].path.startswith(f"s3a://{BUCKET}/warehouse/")
    cfg = config(warehouse, s3_endpoint)
    tables = [original.tables[n].path for n in ("prepared", "features")]
    before = scan(tables, [], patterns=[CARD_NUMBER], config=cfg, match_patterns=True)
    # the scan can fail on S3: it finds the card numbers, in the data files only
    assert before.objects > 0 and before.verified is False
    assert all("/_delta_log/" not in h["object"] for h in before.hits)

    result = unlearn({"source": "customers", "keys": leaked, "action": "redact_columns",
                      "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]},
                     warehouse=warehouse, spark=spark, config=cfg)
    assert result["status"] == "completed"
    verification = result["verification"]
    assert verification["verified"] is True
    assert verification["objects"] > 0 and verification["needles"] > 0
    assert result["quality"]["success"] is True
    after = scan(tables, [], patterns=[CARD_NUMBER], config=cfg, match_patterns=True)
    assert after.verified is True and after.objects > 0

    customers = pd.read_csv(small_example["customers"])
    mails = pd.read_csv(small_example["mails"])
    emails = set(customers[customers.customer_id.isin(leaked)].email)
    mails.loc[mails.email.isin(emails), "mail_subject"] = None
    cleaned = {"customers": s3_sources["customers"],
               "mails": upload_frame(s3, mails, "redact/clean/mails.csv")}
    baseline = baseline_run(spark, RUNNING_EXAMPLE, cleaned, f"s3a://{BUCKET}/redact/base",
                            original)
    assert_same_artifacts(spark, original, baseline)


@pytest.mark.long  # CI's 45 minutes
def test_deleting_customers_by_predicate_on_s3_equals_rerun(spark, s3, s3_endpoint, s3_sources,
                                                           saved_s3_run, small_example):
    warehouse, original = saved_s3_run.restore()
    customers = pd.read_csv(small_example["customers"])
    banks = sorted(customers.bank.unique())[:2]
    result = unlearn({"source": "customers", "where": f"bank IN ('{banks[0]}', '{banks[1]}')",
                      "action": "delete_rows"},
                     warehouse=warehouse, spark=spark, config=config(warehouse, s3_endpoint))
    assert result["status"] == "completed"
    assert result["changes"][0]["tables"]["prepared"]["deleted"] > 0
    assert result["verification"]["verified"] is True
    assert result["verification"]["objects"] > 0

    kept = customers[~customers.bank.isin(banks)]
    cleaned = {"customers": upload_frame(s3, kept, "delete/clean/customers.csv"),
               "mails": s3_sources["mails"]}
    baseline = baseline_run(spark, RUNNING_EXAMPLE, cleaned, f"s3a://{BUCKET}/delete/base",
                            original)
    assert_same_artifacts(spark, original, baseline)
