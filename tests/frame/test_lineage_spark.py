"""Column lineage of every PySpark method of the subset, against Spark's analysed plan.

The oracle (tests/frame/spark_lineage.py) reads lineage from the JVM's analysed plan of the
tracked frame's DataFrame and shares no code with ``spark_lester.plan.lineage``. Each method
is checked alone and in generated chains (hypothesis), direct and indirect lineage both."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from spark_lester import track
from tests.frame.spark_lineage import spark_lineage
from tests.frame.test_pyspark_api import MAILS, PEOPLE, STEPS, finish_distinct, \
    finish_groupby, finish_join, finish_union


@pytest.fixture(scope="module")
def frames(spark):
    people = spark.createDataFrame(PEOPLE, "pid INT, name STRING, bank STRING, score DOUBLE")
    mails = spark.createDataFrame(MAILS, "mid INT, owner INT, subject STRING")
    return people, mails


def ours(frame) -> dict[str, tuple[set[str], set[str]]]:
    return {c: ({str(s) for s in lin.direct}, {str(s) for s in lin.indirect})
            for c, lin in frame.lineage().items()}


def assert_same_lineage(frame) -> None:
    mine, spark = ours(frame), spark_lineage(frame.df)
    assert list(mine) == frame.columns
    assert set(mine) == set(spark)
    wrong = {c: {"ours": mine[c], "spark": spark[c]} for c in mine if mine[c] != spark[c]}
    assert not wrong, wrong


METHODS = {
    "withColumn": lambda p, m: p.withColumn("u", F.upper("name")),
    "withColumn_replace": lambda p, m: p.withColumn("score", F.col("score") * 2),
    "withColumn_literal": lambda p, m: p.where(F.col("score") > 1.0)
    .withColumn("one", F.lit(1)),
    "withColumns": lambda p, m: m.withColumns({"n": F.length("subject"),
                                               "o": F.col("owner") + 1}),
    "select_names": lambda p, m: p.select("pid", "bank"),
    "select_alias": lambda p, m: p.select("pid", F.concat("name", "bank").alias("who")),
    "select_list": lambda p, m: p.select(["pid", "score"]),
    "where": lambda p, m: p.where(F.col("bank") == "A"),
    "filter": lambda p, m: p.filter(F.col("score").isNotNull()).select("name"),
    "join_condition": lambda p, m: p.join(m, p["pid"] == m["owner"]),
    "join_left": lambda p, m: p.join(m, p["pid"] == m["owner"], "left"),
    "join_left_outer": lambda p, m: p.join(m, p["pid"] == m["owner"], "left_outer"),
    "join_on_name": lambda p, m: p.join(m.withColumnRenamed("owner", "pid"), "pid"),
    "join_on_names": lambda p, m: p.join(
        m.withColumnRenamed("owner", "pid").withColumn("bank", F.lit("A")), ["pid", "bank"],
        "left"),
    "join_filtered_right": lambda p, m: p.join(m.where(F.col("mid") > 11),
                                               p["pid"] == m["owner"]),
    "groupBy_agg": lambda p, m: p.groupBy("bank").agg(F.sum("score").alias("s"),
                                                      F.max("name").alias("top")),
    "groupBy_count": lambda p, m: p.where(F.col("score") > 1.0).groupBy("bank").count(),
    "groupBy_dict": lambda p, m: p.groupBy("bank").agg({"score": "max"}),
    "groupBy_sum": lambda p, m: p.groupBy("bank", "name").sum("score"),
    "union": lambda p, m: p.select("pid", "name").union(m.select("mid", "subject")),
    "unionByName": lambda p, m: p.select("pid", "name").unionByName(
        p.where(F.col("bank") == "B").select("name", "pid")),
    "distinct": lambda p, m: p.select("bank").distinct(),
    "dropDuplicates": lambda p, m: p.dropDuplicates(),
    "withColumnRenamed": lambda p, m: p.withColumnRenamed("bank", "b"),
    "drop": lambda p, m: p.drop("score"),
    "alias": lambda p, m: p.alias("x").join(m.alias("y"), F.col("x.pid") == F.col("y.owner"))
    .select(F.col("x.name"), F.col("y.subject")),
    "udf": lambda p, m: m.withColumn("tag", F.udf(lambda s: s and s[:2], "string")("subject")),
    "udf_two_args": lambda p, m: p.withColumn(
        "nb", F.udf(lambda a, b: f"{a}{b}", "string")("name", "bank")),
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_method_has_the_lineage_spark_resolves(spark, frames, method):
    people, mails = frames
    assert_same_lineage(track(METHODS[method])(people, mails))


def test_pandas_udf_lineage_comes_from_its_arguments(spark, frames):
    from pyspark.sql.functions import PandasUDFType

    length = F.pandas_udf(lambda s: s.str.len(), "long", PandasUDFType.SCALAR)
    people, mails = frames
    frame = track(lambda people, mails: mails.withColumn("n", length("subject")))(people, mails)
    assert_same_lineage(frame)
    assert ours(frame)["n"][0] == {"mails.subject"}


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(STEPS), max_size=3, unique=True),
       finish=st.sampled_from(["inner", "left", "groupby", "union", "distinct",
                               "groupby_count", "none"]))
def test_generated_chains_have_the_lineage_spark_resolves(spark, frames, steps, finish):
    def prepare(people, mails):
        p, m = people, mails
        for step in sorted(steps, key=STEPS.index):  # a rename after the filters reading it
            p, m = step(p, m)
        if finish in ("inner", "left"):
            return finish_join(p, m, finish)
        if finish == "groupby":
            return finish_groupby(p, m)
        if finish == "groupby_count":
            return m.groupBy("owner").count()
        if finish == "none":
            return p
        return finish_union(p, m) if finish == "union" else finish_distinct(p, m)

    people, mails = frames
    assert_same_lineage(track(prepare)(people, mails))


def test_the_oracle_sees_a_planted_lineage_bug(spark, frames, monkeypatch):
    """Planted bug: filters no longer add their predicate's columns to indirect lineage.
    The comparison with Spark's plan must fail."""
    from spark_lester.plan.lineage import LineageWalker

    monkeypatch.setattr(LineageWalker, "visit_Filter",
                        lambda self, node: dict(self.walk(node.child)))
    people, mails = frames
    with pytest.raises(AssertionError, match="people.score"):
        assert_same_lineage(track(lambda people: people.where(F.col("score") > 1.0)
                                  .select("pid"))(people))
