"""``spark-lester rewrite`` and ``spark-lester bench rewrite`` against the fake server."""

from __future__ import annotations

import json

from spark_lester.cli import bench as bench_cli
from spark_lester.cli import rewrite as rewrite_cli
from spark_lester.rewrite.fake_server import FakeServer, Step

from .conftest import run_cli


def argv(item, server, out, report, *extra):
    inputs = [f"--input={n}={p}" for n, p in item.task.inputs.items()]
    return ["rewrite", str(item.task.messy), *inputs, "--kind", item.task.kind,
            "--out", str(out), "--report", str(report), "--base-url", server.base_url,
            "--model", "fake-model", "--variants", "0", *extra]


def test_accepted_rewrite_is_written_with_a_report(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-secret")
    item = corpus["numpy_scaling"]
    out, report = tmp_path / "pipeline.py", tmp_path / "report.json"
    with FakeServer([Step(content="```python\nnot python(\n```"),
                     Step(content=f"```python\n{item.reference}```")]) as server:
        code = run_cli(rewrite_cli, argv(item, server, out, report))
    assert code == 0
    assert out.read_text() == item.reference
    payload = json.loads(report.read_text())
    assert payload["accepted"] is True and payload["rounds"] == 2
    assert payload["reason"] == "accepted in round 2"
    assert payload["tokens"]["total_tokens"] > 0
    assert [r["failing_stage"] for r in payload["per_round"]] == ["parse", None]
    assert "sk-cli-secret" not in report.read_text()
    assert (tmp_path / "report.md").read_text().startswith("# Rewrite report: accepted")


def test_rejected_rewrite_writes_nothing_and_exits_1(corpus, tmp_path):
    item = corpus["numpy_scaling"]
    out, report = tmp_path / "pipeline.py", tmp_path / "report.json"
    wrong = item.reference.replace('["age", "income"]', '["age", "tenure"]')
    with FakeServer([Step(content=f"```python\n{wrong}```")]) as server:
        code = run_cli(rewrite_cli, argv(item, server, out, report, "--max-rounds", "2"))
    assert code == 1
    assert not out.exists()
    payload = json.loads(report.read_text())
    assert payload["accepted"] is False and payload["rounds"] == 2
    assert payload["per_round"][0]["failing_stage"] == "compare"
    assert "same failure repeated" in payload["reason"]
    assert "encodes 'tenure'" in payload["per_round"][0]["failure"]["details"]


def test_bench_rewrite_writes_per_task_results(corpus, tmp_path):
    item = corpus["minmax_passthrough"]
    out = tmp_path / "bench.json"
    with FakeServer([Step(content=f"```python\n{item.reference}```")]) as server:
        code = run_cli(bench_cli, ["bench", "rewrite", "--base-url", server.base_url,
                                   "--model", "fake-model", "--task", item.name,
                                   "--variants", "0", "--out", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["pass_at_1"] == 1.0
    (row,) = results["tasks"]
    assert row["task"] == item.name and row["rounds"] == 1 and row["tokens"]["total_tokens"] > 0
    assert results["target_api"] == "pyspark"
    assert not (tmp_path / "bench.partial.jsonl").exists()  # kept only while the run goes on


def test_bench_rewrite_keeps_what_each_failed_round_failed_on(corpus, tmp_path):
    item = corpus["minmax_passthrough"]
    out = tmp_path / "bench.json"
    refused = f"```python\nimport os\n{item.reference}```"
    with FakeServer([Step(content=refused), Step(content=f"```python\n{item.reference}```")]) \
            as server:
        code = run_cli(bench_cli, ["bench", "rewrite", "--base-url", server.base_url,
                                   "--model", "fake-model", "--task", item.name,
                                   "--variants", "0", "--out", str(out)])
    assert code == 0
    (row,) = json.loads(out.read_text())["tasks"]
    assert row["accepted"] and not row["pass_at_1"] and row["rounds"] == 2
    (failure,) = row["failures"]
    assert failure["stage"] == "allowlist" and "import" in failure["details"]


def test_model_kind_wrong_hidden_size_then_correct(corpus, tmp_path):
    item = corpus["numpy_relu_mlp"]
    out, report = tmp_path / "model_def.py", tmp_path / "report.json"
    wrong = item.reference.replace("nn.Linear(n_features, 8)", "nn.Linear(n_features, 6)")
    wrong = wrong.replace("nn.Linear(8, 4)", "nn.Linear(6, 4)")
    with FakeServer([Step(content=f"```python\n{wrong}```"),
                     Step(content=f"```python\n{item.reference}```")]) as server:
        code = run_cli(rewrite_cli, argv(item, server, out, report))
    assert code == 0
    assert out.read_text() == item.reference
    payload = json.loads(report.read_text())
    assert payload["task"]["kind"] == "model" and payload["rounds"] == 2
    assert [r["failing_stage"] for r in payload["per_round"]] == ["compare", None]
    details = payload["per_round"][0]["failure"]["details"]
    assert "first difference at parameter 0: original [8, 6], rewrite [6, 6]" in details
