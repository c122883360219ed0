"""Row provenance columns: reading them, merging them when rows merge, aligning unions.

A row that comes from one row of each source carries one id per source (a monomial of the
how-provenance polynomial: a join multiplies). A row that merges several input rows
(aggregate, distinct) carries, per source, an array of ids; the arrays of all sources are
aligned, element ``i`` of each forming the ``i``-th monomial (a sum: aggregate and union add).
A row survives the deletion of source rows ``D`` when one of its monomials avoids ``D``.

>>> surviving_monomials({"a": [1, 2], "b": [7, 8]}, {"a": {1}})
[{'a': 2, 'b': 8}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from spark_lester.plan.columns import PROV_STRUCT, is_provenance_column, source_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def provenance_columns(df: DataFrame) -> list[str]:
    return [c for c in df.columns if is_provenance_column(c)]


def is_merged(df: DataFrame) -> bool:
    """Whether the provenance of ``df`` is in array form (rows were merged)."""
    from pyspark.sql.types import ArrayType

    return any(isinstance(df.schema[c].dataType, ArrayType) for c in provenance_columns(df))


def merged_provenance(df: DataFrame) -> list[Column]:
    """Aggregate expressions that collect the provenance of a group into aligned arrays.

    Use with ``groupBy(...).agg(*merged_provenance(df))`` then :func:`unpack_merged`.
    The monomials are sorted (by their ids, source by source): ``collect_list`` gathers
    them in the order the group's rows arrive, which depends on partitioning and input file
    order, and the arrays are stored and hashed into the row id.
    """
    from pyspark.sql import functions as F

    cols = provenance_columns(df)
    return [F.array_sort(F.collect_list(F.struct(*[F.col(c) for c in cols])))
            .alias(PROV_STRUCT)]


def unpack_merged(grouped: DataFrame, prov_cols: Iterable[str], *, nested: bool) -> DataFrame:
    """Split the collected struct array into one aligned array column per source."""
    from pyspark.sql import functions as F

    out = grouped
    for c in prov_cols:
        field = F.transform(F.col(PROV_STRUCT), _getter(c))
        out = out.withColumn(c, F.flatten(field) if nested else field)
    return out.drop(PROV_STRUCT)


def _getter(name: str):  # type: ignore[no-untyped-def]
    # Spark passes (element, index) to two-argument lambdas: bind the name by closure.
    return lambda s: s.getField(name)


def as_arrays(df: DataFrame, monomials_from: str | None) -> DataFrame:
    """Turn scalar provenance into one-monomial arrays (no-op for array provenance)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    out = df
    for c in provenance_columns(df):
        if not isinstance(df.schema[c].dataType, ArrayType):
            out = out.withColumn(c, F.array(F.col(c)))
    return out


def add_missing(df: DataFrame, sources: Iterable[str], *, arrays: bool) -> DataFrame:
    """Add NULL provenance for sources ``df`` has no rows from (one NULL per monomial)."""
    from pyspark.sql import functions as F

    from spark_lester.plan.columns import provenance_column

    out = df
    existing = provenance_columns(df)
    for source in sources:
        col = provenance_column(source)
        if col in existing:
            continue
        if arrays:
            ref = existing[0]
            out = out.withColumn(col, F.transform(F.col(ref), lambda _: F.lit(None).cast("long")))
        else:
            out = out.withColumn(col, F.lit(None).cast("long"))
    return out


def surviving_monomials(prov: Mapping[str, object], deleted: Mapping[str, set[int]]
                        ) -> list[dict[str, int | None]]:
    """The monomials of one row's provenance that avoid every deleted id.

    ``prov`` maps source name to an id or a list of ids (aligned); ``deleted`` maps source
    name to deleted ids.
    """
    names = list(prov)
    values = [prov[n] for n in names]
    if values and isinstance(values[0], (list, tuple)):
        rows = list(zip(*values, strict=True))  # type: ignore[call-overload]
    else:
        rows = [tuple(values)]
    keep = []
    for mono in rows:
        if all(v is None or v not in deleted.get(n, set()) for n, v in zip(names, mono)):
            keep.append(dict(zip(names, mono)))
    return keep


def source_names(df: DataFrame) -> list[str]:
    return [source_of(c) for c in provenance_columns(df)]
