"""``LesterFrame``: the provenance-carrying PySpark DataFrame subset.

Each operation validates its arguments by building a plan node (see
:mod:`spark_lester.plan.nodes`), then builds the Spark DataFrame that computes it while
carrying the row provenance columns ``__prov_<source>``.

>>> from pyspark.sql import functions as F
>>> mails = read_csv("mails", MAILS_CSV, key="mail_id")          # doctest: +SKIP
>>> recent = mails.filter(F.col("date") >= "2022-01-01")          # doctest: +SKIP
>>> titled = recent.withColumn("title", F.lower("mail_subject"))  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from spark_lester.errors import NotInSubsetError, PlanError, UnsupportedOperationError
from spark_lester.frame import provenance as prov
from spark_lester.frame._private import references
from spark_lester.plan.columns import JOIN_KEY_PREFIX, is_provenance_column
from spark_lester.plan import nodes

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column, DataFrame

    from spark_lester.plan.lineage import ColumnLineage


_observed = threading.local()


@contextmanager
def observe_joins() -> Iterator[list[tuple[LesterFrame, LesterFrame, nodes.Join]]]:
    """Collect ``(left, right, node)`` of every join built in this thread inside the block.

    Deletion uses it to evaluate a left join's two inputs (which left rows match a deleted
    right row), which the plan alone cannot: its nodes hold expressions as text."""
    joins: list[tuple[LesterFrame, LesterFrame, nodes.Join]] = []
    previous = getattr(_observed, "joins", None)
    _observed.joins = joins
    try:
        yield joins
    finally:
        _observed.joins = previous


def _names(value: str | Sequence[str], op: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    out = tuple(value)
    if not all(isinstance(v, str) for v in out):
        raise PlanError("column names must be strings.", op=op)
    return out


class LesterFrame:
    """A Spark DataFrame plus its logical plan; data columns are ``plan.columns``."""

    def __init__(self, df: DataFrame, plan: nodes.PlanNode) -> None:
        self._df = df
        self.plan = plan

    # ---- inspection -------------------------------------------------------------------
    @property
    def df(self) -> DataFrame:
        """The Spark DataFrame: data columns followed by provenance columns."""
        return self._df

    @property
    def columns(self) -> list[str]:
        """The data columns (without provenance)."""
        return list(self.plan.columns)

    @property
    def provenance_columns(self) -> list[str]:
        return prov.provenance_columns(self._df)

    def data(self) -> DataFrame:
        """The data columns only, as plain PySpark would compute them."""
        return self._df.select(*self.columns)

    def to_pandas(self) -> pd.DataFrame:
        return self._df.toPandas()

    def lineage(self) -> dict[str, ColumnLineage]:
        """Column provenance: output column -> source columns (direct and indirect)."""
        from spark_lester.plan.lineage import column_lineage

        return column_lineage(self.plan)

    def __repr__(self) -> str:
        return f"LesterFrame(columns={self.columns}, provenance={self.provenance_columns})"

    # ---- operations ---------------------------------------------------------------------
    def filter(self, condition: Column) -> LesterFrame:
        """Keep rows where ``condition`` (a pyspark Column) is true. Strings are refused:
        nothing is ever evaluated against the caller's frames."""
        from pyspark.sql import Column

        if not isinstance(condition, Column):
            raise PlanError(
                f"filter takes a pyspark Column expression, got {type(condition).__name__}.",
                op="filter", hint="Write e.g. F.col('country').isin('UK', 'DE').",
            )
        refs = self._data_references(condition, "filter")
        node = nodes.Filter(child=self.plan, predicate=_sql(condition), references=refs)
        return LesterFrame(self._df.filter(condition), node)

    def _project(self, target: str, sources: str | Sequence[str],
                expression: Column | Callable[..., Any], *, returns: str = "string",
                vectorized: bool = False) -> LesterFrame:
        """Extended projection: add (or replace) ``target`` computed from ``sources``; the
        implementation of :meth:`withColumn` and of :meth:`select`'s computed columns.

        ``expression`` is a pyspark Column that reads only ``sources``, or a Python function
        called with the values of ``sources`` in order (a UDF returning ``returns``; with
        ``vectorized=True`` it receives and returns pandas Series).
        """
        from pyspark.sql import Column
        from pyspark.sql import functions as F

        srcs = _names(sources, "project")
        nodes.Project(child=self.plan, target=target, sources=srcs, expression="")  # validate
        if isinstance(expression, Column):
            refs = self._data_references(expression, "project")
            undeclared = [r for r in refs if r not in srcs]
            if undeclared:
                raise PlanError(
                    f"expression for '{target}' reads {', '.join(undeclared)} which "
                    f"{'is' if len(undeclared) == 1 else 'are'} not in its declared sources "
                    f"({', '.join(srcs)}).", op="project",
                    hint="Declare every column the expression reads.",
                )
            column, text, udf_name = expression, _sql(expression), None
        elif callable(expression):
            udf_name = getattr(expression, "__name__", type(expression).__name__)
            wrap = F.pandas_udf(expression, returns) if vectorized else F.udf(expression, returns)
            column = wrap(*[F.col(s) for s in srcs])
            text = f"{udf_name}({', '.join(srcs)})"
        else:
            raise PlanError(f"expression must be a Column or a function, got "
                            f"{type(expression).__name__}.", op="project")
        node = nodes.Project(child=self.plan, target=target, sources=srcs, expression=text,
                             udf=udf_name)
        return LesterFrame(self._df.withColumn(target, column), node)

    def join(self, other: LesterFrame, on: str | Sequence[str] | Column | None = None,
             how: str | None = None, *, left_on: str | Sequence[str] | None = None,
             right_on: str | Sequence[str] | None = None, suffix: str = "_right"
             ) -> LesterFrame:
        """Equi-join with ``other``, as PySpark's ``join`` (``how``: ``inner`` or ``left``, with
        PySpark's spellings ``left_outer``/``leftouter``; other kinds are refused).

        Keys are given as ``on``: names on both sides (they appear once in the output), or
        an equality Column (``a["k"] == b["k2"]``, several joined with ``&``); or as
        ``left_on``/``right_on``. Other right columns whose names collide with left columns
        get ``suffix`` appended. Provenance multiplies: the output row carries the ids of
        both input rows (NULL for the right side of an unmatched left-join row).
        """
        from pyspark.sql import Column

        if not isinstance(other, LesterFrame):
            raise PlanError(f"can only join a LesterFrame, got {type(other).__name__}.",
                            op="join")
        how = _join_kind(how)
        if isinstance(on, Column):
            lkeys, rkeys = _equi_keys(self, other, on)
        elif on is not None:
            lkeys = rkeys = _names(on, "join")
        elif left_on is not None and right_on is not None:
            lkeys, rkeys = _names(left_on, "join"), _names(right_on, "join")
        else:
            raise PlanError("give join keys as on=... or left_on=... and right_on=...",
                            op="join")
        node = nodes.Join(left=self.plan, right=other.plan, left_on=lkeys, right_on=rkeys,
                          how=how, suffix=suffix)
        right = other._df
        temp = {r: f"{JOIN_KEY_PREFIX}{i}" for i, r in enumerate(rkeys)}
        for col in other.plan.columns:
            if col in temp:
                right = right.withColumnRenamed(col, temp[col])
            else:
                new = node.right_name(col)
                if new is not None and new != col:
                    right = right.withColumnRenamed(col, new)
        cond = None
        for lk, rk in zip(lkeys, rkeys, strict=True):
            term = self._df[lk] == right[temp[rk]]
            cond = term if cond is None else cond & term
        joined = self._df.join(right, on=cond, how=how)
        keep_right = {temp[r]: r for l, r in zip(lkeys, rkeys, strict=True) if l != r}
        for tmp, original in keep_right.items():
            joined = joined.withColumnRenamed(tmp, node.right_name(original) or original)
        joined = joined.drop(*[t for t in temp.values() if t not in keep_right])
        observers = getattr(_observed, "joins", None)
        if observers is not None:
            observers.append((self, other, node))
        return LesterFrame(self._ordered(joined, node), node)

    def union(self, other: LesterFrame) -> LesterFrame:
        """Bag union (UNION ALL) by position, as PySpark's ``union``: the output has this
        frame's column names, the other side's columns are renamed to them in order;
        provenance adds."""
        if not isinstance(other, LesterFrame):
            raise PlanError(f"can only union a LesterFrame, got {type(other).__name__}.",
                            op="union")
        if len(self.columns) != len(other.columns):
            raise PlanError(f"union: the sides have {len(self.columns)} and "
                            f"{len(other.columns)} columns.", op="union",
                            hint="union matches columns by position: select the same number "
                                 "of columns on both sides (unionByName matches names).")
        if self.columns != other.columns:
            other = other._rename({o: s for o, s in zip(other.columns, self.columns)
                                  if o != s})
        node = nodes.Union(left=self.plan, right=other.plan)
        left, right = self._df, other._df
        names = sorted(set(prov.source_names(left)) | set(prov.source_names(right)))
        arrays = prov.is_merged(left) or prov.is_merged(right)
        if arrays:
            left, right = prov.as_arrays(left, None), prov.as_arrays(right, None)
        left = prov.add_missing(left, names, arrays=arrays)
        right = prov.add_missing(right, names, arrays=arrays)
        out = left.unionByName(right.select(*left.columns))
        return LesterFrame(out, node)

    def select(self, *columns: str | Column | Sequence[str | Column]) -> LesterFrame:
        """Keep ``columns`` (in that order) and all provenance, as PySpark's ``select``:
        names (``"*"`` for all), or Column expressions named by ``alias`` (computed like
        :meth:`withColumn`, each from the input frame)."""
        flat: list[Any] = []
        for c in columns:
            if isinstance(c, (list, tuple)):
                flat.extend(c)
            else:
                flat.append(c)
        if all(isinstance(c, str) for c in flat) and "*" not in flat:
            names = _names(flat, "select")
            node = nodes.Select(child=self.plan, selected=tuple(names))
            return LesterFrame(self._df.select(*names, *self.provenance_columns), node)
        out, names, computed = self, [], {}
        for c in flat:
            if isinstance(c, str):
                names.extend(self.columns if c == "*" else [c])
                continue
            if not _is_column(c):
                raise PlanError(f"select takes column names or Columns, got "
                                f"{type(c).__name__}.", op="select")
            name = self._df.select(c).columns[0]
            refs = self._data_references(c, "select")
            if refs == (name,) and name in self.columns and _is_reference(c):
                names.append(name)
                continue
            computed[name] = (c, refs)
            names.append(name)
        for name, (c, refs) in computed.items():
            clash = [r for r in refs if r in computed and r != name]
            if clash:
                raise PlanError(f"select computes '{clash[0]}' and reads it for '{name}' in "
                                "the same call.", op="select",
                                hint="Compute one of them with withColumn first.")
            out = out._project(name, refs, c)
        return out.select(*names)

    def _rename(self, mapping: Mapping[str, str]) -> LesterFrame:
        """Rename columns, all at once (``{"a": "b", "b": "a"}`` swaps them)."""
        from pyspark.sql import functions as F

        node = nodes.Rename(child=self.plan, mapping=tuple(mapping.items()))
        df = self._df.select(*[F.col(f"`{c}`").alias(mapping.get(c, c))
                               for c in self._df.columns])
        return LesterFrame(df, node)

    def _aggregate(self, keys: str | Sequence[str], aggregations: Mapping[str, Column]
                  ) -> LesterFrame:
        """Group by ``keys`` and compute ``aggregations`` (name -> aggregate Column).

        The output's provenance holds, per source, the aligned ids of every grouped row.
        """
        from pyspark.sql import Column

        key_cols = _names(keys, "aggregate")
        aggs = []
        for name, expr in aggregations.items():
            if not isinstance(expr, Column):
                raise PlanError(f"aggregation '{name}' must be a Column expression.",
                                op="aggregate")
            aggs.append(nodes.Aggregation(name=name, expression=_sql(expr),
                                          references=self._data_references(expr, "aggregate")))
        node = nodes.Aggregate(child=self.plan, keys=key_cols, aggregations=tuple(aggs))
        return LesterFrame(self._merge_rows(
            key_cols, [expr.alias(name) for name, expr in aggregations.items()]), node)

    def distinct(self) -> LesterFrame:
        """Drop duplicate rows (over data columns); provenance of the copies is merged."""
        node = nodes.Distinct(child=self.plan)
        return LesterFrame(self._merge_rows(tuple(self.columns), []), node)

    def split(self, test_fraction: float = 0.2, seed: int = 0
              ) -> tuple[LesterFrame, LesterFrame]:
        """Deterministic train/test split: a row is in test when a hash of its provenance
        ids and ``seed`` falls below ``test_fraction``. It does not depend on partitioning,
        order or other rows, so deleting rows never moves the remaining ones across sides.
        """
        train_node = nodes.Split(child=self.plan, side="train", test_fraction=test_fraction,
                                 seed=seed)
        test_node = nodes.Split(child=self.plan, side="test", test_fraction=test_fraction,
                                seed=seed)
        is_test = test_membership(self.provenance_columns, test_fraction, seed)
        return (LesterFrame(self._df.filter(~is_test), train_node),
                LesterFrame(self._df.filter(is_test), test_node))


    # ---- PySpark's names --------------------------------------------------------------
    # The same operations under PySpark's DataFrame method names and signatures, so a
    # PySpark function runs unchanged on tracked frames. Column lineage comes from the
    # expressions, as Spark's analyzer resolves them: nothing is declared.
    def where(self, condition: Column) -> LesterFrame:
        """PySpark's ``where`` (= :meth:`filter`)."""
        return self.filter(condition)

    def withColumn(self, colName: str, col: Column) -> LesterFrame:  # noqa: N802, N803
        """PySpark's ``withColumn``: add or replace ``colName``; it reads the columns that
        ``col`` references (a Python UDF's are its arguments)."""
        from pyspark.sql import Column

        if not isinstance(colName, str) or not isinstance(col, Column):
            raise PlanError("withColumn takes a column name and a pyspark Column.",
                            op="withColumn", hint="Write e.g. "
                            "df.withColumn('title', F.lower(F.col('mail_subject'))).")
        return self._project(colName, self._data_references(col, "withColumn"), col)

    def withColumns(self, *colsMap: Mapping[str, Column]) -> LesterFrame:  # noqa: N802, N803
        """PySpark's ``withColumns``: every expression reads the input frame."""
        if len(colsMap) != 1 or not isinstance(colsMap[0], Mapping):
            raise PlanError("withColumns takes one dict of name -> Column.", op="withColumns")
        mapping = dict(colsMap[0])
        out = self
        for name, col in mapping.items():
            refs = self._data_references(col, "withColumns") if _is_column(col) else ()
            clash = [r for r in refs if r in mapping and r != name]
            if clash:
                raise PlanError(f"withColumns computes '{clash[0]}' and reads it for "
                                f"'{name}' in the same call.", op="withColumns",
                                hint="Split it into two withColumn calls, in the order meant.")
            out = out.withColumn(name, col)
        return out

    def withColumnRenamed(self, existing: str, new: str) -> LesterFrame:  # noqa: N802
        """PySpark's ``withColumnRenamed`` (a column that does not exist: no change)."""
        if existing not in self.columns or existing == new:
            return self
        return self._rename({existing: new})

    def withColumnsRenamed(self, colsMap: Mapping[str, str]) -> LesterFrame:  # noqa: N802, N803
        """PySpark's ``withColumnsRenamed``."""
        present = {k: v for k, v in colsMap.items() if k in self.columns and k != v}
        return self._rename(present) if present else self

    def drop(self, *cols: str) -> LesterFrame:
        """PySpark's ``drop`` by name (names the frame lacks are ignored, as in PySpark)."""
        names = set(_names(list(cols), "drop"))
        return self.select(*[c for c in self.columns if c not in names])

    def unionByName(self, other: LesterFrame,  # noqa: N802
                    allowMissingColumns: bool = False) -> LesterFrame:  # noqa: N803
        """PySpark's ``unionByName`` (bag union by column name)."""
        if allowMissingColumns:
            raise UnsupportedOperationError(
                "unionByName(allowMissingColumns=True) is not in the subset.",
                op="unionByName", hint="Add the missing columns as F.lit(None).cast(type) "
                "with withColumn on the side that lacks them.")
        if isinstance(other, LesterFrame) and sorted(other.columns) == sorted(self.columns):
            other = other.select(*self.columns)
        elif isinstance(other, LesterFrame):
            left, right = set(self.columns), set(other.columns)
            raise PlanError(f"unionByName: the sides have different columns (only left: "
                            f"{sorted(left - right)}; only right: {sorted(right - left)}).",
                            op="unionByName", hint="Select or rename columns so both sides "
                            "hold the same names.")
        return self.union(other)

    def dropDuplicates(self, subset: Sequence[str] | None = None) -> LesterFrame:  # noqa: N802
        """PySpark's ``dropDuplicates`` over every column (= :meth:`distinct`). With a
        ``subset`` Spark keeps an arbitrary row of each group, which no re-run reproduces:
        refused."""
        if subset is None or set(_names(list(subset), "dropDuplicates")) == set(self.columns):
            return self.distinct()
        raise UnsupportedOperationError(
            "dropDuplicates(subset) keeps an arbitrary row per group, so a deletion could "
            "not be checked against a re-run.", op="dropDuplicates",
            hint="Say which row to keep: groupBy(subset).agg(F.min(...).alias(...)) or "
                 "select the subset and distinct().")

    drop_duplicates = dropDuplicates

    def alias(self, alias: str) -> LesterFrame:
        """PySpark's ``alias``: qualify the columns (``F.col("a.x")``) for later joins."""
        return LesterFrame(self._df.alias(alias), self.plan)

    def groupBy(self, *cols: str | Sequence[str]) -> GroupedFrame:  # noqa: N802
        """PySpark's ``groupBy``: ``.agg(...)``, ``.count()``, ``.sum(...)`` and friends."""
        keys: list[str] = []
        for c in cols:
            keys.extend(_names(c, "groupBy"))
        return GroupedFrame(self, tuple(keys))

    groupby = groupBy

    def __getitem__(self, name: str) -> Column:
        """PySpark's ``df["k"]``: the column, bound to this frame (for join conditions)."""
        from spark_lester.errors import ColumnNotFoundError

        if not isinstance(name, str) or name not in self.columns:
            raise ColumnNotFoundError(str(name), available=self.columns, op="[]")
        return self._df[name]

    def __getattr__(self, name: str) -> Any:
        from pyspark.sql import DataFrame

        if name.startswith("_") or name == "plan":
            raise AttributeError(name)
        if name in self.columns:  # PySpark's df.k
            return self._df[name]
        if hasattr(DataFrame, name) or name in _ACTIONS:
            hint = _ACTIONS.get(name) or (
                "Use the subset's methods: " + ", ".join(SUBSET) + ".")
            raise NotInSubsetError(
                f"'{name}' is not in the tracked PySpark subset (provenance would be "
                "lost).", op=name, hint=hint)
        raise AttributeError(f"'LesterFrame' object has no attribute '{name}'")

    # ---- helpers ------------------------------------------------------------------------
    def _data_references(self, column: Column, op: str) -> tuple[str, ...]:
        refs = references(self._df, column, op=op)
        bad = [r for r in refs if is_provenance_column(r)]
        if bad:
            raise PlanError(f"expression reads provenance column '{bad[0]}'.", op=op)
        return refs

    def _merge_rows(self, keys: Sequence[str], aggs: list[Column]) -> DataFrame:
        pcols = self.provenance_columns
        nested = prov.is_merged(self._df)
        grouped = self._df.groupBy(*keys).agg(*aggs, *prov.merged_provenance(self._df))
        return prov.unpack_merged(grouped, pcols, nested=nested)

    @staticmethod
    def _ordered(df: DataFrame, node: nodes.PlanNode) -> DataFrame:
        rest = [c for c in df.columns if c not in node.columns]
        return df.select(*node.columns, *rest)


