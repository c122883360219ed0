"""First-order unlearning: one gradient step on the remaining data (Warnecke et al.).

    w_u = w_ref - tau * G' / n'

``G'`` is the sum-form gradient on the remaining data at ``w_ref``: the downdated stats
gradient when stats are given, otherwise the request's gradient difference alone (which
assumes the model was exactly stationary). Dividing by the remaining row count n' makes it
the gradient of the mean-form loss, so ``tau`` does not depend on n.

Step size: ``tau`` defaults to ``1 / curvature_max``, the largest Hessian eigenvalue of the
mean-form loss at the trained model (estimated by power iteration during training and kept
in ``params.info``): the classical gradient-descent step that does not overshoot along any
direction. It only moves the vector part of the way a Newton step does along low-curvature
directions, so first order is reported for comparison, not held to the Newton thresholds.

>>> import numpy as np
>>> from spark_lester.models import train
>>> from spark_lester.models.synthetic import synthetic_features
>>> from spark_lester.unlearning.request import UnlearningRequest
>>> X, y = synthetic_features(300, seed=0)
>>> model = train((X, y), lam=1e-2)
>>> first_order(model, UnlearningRequest.remove((X[:3], y[:3]))).params.n_train
297
"""

from __future__ import annotations

import time

import numpy as np

from spark_lester.errors import UnlearningError
from spark_lester.models.params import ModelParams
from spark_lester.unlearning._private import finite, new_version, prepare, refused
from spark_lester.unlearning.gradient import gradient_difference
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.result import UnlearningResult
from spark_lester.unlearning.stats import TrainingStats

METHOD = "first_order"


def default_tau(params: ModelParams) -> float:
    """``1 / curvature_max`` from training (see the module docstring)."""
    curvature = float(params.info.get("curvature_max", 0.0) or 0.0)
    if not curvature > 0 or not np.isfinite(curvature):
        raise UnlearningError("the model records no curvature estimate; pass tau explicitly.",
                              method=METHOD)
    return 1.0 / curvature


def first_order(params: ModelParams, request: UnlearningRequest, *,
                stats: TrainingStats | None = None, tau: float | None = None) -> UnlearningResult:
    """Gradient-step update for ``request`` (see the module docstring); no pass over X."""
    start = time.perf_counter()
    new_stats, n_after = prepare(params, stats, request, METHOD)
    step_size = default_tau(params) if tau is None else float(tau)
    if new_stats is not None:
        w0, g = new_stats.w_ref, new_stats.grad
    else:
        w0, g = params.w, gradient_difference(params, request)
    w = w0 - step_size * g / n_after
    if not finite(w):
        return refused(METHOD, "non_finite", "the gradient step is not finite.", request,
                       n_after, time.perf_counter() - start)
    # Without stats the update is anchored where the given version was.
    reference = (new_stats.ref_digest if new_stats is not None
                 else str(params.info.get("reference") or params.digest()))
    new_params = new_version(params, w, reference, METHOD, n_after, request, tau=step_size)
    return UnlearningResult(method=METHOD, params=new_params, stats=new_stats,
                            n_removed=request.n_removed, n_added=request.n_added,
                            n_remaining=n_after, seconds=time.perf_counter() - start,
                            extra={"tau": step_size})
