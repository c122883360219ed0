"""Running spark_lester on AWS: the bundle (wheel, dependencies, emr/ scripts), S3 uploads,
EMR clusters and steps, Glue job arguments and the work of the Glue jobs (``glue_jobs``).

This package and ``analyze/`` are the only importers of boto3, always inside functions, so
importing it costs nothing until an AWS call is made. Failures are typed
(:class:`~spark_lester.errors.AwsError` and its subclasses) and say whether a retry helps.
"""

from __future__ import annotations

from spark_lester.aws._private import client
from spark_lester.aws.emr import ClusterSpec, Snapshot, StepStatus, step_logs, wait_for_steps
from spark_lester.aws.glue import glue_default_arguments
from spark_lester.aws.glue_jobs import glue_job_arguments
from spark_lester.aws.package import package, read_manifest
from spark_lester.aws.steps import lester_step
from spark_lester.aws.submit import Action, SubmitResult, submit

__all__ = [
    "Action",
    "ClusterSpec",
    "Snapshot",
    "StepStatus",
    "SubmitResult",
    "client",
    "glue_default_arguments",
    "glue_job_arguments",
    "lester_step",
    "package",
    "read_manifest",
    "step_logs",
    "submit",
    "wait_for_steps",
]
