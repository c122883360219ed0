"""spark_lester: provenance and unlearning for ML pipelines on Spark."""

from spark_lester.artifacts.run import run
from spark_lester.config import LesterConfig
from spark_lester.deletion.request import DeletionRequest
from spark_lester.deletion.unlearn import unlearn
from spark_lester.errors import LesterError
from spark_lester.frame import LesterFrame, read_csv, read_delta, read_parquet, track
from spark_lester.queries import fairness_report, used_rows
from spark_lester.session import get_spark

__all__ = [
    "DeletionRequest",
    "LesterConfig",
    "LesterError",
    "LesterFrame",
    "fairness_report",
    "get_spark",
    "read_csv",
    "read_delta",
    "read_parquet",
    "run",
    "track",
    "unlearn",
    "used_rows",
]
__version__ = "0.1.0"
