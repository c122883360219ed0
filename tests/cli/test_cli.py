"""The spark-lester command: demo and plan."""

from __future__ import annotations

import json

import pytest

from spark_lester.cli import main
from spark_lester.config import project_root


def test_demo_writes_summary(spark, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo.json"
    code = main(["demo", "--mails", "800", "--customers", "80", "--warehouse",
                 str(tmp_path / "wh"), "--json", str(out)])
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["outputs_match"] is True
    assert summary["rows_prepared"] == summary["rows_check"]["rows_actual"] > 0
    assert summary["pipeline_seconds"] > 0
    assert summary["lineage"]["title"] == ["mails.mail_subject"]
    table = summary["warehouse_table"]
    assert table.startswith(str(tmp_path / "wh" / "running_example"))
    assert (tmp_path / table / "_delta_log").is_dir()
    deletion = summary["deletion"]
    assert deletion["ivm_matches_recompute"] is True
    assert deletion["erasure_verified"] is True
    assert deletion["rows_affected"] > 0
    for key in ("seconds", "erasure_seconds", "reexecution_seconds", "speedup"):
        assert deletion[key] > 0
    unlearning = summary["unlearning"]
    assert unlearning["method"] in ("newton", "retrain")
    assert unlearning["update"]["n_removed"] == unlearning["rows_forgotten"] > 0
    if unlearning["method"] == "retrain":  # refused by the certified bound: says why
        assert unlearning["update"]["retrain_reason"] == "bound_exceeded"
    assert unlearning["rho"] <= 0.05
    assert unlearning["seconds"] > 0 and unlearning["retrain_seconds"] > 0
    assert abs(unlearning["accuracy_gap"]) <= 0.02
    assert deletion["timings"]["model"] > 0  # deletion.seconds includes the model step
    # the second request: the only customer of a bank is deleted; the bank variant's fitted
    # encoder forgets the bank (as a fresh fit on the cleaned data does), X and the model
    # lose one column, and the whole warehouse is scanned
    encoder = summary["encoder_request"]
    assert encoder["category_removed"] is True and encoder["matches_refit"] is True
    assert encoder["banks_after"] == encoder["banks_before"] - 1
    assert encoder["width_after"] == encoder["width_before"] - 1
    assert encoder["params_after"] == encoder["params_before"] - 1
    assert encoder["erasure_verified"] is True and encoder["rho"] < 0.5


def test_demo_refuses_an_incident_that_changes_nothing(spark, tmp_path, monkeypatch):
    """At tiny sizes the leaked customers' mails can all be filtered out: a typed error that
    says to generate more data, not a crash on the missing timings."""
    from types import SimpleNamespace

    import spark_lester.artifacts.model as model_module
    import spark_lester.deletion.compare as compare_module
    import spark_lester.deletion.unlearn as unlearn_module
    from spark_lester.artifacts.registry import TableState
    from spark_lester.cli.demo import incident
    from spark_lester.deletion.records import DeletionResult
    from spark_lester.errors import ConfigError

    leaks = tmp_path / "leaks.json"
    leaks.write_text(json.dumps({"customer_ids": [3, 5], "mail_ids": [7]}))
    monkeypatch.setattr(model_module, "load_model", lambda spark, path: SimpleNamespace(params=None))
    monkeypatch.setattr(compare_module, "training_rows_of", lambda *args: None)
    monkeypatch.setattr(unlearn_module, "unlearn", lambda *args, **kwargs: DeletionResult(
        request_id="r", status="noop", reason="the request's rows appear in no artifact"))
    record = SimpleNamespace(run_id="r1", tables={"model": TableState("unused", 0)},
                             rows={"total": 139})
    with pytest.raises(ConfigError, match="changes nothing at this size") as err:
        incident(spark, SimpleNamespace(warehouse=str(tmp_path)), record,
                 {"leaks": str(leaks)}, tmp_path)
    assert "--mails 800" in err.value.hint


def test_plan_command_formats(spark, running_example_data, tmp_path, capsys):
    pipeline = project_root() / "examples" / "running_example" / "pipeline.py"
    args = ["plan", str(pipeline), "--source", f"customers={running_example_data['customers']}",
            "--source", f"mails={running_example_data['mails']}"]
    assert main(args + ["--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lineage"]["text"]["direct"] == ["mails.mail_text"]
    assert main(args + ["--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("graph TD")
    assert main(args + ["--format", "openlineage", "--out", str(tmp_path / "ol.json")]) == 0
    assert "columnLineage" in json.loads((tmp_path / "ol.json").read_text())["facets"]


def test_plan_command_bad_input(spark, running_example_data, tmp_path, capsys):
    pipeline = project_root() / "examples" / "running_example" / "pipeline.py"
    code = main(["plan", str(pipeline), "--source", f"customers={tmp_path / 'missing.csv'}",
                 "--source", f"mails={running_example_data['mails']}"])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["plan", str(pipeline), "--source", "customers"]) == 2
    assert main(["plan", str(tmp_path / "nope.py")]) == 2


def test_delete_starts_python_workers_without_the_model_preload(tmp_path, monkeypatch):
    import spark_lester.deletion.unlearn as unlearn_module
    import spark_lester.session as session_module
    from spark_lester.cli.delete import config_for_delete
    from spark_lester.deletion.records import DeletionResult

    seen, started = [], []

    def fake_unlearn(request, *, warehouse=None, spark=None, config=None, erase=True,
                     hooks=None):
        assert spark == "session"
        seen.append(config)
        return DeletionResult(request_id="r", status="noop", reason="nothing to do")

    def fake_start(config, work):
        started.append(config)
        return "session"

    monkeypatch.setattr(unlearn_module, "unlearn", fake_unlearn)
    monkeypatch.setattr(session_module, "get_spark_while", fake_start)
    monkeypatch.delenv("SPARK_LESTER_WORKER_PRELOAD", raising=False)
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"source": "customers", "keys": [1],
                                   "action": "delete_rows"}))
    assert main(["delete", str(request), "--warehouse", str(tmp_path / "wh")]) == 0
    assert seen[0].worker_preload is False and seen[0].warehouse == str(tmp_path / "wh")
    assert started == seen  # the session is started with the same settings
    # an explicit setting still decides
    monkeypatch.setenv("SPARK_LESTER_WORKER_PRELOAD", "true")
    assert config_for_delete(None).worker_preload is True
    monkeypatch.setenv("SPARK_LESTER_WORKER_PRELOAD", "0")
    assert config_for_delete(None).worker_preload is False
