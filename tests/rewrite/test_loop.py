"""The correction loop, scripted through the fake server."""

from __future__ import annotations

import pytest

from spark_lester.rewrite.client import LLMClient, LLMSettings
from spark_lester.rewrite.fake_server import FakeServer, Step
from spark_lester.rewrite.loop import rewrite


def fenced(code: str) -> str:
    return f"Here is the rewrite:\n\n```python\n{code}```\n"


def client_for(server, **settings):
    return LLMClient(LLMSettings(model="fake-model", base_url=server.base_url, **settings),
                     key="sk-test", sleep=lambda s: None)


def test_running_example_error_then_correction_is_accepted_with_provenance(corpus):
    item = corpus["running_example"]
    broken = item.reference.replace("def prepare(customers, mails):",
                                    "def prepare(customers, mails)")
    # The correction annotates its inputs the way real models write PySpark (qwen-0.5b,
    # running_example, round 2); the allow-list refused `from pyspark.sql import DataFrame`.
    annotated = "from pyspark.sql import DataFrame\n" + item.reference.replace(
        "def prepare(customers, mails):",
        "def prepare(customers: DataFrame, mails: DataFrame) -> DataFrame:")
    assert annotated.count("DataFrame") == 4
    steps = [Step(content=fenced(broken)), Step(content=fenced(annotated))]
    with FakeServer(steps) as server:
        result = rewrite(item.task, client_for(server), variants=1)
    assert result.accepted, result.reason
    assert [r.stage for r in result.rounds] == ["parse", None]
    assert result.code == annotated
    feedback = server.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert "stage 'parse'" in feedback and "SyntaxError" in feedback
    first_prompt = server.chat_requests[0]["body"]["messages"][1]["content"]
    assert "`title`" in first_prompt and "mail_subject" in first_prompt
    # The accepted pipeline ran (in the sandbox) with row and column provenance.
    assert "mails.mail_subject" in result.lineage["title"]["direct"]
    assert "customers.country" in result.lineage["title"]["indirect"]
    assert result.usage["total_tokens"] > 0
    assert len(result.input_sets) >= 2  # the sample and at least one generated variant


WRONG_API = """from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder


def encoder():
    return ColumnTransformer([("c", OneHotEncoder(sparse=False), ["country"])])
"""


def test_the_same_error_twice_stops_early(corpus):
    item = corpus["numpy_onehot"]
    with FakeServer([Step(content=fenced(WRONG_API))]) as server:
        result = rewrite(item.task, client_for(server), max_rounds=3, variants=0)
    assert not result.accepted
    assert len(result.rounds) == 2
    assert "same failure repeated" in result.reason
    assert result.rounds[0].stage == "rewrite"
    assert "TypeError" in result.rounds[0].failure.message


def test_no_fence_then_truncated_then_correct(corpus):
    item = corpus["numpy_onehot"]
    steps = [Step(content="I would use a OneHotEncoder."),
             Step(fault="truncated", content=fenced(item.reference)),
             Step(content=fenced(item.reference))]
    with FakeServer(steps) as server:
        result = rewrite(item.task, client_for(server), max_rounds=3, variants=0)
    assert result.accepted
    assert [r.stage for r in result.rounds] == ["extract", "extract", None]


def test_a_cut_off_answer_goes_back_by_its_head(corpus):
    """qwen-0.5b looped until max_tokens; its whole answer went back in round 2's messages
    and overflowed the server's context (HTTP 400, the rewrite ended)."""
    item = corpus["numpy_onehot"]
    runaway = fenced(item.reference).replace("```\n", "") + "# again\n" * 2000
    steps = [Step(fault="truncated", content=runaway), Step(content=fenced(item.reference))]
    with FakeServer(steps) as server:
        result = rewrite(item.task, client_for(server, structured="off"), variants=0)
    assert result.accepted and [r.stage for r in result.rounds] == ["extract", None]
    sent_back = server.chat_requests[1]["body"]["messages"][2]
    assert sent_back["role"] == "assistant"
    assert sent_back["content"].startswith(runaway[:200])
    assert len(sent_back["content"]) < 4200 < len(runaway) // 2
    assert "cut off at the token limit" in sent_back["content"]


