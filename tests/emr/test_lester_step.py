"""emr/steps/lester_step.py: the step driver, on local Spark with S3A against moto's server.

The driver's file copies go through Hadoop's FileSystem exactly as on EMR (there through
EMRFS); the engine command is replaced by a stand-in that records its arguments, since the
driver's job is only to prepare them and to publish the command's summary.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

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
    s3.put_object(Bucket="step-driver", Key="inputs/pipeline.py", Body=b"def prepare(mails):\n    return mails\n")
    return s3


def test_parse_and_usage():
    driver = _driver()
    assert driver.parse(["--result-uri", "s3://b/r.json", "delete", "r.json"]) == \
        ("s3://b/r.json", ["delete", "r.json"])
    with pytest.raises(SystemExit):
        driver.parse([])
    with pytest.raises(SystemExit):
        driver.parse(["--result-uri"])


def test_step_localizes_the_pipeline_and_publishes_the_summary(spark, bucket, monkeypatch):
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "emr")
    seen = {}

    def engine(argv):
        seen["argv"] = argv
        seen["pipeline"] = Path(argv[1]).read_text()
        Path(argv[argv.index("--json") + 1]).write_text(json.dumps({"rows_prepared": 42}))
        return 0

    argv = ["--result-uri", "s3a://step-driver/results/1-run.json",
            "run", "s3a://step-driver/inputs/pipeline.py", "--source", "mails=s3a://raw/mails/",
            "--warehouse", "s3a://art/warehouse"]
    assert _driver().main(argv, spark=spark, cli_main=engine) == 0
    assert seen["pipeline"].startswith("def prepare(mails)")
    assert not seen["argv"][1].startswith("s3a://")
    assert seen["argv"][2:6] == ["--source", "mails=s3a://raw/mails/", "--warehouse", "s3a://art/warehouse"]
    body = bucket.get_object(Bucket="step-driver", Key="results/1-run.json")["Body"].read()
    assert json.loads(body) == {"rows_prepared": 42}


def test_step_fails_with_the_command(spark, bucket, monkeypatch, capsys):
    monkeypatch.setenv("SPARK_LESTER_PLATFORM", "emr")
    argv = ["--result-uri", "s3a://step-driver/results/2-delete.json", "delete", "local.json",
            "--warehouse", "s3a://art/warehouse"]
    assert _driver().main(argv, spark=spark, cli_main=lambda a: 2) == 2
    err = capsys.readouterr().err
    assert "wrote no summary" in err and "exit code 2" in err
    assert "Contents" not in bucket.list_objects_v2(Bucket="step-driver", Prefix="results/2-")
