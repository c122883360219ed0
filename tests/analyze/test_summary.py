"""Offline summaries, and LLM summaries through a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from spark_lester.analyze.locations import Location
from spark_lester.analyze.pipeline import Pipeline
from spark_lester.analyze.summary import ChatClient, check_locations, describe, llm_summary
from spark_lester.errors import RemoteServiceError, SummaryRejectedError


class _FakeLLM(BaseHTTPRequestHandler):
    replies: list = []
    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        status, content = type(self).replies.pop(0)
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def llm():
    _FakeLLM.replies, _FakeLLM.requests = [], []
    server = HTTPServer(("127.0.0.1", 0), _FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _FakeLLM
    server.shutdown()
    server.server_close()


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


def test_llm_summary_accepted_when_it_names_only_known_locations(llm, pipeline):
    url, fake = llm
    fake.replies.append((200, "Reads s3a://acme-raw/orders/dt=2024-01-01/, drops test rows and "
                              "writes glue://mart.orders."))
    text = llm_summary(pipeline, ChatClient(base_url=url, model="fake", api_key="k"))
    assert "glue://mart.orders" in text
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "fake"
    assert req["auth"] == "Bearer k"
    assert "s3://acme-raw/orders" in req["body"]["messages"][-1]["content"]


def test_llm_summary_rejected_when_it_invents_a_location(llm, pipeline):
    url, fake = llm
    fake.replies.append((200, "Reads s3://acme-raw/orders and copies it to s3://somewhere-else/backup."))
    with pytest.raises(SummaryRejectedError) as err:
        llm_summary(pipeline, ChatClient(base_url=url, model="fake", api_key="k"))
    assert err.value.unknown == ("s3://somewhere-else/backup",)


def test_llm_server_errors_say_whether_to_retry(llm, pipeline):
    url, fake = llm
    fake.replies.append((503, "overloaded"))
    with pytest.raises(RemoteServiceError) as err:
        llm_summary(pipeline, ChatClient(base_url=url, model="fake", api_key="k"))
    assert err.value.retryable


def test_check_locations():
    allowed = ["s3://a/x", "jdbc:postgresql://h:5432/db?dbtable=t"]
    assert check_locations("uses s3://a/x/part-0.parquet and jdbc:postgresql://h:5432/db?dbtable=t", allowed) == []
    assert check_locations("uses s3://b/y", allowed) == ["s3://b/y"]


def test_cli_llm_flag_adds_checked_summaries(llm, tmp_path, monkeypatch):
    import argparse

    from spark_lester.cli import analyze as analyze_cli

    url, fake = llm
    (tmp_path / "a.py").write_text("import pyspark\nspark.read.csv('s3://raw/a').write.parquet('s3://out/a')\n")
    (tmp_path / "b.sql").write_text("INSERT INTO m.b SELECT * FROM r.b")
    fake.replies += [(200, "Reads s3://raw/a and writes s3://out/a."), (200, "Reads glue://r.b and s3://secret/x.")]
    monkeypatch.setenv("SPARK_LESTER_LLM_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    parser = argparse.ArgumentParser()
    analyze_cli.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "c.json"
    args = parser.parse_args(["analyze", str(tmp_path), "--llm", "--no-git", "--out", str(out)])
    assert args.func(args) == 0
    pipelines = {p["file"]: p for p in json.loads(out.read_text())["pipelines"]}
    assert pipelines["a.py"]["llm_summary"] == "Reads s3://raw/a and writes s3://out/a."
    assert pipelines["b.sql"]["llm_summary"] is None
    assert pipelines["b.sql"]["llm_summary_rejected"] == ["s3://secret/x"]
