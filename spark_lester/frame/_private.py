"""Helpers of the frame package: column references through Spark's analyzer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from spark_lester.errors import ColumnNotFoundError, PlanError
from spark_lester.plan.columns import is_provenance_column

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def seq(scala_seq) -> list:  # type: ignore[no-untyped-def]
    """A Python list from a Scala Seq reached through py4j."""
    return [scala_seq.apply(i) for i in range(scala_seq.size())]


def references(df: DataFrame, column: Column, *, op: str) -> tuple[str, ...]:
    """The input columns ``column`` reads, as Spark's analyzer resolves them against ``df``.

    Raises :class:`ColumnNotFoundError` for a column ``df`` lacks, naming it.
    """
    from pyspark.errors import AnalysisException

    try:
        analyzed = df.select(column.alias("__lester_ref"))._jdf.queryExecution().analyzed()
    except AnalysisException as exc:
        raise _as_column_error(exc, df, op) from None
    names: list[str] = []
    for expr in seq(analyzed.expressions()):
        for attr in seq(expr.references().toSeq()):
            name = attr.name()
            if name not in names:
                names.append(name)
    return tuple(names)


def _as_column_error(exc: Exception, df: DataFrame, op: str) -> Exception:
    params = {}
    getter = getattr(exc, "getMessageParameters", None)
    if getter is not None:
        params = getter() or {}
    name = params.get("objectName")
    if name is None:
        match = re.search(r"`([^`]+)`", str(exc))
        name = match.group(1) if match else None
    if name is not None:
        name = name.strip("`").split("`.`")[-1]
        return ColumnNotFoundError(
            name, available=[c for c in df.columns if not is_provenance_column(c)], op=op
        )
    return PlanError(f"Spark could not analyze the expression: {type(exc).__name__}.", op=op)
