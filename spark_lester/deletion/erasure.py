"""Physical erasure of the touched tables: purge, expire the log, vacuum.

After the MERGEs, deleted and replaced rows still exist physically: in data files that are
now only masked by deletion vectors, and in files the table no longer references. Erasure:

1. ``REORG TABLE ... APPLY (PURGE)`` rewrites every file that has a deletion vector (only
   those: the clustered layout keeps that to the files of the touched entities);
2. a checkpoint is written and the log entries before it are deleted, so no commit older
   than the erasure can be replayed (time travel to before the erasure is gone, on purpose);
3. ``VACUUM ... RETAIN 0 HOURS`` deletes every file the current version does not reference,
   scoped to this one table (after step 2: no log entry names a deleted file, even when the
   process dies between the two).

Step 1 is :func:`purge`, steps 2 and 3 are :func:`vacuum`: ``unlearn`` runs the purges of all
touched tables first, then their vacuums.

Every commit it makes carries the request id (see :func:`spark_lester.deletion.merge.stamped`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.deletion.merge import stamped

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: A temporary file of an unfinished write (and the local file system's checksum of it).
_TEMPORARY = re.compile(r"^.*\.tmp(\.crc)?$")
_VERSIONED = re.compile(r"^(\d{20})\.(json|crc|checkpoint\..*parquet|checkpoint\.parquet)$")


def purge(spark: SparkSession, path: str, *, request_id: str) -> dict[str, Any]:
    """Step 1: rewrite the files that have deletion vectors. Nothing is deleted yet: readers
    of the version before stay valid until :func:`vacuum`."""
    started = time.perf_counter()
    quoted = path.replace("`", "``")
    with stamped(spark, request_id), store.storage_errors(path):
        rows = spark.sql(f"REORG TABLE delta.`{quoted}` APPLY (PURGE)").collect()
    metrics = rows[0].asDict(recursive=True).get("metrics") if rows else None
    files_rewritten = int((metrics or {}).get("numFilesRemoved", 0) or 0)
    return {"files_rewritten": files_rewritten,
            "purge_seconds": round(time.perf_counter() - started, 3)}


def vacuum(spark: SparkSession, path: str, *, request_id: str) -> dict[str, Any]:
    """Steps 2 and 3: checkpoint and delete the earlier log entries, then delete every file
    the current version does not reference. The log goes first: a version whose files are
    gone is then named by no log entry (a re-submitted request reads a source at a version
    only while its log holds it; see ``stages.resolve``)."""
    started = time.perf_counter()
    quoted = path.replace("`", "``")
    with stamped(spark, request_id), store.storage_errors(path):
        expired = expire_log(spark, path)
        check = "spark.databricks.delta.retentionDurationCheck.enabled"
        previous = spark.conf.get(check, None)
        spark.conf.set(check, "false")
        try:
            with _quiet_console(spark):
                vacuumed = spark.sql(f"VACUUM delta.`{quoted}` RETAIN 0 HOURS").collect()
        finally:
            if previous is not None:
                spark.conf.set(check, previous)
    return {"vacuumed": len(vacuumed), "log_files_expired": expired,
            "version": store.table_version(spark, path),
            "vacuum_seconds": round(time.perf_counter() - started, 3)}


@contextmanager
def _quiet_console(spark: SparkSession) -> Iterator[None]:
    """Silence Scala's console on the driver thread that runs the block.

    Delta's VACUUM reports "Deleted N files and directories in a total of M directories" with
    Scala's ``println`` (``DatabricksLogging.logConsole``), which goes to the JVM's standard
    output: the standard output of ``spark-lester delete`` and ``demo``, where a ``--json -``
    reader expects JSON only. The file count is in VACUUM's result already. Scala's console
    is per thread (PySpark pins each Python thread to one JVM thread), so only this thread's
    prints are dropped, and only for the block.
    """
    jvm = spark._jvm  # type: ignore[attr-defined]
    console = jvm.scala.Console
    previous = console.out()
    console.setOut(jvm.java.io.PrintStream(jvm.java.io.OutputStream.nullOutputStream()))
    try:
        yield
    finally:
        console.setOut(previous)


def expire_log(spark: SparkSession, path: str) -> int:
    """Checkpoint the latest version and delete every log file of earlier versions."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(
        spark._jsparkSession, path)  # type: ignore[attr-defined]
    snapshot = delta_log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())
    version = int(snapshot.version())
    delta_log.checkpoint()
    log_dir = jvm.org.apache.hadoop.fs.Path(f"{path.rstrip('/')}/_delta_log")
    fs = log_dir.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    removed = 0
    for status in fs.listStatus(log_dir):
        name = status.getPath().getName()
        match = _VERSIONED.match(name)
        if match and int(match.group(1)) < version:
            fs.delete(status.getPath(), False)
            removed += 1
    return removed + remove_temporary(spark, path)


def remove_temporary(spark: SparkSession, path: str) -> int:
    """Delete the temporary files of commits that never completed: a writer killed while it
    wrote ``00000000000000000002.json`` leaves ``.00000000000000000002.json.<uuid>.tmp``
    (and ``_commits/`` entries) holding that commit's actions, its MERGE predicate with the
    request's row ids included. Delta never reads them; nothing else deletes them. Spark
    lester writes a table from one driver at a time, so none of them belongs to a live
    writer here."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    removed = 0
    for folder in ("_delta_log", "_delta_log/_commits"):
        log_dir = jvm.org.apache.hadoop.fs.Path(f"{path.rstrip('/')}/{folder}")
        fs = log_dir.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
        if not fs.exists(log_dir):
            continue
        for status in fs.listStatus(log_dir):
            name = status.getPath().getName()
            if status.isFile() and _TEMPORARY.match(name):
                fs.delete(status.getPath(), False)
                removed += 1
    return removed
