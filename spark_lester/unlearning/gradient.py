"""Gradients of the training loss over changed rows (the influence) and over all of X.

The gradient difference of a request is, in the sum form of the loss (each row contributes
``l_i + (lam/2)|w|^2``),

    g = sum_{z' in added} grad(z', w) - sum_{z in removed} grad(z, w)

and the gradient of the mean-form loss on the remaining data at the trained ``w`` is
``(G_D(w) + g) / n'`` with ``G_D(w)`` the sum-form gradient on the original data (zero at an
exact optimum). ``gradient_residual`` is the norm of that mean-form gradient computed from
scratch over X, the yardstick of unlearning quality (0 at the retrained model).

>>> import numpy as np
>>> from spark_lester.models.params import ModelParams
>>> from spark_lester.unlearning.request import UnlearningRequest
>>> m = ModelParams(kind="logreg", d=1, lam=0.0, seed=0, n_train=2, w=np.zeros(2))
>>> r = UnlearningRequest.remove((np.array([[2.0]]), np.array([1])))
>>> gradient_difference(m, r).tolist()  # minus grad of the removed row: -(0.5 - 1) * [2, 1]
[1.0, 0.5]
"""

from __future__ import annotations

import functools

import numpy as np

from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data
from spark_lester.models.loss import grad_block
from spark_lester.models.params import ModelParams
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.sums import SumInfo, row_sums


def gradient_difference(params: ModelParams, request: UnlearningRequest, *,
                        at: np.ndarray | None = None) -> np.ndarray:
    """Sum-form ``g`` of the request's rows at ``at`` (default ``params.w``), shape (p,)."""
    params.check_width(request.d, what="request rows")
    w = np.asarray(params.w if at is None else at, dtype=np.float64)
    g = np.zeros_like(w)
    if request.n_added:
        g += grad_block(params.kind, params.hidden, params.lam, w, request.X_added,
                        request.y_added)[0]
    if request.n_removed:
        g -= grad_block(params.kind, params.hidden, params.lam, w, request.X_removed,
                        request.y_removed)[0]
    return g


def gradient_sum(params: ModelParams, data: Data, *, at: np.ndarray | None = None,
                 features_col: str = FEATURES_COL, label_col: str = LABEL_COL,
                 info: list[SumInfo] | None = None) -> np.ndarray:
    """Sum-form gradient over every row of ``data`` (one pass; Spark partition-wise)."""
    w = np.asarray(params.w if at is None else at, dtype=np.float64)
    fn = functools.partial(grad_block, params.kind, params.hidden, params.lam, w)
    return row_sums(data, fn, d=params.d, features_col=features_col, label_col=label_col,
                    info=info)[0]


def gradient_residual(params: ModelParams, data: Data, *, at: np.ndarray | None = None,
                      features_col: str = FEATURES_COL, label_col: str = LABEL_COL) -> float:
    """``||grad L(w)||_2`` of the mean-form loss on ``data`` (one pass over it)."""
    info: list[SumInfo] = []
    g = gradient_sum(params, data, at=at, features_col=features_col, label_col=label_col,
                     info=info)
    return float(np.linalg.norm(g)) / max(info[0].n_rows, 1)
