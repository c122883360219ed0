"""The dispatch every plan walker shares: one ``visit_<Node>`` rule per node type, and a
typed error for a node type without one, never a silent fall-through.

A walker subclasses :class:`Walker`, says what its rules compute in ``rules`` and defines one
``visit_<Node>`` method per class in :data:`~spark_lester.plan.nodes.NODE_TYPES`. The rule is
looked up by the node's exact type: a class outside ``NODE_TYPES``, a subclass of a node
included, has no rule (a subclass may mean something its parent's rule does not handle).

>>> from spark_lester.plan.nodes import Filter, Source
>>> class Reads(Walker):
...     rules = "reads"
...     def visit_Source(self, node):
...         return node.name
>>> src = Source(name="mails", format="csv", path="m.csv", key=None, columns=("a",))
>>> Reads().visit(src)
'mails'
>>> Reads().visit(Filter(child=src, predicate="a > 1", references=("a",)))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spark_lester.errors.NoRuleError: reads: no reads rule for plan node Filter. ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from spark_lester.errors import NoRuleError
from spark_lester.plan import nodes

#: The dispatch table: node type -> the name of its rule in every walker.
RULE_NAMES: dict[type[nodes.PlanNode], str] = {
    kind: f"visit_{kind.__name__}" for kind in nodes.NODE_TYPES
}


class Walker:
    """Base of the plan walkers; ``rules`` names what they compute, in the error."""

    rules: ClassVar[str] = "plan"

    @classmethod
    def has_rule(cls, kind: type[nodes.PlanNode]) -> bool:
        """Whether this walker has a rule for nodes of type ``kind``."""
        name = RULE_NAMES.get(kind)
        return name is not None and callable(getattr(cls, name, None))

    def rule(self, node: nodes.PlanNode) -> Callable[[Any], Any]:
        """The bound ``visit_<Node>`` rule for ``node``; :class:`NoRuleError` without one."""
        if not self.has_rule(type(node)):
            raise NoRuleError(type(node).__name__, walker=self.rules)
        return getattr(self, RULE_NAMES[type(node)])

    def visit(self, node: nodes.PlanNode) -> Any:
        """Apply ``node``'s rule to it."""
        return self.rule(node)(node)
