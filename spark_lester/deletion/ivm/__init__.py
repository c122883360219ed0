"""The IVM (incremental view maintenance) rules: how a deletion or redaction reaches a run's
artifact tables through each plan operator.

``propagate`` holds the rules, one ``visit_<Node>`` per operator in
:class:`~spark_lester.deletion.ivm.propagate.PropagationWalker`: each says whether the
change can be maintained incrementally (and which sources need closure or a whole read) or
needs a recompute. ``change`` applies the verdict: it computes the rows a request deletes,
updates and inserts in each table, without changing anything yet.

Every plan walker has one rule per node type and raises ``NoRuleError`` for a node without
one (:mod:`spark_lester.plan.walker`): lineage (:class:`~spark_lester.plan.lineage.LineageWalker`,
which the propagation rules read to see whether an operator reads a redacted column),
serialisation (:mod:`spark_lester.plan.serialize`: ``MermaidLabels``, ``IdentityColumns``,
``IndirectKinds``) and propagation (here).
"""
