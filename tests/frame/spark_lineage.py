"""Column lineage read from Spark's analysed plan: the oracle for ``LesterFrame.lineage()``.

Shares no code with ``spark_lester.plan``: it walks the JVM's analysed logical plan of the
tracked frame's DataFrame (``queryExecution().analyzed()``), follows every attribute by its
expression id, and names the leaf attributes after the ``SubqueryAlias`` over each source
relation (``track`` reads a DataFrame as a source named after its parameter, aliased so).

- *direct*: the leaf columns an attribute's value is computed from (projection and
  aggregate expressions' references; a union's output column from every branch).
- *indirect*: the leaf columns that decide which rows exist or how they are grouped, below
  the attribute: filter conditions, join conditions, grouping keys, every column of a
  distinct (of its child, with their own lineage), carried up through every node.

The engine's own provenance columns (``__prov_*``, ``__lester_*``) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVENANCE = ("__lester", "__prov_")  # the engine's own columns


@dataclass
class _Attr:
    direct: frozenset[str] = field(default_factory=frozenset)
    indirect: frozenset[str] = field(default_factory=frozenset)

    def all(self) -> frozenset[str]:
        return self.direct | self.indirect


def _seq(scala_seq: Any) -> list[Any]:
    return [scala_seq.apply(i) for i in range(scala_seq.size())]


def _refs(expr: Any) -> list[int]:
    return [a.exprId().id() for a in _seq(expr.references().toSeq())]


def _option(opt: Any) -> Any:
    return opt.get() if opt.isDefined() else None


class SparkLineage:
    """Lineage of every output attribute of one analysed plan."""

    def __init__(self) -> None:
        self.attrs: dict[int, _Attr] = {}

    def of_refs(self, ids: list[int]) -> _Attr:
        direct: frozenset[str] = frozenset()
        indirect: frozenset[str] = frozenset()
        for i in ids:
            a = self.attrs.get(i, _Attr())
            direct |= a.direct
            indirect |= a.indirect
        return _Attr(direct, indirect)

    def deciding(self, ids: list[int]) -> frozenset[str]:
        return self.of_refs(ids).all()

    def walk(self, plan: Any, alias: str | None = None) -> frozenset[str]:
        """Fill ``attrs`` for ``plan``'s output; returns the columns deciding its rows."""
        kind = plan.nodeName()
        children = _seq(plan.children())
        if kind == "SubqueryAlias":
            return self.walk(children[0], alias=plan.alias())
        if not children:  # a source relation: LocalRelation, LogicalRDD, Relation
            name = alias or "?"
            for a in _seq(plan.output()):
                self.attrs[a.exprId().id()] = _Attr(frozenset({f"{name}.{a.name()}"}))
            return frozenset()
        rows = frozenset().union(*[self.walk(c) for c in children])
        if kind == "Project":
            for e in _seq(plan.projectList()):
                self.attrs[e.exprId().id()] = self.of_refs(_refs(e))
        elif kind == "Filter":
            rows |= self.deciding(_refs(plan.condition()))
        elif kind == "Join":
            condition = _option(plan.condition())
            if condition is not None:
                rows |= self.deciding(_refs(condition))
        elif kind == "Aggregate":
            rows |= self.deciding([i for g in _seq(plan.groupingExpressions())
                                   for i in _refs(g)])
            for e in _seq(plan.aggregateExpressions()):
                self.attrs[e.exprId().id()] = self.of_refs(_refs(e))
        elif kind == "Distinct":
            rows |= self.deciding([a.exprId().id() for a in _seq(children[0].output())])
        elif kind == "Deduplicate":
            rows |= self.deciding([a.exprId().id() for a in _seq(plan.keys())])
        elif kind == "Union":
            outputs = [_seq(c.output()) for c in children]
            for position, out in enumerate(_seq(plan.output())):
                self.attrs[out.exprId().id()] = self.of_refs(
                    [o[position].exprId().id() for o in outputs])
        elif kind == "Window":  # numbers duplicate rows of a keyless source: no row decided
            for e in _seq(plan.windowExpressions()):
                self.attrs[e.exprId().id()] = self.of_refs(_refs(e))
        else:
            raise NotImplementedError(f"no lineage rule for Spark plan node {kind}")
        # what decides the rows below reaches every column above
        for a in _seq(plan.output()):
            got = self.attrs.get(a.exprId().id(), _Attr())
            self.attrs[a.exprId().id()] = _Attr(got.direct, got.indirect | rows)
        return rows


def _own(source_column: str) -> bool:
    return source_column.split(".", 1)[1].startswith(PROVENANCE)


def spark_lineage(df: Any) -> dict[str, tuple[set[str], set[str]]]:
    """``{column: (direct, indirect)}`` of ``df``'s data columns, from its analysed plan."""
    plan = df._jdf.queryExecution().analyzed()
    walker = SparkLineage()
    walker.walk(plan)
    out = {}
    for a in _seq(plan.output()):
        if a.name().startswith(PROVENANCE):
            continue
        got = walker.attrs[a.exprId().id()]
        out[a.name()] = ({c for c in got.direct if not _own(c)},
                         {c for c in got.indirect if not _own(c)})
    return out
