"""The LLM client against the fake server: retries, faults, structured output, accounting."""

from __future__ import annotations

import logging

import pytest

from spark_lester.errors import LLMError
from spark_lester.rewrite.client import LLMClient, LLMSettings, api_key
from spark_lester.rewrite.fake_server import FakeServer, Step

ANSWER = "```python\ndef encoder():\n    return None\n```"
MESSAGES = [{"role": "user", "content": "rewrite this"}]


def client_for(server, sleeps=None, **settings):
    return LLMClient(LLMSettings(model="fake-model", base_url=server.base_url, **settings),
                     key="sk-test-secret", sleep=(sleeps.append if sleeps is not None
                                                  else lambda s: None))


def test_plain_answer_and_token_accounting():
    with FakeServer([Step(content=ANSWER)]) as server:
        client = client_for(server)
        answer = client.complete(MESSAGES)
    assert answer.text == ANSWER and answer.finish_reason == "stop"
    assert client.usage.calls == 2  # a structured attempt refused with 400, then plain
    assert client.usage.prompt_tokens > 0 and client.usage.completion_tokens > 0
    assert "response_format" not in server.chat_requests[-1]["body"]


def test_a_500_naming_response_format_is_a_refusal_not_a_server_fault():
    """llama-cpp-python's server answers ``json_schema`` with HTTP 500 (a validation error
    naming ``response_format``): asked once more without it, not retried."""
    sleeps = []
    with FakeServer([Step(content=ANSWER)], refusal_status=500) as server:
        client = client_for(server, sleeps=sleeps)
        answer = client.complete(MESSAGES)
        again = client.complete(MESSAGES)
    assert answer.text == again.text == ANSWER
    assert client.usage.calls == 3 and client.usage.retries == 0 and sleeps == []
    assert ["response_format" in r["body"] for r in server.chat_requests] == \
        [True, False, False]


def test_structured_output_when_the_endpoint_supports_it():
    with FakeServer([Step(content=ANSWER)], structured=True) as server:
        answer = client_for(server).complete(MESSAGES)
    assert answer.structured == {"code": "def encoder():\n    return None\n", "explanation": ""}
    assert server.chat_requests[0]["body"]["response_format"]["type"] == "json_schema"


def test_structured_off_never_asks_for_it():
    with FakeServer([Step(content=ANSWER)]) as server:
        client_for(server, structured="off").complete(MESSAGES)
    assert len(server.chat_requests) == 1
    assert "response_format" not in server.chat_requests[0]["body"]


def test_429_is_retried_honouring_retry_after():
    sleeps: list[float] = []
    steps = [Step(fault="429", retry_after=7), Step(fault="429", retry_after=3),
             Step(content=ANSWER)]
    with FakeServer(steps, structured=True) as server:
        client = client_for(server, sleeps)
        answer = client.complete(MESSAGES)
    assert answer.structured is not None
    assert sleeps == [7.0, 3.0]
    assert client.usage.retries == 2


def test_500_is_retried_with_backoff_then_gives_up_as_retryable():
    sleeps: list[float] = []
    with FakeServer([Step(fault="500")], structured=True) as server:
        client = client_for(server, sleeps, max_retries=2)
        with pytest.raises(LLMError) as info:
            client.complete(MESSAGES)
    assert info.value.retryable and info.value.status == 500
    assert sleeps == [2.0, 4.0]
    assert len(server.chat_requests) == 3


def test_slow_response_times_out_and_is_retryable():
    steps = [Step(fault="slow", delay=2.0, content=ANSWER)]
    with FakeServer(steps, structured=True) as server:
        client = client_for(server, timeout_s=0.3, max_retries=1)
        with pytest.raises(LLMError) as info:
            client.complete(MESSAGES)
    assert info.value.retryable


def test_truncated_answer_is_flagged():
    with FakeServer([Step(fault="truncated", content=ANSWER)], structured=True) as server:
        answer = client_for(server).complete(MESSAGES)
    assert answer.truncated and answer.structured is None


def test_unreachable_endpoint_is_retryable():
    client = LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1", max_retries=0),
                       key="sk-x", sleep=lambda s: None)
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)
    assert info.value.retryable


def test_models_endpoint():
    with FakeServer([], model="served-model") as server:
        assert client_for(server).models() == ["served-model"]


def test_the_key_is_never_logged_or_shown(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeServer([Step(fault="500")]) as server:
        client = client_for(server, max_retries=0)
        with pytest.raises(LLMError) as info:
            client.complete(MESSAGES)
    assert "sk-test-secret" not in repr(client)
    assert "sk-test-secret" not in str(info.value)
    assert "sk-test-secret" not in caplog.text
    assert all("sk-test-secret" not in str(r) for r in server.requests)
    assert server.chat_requests[0]["auth_present"]


def test_api_key_lookup_order():
    assert api_key({"OPENAI_API_KEY": "a", "SPARK_LESTER_LLM_API_KEY": "b"}) == "a"
    assert api_key({"SPARK_LESTER_LLM_API_KEY": "b"}) == "b"
    assert api_key({}) is None


def test_no_key_for_openai_itself_is_not_retryable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("SPARK_LESTER_LLM_API_KEY", raising=False)
    with pytest.raises(LLMError) as info:
        LLMClient(LLMSettings()).complete(MESSAGES)
    assert not info.value.retryable