def test_membership(provenance_columns: Sequence[str], test_fraction: float, seed: int
                    ) -> Column:
    """Boolean Column: whether a row is on the test side of :meth:`LesterFrame.split`."""
    from pyspark.sql import functions as F

    ids = [F.col(c) for c in sorted(provenance_columns)]
    bucket = F.pmod(F.xxhash64(F.lit(seed), *ids), F.lit(1_000_000))
    return bucket < F.lit(int(round(test_fraction * 1_000_000)))


def row_id(provenance_columns: Sequence[str]) -> Column:
    """The surrogate row id: a hash of the row's provenance (ids, or aligned id arrays)."""
    from pyspark.sql import functions as F

    return F.xxhash64(F.lit("row"), *[F.col(c) for c in sorted(provenance_columns)])


def _sql(column: Column) -> str:
    return str(column._jc.toString())


#: The tracked subset under PySpark's names (what a ``prepare`` function may call).
SUBSET = ("where", "filter", "withColumn", "withColumns", "select", "join", "groupBy().agg",
          "groupBy().count", "union", "unionByName", "distinct", "dropDuplicates",
          "withColumnRenamed", "withColumnsRenamed", "drop", "alias")

_ACTIONS = {name: "prepare() returns the frame; spark-lester runs it and stores the result "
                  "(actions inside a pipeline would run before provenance is complete)."
            for name in ("count", "collect", "show", "toPandas", "take", "head", "first",
                         "write", "foreach", "cache", "persist", "checkpoint")}
