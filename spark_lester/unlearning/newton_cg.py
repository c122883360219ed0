"""Second-order unlearning with Hessian-vector products: Newton-CG (for the MLP).

The MLP's Hessian is never formed. The Newton system on the remaining data at the stats'
anchor ``w_ref``,

    (H' + n' * damping * I) v = -G'      (sum form; H' = sum of per-row Hessians)

is solved by conjugate gradients, each iteration one Hessian-vector product computed as a
sum over X (the data after the request; partition by partition on Spark, double backward
with torch autograd per block). ``G'`` is the downdated stats gradient (no pass needed).

Damping: ``damping`` is added to the mean-form Hessian (``lam`` already is, as the
regulariser's curvature). The default 0 gives the exact Newton step, which is what matches
retraining best near a well-conditioned local minimum. An MLP's minimum is often nearly
degenerate (weight decay on both layers makes hidden units collapse onto each other or die,
leaving soft modes with curvature far below ``lam``), and after a request the Hessian at the
old minimum can turn indefinite along them. When CG meets non-positive curvature and
``escalate`` is on (the default), the solve is repeated with damping ``lam / 10``, then
``lam`` (Levenberg-Marquardt style: the soft modes' steps shrink, the rest barely change);
when even that fails the update is refused with ``not_positive_definite``. The damping used
is recorded (``extra["damping"]``). CG stops when ``||residual|| <= tol * ||G'||`` or after
``max_iter`` iterations (the iterate is then used as is; ``extra["cg_converged"]`` says which).
The default ``tol = 1e-5`` is far below what matters: on the synthetic running example (20k
rows, 1% deleted) rho is 0.00836 at 1e-5, 1e-6 and 1e-8 alike, with 18, 30 and 35
Hessian-vector products.

``steps > 1`` takes further Newton-CG steps, each after one pass that evaluates the gradient
exactly at the current vector (the stats are then re-anchored there). There is no certified
bound for a non-convex model.

>>> import numpy as np
>>> from spark_lester.models import train
>>> from spark_lester.models.synthetic import synthetic_features
>>> from spark_lester.unlearning.request import UnlearningRequest
>>> from spark_lester.unlearning.stats import training_stats
>>> X, y = synthetic_features(300, seed=0)
>>> model = train((X, y), kind="mlp", hidden=4, lam=1e-2)
>>> request = UnlearningRequest.remove((X[:3], y[:3]))
>>> result = newton_cg(model, training_stats(model, (X, y)), request, (X[3:], y[3:]))
>>> result.params.n_train, result.extra["cg_converged"]
(297, True)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import numpy as np

from spark_lester.errors import NonFiniteError, UnlearningError
from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data
from spark_lester.models.loss import hvp_block
from spark_lester.models.params import ModelParams
from spark_lester.unlearning._private import check_rows, finite, new_version, prepare, refused
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.result import UnlearningResult
from spark_lester.unlearning.stats import TrainingStats, training_stats
from spark_lester.unlearning.sums import SumInfo, row_sums

METHOD = "newton_cg"


def newton_cg(params: ModelParams, stats: TrainingStats, request: UnlearningRequest,
              data: Data, *, damping: float = 0.0, escalate: bool = True, tol: float = 1e-5,
              max_iter: int = 200, steps: int = 1, features_col: str = FEATURES_COL,
              label_col: str = LABEL_COL) -> UnlearningResult:
    """Newton-CG update for ``request``; ``data`` is the training data after the request."""
    start = time.perf_counter()
    if damping < 0 or steps < 1:
        raise UnlearningError("damping must be >= 0 and steps >= 1.", method=METHOD)
    new_stats, n_after = prepare(params, stats, request, METHOD)
    assert new_stats is not None
    passes = iterations = 0
    converged = True
    used = damping
    w = new_stats.w_ref
    for step_no in range(steps):
        if step_no > 0:
            info: list[SumInfo] = []
            try:
                new_stats = training_stats(params, data, at=w, features_col=features_col,
                                           label_col=label_col, info=info)
            except NonFiniteError as err:
                if not err.where.startswith("stats"):
                    raise
                return refused(METHOD, "non_finite", f"gradient pass: {err}", request, n_after,
                               time.perf_counter() - start, passes=passes + 1)
            passes += 1
            check_rows(info, n_after, METHOD)

        schedule = [damping] + ([mu for mu in (0.1 * params.lam, params.lam) if mu > damping]
                                if escalate else [])
        for used in schedule:
            outcome = conjugate_gradient(_hvp(params, data, new_stats.w_ref, n_after, used,
                                              features_col, label_col),
                                         -new_stats.grad, tol=tol, max_iter=max_iter,
                                         expected_rows=n_after)
            passes += outcome.passes
            iterations += outcome.iterations
            if outcome.reason != "not_positive_definite":
                break
        converged = outcome.converged
        if outcome.reason is not None:
            return refused(METHOD, outcome.reason, outcome.detail, request, n_after,
                           time.perf_counter() - start, passes=passes, iterations=iterations)
        w = new_stats.w_ref + outcome.x
    if not finite(w):
        return refused(METHOD, "non_finite", "the updated vector is not finite.", request,
                       n_after, time.perf_counter() - start, passes=passes,
                       iterations=iterations)
    new_params = new_version(params, w, new_stats.ref_digest, METHOD, n_after, request,
                             cg_iterations=iterations, damping=used, steps=steps)
    return UnlearningResult(method=METHOD, params=new_params, stats=new_stats,
                            n_removed=request.n_removed, n_added=request.n_added,
                            n_remaining=n_after, refined=steps > 1, passes=passes,
                            iterations=iterations, seconds=time.perf_counter() - start,
                            extra={"cg_converged": converged, "damping": used})


def _hvp(params: ModelParams, data: Data, w: np.ndarray, n_after: int, damping: float,
         features_col: str, label_col: str) -> Callable[..., np.ndarray]:
    """Sum-form ``(H' + n' damping I) v`` as one pass over ``data`` per call."""

    def hvp(v: np.ndarray, info: list[SumInfo] | None = None) -> np.ndarray:
        fn = functools.partial(hvp_block, params.kind, params.hidden, params.lam, w, v)
        return row_sums(data, fn, d=params.d, features_col=features_col,
                        label_col=label_col, info=info)[0] + n_after * damping * v

    return hvp


class CGOutcome:
    """Solution (or refusal) of :func:`conjugate_gradient`."""

    def __init__(self, x: np.ndarray, iterations: int, passes: int, converged: bool,
                 reason: str | None = None, detail: str = "") -> None:
        self.x, self.iterations, self.passes = x, iterations, passes
        self.converged, self.reason, self.detail = converged, reason, detail


def conjugate_gradient(matvec: object, b: np.ndarray, *, tol: float, max_iter: int,
                       expected_rows: int | None = None) -> CGOutcome:
    """Solve ``A x = b`` for symmetric positive definite ``A`` given only ``matvec``.

    Refuses (``reason``) on non-positive curvature or non-finite products. The first product
    checks, when ``expected_rows`` is given, that the data has the remaining row count.
    """
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    target = tol * np.sqrt(rr)
    if not np.isfinite(rr):
        return CGOutcome(x, 0, 0, False, "non_finite", "the downdated gradient is not finite.")
    passes = 0
    for it in range(max_iter):
        if np.sqrt(rr) <= target:
            return CGOutcome(x, it, passes, True)
        info: list[SumInfo] = []
        Ap = matvec(p, info) if passes == 0 else matvec(p)  # type: ignore[operator]
        if passes == 0 and expected_rows is not None:
            check_rows(info, expected_rows, METHOD)
        passes += 1
        curvature = float(p @ Ap)
        if not np.isfinite(curvature):
            return CGOutcome(x, it + 1, passes, False, "non_finite",
                             "a Hessian-vector product is not finite.")
        if curvature <= 0:
            return CGOutcome(x, it + 1, passes, False, "not_positive_definite",
                             "CG met non-positive curvature; the Hessian on the remaining data "
                             "is not positive definite at the anchor, even with damping lam.")
        alpha = rr / curvature
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return CGOutcome(x, max_iter, passes, bool(np.sqrt(rr) <= target))
