"""deletion/model.py ``drop_features``: a model without the input columns that are zero on
every remaining training row. Its logits on the remaining rows are unchanged, its dropped
training statistics equal those computed afresh on the narrower X, and for logistic
regression it equals (to the optimiser's tolerance) a model retrained on the narrower X."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.deletion.model import drop_features
from spark_lester.models import train
from spark_lester.unlearning.stats import training_stats


def _data(seed: int):
    rng = np.random.default_rng(seed)
    n, d = 200, 8
    X = rng.normal(size=(n, d))
    onehot = np.zeros((n, 3))
    onehot[np.arange(n), rng.integers(0, 3, size=n)] = 1.0
    X = np.hstack([X, onehot])
    y = (X[:, 0] + X[:, 8] - X[:, 1] + rng.normal(size=n) * 0.5 > 0).astype(np.float64)
    # column 9 (a category) is held by rows 0..4 only: the request deletes them
    X[:, 9] = 0.0
    X[:5, 9] = 1.0
    return X, y


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
@pytest.mark.parametrize("seed", [0, 1])
def test_dropped_model_keeps_remaining_logits_and_statistics(kind, seed):
    X, y = _data(seed)
    remaining, ry = X[5:], y[5:]
    keep = [c for c in range(X.shape[1]) if c != 9]
    model = train((remaining, ry), kind=kind, lam=1e-2, seed=seed, hidden=4)
    stats = training_stats(model, (remaining, ry))
    small, small_stats = drop_features(model, stats, keep)
    assert small.d == len(keep) and small.n_params == model.n_params - (
        1 if kind == "logreg" else 4)
    np.testing.assert_allclose(small.logits(remaining[:, keep]), model.logits(remaining),
                               rtol=1e-12, atol=1e-12)
    fresh = training_stats(small, (remaining[:, keep], ry))
    np.testing.assert_allclose(small_stats.grad, fresh.grad, atol=1e-9)
    if kind == "logreg":
        np.testing.assert_allclose(small_stats.hessian, fresh.hessian, atol=1e-9)
        retrained = train((remaining[:, keep], ry), kind=kind, lam=1e-2, seed=seed)
        np.testing.assert_allclose(small.w, retrained.w, atol=1e-4)
        assert abs(model.w[9]) < 1e-4  # the zero column's weight is 0 under L2
    small_stats.check(small)


def test_dropping_a_held_column_is_caught():
    """The planted bug: dropping a column that remaining rows still hold changes their
    logits, and the check above sees it."""
    X, y = _data(0)
    model = train((X, y), kind="logreg", lam=1e-2)
    stats = training_stats(model, (X, y))
    keep = [c for c in range(X.shape[1]) if c != 8]
    small, _ = drop_features(model, stats, keep)
    assert not np.allclose(small.logits(X[:, keep]), model.logits(X), atol=1e-6)
