"""The model step of a deletion: from a run's feature-table change to a new model version.

Planned before any table changes (``plan_model``): the stored model must fit the run's X
(width, statistics of the same lineage) and the request must leave training rows, else a
typed error stops the request with every table unchanged. The changed training rows are
read off the features table's change: the old vectors of deleted and updated rows leave the
training set, the new vectors of updated and inserted rows enter it (test rows never touch
the model). Applied after the MERGEs (``apply_model``): ``unlearning.update_model`` runs the
influence-function update (Newton with the downdated Hessian, or Newton-CG), with a
refinement pass over the remaining X on Spark, and falls back to retraining from scratch
when the certified bound exceeds the budget; the new version is appended to the run's model
table, stamped with the request id like every other commit.

Two cases retrain on purpose, with the reason recorded: a table that was recomputed rather
than updated incrementally (no row-level change set exists), and a request resumed after a
crash between the feature MERGE and the model step (the old vectors were only in memory).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_lester.artifacts.layout import FEATURES, MODEL
from spark_lester.artifacts.model import StoredModel, load_model, training_data, write_model
from spark_lester.errors import EmptyRemainderError
from spark_lester.plan.columns import ROW_ID, SPLIT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.deletion.change import RunChange, TableChange
    from spark_lester.unlearning.request import UnlearningRequest

#: Why a model is retrained instead of updated, besides the refusals of ``update_model``.
RECOMPUTED, RESUMED = "recomputed", "resumed_after_crash"


@dataclass
class ModelWork:
    """What the model step will do for one run: an update for ``request`` or a retrain."""

    run_id: str
    path: str
    features_path: str
    label: str
    stored: StoredModel
    request: UnlearningRequest | None
    retrain_reason: str | None = None


def feature_width(matrix_provenance: dict[str, list[list[int]]]) -> int:
    """Number of columns of a run's X, from its matrix column provenance."""
    return max((end for ranges in matrix_provenance.values() for _, end in ranges), default=0)


def unlearning_request(change: TableChange, label: str, request_id: str
                       ) -> UnlearningRequest | None:
    """The training rows a features-table change removes and adds (None: no train row)."""
    from spark_lester.features.encode import FEATURES as VECTOR
    from spark_lester.unlearning.request import UnlearningRequest

    new_rows = [*change.updates, *change.inserts]
    leaving = set(change.deletes) | {r[ROW_ID] for r in new_rows}
    removed = [r for r in change.before if r[ROW_ID] in leaving and r[SPLIT] == "train"]
    added = [r for r in new_rows if r[SPLIT] == "train"]
    if not removed and not added:
        return None

    def arrays(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        width = len(change.before[0][VECTOR]) if change.before else len(rows[0][VECTOR])
        X = np.asarray([r[VECTOR] for r in rows], dtype=np.float64).reshape(len(rows), width)
        y = np.asarray([np.nan if r[label] is None else r[label] for r in rows],
                       dtype=np.float64)
        return X, y

    X0, y0 = arrays(removed)
    X1, y1 = arrays(added)
    return UnlearningRequest(X0, y0, X1, y1, request_id)


def plan_model(spark: SparkSession, change: RunChange, request_id: str, *,
               model_updated: bool, resuming: bool) -> ModelWork | None:
    """The model work of one run, checked before anything is written (None: nothing to do).

    ``model_updated``: the model table already holds this request's version (a resumed
    request that crashed after the model step).
    """
    run = change.run
    entry = run.tables.get(MODEL)
    if entry is None or model_updated or run.label is None:
        return None
    features = change.tables[FEATURES]
    stored = load_model(spark, entry["path"], d=feature_width(run.matrix_provenance))
    base = {"run_id": run.run_id, "path": entry["path"], "label": run.label,
            "features_path": run.tables[FEATURES]["path"], "stored": stored}
    if features.replacement is not None:
        return ModelWork(**base, request=None, retrain_reason=RECOMPUTED)
    request = unlearning_request(features, run.label, request_id)
    if request is None:
        # resumed after the feature MERGE: the rows changed, but the model did not follow
        return ModelWork(**base, request=None, retrain_reason=RESUMED) if resuming else None
    if request.n_added == 0 and request.n_removed >= stored.params.n_train:
        raise EmptyRemainderError(n_train=stored.params.n_train, n_removed=request.n_removed)
    return ModelWork(**base, request=request)


def apply_model(spark: SparkSession, work: ModelWork, *, request_id: str,
                budget: float | None, refine: bool) -> dict[str, Any]:
    """Update (or retrain) the model of ``work`` and append the new version; ledger dict."""
    from spark_lester.models import retrain
    from spark_lester.unlearning.stats import training_stats
    from spark_lester.unlearning.update import update_model

    tick = time.perf_counter()
    data = training_data(spark.read.format("delta").load(work.features_path), work.label)
    cols = {"label_col": work.label}
    previous = work.stored.params
    if work.request is not None:
        result = update_model(previous, work.stored.stats, work.request, data=data,
                              refine=refine, budget=budget, **cols)
        params, stats, summary = result.params, result.stats, result.to_dict()
    else:
        params = retrain(previous, data, **cols)
        stats = training_stats(params, data, **cols)
        summary = {"method": "retrain", "retrain_reason": work.retrain_reason,
                   "params_digest": params.digest(), "n_remaining": params.n_train}
    assert params is not None and stats is not None  # update_model retrains on a refusal
    version = work.stored.version + 1
    seconds = round(time.perf_counter() - tick, 3)
    table_version = write_model(spark, work.path, params, stats, version=version,
                                method=summary["method"], request_id=request_id,
                                info={"retrain_reason": summary.get("retrain_reason"),
                                      "seconds": seconds})
    return {**summary, "run_id": work.run_id, "path": work.path,
            "model_version": version, "previous_digest": previous.digest(),
            "table_version": table_version, "seconds": seconds}
