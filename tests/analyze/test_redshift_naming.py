"""Redshift tables are named by the cluster and region the code gives their operators (issue 20).

The fixture DAG is written by hand in the shape of astronomer-providers'
``example_redshift_data.py``: the cluster and region are ``os.getenv`` defaults of module
constants, handed to ``RedshiftDataOperatorAsync(cluster_identifier=..., region=...)``.
"""

from __future__ import annotations

import textwrap

from spark_lester.analyze import analyze
from spark_lester.analyze.airflow import airflow, operator_findings
from spark_lester.analyze.openlineage import job_events, openlineage, unnamed_locations, validation_errors

DATA_DAG = '''
import os
from datetime import datetime

from airflow.models.dag import DAG
from astronomer.providers.amazon.aws.operators.redshift_data import RedshiftDataOperatorAsync
from airflow.providers.amazon.aws.operators.redshift_sql import RedshiftSQLOperator

AWS_CONN_ID = os.getenv("ASTRO_AWS_CONN_ID", "aws_default")
AWS_DEFAULT_REGION = os.getenv("AWS_DEFAULT_REGION", "us-east-1")
REDSHIFT_CLUSTER_DB_NAME = os.getenv("REDSHIFT_CLUSTER_DB_NAME", "astro_dev")
REDSHIFT_CLUSTER_IDENTIFIER = os.getenv("REDSHIFT_CLUSTER_IDENTIFIER", "astro-providers-cluster")
REDSHIFT_CLUSTER_MASTER_USER = os.getenv("REDSHIFT_CLUSTER_MASTER_USER", "awsuser")

with DAG(dag_id="example_async_redshift_data", start_date=datetime(2022, 1, 1), schedule=None) as dag:
    task_create_table = RedshiftDataOperatorAsync(
        task_id="task_create_table",
        sql="""
            CREATE TABLE IF NOT EXISTS fruit (
            fruit_id INTEGER,
            name VARCHAR NOT NULL
            );
        """,
        cluster_identifier=REDSHIFT_CLUSTER_IDENTIFIER,
        db_user=REDSHIFT_CLUSTER_MASTER_USER,
        aws_conn_id=AWS_CONN_ID,
        database=REDSHIFT_CLUSTER_DB_NAME,
        region=AWS_DEFAULT_REGION,
    )
    task_load = RedshiftDataOperatorAsync(
        task_id="task_load",
        sql="sql/load_basket.sql",
        cluster_identifier=REDSHIFT_CLUSTER_IDENTIFIER,
        database=REDSHIFT_CLUSTER_DB_NAME,
        region=AWS_DEFAULT_REGION,
    )
    task_elsewhere = RedshiftSQLOperator(
        task_id="task_elsewhere",
        redshift_conn_id="redshift_default",
        sql="INSERT INTO astro_dev.public.archive SELECT * FROM astro_dev.public.fruit_log",
    )
    task_create_table >> task_load >> task_elsewhere
'''

NAMESPACE = "redshift://astro-providers-cluster.us-east-1:5439"


def _repo(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "example_redshift_data.py").write_text(DATA_DAG)
    (tmp_path / "dags" / "sql").mkdir()
    (tmp_path / "dags" / "sql" / "load_basket.sql").write_text(
        "INSERT INTO basket SELECT fruit_id FROM fruit;\n")
    return analyze(tmp_path, git=False)


def test_cluster_and_region_from_getenv_defaults_reach_the_locations():
    (p,) = airflow(DATA_DAG, "dags/example_redshift_data.py")
    fruit = next(loc for loc in p.locations if loc.uri == "redshift://astro_dev.public.fruit")
    assert (fruit.cluster, fruit.region) == ("astro-providers-cluster", "us-east-1")
    assert fruit.to_dict()["cluster"] == "astro-providers-cluster"
    archive = next(loc for loc in p.locations if loc.uri == "redshift://astro_dev.public.archive")
    assert archive.cluster is None and "cluster" not in archive.to_dict()  # redshift_default's host is unknown


