"""The provenance-carrying PySpark DataFrame subset."""

from spark_lester.frame.frame import LesterFrame
from spark_lester.frame.source import read_csv, read_delta, read_parquet, row_ids
from spark_lester.frame.track import track

__all__ = ["LesterFrame", "read_csv", "read_delta", "read_parquet", "row_ids", "track"]
