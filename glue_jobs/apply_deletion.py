"""Glue 5 job: apply a deletion request to every artifact of the runs that read its source.

    --warehouse s3://ARTIFACTS/warehouse                       (a default argument, Terraform)
    --request s3://ARTIFACTS/deletion-requests/incoming/r1.json   (or the request as JSON)
    [--result-uri s3://ARTIFACTS/job-results/r1.json]

``main()`` is the only code that imports awsglue: it resolves the arguments, starts the
GlueContext and the Job, and calls :func:`spark_lester.aws.glue_jobs.apply_deletion`, which
does the work on plain Spark (and is what the tests run): ``spark_lester.unlearn`` MERGEs
the changes into the tables, erases physically and verifies. This file is not part of the
wheel: ``spark-lester package`` copies it into the bundle, Terraform points the
job's ``script_location`` at it, and the job installs the wheel through
``--additional-python-modules``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

JOB = "apply_deletion"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job; ``argv`` defaults to ``sys.argv`` (script name first, as Glue passes it)."""
    from spark_lester.aws.glue_jobs import glue_main

    return glue_main(JOB, argv)


if __name__ == "__main__":
    main()