_ACTIONS.update({
    "orderBy": "Row order is not a meaning of the artifacts; sort when you read them.",
    "sort": "Row order is not a meaning of the artifacts; sort when you read them.",
    "limit": "A limit keeps arbitrary rows, which no re-run reproduces; filter instead.",
    "sample": "Use split(test_fraction, seed): a deterministic split of the rows.",
    "randomSplit": "Use split(test_fraction, seed): deterministic, and stable under deletion.",
    "crossJoin": "Join on keys (a cross join multiplies every row).",
    "repartition": "Partitioning is not a meaning of the artifacts; leave it to Spark.",
    "coalesce": "Partitioning is not a meaning of the artifacts; leave it to Spark.",
    # spark_lester's first target API, replaced by PySpark's own methods
    "project": "Use withColumn(name, expression): its lineage comes from the expression.",
    "aggregate": "Use groupBy(keys).agg(F.sum('x').alias('s'), ...).",
    "rename": "Use withColumnRenamed(old, new) or withColumnsRenamed({old: new}).",
    "selectExpr": "Use select with F.expr(...) Columns.",
})

_JOIN_KINDS = {"inner": "inner", "left": "left", "leftouter": "left", "left_outer": "left"}


def _join_kind(how: str | None) -> str:
    kind = _JOIN_KINDS.get((how or "inner").lower())
    if kind is None:
        hint = ("Swap the two sides and use how='left'." if "right" in str(how).lower() else
                "Use an inner or left join; an existence test is an inner join on the "
                "distinct keys (select the key, distinct(), join).")
        raise UnsupportedOperationError(f"join how='{how}' is not in the subset (deletion "
                                        "maintains inner and left joins).", op="join",
                                        hint=hint)
    return kind


