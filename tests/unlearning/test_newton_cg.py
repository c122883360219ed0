"""Newton-CG (Hessian-vector products) for the MLP, against retraining from scratch; and
against the explicit Newton step on logistic regression, where both must agree."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.models import retrain, train
from spark_lester.unlearning import (
    UnlearningRequest,
    newton,
    newton_cg,
    training_stats,
    unlearning_quality,
)

from .checks import MLP_RHO, failures
from .conftest import random_deletion


@pytest.mark.parametrize("fraction", [0.001, 0.01])
def test_mlp_newton_cg_meets_rho(mlp, fraction):
    reports = []
    for seed in range(2):
        deletion = random_deletion(mlp, fraction, seed)
        result = newton_cg(mlp.model, mlp.stats, deletion.request, deletion.remaining)
        assert not result.needs_retrain and result.extra["cg_converged"]
        assert result.passes == result.iterations > 0
        reports.append(unlearning_quality(mlp.model, result.params, deletion.retrained,
                                          remaining=deletion.remaining,
                                          deleted=deletion.deleted,
                                          test=(mlp.X_test, mlp.y_test)))
    assert failures(reports, rho_max=MLP_RHO) == []
    assert all(r.residual_ratio > 10 for r in reports)


def test_mlp_changed_rows(incident):
    X, y, rows, X_after = incident["X"], incident["y"], incident["rows"], incident["X_after"]
    model = train((X, y), kind="mlp")
    stats = training_stats(model, (X, y))
    request = UnlearningRequest.change((X[rows], y[rows]), (X_after[rows], y[rows]))
    result = newton_cg(model, stats, request, (X_after, y), steps=2)
    assert result.refined and result.passes == result.iterations + 1
    report = unlearning_quality(model, result.params, retrain(model, (X_after, y)),
                                remaining=(X_after, y), deleted=(X[rows], y[rows]),
                                test=(incident["X_test"], incident["y_test"]))
    assert report.rho <= MLP_RHO
    assert report.residual_ratio > 100


def test_newton_cg_on_logistic_regression_equals_the_explicit_newton_step(lr):
    deletion = random_deletion(lr, 0.01, seed=7)
    explicit = newton(lr.model, lr.stats, deletion.request, budget=None)
    cg = newton_cg(lr.model, lr.stats, deletion.request, deletion.remaining, tol=1e-12)
    assert np.allclose(cg.params.w, explicit.params.w, rtol=1e-7, atol=1e-9)


def test_damping_shrinks_the_step(mlp):
    deletion = random_deletion(mlp, 0.01, seed=3)
    plain = newton_cg(mlp.model, mlp.stats, deletion.request, deletion.remaining)
    damped = newton_cg(mlp.model, mlp.stats, deletion.request, deletion.remaining, damping=1.0)
    step = np.linalg.norm(plain.params.w - mlp.model.w)
    assert 0 < np.linalg.norm(damped.params.w - mlp.model.w) < step
    assert damped.params.info["damping"] == 1.0


def test_newton_cg_on_spark_equals_numpy(spark, mlp):
    deletion = random_deletion(mlp, 0.001, seed=1)
    Xr, yr = deletion.remaining
    df = spark.createDataFrame([(Xr[i].tolist(), int(yr[i]), i) for i in range(len(yr))],
                               "features array<float>, label int, row_id long").repartition(2)
    on_spark = newton_cg(mlp.model, mlp.stats, deletion.request, df, max_iter=5)
    on_numpy = newton_cg(mlp.model, mlp.stats, deletion.request, deletion.remaining, max_iter=5)
    assert on_spark.iterations == on_numpy.iterations == 5
    assert np.allclose(on_spark.params.w, on_numpy.params.w, rtol=1e-8, atol=1e-10)
