"""Sums over X on Spark (partition by partition, treeAggregate) equal the numpy sums."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from spark_lester.errors import DimensionMismatchError, NonFiniteError
from spark_lester.models.loss import (
    LOGISTIC_STATS_OPS,
    grad_block,
    hvp_block,
    logistic_stats_block,
)
from spark_lester.models.synthetic import D, synthetic_features
from spark_lester.unlearning.sums import SumInfo, row_sums

N = 700


@pytest.fixture(scope="module")
def data():
    X, y = synthetic_features(N, seed=21)
    # Spark stores array<float>: compare against the same float32 values.
    return X.astype(np.float32).astype(np.float64), y


@pytest.fixture(scope="module")
def frame(spark, data):
    X, y = data
    rows = [(int(i), f"r{i}", X[i].tolist(), int(y[i]), float(i) / 3) for i in range(N)]
    df = spark.createDataFrame(
        rows, "row_id long, name string, features array<float>, label int, other double")
    return df.repartition(4).cache()


def _lr_stats(w):
    return functools.partial(logistic_stats_block, 0.01, w)


def test_logistic_stats_on_spark_equal_numpy(frame, data):
    w = np.random.default_rng(0).normal(scale=0.3, size=D + 1)
    info: list[SumInfo] = []
    on_spark = row_sums(frame, _lr_stats(w), d=D, ops=LOGISTIC_STATS_OPS, info=info)
    on_numpy = row_sums(data, _lr_stats(w), d=D, ops=LOGISTIC_STATS_OPS, block_rows=128)
    assert info[0].n_rows == N and info[0].partitions == 4
    for a, b in zip(on_spark, on_numpy, strict=True):
        assert a.shape == b.shape
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
    # The max-combined output is the largest squared row norm (with the bias column).
    X = data[0]
    assert np.isclose(on_spark[3][0], (np.einsum("ij,ij->i", X, X) + 1).max())


def test_mlp_gradient_and_hvp_on_spark_equal_numpy(frame, data):
    rng = np.random.default_rng(1)
    hidden = 4
    p = hidden * D + 2 * hidden + 1
    w, v = rng.normal(scale=0.2, size=p), rng.normal(size=p)
    grad = functools.partial(grad_block, "mlp", hidden, 0.01, w)
    hvp = functools.partial(hvp_block, "mlp", hidden, 0.01, w, v)
    for fn in (grad, hvp):
        (on_spark,) = row_sums(frame, fn, d=D)
        (on_numpy,) = row_sums(data, fn, d=D)
        assert np.allclose(on_spark, on_numpy, rtol=1e-10, atol=1e-10)


def test_numpy_sums_do_not_depend_on_the_block_size(data):
    w = np.random.default_rng(2).normal(size=D + 1)
    fn = functools.partial(grad_block, "logreg", 0, 0.1, w)
    (one,) = row_sums(data, fn, d=D, block_rows=N)
    (many,) = row_sums(data, fn, d=D, block_rows=33)
    assert np.allclose(one, many, rtol=1e-12)


def test_other_label_and_feature_column_names(spark, data):
    X, y = data
    df = spark.createDataFrame([(X[i].tolist(), int(y[i])) for i in range(50)],
                               "x array<double>, target int")
    fn = functools.partial(grad_block, "logreg", 0, 0.1, np.zeros(D + 1))
    (on_spark,) = row_sums(df, fn, d=D, features_col="x", label_col="target")
    (on_numpy,) = row_sums((X[:50], y[:50]), fn, d=D)
    assert np.allclose(on_spark, on_numpy)


def test_spark_width_mismatch_is_a_typed_error(spark):
    df = spark.createDataFrame([([1.0, 2.0], 0), ([1.0, 2.0, 3.0], 1)],
                               "features array<float>, label int")
    fn = functools.partial(grad_block, "logreg", 0, 0.1, np.zeros(3))
    with pytest.raises(DimensionMismatchError) as err:
        row_sums(df, fn, d=2)
    assert err.value.expected == 2 and err.value.got == 3


def test_spark_null_and_nan_features_are_typed_errors(spark):
    fn = functools.partial(grad_block, "logreg", 0, 0.1, np.zeros(3))
    df = spark.createDataFrame([([1.0, 2.0], 0), (None, 1), ([float("nan"), 1.0], 1)],
                               "features array<float>, label int")
    with pytest.raises(NonFiniteError) as err:
        row_sums(df, fn, d=2)
    assert err.value.count == 2
    nolabel = spark.createDataFrame([([1.0, 2.0], None)], "features array<float>, label int")
    with pytest.raises(NonFiniteError):
        row_sums(nolabel, fn, d=2)


def test_numpy_width_mismatch_and_nan(data):
    X, y = data
    fn = functools.partial(grad_block, "logreg", 0, 0.1, np.zeros(D + 1))
    with pytest.raises(DimensionMismatchError):
        row_sums((X[:, :10], y), fn, d=D)
    bad = X.copy()
    bad[5, 5] = np.inf
    with pytest.raises(NonFiniteError):
        row_sums((bad, y), fn, d=D)


def test_adjusted_data_sums_like_the_data_after_the_request(frame, data):
    """X before the request, minus the removed rows, plus the new ones: the same sums (and
    the same Newton update) as X after the request, on Spark and numpy alike."""
    from spark_lester.models import train
    from spark_lester.unlearning import UnlearningRequest, newton, training_stats
    from spark_lester.unlearning.sums import Adjusted

    X, y = data
    gone = np.arange(0, N, 50)
    keep = np.setdiff1d(np.arange(N), gone)
    new_X = X[gone[:5]] * 0.5
    after = (np.concatenate([X[keep], new_X]), np.concatenate([y[keep], y[gone[:5]]]))
    w = np.random.default_rng(2).normal(scale=0.3, size=D + 1)
    expected = row_sums(after, grad_block_lr(w), d=D)
    for base in (frame, data):
        adjusted = Adjusted(base, removed=(X[gone], y[gone]), added=(new_X, y[gone[:5]]))
        info: list[SumInfo] = []
        (got,) = row_sums(adjusted, grad_block_lr(w), d=D, info=info)
        assert info[0].n_rows == len(after[1])
        assert np.allclose(got, expected[0], rtol=1e-10, atol=1e-10)
    # the check can fail: X before the request sums to something else
    assert not np.allclose(row_sums(data, grad_block_lr(w), d=D)[0], expected[0], atol=1e-3)

    model = train(data, lam=1e-2)
    stats = training_stats(model, data)
    request = UnlearningRequest(X[gone], y[gone], new_X, y[gone[:5]])
    direct = newton(model, stats, request, data=after, refine=True, budget=None)
    overlapped = newton(model, stats, request, refine=True, budget=None,
                        data=Adjusted(frame, removed=(X[gone], y[gone]),
                                      added=(new_X, y[gone[:5]])))
    assert np.allclose(direct.params.w, overlapped.params.w, rtol=1e-10, atol=1e-12)


def grad_block_lr(w):
    return functools.partial(grad_block, "logreg", 0, 0.01, w)
