"""emr/configurations.json: Delta on, the engine's Spark settings, Python 3.11, no jars."""

from __future__ import annotations

import json

from spark_lester.aws.package import CLUSTER_PYTHON
from spark_lester.config import LesterConfig, project_root
from spark_lester.session import spark_conf

CONFIGURATIONS = project_root() / "emr" / "configurations.json"


def _by_class():
    return {c["Classification"]: c for c in json.loads(CONFIGURATIONS.read_text())}


def test_delta_is_enabled_on_the_cluster():
    assert _by_class()["delta-defaults"]["Properties"] == {"delta.enabled": "true"}


def test_spark_defaults_match_the_engine_session():
    """The classifications and the session factory must agree on every Delta setting
    (one could otherwise silently override the other)."""
    defaults = _by_class()["spark-defaults"]["Properties"]
    engine = spark_conf(LesterConfig(platform="emr"))
    for key in ("spark.sql.extensions", "spark.sql.catalog.spark_catalog",
                "spark.databricks.delta.retentionDurationCheck.enabled",
                "spark.sql.session.timeZone", "spark.sql.execution.arrow.pyspark.enabled"):
        assert defaults[key] == engine[key], key
    assert defaults["spark.databricks.delta.retentionDurationCheck.enabled"] == "false"


def test_nothing_jvm_side_is_shipped():
    defaults = _by_class()["spark-defaults"]["Properties"]
    assert not {"spark.jars", "spark.jars.packages", "spark.driver.extraClassPath"} & set(defaults)
    assert "spark.jars" not in spark_conf(LesterConfig(platform="emr"))


def test_python_and_platform_for_driver_and_executors():
    exports = _by_class()["spark-env"]["Configurations"][0]
    assert exports["Classification"] == "export"
    assert exports["Properties"] == {"PYSPARK_PYTHON": CLUSTER_PYTHON,
                                     "PYSPARK_DRIVER_PYTHON": CLUSTER_PYTHON,
                                     "SPARK_LESTER_PLATFORM": "emr"}
    defaults = _by_class()["spark-defaults"]["Properties"]
    assert defaults["spark.pyspark.python"] == CLUSTER_PYTHON
    assert defaults["spark.executorEnv.SPARK_LESTER_PLATFORM"] == "emr"
    assert LesterConfig.from_env({"SPARK_LESTER_PLATFORM": "emr"}).platform == "emr"
