"""Run history from EMR (ListSteps/DescribeStep) and Glue (GetJobRuns), against moto's server.

moto 5 limitations seen here: EMR step timelines only have CreationDateTime (no
Start/EndDateTime, so EMR durations are unavailable and reported as missing), and Glue job
runs complete immediately with ExecutionTime=123 and StartedOn == CompletedOn.
"""

from __future__ import annotations

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from spark_lester.analyze.history import attach_history, emr_step_runs, glue_job_runs, runtime_stats  # noqa: E402
from spark_lester.errors import RemoteServiceError  # noqa: E402


@pytest.fixture(scope="module")
def endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def clients(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    emr = boto3.client("emr", endpoint_url=endpoint, region_name="us-east-1")
    glue = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1")
    return emr, glue


def test_emr_steps_are_listed_and_described(clients):
    emr, _ = clients
    cid = emr.run_job_flow(
        Name="orders-nightly", ReleaseLabel="emr-7.2.0", JobFlowRole="r", ServiceRole="r",
        Instances={"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge",
                   "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
    )["JobFlowId"]
    step = {"Name": "clean_orders", "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://c/clean.py"]}}
    other = dict(step, Name="other")
    emr.add_job_flow_steps(JobFlowId=cid, Steps=[step, other, step, step])
    runs = emr_step_runs(emr, step_name="clean_orders", cluster_ids=[cid])
    assert len(runs) == 3 and {r.name for r in runs} == {"clean_orders"}
    assert all(r.created is not None for r in runs)
    stats = runtime_stats(runs)
    assert stats["runs"] == 3
    assert stats["interval_s"] is not None and stats["interval_s"]["min"] >= 0
    assert stats["runs_without_duration"] == 3  # moto has no Start/EndDateTime
    # without cluster ids: ListClusters first
    assert len(emr_step_runs(emr, step_name="clean_orders")) >= 3


def test_glue_job_runs_give_durations_and_intervals(clients):
    _, glue = clients
    glue.create_job(Name="customers-etl-prod", Role="r",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://c/customers_etl.py"})
    for _ in range(4):
        glue.start_job_run(JobName="customers-etl-prod")
    runs = glue_job_runs(glue, "customers-etl-prod")
    assert len(runs) == 4
    stats = runtime_stats(runs)
    assert stats["states"] == {"SUCCEEDED": 4}
    assert stats["duration_s"]["median"] == 123.0  # moto's fixed ExecutionTime
    assert stats["interval_s"]["min"] >= 0 and stats["last_start"]


def test_attach_history_uses_job_and_step_names_from_the_catalog(clients):
    emr, glue = clients
    glue.create_job(Name="campaign-attribution", Role="r",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://c/a.py"})
    glue.start_job_run(JobName="campaign-attribution")
    catalog = {"pipelines": [
        {"file": "d.yml", "kind": "dagfactory",
         "tasks": [{"task_id": "attribute", "config": {"glue_job": {"job_name": "campaign-attribution"}}},
                   {"task_id": "add", "config": {"emr_steps": ["clean_orders"]}}]},
        {"file": "x.py", "kind": "pyspark", "tasks": []}]}
    attach_history(catalog, emr=emr, glue=glue)
    h = catalog["pipelines"][0]["history"]
    assert h["glue:campaign-attribution"]["runs"] == 1
    assert h["emr:clean_orders"]["runs"] >= 3
    assert "history" not in catalog["pipelines"][1]


def test_missing_job_is_a_typed_error(clients):
    _, glue = clients
    with pytest.raises(RemoteServiceError) as err:
        glue_job_runs(glue, "does-not-exist")
    assert err.value.service == "glue" and err.value.retryable is False
