"""Operations of the subset: bad input gives typed errors naming the problem."""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import functions as F

from spark_lester import read_csv
from spark_lester.errors import ColumnNotFoundError, NotInSubsetError, PlanError, SourceNameError


@pytest.fixture(scope="module")
def frames(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ops")
    pd.DataFrame({"id": [1, 2, 3], "email": ["a", "b", "c"], "v": [1, 2, 3]}).to_csv(
        folder / "l.csv", index=False)
    pd.DataFrame({"rid": [7, 8, 9], "email": ["a", "a", "z"], "v": [10, 20, 30]}).to_csv(
        folder / "r.csv", index=False)
    left = read_csv("left", str(folder / "l.csv"), key="id", spark=spark)
    right = read_csv("right", str(folder / "r.csv"), key="rid", spark=spark)
    return left, right, folder


def test_with_column_unknown_source_column(frames):
    left, _, _ = frames
    with pytest.raises(ColumnNotFoundError, match="'emial' does not exist.*'email'"):
        left.withColumn("e", F.upper("emial"))


@pytest.mark.parametrize("method, hint", [("project", "withColumn"),
                                          ("aggregate", "groupBy"),
                                          ("rename", "withColumnRenamed")])
def test_the_first_target_api_is_refused_with_pysparks_method(frames, method, hint):
    """spark_lester's own forms left the public API: calling one names PySpark's method."""
    left, _, _ = frames
    with pytest.raises(NotInSubsetError, match=f"'{method}' is not in the tracked") as info:
        getattr(left, method)
    assert hint in info.value.hint


def test_join_unknown_key(frames):
    left, right, _ = frames
    with pytest.raises(ColumnNotFoundError, match="join: column 'mail'"):
        left.join(right, left_on="mail", right_on="email")


def test_join_same_source_twice(frames, spark):
    left, _, folder = frames
    again = read_csv("left", str(folder / "l.csv"), key="id", spark=spark)
    with pytest.raises(SourceNameError, match="source 'left' appears on both sides"):
        left.join(again, "id")


def test_filter_refuses_strings(frames):
    left, _, _ = frames
    with pytest.raises(PlanError, match="filter takes a pyspark Column"):
        left.filter("v > 1")


def test_join_collisions_and_left_join(frames):
    left, right, _ = frames
    joined = left.join(right, "email", how="left")
    assert joined.columns == ["id", "email", "v", "rid", "v_right"]
    rows = {(r["id"], r["rid"]) for r in joined.df.collect()}
    assert rows == {(1, 7), (1, 8), (2, None), (3, None)}
    nulls = joined.df.filter(F.col("rid").isNull()).select("__prov_right").collect()
    assert all(r[0] is None for r in nulls)
    lin = joined.lineage()
    assert {str(s) for s in lin["v_right"].direct} == {"right.v"}
    assert {str(s) for s in lin["v"].indirect} == {"left.email", "right.email"}


def test_union_needs_same_columns(frames):
    """``union`` is positional (the right side takes the left's names); ``unionByName``
    needs the same names; both need as many columns on each side."""
    left, right, _ = frames
    with pytest.raises(PlanError, match="different columns"):
        left.unionByName(right)
    with pytest.raises(PlanError, match="3 and 2 columns"):
        left.union(right.select("rid", "v"))
    both = left.union(right)
    assert both.columns == ["id", "email", "v"]
    assert sorted(r["id"] for r in both.df.collect()) == [1, 2, 3, 7, 8, 9]


def test_provenance_columns_are_protected(frames):
    left, _, _ = frames
    with pytest.raises(PlanError, match="provenance column"):
        left.withColumn("__prov_left", F.col("v"))
    with pytest.raises(PlanError, match="reads provenance column"):
        left.filter(F.col("__prov_left") > 0)


def test_split_is_deterministic_and_partitions_rows(frames):
    left, right, _ = frames
    joined = left.join(right, "email")
    train, test = joined.split(0.5, seed=3)
    a = sorted(r["rid"] for r in train.df.collect())
    b = sorted(r["rid"] for r in test.df.collect())
    assert sorted(a + b) == [7, 8]
    train2, _ = joined.split(0.5, seed=3)
    assert sorted(r["rid"] for r in train2.df.collect()) == a
