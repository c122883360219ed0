"""``spark_lester.aws.glue_jobs`` and the Glue entry scripts ``glue_jobs/*.py``.

The scripts run with a stand-in ``awsglue`` (it exists only on Glue) on local Spark; the
pipeline file, the deletion request and the result summaries live in moto's S3 (``s3://`` goes
through S3A, as Glue's own S3 file system would). The oracle is the library: the run job's
tables equal those of ``spark_lester.run``, and the deletion job applied to that warehouse
equals ``spark_lester.unlearn`` applied to a second warehouse made by the library.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import re
import shutil
import sys
import types
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spark_lester.aws import glue_jobs
from spark_lester.aws.glue_jobs import (
    JOBS,
    apply_deletion,
    glue_job_arguments,
    glue_options,
    job_options,
    parse_sources,
    run_pipeline,
)
from spark_lester.config import project_root
from spark_lester.errors import GlueJobArgumentError, RequestError, SourceError
from spark_lester.plan.columns import ROW_ID

PIPELINE = project_root() / "examples" / "running_example" / "pipeline.py"


def _script(job: str) -> types.ModuleType:
    path = project_root() / JOBS[job].script
    spec = importlib.util.spec_from_file_location(f"glue_job_{job}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _argv(job: str, **values: Any) -> list[str]:
    """The command line Glue gives the script: its own arguments, then the job's."""
    argv = [f"{job}.py", "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1", "--job-bookmark-option",
            "job-bookmark-disable", "--JOB_NAME", f"lester-{job}", "--TempDir", "s3://tmp/"]
    for key, value in glue_job_arguments(job, **values).items():
        argv += [key, value]
    return argv


@dataclass
class FakeGlue:
    """What the stand-in awsglue saw."""

    calls: list[tuple[str, ...]]
    platform: list[str]


@contextmanager
def fake_awsglue(spark: Any, mp: pytest.MonkeyPatch) -> Iterator[FakeGlue]:
    """``awsglue.utils.getResolvedOptions`` (argparse, every name required, unknown arguments
    ignored, ``-`` spelled ``_`` in keys: as the real one), a GlueContext whose
    ``spark_session`` is the test session, a Job that records init and commit."""
    import os

    seen = FakeGlue(calls=[], platform=[])

    def get_resolved_options(args: list[str], options: list[str]) -> dict[str, Any]:
        parser = argparse.ArgumentParser()
        for option in options:
            parser.add_argument("--" + option, required=True)
        parsed, _extra = parser.parse_known_args(args[1:])
        return vars(parsed)

    class GlueContext:
        def __init__(self, sc: Any) -> None:
            assert sc is spark.sparkContext
            self.spark_session = spark

    class Job:
        def __init__(self, glue_context: GlueContext) -> None:
            self.glue_context = glue_context

        def init(self, name: str, args: dict[str, Any]) -> None:
            seen.calls.append(("init", name))
            seen.platform.append(os.environ["SPARK_LESTER_PLATFORM"])

        def commit(self) -> None:
            seen.calls.append(("commit",))

    modules = {name: types.ModuleType(name)
               for name in ("awsglue", "awsglue.utils", "awsglue.context", "awsglue.job")}
    modules["awsglue.utils"].getResolvedOptions = get_resolved_options
    modules["awsglue.context"].GlueContext = GlueContext
    modules["awsglue.job"].Job = Job
    for name, module in modules.items():
        mp.setitem(sys.modules, name, module)
    mp.setenv("SPARK_LESTER_PLATFORM", "local")  # main() sets glue; restored afterwards
    yield seen


def _rows(spark: Any, path: str) -> tuple[list[str], list[dict[str, Any]]]:
    df = spark.read.format("delta").load(path)
    rows = sorted((r.asDict(recursive=True) for r in df.collect()), key=lambda r: r[ROW_ID])
    return df.columns, rows


