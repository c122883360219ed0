"""LLM assist for unresolved locations, against the fake OpenAI-compatible server on loopback.

An answer is accepted only when it keeps the static literal parts and cites a snippet that
occurs verbatim in the repository and contains the answer's bucket or host.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lester.analyze.assist import assist, consistent, unresolved
from spark_lester.analyze.openlineage import job_events
from spark_lester.analyze.summary import client_from_env
from spark_lester.rewrite.fake_server import FakeServer, Step

JOB = """import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
orders = spark.read.parquet(sys.argv[1])
orders.dropDuplicates(["id"]).write.parquet(sys.argv[2])
"""
DAG = """from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator

STEPS = [{"Name": "clean", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
    "spark-submit", "s3://acme-code/jobs/clean.py", "s3://acme-raw/orders", "s3://acme-curated/orders"]}}]
"""
DAG_LINE = '"spark-submit", "s3://acme-code/jobs/clean.py", "s3://acme-raw/orders", "s3://acme-curated/orders"]}}]'


@pytest.fixture()
def repo(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "dags").mkdir()
    (tmp_path / "jobs" / "clean.py").write_text(JOB)
    (tmp_path / "dags" / "clean_dag.py").write_text(DAG)
    catalog = {"root": str(tmp_path), "datasets": [], "lineage": [], "problems": [], "pipelines": [
        {"file": "jobs/clean.py", "dag_id": None, "kind": "pyspark", "owners": [], "locations": [
            {"role": "input", "uri": "{sys.argv[1]}", "raw": "{sys.argv[1]}", "line": 5},
            {"role": "output", "uri": "{sys.argv[2]}", "raw": "{sys.argv[2]}", "line": 6}]},
        {"file": "dags/clean_dag.py", "dag_id": "clean", "kind": "airflow_dag", "owners": [], "locations": [
            {"role": "code", "uri": "s3://acme-code/jobs/clean.py", "raw": "s3://acme-code/jobs/clean.py", "line": 4}]}]}
    return catalog


def _answer(uri, evidence=DAG_LINE, file="dags/clean_dag.py"):
    return Step(content="Here it is:\n" + json.dumps({"uri": uri, "evidence_file": file, "evidence": evidence}))


def _client(server):
    return client_from_env(base_url=server.base_url, model="fake", max_retries=0)


def test_answers_backed_by_the_repository_are_accepted_and_marked(repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with FakeServer([_answer("s3a://acme-raw/orders/"), _answer("s3://acme-curated/orders")]) as server:
        records = assist(repo, _client(server))
    assert [r["accepted"] for r in records] == [True, True]
    loc_in, loc_out = repo["pipelines"][0]["locations"]
    assert loc_in["uri"] == "s3://acme-raw/orders" and loc_in["source"] == "llm"
    assert loc_in["static_uri"] == "{sys.argv[1]}" and loc_in["evidence"]["file"] == "dags/clean_dag.py"
    assert loc_out["uri"] == "s3://acme-curated/orders"
    assert len(server.chat_requests) == 2  # only the unresolved reads/writes are asked about
    prompt = server.chat_requests[0]["body"]["messages"][-1]["content"]
    assert "spark.read.parquet(sys.argv[1])" in prompt and "response_format" not in server.chat_requests[0]["body"]
    # The resolved locations now have spec names in the OpenLineage events.
    (event, _) = job_events(repo, event_time="2024-01-01T00:00:00Z")
    assert event["inputs"] == [{"namespace": "s3://acme-raw", "name": "orders"}]


@pytest.mark.parametrize(("step", "reason"), [
    (_answer("s3://acme-raw-prod/orders", evidence='"s3://acme-raw-prod/orders"'), "verbatim"),
    (_answer("s3://acme-raw/orders", evidence="spark-submit"), "does not contain"),
    (_answer("s3://acme-raw/orders", evidence=""), "no evidence"),
    (_answer("{{ var.value.bucket }}/orders"), "not a storage location"),
    (_answer("s3://{{ var.value.bucket }}/orders"), "still unresolved"),
    (Step(content='{"uri": null}'), "does not show it"),
    (Step(content="I think it is s3://acme-raw/orders"), "not JSON"),
    (Step(fault="500"), "endpoint failed"),
])
def test_answers_that_contradict_or_lack_evidence_are_rejected(repo, monkeypatch, step, reason):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    before = copy.deepcopy(repo)
    with FakeServer([step]) as server:
        records = assist(repo, _client(server))
    assert [r["accepted"] for r in records] == [False, False]
    assert all(reason in r["reason"] for r in records), records
    for old, new in zip(before["pipelines"][0]["locations"], repo["pipelines"][0]["locations"], strict=True):
        assert new["uri"] == old["uri"] and "source" not in new and reason in new["llm_rejected"]


def test_an_answer_must_keep_the_static_literal_parts(repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    repo["pipelines"][0]["locations"] = [
        {"role": "input", "uri": "s3://{{ params.bucket }}/curated/orders", "raw": "x", "line": 5}]
    with FakeServer([_answer("s3://acme-raw/orders")]) as server:
        (record,) = assist(repo, _client(server))
    assert not record["accepted"] and "literal parts" in record["reason"]


_LIT = st.from_regex(r"[a-z][a-z0-9\-]{2,10}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.tuples(st.booleans(), _LIT), min_size=2, max_size=5), fill=st.lists(_LIT, min_size=5, max_size=5),
       mutate=st.integers(0, 4))
def test_consistency_on_generated_templates(parts, fill, mutate):
    """Filling the placeholders of a template is consistent; changing a literal part is not."""
    parts[0] = (False, parts[0][1])  # the bucket: a placeholder
    ph = ["{{ params.bucket }}", "{env}", "{sys.argv[1]}", "{{ ds }}", "{x}"]
    static = "s3://" + "/".join(ph[i] if not is_lit else lit for i, (is_lit, lit) in enumerate(parts))
    answer_parts = [lit if is_lit else fill[i] for i, (is_lit, lit) in enumerate(parts)]
    answer = "s3://" + "/".join(answer_parts)
    assert unresolved(static)
    assert consistent(static, answer) is None
    literal = [i for i, (is_lit, _) in enumerate(parts) if is_lit]
    if literal:
        i = literal[mutate % len(literal)]
        changed = list(answer_parts)
        changed[i] = changed[i] + "-other"
        # A placeholder right after it may absorb a suffix; a mutated last literal cannot be absorbed.
        if i == len(parts) - 1 or all(is_lit for is_lit, _ in parts[i + 1:]):
            assert consistent(static, "s3://" + "/".join(changed)) is not None
