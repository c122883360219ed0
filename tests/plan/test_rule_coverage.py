"""Every plan node type has a rule in every walker (lineage, serialisation, propagation), and
a node type without one raises ``NoRuleError`` in each of them, never falls through."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from spark_lester.deletion.ivm.propagate import PropagationWalker, propagate
from spark_lester.errors import NoRuleError, UnsupportedOperationError
from spark_lester.plan import nodes, serialize
from spark_lester.plan.lineage import LineageWalker, column_lineage
from spark_lester.plan.walker import Walker

def _labels(plan: nodes.PlanNode) -> list[str]:
    labels = serialize.MermaidLabels()
    return [labels.visit(node) for node in serialize._numbered(plan)]


def _propagation(plan: nodes.PlanNode) -> Any:
    walker = PropagationWalker("delete_rows", ())
    walker.walk(plan)
    return walker.result


#: Each walker, and how to run it over a whole plan.
WALKERS: dict[type[Walker], Callable[[nodes.PlanNode], Any]] = {
    LineageWalker: lambda plan: LineageWalker().walk(plan),
    serialize.MermaidLabels: _labels,
    serialize.IdentityColumns: lambda plan: serialize.IdentityColumns().visit(plan),
    serialize.IndirectKinds: lambda plan: serialize.IndirectKinds().walk(plan),
    PropagationWalker: _propagation,
}

#: The public functions built on the walkers.
ENTRY_POINTS: dict[str, Callable[[nodes.PlanNode], Any]] = {
    "column_lineage": column_lineage,
    "to_json": serialize.to_json,
    "to_mermaid": serialize.to_mermaid,
    "to_openlineage": serialize.to_openlineage,
    "propagate": lambda plan: propagate(plan, "redact_columns", {("mails", "mail_subject")}),
}


def _subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def node_types() -> set[type[nodes.PlanNode]]:
    """The concrete node classes of the nodes module, found by subclassing, not by a list."""
    return {c for c in _subclasses(nodes.PlanNode) if c.__module__ == nodes.__name__}


@dataclass(frozen=True)
class Sample(nodes.PlanNode):
    """A node type no walker knows: a row sample of its child."""

    op: ClassVar[str] = "sample"
    child: nodes.PlanNode = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._set_columns(self.child.columns)

    def children(self) -> tuple[nodes.PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Where(nodes.Filter):
    """A subclass of a known node: its parent's rule is not taken for it."""


SRC = nodes.Source(name="mails", format="csv", path="m.csv", key="mail_id",
                   columns=("mail_id", "mail_subject"))


def unknown_plans() -> dict[str, nodes.PlanNode]:
    sample = Sample(child=SRC)
    return {
        "root": sample,
        "below a known node": nodes.Project(child=sample, target="title",
                                            sources=("mail_subject",),
                                            expression="lower(mail_subject)"),
        "subclass of a known node": Where(child=SRC, predicate="mail_id > 1",
                                          references=("mail_id",)),
    }


def test_the_nodes_module_lists_every_node_type():
    assert node_types() == set(nodes.NODE_TYPES)


def test_every_walker_is_covered_here():
    """The package's walkers (module-level classes, not a doctest's) are all listed above."""
    in_package = {c for c in _subclasses(Walker) if c.__module__.startswith("spark_lester.")
                  and getattr(sys.modules[c.__module__], c.__name__, None) is c}
    assert in_package == set(WALKERS)


@pytest.mark.parametrize("walker", list(WALKERS), ids=lambda w: w.__name__)
@pytest.mark.parametrize("kind", nodes.NODE_TYPES, ids=lambda k: k.__name__)
def test_every_walker_has_a_rule_for_every_node_type(walker, kind):
    assert walker.has_rule(kind), f"{walker.__name__} has no visit_{kind.__name__}"


@pytest.mark.parametrize("where", list(unknown_plans()))
@pytest.mark.parametrize("walker", list(WALKERS), ids=lambda w: w.__name__)
def test_a_walker_raises_no_rule_for_an_unknown_node(walker, where):
    plan = unknown_plans()[where]
    with pytest.raises(NoRuleError) as err:
        WALKERS[walker](plan)
    assert isinstance(err.value, UnsupportedOperationError)
    assert err.value.node == type(_first_unknown(plan)).__name__
    assert err.value.walker == walker.rules


@pytest.mark.parametrize("where", list(unknown_plans()))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_public_functions_raise_no_rule_for_an_unknown_node(entry, where):
    with pytest.raises(NoRuleError, match="no .* rule for plan node (Sample|Where)"):
        ENTRY_POINTS[entry](unknown_plans()[where])


def test_known_nodes_still_pass_every_walker():
    """The same plans without the unknown node go through every walker and entry point."""
    plan = nodes.Project(child=nodes.Filter(child=SRC, predicate="mail_id > 1",
                                            references=("mail_id",)),
                         target="title", sources=("mail_subject",),
                         expression="lower(mail_subject)")
    for run in (*WALKERS.values(), *ENTRY_POINTS.values()):
        assert run(plan) is not None


def _first_unknown(plan: nodes.PlanNode) -> nodes.PlanNode:
    if type(plan) not in nodes.NODE_TYPES:
        return plan
    return next(_first_unknown(c) for c in plan.children())
