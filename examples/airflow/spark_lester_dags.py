"""spark_lester on EMR, driven by Airflow (Amazon provider): a scheduled pipeline run and
deletion requests applied as they arrive.

``spark_lester_pipeline`` (daily, 03:00 UTC) starts an ephemeral EMR 7 cluster with the
bootstrap action that installs the bundle (`spark-lester package --upload CODE_URI`), runs the
running example's pipeline as a step (`spark-lester run` through emr/steps/lester_step.py),
waits for it, and terminates the cluster (auto-termination guards an orphan).

``spark_lester_deletions`` (every 15 minutes) waits for deletion requests to land under
``REQUESTS_INCOMING`` (S3KeySensor, deferrable), starts a cluster that applies each of them in
order (`spark-lester delete`, which also unlearns the model), and moves the applied requests
to ``REQUESTS_DONE``. One run at a time: Delta on S3 is written from one driver at a time.

The step command lines are those of emr/steps/run_pipeline.json and apply_deletion.json; the
buckets are those created by terraform/ (outputs code_uri, warehouse_uri, log_uri). This file
is an example: it is analyzed by `spark-lester analyze`, never imported by the tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.datasets import Dataset
from airflow.decorators import task
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

CODE_URI = "s3://acme-lester-code/spark_lester/0.1.0"
WAREHOUSE = "s3://acme-lester-artifacts/warehouse"
RESULTS = "s3://acme-lester-artifacts/step-results"
LOG_URI = "s3://acme-lester-logs/emr/"
PIPELINE = "s3://acme-lester-code/pipelines/running_example/pipeline.py"
CUSTOMERS = "s3://acme-raw-zone/crm/customers/"
MAILS = "s3://acme-raw-zone/mail/mails/"
REQUESTS_BUCKET = "acme-lester-artifacts"
REQUESTS_INCOMING = "deletion-requests/incoming/"
REQUESTS_DONE = "deletion-requests/done/"

STEP_SCRIPT = f"{CODE_URI}/emr/steps/lester_step.py"
warehouse = Dataset(WAREHOUSE)

default_args = {
    "owner": "ml-platform",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}


# RunJobFlow request of the ephemeral clusters (what `spark-lester emr submit` sends).
JOB_FLOW_OVERRIDES = {
    "Name": "spark-lester",
    "ReleaseLabel": "emr-7.9.0",
    "LogUri": LOG_URI,
    "Applications": [{"Name": "Hadoop"}, {"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [
            {"Name": "primary", "InstanceRole": "MASTER", "Market": "ON_DEMAND",
             "InstanceType": "m5.xlarge", "InstanceCount": 1},
            {"Name": "core", "InstanceRole": "CORE", "Market": "ON_DEMAND",
             "InstanceType": "m5.xlarge", "InstanceCount": 2},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
        "TerminationProtected": False,
    },
    "BootstrapActions": [{
        "Name": "install spark_lester",
        "ScriptBootstrapAction": {"Path": f"{CODE_URI}/emr/bootstrap/install_lester.sh",
                                  "Args": [CODE_URI]},
    }],
    "Configurations": [
        {"Classification": "delta-defaults", "Properties": {"delta.enabled": "true"}},
        {"Classification": "spark-defaults", "Properties": {
            "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
            "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
            "spark.databricks.delta.retentionDurationCheck.enabled": "false",
            "spark.pyspark.python": "/usr/bin/python3.11",
        }},
        {"Classification": "spark-env", "Configurations": [{
            "Classification": "export",
            "Properties": {"PYSPARK_PYTHON": "/usr/bin/python3.11",
                           "SPARK_LESTER_PLATFORM": "emr"}}]},
    ],
    "AutoTerminationPolicy": {"IdleTimeout": 3600},
    "JobFlowRole": "lester-emr-ec2",
    "ServiceRole": "lester-emr-service",
    "VisibleToAllUsers": True,
    "Tags": [{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}],
}

# spark-submit of the step driver; the spark-lester command follows.
SUBMIT = ["spark-submit", "--deploy-mode", "client", "--master", "yarn", "--driver-memory", "4g",
          STEP_SCRIPT]

RUN_STEPS = [
    {
        "Name": "spark-lester run running_example",
        "ActionOnFailure": "CANCEL_AND_WAIT",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": SUBMIT + ["--result-uri", RESULTS + "/{{ ds_nodash }}/run.json",
                              "run", PIPELINE,
                              "--source", "customers=" + CUSTOMERS,
                              "--source", "mails=" + MAILS,
                              "--warehouse", WAREHOUSE],
        },
    },
]


def deletion_step(key: str) -> dict:
    """The `spark-lester delete` step of one request (built when the requests are known)."""
    name = key.rsplit("/", 1)[-1]
    return {
        "Name": f"spark-lester delete {name}",
        "ActionOnFailure": "CANCEL_AND_WAIT",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": SUBMIT + ["--result-uri", f"{RESULTS}/deletions/{name}",
                              "delete", f"s3://{REQUESTS_BUCKET}/{key}",
                              "--warehouse", WAREHOUSE],
        },
    }


with DAG(
    dag_id="spark_lester_pipeline",
    description="Run the running example's pipeline with provenance on an ephemeral EMR cluster",
    schedule="0 3 * * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["spark_lester", "emr"],
) as pipeline_dag:
    create = EmrCreateJobFlowOperator(task_id="create_cluster",
                                      job_flow_overrides=JOB_FLOW_OVERRIDES)
    add_steps = EmrAddStepsOperator(
        task_id="run_pipeline",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_cluster') }}",
        steps=RUN_STEPS,
    )
    wait = EmrStepSensor(
        task_id="wait_for_run",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_cluster') }}",
        step_id="{{ task_instance.xcom_pull(task_ids='run_pipeline')[0] }}",
        outlets=[warehouse],
    )
    terminate = EmrTerminateJobFlowOperator(
        task_id="terminate_cluster",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_cluster') }}",
        trigger_rule="all_done",
    )
    create >> add_steps >> wait >> terminate


with DAG(
    dag_id="spark_lester_deletions",
    description="Apply deletion requests (and unlearn the model) as they arrive",
    schedule="*/15 * * * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["spark_lester", "emr", "gdpr"],
) as deletions_dag:
    arrived = S3KeySensor(
        task_id="wait_for_requests",
        bucket_name=REQUESTS_BUCKET,
        bucket_key=REQUESTS_INCOMING + "*.json",
        wildcard_match=True,
        deferrable=True,
        poke_interval=60,
        timeout=14 * 60,
        soft_fail=True,
    )

    @task
    def pending_requests() -> list[str]:
        """The request files waiting under the incoming prefix, oldest first."""
        keys = S3Hook().list_keys(bucket_name=REQUESTS_BUCKET, prefix=REQUESTS_INCOMING) or []
        return sorted(k for k in keys if k.endswith(".json"))

    @task
    def deletion_steps(keys: list[str]) -> list[dict]:
        """One `spark-lester delete` step per request, in arrival order."""
        return [deletion_step(key) for key in keys]

    @task
    def archive_requests(keys: list[str]) -> None:
        """Move the applied requests out of the incoming prefix (only after success)."""
        hook = S3Hook()
        for key in keys:
            hook.copy_object(key, REQUESTS_DONE + key.rsplit("/", 1)[-1],
                             source_bucket_name=REQUESTS_BUCKET, dest_bucket_name=REQUESTS_BUCKET)
        hook.delete_objects(bucket=REQUESTS_BUCKET, keys=keys)

    keys = pending_requests()
    create_deletion_cluster = EmrCreateJobFlowOperator(
        task_id="create_cluster", job_flow_overrides=JOB_FLOW_OVERRIDES)
    apply = EmrAddStepsOperator(
        task_id="apply_requests",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_cluster') }}",
        steps=deletion_steps(keys),
    )
    wait_applied = EmrStepSensor(
        task_id="wait_for_last_request",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_cluster') }}",
        step_id="{{ task_instance.xcom_pull(task_ids='apply_requests')[-1] }}",
        outlets=[warehouse],
    )
    stop = EmrTerminateJobFlowOperator(
        task_id="terminate_cluster",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_cluster') }}",
        trigger_rule="all_done",
    )
    arrived >> keys >> create_deletion_cluster >> apply >> wait_applied >> stop
    wait_applied >> archive_requests(keys)
