"""Immutable logical plan nodes, one per operation of the DataFrame subset.

Nodes are frozen dataclasses validated in their constructor: an operation that names a
column its input lacks fails here, before any Spark work. Each node knows its output data
columns (provenance columns are not part of the logical plan). The user API that builds them
lives in :mod:`spark_lester.frame`.

>>> src = Source(name="mails", format="csv", path="/data/mails.csv", key="mail_id",
...              columns=("mail_id", "mail_subject"))
>>> Project(child=src, target="title", sources=("mail_subject",), expression="lower(mail_subject)").columns
('mail_id', 'mail_subject', 'title')
>>> Filter(child=src, predicate="x > 1", references=("x",))
Traceback (most recent call last):
...
spark_lester.errors.ColumnNotFoundError: filter: column 'x' does not exist; available columns: mail_id, mail_subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from spark_lester.errors import ColumnNotFoundError, PlanError, SourceNameError
from spark_lester.plan.columns import is_provenance_column

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
JOIN_KINDS = ("inner", "left")


def _require(columns: tuple[str, ...], wanted: tuple[str, ...], op: str) -> None:
    for name in wanted:
        if name not in columns:
            raise ColumnNotFoundError(name, available=columns, op=op)


def _no_provenance(names: tuple[str, ...], op: str) -> None:
    for name in names:
        if is_provenance_column(name):
            raise PlanError(
                f"'{name}' is a provenance column; provenance is maintained by spark_lester "
                "and cannot be read or written by pipeline code.",
                op=op,
            )


@dataclass(frozen=True)
class PlanNode:
    """Base of all nodes; ``columns`` is filled in by each subclass's constructor."""

    op: ClassVar[str] = "node"
    columns: tuple[str, ...] = field(init=False, default=())

    def children(self) -> tuple[PlanNode, ...]:
        return ()

    def _set_columns(self, columns: tuple[str, ...]) -> None:
        if len(set(columns)) != len(columns):
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            raise PlanError(f"duplicate output columns: {', '.join(dupes)}.", op=self.op)
        object.__setattr__(self, "columns", columns)

    def to_json(self) -> dict:  # type: ignore[type-arg]
        """The plan as JSON-ready dict (see :func:`spark_lester.plan.serialize.to_json`)."""
        from spark_lester.plan.serialize import to_json

        return to_json(self)

    def to_mermaid(self) -> str:
        from spark_lester.plan.serialize import to_mermaid

        return to_mermaid(self)

    def source_nodes(self) -> tuple[Source, ...]:
        """Distinct sources below this node, in first-seen order."""
        seen: dict[str, Source] = {}
        stack: list[PlanNode] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Source):
                seen.setdefault(node.name, node)
            stack.extend(reversed(node.children()))
        return tuple(seen.values())


@dataclass(frozen=True)
class Source(PlanNode):
    """A read of one named input; ``key`` is the declared key column (None: content hash)."""

    op: ClassVar[str] = "source"
    name: str = ""
    format: str = "csv"
    path: str = ""
    key: str | None = None
    source_columns: tuple[str, ...] = ()
    version: int | None = None

    def __init__(self, *, name: str, format: str, path: str, key: str | None,
                 columns: tuple[str, ...], version: int | None = None) -> None:
        if not SOURCE_NAME.match(name):
            raise SourceNameError(
                f"source name {name!r} is not valid; use lower-case letters, digits and "
                "underscores, starting with a letter.",
                source=name,
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "format", format)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "source_columns", tuple(columns))
        object.__setattr__(self, "version", version)
        _no_provenance(tuple(columns), "read")
        if key is not None:
            _require(tuple(columns), (key,), "read")
        self._set_columns(tuple(columns))


