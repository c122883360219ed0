"""A generated deletion case on the standalone cluster equals the same case on local[2].

The test of ``bench/fuzz_cluster.py`` (whose run covers many of the fuzzer's cases):
a driver started by spark-submit on the cluster of ``tests/sparkcluster.py`` (executors
import the bundle) runs one of the fuzzer's generated cases with every source and the
warehouse on ``s3a://``, checking each request against a re-run on the cleaned inputs and
by the independent erasure scan; the test process runs the same case on its local[2] session
with a local warehouse. The snapshots after the initial run and after every request (every
table as a multiset of every column, provenance included, floats exact; the model's
parameters) and the requests' statuses must be identical.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.sparkcluster import ROOT

#: In the long profile (``bash dev.sh test -m long``): about 380 s here (the driver's start,
#: the case on the cluster, the same case on local[2]), over what CI's 45 minutes leave.
pytestmark = [pytest.mark.cluster, pytest.mark.s3, pytest.mark.slow, pytest.mark.long]

BUCKET = "lester-fuzz-cluster"
#: Seed 1's case 23: an aggregate over the union of two branches, inner, left and two-key
#: joins, a filter, renames; a redaction through a linked source (a noop), a delete by
#: ``where`` (completed) and its re-submit (already applied). About 70 s on the cluster.
SEED, CASE = 1, 23


@pytest.fixture(scope="module")
def fuzz_cluster():
    spec = importlib.util.spec_from_file_location("fuzz_cluster",
                                                  ROOT / "bench" / "fuzz_cluster.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_a_generated_case_on_the_cluster_equals_local(spark_cluster, s3_endpoint, spark,
                                                      fuzz_cluster, tmp_path):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=BUCKET)
    out = tmp_path / "cluster.jsonl"
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"start": CASE, "cases": 1, "seed": SEED, "bucket": BUCKET,
                               "endpoint": s3_endpoint, "work": str(tmp_path / "driver"),
                               "out": str(out), "max_seconds": None}))
    done = spark_cluster.submit(fuzz_cluster.DRIVER, str(job),
                                env={"SPARK_LESTER_SHUFFLE_PARTITIONS": "2"})
    assert done.returncode == 0, done.stdout[-6000:]
    [cluster] = [json.loads(x) for x in out.read_text().splitlines()]
    wheel = json.loads((spark_cluster.bundle / "manifest.json").read_text())["wheel"]["file"]
    assert cluster["spark_lester"].startswith(str(spark_cluster.bundle / wheel))
    assert cluster["case"] == CASE and not cluster["skipped"]
    assert cluster["ok"], cluster["differences"]
    assert len(cluster["snapshots"]) >= 3  # the run and at least two answered requests
    assert any(s.get("status") == "completed" for s in cluster["snapshots"])

    local = fuzz_cluster.run_case(spark, CASE, SEED, tmp_path / "local")
    assert local["ok"], local["differences"]
    assert fuzz_cluster.compare_sides(cluster, local) == []