def test_openlineage_names_the_cluster_and_keeps_the_unknown_one_unresolved(tmp_path):
    catalog = _repo(tmp_path)
    events = openlineage(catalog, event_time="2024-01-01T00:00:00Z")
    for event in events:
        assert validation_errors(event) == [], event
    job = next(e for e in job_events(catalog) if e["job"]["name"] == "example_async_redshift_data")
    assert {"namespace": NAMESPACE, "name": "astro_dev.public.fruit"} in job["outputs"] + job["inputs"]
    # the .sql file's tables live on the cluster of the operator that runs it
    sql_job = next(e for e in job_events(catalog) if e["job"]["name"].endswith("load_basket.sql"))
    assert {"namespace": NAMESPACE, "name": "astro_dev.public.basket"} in sql_job["outputs"]
    assert {"namespace": NAMESPACE, "name": "astro_dev.public.fruit"} in sql_job["inputs"]
    # redshift_default is not defined in the repository: no cluster is invented for it
    facet = job["job"]["facets"]["spark_lester_unresolvedDatasets"]["datasets"]
    unknown = {d["location"]: d["reason"] for d in facet}
    assert "cluster" in unknown["redshift://astro_dev.public.archive"]
    assert "cluster" in unknown["redshift://astro_dev.public.fruit_log"]
    assert not any(ns.startswith("redshift://{") for e in events for d in e.get("outputs", []) + e.get("inputs", [])
                   for ns in [d["namespace"]])
    left = {u["location"] for u in unnamed_locations(catalog)}
    assert "redshift://astro_dev.public.fruit" not in left and "redshift://astro_dev.public.archive" in left


def test_serverless_workgroup_and_region_name():
    f, _ = operator_findings("RedshiftDataOperator", {
        "task_id": "t", "sql": "SELECT * FROM sales.orders", "database": "dev",
        "workgroup_name": "analytics-wg", "region_name": "eu-central-1"})
    (loc,) = f.locations
    assert (loc.uri, loc.cluster, loc.region) == ("redshift://dev.sales.orders", "analytics-wg", "eu-central-1")


def test_unresolved_cluster_or_region_is_not_used():
    src = textwrap.dedent('''
        import os
        from airflow import DAG
        from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
        with DAG("d", schedule=None) as dag:
            RedshiftDataOperator(task_id="t", sql="SELECT * FROM s.t", database="dev",
                                 cluster_identifier=os.environ.get("CLUSTER"),
                                 region="{{ var.value.region }}")
    ''')
    (p,) = airflow(src, "d.py")
    (loc,) = p.locations
    assert loc.cluster is None and loc.region is None


def test_connection_defined_in_the_repository_names_the_cluster():
    src = textwrap.dedent('''
        import os
        from airflow import DAG
        from airflow.models import Connection
        from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator
        from airflow.providers.amazon.aws.transfers.redshift_to_s3 import RedshiftToS3Operator
        RS = Connection(conn_id="rs_prod", conn_type="redshift", port=5440,
                        host="dwh-prod.c8x1abc.eu-west-1.redshift.amazonaws.com")
        os.environ["AIRFLOW_CONN_RS_DEV"] = "redshift://u:p@10.0.0.5:5439/dev"
        with DAG("d", schedule=None) as dag:
            load = S3ToRedshiftOperator(task_id="load", redshift_conn_id="rs_prod", database="dwh",
                                        schema="sales", table="orders", s3_bucket="lake", s3_key="orders/")
            unload = RedshiftToS3Operator(task_id="unload", redshift_conn_id="rs_dev", database="dev",
                                          schema="sales", table="orders", s3_bucket="lake", s3_key="out/")
    ''')
    (p,) = airflow(src, "d.py")
    by_uri = {loc.uri: loc for loc in p.locations}
    prod = by_uri["redshift://dwh.sales.orders"]
    assert (prod.cluster, prod.region, prod.port) == ("dwh-prod", "eu-west-1", 5440)
    dev = by_uri["redshift://dev.sales.orders"]
    assert dev.cluster is None  # a host that is not a Redshift endpoint names no cluster
    cat = {"root": ".", "datasets": [], "pipelines": [p.to_dict()]}
    (job,) = job_events(cat, event_time="2024-01-01T00:00:00Z")
    assert {"namespace": "redshift://dwh-prod.eu-west-1:5440", "name": "dwh.sales.orders"} in job["outputs"]
    assert validation_errors(job) == []
