"""Glue 5 job: run a pipeline into the warehouse and capture every artifact.

    --warehouse s3://ARTIFACTS/warehouse                       (a default argument, Terraform)
    --pipeline s3://CODE/pipelines/running_example/pipeline.py
    --sources customers=s3://RAW/customers/,mails=s3://RAW/mails/   (or a JSON object)
    [--name NAME] [--run-id ID] [--result-uri s3://ARTIFACTS/job-results/run.json]

``main()`` is the only code that imports awsglue: it resolves the arguments, starts the
GlueContext and the Job, and calls :func:`spark_lester.aws.glue_jobs.run_pipeline`, which does
the work on plain Spark (and is what the tests run). This file is not part of the wheel:
``spark-lester package`` copies it into the bundle, Terraform points the job's
``script_location`` at it, and the job installs the wheel through
``--additional-python-modules``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

JOB = "run_pipeline"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job; ``argv`` defaults to ``sys.argv`` (script name first, as Glue passes it)."""
    os.environ["SPARK_LESTER_PLATFORM"] = "glue"
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    from spark_lester.aws.glue_jobs import glue_options, run_pipeline

    argv = list(sys.argv if argv is None else argv)
    args = getResolvedOptions(argv, glue_options(JOB, argv))
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    summary = run_pipeline(args, glue_context.spark_session)
    job.commit()
    return summary


if __name__ == "__main__":
    main()