@dataclass(frozen=True)
class Filter(PlanNode):
    op: ClassVar[str] = "filter"
    child: PlanNode = None  # type: ignore[assignment]
    predicate: str = ""
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(self.child.columns, self.references, self.op)
        self._set_columns(self.child.columns)

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Project(PlanNode):
    """Extended projection: ``target`` computed from the declared ``sources`` columns."""

    op: ClassVar[str] = "project"
    child: PlanNode = None  # type: ignore[assignment]
    target: str = ""
    sources: tuple[str, ...] = ()
    expression: str = ""
    udf: str | None = None

    def __post_init__(self) -> None:
        _no_provenance((self.target,), self.op)
        if not self.target:
            raise PlanError("target column name is empty.", op=self.op)
        _require(self.child.columns, self.sources, self.op)
        cols = self.child.columns
        self._set_columns(cols if self.target in cols else cols + (self.target,))

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Join(PlanNode):
    """Equi-join on ``left_on[i] == right_on[i]``. Right columns that collide with left
    columns are renamed (``renamed`` maps old to new name); a key with the same name on both
    sides appears once."""

    op: ClassVar[str] = "join"
    left: PlanNode = None  # type: ignore[assignment]
    right: PlanNode = None  # type: ignore[assignment]
    left_on: tuple[str, ...] = ()
    right_on: tuple[str, ...] = ()
    how: str = "inner"
    suffix: str = "_right"
    renamed: tuple[tuple[str, str], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.how not in JOIN_KINDS:
            raise PlanError(f"join kind {self.how!r} is not supported; use one of "
                            f"{', '.join(JOIN_KINDS)}.", op=self.op)
        if not self.left_on or len(self.left_on) != len(self.right_on):
            raise PlanError("join needs the same, non-zero number of left and right keys.",
                            op=self.op)
        _require(self.left.columns, self.left_on, self.op)
        _require(self.right.columns, self.right_on, self.op)
        shared = {s.name for s in self.left.source_nodes()} & {s.name for s in self.right.source_nodes()}
        if shared:
            raise SourceNameError(
                f"join: source '{sorted(shared)[0]}' appears on both sides.",
                source=sorted(shared)[0],
                hint="Read it a second time under another source name for a self-join.",
            )
        merged_keys = {r for l, r in zip(self.left_on, self.right_on, strict=True) if l == r}
        renamed: list[tuple[str, str]] = []
        out = list(self.left.columns)
        for col in self.right.columns:
            if col in merged_keys:
                continue
            new = col
            while new in out:
                new = new + self.suffix
            if new != col:
                renamed.append((col, new))
            out.append(new)
        object.__setattr__(self, "renamed", tuple(renamed))
        self._set_columns(tuple(out))

    def children(self) -> tuple[PlanNode, ...]:
        return (self.left, self.right)

    def right_name(self, column: str) -> str | None:
        """The output name of a right-side column (None for a merged key)."""
        if column in {r for l, r in zip(self.left_on, self.right_on, strict=True) if l == r}:
            return None
        return dict(self.renamed).get(column, column)


@dataclass(frozen=True)
class Union(PlanNode):
    """Bag union (UNION ALL) by column name; both inputs need the same columns."""

    op: ClassVar[str] = "union"
    left: PlanNode = None  # type: ignore[assignment]
    right: PlanNode = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if set(self.left.columns) != set(self.right.columns):
            only_l = sorted(set(self.left.columns) - set(self.right.columns))
            only_r = sorted(set(self.right.columns) - set(self.left.columns))
            raise PlanError(
                f"inputs have different columns (only left: {only_l}; only right: {only_r}).",
                op=self.op,
                hint="select or rename columns so both sides match.",
            )
        self._set_columns(self.left.columns)

    def children(self) -> tuple[PlanNode, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Select(PlanNode):
    op: ClassVar[str] = "select"
    child: PlanNode = None  # type: ignore[assignment]
    selected: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _no_provenance(self.selected, self.op)
        _require(self.child.columns, self.selected, self.op)
        self._set_columns(self.selected)

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Rename(PlanNode):
    op: ClassVar[str] = "rename"
    child: PlanNode = None  # type: ignore[assignment]
    mapping: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        old = tuple(o for o, _ in self.mapping)
        new = tuple(n for _, n in self.mapping)
        _require(self.child.columns, old, self.op)
        _no_provenance(new, self.op)
        lookup = dict(self.mapping)
        self._set_columns(tuple(lookup.get(c, c) for c in self.child.columns))

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Aggregation:
    """One output column of an aggregate: its name, SQL text and the columns it reads."""

    name: str
    expression: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class Aggregate(PlanNode):
    op: ClassVar[str] = "aggregate"
    child: PlanNode = None  # type: ignore[assignment]
    keys: tuple[str, ...] = ()
    aggregations: tuple[Aggregation, ...] = ()

    def __post_init__(self) -> None:
        _require(self.child.columns, self.keys, self.op)
        for agg in self.aggregations:
            _require(self.child.columns, agg.references, self.op)
        _no_provenance(tuple(a.name for a in self.aggregations), self.op)
        self._set_columns(self.keys + tuple(a.name for a in self.aggregations))

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Distinct(PlanNode):
    op: ClassVar[str] = "distinct"
    child: PlanNode = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._set_columns(self.child.columns)

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


@dataclass(frozen=True)
class Split(PlanNode):
    """One side of a deterministic train/test split by provenance ids and seed."""

    op: ClassVar[str] = "split"
    child: PlanNode = None  # type: ignore[assignment]
    side: str = "train"
    test_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.side not in ("train", "test"):
            raise PlanError(f"split side must be 'train' or 'test', not {self.side!r}.", op=self.op)
        if not 0.0 < self.test_fraction < 1.0:
            raise PlanError(f"test_fraction must lie strictly between 0 and 1, got "
                            f"{self.test_fraction}.", op=self.op)
        self._set_columns(self.child.columns)

    def children(self) -> tuple[PlanNode, ...]:
        return (self.child,)


#: Every node type, in the order the docs list them.
NODE_TYPES: tuple[type[PlanNode], ...] = (
    Source, Filter, Project, Join, Union, Select, Rename, Aggregate, Distinct, Split,
)
