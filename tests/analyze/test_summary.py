"""Offline summaries, and LLM summaries through a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import json

import pytest

from spark_lester.analyze.locations import Location
from spark_lester.analyze.pipeline import Pipeline
from spark_lester.analyze.summary import check_locations, client_from_env, describe, llm_summary
from spark_lester.errors import LLMError, SummaryRejectedError
from spark_lester.rewrite.fake_server import FakeServer, Step


def _client(server):
    return client_from_env(base_url=server.base_url, model="fake", max_retries=0)


@pytest.fixture()
def pipeline():
    return Pipeline("jobs/clean.py", "pyspark",
                    locations=[Location("input", "s3://acme-raw/orders", "s3a://acme-raw/orders/"),
                               Location("output", "glue://mart.orders", "mart.orders")],
                    operations=[{"op": "read"}, {"op": "filter"}, {"op": "write"}])


def test_offline_summary_names_operations_and_locations(pipeline):
    text = describe(pipeline)
    assert "filters rows" in text and "s3://acme-raw/orders" in text and "glue://mart.orders" in text


def test_offline_summary_of_a_pipeline_without_io():
    assert "no data input or output" in describe(Pipeline("x.py", "python"))


def test_llm_summary_accepted_when_it_names_only_known_locations(pipeline, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with FakeServer([Step(content="Reads s3a://acme-raw/orders/dt=2024-01-01/, drops test rows and "
                                  "writes glue://mart.orders.")]) as server:
        text = llm_summary(pipeline, _client(server))
    assert "glue://mart.orders" in text
    (req,) = server.chat_requests  # one plain request: no structured-output attempt
    assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "fake"
    assert req["auth_present"] and "response_format" not in req["body"]
    assert "s3://acme-raw/orders" in req["body"]["messages"][-1]["content"]


def test_llm_summary_rejected_when_it_invents_a_location(pipeline):
    with FakeServer([Step(content="Reads s3://acme-raw/orders and copies it to s3://somewhere-else/backup.")]) as server:
        with pytest.raises(SummaryRejectedError) as err:
            llm_summary(pipeline, _client(server))
    assert err.value.unknown == ("s3://somewhere-else/backup",)


def test_llm_server_errors_say_whether_to_retry(pipeline):
    with FakeServer([Step(fault="500")]) as server:
        with pytest.raises(LLMError) as err:
            llm_summary(pipeline, _client(server))
    assert err.value.retryable


def test_the_hand_written_http_client_is_gone():
    import spark_lester.analyze.summary as summary

    source = open(summary.__file__, encoding="utf-8").read()
    assert "urllib" not in source and not hasattr(summary, "ChatClient")


def test_check_locations():
    allowed = ["s3://a/x", "jdbc:postgresql://h:5432/db?dbtable=t"]
    assert check_locations("uses s3://a/x/part-0.parquet and jdbc:postgresql://h:5432/db?dbtable=t", allowed) == []
    assert check_locations("uses s3://b/y", allowed) == ["s3://b/y"]


def test_cli_llm_flag_adds_checked_summaries(tmp_path, monkeypatch):
    import argparse

    from spark_lester.cli import analyze as analyze_cli

    (tmp_path / "a.py").write_text("import pyspark\nspark.read.csv('s3://raw/a').write.parquet('s3://out/a')\n")
    (tmp_path / "b.sql").write_text("INSERT INTO m.b SELECT * FROM r.b")
    steps = [Step(content="Reads s3://raw/a and writes s3://out/a."), Step(content="Reads glue://r.b and s3://secret/x.")]
    with FakeServer(steps) as server:
        monkeypatch.setenv("SPARK_LESTER_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        parser = argparse.ArgumentParser()
        analyze_cli.register(parser.add_subparsers(dest="command"))
        out = tmp_path / "c.json"
        args = parser.parse_args(["analyze", str(tmp_path), "--llm", "--no-git", "--out", str(out)])
        assert args.func(args) == 0
    catalog = json.loads(out.read_text())
    pipelines = {p["file"]: p for p in catalog["pipelines"]}
    assert pipelines["a.py"]["llm_summary"] == "Reads s3://raw/a and writes s3://out/a."
    assert pipelines["b.sql"]["llm_summary"] is None
    assert pipelines["b.sql"]["llm_summary_rejected"] == ["s3://secret/x"]
    assert catalog["llm_assist"] == []  # nothing unresolved: no question asked
