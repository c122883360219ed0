"""Session factory settings, typed configuration, and how an active session takes a config."""

from __future__ import annotations

import pytest

from spark_lester.config import LesterConfig
from spark_lester.errors import ConfigError, SessionError
from spark_lester.session import REQUIRED_JARS, spark_conf


def test_local_conf_adds_delta_and_s3a_jars():
    conf = spark_conf(LesterConfig())
    jars = conf["spark.jars"].split(",")
    for name in REQUIRED_JARS:
        assert any(j.endswith(name) for j in jars)
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "spark.hadoop.fs.s3a.endpoint" not in conf


def test_s3_endpoint_is_path_style_without_ssl():
    conf = spark_conf(LesterConfig(s3_endpoint="http://127.0.0.1:5000"))
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert not any("secret" in k or "access.key" in k for k in conf)  # credentials not here


@pytest.mark.parametrize("platform", ["emr", "glue"])
def test_cluster_platforms_ship_nothing_jvm_side(platform, tmp_path):
    conf = spark_conf(LesterConfig(platform=platform, jars_dir=tmp_path))  # no jars there
    assert "spark.jars" not in conf and "spark.driver.memory" not in conf
    assert conf["spark.sql.catalog.spark_catalog"].endswith("DeltaCatalog")


def test_missing_jars_say_how_to_fetch(tmp_path):
    with pytest.raises(SessionError, match="missing JVM jars.*mvn"):
        spark_conf(LesterConfig(jars_dir=tmp_path))


def test_config_from_env_types_and_errors():
    cfg = LesterConfig.from_env({"SPARK_LESTER_SHUFFLE_PARTITIONS": "3",
                                 "SPARK_LESTER_SPARK_UI": "yes",
                                 "SPARK_LESTER_S3_ENDPOINT": "http://localhost:1"})
    assert (cfg.shuffle_partitions, cfg.spark_ui, cfg.s3_endpoint) == (3, True, "http://localhost:1")
    with pytest.raises(ConfigError, match="SPARK_LESTER_SHUFFLE_PARTITIONS='x' is not an integer"):
        LesterConfig.from_env({"SPARK_LESTER_SHUFFLE_PARTITIONS": "x"})
    with pytest.raises(ConfigError, match="not one of local, emr, glue"):
        LesterConfig.from_env({"SPARK_LESTER_PLATFORM": "k8s"})
    assert LesterConfig.from_env({}, master="local[1]").master == "local[1]"


def test_python_workers_fork_from_a_preloading_daemon_unless_turned_off():
    from spark_lester.worker_daemon import preload

    assert spark_conf(LesterConfig())["spark.python.daemon.module"] == \
        "spark_lester.worker_daemon"
    assert "spark.python.daemon.module" not in spark_conf(LesterConfig(worker_preload=False))
    assert "spark.python.daemon.module" not in spark_conf(LesterConfig(platform="emr"))
    assert preload(("json", "no_such_module_xyz")) == ["json"]


def _config_of(spark) -> LesterConfig:
    """The config the test session was started from, read back from the session."""
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    endpoint = spark.conf.get("spark.hadoop.fs.s3a.endpoint", None)
    return LesterConfig.from_env(shuffle_partitions=partitions, s3_endpoint=endpoint)


def test_an_active_session_takes_the_runtime_settings_of_a_config(spark):
    from spark_lester.session import get_spark, reconcile

    config = _config_of(spark)
    assert reconcile(spark, config) == {}
    try:
        assert get_spark(config.with_(shuffle_partitions=3)) is spark
        assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
        assert spark.conf.get("spark.databricks.delta.snapshotPartitions") == "3"
    finally:
        get_spark(config)
    assert spark.conf.get("spark.sql.shuffle.partitions") == str(config.shuffle_partitions)
    # sizing settings are left as the session has them; no config leaves it as it is
    assert reconcile(spark, config.with_(driver_memory="1g", warehouse="/tmp/elsewhere")) == {}
    assert get_spark() is spark


def test_an_active_session_refuses_a_config_with_other_static_settings(spark):
    from spark_lester.session import get_spark

    config = _config_of(spark)
    other = config.with_(s3_endpoint="http://127.0.0.1:1", shuffle_partitions=5)
    with pytest.raises(SessionError, match=r"other values of .*spark\.hadoop\.fs\.s3a\.endpoint"
                       r".*Pass that session") as info:
        get_spark(other)
    assert "127.0.0.1:1" not in str(info.value)  # settings are named, values not shown
    assert spark.conf.get("spark.sql.shuffle.partitions") == str(config.shuffle_partitions)


COLD_START = r"""
import json, sys, threading, time
from pyspark.sql import SparkSession
from spark_lester.config import LesterConfig
from spark_lester.session import get_spark_while

marks = {}

def work():
    marks["work_thread"] = threading.current_thread().name
    marks["jvm_up_when_work_began"] = SparkSession.getActiveSession() is not None
    time.sleep(1.0)  # stands in for the imports
    marks["work_done"] = time.perf_counter()

spark = get_spark_while(LesterConfig.from_env(warehouse=sys.argv[1], shuffle_partitions=2), work)
marks["session_ready"] = time.perf_counter()
marks["active_here"] = SparkSession.getActiveSession() is not None
marks["same"] = SparkSession.getActiveSession()._jsparkSession.equals(spark._jsparkSession)
marks["rows"] = spark.range(3).count()
print("MARKS" + json.dumps(marks))
"""


def test_a_cold_session_starts_while_the_work_runs_and_is_active_here(tmp_path):
    """``get_spark_while`` in a fresh process: the work runs on this thread while the JVM
    starts (the session is not up when it begins), and the session it returns is this
    thread's active one."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", COLD_START, str(tmp_path / "wh")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    marks = json.loads(done.stdout.split("MARKS", 1)[1])
    assert marks["work_thread"] == "MainThread"
    assert marks["jvm_up_when_work_began"] is False
    assert marks["active_here"] is True and marks["same"] is True and marks["rows"] == 3