def test_faults_are_retried_inside_a_round(corpus):
    item = corpus["numpy_onehot"]
    steps = [Step(fault="429", retry_after=0), Step(fault="500"),
             Step(content=fenced(item.reference))]
    with FakeServer(steps) as server:
        result = rewrite(item.task, client_for(server, structured="off"), variants=0)
    assert result.accepted and len(result.rounds) == 1
    assert result.usage["retries"] == 2


def test_rounds_are_bounded_and_the_reason_names_the_last_stage(corpus):
    item = corpus["numpy_onehot"]
    bad = ["def encoder(:\n", "import os\ndef encoder():\n    return os\n", WRONG_API]
    with FakeServer([Step(content=fenced(b)) for b in bad]) as server:
        result = rewrite(item.task, client_for(server), max_rounds=3, variants=0)
    assert not result.accepted
    assert [r.stage for r in result.rounds] == ["parse", "allowlist", "rewrite"]
    assert "after 3 round(s)" in result.reason and "rewrite" in result.reason


def test_endpoint_failure_ends_the_rewrite(corpus):
    item = corpus["numpy_onehot"]
    with FakeServer([Step(fault="500")]) as server:
        result = rewrite(item.task, client_for(server, max_retries=1), variants=0)
    assert not result.accepted and result.rounds == []
    assert "endpoint failed" in result.reason and "retries exhausted" in result.reason


def test_a_broken_original_is_reported_not_blamed_on_the_model(tmp_path, corpus):
    messy = tmp_path / "messy.py"
    messy.write_text("raise RuntimeError('boom')\n")
    from spark_lester.rewrite.validate import Task

    task = Task(messy, {"train": corpus["numpy_onehot"].task.inputs["train"]}, kind="encoder")
    with FakeServer([Step(content="unused")]) as server:
        result = rewrite(task, client_for(server))
    assert not result.accepted and "original program fails" in result.reason
    assert server.chat_requests == []


def test_max_rounds_must_be_positive(corpus):
    from spark_lester.errors import RewriteError

    with pytest.raises(RewriteError):
        rewrite(corpus["numpy_onehot"].task, LLMClient(LLMSettings()), max_rounds=0)


def test_model_wrong_activation_then_correct_is_accepted_in_two_rounds(corpus):
    item = corpus["torch_tanh_mlp"]
    wrong = item.reference.replace("torch.nn.Tanh()", "torch.nn.ReLU()")
    steps = [Step(content=fenced(wrong)), Step(content=fenced(item.reference))]
    with FakeServer(steps) as server:
        result = rewrite(item.task, client_for(server), max_rounds=3)
    assert result.accepted, result.reason
    assert [r.stage for r in result.rounds] == ["compare", None]
    assert result.code == item.reference
    first_prompt = server.chat_requests[0]["body"]["messages"][1]["content"]
    assert "def model(n_features)" in first_prompt
    assert "[[16, 5], [16], [1, 16], [1]]" in first_prompt  # the original's shapes
    assert "probabilities" in first_prompt and "(24, 5)" in first_prompt
    feedback = server.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert "stage 'compare'" in feedback and "output row(s) differ" in feedback
    # model tasks get variants too: rows at and around the program's constants, extremes
    assert result.input_sets[0] == "sample" and len(result.input_sets) >= 2


def test_a_model_task_needs_a_feature_matrix(corpus):
    from spark_lester.errors import RewriteError
    from spark_lester.rewrite.validate import Task

    item = corpus["torch_tanh_mlp"]
    with pytest.raises(RewriteError, match="--input X=features.npy"):
        Task(item.task.messy, {"train": corpus["numpy_onehot"].task.inputs["train"]},
             kind="model")
