"""PySpark's own method names on tracked frames (issue 22).

Differential: the same plain PySpark function runs on plain DataFrames and, through
``track``, on tracked frames; the data rows must be the same multiset (provenance is
checked by tests/frame/test_provenance.py, whose shapes include these forms). A method
outside the subset is a typed error naming it, raised before anything runs."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from spark_lester import track
from spark_lester.errors import PlanError, UnsupportedOperationError
from spark_lester.frame.frame import LesterFrame

PEOPLE = [(1, "ann", "A", 3.0), (2, "bob", "B", None), (3, "cy", "A", 1.5),
          (4, None, "C", 2.0), (5, "ed", "B", 4.5)]
MAILS = [(10, 1, "Hello there"), (11, 1, "card 4111 1111 1111 1111"), (12, 2, "hi"),
         (13, 9, "orphan"), (14, 3, None), (15, 5, "Hello there")]


@pytest.fixture(scope="module")
def frames(spark):
    people = spark.createDataFrame(PEOPLE, "pid INT, name STRING, bank STRING, score DOUBLE")
    mails = spark.createDataFrame(MAILS, "mid INT, owner INT, subject STRING")
    return people, mails


def _rows(df, columns):
    return Counter(tuple(r[c] for c in columns) for r in df.collect())


def _same(plain, tracked):
    assert isinstance(tracked, LesterFrame)
    assert list(plain.columns) == tracked.columns
    assert _rows(plain, plain.columns) == _rows(tracked.df, tracked.columns)


# ---- steps a generated pipeline is composed of (each valid on the frames it gets) ------
def where_score(p, m):
    return p.where(F.col("score") > 2.0), m


def filter_bank(p, m):
    return p.filter(F.coalesce(F.col("bank"), F.lit("")) != "C"), m


def with_upper(p, m):
    return p.withColumn("uname", F.upper(F.col("name"))), m


def with_columns(p, m):
    return p, m.withColumns({"len": F.length("subject"), "hello": F.col("subject").contains("H")})


def renamed(p, m):
    return p.withColumnRenamed("bank", "institution").withColumnRenamed("absent", "x"), m


def dropped(p, m):
    return p.drop("score", "absent"), m


def udf_step(p, m):
    tag = F.udf(lambda s: None if s is None else s[:2] + "#", "string")
    return p, m.withColumn("tag", tag(F.col("subject")))


STEPS = [where_score, filter_bank, with_upper, with_columns, renamed, dropped, udf_step]


def finish_join(p, m, how):
    return p.join(m, p["pid"] == m["owner"], how)


def finish_groupby(p, m):
    return p.join(m, p["pid"] == m["owner"]).groupBy(p.columns[1]) \
        .agg(F.count(F.lit(1)).alias("n"), F.max("subject").alias("last"))


def finish_union(p, m):
    one = m.select("mid", F.lower("subject").alias("s"))
    two = m.where(F.col("mid") > 12).select("mid", F.col("subject").alias("s"))
    return one.unionByName(two)


def finish_distinct(p, m):
    return m.select("owner").dropDuplicates().join(p, F.col("owner") == F.col("pid"), "left")


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(STEPS), max_size=3, unique=True),
       finish=st.sampled_from(["inner", "left", "left_outer", "groupby", "union", "distinct",
                               "groupby_count"]))
def test_a_plain_pyspark_function_gives_the_same_rows_tracked(spark, frames, steps, finish):
    def prepare(people, mails):
        p, m = people, mails
        for step in steps:
            p, m = step(p, m)
        if finish in ("inner", "left", "left_outer"):
            return finish_join(p, m, finish)
        if finish == "groupby":
            return finish_groupby(p, m)
        if finish == "groupby_count":
            return m.groupBy("owner").count()
        return finish_union(p, m) if finish == "union" else finish_distinct(p, m)

    people, mails = frames
    _same(prepare(people, mails), track(prepare)(people, mails))


def test_lineage_comes_from_the_expressions(spark, frames):
    people, mails = frames

    def prepare(people, mails):
        j = people.join(mails, people["pid"] == mails["owner"], "left")
        return j.withColumn("title", F.lower("subject")) \
            .select("pid", F.concat("name", "bank").alias("who"), "title")

    lineage = track(prepare)(people, mails).lineage()
    direct = {c: {str(s) for s in lineage[c].direct} for c in ("title", "who", "pid")}
    assert direct == {"title": {"mails.subject"}, "who": {"people.name", "people.bank"},
                      "pid": {"people.pid"}}
    # the join keys decide which rows meet: indirect lineage of every column
    assert {"people.pid", "mails.owner"} <= {str(s) for s in lineage["title"].indirect}


def test_union_matches_columns_by_position(spark, frames):
    """PySpark's ``union`` is positional: the right side's columns take the left's names,
    a swap included; ``unionByName`` reorders them by name."""
    people, mails = frames
    for prepare in (lambda people, mails: people.select("pid", "name")
                    .union(mails.select("mid", "subject")),
                    lambda people, mails: people.select("pid", "bank", "name")
                    .union(people.select("pid", "name", "bank")),
                    lambda people, mails: people.select("pid", "bank", "name")
                    .unionByName(people.select("pid", "name", "bank"))):
        _same(prepare(people, mails), track(prepare)(people, mails))


def test_group_by_forms(spark, frames):
    people, _ = frames
    for form in (lambda g: g.count(), lambda g: g.sum("score"), lambda g: g.avg("score"),
                 lambda g: g.min("score"), lambda g: g.max("score"),
                 lambda g: g.agg({"score": "max"})):
        _same(form(people.groupBy("bank")), form(track(lambda people: people)(people)
                                                 .groupBy("bank")))


@pytest.mark.parametrize("call, kind, named", [
    (lambda p, m: p.orderBy("pid"), UnsupportedOperationError, "orderBy"),
    (lambda p, m: p.count(), UnsupportedOperationError, "count"),
    (lambda p, m: p.limit(3), UnsupportedOperationError, "limit"),
    (lambda p, m: p.toPandas(), UnsupportedOperationError, "toPandas"),
    (lambda p, m: p.join(m, p["pid"] == m["owner"], "left_anti"), UnsupportedOperationError,
     "left_anti"),
    (lambda p, m: p.join(m, p["pid"] == m["owner"], "right"), UnsupportedOperationError,
     "right"),
    (lambda p, m: p.join(m, p["pid"] > m["owner"]), PlanError, "equalities"),
    (lambda p, m: p.dropDuplicates(["bank"]), UnsupportedOperationError, "dropDuplicates"),
    (lambda p, m: p.unionByName(p.drop("score"), allowMissingColumns=True),
     UnsupportedOperationError, "allowMissingColumns"),
    (lambda p, m: p.union(p.select("name", "pid")), PlanError, "position"),
    (lambda p, m: p.select("pid", "name").unionByName(m.select("mid", "subject")),
     PlanError, "different columns"),
    (lambda p, m: p.withColumns({"score": F.col("score") + 1, "b": F.col("score")}),
     PlanError, "same call"),
    (lambda p, m: p.withColumns({"a": F.col("score") + 1, "b": F.col("a")}), PlanError,
     "'a' does not exist"),
    (lambda p, m: p.withColumn("x", "score"), PlanError, "Column"),
])
def test_outside_the_subset_is_a_typed_error_naming_it(spark, frames, call, kind, named):
    people, mails = frames
    with pytest.raises(kind) as err:
        track(call)(people, mails)
    assert named in str(err.value)


def test_hasattr_answers_false_outside_the_subset(spark, frames):
    people, _ = frames
    tracked = track(lambda people: people)(people)
    assert not hasattr(tracked, "orderBy") and hasattr(tracked, "withColumn")
    assert hasattr(tracked, "bank")  # df.bank, as in PySpark


def test_a_step_that_leaves_the_subset_is_refused(spark, frames):
    """A function that reaches the plain DataFrame (``.df``) returns no tracked frame."""
    people, _ = frames
    with pytest.raises(PlanError, match="not a tracked frame"):
        track(lambda people: people.df.select("pid"))(people)
