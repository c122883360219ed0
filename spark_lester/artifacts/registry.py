"""The run registry: one row per pipeline run in ``<root>/_lester/runs`` (a Delta table).

A run records what it read (each source's path, format, key and a fingerprint: the Delta
version, or the size and modification time of the files), where its artifact tables are and
at which version it left them, its plan and column lineage, the fitted encoder and its matrix
column provenance. Deletion requests find the runs that read a source here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import Layout
from spark_lester.errors import RunNotFoundError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Columns of the registry table; JSON-valued fields are stored as strings.
_JSON_FIELDS = ("sources", "tables", "plan", "lineage", "matrix_provenance", "feature_columns",
                "output_columns", "split", "rows")
_SCHEMA = ("run_id STRING, pipeline STRING, pipeline_path STRING, pipeline_sha256 STRING, "
           "created_at TIMESTAMP, sources STRING, tables STRING, plan STRING, lineage STRING, "
           "matrix_provenance STRING, feature_columns STRING, output_columns STRING, "
           "label STRING, split STRING, cluster_by STRING, rows STRING, encoder BINARY, "
           "seconds DOUBLE, encoder_request STRING")


@dataclass(frozen=True)
class TableState:
    """Where a run left one artifact table: its path and Delta version. The model table also
    names the model's kind and how long its training took (the retrain baseline)."""

    path: str
    version: int
    kind: str | None = None
    train_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The registry's JSON form (unset fields left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class RunRecord:
    """What one run read and wrote. ``tables`` maps artifact name -> :class:`TableState`
    (plain ``{"path", "version", ...}`` dicts are accepted and converted)."""

    run_id: str
    pipeline: str
    pipeline_path: str
    pipeline_sha256: str
    created_at: Any
    sources: dict[str, dict[str, Any]]
    tables: dict[str, dict[str, Any]]
    plan: dict[str, Any]
    lineage: dict[str, dict[str, list[str]]]
    matrix_provenance: dict[str, list[list[int]]]
    feature_columns: list[str]
    output_columns: list[str]
    label: str | None
    split: dict[str, Any]
    cluster_by: str | None
    rows: dict[str, int]
    encoder: bytes | None = field(default=None, repr=False)
    seconds: float = 0.0
    #: The deletion request whose encoder step stored ``encoder`` (None: fitted by the run).
    #: A re-submit of that request finds its encoder step done (``deletion.encoder``).
    encoder_request: str | None = None

    def __post_init__(self) -> None:
        tables = {n: t if isinstance(t, TableState) else TableState(**t)
                  for n, t in self.tables.items()}
        object.__setattr__(self, "tables", tables)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description without the encoder bytes and the plan."""
        out = asdict(self)
        out["tables"] = {n: t.to_json() for n, t in self.tables.items()}
        for key in ("encoder", "plan", "lineage", "matrix_provenance"):
            out.pop(key)
        out["created_at"] = str(self.created_at)
        return out

    def reads(self, source: str) -> bool:
        return source in self.sources


def record_run(spark: SparkSession, layout: Layout, run: RunRecord) -> None:
    """Append ``run`` to the registry (creating the table on first use)."""
    df = _row_frame(spark, run)
    with store.storage_errors(layout.runs):
        # a registry written before a column was added gains it (read back as None)
        df.write.format("delta").mode("append").option("mergeSchema", "true").save(layout.runs)


def _row_frame(spark: SparkSession, run: RunRecord) -> DataFrame:
    """``run`` as a one-row DataFrame of the registry's schema."""
    from pyspark.sql import Row

    values = asdict(run)
    values["tables"] = {n: t.to_json() for n, t in run.tables.items()}
    for key in _JSON_FIELDS:
        values[key] = json.dumps(values[key], sort_keys=True, default=str)
    values["encoder"] = bytearray(run.encoder) if run.encoder is not None else None
    return spark.createDataFrame([Row(**values)], schema=_SCHEMA)


def replace_run(spark: SparkSession, layout: Layout, run: RunRecord) -> None:
    """Replace the registry row of ``run.run_id`` with ``run`` (a deletion stores the
    downdated encoder; the erasure then purges the files of the old row)."""
    from delta.tables import DeltaTable

    df = _row_frame(spark, run)
    with store.storage_errors(layout.runs):
        (DeltaTable.forPath(spark, layout.runs).alias("t")
         .merge(df.alias("s"), "t.run_id = s.run_id").whenMatchedUpdateAll()
         .withSchemaEvolution().execute())


def list_runs(spark: SparkSession, layout: Layout, *, pipeline: str | None = None
              ) -> list[RunRecord]:
    """Every recorded run (oldest first), optionally of one pipeline."""
    if not store.exists(spark, layout.runs):
        return []
    with store.storage_errors(layout.runs):
        df = spark.read.format("delta").load(layout.runs)
        if pipeline is not None:
            df = df.where(df.pipeline == pipeline)
        rows = df.collect()
    # sorted here: a Spark sort costs a sampling job and a shuffle (the registry is small)
    return [_record(r.asDict()) for r in sorted(rows, key=lambda r: (r.created_at, r.run_id))]


def get_run(spark: SparkSession, layout: Layout, run_id: str) -> RunRecord:
    for run in list_runs(spark, layout):
        if run.run_id == run_id:
            return run
    raise RunNotFoundError(f"no run '{run_id}' in the warehouse {layout.root}.", run_id=run_id)


def _record(values: dict[str, Any]) -> RunRecord:
    for key in _JSON_FIELDS:
        values[key] = json.loads(values[key]) if values[key] is not None else None
    if values.get("encoder") is not None:
        values["encoder"] = bytes(values["encoder"])
    return RunRecord(**values)


def fingerprint(spark: SparkSession, path: str, fmt: str) -> dict[str, Any]:
    """What identifies the data a source path held: Delta version, or files' size/mtime."""
    if fmt == "delta":
        return {"version": store.table_version(spark, path)}
    jvm = spark._jvm  # type: ignore[attr-defined]
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    with store.storage_errors(path):
        fs = hpath.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
        files = fs.listFiles(hpath, True)
        size, mtime, count = 0, 0, 0
        while files.hasNext():
            status = files.next()
            name = status.getPath().getName()
            if name.startswith((".", "_")):
                continue
            size += int(status.getLen())
            mtime = max(mtime, int(status.getModificationTime()))
            count += 1
    return {"bytes": size, "modified_ms": mtime, "files": count}
