"""``spark_lester.aws.submit`` end to end against moto's server (S3, EMR, IAM).

moto's EMR accepts clusters and steps but never runs them; the ``Script`` fixture plays EMR
(moves steps and clusters through their states in moto's backend, writes step logs and the step
driver's JSON summary where they would appear), while the code under test only makes real
boto3 calls against the server.
"""

from __future__ import annotations

import json

import pytest

from spark_lester.aws import Action, ClusterSpec, submit
from spark_lester.aws.emr import wait_for_steps
from spark_lester.aws.versions import EMR_RELEASE
from spark_lester.errors import (
    AwsCredentialsError,
    BucketNotFoundError,
    ClusterTerminatedError,
    ConfigError,
    IamRoleNotFoundError,
    PackagingError,
    StepFailedError,
    WaitTimeoutError,
)

pytestmark = pytest.mark.s3


def _inputs(tmp_path):
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text("def prepare(mails):\n    return mails\n")
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"source": "mails", "keys": [1, 2]}))
    return pipeline, request


def _spec(aws, **kw):
    return ClusterSpec(name="lester-test", log_uri=aws.log_uri, bundle_uri=aws.code_uri, **kw)


def _write_result(aws, moto_emr, cluster_id_holder):
    """on_done: the step driver copies the command's --json summary to --result-uri."""
    def on_done(index, step_id):
        cluster_id = cluster_id_holder.snapshots[-1].cluster_id
        args = moto_emr.step(cluster_id, step_id).args
        uri = args[args.index("--result-uri") + 1]
        bucket, _, key = uri[len("s3://"):].partition("/")
        aws.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"step": index, "ok": True}))
    return on_done


def _clusters(aws):
    return aws.emr.list_clusters()["Clusters"]


def test_ephemeral_cluster_runs_pipeline_then_deletion(aws, moto_emr, bundle, tmp_path):
    pipeline, request = _inputs(tmp_path)
    script = moto_emr.script()
    script.on_done = _write_result(aws, moto_emr, script)
    result = submit(bundle, aws.code_uri, [Action("run", str(pipeline)), Action("delete", str(request))],
                    warehouse=aws.warehouse, sources={"mails": "s3://raw/mails/"},
                    spec=_spec(aws, idle_timeout_seconds=900), s3=aws.s3, emr=aws.emr, iam=aws.iam,
                    on_update=script.on_update, sleep=script.sleep, clock=lambda: 0.0)

    # Uploaded: the bundle as it is, and the local inputs.
    keys = set(aws.keys(aws.code))
    prefix = "spark_lester/0.1.0/"
    manifest = json.loads((bundle / "manifest.json").read_text())
    for rel in (manifest["wheel"]["file"], "requirements.txt", "deps-pyfiles.zip", "manifest.json",
                "emr/bootstrap/install_lester.sh", "emr/steps/lester_step.py",
                "emr/configurations.json"):
        assert prefix + rel in keys
    assert any(k.endswith("/pipeline.py") and "/inputs/" in k for k in keys)

    # The cluster as EMR saw it: bootstrap, classifications, release, log URI, steps in order.
    cluster = aws.emr.describe_cluster(ClusterId=result.cluster_id)["Cluster"]
    assert cluster["ReleaseLabel"] == EMR_RELEASE
    assert cluster["LogUri"] == aws.log_uri
    assert cluster["AutoTerminate"] is True  # KeepJobFlowAliveWhenNoSteps=False
    classes = {c["Classification"]: c for c in cluster["Configurations"]}
    assert classes["delta-defaults"]["Properties"] == {"delta.enabled": "true"}
    boot = aws.emr.list_bootstrap_actions(ClusterId=result.cluster_id)["BootstrapActions"]
    assert boot == [{"Name": "install spark_lester",
                     "ScriptPath": f"{aws.code_uri}/emr/bootstrap/install_lester.sh",
                     "Args": [aws.code_uri]}]
    steps = list(reversed(aws.emr.list_steps(ClusterId=result.cluster_id)["Steps"]))
    assert [s["Id"] for s in steps] == result.step_ids
    run_args = steps[0]["Config"]["Args"]
    assert run_args[0] == "spark-submit"
    assert f"{aws.code_uri}/emr/steps/lester_step.py" in run_args
    cmd = run_args[run_args.index("--result-uri") + 2:]
    assert cmd[0] == "run" and cmd[1].startswith(f"{aws.code_uri}/inputs/")
    # The step runs an uploaded copy (its folder is the submission id): --name keeps the
    # name `spark-lester run` would give the local file (its folder, for pipeline.py).
    assert cmd[2:] == ["--source", "mails=s3://raw/mails/", "--warehouse", aws.warehouse,
                       "--name", tmp_path.name]
    delete_args = steps[1]["Config"]["Args"]
    assert delete_args[delete_args.index("--result-uri") + 2] == "delete"
    assert all(s["ActionOnFailure"] == "TERMINATE_CLUSTER" for s in steps)

    # Waiting saw the progression and ended with every step completed; summaries fetched.
    states = [tuple(s.state for s in snap.steps) for snap in script.snapshots]
    assert states[0] == ("RUNNING", "PENDING")
    assert states[-1] == ("COMPLETED", "COMPLETED")
    assert result.final is not None and result.final.done
    assert result.results == {result.step_ids[0]: {"step": 0, "ok": True},
                              result.step_ids[1]: {"step": 1, "ok": True}}
    assert all(u.startswith(f"s3://{aws.artifacts}/step-results/") for u in result.result_uris)
    summary = result.to_json()
    assert [s["state"] for s in summary["steps"]] == ["COMPLETED", "COMPLETED"]


