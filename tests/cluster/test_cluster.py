"""The running example on a Spark standalone cluster equals local[2].

A driver started by spark-submit on the cluster of ``tests/sparkcluster.py`` (two workers,
1 core each, executors importing spark_lester from the bundle) runs the running example
with sources and warehouse on ``s3a://`` (moto): the run, ``used-rows``, ``fairness``, the
incident's deletion with the model's unlearning and erasure, and both queries again. The
test process does the same on its local[2] session with a local warehouse. The snapshots
(``scenario.py``: tables as multisets of every column, floats exact; the model's parameter
vector and statistics) must be identical.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from spark_lester.config import LesterConfig, project_root
from spark_lester.deletion.request import CARD_NUMBER
from tests.cluster import scenario
from tests.sparkcluster import ROOT

pytestmark = [pytest.mark.cluster, pytest.mark.s3, pytest.mark.slow]

PIPELINE = project_root() / "examples" / "running_example" / "pipeline.py"
BUCKET = "lester-cluster"
DRIVER = Path(__file__).parent / "life_cycle_driver.py"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    from examples.running_example import generate

    folder = tmp_path_factory.mktemp("cluster_example")
    paths = generate.write(folder, n_customers=120, n_mails=800, seed=11)
    leaked = json.loads(Path(paths["leaks"]).read_text())["customer_ids"]
    request = {"source": "customers", "keys": leaked, "action": "redact_columns",
               "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER],
               "request_id": "incident"}
    return paths, request


@pytest.fixture(scope="module")
def on_cluster(spark_cluster, s3_endpoint, example, tmp_path_factory):
    import boto3

    paths, request = example
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    sources = {}
    for name in ("customers", "mails"):
        s3.upload_file(paths[name], BUCKET, f"raw/{name}.csv")
        sources[name] = f"s3a://{BUCKET}/raw/{name}.csv"
    folder = tmp_path_factory.mktemp("cluster_driver")
    job = {"pipeline": str(PIPELINE), "sources": sources,
           "warehouse": f"s3a://{BUCKET}/warehouse", "request": request}
    (folder / "job.json").write_text(json.dumps(job))
    started = time.perf_counter()
    done = spark_cluster.submit(DRIVER, str(folder / "job.json"), str(folder / "out.json"))
    assert done.returncode == 0, done.stdout[-6000:]
    result = json.loads((folder / "out.json").read_text())
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    print("cluster driver:", result["seconds"], "wall", result["wall_seconds"])
    return result


@pytest.fixture(scope="module")
def on_local(spark, example, tmp_path_factory):
    paths, request = example
    warehouse = str(tmp_path_factory.mktemp("local_twin") / "warehouse")
    sources = {n: paths[n] for n in ("customers", "mails")}
    started = time.perf_counter()
    out = scenario.life_cycle(spark, str(PIPELINE), sources, warehouse, request,
                              LesterConfig.from_env(warehouse=warehouse))
    print("local[2] life cycle:", round(time.perf_counter() - started, 1), "s")
    return out


def test_driver_and_executors_import_spark_lester_from_the_bundle(on_cluster, spark_cluster):
    probe = on_cluster["probe"]
    checkout = str(ROOT)
    wheel = json.loads((spark_cluster.bundle / "manifest.json").read_text())["wheel"]["file"]
    # the driver: from the wheel spark-submit got with --py-files
    assert probe["driver"]["spark_lester"].startswith(str(spark_cluster.bundle / wheel))
    assert probe["driver"]["master"] == spark_cluster.master_url
    node_site = str(spark_cluster.python.parent.parent)
    assert len(probe["executors"]) == 4
    for seen in probe["executors"]:
        # the executors: from the node Python's install of the wheel, in their work dirs
        assert seen["spark_lester"].startswith(node_site), seen
        assert not seen["spark_lester"].startswith(checkout + "/spark_lester"), seen
        assert seen["python"] == str(spark_cluster.python)
        assert "/worker-" in seen["cwd"]
        # the worker preload daemon runs on the executors (torch imported before the fork)
        assert seen["torch_preloaded"] is True
    assert probe["driver"]["daemon_module"] == "spark_lester.worker_daemon"
    assert len({s["cwd"].split("/worker-")[1][0] for s in probe["executors"]}) == 2


def test_run_on_the_cluster_equals_local(on_cluster, on_local):
    cluster = on_cluster["snapshots"]["run"]
    assert cluster["rows"]["total"] > 100 and cluster["rows"]["test"] > 0
    assert len(cluster["features"]["rows"]) == cluster["rows"]["total"]
    assert scenario.differences(cluster, on_local["run"], "run") == []


def test_used_rows_and_fairness_on_the_cluster_equal_local(on_cluster, on_local):
    cluster = on_cluster["snapshots"]
    for key in ("queries", "queries_after"):
        used = cluster[key]["used_rows"]["mails"]["rows"]
        assert any(r.endswith("true]") for r in used) and any(r.endswith("false]") for r in used)
        assert scenario.differences(cluster[key], on_local[key], key) == []


def test_deletion_and_unlearning_on_the_cluster_equal_local(on_cluster, on_local):
    cluster = on_cluster["snapshots"]
    assert cluster["deletion"]["status"] == "completed"
    assert cluster["deletion"]["verified"] is True
    assert cluster["after"]["model"]["version"] == 1
    assert cluster["after"]["model"]["w"] != cluster["run"]["model"]["w"]
    assert cluster["after"]["prepared"] != cluster["run"]["prepared"]
    assert scenario.differences(cluster["deletion"], on_local["deletion"], "deletion") == []
    assert scenario.differences(cluster["after"], on_local["after"], "after") == []
