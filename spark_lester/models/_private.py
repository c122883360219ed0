"""Shared training machinery: deterministic torch settings, full-batch L-BFGS, curvature.

Training is full-batch L-BFGS (strong-Wolfe line search) in float64 on the CPU from an
initial vector drawn from a ``torch.Generator`` seeded with the model's seed. There is no
mini-batch sampling and no data shuffling, so the result depends only on (X, y, seed,
hyper-parameters) and, bitwise, on the torch build and thread count (float reductions are
ordered by the number of threads).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from spark_lester.errors import ModelError

if TYPE_CHECKING:
    import torch

#: Power-iteration steps used to estimate the largest Hessian eigenvalue after training.
POWER_ITERATIONS = 30


@contextlib.contextmanager
def torch_settings(threads: int | None = None) -> Iterator[Any]:
    """Deterministic algorithms on (and optionally a thread count) for the block, restored after."""
    import torch

    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch
    finally:
        torch.use_deterministic_algorithms(previous_det)
        if threads:
            torch.set_num_threads(previous_threads)


def fit_lbfgs(loss_fn: Callable[[torch.Tensor], torch.Tensor], w0: torch.Tensor, *,
              max_iter: int, tol: float, kind: str) -> tuple[torch.Tensor, dict[str, Any]]:
    """Minimise ``loss_fn`` from ``w0`` with full-batch L-BFGS; return the vector and diagnostics.

    Stops when the largest absolute gradient entry is at most ``tol`` or after ``max_iter``
    iterations. ``info`` records iterations, final loss, gradient L2 norm and ``converged``.
    """
    import torch

    w = w0.clone().detach().requires_grad_(True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=max_iter, max_eval=2 * max_iter,
                            tolerance_grad=tol, tolerance_change=0.0, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(w)
        loss.backward()
        return loss

    opt.step(closure)
    iterations = int(opt.state[opt._params[0]].get("n_iter", 0))
    w = w.detach()
    wg = w.clone().requires_grad_(True)
    loss = loss_fn(wg)
    (grad,) = torch.autograd.grad(loss, wg)
    loss = loss.detach()
    if not (math.isfinite(float(loss)) and bool(torch.isfinite(grad).all())
            and bool(torch.isfinite(w).all())):
        raise ModelError("training diverged (non-finite loss or parameters).", kind=kind,
                         hint="Check X for extreme values or raise lam.")
    info = {"method": "lbfgs", "iterations": iterations, "loss": float(loss),
            "grad_norm": float(grad.norm()), "converged": bool(grad.abs().max() <= tol)}
    return w, info


def largest_eigenvalue(loss_fn: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor, *,
                       generator: torch.Generator, iterations: int = POWER_ITERATIONS) -> float:
    """Power-iteration estimate of the largest Hessian eigenvalue of ``loss_fn`` at ``w``.

    Used for the default first-order step size ``1 / curvature_max``: the classical
    gradient-descent step that does not overshoot along any direction of the local quadratic.
    """
    import torch

    w = w.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(w), w, create_graph=True)
    v = torch.randn(w.shape, generator=generator, dtype=w.dtype)
    v = v / v.norm()
    value = 0.0
    for _ in range(iterations):
        (hv,) = torch.autograd.grad(grad, w, grad_outputs=v, retain_graph=True)
        value = float(torch.dot(v, hv))
        norm = float(hv.norm())
        if norm == 0.0 or not math.isfinite(norm):
            break
        v = hv / norm
    return abs(value)
