"""Delta tables of the artifact store: created with the properties erasure relies on.

Every artifact table is created with

* deletion vectors on, so a deletion is a cheap logical MERGE and the physical rewrite is a
  separate, scoped ``REORG TABLE ... APPLY (PURGE)``;
* column statistics only on the id columns (``delta.dataSkippingStatsColumns``): min/max
  statistics of free-text columns would copy personal data into the transaction log;
* a clustered layout: rows are range-partitioned and sorted by one provenance column (the
  entity deletion requests name, e.g. a customer), so one entity's rows share few files and
  a purge rewrites only those files; the id statistics let Delta skip the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from spark_lester import retry
from spark_lester.errors import StorageError, TerminalStorageError, variant

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Table properties of every artifact table.
BASE_PROPERTIES = {
    "delta.enableDeletionVectors": "true",
    "delta.enableChangeDataFeed": "false",
    "delta.checkpointInterval": "10",
}
#: Default number of rows per data file of a clustered artifact table.
ROWS_PER_FILE = 25_000


#: Java classes that mark a failure as one of storage (I/O, the AWS SDK).
_IO_CLASSES = ("java.io.IOException", "com.amazonaws.SdkBaseException",
               "software.amazon.awssdk.core.exception.SdkException")


@contextmanager
def storage_errors(path: str, *, io_only: bool = False) -> Iterator[None]:
    """Turn JVM failures under ``path`` into :class:`StorageError`: transient unless
    :func:`spark_lester.retry.storage_failure` finds a lasting cause in the Java cause chain
    (access denied, no such bucket or file, a bad request).

    Around a call that only touches storage every Java error is a storage error. With
    ``io_only`` (around a whole step that also evaluates user code and queries) only those
    whose cause chain holds an I/O or AWS SDK exception are; the others pass unchanged.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException

    try:
        yield
    except (Py4JJavaError, CapturedException) as exc:
        chain = _java_chain(exc)
        storage = any(_is_io(t) for t in chain)
        if not storage and (io_only or isinstance(exc, CapturedException)):
            raise
        transient = retry.storage_failure([_simple_name(t) for t in chain],
                                          [_first_line(t) for t in chain])
        raise variant(StorageError, transient=transient)(
            f"storage operation on {path} failed: {_java_cause(chain, exc)}", path=path
        ) from None


def _java_chain(exc: BaseException) -> list[Any]:
    """The Java throwable behind a Py4J or captured PySpark error and its causes."""
    throwable = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    chain: list[Any] = []
    try:
        while throwable is not None and len(chain) < 32:
            chain.append(throwable)
            throwable = throwable.getCause()
    except Exception:  # noqa: BLE001 - best effort: not a Java object
        pass
    return chain


def _is_io(throwable: Any) -> bool:
    from py4j.java_gateway import is_instance_of
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    try:
        return any(is_instance_of(gateway, throwable, name) for name in _IO_CLASSES)
    except Exception:  # noqa: BLE001 - a class this JVM does not have
        return False


def _simple_name(throwable: Any) -> str:
    try:
        return str(throwable.getClass().getSimpleName())
    except Exception:  # noqa: BLE001
        return ""


def _first_line(throwable: Any) -> str:
    try:
        return (str(throwable.getMessage() or "").splitlines() or [""])[0][:200]
    except Exception:  # noqa: BLE001
        return ""


def _java_cause(chain: list[Any], exc: BaseException) -> str:
    """The innermost Java exception class and the first line of its message (no data)."""
    try:
        throwable = chain[-1]
        return f"{throwable.getClass().getSimpleName()}: {_first_line(throwable)}"
    except Exception:  # noqa: BLE001 - best effort description
        return type(exc).__name__


def create_table(spark: SparkSession, path: str, df: DataFrame, *,
                 stats_columns: Sequence[str], properties: Mapping[str, str] | None = None
                 ) -> None:
    """Create an empty Delta table at ``path`` with ``df``'s schema and our properties."""
    from delta.tables import DeltaTable

    props = {**BASE_PROPERTIES, "delta.dataSkippingStatsColumns": ",".join(stats_columns),
             **(properties or {})}
    with storage_errors(path):
        builder = DeltaTable.createOrReplace(spark).location(path).addColumns(df.schema)
        for key, value in props.items():
            builder = builder.property(key, value)
        builder.execute()


