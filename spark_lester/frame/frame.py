"""``LesterFrame``: the provenance-carrying PySpark DataFrame subset.

Each operation validates its arguments by building a plan node (see
:mod:`spark_lester.plan.nodes`), then builds the Spark DataFrame that computes it while
carrying the row provenance columns ``__prov_<source>``.

>>> from pyspark.sql import functions as F
>>> mails = read_csv("mails", MAILS_CSV, key="mail_id")          # doctest: +SKIP
>>> recent = mails.filter(F.col("date") >= "2022-01-01")          # doctest: +SKIP
>>> titled = recent.project("title", ["mail_subject"], F.lower("mail_subject"))  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from spark_lester.errors import PlanError
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

    def project(self, target: str, sources: str | Sequence[str],
                expression: Column | Callable[..., Any], *, returns: str = "string",
                vectorized: bool = False) -> LesterFrame:
        """Extended projection: add (or replace) ``target`` computed from ``sources``.

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

    def join(self, other: LesterFrame, on: str | Sequence[str] | None = None, *,
             left_on: str | Sequence[str] | None = None,
             right_on: str | Sequence[str] | None = None, how: str = "inner",
             suffix: str = "_right") -> LesterFrame:
        """Equi-join with ``other`` (``how`` is ``inner`` or ``left``).

        Keys are given as ``on`` (same names on both sides; they appear once in the output)
        or as ``left_on``/``right_on``. Other right columns whose names collide with left
        columns get ``suffix`` appended. Provenance multiplies: the output row carries the
        ids of both input rows (NULL for the right side of an unmatched left-join row).
        """
        if not isinstance(other, LesterFrame):
            raise PlanError(f"can only join a LesterFrame, got {type(other).__name__}.",
                            op="join")
        if on is not None:
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
        """Bag union (UNION ALL) by column name; provenance adds."""
        if not isinstance(other, LesterFrame):
            raise PlanError(f"can only union a LesterFrame, got {type(other).__name__}.",
                            op="union")
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

    def select(self, *columns: str | Sequence[str]) -> LesterFrame:
        """Keep ``columns`` (in that order) and all provenance."""
        flat: list[str] = []
        for c in columns:
            flat.extend(_names(c, "select"))
        node = nodes.Select(child=self.plan, selected=tuple(flat))
        return LesterFrame(self._df.select(*flat, *self.provenance_columns), node)

    def rename(self, mapping: Mapping[str, str]) -> LesterFrame:
        node = nodes.Rename(child=self.plan, mapping=tuple(mapping.items()))
        df = self._df
        for old, new in mapping.items():
            df = df.withColumnRenamed(old, new)
        return LesterFrame(df, node)

    def aggregate(self, keys: str | Sequence[str], aggregations: Mapping[str, Column]
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
