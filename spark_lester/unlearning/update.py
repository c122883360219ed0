"""``update_model``: the one call the deletion flow makes after the tables were updated.

It picks the method for the model kind (``auto``: Newton with the downdated Hessian for
logistic regression, Newton-CG for the MLP), runs it, and when the update is refused
(certified bound over budget, NaN/inf, no positive-definite Hessian) retrains from scratch
on ``data`` with the same seed, if ``auto_retrain`` (the default). The result says which
happened and why, ready for the ledger (``result.to_dict()``). Inputs that are wrong rather
than unlucky (dimension mismatch, stats of another model, a request removing every row,
NaN in the given rows) raise typed errors before anything is computed.

>>> import numpy as np
>>> from spark_lester.models import train
>>> from spark_lester.models.synthetic import synthetic_features
>>> from spark_lester.unlearning.request import UnlearningRequest
>>> from spark_lester.unlearning.stats import training_stats
>>> X, y = synthetic_features(400, seed=0)
>>> model = train((X, y), lam=1e-2)
>>> stats = training_stats(model, (X, y))
>>> request = UnlearningRequest.remove((X[:4], y[:4]))
>>> update_model(model, stats, request, data=(X[4:], y[4:])).method
'newton'
>>> r = update_model(model, stats, request, data=(X[4:], y[4:]), budget=1e-12)
>>> r.method, r.retrain_reason, r.params.n_train
('retrain', 'bound_exceeded', 396)
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from spark_lester.errors import UnlearningError
from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data
from spark_lester.models.params import ModelParams
from spark_lester.models.train import retrain
from spark_lester.unlearning.certified import DEFAULT_BUDGET
from spark_lester.unlearning.first_order import first_order
from spark_lester.unlearning.newton import newton
from spark_lester.unlearning.newton_cg import newton_cg
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.result import UnlearningResult
from spark_lester.unlearning.stats import TrainingStats, training_stats


def update_model(params: ModelParams, stats: TrainingStats, request: UnlearningRequest, *,
                 data: Data | None = None, method: str = "auto", refine: bool | None = None,
                 budget: float | None = DEFAULT_BUDGET, auto_retrain: bool = True,
                 features_col: str = FEATURES_COL, label_col: str = LABEL_COL,
                 **options: Any) -> UnlearningResult:
    """Update ``params`` for ``request``, or retrain when the update is refused.

    ``data`` is the training data after the request (numpy or a Spark DataFrame); it is
    needed for Newton-CG, for ``refine`` and for the retrain fallback. ``refine`` (None:
    on for logistic regression when ``data`` is given) adds the refinement step: one
    gradient pass over X for Newton, a second Newton-CG step for the MLP. ``method`` is
    ``auto``, ``newton``, ``newton_cg`` or ``first_order``; ``options`` go to the method
    (``damping``, ``tol``, ``max_iter``, ``steps`` for Newton-CG; ``tau`` for first order).
    """
    start = time.perf_counter()
    chosen = method if method != "auto" else ("newton" if params.kind == "logreg" else "newton_cg")
    cols = {"features_col": features_col, "label_col": label_col}
    if chosen == "newton":
        do_refine = (data is not None) if refine is None else refine
        result = newton(params, stats, request, data=data, refine=do_refine, budget=budget,
                        **cols)
    elif chosen == "newton_cg":
        if data is None:
            raise UnlearningError("Newton-CG needs the data after the request.", method=chosen)
        steps = options.pop("steps", 2 if refine is True else 1)
        result = newton_cg(params, stats, request, data, steps=steps, **options, **cols)
    elif chosen == "first_order":
        result = first_order(params, request, stats=stats, **options)
    else:
        raise UnlearningError(f"unknown method {method!r}; use auto, newton, newton_cg or "
                              "first_order.")
    if not result.needs_retrain or not auto_retrain:
        return result
    if data is None:
        raise UnlearningError(f"the update was refused ({result.retrain_reason}) and no data "
                              "was given to retrain on.", method=chosen,
                              hint="Pass data= (the training data after the request).")
    model = retrain(params, data, **cols)
    new_stats = training_stats(model, data, **cols)
    model = model.with_(info={**model.info, "method": "retrain",
                              "retrain_reason": result.retrain_reason,
                              "request_id": request.request_id or ""})
    return replace(result, method="retrain", params=model, stats=new_stats, passes=1,
                   seconds=time.perf_counter() - start,
                   extra={**result.extra, "refused_method": chosen})
