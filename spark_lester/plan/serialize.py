"""Plan output: JSON, Mermaid and OpenLineage column lineage.

Three walkers hold the per-node rules: :class:`MermaidLabels` (a node's box text),
:class:`IdentityColumns` and :class:`IndirectKinds` (OpenLineage's transformation subtypes).

>>> from spark_lester.plan.nodes import Source, Project
>>> src = Source(name="mails", format="csv", path="m.csv", key="mail_id",
...              columns=("mail_id", "mail_subject"))
>>> plan = Project(child=src, target="title", sources=("mail_subject",),
...                expression="lower(mail_subject)")
>>> [n["op"] for n in to_json(plan)["nodes"]]
['source', 'project']
>>> print(to_mermaid(plan))
graph TD
  n0[("source mails<br/>m.csv")]
  n1["project title<br/>lower(mail_subject)"]
  n0 --> n1
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, ClassVar

from spark_lester.plan import nodes
from spark_lester.plan.lineage import SourceColumn, column_lineage, lineage_summary
from spark_lester.plan.walker import Walker

if TYPE_CHECKING:
    from spark_lester.openlineage import InputField


def _numbered(plan: nodes.PlanNode) -> list[nodes.PlanNode]:
    """Nodes in post-order (children first), each distinct node once."""
    order: list[nodes.PlanNode] = []
    seen: set[int] = set()

    def visit(node: nodes.PlanNode) -> None:
        if id(node) in seen:
            return
        for child in node.children():
            visit(child)
        seen.add(id(node))
        order.append(node)

    visit(plan)
    return order


def _fields(node: nodes.PlanNode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, nodes.PlanNode):
            continue
        if f.name == "aggregations":
            value = [dataclasses.asdict(a) for a in value]
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[f.name] = value
    return out


def to_json(plan: nodes.PlanNode) -> dict[str, Any]:
    """The plan as a JSON-ready dict: ``nodes`` (post-order, with ``children`` ids),
    ``output`` (the id of the root) and ``lineage``."""
    order = _numbered(plan)
    ids = {id(n): i for i, n in enumerate(order)}
    out_nodes = []
    for i, node in enumerate(order):
        entry = {"id": i, "op": node.op, **_fields(node),
                 "children": [ids[id(c)] for c in node.children()]}
        out_nodes.append(entry)
    return {"nodes": out_nodes, "output": ids[id(plan)], "lineage": lineage_summary(plan)}


def to_json_text(plan: nodes.PlanNode) -> str:
    return json.dumps(to_json(plan), indent=2, sort_keys=True)


class MermaidLabels(Walker):
    """The text of one node's box in the Mermaid chart (its children are not visited)."""

    rules = "mermaid label"

    def visit_Source(self, node: nodes.Source) -> str:
        return f"source {node.name}<br/>{node.path}"

    def visit_Filter(self, node: nodes.Filter) -> str:
        return f"filter<br/>{node.predicate}"

    def visit_Project(self, node: nodes.Project) -> str:
        return f"project {node.target}<br/>{node.expression}"

    def visit_Join(self, node: nodes.Join) -> str:
        keys = ", ".join(f"{l}={r}" for l, r in zip(node.left_on, node.right_on, strict=True))
        return f"{node.how} join<br/>{keys}"

    def visit_Union(self, node: nodes.Union) -> str:
        return node.op

    def visit_Select(self, node: nodes.Select) -> str:
        return f"select<br/>{', '.join(node.selected)}"

    def visit_Rename(self, node: nodes.Rename) -> str:
        return "rename<br/>" + ", ".join(f"{o}->{n}" for o, n in node.mapping)

    def visit_Aggregate(self, node: nodes.Aggregate) -> str:
        aggs = ", ".join(f"{a.name}={a.expression}" for a in node.aggregations)
        return f"aggregate by {', '.join(node.keys)}<br/>{aggs}"

    def visit_Distinct(self, node: nodes.Distinct) -> str:
        return node.op

    def visit_Split(self, node: nodes.Split) -> str:
        return f"split {node.side}<br/>test_fraction={node.test_fraction}, seed={node.seed}"


def to_mermaid(plan: nodes.PlanNode) -> str:
    """A Mermaid flowchart of the plan (sources drawn as cylinders)."""
    order = _numbered(plan)
    ids = {id(n): i for i, n in enumerate(order)}
    labels = MermaidLabels()
    lines = ["graph TD"]
    for i, node in enumerate(order):
        text = labels.visit(node).replace('"', "'")
        shape = f'[("{text}")]' if isinstance(node, nodes.Source) else f'["{text}"]'
        lines.append(f"  n{i}{shape}")
    for node in order:
        for child in node.children():
            lines.append(f"  n{ids[id(child)]} --> n{ids[id(node)]}")
    return "\n".join(lines)


def to_openlineage(plan: nodes.PlanNode, *, namespace: str = "spark_lester",
                   output_name: str = "prepared") -> dict[str, Any]:
    """An OpenLineage output dataset with the ``columnLineage`` facet.

    Each input field lists its transformations: DIRECT/IDENTITY or DIRECT/TRANSFORMATION
    (AGGREGATION for aggregate outputs) for direct lineage, INDIRECT/FILTER, JOIN or
    GROUP_BY for indirect lineage. Source datasets are named by their path.
    """
    from spark_lester import openlineage  # the client is imported only when asked for

    lineage = column_lineage(plan)
    paths = {s.name: s.path for s in plan.source_nodes()}
    identity = _identity_columns(plan)
    aggregated = _aggregated_columns(plan)
    indirect_kind = _indirect_kinds(plan)
    fields: dict[str, list[InputField]] = {}
    for column, lin in lineage.items():
        inputs = []
        for sc in sorted(lin.direct):
            subtype = ("AGGREGATION" if column in aggregated else
                       "IDENTITY" if (column, sc) in identity else "TRANSFORMATION")
            inputs.append(_input_field(paths, sc, "DIRECT", subtype))
        for sc in sorted(lin.indirect):
            inputs.append(_input_field(paths, sc, "INDIRECT", indirect_kind.get(sc, "FILTER")))
        fields[column] = inputs
    return openlineage.column_lineage(namespace, output_name, fields)


