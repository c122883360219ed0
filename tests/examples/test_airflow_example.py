"""examples/airflow/: the analyzer reads the DAGs (not imported here: the project venv has no
Airflow; tests/airflow runs them under Airflow 2.10 and 3) and gets their schedules, owners
and S3 locations right."""

from __future__ import annotations

import json

import pytest

from spark_lester.config import project_root

FOLDER = project_root() / "examples" / "airflow"


@pytest.fixture(scope="module")
def dags():
    from spark_lester.analyze import analyze

    catalog = analyze(FOLDER, git=False, progress=False)
    assert catalog["problems"] == []
    return {p["dag_id"]: p for p in catalog["pipelines"] if p["kind"] == "airflow_dag"}


def _roles(dag):
    out: dict[str, set[str]] = {}
    for loc in dag["locations"]:
        out.setdefault(loc["role"], set()).add(loc["uri"])
    return out


def test_schedules_and_owner(dags):
    assert set(dags) == {"spark_lester_pipeline", "spark_lester_deletions"}
    assert dags["spark_lester_pipeline"]["schedule"] == "0 3 * * *"
    assert dags["spark_lester_deletions"]["schedule"] == "*/15 * * * *"
    for dag in dags.values():
        assert [o["name"] for o in dag["owners"]] == ["ml-platform"]
        assert dag["retries"] == 1


def test_pipeline_dag_locations(dags):
    dag = dags["spark_lester_pipeline"]
    code = "s3://acme-lester-code/spark_lester/0.1.0"
    assert _roles(dag) == {
        "input": {"s3://acme-raw-zone/crm/customers", "s3://acme-raw-zone/mail/mails"},
        "output": {"s3://acme-lester-artifacts/warehouse",
                   "s3://acme-lester-artifacts/step-results/{{ ds_nodash }}/run.json"},
        "code": {f"{code}/emr/bootstrap/install_lester.sh", f"{code}/emr/steps/lester_step.py",
                 "s3://acme-lester-code/pipelines/running_example/pipeline.py"},
        "log": {"s3://acme-lester-logs/emr"},
    }
    assert dag["launches"] == [f"{code}/emr/steps/lester_step.py"]
    assert [t["task_id"] for t in dag["tasks"]] == ["create_cluster", "run_pipeline", "wait_for_run",
                                                    "terminate_cluster"]
    ops = {t["task_id"]: t["operator"] for t in dag["tasks"]}
    assert ops["create_cluster"] == "EmrCreateJobFlowOperator"
    assert ops["wait_for_run"] == "EmrStepSensor"


def test_deletion_dag_lists_requests_before_any_cluster(dags):
    dag = dags["spark_lester_deletions"]
    roles = _roles(dag)
    assert roles["output"] == {"s3://acme-lester-artifacts/warehouse"}
    assert roles["log"] == {"s3://acme-lester-logs/emr"}
    ops = {t["task_id"]: t["operator"] for t in dag["tasks"]}
    assert ops["create_cluster"] == "EmrCreateJobFlowOperator"
    assert ops["terminate_cluster"] == "EmrTerminateJobFlowOperator"
    for edge in (["pending_requests", "create_cluster"], ["apply_requests", "wait_for_last_request"],
                 ["wait_for_last_request", "terminate_cluster"],
                 ["wait_for_last_request", "archive_requests"]):
        assert edge in dag["edges"]


def test_impact_of_a_leaked_source_reaches_the_pipeline(tmp_path, capsys):
    from spark_lester.cli import main

    assert main(["analyze", "impact", "s3://acme-raw-zone/mail/mails", "--repo", str(FOLDER),
                 "--json", "--no-git"]) == 0
    hits = json.loads(capsys.readouterr().out)
    direct = [h["pipeline"] for h in hits["pipelines"] if h["distance"] == 0]
    assert direct == ["spark_lester_dags.py:spark_lester_pipeline"]
    assert hits["contacts"] == ["ml-platform"]
