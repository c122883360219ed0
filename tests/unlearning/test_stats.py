"""Training stats: downdating equals recomputing on the new data (the O(k p^2) path is
exact), bytes round trip, and stats are tied to their model."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.errors import ModelFormatError, StatsMismatchError
from spark_lester.models import train
from spark_lester.unlearning import TrainingStats, UnlearningRequest, training_stats


def _close(a, b):
    for name in ("grad", "hessian", "gram"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            assert np.allclose(x, y, rtol=1e-9, atol=1e-8), name
    assert a.n == b.n and np.array_equal(a.w_ref, b.w_ref)


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_downdate_equals_recomputation(lr, mlp, kind):
    setup = lr if kind == "logreg" else mlp
    X, y = setup.X, setup.y
    removed, changed = np.arange(0, 40), np.arange(40, 60)
    X_new = X.copy()
    X_new[changed, :16] = 0.0  # blank the title embedding of the changed rows
    request = UnlearningRequest(X_removed=np.vstack([X[removed], X[changed]]),
                                y_removed=np.concatenate([y[removed], y[changed]]),
                                X_added=X_new[changed], y_added=y[changed])
    keep = np.arange(40, len(y))
    fresh = training_stats(setup.model, (X_new[keep], y[keep]))
    down = setup.stats.downdate(request)
    _close(down, fresh)
    if kind == "logreg":
        assert down.max_row_norm2 >= fresh.max_row_norm2  # stays a valid upper bound


def test_bytes_round_trip_and_corruption(lr):
    again = TrainingStats.from_bytes(lr.stats.to_bytes())
    _close(again, lr.stats)
    assert again.ref_digest == lr.model.digest()
    assert again.max_row_norm2 == lr.stats.max_row_norm2
    with pytest.raises(ModelFormatError):
        TrainingStats.from_bytes(b"garbage")
    with pytest.raises(ModelFormatError):
        TrainingStats.from_bytes(lr.model.to_bytes())  # a model is not a stats artifact


def test_stats_belong_to_their_model(lr, mlp):
    lr.stats.check(lr.model)
    with pytest.raises(StatsMismatchError, match="stats are for logreg"):
        lr.stats.check(mlp.model)
    other = train((lr.X[:500], lr.y[:500]))
    with pytest.raises(StatsMismatchError, match="another parameter vector"):
        lr.stats.check(other)
    # A version derived from the reference by an update is accepted.
    derived = other.with_(info={"reference": lr.stats.ref_digest})
    lr.stats.check(derived)