def _leak_request(running_example_data: dict[str, str]) -> dict[str, Any]:
    from spark_lester.deletion.request import CARD_NUMBER

    leaks = json.loads(Path(running_example_data["leaks"]).read_text())
    return {"request_id": "leak-1", "source": "customers", "keys": leaks["customer_ids"],
            "action": "redact_columns", "columns": ["mails.mail_subject"],
            "verify_patterns": [CARD_NUMBER]}


# ---- arguments (no Spark) -----------------------------------------------------------------
def test_sources_as_pairs_or_json():
    assert parse_sources(" customers = s3://r/c.csv ,mails=s3://r/m/") == \
        {"customers": "s3://r/c.csv", "mails": "s3://r/m/"}
    assert parse_sources('{"mails": "s3://r/m/?a=b,c"}') == {"mails": "s3://r/m/?a=b,c"}


@pytest.mark.parametrize("text, message", [
    ("customers", "entry 1 of --sources is not NAME=URI"),
    ("a=s3://x,b", "entry 2 of --sources"),
    ("a=s3://x,a=s3://y", "names source 'a' twice"),
    ("=s3://x", "empty or non-text source name or URI"),
    ("{bad", "not valid JSON"),
    ('["a"]', "JSON is an object"),
    ('{"a": 1}', "empty or non-text source name or URI"),
    ("{}", "names no source"),
])
def test_bad_sources_are_typed_errors(text, message):
    with pytest.raises(GlueJobArgumentError, match=re.escape(message)) as err:
        parse_sources(text)
    assert err.value.argument == "sources" and err.value.job == "run_pipeline"
    assert isinstance(err.value, ValueError)


def test_options_asked_of_glue_and_read_back():
    argv = _argv("run_pipeline", warehouse="s3://a/wh", pipeline="s3://c/p/pipeline.py",
                 sources={"mails": "s3://r/m/"}, result_uri="s3://a/r.json")
    assert glue_options("run_pipeline", argv) == ["JOB_NAME", "warehouse", "pipeline",
                                                  "sources", "result-uri"]
    assert job_options("run_pipeline", {"JOB_NAME": "j", "TempDir": "s3://t/", "run_id": None,
                                        "warehouse": "s3://a/wh", "pipeline": " p.py ",
                                        "sources": "m=s3://r/m/", "result_uri": "s3://a/r"}) == \
        {"warehouse": "s3://a/wh", "pipeline": "p.py", "sources": "m=s3://r/m/",
         "result_uri": "s3://a/r"}


@pytest.mark.parametrize("call, argument, message", [
    (lambda: run_pipeline({"JOB_NAME": "j", "warehouse": "w", "sources": "a=b"}, None),
     "pipeline", "--pipeline is missing"),
    (lambda: run_pipeline({"warehouse": "w", "pipeline": "  ", "sources": "a=b"}, None),
     "pipeline", "--pipeline is empty"),
    (lambda: run_pipeline({"warehouse": "w", "pipeline": "s3://b/p.txt", "sources": "a=b"},
                          None), "pipeline", "not a path to a .py file"),
    (lambda: apply_deletion({"JOB_NAME": "j", "request": "r.json"}, None),
     "warehouse", "--warehouse is missing"),
    (lambda: glue_job_arguments("run_pipeline", warehouse="w", pipeline="p.py",
                                sources="a=b", colour="red"), "colour", "unknown argument"),
    (lambda: glue_job_arguments("run_pipeline", warehouse="w", pipeline="p.py"),
     "sources", "--sources is missing"),
    (lambda: glue_options("run_everything", []), None, "no such job"),
])
def test_bad_arguments_are_typed_errors(call, argument, message):
    with pytest.raises(GlueJobArgumentError, match=re.escape(message)) as err:
        call()
    assert err.value.argument == argument
    assert not err.value.retryable


def test_bad_inline_request_is_a_request_error(tmp_path):
    with pytest.raises(RequestError, match="give exactly one of 'keys'"):
        apply_deletion({"warehouse": str(tmp_path), "request": '{"source": "customers", '
                        '"action": "delete_rows"}'}, None)


