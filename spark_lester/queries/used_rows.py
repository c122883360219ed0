"""Which rows of a source reached the model's training data.

A source row is *used* when some train row of the run's ``features`` table (the model's
training data) has the row's id in its provenance column ``__prov_<source>``: as the id
itself, or as an element of the id array of a row merged by an aggregate. Rows the pipeline
filtered out, rows that met no join partner and rows that reached only test rows are not.

>>> import spark_lester                                            # doctest: +SKIP
>>> spark_lester.used_rows("first", "mails", warehouse="./.lester/warehouse") \\
...     .where("NOT used").show()                                  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_lester.artifacts.layout import FEATURES
from spark_lester.errors import QueryError
from spark_lester.plan.columns import SPLIT, provenance_column
from spark_lester.queries._private import resolve_run, source_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_lester.artifacts.registry import RunRecord

#: The column ``used_rows`` adds to the source's columns.
USED = "used"


def used_rows(run: str | RunRecord, source: str, *, warehouse: str | None = None,
              spark: SparkSession | None = None) -> DataFrame:
    """Every row of ``source`` as run ``run`` read it, with its columns, its row id
    ``__prov_<source>`` and a boolean ``used``: whether it reached the training data.

    ``run`` is a run id (looked up in ``warehouse``) or a registry record. Raises
    ``RunNotFoundError`` for an unknown run, ``QueryError`` for a source the run did not
    read, ``SourceChangedError`` when the source changed since the run read it.
    """
    spark, record = resolve_run(run, warehouse=warehouse, spark=spark)
    rows = source_frame(spark, record, source)
    if USED in rows.columns:
        raise QueryError(f"source '{source}' has a column named '{USED}', the name of the "
                         "flag this query adds.", run_id=record.run_id, source=source,
                         hint="Select the rows with used_ids() and join them yourself.")
    features = spark.read.format("delta").load(record.tables[FEATURES].path)
    return mark_used(rows, used_ids(features, source))


def used_ids(features: DataFrame, source: str) -> DataFrame:
    """The distinct ids of ``source`` rows in the provenance of train rows (one column)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    pcol = provenance_column(source)
    if pcol not in features.columns:  # no output row keeps this source's provenance
        return features.sparkSession.createDataFrame([], f"`{pcol}` BIGINT")
    train = features.where(F.col(SPLIT) == F.lit("train"))
    ids = F.explode(pcol) if isinstance(features.schema[pcol].dataType, ArrayType) \
        else F.col(pcol)
    return train.select(ids.alias(pcol)).where(F.col(pcol).isNotNull()).distinct()


def mark_used(rows: DataFrame, ids: DataFrame) -> DataFrame:
    """``rows`` (with one provenance column) plus ``used``: whether its id is in ``ids``."""
    from pyspark.sql import functions as F

    (pcol,) = ids.columns
    hits = ids.withColumn(USED, F.lit(True))
    joined = rows.join(hits, on=pcol, how="left")
    return joined.select(*rows.columns, F.coalesce(F.col(USED), F.lit(False)).alias(USED))
