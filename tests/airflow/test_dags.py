"""examples/airflow/spark_lester_dags.py executed under Airflow 2.10 and 3 (``dag.test()``)
against moto's EMR, EC2 and S3: the pipeline DAG succeeds, a failed step fails the run (and
the cluster is still terminated), no pending request ends the deletion DAG cleanly without a
cluster, and pending requests are applied in arrival order, then moved to done/."""

from __future__ import annotations

import random

import pytest

from tests.airflow.conftest import arrived_a_minute_apart


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def _explain(result: dict) -> str:
    return f"tasks={result.get('tasks')} error={result.get('error')}\n{result['log'][-3000:]}"


@pytest.mark.airflow
def test_pipeline_run_succeeds(airflow, infra, emr_player, tmp_path):
    player = emr_player()
    result = airflow.run(tmp_path, "spark_lester_pipeline", settings=infra["settings"])
    assert result["import_errors"] == {}
    assert result["state"] == "success", _explain(result)
    assert set(result["tasks"].values()) == {"success"}, _explain(result)
    [cluster] = player.new_clusters()
    assert cluster.state == "TERMINATED"
    assert cluster.ec2_subnet_id == infra["subnet"]
    [step] = cluster.steps
    args = step.args
    assert args[args.index("--result-uri") + 1] == \
        "s3://acme-lester-artifacts/step-results/20250601/run.json"
    assert args[args.index("--name") + 1] == "running_example"
    assert player.ended == [(cluster.id, step.name, "COMPLETED")]


@pytest.mark.airflow
def test_failed_step_fails_the_run_and_still_terminates(airflow, infra, emr_player, tmp_path):
    player = emr_player(fails=lambda step: True)
    result = airflow.run(tmp_path, "spark_lester_pipeline", settings=infra["settings"])
    assert result["state"] == "failed", _explain(result)
    assert result["tasks"]["wait_for_run"] == "failed", _explain(result)
    assert result["tasks"]["terminate_cluster"] == "success", _explain(result)
    [cluster] = player.new_clusters()
    assert cluster.state == "TERMINATED"
    assert [state for _, _, state in player.ended] == ["FAILED"]


@pytest.mark.airflow
def test_no_pending_request_creates_no_cluster(airflow, infra, emr_player, tmp_path):
    player = emr_player()
    result = airflow.run(tmp_path, "spark_lester_deletions", settings=infra["settings"])
    assert result["state"] == "success", _explain(result)
    tasks = result["tasks"]
    assert tasks.pop("pending_requests") == "success", _explain(result)
    assert set(tasks.values()) == {"skipped"}, _explain(result)
    assert player.new_clusters() == []


@pytest.mark.airflow
def test_pending_requests_applied_in_arrival_order(airflow, infra, emr_player, tmp_path):
    s3, bucket = infra["s3"], infra["artifacts"]
    rng = random.Random(airflow.line)
    arrivals = [f"r-{rng.getrandbits(32):08x}.json" for _ in range(3)]
    while arrivals == sorted(arrivals):  # arrival order must differ from name order
        rng.shuffle(arrivals)
    for name in arrivals:
        s3.put_object(Bucket=bucket, Key=f"deletion-requests/incoming/{name}", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="deletion-requests/incoming/README.txt", Body=b"not one")
    arrived_a_minute_apart(bucket, [f"deletion-requests/incoming/{n}" for n in arrivals])
    player = emr_player()
    result = airflow.run(tmp_path, "spark_lester_deletions", settings=infra["settings"])
    assert result["state"] == "success", _explain(result)
    assert set(result["tasks"].values()) == {"success"}, _explain(result)
    [cluster] = player.new_clusters()
    assert [s.name for s in cluster.steps] == [f"spark-lester delete {n}" for n in arrivals]
    assert [name for _, name, _ in player.ended] == [s.name for s in cluster.steps]
    requests = [s.args[s.args.index("delete") + 1] for s in cluster.steps]
    assert requests == [f"s3://{bucket}/deletion-requests/incoming/{n}" for n in arrivals]
    assert cluster.state == "TERMINATED"
    assert _keys(s3, bucket, "deletion-requests/incoming/") == \
        ["deletion-requests/incoming/README.txt"]
    assert sorted(_keys(s3, bucket, "deletion-requests/done/")) == \
        sorted(f"deletion-requests/done/{n}" for n in arrivals)


def test_dag_constants_follow_the_supported_versions():
    """The DAG cannot import spark_lester (Airflow's workers need not have it): its
    EMR_RELEASE is compared with spark_lester.aws.versions instead."""
    import ast

    from spark_lester.aws.versions import EMR_RELEASE
    from tests.airflow.conftest import DAG_FILE

    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)
                 and isinstance(node.value, ast.Constant)}
    assert constants["EMR_RELEASE"] == EMR_RELEASE
