"""Column lineage of the running example, cross-checked against Spark's analyzed plan."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from spark_lester.errors import LineageMismatchError
from spark_lester.plan import nodes
from spark_lester.plan.serialize import to_json, to_mermaid, to_openlineage
from spark_lester.plan.spark_check import cross_check, spark_lineage


def _direct(frame):
    return {c: sorted(map(str, lin.direct)) for c, lin in frame.lineage().items()}


def test_running_example_lineage(running_example):
    _, frame = running_example
    direct = _direct(frame)
    assert direct["title"] == ["mails.mail_subject"]
    assert direct["text"] == ["mails.mail_text"]
    assert direct["country"] == ["customers.country"]
    assert direct["sentiment"] == ["mails.mail_text"]
    assert direct["label"] == ["customers.level", "mails.mail_text"]
    assert direct["title_length"] == ["mails.mail_subject"]
    indirect = sorted(map(str, frame.lineage()["label"].indirect))
    assert indirect == ["customers.country", "customers.email", "mails.date", "mails.email"]


def test_running_example_matches_spark_analyzed_plan(running_example):
    _, frame = running_example
    checked = cross_check(frame.plan, frame.df)
    assert checked == _direct(frame)
    theirs = spark_lineage(frame.df, ["customers", "mails"])
    assert sorted(map(str, theirs["label"])) == ["customers.level", "mails.mail_text"]


def test_cross_check_can_fail(running_example):
    """A plan whose declared lineage is wrong is caught by the cross-check."""
    _, frame = running_example
    wrong = nodes.Project(child=frame.plan, target="title", sources=("bank",),
                          expression="lower(mail_subject)")
    with pytest.raises(LineageMismatchError, match="column 'title'"):
        cross_check(wrong, frame.df)


def test_cross_check_on_merging_shapes(running_example):
    _, frame = running_example
    train, test = frame.split(0.25, seed=1)
    agg = train.union(test).groupBy("country").agg(F.avg("title_length").alias("avg_len"))
    assert cross_check(agg.plan, agg.df) == {"country": ["customers.country"],
                                             "avg_len": ["mails.mail_subject"]}
    dist = frame.select("bank", "label").distinct()
    assert cross_check(dist.plan, dist.df)["label"] == ["customers.level", "mails.mail_text"]


def test_plan_json_round_trips_and_names_every_op(running_example):
    _, frame = running_example
    doc = json.loads(json.dumps(to_json(frame.plan)))
    ops = [n["op"] for n in doc["nodes"]]
    assert ops.count("source") == 2 and ops.count("filter") == 2 and "join" in ops
    assert doc["nodes"][doc["output"]]["op"] == "select"
    assert doc["lineage"]["title"]["direct"] == ["mails.mail_subject"]
    sources = [n for n in doc["nodes"] if n["op"] == "source"]
    assert {s["name"]: s["key"] for s in sources} == {"mails": "mail_id",
                                                      "customers": "customer_id"}


def test_mermaid_has_one_node_per_op(running_example):
    _, frame = running_example
    text = to_mermaid(frame.plan)
    assert text.startswith("graph TD")
    assert text.count("-->") == 10 and "inner join<br/>email=email" in text


def test_openlineage_column_lineage_facet(running_example):
    _, frame = running_example
    ds = to_openlineage(frame.plan, output_name="prepared")
    facet = ds["facets"]["columnLineage"]
    assert facet["_schemaURL"].endswith("ColumnLineageDatasetFacet")
    title = facet["fields"]["title"]["inputFields"]
    direct = [f for f in title if f["transformations"][0]["type"] == "DIRECT"]
    assert [(f["field"], f["transformations"][0]["subtype"]) for f in direct] == [
        ("mail_subject", "TRANSFORMATION")]
    country = facet["fields"]["country"]["inputFields"]
    kinds = {(f["field"], t["type"], t["subtype"]) for f in country for t in f["transformations"]}
    assert ("country", "DIRECT", "IDENTITY") in kinds
    assert ("email", "INDIRECT", "JOIN") in kinds and ("date", "INDIRECT", "FILTER") in kinds
    for fields in facet["fields"].values():
        for f in fields["inputFields"]:
            assert set(f) == {"namespace", "name", "field", "transformations"}
