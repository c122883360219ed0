"""Checks and result building shared by the update methods."""

from __future__ import annotations

from typing import Any

import numpy as np

from spark_lester.errors import EmptyRemainderError, NonFiniteError, StatsMismatchError
from spark_lester.models.params import ModelParams
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.result import UnlearningResult
from spark_lester.unlearning.stats import TrainingStats
from spark_lester.unlearning.sums import SumInfo


def prepare(params: ModelParams, stats: TrainingStats | None, request: UnlearningRequest,
            method: str) -> tuple[TrainingStats | None, int]:
    """Validate inputs; return the downdated stats (or None) and the remaining row count."""
    params.check_width(request.d, what="request rows")
    if stats is not None:
        stats.check(params)
    n_before = stats.n if stats is not None else params.n_train
    n_after = n_before - request.n_removed + request.n_added
    if n_after <= 0:
        raise EmptyRemainderError(n_train=n_before, n_removed=request.n_removed, method=method)
    if stats is None:
        return None, n_after
    try:
        return stats.downdate(request), n_after
    except NonFiniteError:
        raise NonFiniteError("downdated stats (gradients of the request rows)",
                             method=method) from None


def check_rows(info: list[SumInfo], expected: int, method: str) -> None:
    """The pass over X must see the remaining rows: catches X from before the table update."""
    if info and info[-1].n_rows != expected:
        raise StatsMismatchError(
            f"the data has {info[-1].n_rows} rows but the training set after the request has "
            f"{expected}.", method=method,
            hint="Pass the feature matrix after the deletion was applied (remaining rows and "
                 "new versions of changed rows).")


def refused(method: str, reason: str, detail: str, request: UnlearningRequest, n_after: int,
            seconds: float, **fields: Any) -> UnlearningResult:
    return UnlearningResult(method=method, params=None, stats=None, retrain_reason=reason,
                            detail=detail, n_removed=request.n_removed,
                            n_added=request.n_added, n_remaining=n_after,
                            seconds=seconds, **fields)


def new_version(params: ModelParams, w: np.ndarray, reference: str, method: str,
                n_after: int, request: UnlearningRequest, **info: Any) -> ModelParams:
    """The updated model version; ``info["reference"]`` ties it to its stats' anchor."""
    meta = {"method": method, "reference": reference,
            "request_id": request.request_id or "", **info}
    return params.with_(w=w, n_train=n_after, info=meta)


def finite(*arrays: np.ndarray | float | None) -> bool:
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)
