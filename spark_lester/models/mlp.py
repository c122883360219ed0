"""A small MLP (one tanh hidden layer, one logit out): training and autograd sums.

Parameters (flat, see ``models.params.n_params``): ``W1`` (hidden x d, row-major), ``b1``,
``w2``, ``b2``; logit ``z = tanh(X W1^T + b1) w2 + b2``. Loss as everywhere in this package:
``L(w) = (1/n) sum_i l_i(w) + (lam/2)|w|^2``, all parameters regularised. tanh is smooth, so
the Hessian exists everywhere (Newton-CG needs Hessian-vector products).

Initialisation draws ``W1, b1 ~ U(-1/sqrt(d), 1/sqrt(d))`` and ``w2 ~ U(-1/sqrt(h), 1/sqrt(h))``
(``b2 = 0``) from a ``torch.Generator`` seeded with ``seed``; training is full-batch L-BFGS,
so the same (X, y, seed) gives the same vector. Retraining after a deletion from the same
seed lands in the basin of the original model, which is what the unlearning update assumes.

The sums (``grad_sum``, ``hvp_sum``) are in the sum form of ``models.logistic``: each row
contributes ``grad l_i + lam * w``.

>>> import numpy as np
>>> from spark_lester.models.synthetic import synthetic_features
>>> X, y = synthetic_features(300, seed=1)
>>> model = train_mlp(X, y, hidden=4, lam=1e-2, seed=0)
>>> model.n_params, bool(np.abs(grad_sum(model.w, X, y, 1e-2, 4)).max() / len(y) < 1e-6)
(217, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spark_lester.models._private import fit_lbfgs, largest_eigenvalue, torch_settings
from spark_lester.models.data import check_arrays
from spark_lester.models.params import ModelParams, n_params

KIND = "mlp"
#: Stronger than logistic regression's default. At 1e-3 or 3e-3 the minima have soft modes
#: (Hessian eigenvalues ~1e-4, far below lam) along which the loss is strongly anharmonic:
#: L-BFGS needs thousands of iterations, and a small deletion moves the retrained model
#: along them in ways no Newton step predicts (measured median rho 0.3-1.3 on the synthetic
#: running-example data). At 1e-2 units tend to collapse onto one direction and the update
#: matches retraining (rho ~0.02); see README, "Unlearning".
DEFAULT_LAM = 1e-2
#: 8 units: at lam 1e-2, 16 units collapse onto the same direction and some changed-rows
#: requests then turn the old minimum into a saddle (the update is refused, retrained).
DEFAULT_HIDDEN = 8


def train_mlp(X: np.ndarray, y: np.ndarray, *, hidden: int = DEFAULT_HIDDEN,
              lam: float = DEFAULT_LAM, seed: int = 0, max_iter: int = 3000, tol: float = 1e-9,
              threads: int | None = None) -> ModelParams:
    """Fit the MLP with full-batch L-BFGS from a seeded initialisation; deterministic.

    ``tol`` bounds the largest absolute entry of the mean-form gradient; ``info`` records
    whether it was reached within ``max_iter`` iterations (``converged``).
    """
    X, y = check_arrays(X, y)
    n, d = X.shape
    with torch_settings(threads) as torch:
        Xt = torch.from_numpy(np.ascontiguousarray(X))
        yt = torch.from_numpy(np.ascontiguousarray(y))

        def loss_fn(w: Any) -> Any:
            z = torch_logits(w, Xt, hidden)
            return (torch.nn.functional.binary_cross_entropy_with_logits(z, yt)
                    + 0.5 * lam * torch.dot(w, w))

        gen = torch.Generator().manual_seed(seed)
        w0 = init_params(d, hidden, gen)
        w, info = fit_lbfgs(loss_fn, w0, max_iter=max_iter, tol=tol, kind=KIND)
        info["curvature_max"] = largest_eigenvalue(loss_fn, w, generator=gen)
    return ModelParams(kind=KIND, d=d, lam=lam, seed=seed, n_train=n, w=w.numpy().copy(),
                       hidden=hidden, info=info)


def init_params(d: int, hidden: int, generator: Any) -> Any:
    """The seeded initial vector (see module docstring)."""
    import torch

    def uniform(size: int, bound: float) -> torch.Tensor:
        u = torch.rand(size, generator=generator, dtype=torch.float64)
        return (2.0 * u - 1.0) * bound

    a, b = 1.0 / np.sqrt(d), 1.0 / np.sqrt(hidden)
    return torch.cat([uniform(hidden * d, a), uniform(hidden, a), uniform(hidden, b),
                      torch.zeros(1, dtype=torch.float64)])


def _split(w: Any, d: int, hidden: int) -> tuple[Any, Any, Any, Any]:
    h = hidden
    return (w[:h * d].reshape(h, d), w[h * d:h * d + h], w[h * d + h:h * d + 2 * h],
            w[h * d + 2 * h])


def torch_logits(w: Any, X: Any, hidden: int) -> Any:
    """Logits as a torch expression of the flat vector ``w`` (differentiable)."""
    import torch

    W1, b1, w2, b2 = _split(w, X.shape[1], hidden)
    return torch.tanh(X @ W1.T + b1) @ w2 + b2


def logits(w: np.ndarray, X: np.ndarray, hidden: int) -> np.ndarray:
    """Logits in numpy (same arithmetic as :func:`torch_logits`)."""
    W1, b1, w2, b2 = _split(w, X.shape[1], hidden)
    return np.tanh(X @ W1.T + b1) @ w2 + b2


def _block_loss(torch: Any, w: Any, X: np.ndarray, y: np.ndarray, lam: float, hidden: int) -> Any:
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float64))
    z = torch_logits(w, Xt, hidden)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction="sum")
    return bce + 0.5 * lam * len(y) * torch.dot(w, w)


def grad_sum(w: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float,
             hidden: int) -> np.ndarray:
    """Sum-form gradient of the block, shape (n_params,)."""
    import torch

    _check(w, X, hidden)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(_block_loss(torch, wt, X, y, lam, hidden), wt)
    return g.numpy().copy()


def hvp_sum(w: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float, hidden: int,
            v: np.ndarray) -> np.ndarray:
    """Sum-form Hessian-vector product ``(sum_i hess(l_i + lam/2 |w|^2)) v`` of the block.

    Double backward (reverse over reverse): the cost of about two gradient evaluations.
    """
    import torch

    _check(w, X, hidden)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(_block_loss(torch, wt, X, y, lam, hidden), wt, create_graph=True)
    (hv,) = torch.autograd.grad(g, wt, grad_outputs=torch.from_numpy(np.asarray(v, np.float64)))
    return hv.numpy().copy()


def loss_sum(w: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float, hidden: int) -> float:
    """``sum_i [l_i(w) + (lam/2)|w|^2]`` over the block (numpy)."""
    z = logits(w, X, hidden)
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * len(y) * w @ w)


def _check(w: np.ndarray, X: np.ndarray, hidden: int) -> None:
    if w.shape[0] != n_params(KIND, X.shape[1], hidden):
        from spark_lester.errors import DimensionMismatchError

        raise DimensionMismatchError(expected=(w.shape[0] - 2 * hidden - 1) // hidden,
                                     got=X.shape[1], what="X", kind=KIND)