def _input_field(paths: dict[str, str], sc: Any, kind: str, subtype: str) -> InputField:
    return ("file", paths.get(sc.source, sc.source), sc.column, kind, subtype)


class IdentityColumns(Walker):
    """Per output column, the source columns whose values reach it unchanged."""

    rules = "identity"

    def _kept(self, node: nodes.Filter | nodes.Select | nodes.Distinct | nodes.Split
              ) -> dict[str, set[SourceColumn]]:
        """The child's columns that the node keeps, values unchanged."""
        child = self.visit(node.child)
        return {c: child.get(c, set()) for c in node.columns}

    def visit_Source(self, node: nodes.Source) -> dict[str, set[SourceColumn]]:
        return {c: {SourceColumn(node.name, c)} for c in node.columns}

    def visit_Filter(self, node: nodes.Filter) -> dict[str, set[SourceColumn]]:
        return self._kept(node)

    def visit_Project(self, node: nodes.Project) -> dict[str, set[SourceColumn]]:
        out: dict[str, set[SourceColumn]] = self.visit(node.child)
        out[node.target] = set()
        return out

    def visit_Join(self, node: nodes.Join) -> dict[str, set[SourceColumn]]:
        left, right = self.visit(node.left), self.visit(node.right)
        out = dict(left)
        for col, ids in right.items():
            name = node.right_name(col)
            out[name or col] = ids | (out.get(col, set()) if name is None else set())
        return out

    def visit_Union(self, node: nodes.Union) -> dict[str, set[SourceColumn]]:
        left, right = self.visit(node.left), self.visit(node.right)
        return {c: left[c] | right[c] for c in node.columns}

    def visit_Select(self, node: nodes.Select) -> dict[str, set[SourceColumn]]:
        return self._kept(node)

    def visit_Rename(self, node: nodes.Rename) -> dict[str, set[SourceColumn]]:
        child = self.visit(node.child)
        lookup = dict(node.mapping)
        return {lookup.get(c, c): v for c, v in child.items()}

    def visit_Aggregate(self, node: nodes.Aggregate) -> dict[str, set[SourceColumn]]:
        child = self.visit(node.child)
        return {c: child[c] if c in node.keys else set() for c in node.columns}

    def visit_Distinct(self, node: nodes.Distinct) -> dict[str, set[SourceColumn]]:
        return self._kept(node)

    def visit_Split(self, node: nodes.Split) -> dict[str, set[SourceColumn]]:
        return self._kept(node)


def _identity_columns(plan: nodes.PlanNode) -> set[tuple[str, Any]]:
    """(output column, source column) pairs whose values pass through unchanged."""
    return {(c, sc) for c, scs in IdentityColumns().visit(plan).items() for sc in scs}


def _aggregated_columns(plan: nodes.PlanNode) -> set[str]:
    if isinstance(plan, nodes.Aggregate):
        return {a.name for a in plan.aggregations}
    return set()


class IndirectKinds(Walker):
    """Which kind of indirect dependency each source column is, from the operation that
    reads it directly (JOIN beats GROUP_BY beats FILTER when a column plays several roles).
    Operations that decide no rows by a column note nothing."""

    rules = "indirect kind"
    RANK: ClassVar[dict[str, int]] = {"FILTER": 0, "GROUP_BY": 1, "JOIN": 2}

    def __init__(self) -> None:
        self.kinds: dict[SourceColumn, str] = {}

    def walk(self, node: nodes.PlanNode) -> dict[SourceColumn, str]:
        """Note the kinds of ``node`` and every node below it, children first."""
        for child in node.children():
            self.walk(child)
        self.visit(node)
        return self.kinds

    def _note(self, columns: set[SourceColumn], kind: str) -> None:
        for sc in columns:
            if self.RANK[kind] >= self.RANK[self.kinds.get(sc, "FILTER")]:
                self.kinds[sc] = kind

    def _group_by(self, child: nodes.PlanNode, keys: tuple[str, ...]) -> None:
        lin = column_lineage(child)
        self._note({sc for k in keys for sc in lin[k].direct}, "GROUP_BY")

    def visit_Source(self, node: nodes.Source) -> None:
        pass

    def visit_Filter(self, node: nodes.Filter) -> None:
        lin = column_lineage(node.child)
        self._note({sc for r in node.references for sc in lin[r].direct}, "FILTER")

    def visit_Project(self, node: nodes.Project) -> None:
        pass

    def visit_Join(self, node: nodes.Join) -> None:
        left, right = column_lineage(node.left), column_lineage(node.right)
        self._note({sc for k in node.left_on for sc in left[k].direct}
                   | {sc for k in node.right_on for sc in right[k].direct}, "JOIN")

    def visit_Union(self, node: nodes.Union) -> None:
        pass

    def visit_Select(self, node: nodes.Select) -> None:
        pass

    def visit_Rename(self, node: nodes.Rename) -> None:
        pass

    def visit_Aggregate(self, node: nodes.Aggregate) -> None:
        self._group_by(node.child, node.keys)

    def visit_Distinct(self, node: nodes.Distinct) -> None:
        self._group_by(node.child, node.columns)

    def visit_Split(self, node: nodes.Split) -> None:
        pass


def _indirect_kinds(plan: nodes.PlanNode) -> dict[Any, str]:
    return IndirectKinds().walk(plan)
