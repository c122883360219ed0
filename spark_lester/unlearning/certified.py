"""The certified-removal bound for logistic regression (Guo et al., ICML 2020).

After a Newton step ``v`` from ``w`` on the remaining data, the gradient left over is the
Taylor remainder of the gradient. For a loss whose second derivative in the logit is
``gamma``-Lipschitz, the Hessians at ``w`` and ``w + t v`` differ by ``X~^T D X~`` with
``|D_ii| <= gamma * t * |x~_i^T v|``, which gives the data-dependent bound of Guo et al.
(sum form):

    ||grad L_sum(w + v)||_2 <= gamma * ||X~||_2 * ||X~ v||_inf * ||X~ v||_2

with X~ the remaining rows (bias column included). Guo et al. assume rows of norm at most 1;
here ``||X~ v||_inf <= min(sqrt(max_i |x~_i|^2) ||v||_2, ||X~ v||_2)`` is used instead, so no
normalisation of X is needed. ``||X~||_2`` and ``||X~ v||_2`` come from the Gram matrix
``X~^T X~`` (kept by downdating), so the bound costs O(p^3) and no pass over X. Integrating
over t would allow a further factor 1/2; it is not taken.

This package reports the bound in the mean form of the loss (divided by the number of
remaining rows n'), the same units as :func:`spark_lester.unlearning.gradient.gradient_residual`.
An (epsilon, delta) certificate in Guo et al.'s sense additionally needs the training
objective perturbed by random noise; that is not done here, so the bound is used as what it
is: a guaranteed upper bound on how far the updated model is from stationarity on the
remaining data, compared against a budget. Above the budget the update is refused and the
caller retrains.

>>> import numpy as np
>>> gram = np.eye(3) * 4.0
>>> round(residual_bound(np.array([0.1, 0.0, 0.0]), gram, max_row_norm2=2.0, n=4), 6)
0.001361
"""

from __future__ import annotations

import numpy as np

from spark_lester.models.logistic import GAMMA

#: Default budget on the bound, as a mean-form gradient norm. The loss is lam-strongly
#: convex, so a residual below the budget guarantees ``|w_u - w_retrained| <= budget / lam``.
#: Newton with the refinement pass stays far below it for deletions of a few percent of the
#: rows; a single Newton step meets it only for very small deletions (its bound is loose by
#: about 100x); larger or more influential requests are retrained.
DEFAULT_BUDGET = 1e-4


def residual_bound(step: np.ndarray, gram: np.ndarray, *, max_row_norm2: float, n: int,
                   gamma: float = GAMMA) -> float:
    """Upper bound on ``||grad L(w + step)||`` (mean form) after a Newton ``step``.

    ``gram`` is ``X~^T X~`` of the n remaining rows, ``max_row_norm2`` an upper bound on
    their squared row norms (bias column included).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN -> refused by the caller
        return _residual_bound(np.asarray(step, np.float64), gram, max_row_norm2, n, gamma)


def _residual_bound(step: np.ndarray, gram: np.ndarray, max_row_norm2: float, n: int,
                    gamma: float) -> float:
    spectral = float(np.sqrt(max(np.linalg.eigvalsh(gram)[-1], 0.0)))
    xv2 = float(np.sqrt(max(step @ gram @ step, 0.0)))
    xv_inf = min(float(np.sqrt(max_row_norm2)) * float(np.linalg.norm(step)), xv2)
    return gamma * spectral * xv_inf * xv2 / max(n, 1)


def refined_bound(first: np.ndarray, second: np.ndarray, gram: np.ndarray, *,
                  max_row_norm2: float, n: int, gamma: float = GAMMA) -> float:
    """Bound after a refinement: ``second = -H^{-1} grad(w + first)`` with the Hessian H at w.

    The gradient left at ``w + first + second`` is ``(H(w) - H(w + first)) H^{-1} g`` plus the
    Taylor remainder of the second step; the Hessians differ by ``X~^T D X~`` with
    ``|D_ii| <= gamma |x~_i^T first|``, so (mean form)

        gamma * ||X~||_2 * ||X~ second||_2 * (||X~ first||_inf + ||X~ second||_inf) / n.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN -> refused by the caller
        return _refined_bound(np.asarray(first, np.float64), np.asarray(second, np.float64),
                              gram, max_row_norm2, n, gamma)


def _refined_bound(first: np.ndarray, second: np.ndarray, gram: np.ndarray,
                   max_row_norm2: float, n: int, gamma: float) -> float:
    spectral = float(np.sqrt(max(np.linalg.eigvalsh(gram)[-1], 0.0)))
    xu2 = float(np.sqrt(max(second @ gram @ second, 0.0)))
    row = float(np.sqrt(max_row_norm2))
    inf1 = min(row * float(np.linalg.norm(first)), float(np.sqrt(max(first @ gram @ first, 0.0))))
    inf2 = min(row * float(np.linalg.norm(second)), xu2)
    return gamma * spectral * xu2 * (inf1 + inf2) / max(n, 1)
