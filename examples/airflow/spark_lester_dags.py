"""spark_lester on EMR, driven by Airflow (Amazon provider): a scheduled pipeline run and
deletion requests applied as they arrive. One file for Airflow 2.10 and 3.x.

``spark_lester_pipeline`` (daily, 03:00 UTC) starts an ephemeral EMR 7 cluster with the
bootstrap action that installs the bundle (`spark-lester package --upload CODE_URI`), runs the
running example's pipeline as a step (`spark-lester run` through emr/steps/lester_step.py),
waits for it, and terminates the cluster (auto-termination guards an orphan).

``spark_lester_deletions`` (every 15 minutes) lists the deletion requests waiting under
``REQUESTS_INCOMING``; with none it ends at once (the later tasks are skipped, no cluster is
started). Otherwise a cluster applies each request in arrival order (`spark-lester delete`,
which also unlearns the model), and the applied requests move to ``REQUESTS_DONE``. One run at
a time: Delta on S3 is written from one driver at a time.

The cluster is a setup task and its termination the matching teardown: the cluster is
terminated whenever it was created, whatever happened in between, and the DAG run's state is
that of the work (a failed step fails the run; the teardown does not hide it).

Set the constants below to the Terraform outputs (code_uri, warehouse_uri, log_uri, the role
names, a subnet tagged for-use-with-amazon-emr-managed-policies=true). The step command lines
are those of emr/steps/run_pipeline.json and apply_deletion.json. tests/airflow runs both DAGs
with ``dag.test()`` under Airflow 2.10 and 3 against moto's EMR and S3.
"""

from __future__ import annotations

from datetime import datetime, timedelta

try:  # Airflow 3: the authoring interface is airflow.sdk
    from airflow.sdk import DAG, Asset, task
except ImportError:  # Airflow 2.10
    from airflow import DAG
    from airflow.datasets import Dataset as Asset
    from airflow.decorators import task
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor

EMR_RELEASE = "emr-7.12.0"  # spark_lester.aws.versions.EMR_RELEASE (tests compare)
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
SUBNET_ID = "subnet-0123456789abcdef0"
SERVICE_ROLE = "lester-emr-service"
INSTANCE_PROFILE = "lester-emr-ec2"

STEP_SCRIPT = f"{CODE_URI}/emr/steps/lester_step.py"
warehouse = Asset(WAREHOUSE)

default_args = {
    "owner": "ml-platform",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}


# RunJobFlow request of the ephemeral clusters (what `spark-lester emr submit` sends).
JOB_FLOW_OVERRIDES = {
    "Name": "spark-lester",
    "ReleaseLabel": EMR_RELEASE,
    "LogUri": LOG_URI,
    "Applications": [{"Name": "Hadoop"}, {"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [
            {"Name": "primary", "InstanceRole": "MASTER", "Market": "ON_DEMAND",
             "InstanceType": "m5.xlarge", "InstanceCount": 1},
            {"Name": "core", "InstanceRole": "CORE", "Market": "ON_DEMAND",
             "InstanceType": "m5.xlarge", "InstanceCount": 2},
        ],
        "Ec2SubnetId": SUBNET_ID,
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
    "JobFlowRole": INSTANCE_PROFILE,
    "ServiceRole": SERVICE_ROLE,
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
                              "run", PIPELINE, "--name", "running_example",
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
        job_flow_id=create.output,
        steps=RUN_STEPS,
    )
    # EmrAddStepsOperator's template_ext is (".json",): a templated string ending in .json
    # (the result URI) would be read as the path of a template file (TemplateNotFound).
    add_steps.template_ext = ()
    wait = EmrStepSensor(
        task_id="wait_for_run",
        job_flow_id=create.output,
        step_id="{{ task_instance.xcom_pull(task_ids='run_pipeline')[0] }}",
        outlets=[warehouse],
    )
    terminate = EmrTerminateJobFlowOperator(task_id="terminate_cluster",
                                            job_flow_id=create.output)
    terminate.as_teardown(setups=create)
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

    @task.short_circuit
    def pending_requests() -> list[str]:
        """The request files waiting under the incoming prefix, in arrival order (oldest
        first). None waiting: an empty list, and every later task is skipped."""
        pages = S3Hook().get_conn().get_paginator("list_objects_v2").paginate(
            Bucket=REQUESTS_BUCKET, Prefix=REQUESTS_INCOMING)
        files = [f for page in pages for f in page.get("Contents", [])
                 if f["Key"].endswith(".json")]
        return [f["Key"] for f in sorted(files, key=lambda f: (f["LastModified"], f["Key"]))]

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
        job_flow_id=create_deletion_cluster.output,
        steps=deletion_steps(keys),
    )
    wait_applied = EmrStepSensor(
        task_id="wait_for_last_request",
        job_flow_id=create_deletion_cluster.output,
        step_id="{{ task_instance.xcom_pull(task_ids='apply_requests')[-1] }}",
        outlets=[warehouse],
    )
    stop = EmrTerminateJobFlowOperator(task_id="terminate_cluster",
                                       job_flow_id=create_deletion_cluster.output)
    stop.as_teardown(setups=create_deletion_cluster)
    keys >> create_deletion_cluster >> apply >> wait_applied >> stop
    wait_applied >> archive_requests(keys)
