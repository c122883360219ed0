"""Known secrets never leave through a failure, a report or a prompt."""

from __future__ import annotations

import json

from spark_lester.rewrite.redact import known_secrets, redact, redact_tree
from spark_lester.rewrite.report import to_markdown, write_report
from spark_lester.rewrite.validate import Failure

CANARY = "sk-canary-7f3a9b2c4d5e6f70"


def test_secret_named_variables_are_known(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("MY_DB_PASSWORD", "hunter2hunter2")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to be told from a word
    monkeypatch.setenv("PLAIN", "not-a-secret-value")
    known = known_secrets()
    assert CANARY in known and "hunter2hunter2" in known
    assert "abc" not in known and "not-a-secret-value" not in known


def test_failure_text_is_redacted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    failure = Failure("compare", f"row 3 differs: {CANARY}", f"got {CANARY!r}")
    assert CANARY not in failure.feedback() and "[REDACTED]" in failure.feedback()


def test_report_and_markdown_are_redacted(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    payload = {"accepted": False, "rounds": 1, "reason": f"x {CANARY}", "tokens": {},
               "per_round": [{"round": 1, "accepted": False, "failing_stage": "compare",
                              "failure": {"stage": "compare", "message": CANARY,
                                          "details": f"[{CANARY}]"}}]}
    for path in write_report(payload, tmp_path / "rewrite-report"):
        assert CANARY not in path.read_text()
    assert CANARY not in to_markdown(payload)
    assert CANARY not in json.dumps(redact_tree(payload))


def test_prompt_sent_to_the_model_is_redacted(monkeypatch):
    from spark_lester.rewrite.client import LLMClient, LLMSettings

    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    sent = {}

    class Completions:
        def create(self, **kwargs):
            sent.update(kwargs)
            raise RuntimeError("stop here")

    class Chat:
        completions = Completions()

    class Fake:
        chat = Chat()

    client = LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1", structured="off"))
    client._client = Fake()
    try:
        client.complete([{"role": "user", "content": f"the run printed {CANARY}"}])
    except Exception:  # noqa: BLE001 - only what was sent matters here
        pass
    assert sent and CANARY not in json.dumps(sent["messages"])
    assert "[REDACTED]" in sent["messages"][0]["content"]


def test_redaction_can_fail_without_a_known_secret():
    assert redact(f"x {CANARY}", secrets=[]) == f"x {CANARY}"
