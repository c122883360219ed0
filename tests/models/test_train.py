"""Training: deterministic for a seed, converged, and consistent with the numpy sums that
unlearning uses (the same loss convention everywhere)."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.errors import ModelError, NonFiniteError
from spark_lester.models import logistic, mlp, train
from spark_lester.models.loss import grad_block, hvp_block, loss_block
from spark_lester.models.synthetic import D, synthetic_features, synthetic_incident


@pytest.fixture(scope="module")
def data():
    return synthetic_features(800, seed=11)


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_training_is_deterministic_for_a_seed(data, kind):
    a = train(data, kind=kind, hidden=6, seed=3)
    b = train(data, kind=kind, hidden=6, seed=3)
    assert a.to_bytes() == b.to_bytes()
    assert a.kind == kind and a.n_train == 800 and a.d == D and a.seed == 3


def test_mlp_seed_changes_the_initialisation(data):
    a = train(data, kind="mlp", hidden=6, seed=1, max_iter=5)
    b = train(data, kind="mlp", hidden=6, seed=2, max_iter=5)
    assert not np.allclose(a.w, b.w)


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_training_reaches_a_stationary_point_of_the_documented_loss(data, kind):
    X, y = data
    model = train(data, kind=kind, hidden=6)
    (g,) = grad_block(kind, model.hidden, model.lam, model.w, X.astype(np.float64),
                      y.astype(np.float64))
    # Mean-form gradient of L(w) = (1/n) sum l_i + (lam/2)|w|^2 computed independently.
    assert np.linalg.norm(g) / len(y) < 1e-7
    # Far from the optimum the same gradient is large: the check can fail.
    (g0,) = grad_block(kind, model.hidden, model.lam, np.zeros_like(model.w) + 0.1,
                       X.astype(np.float64), y.astype(np.float64))
    assert np.linalg.norm(g0) / len(y) > 1e-3
    assert model.info["iterations"] > 0 and model.info["curvature_max"] > model.lam
    assert (model.predict(X) == y).mean() > 0.7


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_numpy_sums_match_finite_differences(kind):
    X, y = synthetic_features(50, seed=2)
    X, y = X.astype(np.float64), y.astype(np.float64)
    rng = np.random.default_rng(0)
    hidden = 3 if kind == "mlp" else 0
    p = D + 1 if kind == "logreg" else hidden * D + 2 * hidden + 1
    w, v = rng.normal(scale=0.3, size=p), rng.normal(size=p)
    lam, eps = 0.05, 1e-6

    def loss(u):
        return float(loss_block(kind, hidden, lam, u, X, y)[0])

    (g,) = grad_block(kind, hidden, lam, w, X, y)
    assert np.isclose(g @ v, (loss(w + eps * v) - loss(w - eps * v)) / (2 * eps), rtol=1e-6)
    (hv,) = hvp_block(kind, hidden, lam, w, v, X, y)
    g_plus = grad_block(kind, hidden, lam, w + eps * v, X, y)[0]
    g_minus = grad_block(kind, hidden, lam, w - eps * v, X, y)[0]
    assert np.allclose(hv, (g_plus - g_minus) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_logistic_hessian_is_the_hvp_matrix():
    X, y = synthetic_features(40, seed=4)
    X, y = X.astype(np.float64), y.astype(np.float64)
    w = np.random.default_rng(1).normal(size=D + 1)
    H = logistic.hessian_sum(w, X, 0.1)
    cols = np.stack([hvp_block("logreg", 0, 0.1, w, e, X, y)[0] for e in np.eye(D + 1)])
    assert np.allclose(H, cols.T)
    assert np.allclose(H, H.T)
    assert np.linalg.eigvalsh(H)[0] >= 0.1 * len(y) - 1e-9


def test_mlp_numpy_and_torch_logits_agree():
    import torch

    X, _ = synthetic_features(30, seed=5)
    X = X.astype(np.float64)
    w = np.random.default_rng(2).normal(size=4 * D + 9)
    z_np = mlp.logits(w, X, 4)
    z_t = mlp.torch_logits(torch.from_numpy(w), torch.from_numpy(X), 4).numpy()
    assert np.allclose(z_np, z_t, rtol=1e-12, atol=1e-12)


def test_training_from_a_spark_dataframe_equals_numpy(spark, data):
    X, y = data
    rows = [(i, X[i].tolist(), int(y[i]), "x") for i in range(len(y))]
    df = spark.createDataFrame(rows, "row_id long, features array<float>, label int, other string")
    from_spark = train(df.repartition(3).orderBy("row_id"))
    from_numpy = train((X, y))
    assert np.array_equal(from_spark.w, from_numpy.w)


def test_bad_training_inputs():
    X, y = synthetic_features(20, seed=0)
    with pytest.raises(ModelError, match="labels must be 0 or 1"):
        train((X, y * 2))
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(NonFiniteError):
        train((bad, y))
    with pytest.raises(ModelError, match="no training rows"):
        train((X[:0], y[:0]))
    with pytest.raises(ModelError, match="unknown model kind"):
        train((X, y), kind="forest")


def test_synthetic_incident_changes_only_title_ranges_of_leaked_rows():
    X, y, rows, X_clean = synthetic_incident(500, seed=3, leak_fraction=0.04)
    assert len(rows) == 20 and X_clean.shape == (20, D)
    changed = np.abs(X[rows] - X_clean) > 0
    assert changed[:, :16].any() and changed[:, 48].all()
    assert not changed[:, 16:48].any() and not changed[:, 49:].any()
