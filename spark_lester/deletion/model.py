"""The model step of a deletion: from a run's feature-table change to a new model version.

Planned before any table changes (``plan_model``): the stored model must fit the run's X
(width, statistics of the same lineage) and the request must leave training rows, else a
typed error stops the request with every table unchanged. The changed training rows are
read off the features table's change: the old vectors of deleted and updated rows leave the
training set, the new vectors of updated and inserted rows enter it (test rows never touch
the model). Computed alongside the MERGEs (``compute_update``): ``unlearning.update_model``
runs the influence-function update (Newton with the downdated Hessian, or Newton-CG), with
a refinement pass over X as it was before the request minus the removed rows plus the new
ones; ``store_model`` stores it (at once when accepted) or retrains from scratch on X after
the MERGE when the certified bound exceeds the budget. The new version is stamped with the
request id like every other commit.

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

    from spark_lester.deletion.ivm.change import RunChange, TableChange
    from spark_lester.unlearning.request import UnlearningRequest
    from spark_lester.unlearning.result import UnlearningResult

#: Why a model is retrained instead of updated, besides the refusals of ``update_model``.
RECOMPUTED, RESUMED = "recomputed", "resumed_after_crash"
#: The downdated encoder re-encodes a block of X for every row (see ``deletion.encoder``).
REENCODED = "encoder_reencoded"


@dataclass
class ModelWork:
    """What the model step will do for one run: an update for ``request`` or a retrain."""

    run_id: str
    path: str
    features_path: str
    label: str
    #: The version of X the request was resolved against (the update's passes read it).
    features_version: int
    stored: StoredModel
    request: UnlearningRequest | None
    retrain_reason: str | None = None
    #: The old X columns that stay when the downdated encoder removed some (their
    #: parameters are dropped after the update); None: X keeps its width.
    keep_columns: list[int] | None = None


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
    # by row id: the order of the update's sums must not follow the order rows arrived in
    removed = sorted((r for r in change.before if r[ROW_ID] in leaving and r[SPLIT] == "train"),
                     key=lambda r: r[ROW_ID])
    added = sorted((r for r in new_rows if r[SPLIT] == "train"), key=lambda r: r[ROW_ID])
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
               features_version: int, model_updated: bool, resuming: bool,
               stored: StoredModel | None = None) -> ModelWork | None:
    """The model work of one run, checked before anything is written (None: nothing to do).

    ``model_updated``: the model table already holds this request's version (a resumed
    request that crashed after the model step). ``stored``: the run's model, if the caller
    already read it.
    """
    run = change.run
    entry = run.tables.get(MODEL)
    if entry is None or model_updated or run.label is None:
        return None
    features = change.tables[FEATURES]
    if stored is None:
        stored = load_model(spark, entry.path,
                            d=None if resuming else feature_width(run.matrix_provenance))
    base = {"run_id": run.run_id, "path": entry.path, "label": run.label,
            "features_path": run.tables[FEATURES].path, "stored": stored,
            "features_version": features_version}
    encoder = change.encoder
    if encoder is not None and encoder.changed:
        if encoder.result.reencode:
            return ModelWork(**base, request=None, retrain_reason=REENCODED)
        base["keep_columns"] = list(encoder.result.kept)
    if features.replacement is not None:
        # the recomputed X is the retrain's data: a request that leaves it no training row
        # (an aggregate's groups merged into test rows, say) is refused here, before the
        # MERGEs, not by the retrain after them
        if not features.replacement.where(features.replacement[SPLIT] == "train") \
                .limit(1).collect():
            raise EmptyRemainderError(n_train=stored.params.n_train,
                                      n_removed=stored.params.n_train)
        return ModelWork(**base, request=None, retrain_reason=RECOMPUTED)
    if stored.params.d != feature_width(run.matrix_provenance):
        # resumed after the registry got the downdated encoder, before the model step
        return ModelWork(**{**base, "keep_columns": None}, request=None,
                         retrain_reason=RESUMED)
    request = unlearning_request(features, run.label, request_id)
    if request is None:
        # resumed after the feature MERGE: the rows changed, but the model did not follow
        return ModelWork(**base, request=None, retrain_reason=RESUMED) if resuming else None
    if request.n_added == 0 and request.n_removed >= stored.params.n_train:
        raise EmptyRemainderError(n_train=stored.params.n_train, n_removed=request.n_removed)
    return ModelWork(**base, request=request)


def compute_update(spark: SparkSession, work: ModelWork, *, budget: float | None,
                   refine: bool) -> UnlearningResult | None:
    """The influence-function update of ``work`` (None when it retrains instead).

    For logistic regression with a budget, one Newton step comes first: it needs no pass
    over X, and when its certified bound is within the budget it is the update. Otherwise
    (``refine``; always without a budget, and for the MLP) the update makes passes over X.
    Its passes read X at the version the request was resolved against, minus the removed
    rows and plus the new ones (``unlearning.sums.Adjusted``): the same sums as over X after
    the MERGE, so the update runs while the MERGEs do. A refused update is returned as is;
    ``store_model`` retrains it on X after the MERGE.
    """
    from spark_lester.unlearning.sums import Adjusted
    from spark_lester.unlearning.update import update_model

    if work.request is None:
        return None
    common = {"budget": budget, "auto_retrain": False, "label_col": work.label}
    if budget is not None and work.stored.params.kind == "logreg":
        # one Newton step costs O(k p^2 + p^3) and no pass over X: enough when its
        # certified bound is within the budget
        first = update_model(work.stored.params, work.stored.stats, work.request,
                             refine=False, **common)
        if not refine or first.retrain_reason != "bound_exceeded":
            return first
    before = spark.read.format("delta").option("versionAsOf", work.features_version) \
        .load(work.features_path)
    data = Adjusted(training_data(before, work.label),
                    removed=(work.request.X_removed, work.request.y_removed),
                    added=(work.request.X_added, work.request.y_added))
    return update_model(work.stored.params, work.stored.stats, work.request, data=data,
                        refine=refine, **common)


def store_model(spark: SparkSession, work: ModelWork, result: UnlearningResult | None, *,
                request_id: str, replace: bool = False) -> dict[str, Any]:
    """Append the new model version of ``work`` (retraining on X after the MERGE when there
    is no accepted update; ``replace``: as the table's only version, see ``write_model``);
    returns what the ledger records."""
    from spark_lester.models import retrain
    from spark_lester.models.data import as_arrays
    from spark_lester.unlearning.stats import training_stats

    tick = time.perf_counter()
    previous = work.stored.params
    if result is not None and not result.needs_retrain:
        params, stats, summary = result.params, result.stats, result.to_dict()
        seconds = result.seconds
    else:
        # collected once (training is full-batch on the driver): the statistics pass then
        # runs over the same arrays, not over X again
        data = as_arrays(training_data(spark.read.format("delta").load(work.features_path),
                                       work.label), label_col=work.label)
        params = retrain(previous, data)
        stats = training_stats(params, data)
        summary = {**(result.to_dict() if result is not None else {}), "method": "retrain",
                   "retrain_reason": work.retrain_reason if result is None
                   else result.retrain_reason, "params_digest": params.digest(),
                   "n_remaining": params.n_train}
        if result is not None:
            summary["refused_method"] = result.method
        seconds = (result.seconds if result is not None else 0.0) + time.perf_counter() - tick
    assert params is not None and stats is not None
    if work.keep_columns is not None and params.d != len(work.keep_columns):
        params, stats = drop_features(params, stats, work.keep_columns)
        summary = {**summary, "features_dropped": previous.d - params.d,
                   "params_digest": params.digest()}
    version = work.stored.version + 1
    table_version = write_model(spark, work.path, params, stats, version=version,
                                method=summary["method"], request_id=request_id,
                                info={"retrain_reason": summary.get("retrain_reason"),
                                      "seconds": round(seconds, 3)}, replace=replace)
    return {**summary, "run_id": work.run_id, "path": work.path,
            "model_version": version, "previous_digest": previous.digest(),
            "table_version": table_version, "seconds": round(seconds, 3)}


def drop_features(params: ModelParams, stats: TrainingStats, keep: list[int]
                  ) -> tuple[ModelParams, TrainingStats]:
    """The model and its training statistics without the input columns not in ``keep``.

    Exact for columns that are zero on every remaining training row (one-hot categories and
    vocabulary terms no remaining row holds): such a column's retrained weight is 0 under
    L2, the other parameters do not depend on it, and the gradient and Hessian sums over
    the remaining rows restricted to the kept parameters are the reduced model's sums.
    logreg: the weights of dropped columns; MLP: the input-layer columns of ``W1``.
    """
    from dataclasses import replace

    d, hidden = params.d, params.hidden
    keep_arr = np.asarray(keep, dtype=np.int64)
    if params.kind == "logreg":
        index = np.concatenate([keep_arr, [d]])
    else:
        rows = np.arange(hidden, dtype=np.int64)[:, None] * d + keep_arr[None, :]
        index = np.concatenate([rows.reshape(-1), hidden * d + np.arange(2 * hidden + 1)])
    new_d = len(keep_arr)
    w_ref = stats.w_ref[index]
    new_stats = replace(stats, d=new_d, w_ref=w_ref, grad=stats.grad[index],
                        hessian=None if stats.hessian is None
                        else stats.hessian[np.ix_(index, index)],
                        gram=None if stats.gram is None else stats.gram[np.ix_(index, index)])
    info = {**dict(params.info), "reference": new_stats.ref_digest}
    return params.with_(d=new_d, w=params.w[index], info=info), new_stats
