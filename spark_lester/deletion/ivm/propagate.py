"""IVM rules: how a deletion or redaction propagates through each plan operator.

The incremental strategy re-runs the pipeline on the *affected region* only: the source rows
named in the provenance of the artifact rows that contain a deleted or redacted id, with the
change applied, and replaces those artifact rows by MERGE. That is exact when every operator
keeps the effect of a change inside the rows whose provenance holds a changed id. The rules:

=========  ===================================================================================
Source     the changed rows themselves.
Filter     delete: exact (a kept row stays kept). Redact: exact unless the predicate reads a
           redacted column (a row could start or stop passing it) -> recompute.
Project    exact: a projection is row-local and is re-evaluated on the new values.
Join       inner: exact (a join multiplies monomials). Left: deleting a right row can turn a
           left row into a NULL-padded one, or a NULL-padded one into nothing when its last
           match goes, whether or not the joined row reached an artifact (a filter above the
           join may have dropped it). So the left rows that match a deleted right row *at the
           join's input* are found by evaluating both sides there, every row of those left
           rows is re-derived (the left side's sources are *closed over*), and the right
           side's sources are read whole in the re-run (a left row's matches are all of its
           right rows, not only those in the affected region). Redacting a left row also
           reads the right side whole: the row is re-derived with all its matches (else it
           comes back NULL-padded), and so does every left join on the other side of a
           join that reads a redacted source (the rows joined to a redacted row are
           re-derived; one whose match is outside the region would come back NULL-padded
           and hold the redacted row). A redacted join key -> recompute.
           The closed-over left rows are re-derived wherever they occur, and a deleted
           match can make them *appear* (a NULL-padded row that a filter kept out while
           the match existed), so every other join that reads a closed-over source reads
           its other side whole (an appearing row finds all its partners; another left
           join of the same row does not come back NULL-padded for want of its matches).
           A closed-over source on the *right* side of a left join -> recompute: a row
           appearing there changes which left rows are matched, and those are not found.
Union      exact (provenance adds).
Select,    exact (row-local, column-only).
Rename
Split      exact: membership hashes the row's provenance, never other rows.
Aggregate  recompute: a group's value depends on rows outside the changed region.
Distinct   recompute: rows that become equal merge.
=========  ===================================================================================

"Recompute" re-runs the whole pipeline on the cleaned sources and MERGEs the difference: still
exact, recorded in the ledger with the reason.

>>> from spark_lester.plan.nodes import Source, Filter
>>> src = Source(name="mails", format="csv", path="m.csv", key="mail_id",
...              columns=("mail_id", "mail_subject"))
>>> plan = Filter(child=src, predicate="mail_subject IS NOT NULL", references=("mail_subject",))
>>> propagate(plan, "delete_rows", set()).strategy
'incremental'
>>> propagate(plan, "redact_columns", {("mails", "mail_subject")}).reason
'filter reads redacted mails.mail_subject'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from spark_lester.plan import nodes
from spark_lester.plan.lineage import LineageWalker, SourceColumn
from spark_lester.plan.walker import Walker

INCREMENTAL, RECOMPUTE = "incremental", "recompute"


@dataclass
class Propagation:
    """The verdict for one plan: strategy, why, and which sources need closure."""

    strategy: str = INCREMENTAL
    reason: str | None = None
    closure_sources: set[str] = field(default_factory=set)
    #: Sources the incremental re-run reads whole (the right sides of left joins, and the
    #: other side of any join that reads a closed-over source).
    full_sources: set[str] = field(default_factory=set)
    #: Left joins whose right side holds a deleted source (their closure is evaluated).
    left_joins: list[nodes.Join] = field(default_factory=list)

    def recompute(self, reason: str) -> None:
        if self.strategy != RECOMPUTE:
            self.strategy, self.reason = RECOMPUTE, reason


class PropagationWalker(Walker):
    """One ``visit_<Node>`` per operator; a node without a rule is an error, never skipped."""

    rules = "deletion"

    def __init__(self, action: str, redacted: Iterable[tuple[str, str]],
                 source: str | None = None) -> None:
        self.action = action
        self.source = source
        self.redacted = {SourceColumn(s, c) for s, c in redacted}
        self.lineage = LineageWalker()
        self.result = Propagation()
        self._seen: set[int] = set()
        #: Every join with its two sides' sources, for the closure rule after the walk.
        self._joins: list[tuple[nodes.Join, set[str], set[str]]] = []

    def walk(self, node: nodes.PlanNode) -> None:
        if id(node) in self._seen:
            return
        self._seen.add(id(node))
        visit = self.rule(node)
        for child in node.children():
            self.walk(child)
        visit(node)

    def _reads_redacted(self, child: nodes.PlanNode, columns: Iterable[str]) -> str | None:
        lineage = self.lineage.walk(child)
        for c in columns:
            hit = sorted(str(sc) for sc in lineage[c].all() & self.redacted)
            if hit:
                return hit[0]
        return None

    def visit_Source(self, node: nodes.Source) -> None:
        pass

    def visit_Filter(self, node: nodes.Filter) -> None:
        hit = self._reads_redacted(node.child, node.references)
        if hit:
            self.result.recompute(f"filter reads redacted {hit}")

    def visit_Project(self, node: nodes.Project) -> None:
        pass

    def visit_Join(self, node: nodes.Join) -> None:
        hit = (self._reads_redacted(node.left, node.left_on)
               or self._reads_redacted(node.right, node.right_on))
        if hit:
            self.result.recompute(f"join key reads redacted {hit}")
        left = {s.name for s in node.left.source_nodes()}
        right = {s.name for s in node.right.source_nodes()}
        self._joins.append((node, left, right))
        if node.how != "left":
            return
        if self.action == "delete_rows" and (self.source is None or self.source in right):
            self.result.closure_sources |= left
            self.result.full_sources |= right
            self.result.left_joins.append(node)
        if self.action == "redact_columns" and self._changes(left):
            # a redacted left row is re-derived: its matches are all of its right rows, not
            # only those in the region (else it comes back NULL-padded, and a filter on the
            # right side's columns may keep it)
            self.result.full_sources |= right

    def close_over(self) -> None:
        """After the walk: the joins that read a closed-over source (see the table)."""
        closure = self.result.closure_sources
        for node, left, right in self._joins:
            if node.how == "left" and right & closure:
                self.result.recompute(f"left join whose right side re-derives "
                                      f"{min(right & closure)} rows that a deletion can add")
            if left & closure:
                self.result.full_sources |= right
            if right & closure:
                self.result.full_sources |= left
            if self.action != "redact_columns":
                continue
            # a redacted row is re-derived with the rows it joins here, and a left join on
            # their side re-derives them against its right rows in the region only: one
            # whose match is filtered out comes back NULL-padded, joins the redacted row and
            # holds it (another union branch of the same rows)
            for side, other in ((left, node.right), (right, node.left)):
                if self._changes(side):
                    for inner in _left_joins(other):
                        self.result.full_sources |= {s.name for s in inner.right.source_nodes()}

    def _changes(self, sources: set[str]) -> bool:
        """Whether a redaction changes rows of ``sources`` (the request's source, or any
        source when it is None, and the redacted sources)."""
        changed = {sc.source for sc in self.redacted} | {self.source}
        return self.source is None or bool(changed & sources)

    def visit_Union(self, node: nodes.Union) -> None:
        pass

    def visit_Select(self, node: nodes.Select) -> None:
        pass

    def visit_Rename(self, node: nodes.Rename) -> None:
        pass

    def visit_Split(self, node: nodes.Split) -> None:
        pass

    def visit_Aggregate(self, node: nodes.Aggregate) -> None:
        self.result.recompute("aggregate: a group's value depends on rows outside the change")

    def visit_Distinct(self, node: nodes.Distinct) -> None:
        self.result.recompute("distinct: changed rows can merge with unchanged ones")


def _left_joins(node: nodes.PlanNode) -> list[nodes.Join]:
    """The left joins in the subtree of ``node`` (itself included)."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, nodes.Join) and n.how == "left":
            out.append(n)
        stack.extend(n.children())
    return out


def propagate(plan: nodes.PlanNode, action: str, redacted: Iterable[tuple[str, str]],
              source: str | None = None) -> Propagation:
    """Decide how a request of kind ``action`` on ``source`` (redacting ``redacted``)
    updates ``plan`` (``source`` None: any source may change)."""
    walker = PropagationWalker(action, redacted, source)
    walker.walk(plan)
    walker.close_over()
    return walker.result
