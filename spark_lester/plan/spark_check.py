"""Cross-check of declared column lineage against Spark's analyzed logical plan.

Spark's analyzer resolves every column to an attribute with a unique expression id. Walking
the analyzed plan bottom-up, each source read (a ``SubqueryAlias`` named after the source)
gives its attributes the lineage ``(source, column)``; every ``Alias`` takes the union of the
lineage of the attributes it references; a ``Union`` merges its inputs position by position.
The result is the *direct* lineage as Spark sees it, which must equal ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from spark_lester.errors import LineageMismatchError
from spark_lester.plan.columns import is_provenance_column
from spark_lester.plan.lineage import SourceColumn, column_lineage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_lester.plan.nodes import PlanNode


def _seq(scala_seq: Any) -> list[Any]:
    return [scala_seq.apply(i) for i in range(scala_seq.size())]


def _walk(node: Any, sources: set[str], lin: dict[int, frozenset[SourceColumn]]) -> None:
    children = _seq(node.children())
    for child in children:
        _walk(child, sources, lin)
    name = node.nodeName()
    if name == "SubqueryAlias":
        alias = str(node.alias())
        if alias in sources:
            for attr in _seq(node.output()):
                eid = attr.exprId().id()
                if not lin.get(eid):
                    lin[eid] = frozenset({SourceColumn(alias, str(attr.name()))})
        return
    if name == "Union":
        outputs = [_seq(c.output()) for c in children]
        merged = []
        for i in range(len(outputs[0])):
            acc: frozenset[SourceColumn] = frozenset()
            for out in outputs:
                acc |= lin.get(out[i].exprId().id(), frozenset())
            merged.append(acc)
        for attr, acc in zip(_seq(node.output()), merged, strict=True):
            lin[attr.exprId().id()] = acc
        return
    for expr in _seq(node.expressions()):
        _alias(expr, lin)


def _alias(expr: Any, lin: dict[int, frozenset[SourceColumn]]) -> None:
    if expr.nodeName() == "Alias":
        acc: frozenset[SourceColumn] = frozenset()
        for ref in _seq(expr.references().toSeq()):
            acc |= lin.get(ref.exprId().id(), frozenset())
        lin[expr.exprId().id()] = acc
        return
    for child in _seq(expr.children()):
        _alias(child, lin)


def spark_lineage(df: DataFrame, sources: Iterable[str]) -> dict[str, frozenset[SourceColumn]]:
    """Direct lineage of every non-provenance output column of ``df`` per Spark."""
    analyzed = df._jdf.queryExecution().analyzed()
    lin: dict[int, frozenset[SourceColumn]] = {}
    _walk(analyzed, set(sources), lin)
    return {str(a.name()): lin.get(a.exprId().id(), frozenset())
            for a in _seq(analyzed.output()) if not is_provenance_column(str(a.name()))}


def cross_check(plan: PlanNode, df: DataFrame) -> dict[str, list[str]]:
    """Raise :class:`LineageMismatchError` unless our direct lineage equals Spark's.

    Returns the checked lineage ``{column: ["source.column", ...]}``.
    """
    ours = {c: lin.direct for c, lin in column_lineage(plan).items()}
    theirs = spark_lineage(df, [s.name for s in plan.source_nodes()])
    if set(ours) != set(theirs):
        raise LineageMismatchError(
            f"columns differ: plan has {sorted(ours)}, Spark has {sorted(theirs)}.",
            op="cross_check")
    for column in ours:
        if ours[column] != theirs[column]:
            raise LineageMismatchError(
                f"column '{column}': plan says {sorted(map(str, ours[column]))}, Spark's "
                f"analyzed plan says {sorted(map(str, theirs[column]))}.", op="cross_check")
    return {c: sorted(map(str, v)) for c, v in ours.items()}
