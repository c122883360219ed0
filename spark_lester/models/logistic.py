"""L2-regularised logistic regression: training (PyTorch, L-BFGS) and its closed-form sums.

Parameters: ``w = [weights (d), bias]``; logit ``z = X @ w[:d] + w[d]``. Loss (see
``models.params``): ``L(w) = (1/n) sum_i l_i(w) + (lam/2)|w|^2``, bias regularised too.

The sums below are the *sum form* used by unlearning: each row contributes its loss plus
``(lam/2)|w|^2``, so ``n * L(w) = sum_i [l_i(w) + (lam/2)|w|^2]`` and

    grad_sum(w)    = X~^T (sigmoid(z) - y) + m * lam * w
    hessian_sum(w) = X~^T diag(s) X~ + m * lam * I,   s = sigmoid(z) (1 - sigmoid(z))

over a block of ``m`` rows, with ``X~ = [X, 1]``. They are additive over row blocks, which
is what lets Spark compute them partition by partition and lets a stored Hessian be
downdated by the changed rows.

>>> import numpy as np
>>> from spark_lester.models.synthetic import synthetic_features
>>> X, y = synthetic_features(500, seed=1)
>>> model = train_logistic(X, y, lam=1e-2, seed=0)
>>> bool(np.abs(grad_sum(model.w, X, y, 1e-2)).max() / len(y) < 1e-8)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spark_lester.models._private import fit_lbfgs, largest_eigenvalue, torch_settings
from spark_lester.models.data import check_arrays
from spark_lester.models.params import ModelParams, sigmoid

KIND = "logreg"
DEFAULT_LAM = 1e-3
#: Lipschitz constant of the second derivative of the logistic loss in the logit:
#: max |d/dz sigmoid(z)(1 - sigmoid(z))| = 1 / (6 sqrt 3) (Guo et al. use the looser 1/4).
GAMMA = 1.0 / (6.0 * np.sqrt(3.0))


def train_logistic(X: np.ndarray, y: np.ndarray, *, lam: float = DEFAULT_LAM, seed: int = 0,
                   max_iter: int = 1000, tol: float = 1e-9,
                   threads: int | None = None) -> ModelParams:
    """Fit logistic regression with full-batch L-BFGS from zeros; deterministic.

    ``tol`` bounds the largest absolute entry of the mean-form gradient at the result. The
    seed is recorded (and seeds the curvature estimate); the start vector is zero.
    """
    X, y = check_arrays(X, y)
    n, d = X.shape
    with torch_settings(threads) as torch:
        Xt = torch.from_numpy(np.ascontiguousarray(X))
        yt = torch.from_numpy(np.ascontiguousarray(y))

        def loss_fn(w: Any) -> Any:
            z = Xt @ w[:d] + w[d]
            return (torch.nn.functional.binary_cross_entropy_with_logits(z, yt)
                    + 0.5 * lam * torch.dot(w, w))

        w0 = torch.zeros(d + 1, dtype=torch.float64)
        w, info = fit_lbfgs(loss_fn, w0, max_iter=max_iter, tol=tol, kind=KIND)
        gen = torch.Generator().manual_seed(seed)
        info["curvature_max"] = largest_eigenvalue(loss_fn, w, generator=gen)
    return ModelParams(kind=KIND, d=d, lam=lam, seed=seed, n_train=n, w=w.numpy().copy(),
                       info=info)


def logits(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    d = X.shape[1]
    return X @ w[:d] + w[d]


def loss_sum(w: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float) -> float:
    """``sum_i [l_i(w) + (lam/2)|w|^2]`` over the rows of the block."""
    z = logits(w, X)
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * len(y) * w @ w)


def grad_sum(w: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Sum-form gradient of the block (see module docstring), shape (d + 1,)."""
    r = sigmoid(logits(w, X)) - y
    g = np.empty_like(w)
    g[:-1] = X.T @ r
    g[-1] = r.sum()
    return g + len(y) * lam * w


def hessian_sum(w: np.ndarray, X: np.ndarray, lam: float) -> np.ndarray:
    """Sum-form Hessian of the block, shape (d + 1, d + 1); it does not depend on y."""
    p = sigmoid(logits(w, X))
    H = weighted_gram(X, p * (1.0 - p))
    H[np.diag_indices_from(H)] += len(X) * lam
    return H


def weighted_gram(X: np.ndarray, s: np.ndarray | None = None) -> np.ndarray:
    """``X~^T diag(s) X~`` with ``X~ = [X, 1]`` (``s = 1`` when None), without copying X."""
    n, d = X.shape
    s = np.ones(n) if s is None else s
    G = np.empty((d + 1, d + 1))
    Xs = X * s[:, None]
    G[:d, :d] = X.T @ Xs
    G[:d, d] = G[d, :d] = Xs.sum(axis=0)
    G[d, d] = s.sum()
    return G


def grad_and_hessian_sum(w: np.ndarray, X: np.ndarray, y: np.ndarray,
                         lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Both sums from one evaluation of the logits (one pass over the block)."""
    p = sigmoid(logits(w, X))
    r = p - y
    g = np.empty_like(w)
    g[:-1] = X.T @ r
    g[-1] = r.sum()
    g += len(y) * lam * w
    H = weighted_gram(X, p * (1.0 - p))
    H[np.diag_indices_from(H)] += len(X) * lam
    return g, H