def write_clustered(df: DataFrame, path: str, *, cluster_by: str | None, rows: int,
                    stats_columns: Sequence[str], rows_per_file: int = ROWS_PER_FILE) -> int:
    """Create the table and append ``df`` clustered by ``cluster_by``; return its version.

    ``rows`` (the row count, known to the caller) sets the number of files. Range
    partitioning samples its input: ``df`` should be cached or cheap to recompute.
    """
    from pyspark.sql import functions as F

    spark = df.sparkSession
    create_table(spark, path, df, stats_columns=stats_columns)
    files = max(1, math.ceil(rows / max(1, rows_per_file)))
    if cluster_by is not None:
        out = df.repartitionByRange(files, F.col(cluster_by)).sortWithinPartitions(cluster_by)
    else:
        out = df.repartition(files)
    with storage_errors(path):
        out.write.format("delta").mode("append").save(path)
    return table_version(spark, path)


def _snapshot(spark: SparkSession, path: str) -> Any:
    """The latest snapshot of the Delta table at ``path`` (a JVM object; no Spark job)."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    with storage_errors(path):
        log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(
            spark._jsparkSession, path)  # type: ignore[attr-defined]
        return log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


def table_version(spark: SparkSession, path: str) -> int:
    """The latest committed version of the Delta table at ``path``.

    Read from the transaction log directly (no Spark job): it is called for every table
    before and after each step of a request.
    """
    snapshot = _snapshot(spark, path)
    with storage_errors(path):
        version = int(snapshot.version())
    if version < 0:
        raise TerminalStorageError(f"no Delta table at {path}.", path=path,
                           hint="Check the warehouse location; the run may have been removed.")
    return version


def file_count(spark: SparkSession, path: str) -> int:
    """The number of data files of the Delta table's latest version (from the snapshot; its
    checksum file holds the count)."""
    snapshot = _snapshot(spark, path)
    with storage_errors(path):
        return int(snapshot.numOfFiles())


def history(spark: SparkSession, path: str, since: int) -> list[dict[str, object]]:
    """Commits after version ``since``: version, operation and userMetadata."""
    from delta.tables import DeltaTable

    with storage_errors(path):
        rows = (DeltaTable.forPath(spark, path).history()
                .where(f"version > {int(since)}")
                .select("version", "operation", "userMetadata").collect())
    return sorted((r.asDict() for r in rows), key=lambda r: int(r["version"]))  # type: ignore[arg-type]


def commit_info(spark: SparkSession, path: str, version: int) -> dict[str, Any]:
    """The ``commitInfo`` action of one commit, read from its log file (no Spark job)."""
    import json

    jvm = spark._jvm  # type: ignore[attr-defined]
    with storage_errors(path):
        log_file = jvm.org.apache.hadoop.fs.Path(
            f"{path.rstrip('/')}/_delta_log/{int(version):020d}.json")
        fs = log_file.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
        stream = fs.open(log_file)
        try:
            text = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()
    for line in text.splitlines():
        if line.startswith('{"commitInfo"'):
            return dict(json.loads(line)["commitInfo"])
    return {}


#: A Delta commit, checkpoint or the checkpoint pointer in ``_delta_log``.
_COMMIT_FILE = re.compile(r"^(\d{20}\.(json|checkpoint.*\.parquet)|_last_checkpoint)$")


def exists(spark: SparkSession, path: str) -> bool:
    """Whether a Delta table exists at ``path``: its ``_delta_log`` folder holds a commit or
    a checkpoint. A process killed while it created the table can leave the folder with
    nothing in it but ``_commits`` (or a temporary file): that is no table yet, and the next
    write creates it."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    with storage_errors(path):
        log_dir = jvm.org.apache.hadoop.fs.Path(f"{path.rstrip('/')}/_delta_log")
        fs = log_dir.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
        if not fs.exists(log_dir):
            return False
        return any(_COMMIT_FILE.match(status.getPath().getName())
                   for status in fs.listStatus(log_dir))