def test_scripts_import_without_awsglue(monkeypatch):
    """The scripts are importable anywhere; only main() needs awsglue."""
    monkeypatch.setitem(sys.modules, "awsglue", None)  # as if not installed, even where it is
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "local")
    for job in JOBS:
        module = _script(job)
        assert module.JOB == job
        with pytest.raises(ImportError):
            module.main([f"{job}.py", "--JOB_NAME", "j"])


def test_bundle_ships_the_scripts_terraform_runs(bundle):
    """Terraform's glue_scripts name the scripts of JOBS, and `spark-lester package` ships
    them next to a wheel that holds their core."""
    import zipfile

    from spark_lester.aws.package import read_manifest

    tf = (project_root() / "terraform" / "modules" / "lester" / "glue.tf").read_text()
    scripts = dict(re.findall(r'(\w+)\s*=\s*"(glue_jobs/[\w/]+\.py)"', tf))
    assert scripts == {name: spec.script for name, spec in JOBS.items()}
    manifest = read_manifest(bundle)
    for spec in JOBS.values():
        assert spec.script in manifest["files"]
        assert (bundle / spec.script).read_bytes() == (project_root() / spec.script).read_bytes()
    wheel = zipfile.ZipFile(bundle / manifest["wheel"]["file"])
    assert "spark_lester/aws/glue_jobs.py" in wheel.namelist()


# ---- the jobs on local Spark, S3 on moto ----------------------------------------------------
@dataclass
class Runs:
    s3: Any
    bucket: str
    cache: Path
    pipeline_uri: str
    glue_warehouse: str
    library_warehouse: str
    glue_summary: dict[str, Any]
    library_record: Any
    glue: FakeGlue


