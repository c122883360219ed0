"""spark_lester: provenance and unlearning for ML pipelines on Spark."""

from spark_lester.config import LesterConfig
from spark_lester.errors import LesterError
from spark_lester.frame import LesterFrame, read_csv, read_delta, read_parquet
from spark_lester.session import get_spark

__all__ = [
    "LesterConfig",
    "LesterError",
    "LesterFrame",
    "get_spark",
    "read_csv",
    "read_delta",
    "read_parquet",
]
__version__ = "0.1.0"
