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

from collections.abc import Sequence
from typing import Any

JOB = "run_pipeline"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job; ``argv`` defaults to ``sys.argv`` (script name first, as Glue passes it)."""
    from spark_lester.aws.glue_jobs import glue_main

    return glue_main(JOB, argv)


if __name__ == "__main__":
    main()
