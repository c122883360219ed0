"""Column provenance: for every output column, the source columns it is derived from.

``direct`` sources flow into the column's values (through projections, renames, aggregate
inputs and union branches). ``indirect`` sources decide *which* rows exist or how they are
grouped: filter predicates, join keys and group keys (and, for distinct, every column).
Derived columns chain: a column computed from ``text`` inherits ``text``'s sources.

>>> from spark_lester.plan.nodes import Source, Project, Filter
>>> src = Source(name="mails", format="csv", path="m.csv", key="mail_id",
...              columns=("mail_id", "date", "mail_subject"))
>>> plan = Project(child=Filter(child=src, predicate="date >= '2022'", references=("date",)),
...                target="title", sources=("mail_subject",), expression="lower(mail_subject)")
>>> column_lineage(plan)["title"]
ColumnLineage(direct=['mails.mail_subject'], indirect=['mails.date'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from spark_lester.plan import nodes
from spark_lester.plan.walker import Walker


class SourceColumn(NamedTuple):
    source: str
    column: str

    def __str__(self) -> str:
        return f"{self.source}.{self.column}"


@dataclass(frozen=True)
class ColumnLineage:
    direct: frozenset[SourceColumn]
    indirect: frozenset[SourceColumn]

    def __repr__(self) -> str:
        return (f"ColumnLineage(direct={sorted(map(str, self.direct))}, "
                f"indirect={sorted(map(str, self.indirect))})")

    def with_indirect(self, extra: Iterable[SourceColumn]) -> ColumnLineage:
        return ColumnLineage(self.direct, self.indirect | frozenset(extra))

    def all(self) -> frozenset[SourceColumn]:
        return self.direct | self.indirect


Lineage = dict[str, ColumnLineage]


def _sources_of(lineage: Lineage, columns: Iterable[str]) -> frozenset[SourceColumn]:
    """Everything (direct and indirect) the named columns depend on."""
    out: frozenset[SourceColumn] = frozenset()
    for c in columns:
        out |= lineage[c].all()
    return out


def _derive(lineage: Lineage, columns: Iterable[str]) -> ColumnLineage:
    direct: frozenset[SourceColumn] = frozenset()
    indirect: frozenset[SourceColumn] = frozenset()
    for c in columns:
        direct |= lineage[c].direct
        indirect |= lineage[c].indirect
    return ColumnLineage(direct, indirect)


def _add_indirect(lineage: Lineage, extra: frozenset[SourceColumn]) -> Lineage:
    return {c: lin.with_indirect(extra) for c, lin in lineage.items()}


class LineageWalker(Walker):
    """Bottom-up walk; one ``visit_<Node>`` per node type, memoised per node.

    Besides each column's lineage it keeps, per node, the source columns that decide which
    rows the node outputs (filter predicates, join keys, group keys, distinct columns, with
    their own lineage, from every node below). Every output column's indirect lineage holds
    them: a constant column after a filter depends on the filter, as do the left columns of
    a join on the right side's filter.
    """

    rules = "lineage"

    def __init__(self) -> None:
        self._memo: dict[int, Lineage] = {}
        self._rows: dict[int, frozenset[SourceColumn]] = {}

    def walk(self, node: nodes.PlanNode) -> Lineage:
        key = id(node)
        if key not in self._memo:
            lineage = self.visit(node)
            rows = frozenset().union(*[self.rows(c) for c in node.children()],
                                     *[lin.indirect for lin in lineage.values()])
            self._rows[key] = rows
            self._memo[key] = _add_indirect(lineage, rows)
        return self._memo[key]

    def rows(self, node: nodes.PlanNode) -> frozenset[SourceColumn]:
        """The source columns deciding which rows ``node`` outputs."""
        self.walk(node)
        return self._rows[id(node)]

    def visit_Source(self, node: nodes.Source) -> Lineage:
        return {c: ColumnLineage(frozenset({SourceColumn(node.name, c)}), frozenset())
                for c in node.columns}

    def visit_Filter(self, node: nodes.Filter) -> Lineage:
        child = self.walk(node.child)
        return _add_indirect(child, _sources_of(child, node.references))

    def visit_Project(self, node: nodes.Project) -> Lineage:
        out = dict(self.walk(node.child))
        out[node.target] = _derive(out, node.sources)
        return out

    def visit_Join(self, node: nodes.Join) -> Lineage:
        left, right = self.walk(node.left), self.walk(node.right)
        keys = _sources_of(left, node.left_on) | _sources_of(right, node.right_on)
        out = dict(left)
        for col, lin in right.items():
            name = node.right_name(col)
            if name is not None:
                out[name] = lin
            # else: a key with the same name on both sides appears once, with the left
            # side's values; the right key is still an indirect (join) dependency.
        return _add_indirect(out, keys)

    def visit_Union(self, node: nodes.Union) -> Lineage:
        left, right = self.walk(node.left), self.walk(node.right)
        return {c: ColumnLineage(left[c].direct | right[c].direct,
                                 left[c].indirect | right[c].indirect) for c in node.columns}

    def visit_Select(self, node: nodes.Select) -> Lineage:
        child = self.walk(node.child)
        return {c: child[c] for c in node.columns}

    def visit_Rename(self, node: nodes.Rename) -> Lineage:
        child = self.walk(node.child)
        lookup = dict(node.mapping)
        return {lookup.get(c, c): lin for c, lin in child.items()}

    def visit_Aggregate(self, node: nodes.Aggregate) -> Lineage:
        child = self.walk(node.child)
        out = {k: child[k] for k in node.keys}
        for agg in node.aggregations:
            out[agg.name] = _derive(child, agg.references)
        return _add_indirect(out, _sources_of(child, node.keys))

    def visit_Distinct(self, node: nodes.Distinct) -> Lineage:
        child = self.walk(node.child)
        return _add_indirect(child, _sources_of(child, node.columns))

    def visit_Split(self, node: nodes.Split) -> Lineage:
        return self.walk(node.child)


def column_lineage(plan: nodes.PlanNode) -> Lineage:
    """Output column -> :class:`ColumnLineage` for ``plan``."""
    return LineageWalker().walk(plan)


def lineage_summary(plan: nodes.PlanNode) -> dict[str, dict[str, list[str]]]:
    """JSON-ready lineage: ``{column: {"direct": [...], "indirect": [...]}}``."""
    return {c: {"direct": sorted(map(str, lin.direct)),
                "indirect": sorted(map(str, lin.indirect))}
            for c, lin in column_lineage(plan).items()}
