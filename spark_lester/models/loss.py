"""The training loss of every model kind as block functions: sums over a block of rows.

Each function takes the model's defining numbers first and a block ``(X, y)`` last, and
returns a tuple of arrays to be added over blocks, so ``functools.partial(f, ...)`` is a
block function for ``spark_lester.unlearning.sums.row_sums`` (picklable, runs on Spark
executors). All sums are in the sum form (see ``models.logistic``): a block of m rows
contributes ``sum_i [l_i(w) + (lam/2)|w|^2]`` and its derivatives.

>>> import numpy as np
>>> w = np.array([0.5, -1.0, 0.2])
>>> X, y = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([1.0, 0.0])
>>> g_lr, = grad_block("logreg", 0, 0.1, w, X, y)
>>> hv, = hvp_block("logreg", 0, 0.1, w, np.ones(3), X, y)
>>> bool(np.allclose(hv, hessian_block(0.1, w, X, y)[0] @ np.ones(3)))
True
"""

from __future__ import annotations

import numpy as np

from spark_lester.models import logistic, mlp


def loss_block(kind: str, hidden: int, lam: float, w: np.ndarray, X: np.ndarray,
               y: np.ndarray) -> tuple[np.ndarray]:
    """``(sum of row losses + regulariser,)`` as a 0-d array."""
    if kind == "logreg":
        return (np.array(logistic.loss_sum(w, X, y, lam)),)
    return (np.array(mlp.loss_sum(w, X, y, lam, hidden)),)


def grad_block(kind: str, hidden: int, lam: float, w: np.ndarray, X: np.ndarray,
               y: np.ndarray) -> tuple[np.ndarray]:
    """``(sum-form gradient,)``, shape (n_params,)."""
    if kind == "logreg":
        return (logistic.grad_sum(w, X, y, lam),)
    return (mlp.grad_sum(w, X, y, lam, hidden),)


def hvp_block(kind: str, hidden: int, lam: float, w: np.ndarray, v: np.ndarray, X: np.ndarray,
              y: np.ndarray) -> tuple[np.ndarray]:
    """``(sum-form Hessian times v,)``; closed form for logreg, double backward for the MLP."""
    if kind == "logreg":
        p = logistic.sigmoid(logistic.logits(w, X))
        d = X.shape[1]
        u = (X @ v[:d] + v[d]) * p * (1.0 - p)
        out = np.empty_like(v)
        out[:d] = X.T @ u
        out[d] = u.sum()
        return (out + len(y) * lam * v,)
    return (mlp.hvp_sum(w, X, y, lam, hidden, v),)


def hessian_block(lam: float, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray]:
    """``(sum-form Hessian,)`` of logistic regression, (d + 1) x (d + 1)."""
    return (logistic.hessian_sum(w, X, lam),)


def logistic_stats_block(lam: float, w: np.ndarray, X: np.ndarray, y: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Everything a logistic-regression update needs from one pass over a block.

    ``(gradient, Hessian, Gram X~^T X~, [max_i |x~_i|^2])``; the last one is combined by
    maximum, the others by sum.
    """
    g, H = logistic.grad_and_hessian_sum(w, X, y, lam)
    gram = logistic.weighted_gram(X)
    norm2 = np.array([float(np.max(np.einsum("ij,ij->i", X, X))) + 1.0 if len(X) else 0.0])
    return g, H, gram, norm2


#: How :func:`logistic_stats_block` outputs combine over blocks.
LOGISTIC_STATS_OPS = ("sum", "sum", "sum", "max")