@pytest.fixture(scope="module")
def runs(spark, running_example_data, s3_endpoint, tmp_path_factory) -> Iterator[Runs]:
    """The run job (through its script) into one warehouse, spark_lester.run into another."""
    import boto3

    import spark_lester

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = f"glue-jobs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    key = "pipelines/running_example/pipeline.py"
    s3.put_object(Bucket=bucket, Key=key, Body=PIPELINE.read_bytes())
    root = tmp_path_factory.mktemp("glue_jobs")
    sources = {k: running_example_data[k] for k in ("customers", "mails")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(glue_jobs, "PIPELINE_CACHE", root / "cache")
        with fake_awsglue(spark, mp) as glue:
            summary = _script("run_pipeline").main(_argv(
                "run_pipeline", warehouse=str(root / "glue"), pipeline=f"s3://{bucket}/{key}",
                sources=sources, result_uri=f"s3://{bucket}/results/run.json"))
        record = spark_lester.run(PIPELINE, sources, warehouse=str(root / "library"),
                                  spark=spark)
        yield Runs(s3=s3, bucket=bucket, cache=root / "cache", pipeline_uri=f"s3://{bucket}/{key}",
                   glue_warehouse=str(root / "glue"), library_warehouse=str(root / "library"),
                   glue_summary=summary, library_record=record, glue=glue)


@pytest.mark.s3
def test_run_job_equals_the_library_run(spark, runs):
    summary, record = runs.glue_summary, runs.library_record
    assert runs.glue.calls == [("init", "lester-run_pipeline"), ("commit",)]
    assert runs.glue.platform == ["glue"]
    assert summary["status"] == "completed" and summary["job"] == "run_pipeline"
    assert summary["pipeline_uri"] == runs.pipeline_uri
    assert summary["pipeline"] == record.pipeline == "running_example"
    assert summary["rows"] == record.rows and record.rows["total"] > 0
    for table in ("prepared", "features"):
        assert _rows(spark, summary["tables"][table]["path"]) == \
            _rows(spark, record.tables[table].path)

    body = runs.s3.get_object(Bucket=runs.bucket, Key="results/run.json")["Body"].read()
    published = json.loads(body)
    assert published["run_id"] == summary["run_id"] and published["status"] == "completed"

    # The pipeline ran from a staged copy, also kept in the warehouse under its hash.
    sha = hashlib.sha256(PIPELINE.read_bytes()).hexdigest()
    assert summary["pipeline_sha256"] == sha
    assert Path(summary["pipeline_path"]) == \
        (runs.cache / sha / "running_example" / "pipeline.py").resolve()
    kept = Path(runs.glue_warehouse) / "_lester" / "pipelines" / sha / "running_example" / \
        "pipeline.py"
    assert kept.read_bytes() == PIPELINE.read_bytes()


@pytest.mark.s3
@pytest.mark.long  # about 50 s, over CI's 45 minutes; the run job's equality stays in CI
def test_deletion_job_equals_the_library_unlearn(spark, runs, running_example_data):
    import spark_lester

    request = _leak_request(running_example_data)
    runs.s3.put_object(Bucket=runs.bucket, Key="requests/leak-1.json",
                       Body=json.dumps(request).encode())
    shutil.rmtree(runs.cache)  # the deletion job runs on a fresh worker
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(glue_jobs, "PIPELINE_CACHE", runs.cache)
        with fake_awsglue(spark, mp) as glue:
            result = _script("apply_deletion").main(_argv(
                "apply_deletion", warehouse=runs.glue_warehouse,
                request=f"s3://{runs.bucket}/requests/leak-1.json",
                result_uri=f"s3://{runs.bucket}/results/leak-1.json"))
    expected = spark_lester.unlearn(request, warehouse=runs.library_warehouse, spark=spark)

    assert glue.calls == [("init", "lester-apply_deletion"), ("commit",)]
    assert result["status"] == expected["status"] == "completed"
    assert result["restored_pipelines"] == [runs.glue_summary["run_id"]]
    assert result["rows_affected"] == expected["rows_affected"] > 0
    assert result["verification"]["verified"] is True
    for table in ("prepared", "features"):
        got = _rows(spark, runs.glue_summary["tables"][table]["path"])
        assert got == _rows(spark, runs.library_record.tables[table].path)
    body = runs.s3.get_object(Bucket=runs.bucket, Key="results/leak-1.json")["Body"].read()
    published = json.loads(body)
    assert published["status"] == "completed" and published["request_id"] == "leak-1"
    assert published["request_uri"] == f"s3://{runs.bucket}/requests/leak-1.json"


def test_failed_job_publishes_a_failure_summary(spark, running_example_data, tmp_path):
    """A job that fails writes status, error type and message to --result-uri, then raises
    (so the Glue job run fails)."""
    result = tmp_path / "out" / "result.json"
    args = {"warehouse": str(tmp_path / "wh"), "pipeline": str(PIPELINE),
            "sources": f"customers={running_example_data['customers']}",
            "result-uri": str(result)}
    with pytest.raises(SourceError, match="no path given for source"):
        run_pipeline(args, spark, cache=tmp_path / "cache")
    failure = json.loads(result.read_text())
    assert failure["status"] == "failed" and failure["error"] == "SourceError"
    assert "mails" in failure["message"] and failure["job"] == "run_pipeline"


@pytest.mark.s3
def test_missing_remote_files_are_typed_errors(spark, s3_endpoint, tmp_path):
    import boto3

    bucket = f"glue-missing-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket)
    with pytest.raises(GlueJobArgumentError, match="--pipeline: no file at"):
        run_pipeline({"warehouse": str(tmp_path), "pipeline": f"s3://{bucket}/p/pipeline.py",
                      "sources": "a=b"}, spark, cache=tmp_path / "cache")
    with pytest.raises(GlueJobArgumentError, match="--request: no file at"):
        apply_deletion({"warehouse": str(tmp_path), "request": f"s3://{bucket}/r.json"}, spark)
