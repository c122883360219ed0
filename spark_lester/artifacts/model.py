"""The model of a run: trained on the run's X/y, stored as versions in a Delta table.

The ``model`` table of a run (``Layout.table(pipeline, run_id, MODEL)``) holds one row per
model version: the parameters and the training statistics the next update needs (both as
``.npz`` bytes, never pickle), the method that produced it (``train``, ``newton``,
``newton_cg``, ``retrain``) and the request it answered. Version 0 is trained by
``spark_lester.run``; every deletion request that changes training rows stores the next
version. With erasure it replaces the earlier versions in the same commit (they were fitted
on the removed data; the vacuum deletes their files); without, it is appended, and the
later erasure deletes the earlier versions and purges them.

A pipeline file chooses its model with ``MODEL = {"kind": "logreg", "lam": 1e-3,
"seed": 0}`` (``kind`` ``logreg`` or ``mlp``, ``hidden`` for the MLP), or ``MODEL = None``
for no model; the default is L2-regularised logistic regression.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.errors import DimensionMismatchError, ModelError, PlanError
from spark_lester.plan.columns import ROW_ID, SPLIT

if TYPE_CHECKING:
    from types import ModuleType

    from pyspark.sql import DataFrame, SparkSession

    from spark_lester.models.params import ModelParams
    from spark_lester.unlearning.stats import TrainingStats

DEFAULT_MODEL = {"kind": "logreg", "seed": 0}
_KEYS = {"kind", "lam", "seed", "hidden"}
_SCHEMA = ("model_version INT, kind STRING, params BINARY, stats BINARY, digest STRING, "
           "n_train LONG, d INT, method STRING, request_id STRING, created_at TIMESTAMP, "
           "info STRING")


@dataclass(frozen=True)
class StoredModel:
    """One model version as read back from a run's model table."""

    version: int
    params: ModelParams
    stats: TrainingStats
    method: str
    request_id: str | None


def model_settings(module: ModuleType) -> dict[str, Any] | None:
    """The pipeline file's ``MODEL`` setting, validated (None: the run has no model)."""
    from spark_lester.models.params import KINDS

    spec = getattr(module, "MODEL", DEFAULT_MODEL)
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or set(spec) - _KEYS:
        raise PlanError(f"MODEL must be None or a dict with keys {sorted(_KEYS)}, got {spec!r}.",
                        op="run")
    settings = {**DEFAULT_MODEL, **spec}
    if settings["kind"] not in KINDS:
        raise PlanError(f"MODEL kind {settings['kind']!r} is not one of {', '.join(KINDS)}.",
                        op="run")
    return settings


def training_data(features: DataFrame, label: str) -> DataFrame:
    """The rows a run's model is trained on: the train split of X/y, ordered by row id.

    The order of the rows is the order of the sums in training (and in the statistics and
    refinement passes): in file order, the model's last bits would follow the partitioning
    the features table was written with.
    """
    from spark_lester.features.encode import FEATURES

    return features.where(features[SPLIT] == "train").orderBy(ROW_ID) \
        .select(FEATURES, label)


def train_model(features: DataFrame, label: str | None, settings: Mapping[str, Any]
                ) -> tuple[ModelParams, TrainingStats, float]:
    """Fit the run's model on the train split and compute its training statistics."""
    from spark_lester.models import train
    from spark_lester.models.data import as_arrays
    from spark_lester.unlearning.stats import training_stats

    if label is None:
        raise PlanError("the pipeline has no LABEL column to train a model on.", op="run",
                        hint="Set LABEL = '<column>', or MODEL = None for no model.")
    X, y = as_arrays(training_data(features, label), label_col=label)
    tick = time.perf_counter()
    options = {k: v for k, v in settings.items() if k in ("lam", "seed", "hidden")}
    params = train((X, y), kind=settings["kind"], **options)
    seconds = time.perf_counter() - tick
    return params, training_stats(params, (X, y)), seconds


def write_model(spark: SparkSession, path: str, params: ModelParams, stats: TrainingStats, *,
                version: int, method: str, request_id: str | None = None,
                info: Mapping[str, Any] | None = None, replace: bool = False) -> int:
    """Append model ``version`` to the table at ``path`` (``replace``: it becomes the only
    version, in the same commit, for an erasure that removes the earlier ones anyway);
    returns the table's Delta version."""
    from pyspark.sql import Row

    row = Row(model_version=version, kind=params.kind, params=bytearray(params.to_bytes()),
              stats=bytearray(stats.to_bytes()), digest=params.digest(), n_train=params.n_train,
              d=params.d, method=method, request_id=request_id,
              created_at=datetime.now(timezone.utc),
              info=json.dumps(dict(info or {}), sort_keys=True, default=str))
    df = spark.createDataFrame([row], schema=_SCHEMA)
    if version == 0:
        store.create_table(spark, path, df, stats_columns=["model_version"])
    with store.storage_errors(path):
        df.write.format("delta").mode("overwrite" if replace else "append").save(path)
    return store.table_version(spark, path)


def load_model(spark: SparkSession, path: str, *, d: int | None = None) -> StoredModel:
    """The latest model version at ``path``; ``d`` checks it against the run's X width."""
    from spark_lester.models.params import ModelParams
    from spark_lester.unlearning.stats import TrainingStats

    with store.storage_errors(path):
        rows = spark.read.format("delta").load(path) \
            .orderBy("model_version", ascending=False).limit(1).collect()
    if not rows:
        raise ModelError(f"the model table {path} holds no model version.",
                         hint="Re-run the pipeline to train its model.")
    row = rows[0]
    params = ModelParams.from_bytes(bytes(row["params"]))
    stats = TrainingStats.from_bytes(bytes(row["stats"]))
    if d is not None and params.d != d:
        raise DimensionMismatchError(expected=params.d, got=d, what=f"the run's X ({path})",
                                     kind=params.kind)
    stats.check(params)
    return StoredModel(version=int(row["model_version"]), params=params, stats=stats,
                       method=row["method"], request_id=row["request_id"])


def drop_earlier_versions(spark: SparkSession, path: str) -> None:
    """Delete every model version but the latest (the erasure step purges their files)."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    with store.storage_errors(path):
        (latest,) = spark.read.format("delta").load(path) \
            .agg(F.max("model_version")).collect()[0]
        if latest is not None:
            DeltaTable.forPath(spark, path).delete(F.col("model_version") < F.lit(int(latest)))
