"""Second-order unlearning for logistic regression: one Newton step with a downdated Hessian.

With stats anchored at ``w_ref`` (see ``unlearning.stats``), a request turns them into the
exact gradient ``G'`` and Hessian ``H'`` of the remaining data at ``w_ref`` by subtracting the
removed rows' terms and adding the new rows' terms (O(k p^2)). The update is the Newton step

    w_u = w_ref - H'^{-1} G'            (solved by Cholesky, O(p^3))

(both sums in the sum form; the 1/n' of the mean-form loss cancels). Since ``G'`` includes
the training gradient left by L-BFGS, the step is an exact Newton step on the remaining data.

``refine=True`` adds one pass over X (the remaining data, partition by partition on Spark)
that evaluates the gradient ``G'(w_u)`` exactly, and a second step ``w_u - H'^{-1} G'(w_u)``
with the same Cholesky factor (O(n p) for the pass, O(p^2) for the solve). The returned stats
stay anchored at ``w_ref``, where they are exact; ``training_stats(new_params, data)`` would
re-anchor them at the new vector (a pass of O(n p^2)).

The certified bound (``unlearning.certified``) of the final step is compared with
``budget``; above it, and when anything is NaN/inf or the Hessian is not positive definite,
the update is refused with a reason (``result.needs_retrain``).

>>> import numpy as np
>>> from spark_lester.models import train
>>> from spark_lester.models.synthetic import synthetic_features
>>> from spark_lester.unlearning.request import UnlearningRequest
>>> from spark_lester.unlearning.stats import training_stats
>>> X, y = synthetic_features(400, seed=0)
>>> model = train((X, y), lam=1e-2)
>>> stats = training_stats(model, (X, y))
>>> request = UnlearningRequest.remove((X[:4], y[:4]))
>>> result = newton(model, stats, request, data=(X[4:], y[4:]), refine=True)
>>> result.params.n_train, result.needs_retrain, result.residual_bound < DEFAULT_BUDGET
(396, False, True)
>>> newton(model, stats, request).retrain_reason  # one step alone: bound above the budget
'bound_exceeded'
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from spark_lester.errors import UnlearningError
from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data
from spark_lester.models.params import ModelParams
from spark_lester.unlearning._private import check_rows, finite, new_version, prepare, refused
from spark_lester.unlearning.certified import DEFAULT_BUDGET, refined_bound, residual_bound
from spark_lester.unlearning.gradient import gradient_sum
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.result import UnlearningResult
from spark_lester.unlearning.stats import TrainingStats
from spark_lester.unlearning.sums import SumInfo

METHOD = "newton"


def newton(params: ModelParams, stats: TrainingStats, request: UnlearningRequest, *,
           data: Data | None = None, refine: bool = False, budget: float | None = DEFAULT_BUDGET,
           features_col: str = FEATURES_COL, label_col: str = LABEL_COL) -> UnlearningResult:
    """Newton update of a logistic regression for ``request``; see the module docstring.

    ``data`` is the training data *after* the request (needed only for ``refine``).
    ``budget`` bounds the certified gradient residual (mean form); None disables the check.
    """
    start = time.perf_counter()
    if params.kind != "logreg" or stats.hessian is None or stats.gram is None:
        raise UnlearningError("the explicit Newton step needs a logistic regression and its "
                              "stats with Hessian and Gram matrix.", method=METHOD,
                              hint="Use newton_cg for an MLP.")
    if refine and data is None:
        raise UnlearningError("refine=True needs the data after the request.", method=METHOD)
    new_stats, n_after = prepare(params, stats, request, METHOD)
    assert new_stats is not None

    def elapsed() -> float:
        return time.perf_counter() - start

    solved = _newton_step(new_stats)
    if isinstance(solved, str):
        return refused(METHOD, *_reason(solved), request, n_after, elapsed())
    step, solve = solved
    w = new_stats.w_ref + step
    gram, norm2 = new_stats.gram, new_stats.max_row_norm2
    bound = residual_bound(step, gram, max_row_norm2=norm2, n=n_after)  # type: ignore[arg-type]
    passes = 0
    if refine:
        info: list[SumInfo] = []
        g1 = gradient_sum(params, data, at=w, features_col=features_col,  # type: ignore[arg-type]
                          label_col=label_col, info=info)
        passes = 1
        check_rows(info, n_after, METHOD)
        if not finite(g1):
            return refused(METHOD, "non_finite", "the gradient at the Newton step is not finite.",
                           request, n_after, elapsed(), passes=1)
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            second = -solve(g1)
            w = w + second
        bound = refined_bound(step, second, gram, max_row_norm2=norm2,  # type: ignore[arg-type]
                              n=n_after)
    if not finite(w, bound):
        return refused(METHOD, "non_finite", "the updated vector is not finite.", request,
                       n_after, elapsed(), passes=passes)
    if budget is not None and bound > budget:
        return refused(METHOD, "bound_exceeded",
                       f"certified residual bound {bound:.3g} exceeds the budget {budget:.3g}.",
                       request, n_after, elapsed(), residual_bound=bound, passes=passes,
                       refined=refine)
    new_params = new_version(params, w, new_stats.ref_digest, METHOD, n_after, request,
                             residual_bound=bound, refined=refine)
    return UnlearningResult(method=METHOD, params=new_params, stats=new_stats,
                            residual_bound=bound, n_removed=request.n_removed,
                            n_added=request.n_added, n_remaining=n_after, refined=refine,
                            passes=passes, seconds=elapsed())


Solver = Callable[[np.ndarray], np.ndarray]


def _newton_step(stats: TrainingStats) -> tuple[np.ndarray, Solver] | str:
    """``-H^{-1} G`` by Cholesky and the solver for reuse, or a reason code."""
    import scipy.linalg

    H, g = stats.hessian, stats.grad
    if not finite(H, g):
        return "non_finite"
    try:
        factor = scipy.linalg.cho_factor(H, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return "not_positive_definite"

    def solve(b: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve(factor, b, check_finite=False)

    step = -solve(g)
    return (step, solve) if finite(step) else "non_finite"


def _reason(code: str) -> tuple[str, str]:
    text = {"non_finite": "the downdated gradient, Hessian or Newton step is not finite.",
            "not_positive_definite": "the downdated Hessian is not positive definite."}
    return code, text[code]
