"""PySpark, Glue, SQL, EMR step and dag-factory extractors on small snippets."""

from __future__ import annotations

import ast

from spark_lester.analyze.dagfactory import dagfactory
from spark_lester.analyze.emr_steps import args_findings, emr_steps
from spark_lester.analyze.glue import glue
from spark_lester.analyze.pyspark import pyspark
from spark_lester.analyze.resolve import Resolver
from spark_lester.analyze.sql import sql_tables


def _locs(findings):
    return [(loc.role, loc.uri) for loc in findings.locations]


def _py(src):
    tree = ast.parse(src)
    return pyspark(tree, Resolver(tree))


def test_pyspark_read_write_forms():
    f = _py('''
df = spark.read.format("csv").option("header", True).load("s3a://r/a/")
df2 = spark.read.option("path", "s3://r/b").format("parquet").load()
spark.read.parquet("s3://r/c", "s3://r/d")
df.write.format("delta").mode("append").save("s3://o/e")
df.write.insertInto("db.t")
df.writeTo("db.u").append()
spark.sql("CREATE TABLE db.v USING parquet LOCATION 's3://o/v' AS SELECT * FROM db.w")
''')
    assert _locs(f) == [("input", "s3://r/a"), ("input", "s3://r/b"), ("input", "s3://r/c"), ("input", "s3://r/d"),
                        ("output", "s3://o/e"), ("output", "glue://db.t"), ("input", "glue://db.w"),
                        ("output", "glue://db.v"), ("output", "s3://o/v")]
    assert ("glue://db.v", "s3://o/v") in f.aliases


def test_glue_sink_and_jdbc():
    src = '''
s = glueContext.getSink(connection_type="s3", path="s3://o/x/")
s.setCatalogInfo(catalogDatabase="db", catalogTableName="x")
glueContext.write_dynamic_frame.from_catalog(frame=f, database="db", table_name="y")
glueContext.create_dynamic_frame.from_options(connection_type="mysql",
    connection_options={"url": "jdbc:mysql://h:3306/shop", "dbtable": "orders"})
'''
    tree = ast.parse(src)
    f = glue(tree, Resolver(tree))
    assert _locs(f) == [("output", "s3://o/x"), ("output", "glue://db.x"), ("output", "glue://db.y"),
                        ("input", "jdbc:mysql://h:3306/shop?dbtable=orders")]
    assert f.aliases == [("glue://db.x", "s3://o/x")]


def test_sql_templates_ctes_and_errors():
    t = sql_tables("WITH a AS (SELECT * FROM {{ params.db }}.src) INSERT INTO out.t SELECT * FROM a")
    assert t.reads == ["{{ params.db }}.src"] and t.writes == ["out.t"]
    assert sql_tables("SELEC nonsense ((").error


def test_emr_args_flags_and_positionals():
    f = args_findings("spark-submit --conf spark.eventLog.dir=s3://l/ev s3://c/j.py s3://i/x s3://o/y")
    assert _locs(f) == [("log", "s3://l/ev"), ("code", "s3://c/j.py"), ("input", "s3://i/x"), ("output", "s3://o/y")]
    assert emr_steps({"just": "json"}) is None


def test_dagfactory_group_dependency_and_list_tasks():
    doc = {"default": {"default_args": {"owner": "o", "retries": 2}},
           "d": {"schedule_interval": None, "task_groups": {"g": {}},
                 "tasks": [{"task_id": "a", "operator": "x.EmptyOperator", "task_group_name": "g"},
                           {"task_id": "b", "operator": "x.EmptyOperator", "task_group_name": "g",
                            "dependencies": ["a"]},
                           {"task_id": "c", "operator": "x.EmptyOperator", "dependencies": ["g"]}]}}
    (p,) = dagfactory(doc, "d.yml")
    assert p.retries == 2 and p.default_args_owner == ["o"]
    assert p.edges == [["g.a", "g.b"], ["g.b", "c"]]
