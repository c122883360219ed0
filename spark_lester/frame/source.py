"""Reading sources: every row gets a stable 64-bit row id in ``__prov_<source>``.

Row id rule (the same on every re-read of the same data, whatever the partitioning):

* with a declared ``key`` column: ``xxhash64(source name, key as string)``. The key must be
  unique within the source; rows sharing a key share an id and are deleted together.
* without a key: a content hash of every column (each value tagged so that NULL and the
  string "null" differ, order of columns as read), and for rows that are identical in every
  column an occurrence number ``k = 0, 1, ...`` within the group of identical rows:
  ``xxhash64(content hash, k)``. Identical rows are interchangeable, so which copy gets
  which ``k`` does not matter; this needs one shuffle on read.

``monotonically_increasing_id`` is never used: it depends on partitioning.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, overload

from spark_lester.errors import ColumnNotFoundError, SourceError, SourceNotFoundError
from spark_lester.plan.columns import CONTENT_HASH, is_provenance_column, provenance_column
from spark_lester.plan.nodes import Source

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from spark_lester.frame.frame import LesterFrame

FORMATS = ("csv", "parquet", "delta")


@overload
def keyed_row_id(source: str, key: Column) -> Column: ...


@overload
def keyed_row_id(source: str, key: object) -> int: ...


def keyed_row_id(source: str, key: object) -> int | Column:
    """The row id of the row with ``key`` in a keyed source: ``xxhash64(source, key as string)``.

    This is the one place the keyed rule is written. Given a Spark ``Column`` it returns the
    id as a column expression (the source read and the MERGE that cleans a source use it);
    given a value it computes the same 64-bit number on the driver, without a Spark job
    (xxhash64 with seed 42, each argument's hash seeding the next, as Spark does), so a
    request can name rows by key before any table is read.

    >>> keyed_row_id("customers", 1)
    -2151363685374076470
    >>> keyed_row_id("customers", "1")  # the key is hashed as a string
    -2151363685374076470
    """
    from pyspark.sql import Column

    if isinstance(key, Column):
        from pyspark.sql import functions as F

        return F.xxhash64(F.lit(source), key.cast("string"))
    import xxhash

    seed = xxhash.xxh64_intdigest(source.encode("utf-8"), seed=42)
    value = xxhash.xxh64_intdigest(str(key).encode("utf-8"), seed=seed)
    return value - (1 << 64) if value >= 1 << 63 else value


def row_ids(df: DataFrame, source: str, key: str | None) -> DataFrame:
    """``df`` with its provenance column ``__prov_<source>`` appended (see module doc)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    prov = provenance_column(source)
    if key is not None:
        return df.withColumn(prov, keyed_row_id(source, F.col(key)))
    tagged = [
        F.coalesce(F.concat(F.lit("v"), F.col(c).cast("string")), F.lit("n")) for c in df.columns
    ]
    hashed = df.withColumn(CONTENT_HASH, F.xxhash64(F.lit(source), *tagged))
    occurrence = F.row_number().over(Window.partitionBy(CONTENT_HASH).orderBy(CONTENT_HASH)) - 1
    return hashed.withColumn(prov, F.xxhash64(F.col(CONTENT_HASH), occurrence)).drop(CONTENT_HASH)


def read_csv(name: str, path: str, *, key: str | None = None, schema: str | None = None,
             spark: SparkSession | None = None, **options: str) -> LesterFrame:
    """Read a CSV file or folder with a header row as source ``name``.

    ``schema`` is a DDL string (``"mail_id INT, email STRING"``); without it types are
    inferred. Extra keyword options go to Spark's CSV reader.
    """
    return _read(name, path, "csv", key=key, schema=schema, spark=spark, options=options)


def read_parquet(name: str, path: str, *, key: str | None = None,
                 spark: SparkSession | None = None) -> LesterFrame:
    """Read Parquet files as source ``name``."""
    return _read(name, path, "parquet", key=key, schema=None, spark=spark, options={})


def read_delta(name: str, path: str, *, key: str | None = None, version: int | None = None,
               spark: SparkSession | None = None) -> LesterFrame:
    """Read a Delta table (optionally at ``version``) as source ``name``."""
    options = {} if version is None else {"versionAsOf": str(version)}
    return _read(name, path, "delta", key=key, schema=None, spark=spark, options=options,
                 version=version)


def _read(name: str, path: str, fmt: str, *, key: str | None, schema: str | None,
          spark: SparkSession | None, options: dict[str, str],
          version: int | None = None) -> LesterFrame:
    from pyspark.errors import AnalysisException

    from spark_lester.frame.frame import LesterFrame
    from spark_lester.session import get_spark

    spark = spark or get_spark()
    path = str(path)
    if "://" not in path:
        if not os.path.exists(path):
            raise SourceNotFoundError(
                f"source '{name}': path {path} does not exist.", source=name,
                hint="Check the path, or generate the example data with `spark-lester demo`.",
            )
        # The JVM resolves relative paths against its own start directory, not ours.
        path = os.path.abspath(path)
    reader = spark.read.format(fmt)
    if fmt == "csv":
        reader = reader.option("header", "true").option("mode", "FAILFAST")
        reader = reader.schema(schema) if schema else reader.option("inferSchema", "true")
    for k, v in options.items():
        reader = reader.option(k, v)
    try:
        raw = reader.load(path)
    except AnalysisException as exc:
        text = str(exc)
        if "PATH_NOT_FOUND" in text or "Path does not exist" in text or "not a Delta table" in text:
            raise SourceNotFoundError(f"source '{name}': no {fmt} data at {path}.",
                                      source=name) from None
        raise SourceError(f"source '{name}': Spark could not read {path} as {fmt}.",
                          source=name) from exc
    columns = tuple(raw.columns)
    bad = [c for c in columns if is_provenance_column(c)]
    if bad:
        raise SourceError(f"source '{name}' already has a provenance column '{bad[0]}'.",
                          source=name, hint="Read the original input, not a pipeline output.")
    if key is not None and key not in columns:
        raise ColumnNotFoundError(key, available=columns, op=f"read {name}")
    node = Source(name=name, format=fmt, path=path, key=key, columns=columns, version=version)
    df = row_ids(raw.alias(name), name, key)
    return LesterFrame(df, node)
