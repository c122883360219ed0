"""``spark-lester emr submit | wait | logs`` against moto's server: exit codes and JSON."""

from __future__ import annotations

import json

import pytest

from spark_lester.cli import COMMANDS, main

pytestmark = pytest.mark.s3


def _cluster(aws, steps=1):
    return aws.emr.run_job_flow(
        Name="cli", ReleaseLabel="emr-7.9.0", LogUri=aws.log_uri,
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "MasterInstanceType": "m5.xlarge",
                   "InstanceCount": 1},
        Steps=[{"Name": f"s{i}", "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}
               for i in range(steps)],
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]


def test_registered():
    assert {"package", "emr"} <= set(COMMANDS)


def test_submit_ephemeral_no_wait(aws, bundle, tmp_path, capsys):
    request = tmp_path / "request.json"
    request.write_text("{}")
    out = tmp_path / "submit.json"
    code = main(["emr", "submit", "--bundle", str(bundle), "--code-uri", aws.code_uri,
                 "--warehouse", aws.warehouse, "--delete", str(request), "--unlearn", str(request),
                 "--log-uri", aws.log_uri, "--release", "emr-7.8.0", "--core-count", "3",
                 "--endpoint-url", aws.endpoint, "--region", "us-east-1", "--no-wait",
                 "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(out.read_text())
    assert summary["ok"] and summary["created_cluster"]
    assert [s["name"] for s in summary["steps"]] == ["spark-lester delete request.json",
                                                    "spark-lester unlearn request.json"]
    cluster = aws.emr.describe_cluster(ClusterId=summary["cluster_id"])["Cluster"]
    assert cluster["ReleaseLabel"] == "emr-7.8.0"
    assert "submitted on new cluster" in capsys.readouterr().err


def test_submit_missing_bucket_exits_2_with_json(aws, bundle, tmp_path, capsys):
    out = tmp_path / "submit.json"
    code = main(["emr", "submit", "--bundle", str(bundle), "--code-uri", "s3://no-such-cli-bucket/x",
                 "--warehouse", aws.warehouse, "--delete", "s3://x/r.json", "--log-uri", aws.log_uri,
                 "--endpoint-url", aws.endpoint, "--region", "us-east-1", "--json", str(out)])
    assert code == 2
    summary = json.loads(out.read_text())
    assert summary == {**summary, "ok": False, "error": "BucketNotFoundError", "retryable": False}
    assert "no-such-cli-bucket" in capsys.readouterr().err


def test_submit_needs_log_uri_for_ephemeral(aws, bundle, capsys):
    code = main(["emr", "submit", "--bundle", str(bundle), "--code-uri", aws.code_uri,
                 "--warehouse", aws.warehouse, "--delete", "s3://x/r.json",
                 "--endpoint-url", aws.endpoint, "--region", "us-east-1"])
    assert code == 2 and "--log-uri" in capsys.readouterr().err


def test_wait_exit_codes(aws, moto_emr, tmp_path, capsys):
    cluster_id = _cluster(aws)
    step_id = aws.emr.list_steps(ClusterId=cluster_id)["Steps"][0]["Id"]
    base = ["emr", "wait", cluster_id, "--step-id", step_id, "--endpoint-url", aws.endpoint,
            "--region", "us-east-1", "--no-progress"]
    # Still running after the timeout: retryable, 75.
    assert main(base + ["--timeout", "0"]) == 75
    moto_emr.set_step(cluster_id, step_id, "COMPLETED")
    out = tmp_path / "wait.json"
    assert main(base + ["--json", str(out)]) == 0
    assert json.loads(out.read_text())["steps"][0]["state"] == "COMPLETED"
    moto_emr.set_step(cluster_id, step_id, "FAILED", "Step failed")
    aws.put_log(cluster_id, step_id, "stderr", "Traceback\nValueError: bad request\n")
    assert main(base + ["--json", str(out)]) == 1
    summary = json.loads(out.read_text())
    assert summary["error"] == "StepFailedError" and summary["log_tail"].endswith("bad request")
    assert "ValueError: bad request" in capsys.readouterr().err


def test_logs(aws, capsys):
    cluster_id = _cluster(aws)
    step_id = aws.emr.list_steps(ClusterId=cluster_id)["Steps"][0]["Id"]
    base = ["emr", "logs", cluster_id, step_id, "--endpoint-url", aws.endpoint, "--region", "us-east-1"]
    assert main(base) == 1
    assert "about every five minutes" in capsys.readouterr().err
    aws.put_log(cluster_id, step_id, "stderr", "".join(f"{i}\n" for i in range(10)))
    assert main(base + ["--lines", "3"]) == 0
    assert capsys.readouterr().out == "7\n8\n9\n"


def test_wait_progress_bar(aws, moto_emr, capsys):
    cluster_id = _cluster(aws, steps=2)
    ids = [s.id for s in moto_emr.cluster(cluster_id).steps]
    for step_id in ids:
        moto_emr.set_step(cluster_id, step_id, "COMPLETED")
    args = ["emr", "wait", cluster_id, "--endpoint-url", aws.endpoint, "--region", "us-east-1",
            "--progress"]
    for step_id in ids:
        args += ["--step-id", step_id]
    assert main(args) == 0
    assert "2/2 steps" in capsys.readouterr().err


def test_submit_run_keeps_the_pipeline_name_and_names_the_cluster(aws, bundle, tmp_path, capsys):
    """--name is the pipeline's (as for `spark-lester run`), --cluster-name the cluster's."""
    pipeline = tmp_path / "churn" / "pipeline.py"
    pipeline.parent.mkdir()
    pipeline.write_text("def prepare(mails):\n    return mails\n")
    out = tmp_path / "submit.json"
    common = ["emr", "submit", "--bundle", str(bundle), "--code-uri", aws.code_uri,
              "--warehouse", aws.warehouse, "--run", str(pipeline),
              "--source", "mails=s3://raw/mails/", "--log-uri", aws.log_uri,
              "--endpoint-url", aws.endpoint, "--region", "us-east-1", "--no-wait",
              "--json", str(out)]
    for extra, name in (([], "churn"), (["--name", "nightly"], "nightly")):
        assert main([*common, *extra, "--cluster-name", f"c-{name}"]) == 0, \
            capsys.readouterr().err
        summary = json.loads(out.read_text())
        [step] = aws.emr.list_steps(ClusterId=summary["cluster_id"])["Steps"]
        args = step["Config"]["Args"]
        assert args[args.index("--name") + 1] == name
        cluster = aws.emr.describe_cluster(ClusterId=summary["cluster_id"])["Cluster"]
        assert cluster["Name"] == f"c-{name}"
