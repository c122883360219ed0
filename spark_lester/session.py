"""The Spark session factory: local Spark with Delta by default, S3A when configured.

On ``platform="local"`` the Delta and S3A jars come from the project's ``.jars`` folder,
fetched by Maven from ``pom.xml`` (never by Ivy at start-up). On ``emr`` and ``glue`` nothing
JVM-side is added: the cluster's own Delta and S3 connectors are used, and only the Delta SQL
extension and catalog are set when the cluster has not set them already.

S3 credentials are read here, from the standard ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` variables, and handed to Hadoop; they are never logged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from spark_lester.config import LesterConfig
from spark_lester.errors import SessionError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import SparkSession

#: The jars a local session needs; versions match EMR 7.x (see pom.xml).
REQUIRED_JARS = (
    "delta-spark_2.12-3.3.2.jar",
    "delta-storage-3.3.2.jar",
    "hadoop-aws-3.3.4.jar",
    "aws-java-sdk-bundle-1.12.262.jar",
)


def local_jars(jars_dir: Path) -> list[Path]:
    """Every jar in ``jars_dir``; raise if one of :data:`REQUIRED_JARS` is missing."""
    missing = [name for name in REQUIRED_JARS if not (jars_dir / name).is_file()]
    if missing:
        raise SessionError(
            f"missing JVM jars in {jars_dir}: {', '.join(missing)}.",
            hint="Fetch them with `mvn -q dependency:copy-dependencies -DexcludeTransitive=true "
            "-DoutputDirectory=.jars` in the project root (bash dev.sh does this), or set "
            "SPARK_LESTER_JARS_DIR.",
        )
    return sorted(jars_dir.glob("*.jar"))


def spark_conf(config: LesterConfig) -> dict[str, str]:
    """The Spark settings for ``config`` (without credentials)."""
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(config.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        # Delta's state reconstruction defaults to 50 partitions: far too many locally.
        "spark.databricks.delta.snapshotPartitions": str(config.shuffle_partitions),
        # Erasure vacuums with zero retention; the check is replaced by scoped, explicit calls.
        "spark.databricks.delta.retentionDurationCheck.enabled": "false",
        # No VACUUM START/END commits: the ledger records every vacuum (files deleted per
        # table) and the erasure expires the log just before; two commits less per table.
        "spark.databricks.delta.vacuum.logging.enabled": "false",
    }
    if config.platform == "local":
        conf.update(
            {
                "spark.jars": ",".join(str(p) for p in local_jars(config.jars_dir)),
                "spark.driver.memory": config.driver_memory,
                "spark.ui.enabled": str(config.spark_ui).lower(),
                "spark.sql.warehouse.dir": str(Path(config.warehouse).absolute() / "_spark"),
                "spark.driver.extraJavaOptions": "-Dderby.system.home=/tmp/derby",
                # Delta's VACUUM lists files with this many tasks (default 10000): ~30 s
                # of empty tasks on a laptop for a table of a few files.
                "spark.sql.sources.parallelPartitionDiscovery.parallelism":
                    str(max(4, 2 * config.shuffle_partitions)),
            }
        )
        if config.worker_preload:
            # Python workers fork from a daemon that has torch and sentence-transformers
            # imported already (a worker idle for a minute is killed; the next one would
            # import them again, ~10 s).
            conf["spark.python.daemon.module"] = "spark_lester.worker_daemon"
        if config.python_daemon_module:
            conf["spark.python.daemon.module"] = config.python_daemon_module
    if config.s3_endpoint:
        conf.update(
            {
                "spark.hadoop.fs.s3a.endpoint": config.s3_endpoint,
                "spark.hadoop.fs.s3a.path.style.access": str(config.s3_path_style).lower(),
                "spark.hadoop.fs.s3a.connection.ssl.enabled": str(config.s3_ssl).lower(),
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                "spark.hadoop.fs.s3a.aws.credentials.provider":
                    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "spark.hadoop.fs.s3a.attempts.maximum": "2",
                "spark.hadoop.fs.s3a.retry.limit": "2",
                "spark.hadoop.fs.s3a.change.detection.mode": "none",
                "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
            }
        )
    return conf


#: Settings of a running session that only size or place it (memory, the UI, Spark's own
#: catalog directory): results do not depend on them, so a different value in ``config`` is
#: left as the active session has it.
SIZING = ("spark.driver.memory", "spark.ui.enabled", "spark.sql.warehouse.dir",
          "spark.driver.extraJavaOptions", "spark.ui.showConsoleProgress")


def get_spark(config: LesterConfig | None = None) -> SparkSession:
    """Return the process's SparkSession, creating it from ``config`` the first time.

    When a session is already active it is returned; without ``config`` it is returned as
    it is. With ``config`` the settings :func:`spark_conf` gives are compared with the
    session's (see :func:`reconcile`): runtime SQL settings (shuffle partitions, Delta's
    settings, the time zone) and the log level are applied to the session, sizing settings
    (:data:`SIZING`) are left as they are, and a static setting that differs (the Delta
    extension or catalog, the jars, the S3A connector, the Python worker daemon) raises
    :class:`~spark_lester.errors.SessionError` naming it, since a running JVM cannot change it.

    >>> spark = get_spark()  # doctest: +SKIP
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        if config is not None:
            reconcile(active, config)
        return active
    config = config or LesterConfig.from_env()
    if config.platform == "local" and not _has_java():
        raise SessionError("no Java runtime found.", hint="Install JDK 17 and set JAVA_HOME.")
    builder = SparkSession.builder.appName(config.app_name)
    if config.platform == "local":
        # Python workers must use this interpreter (its packages), not whatever is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = builder.master(config.master)
    for key, value in spark_conf(config).items():
        builder = builder.config(key, value)
    if config.s3_endpoint:
        key_id = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if key_id and secret:
            builder = builder.config("spark.hadoop.fs.s3a.access.key", key_id)
            builder = builder.config("spark.hadoop.fs.s3a.secret.key", secret)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(config.log_level)
    return spark


