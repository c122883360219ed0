"""Each defect issue 21 found in the DAG file, put back into a copy of it: the ``dag.test()``
scenario of test_dags.py that covers it must fail (the scenarios are not checks that cannot
fail). One Airflow line per defect, the line the defect was seen on (both lines run every
scenario on the DAG as it is, in test_dags.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.airflow.conftest import DAG_FILE, arrived_a_minute_apart

IMPORTS = '''try:  # Airflow 3: the authoring interface is airflow.sdk
    from airflow.sdk import DAG, Asset, task
except ImportError:  # Airflow 2.10
    from airflow import DAG
    from airflow.datasets import Dataset as Asset
    from airflow.decorators import task
'''

#: defect -> (the text of the DAG file as it is, the text that puts the defect back)
DEFECTS = {
    "template_ext": ("    add_steps.template_ext = ()\n", ""),
    "all_done_leaf": (
        '''    terminate = EmrTerminateJobFlowOperator(task_id="terminate_cluster",
                                            job_flow_id=create.output)
    terminate.as_teardown(setups=create)
''',
        '''    terminate = EmrTerminateJobFlowOperator(task_id="terminate_cluster",
                                            job_flow_id=create.output,
                                            trigger_rule="all_done")
'''),
    "no_short_circuit": ("    @task.short_circuit\n    def pending_requests()",
                         "    @task\n    def pending_requests()"),
    "name_order": ('key=lambda f: (f["LastModified"], f["Key"])', 'key=lambda f: f["Key"]'),
    "no_subnet": ('        "Ec2SubnetId": SUBNET_ID,\n', ""),
    "airflow2_imports": (IMPORTS, '''from airflow import DAG
from airflow.datasets import Dataset as Asset
from airflow.decorators import task
'''),
}


def with_defect(name: str, folder: Path) -> Path:
    fixed, broken = DEFECTS[name]
    text = DAG_FILE.read_text(encoding="utf-8")
    assert text.count(fixed) == 1, f"the DAG file no longer has the fix of {name}"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / DAG_FILE.name
    out.write_text(text.replace(fixed, broken), encoding="utf-8")
    return out


def test_every_defect_applies_to_the_dag_file_as_it_is(tmp_path):
    for name in DEFECTS:
        assert with_defect(name, tmp_path / name).read_text() != DAG_FILE.read_text()


@pytest.mark.airflow
@pytest.mark.parametrize("airflow", ["2.10"], indirect=True)
def test_template_ext_back_fails_the_pipeline_run(airflow, infra, emr_player, tmp_path):
    emr_player()
    dag = with_defect("template_ext", tmp_path / "defect")
    result = airflow.run(tmp_path / "home", "spark_lester_pipeline", dag_file=dag,
                         settings=infra["settings"])
    assert result["state"] == "failed"
    assert result["tasks"]["run_pipeline"] != "success"
    assert "TemplateNotFound" in result["log"] + str(result.get("error"))


@pytest.mark.airflow
@pytest.mark.parametrize("airflow", ["2.10"], indirect=True)
def test_all_done_leaf_back_hides_a_failed_step(airflow, infra, emr_player, tmp_path):
    emr_player(fails=lambda step: True)
    dag = with_defect("all_done_leaf", tmp_path / "defect")
    result = airflow.run(tmp_path / "home", "spark_lester_pipeline", dag_file=dag,
                         settings=infra["settings"])
    assert result["tasks"]["wait_for_run"] == "failed"
    assert result["state"] == "success"  # what test_failed_step_fails_the_run... rejects


@pytest.mark.airflow
@pytest.mark.parametrize("airflow", ["2.10"], indirect=True)
def test_no_short_circuit_back_starts_work_without_requests(airflow, infra, emr_player,
                                                            tmp_path):
    player = emr_player()
    dag = with_defect("no_short_circuit", tmp_path / "defect")
    result = airflow.run(tmp_path / "home", "spark_lester_deletions", dag_file=dag,
                         settings=infra["settings"])
    tasks = dict(result["tasks"])
    tasks.pop("pending_requests", None)
    # test_no_pending_request_creates_no_cluster wants a successful run, every later task
    # skipped and no cluster
    assert result["state"] != "success" or set(tasks.values()) != {"skipped"} \
        or player.new_clusters() != []


@pytest.mark.airflow
@pytest.mark.parametrize("airflow", ["3"], indirect=True)
def test_name_order_back_applies_requests_out_of_arrival_order(airflow, infra, emr_player,
                                                               tmp_path):
    s3, bucket = infra["s3"], infra["artifacts"]
    arrivals = ["r-c.json", "r-a.json", "r-b.json"]
    for name in arrivals:
        s3.put_object(Bucket=bucket, Key=f"deletion-requests/incoming/{name}", Body=b"{}")
    arrived_a_minute_apart(bucket, [f"deletion-requests/incoming/{n}" for n in arrivals])
    player = emr_player()
    dag = with_defect("name_order", tmp_path / "defect")
    result = airflow.run(tmp_path / "home", "spark_lester_deletions", dag_file=dag,
                         settings=infra["settings"])
    assert result["state"] == "success", result.get("error")
    [cluster] = player.new_clusters()
    assert [s.name for s in cluster.steps] != [f"spark-lester delete {n}" for n in arrivals]


@pytest.mark.airflow
@pytest.mark.parametrize("airflow", ["3"], indirect=True)
def test_no_subnet_back_starts_the_cluster_outside_the_tagged_subnet(airflow, infra,
                                                                   emr_player, tmp_path):
    player = emr_player()
    dag = with_defect("no_subnet", tmp_path / "defect")
    settings = {k: v for k, v in infra["settings"].items() if k != "SUBNET_ID"}
    airflow.run(tmp_path / "home", "spark_lester_pipeline", dag_file=dag, settings=settings)
    [cluster] = player.new_clusters()
    assert cluster.ec2_subnet_id != infra["subnet"]


@pytest.mark.airflow
@pytest.mark.parametrize("airflow", ["3"], indirect=True)
def test_airflow2_imports_back_do_not_load_under_airflow3(airflow, infra, emr_player,
                                                          tmp_path):
    emr_player()
    dag = with_defect("airflow2_imports", tmp_path / "defect")
    result = airflow.run(tmp_path / "home", "spark_lester_pipeline", dag_file=dag,
                         settings=infra["settings"])
    # test_pipeline_run_succeeds wants no import error
    [error] = result["import_errors"].values()
    assert "No module named 'airflow.datasets'" in error
    assert result.get("state") is None  # no DAG, no run
