"""Running a pipeline into the warehouse: prepared data, X and y, and a registry entry.

``run`` reads the sources, calls the pipeline's ``prepare``, adds the split and the surrogate
row id, writes the prepared rows, fits the pipeline's encoder on the training rows (on the
driver), encodes every row on the executors and writes X and y, trains the pipeline's model
on the train rows (version 0 of the run's model table, see ``artifacts.model``), then records
the run.

>>> record = run("examples/running_example/pipeline.py",            # doctest: +SKIP
...              {"customers": "c.csv", "mails": "m.csv"}, warehouse="./.lester/warehouse")
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import registry, store
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout, check_name
from spark_lester.artifacts.model import model_settings, train_model, write_model
from spark_lester.errors import ConfigError, PlanError
from spark_lester.plan.columns import ROW_ID, SPLIT, provenance_column

if TYPE_CHECKING:
    from types import ModuleType

    from pyspark.sql import DataFrame, SparkSession

    from spark_lester.config import LesterConfig
    from spark_lester.frame.frame import LesterFrame

DEFAULT_SPLIT = {"test_fraction": 0.2, "seed": 0}


def finish_frame(frame: LesterFrame, split: Mapping[str, Any]) -> DataFrame:
    """The pipeline output with split and row id: data, ``SPLIT``, ``ROW_ID``, provenance."""
    from pyspark.sql import functions as F

    from spark_lester.frame.frame import row_id, test_membership

    prov = frame.provenance_columns
    is_test = test_membership(prov, float(split["test_fraction"]), int(split["seed"]))
    return frame.df.select(*frame.columns,
                           F.when(is_test, F.lit("test")).otherwise(F.lit("train")).alias(SPLIT),
                           row_id(prov).alias(ROW_ID), *prov)


def pipeline_settings(module: ModuleType, frame_columns: list[str]) -> dict[str, Any]:
    """The optional module-level settings of a pipeline file, validated."""
    label = getattr(module, "LABEL", "label")
    if label is not None and label not in frame_columns:
        raise PlanError(f"the pipeline's label column '{label}' is not an output column.",
                        op="run", hint="Set LABEL = '<column>' (or None) in the pipeline file.")
    features = list(getattr(module, "FEATURE_COLUMNS",
                            [c for c in frame_columns if c != label]))
    return {"label": label, "feature_columns": features,
            "split": dict(getattr(module, "SPLIT", DEFAULT_SPLIT)),
            "cluster_by": getattr(module, "CLUSTER_BY", None)}


def run(pipeline: str | Path, sources: Mapping[str, str], *, warehouse: str | None = None,
        name: str | None = None, run_id: str | None = None,
        spark: SparkSession | None = None, config: LesterConfig | None = None,
        encoder: Any = None, rows_per_file: int = store.ROWS_PER_FILE) -> registry.RunRecord:
    """Run the pipeline file on ``sources`` (name -> path) and capture every artifact.

    ``config`` (default: read from the ``SPARK_LESTER_*`` environment) gives the warehouse
    and the session's settings, as for ``unlearn``; ``warehouse`` overrides its warehouse.
    ``encoder`` (a fitted ColumnTransformer) replaces fitting: a baseline re-run uses the
    original run's encoder so its X is comparable. Returns the registry record.
    """
    from spark_lester.config import LesterConfig
    from spark_lester.features.encode import dump_encoder, encode, fit_encoder
    from spark_lester.features.matrix_provenance import matrix_provenance
    from spark_lester.frame.pipeline import call_prepare, load_pipeline, read_sources
    from spark_lester.plan.lineage import lineage_summary
    from spark_lester.session import get_spark

    started = time.perf_counter()
    config = config or LesterConfig.from_env(warehouse=warehouse)
    spark = spark or get_spark(config)
    layout = Layout(warehouse or config.warehouse)
    path = Path(pipeline)
    module = load_pipeline(path)
    default_name = path.parent.name if path.stem == "pipeline" else path.stem
    pipeline_name = check_name("pipeline name", name or default_name)
    run_id = check_name("run id", run_id or datetime.now(timezone.utc).strftime(
        "%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6])
    if any(r.run_id == run_id for r in registry.list_runs(spark, layout)):
        raise ConfigError(f"run id '{run_id}' is already recorded; pick another.")

    frames = read_sources(module, sources, spark=spark)
    source_meta = {n: _source_meta(spark, f) for n, f in frames.items()}
    frame = call_prepare(module, frames)
    settings = pipeline_settings(module, frame.columns)
    cluster = settings["cluster_by"] or sorted(frames)[0]
    cluster_col = provenance_column(cluster)
    if cluster_col not in frame.provenance_columns:
        raise PlanError(f"CLUSTER_BY names source '{cluster}' which is not in the output's "
                        "provenance.", op="run")
    from pyspark.sql.types import ArrayType

    # Delta keeps no statistics on arrays (merged provenance): skip those columns.
    stats = [ROW_ID, SPLIT, *[c for c in frame.provenance_columns
                              if not isinstance(frame.df.schema[c].dataType, ArrayType)]]

    prepared_path = layout.table(pipeline_name, run_id, PREPARED)
    out = finish_frame(frame, settings["split"]).persist()
    try:
        total = out.count()
        prepared_version = store.write_clustered(out, prepared_path, cluster_by=cluster_col,
                                                 rows=total, stats_columns=stats,
                                                 rows_per_file=rows_per_file)
    finally:
        out.unpersist()
    prepared = spark.read.format("delta").load(prepared_path)
    n_test = prepared.where(prepared[SPLIT] == "test").count()

    fitted = encoder
    if fitted is None:
        unfitted = module.encoder() if callable(getattr(module, "encoder", None)) else None
        if unfitted is None:
            raise PlanError(f"{path} defines no encoder() returning a ColumnTransformer.",
                            op="run")
        fitted = fit_encoder(unfitted, prepared.where(prepared[SPLIT] == "train"),
                             settings["feature_columns"])
    label = settings["label"]
    keep = [ROW_ID, *frame.provenance_columns, SPLIT, *([label] if label else [])]
    features = encode(prepared, fitted, columns=settings["feature_columns"], keep=keep)
    features_path = layout.table(pipeline_name, run_id, FEATURES)
    store.create_table(spark, features_path, features, stats_columns=stats)
    with store.storage_errors(features_path):
        features.write.format("delta").mode("append").save(features_path)
    features_version = store.table_version(spark, features_path)
    tables = {PREPARED: registry.TableState(prepared_path, prepared_version),
              FEATURES: registry.TableState(features_path, features_version)}
    model_spec = model_settings(module)
    if model_spec is not None:
        tables[MODEL] = _train(spark, layout.table(pipeline_name, run_id, MODEL),
                               spark.read.format("delta").load(features_path), label,
                               model_spec)

    record = registry.RunRecord(
        run_id=run_id, pipeline=pipeline_name, pipeline_path=str(path.resolve()),
        pipeline_sha256=file_sha256(path), created_at=datetime.now(timezone.utc),
        sources=source_meta,
        tables=tables,
        plan=frame.plan.to_json(), lineage=lineage_summary(frame.plan),
        matrix_provenance={k: [list(r) for r in v] for k, v in matrix_provenance(fitted).items()},
        feature_columns=settings["feature_columns"], output_columns=frame.columns,
        label=label, split=settings["split"], cluster_by=cluster_col,
        rows={"total": total, "train": total - n_test, "test": n_test},
        encoder=dump_encoder(fitted), seconds=round(time.perf_counter() - started, 3),
    )
    registry.record_run(spark, layout, record)
    return record


def _train(spark: SparkSession, path: str, features: DataFrame, label: str | None,
           spec: dict[str, Any]) -> registry.TableState:
    """Train model version 0 on the run's X/y; its table entry for the registry."""
    params, stats, seconds = train_model(features, label, spec)
    version = write_model(spark, path, params, stats, version=0, method="train",
                          info={"train_seconds": round(seconds, 3)})
    return registry.TableState(path, version, kind=params.kind,
                               train_seconds=round(seconds, 3))


def _source_meta(spark: SparkSession, frame: LesterFrame) -> dict[str, Any]:
    (node,) = frame.plan.source_nodes()
    return {"path": node.path, "format": node.format, "key": node.key,
            "columns": list(node.columns),
            "fingerprint": registry.fingerprint(spark, node.path, node.format)}


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
