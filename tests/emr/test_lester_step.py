"""emr/steps/lester_step.py: the step driver, on local Spark with S3A against moto's server.

The driver's file copies go through Hadoop's FileSystem exactly as on EMR (there through
EMRFS); the engine command is replaced by a stand-in that records its arguments, since the
driver's job is only to prepare them (stage or restore pipeline files, localize the request)
and to publish the command's summary.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from spark_lester.artifacts import registry
from spark_lester.artifacts.layout import Layout
from spark_lester.config import project_root

pytestmark = pytest.mark.s3


def _driver():
    path = project_root() / "emr" / "steps" / "lester_step.py"
    spec = importlib.util.spec_from_file_location("lester_step", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bucket(s3_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="step-driver")
    s3.put_object(Bucket="step-driver", Key="inputs/pipeline.py", Body=PIPELINE)
    return s3


PIPELINE = b"def prepare(mails):\n    return mails\n"
SHA = hashlib.sha256(PIPELINE).hexdigest()


def test_parse_and_usage():
    driver = _driver()
    assert driver.parse(["--result-uri", "s3://b/r.json", "delete", "r.json"]) == \
        ("s3://b/r.json", ["delete", "r.json"])
    with pytest.raises(SystemExit):
        driver.parse([])
    with pytest.raises(SystemExit):
        driver.parse(["--result-uri"])


def test_step_stages_the_pipeline_and_publishes_the_summary(spark, bucket, monkeypatch,
                                                            tmp_path):
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "emr")
    seen = {}

    def engine(argv):
        seen["argv"] = argv
        seen["pipeline"] = Path(argv[1]).read_bytes()
        Path(argv[argv.index("--json") + 1]).write_text(json.dumps({"rows_prepared": 42}))
        return 0

    argv = ["--result-uri", "s3a://step-driver/results/1-run.json",
            "run", "s3a://step-driver/inputs/pipeline.py", "--source", "mails=s3a://raw/mails/",
            "--warehouse", "s3a://step-driver/warehouse"]
    cache = tmp_path / "cache"
    assert _driver().main(argv, spark=spark, cli_main=engine, cache=cache) == 0
    assert seen["pipeline"] == PIPELINE
    # run from <cache>/<sha256>/<folder>/<file>: it outlives the step, and the run is named
    # after the pipeline's folder, not after a temporary one
    staged = cache / SHA / "inputs" / "pipeline.py"
    assert seen["argv"][1] == str(staged) and staged.read_bytes() == PIPELINE
    assert seen["argv"][2:6] == ["--source", "mails=s3a://raw/mails/", "--warehouse",
                                 "s3a://step-driver/warehouse"]
    copy = f"warehouse/_lester/pipelines/{SHA}/inputs/pipeline.py"
    assert bucket.get_object(Bucket="step-driver", Key=copy)["Body"].read() == PIPELINE
    body = bucket.get_object(Bucket="step-driver", Key="results/1-run.json")["Body"].read()
    assert json.loads(body) == {"rows_prepared": 42}


def _record(spark, warehouse: str, pipeline_path: str) -> None:
    """A registry entry as ``run`` writes it, for a run of the staged pipeline."""
    registry.record_run(spark, Layout(warehouse), registry.RunRecord(
        run_id="r1", pipeline=Path(pipeline_path).parent.name, pipeline_path=pipeline_path,
        pipeline_sha256=SHA, created_at=datetime.now(timezone.utc),
        sources={"mails": {"path": "s3a://raw/mails/", "format": "csv", "key": "mail_id",
                           "columns": ["mail_id"], "fingerprint": {}}},
        tables={}, plan={}, lineage={}, matrix_provenance={}, feature_columns=[],
        output_columns=["mail_id"], label=None, split={}, cluster_by=None, rows={}))


def test_delete_step_restores_the_pipeline_files_of_its_runs(spark, bucket, monkeypatch,
                                                             tmp_path):
    """A later delete step, on a node without the run step's cache (another cluster),
    finds the pipeline file where the registry says the run read it."""
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "emr")
    warehouse = "s3a://step-driver/restore/warehouse"
    cache = tmp_path / "cache"

    def run_engine(argv):
        _record(spark, warehouse, argv[1])
        return 0

    driver = _driver()
    assert driver.main(["run", "s3a://step-driver/inputs/pipeline.py", "--source",
                        "mails=s3a://raw/mails/", "--warehouse", warehouse],
                       spark=spark, cli_main=run_engine, cache=cache) == 0
    staged = cache / SHA / "inputs" / "pipeline.py"
    shutil.rmtree(cache)  # a fresh node
    bucket.put_object(Bucket="step-driver", Key="inputs/request.json",
                      Body=json.dumps({"source": "mails", "keys": [1],
                                       "action": "delete_rows"}).encode())
    seen = {}

    def delete_engine(argv):
        (run,) = registry.list_runs(spark, Layout(warehouse))
        seen["pipeline"] = Path(run.pipeline_path).read_bytes()
        seen["request"] = json.loads(Path(argv[1]).read_text())
        return 0

    assert driver.main(["delete", "s3a://step-driver/inputs/request.json", "--warehouse",
                        warehouse], spark=spark, cli_main=delete_engine, cache=cache) == 0
    assert staged.read_bytes() == PIPELINE
    assert seen == {"pipeline": PIPELINE,
                    "request": {"source": "mails", "keys": [1], "action": "delete_rows"}}


def test_missing_pipeline_is_a_bad_input_exit_code(spark, bucket, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "emr")
    argv = ["run", "s3a://step-driver/inputs/missing.py", "--warehouse",
            "s3a://step-driver/warehouse"]
    called = []
    assert _driver().main(argv, spark=spark, cli_main=called.append, cache=tmp_path) == 2
    assert not called
    assert "no file at s3a://step-driver/inputs/missing.py" in capsys.readouterr().err


def test_step_fails_with_the_command(spark, bucket, monkeypatch, capsys):
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "emr")
    argv = ["--result-uri", "s3a://step-driver/results/2-delete.json", "delete", "local.json",
            "--warehouse", "s3a://art/warehouse"]
    assert _driver().main(argv, spark=spark, cli_main=lambda a: 2) == 2
    err = capsys.readouterr().err
    assert "wrote no summary" in err and "exit code 2" in err
    assert "Contents" not in bucket.list_objects_v2(Bucket="step-driver", Prefix="results/2-")
