from __future__ import annotations

from spark_lester.analyze.airflow import airflow, operator_findings

SRC = '''
from airflow import DAG
from airflow.datasets import Dataset
from airflow.models.baseoperator import chain
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG("one", schedule=None, default_args={"owner": "x"}) as d1:
    a = EmptyOperator(task_id="a")
    with TaskGroup("g") as g:
        with TaskGroup("inner") as inner:
            b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        b >> c
    e = EmptyOperator(task_id="e", outlets=[Dataset("s3://out/e")])

d2 = DAG(dag_id="two", schedule=Dataset("s3://out/e") | Dataset("s3://out/f"))
x = EmptyOperator(task_id="x", dag=d2)
y = EmptyOperator(task_id="y", dag=d2)
z = EmptyOperator(task_id="z", dag=d2)

a >> g >> e
chain(x, [y, z])
'''


def test_groups_nested_prefixes_edges_and_two_dags():
    one, two = airflow(SRC, "f.py")
    assert [t["task_id"] for t in one.tasks] == ["a", "g.inner.b", "g.c", "e"]
    assert sorted(map(tuple, one.edges)) == [("a", "g.inner.b"), ("g.c", "e"), ("g.inner.b", "g.c")]
    assert one.schedule is None and one.default_args_owner == ["x"]
    assert [(loc.role, loc.uri) for loc in one.locations] == [("output", "s3://out/e")]
    assert two.dag_id == "two"
    assert two.schedule == {"datasets": ["s3://out/e", "s3://out/f"]}
    assert sorted(map(tuple, two.edges)) == [("x", "y"), ("x", "z")]


def test_operator_rules():
    f, _ = operator_findings("S3ToRedshiftOperator", {"s3_bucket": "b", "s3_key": "k/", "schema": "s",
                                                      "table": "t", "database": "dwh"})
    assert [(loc.role, loc.uri) for loc in f.locations] == [("input", "s3://b/k"), ("output", "redshift://dwh.s.t")]
    f, _ = operator_findings("BashOperator", {"bash_command": "aws s3 cp s3://a/x s3://b/y && echo ok"})
    assert [(loc.role, loc.uri) for loc in f.locations] == [("input", "s3://a/x"), ("output", "s3://b/y")]
    f, _ = operator_findings("PythonOperator", {"op_kwargs": {"source_path": "s3://a/in", "target_path": "s3://a/out"}})
    assert [(loc.role, loc.uri) for loc in f.locations] == [("input", "s3://a/in"), ("output", "s3://a/out")]
    f, cfg = operator_findings("GlueJobOperator", {"job_name": "j", "script_location": "s3://c/j.py",
                                                   "script_args": {"--TempDir": "s3://tmp/j"}})
    assert f.launches == ["s3://c/j.py"] and cfg["glue_job"]["job_name"] == "j"
    assert ("interim", "s3://tmp/j") in [(loc.role, loc.uri) for loc in f.locations]