def test_request_body_of_run_job_flow(aws, bundle):
    """What moto does not echo back (auto-termination, instance groups, roles) is checked on
    the request itself."""
    from spark_lester.aws.emr import cluster_request, load_configurations

    request = cluster_request(_spec(aws, subnet_id="subnet-1", core_instance_count=3), [],
                              load_configurations(bundle / "emr"))
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 3600}
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is False
    assert request["Instances"]["Ec2SubnetId"] == "subnet-1"
    groups = {g["InstanceRole"]: g["InstanceCount"] for g in request["Instances"]["InstanceGroups"]}
    assert groups == {"MASTER": 1, "CORE": 3}
    assert (request["ServiceRole"], request["JobFlowRole"]) == ("EMR_DefaultRole", "EMR_EC2_DefaultRole")
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in request["Tags"]


def test_steps_added_to_running_cluster(aws, moto_emr, bundle, tmp_path):
    _, request = _inputs(tmp_path)
    cluster_id = aws.emr.run_job_flow(
        Name="shared", ReleaseLabel="emr-7.9.0", LogUri=aws.log_uri,
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
    script = moto_emr.script(terminate=False)
    result = submit(bundle, aws.code_uri, [Action("unlearn", str(request))], warehouse=aws.warehouse,
                    cluster_id=cluster_id, s3=aws.s3, emr=aws.emr,
                    on_update=script.on_update, sleep=script.sleep, clock=lambda: 0.0)
    assert result.cluster_id == cluster_id and result.created_cluster is False
    step = aws.emr.describe_step(ClusterId=cluster_id, StepId=result.step_ids[0])["Step"]
    assert step["ActionOnFailure"] == "CANCEL_AND_WAIT"
    assert "spark.driver.maxResultSize=4g" in step["Config"]["Args"]
    assert step["Status"]["State"] == "COMPLETED"
    assert len(_clusters(aws)) >= 1


def test_step_failure_reports_the_log_tail(aws, moto_emr, bundle, tmp_path):
    pipeline, request = _inputs(tmp_path)
    script = moto_emr.script(fail=0)
    inner_sleep = script.sleep

    def sleep(seconds):
        inner_sleep(seconds)
        snap = script.snapshots[-1]
        aws.put_log(snap.cluster_id, snap.steps[0].id, "stderr",
                    "".join(f"line {i}\n" for i in range(100))
                    + "Traceback (most recent call last):\nLesterError: source mails not found\n")

    with pytest.raises(StepFailedError) as info:
        submit(bundle, aws.code_uri, [Action("run", str(pipeline)), Action("delete", str(request))],
               warehouse=aws.warehouse, sources={"mails": "s3://raw/mails/"}, spec=_spec(aws),
               s3=aws.s3, emr=aws.emr, iam=aws.iam, on_update=script.on_update, sleep=sleep,
               clock=lambda: 0.0)
    err = info.value
    assert err.state == "FAILED" and err.retryable is False
    assert err.step_id == script.snapshots[0].steps[0].id
    assert err.log_tail.endswith("LesterError: source mails not found")
    assert "line 0\n" not in err.log_tail  # a tail, not the whole log
    assert err.log_uri == f"{aws.log_uri.rstrip('/')}/{err.cluster_id}/steps/{err.step_id}/"
    assert "source mails not found" in str(err) and "spark-lester emr logs" in str(err)


def test_step_failure_before_logs_arrive(aws, moto_emr, bundle, tmp_path):
    _, request = _inputs(tmp_path)
    script = moto_emr.script(fail=0)
    with pytest.raises(StepFailedError) as info:
        submit(bundle, aws.code_uri, [Action("delete", str(request))], warehouse=aws.warehouse,
               spec=_spec(aws), s3=aws.s3, emr=aws.emr, iam=aws.iam,
               on_update=script.on_update, sleep=script.sleep, clock=lambda: 0.0)
    assert info.value.log_tail is None


def test_cluster_terminated_with_errors(aws, moto_emr, bundle, tmp_path):
    _, request = _inputs(tmp_path)
    script = moto_emr.script()

    def sleep(_seconds):  # the bootstrap action failed: the steps never started
        moto_emr.set_cluster(script.snapshots[-1].cluster_id, "TERMINATED_WITH_ERRORS",
                             "On the master instance: bootstrap action 1 returned a non-zero return code")

    with pytest.raises(ClusterTerminatedError) as info:
        submit(bundle, aws.code_uri, [Action("delete", str(request))], warehouse=aws.warehouse,
               spec=_spec(aws), s3=aws.s3, emr=aws.emr, iam=aws.iam,
               on_update=script.on_update, sleep=sleep, clock=lambda: 0.0)
    err = info.value
    assert err.state == "TERMINATED_WITH_ERRORS" and err.retryable is False
    assert "bootstrap action 1" in str(err)
    assert err.pending_steps == (script.snapshots[0].steps[0].id,)


def test_adding_steps_to_a_terminated_cluster(aws, moto_emr, bundle, tmp_path):
    _, request = _inputs(tmp_path)
    cluster_id = aws.emr.run_job_flow(
        Name="gone", ReleaseLabel="emr-7.9.0", Instances={"KeepJobFlowAliveWhenNoSteps": True,
                                                          "MasterInstanceType": "m5.xlarge",
                                                          "InstanceCount": 1},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
    aws.emr.terminate_job_flows(JobFlowIds=[cluster_id])
    with pytest.raises(ClusterTerminatedError, match="TERMINATED"):
        submit(bundle, aws.code_uri, [Action("delete", str(request))], warehouse=aws.warehouse,
               cluster_id=cluster_id, s3=aws.s3, emr=aws.emr)


@pytest.mark.parametrize("missing", ["code", "logs", "warehouse"])
def test_missing_bucket_fails_before_any_cluster(aws, bundle, tmp_path, missing):
    _, request = _inputs(tmp_path)
    code_uri, spec, warehouse = aws.code_uri, _spec(aws), aws.warehouse
    if missing == "code":
        code_uri = "s3://no-such-code-bucket/lester"
    elif missing == "logs":
        spec = ClusterSpec(name="x", log_uri="s3://no-such-log-bucket/emr/", bundle_uri=code_uri)
    else:
        warehouse = "s3://no-such-artifacts-bucket/warehouse"
    before = len(_clusters(aws))
    with pytest.raises(BucketNotFoundError) as info:
        submit(bundle, code_uri, [Action("delete", str(request))], warehouse=warehouse, spec=spec,
               s3=aws.s3, emr=aws.emr, iam=aws.iam)
    assert info.value.bucket.startswith("no-such-") and info.value.retryable is False
    assert len(_clusters(aws)) == before


def test_missing_role_fails_before_any_cluster(aws, bundle, tmp_path):
    _, request = _inputs(tmp_path)
    before = len(_clusters(aws))
    with pytest.raises(IamRoleNotFoundError, match="instance profile 'NoSuchProfile'"):
        submit(bundle, aws.code_uri, [Action("delete", str(request))], warehouse=aws.warehouse,
               spec=_spec(aws, instance_profile="NoSuchProfile"), s3=aws.s3, emr=aws.emr,
               iam=aws.iam)
    assert len(_clusters(aws)) == before


def test_missing_credentials(aws, bundle, tmp_path, monkeypatch):
    from spark_lester.aws import client

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3 = client("s3", region="us-east-1", endpoint_url=aws.endpoint)
    _, request = _inputs(tmp_path)
    with pytest.raises(AwsCredentialsError) as info:
        submit(bundle, aws.code_uri, [Action("delete", str(request))], warehouse=aws.warehouse,
               spec=_spec(aws), s3=s3, emr=aws.emr, iam=aws.iam)
    assert info.value.retryable is False and "aws configure" in str(info.value)


def test_wait_times_out_without_wall_clock(aws, moto_emr):
    cluster_id = aws.emr.run_job_flow(
        Name="slow", ReleaseLabel="emr-7.9.0", LogUri=aws.log_uri,
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "MasterInstanceType": "m5.xlarge",
                   "InstanceCount": 1},
        Steps=[{"Name": "never ends", "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}],
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
    step_id = aws.emr.list_steps(ClusterId=cluster_id)["Steps"][0]["Id"]
    now = {"t": 0.0}
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now["t"] += seconds

    with pytest.raises(WaitTimeoutError) as info:
        wait_for_steps(aws.emr, cluster_id, [step_id], poll_seconds=30, timeout_seconds=100,
                       sleep=sleep, clock=lambda: now["t"])
    assert slept == [30, 30, 30, 30]
    assert info.value.retryable is True and f"emr wait {cluster_id}" in str(info.value)


def test_bad_submissions_are_config_errors(aws, bundle, tmp_path):
    pipeline, _ = _inputs(tmp_path)
    common = dict(warehouse=aws.warehouse, s3=aws.s3, emr=aws.emr)
    with pytest.raises(ConfigError, match="sources"):
        submit(bundle, aws.code_uri, [Action("run", str(pipeline))], spec=_spec(aws), **common)
    with pytest.raises(ConfigError, match="either"):
        submit(bundle, aws.code_uri, [Action("delete", "s3://x/r.json")], **common)
    with pytest.raises(ConfigError, match="neither a file"):
        submit(bundle, aws.code_uri, [Action("delete", str(tmp_path / "nope.json"))],
               spec=_spec(aws), **common)
    with pytest.raises(ConfigError, match="unknown step kind"):
        Action("train", "x")
    with pytest.raises(ConfigError, match="emr-7"):
        ClusterSpec(name="x", log_uri="s3://l/", bundle_uri="s3://c/", release_label="emr-6.15.0")
    with pytest.raises(PackagingError, match="does not exist"):
        submit(tmp_path, aws.code_uri, [Action("delete", "s3://x/r.json")], spec=_spec(aws), **common)


def test_poll_more_steps_than_one_list_steps_call_takes(aws, moto_emr):
    """ListSteps filters on at most 10 step ids: polling 12 steps takes two calls, in order."""
    from spark_lester.aws.emr import poll

    steps = [{"Name": f"s{i}", "ActionOnFailure": "CONTINUE",
              "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}} for i in range(12)]
    cluster_id = aws.emr.run_job_flow(
        Name="many", ReleaseLabel="emr-7.9.0", Steps=steps,
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "MasterInstanceType": "m5.xlarge",
                   "InstanceCount": 1},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
    ids = [s.id for s in moto_emr.cluster(cluster_id).steps]
    moto_emr.set_step(cluster_id, ids[11], "COMPLETED")
    snapshot = poll(aws.emr, cluster_id, ids)
    assert [s.name for s in snapshot.steps] == [f"s{i}" for i in range(12)]
    assert [s.state for s in snapshot.steps] == ["RUNNING"] + ["PENDING"] * 10 + ["COMPLETED"]


@pytest.mark.parametrize("target, name, expected", [
    ("examples/running_example/pipeline.py", None, "running_example"),
    ("jobs/churn_features.py", None, "churn_features"),
    ("s3://CODE/pipelines/fraud/pipeline.py", None, "fraud"),
    ("examples/running_example/pipeline.py", "nightly", "nightly"),
])
def test_run_step_keeps_the_pipeline_name(aws, moto_emr, bundle, tmp_path, target, name,
                                          expected):
    """The name `spark-lester run FILE` would use (or --name), not the upload folder's."""
    target = target.replace("CODE", aws.code)
    local = tmp_path / target if not target.startswith("s3://") else None
    if local is not None:
        local.parent.mkdir(parents=True)
        local.write_text("def prepare(mails):\n    return mails\n")
    result = submit(bundle, aws.code_uri, [Action("run", str(local or target), name=name)],
                    warehouse=aws.warehouse, sources={"mails": "s3://raw/mails/"},
                    spec=_spec(aws), s3=aws.s3, emr=aws.emr, iam=aws.iam, wait=False)
    [step] = aws.emr.list_steps(ClusterId=result.cluster_id)["Steps"]
    args = step["Config"]["Args"]
    assert args[args.index("--name") + 1] == expected


def test_second_submit_uploads_no_bundle_file(aws, moto_emr, bundle, tmp_path):
    """The bundle is uploaded once per content: a second submit skips every bundle file."""
    pipeline, _ = _inputs(tmp_path)
    kw = dict(warehouse=aws.warehouse, sources={"mails": "s3://raw/mails/"}, spec=_spec(aws),
              s3=aws.s3, emr=aws.emr, iam=aws.iam, wait=False)
    first = submit(bundle, aws.code_uri, [Action("run", str(pipeline))], **kw)
    second = submit(bundle, aws.code_uri, [Action("run", str(pipeline))], **kw)
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert first.unchanged == []
    assert set(second.unchanged) == files
    assert second.to_json()["unchanged"] == second.unchanged