def _is_column(value: Any) -> bool:
    from pyspark.sql import Column

    return isinstance(value, Column)


def _is_reference(column: Column) -> bool:
    """Whether ``column`` is a bare column reference (no expression, no alias)."""
    name = column._jc.expr().getClass().getSimpleName()
    return name in ("UnresolvedAttribute", "AttributeReference")


def _equi_keys(left: LesterFrame, right: LesterFrame, condition: Column
               ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Key pairs of an equality condition (``a["k"] == b["k2"]``, ``&`` of several)."""
    from spark_lester.frame._private import seq

    def attr_side(expr: Any) -> tuple[str, str]:
        kind = expr.getClass().getSimpleName()
        if kind == "AttributeReference":
            name = expr.name()
            in_left = _owns(left, expr)
            in_right = _owns(right, expr)
            if in_left and not in_right:
                return "left", name
            if in_right and not in_left:
                return "right", name
        elif kind == "UnresolvedAttribute":
            parts = [str(p) for p in seq(expr.nameParts())]
            name = parts[-1]
            if name in left.columns and name not in right.columns:
                return "left", name
            if name in right.columns and name not in left.columns:
                return "right", name
        raise PlanError("a join condition must compare a column of each side "
                        "(left['k'] == right['k2']).", op="join",
                        hint="Use on='k' for keys of the same name, or left_on/right_on.")

    pairs: list[tuple[str, str]] = []

    def walk(expr: Any) -> None:
        kind = expr.getClass().getSimpleName()
        if kind == "And":
            walk(expr.left())
            walk(expr.right())
            return
        if kind != "EqualTo":
            raise PlanError(f"join conditions must be equalities joined with & (got "
                            f"{kind}).", op="join",
                            hint="Filter after the join for other conditions.")
        a, b = attr_side(expr.left()), attr_side(expr.right())
        if a[0] == b[0]:
            raise PlanError("a join equality must compare a column of each side.", op="join")
        pairs.append((a[1], b[1]) if a[0] == "left" else (b[1], a[1]))

    walk(condition._jc.expr())
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def _owns(frame: LesterFrame, attribute: Any) -> bool:
    """Whether a resolved attribute (``frame["k"]``) belongs to ``frame``'s output."""
    from spark_lester.frame._private import seq

    wanted = attribute.exprId().id()
    output = frame._df._jdf.queryExecution().analyzed().output()
    return any(a.exprId().id() == wanted for a in seq(output))


class GroupedFrame:
    """PySpark's ``GroupedData`` over a tracked frame: ``agg``, ``count`` and the named
    aggregates (``sum``, ``avg``/``mean``, ``min``, ``max``)."""

    def __init__(self, frame: LesterFrame, keys: tuple[str, ...]) -> None:
        self._frame, self._keys = frame, keys

    def agg(self, *exprs: Column | Mapping[str, str]) -> LesterFrame:
        """Aggregate Columns, named by ``alias`` or by Spark's default name, or PySpark's
        ``{"column": "function"}`` form."""
        from pyspark.sql import functions as F

        columns: list[Any] = []
        for e in exprs:
            if isinstance(e, Mapping):
                columns.extend(getattr(F, fn)(c).alias(f"{fn}({c})") for c, fn in e.items())
            elif _is_column(e):
                columns.append(e)
            else:
                raise PlanError(f"agg takes aggregate Columns or a dict, got "
                                f"{type(e).__name__}.", op="agg")
        if not columns:
            raise PlanError("agg needs at least one aggregate.", op="agg")
        df = self._frame.data().groupBy(*self._keys).agg(*columns)
        names = df.columns[len(self._keys):]
        return self._frame._aggregate(self._keys, dict(zip(names, columns, strict=True)))

    def count(self) -> LesterFrame:
        from pyspark.sql import functions as F

        return self.agg(F.count(F.lit(1)).alias("count"))

    def _named(self, fn: str, cols: tuple[str, ...]) -> LesterFrame:
        from pyspark.sql import functions as F

        return self.agg(*[getattr(F, fn)(c).alias(f"{'avg' if fn == 'mean' else fn}({c})")
                          for c in cols])

    def sum(self, *cols: str) -> LesterFrame:
        return self._named("sum", cols)

    def avg(self, *cols: str) -> LesterFrame:
        return self._named("avg", cols)

    def mean(self, *cols: str) -> LesterFrame:
        return self._named("mean", cols)

    def min(self, *cols: str) -> LesterFrame:
        return self._named("min", cols)

    def max(self, *cols: str) -> LesterFrame:
        return self._named("max", cols)
