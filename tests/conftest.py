"""One SparkSession for the whole test session (Spark is slow to start)."""

from __future__ import annotations

import os
import sys

import pytest

from spark_lester.config import LesterConfig, project_root
from spark_lester.session import get_spark

sys.path.insert(0, str(project_root()))  # the examples/ folder is importable in tests


#: The test session evaluates expressions without generating code: on tables of a few
#: rows, compiling each query's Java costs more than running it (tests/deletion/
#: test_ledger_golden.py: 164 s with code generation, 143 to 155 s without, single runs on
#: 2026-12-07). Spark tests both paths for equal results; the engine's default (generated
#: code) still runs in the cluster test's driver and in every sandboxed rewrite.
INTERPRETED = {"spark.sql.codegen.wholeStage": "false",
               "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on loopback (a real S3 API), with dummy credentials."""
    from tests.s3server import start_moto

    server, endpoint = start_moto()
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def spark(tmp_path_factory, s3_endpoint):
    warehouse = tmp_path_factory.mktemp("warehouse")
    # Commands run in-process read their config from the environment, and get_spark applies
    # its runtime settings to this session: the environment says what the session has.
    saved = os.environ.get("SPARK_LESTER_SHUFFLE_PARTITIONS")
    os.environ["SPARK_LESTER_SHUFFLE_PARTITIONS"] = "2"
    config = LesterConfig.from_env(master="local[2]", warehouse=str(warehouse),
                                   driver_memory="2g", s3_endpoint=s3_endpoint)
    session = get_spark(config)
    for key, value in INTERPRETED.items():
        session.conf.set(key, value)
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("SPARK_LESTER_SHUFFLE_PARTITIONS")
    else:
        os.environ["SPARK_LESTER_SHUFFLE_PARTITIONS"] = saved


@pytest.fixture(scope="session")
def running_example_data(tmp_path_factory):
    """Small generated customers/mails files of the running example."""
    from examples.running_example import generate

    folder = tmp_path_factory.mktemp("running_example")
    return generate.write(folder, n_customers=80, n_mails=800, seed=7)


@pytest.fixture(scope="session")
def running_example(spark, running_example_data):
    """The declarative running example's module and its prepared LesterFrame."""
    from spark_lester.config import project_root
    from spark_lester.frame.pipeline import load_pipeline, run_pipeline

    module = load_pipeline(project_root() / "examples" / "running_example" / "pipeline.py")
    sources = {k: running_example_data[k] for k in ("customers", "mails")}
    return module, run_pipeline(module, sources, spark=spark)