def get_spark_while(config: LesterConfig, work: Callable[[], object]) -> SparkSession:
    """``get_spark(config)`` started on a thread while ``work`` (a command's heavy imports)
    runs on this one: a cold command waits for the longer of the two, not for both (the JVM
    starts in its own process; this thread only waits for it). An error of the session is
    raised as :func:`get_spark` raises it, before one of ``work``."""
    from concurrent.futures import ThreadPoolExecutor

    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        work()
        return get_spark(config)
    with ThreadPoolExecutor(1, thread_name_prefix="lester-session") as starter:
        started = starter.submit(get_spark, config)
        try:
            work()
        finally:
            spark = started.result()
    # the JVM's active session is per thread: make it this thread's too
    spark._jvm.SparkSession.setActiveSession(spark._jsparkSession)  # type: ignore[attr-defined]
    return spark


def reconcile(spark: SparkSession, config: LesterConfig) -> dict[str, str]:
    """Bring a running session to ``config`` as far as a running session can change.

    Returns the runtime settings it set (name -> value). Runtime SQL settings (those
    ``spark.conf.isModifiable`` accepts, and Delta's ``spark.databricks.delta.*``, read per
    operation) are set with ``spark.conf.set``; :data:`SIZING` settings are left alone; any
    other setting that differs is static (fixed when the JVM started) and raises
    :class:`~spark_lester.errors.SessionError` naming the settings (never their values).
    Catalog settings (``spark.sql.catalog.*``) count as static: the catalog is loaded once.
    """
    wanted = spark_conf(config)
    current = {key: _current(spark, key) for key in wanted}
    differ = {key: value for key, value in wanted.items()
              if current[key] != value and key not in SIZING}
    if "spark.sql.extensions" in differ and set(differ["spark.sql.extensions"].split(",")) <= \
            set((current["spark.sql.extensions"] or "").split(",")):
        del differ["spark.sql.extensions"]  # the cluster loads ours among others
    runtime = {key: value for key, value in differ.items() if _runtime(spark, key)}
    static = sorted(set(differ) - set(runtime))
    if static:
        raise SessionError(
            f"a Spark session is already running with other values of {', '.join(static)}; "
            "these are fixed when Spark starts.",
            hint="Pass that session (spark=...) without a config, or start the process with "
            "the config you need.",
        )
    for key, value in runtime.items():
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel(config.log_level)
    return runtime


def _current(spark: SparkSession, key: str) -> str | None:
    value = spark.conf.get(key, None)
    return value if value is not None else spark.sparkContext.getConf().get(key)


def _runtime(spark: SparkSession, key: str) -> bool:
    if key.startswith("spark.sql.catalog."):
        return False
    return key.startswith("spark.databricks.delta.") or spark.conf.isModifiable(key)


def _has_java() -> bool:
    import shutil

    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))
