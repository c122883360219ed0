"""Bad input: typed errors before anything is computed, or a refusal (retrain signal) with
a reason; never a partly updated vector."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.errors import (
    DimensionMismatchError,
    EmptyRemainderError,
    ModelError,
    NonFiniteError,
    StatsMismatchError,
    UnlearningError,
)
from spark_lester.unlearning import (
    UnlearningRequest,
    first_order,
    newton,
    newton_cg,
    update_model,
)


def test_model_and_request_of_different_widths(lr):
    request = UnlearningRequest.remove((lr.X[:3, :40], lr.y[:3]))
    for call in (lambda: newton(lr.model, lr.stats, request),
                 lambda: first_order(lr.model, request),
                 lambda: update_model(lr.model, lr.stats, request, data=(lr.X, lr.y))):
        with pytest.raises(DimensionMismatchError) as err:
            call()
        assert (err.value.expected, err.value.got) == (lr.model.d, 40)


def test_data_of_another_width_for_the_refinement_pass(lr):
    request = UnlearningRequest.remove((lr.X[:3], lr.y[:3]))
    with pytest.raises(DimensionMismatchError):
        newton(lr.model, lr.stats, request, data=(lr.X[3:, :50], lr.y[3:]), refine=True)


def test_data_from_before_the_table_update_is_caught(lr):
    request = UnlearningRequest.remove((lr.X[:3], lr.y[:3]))
    with pytest.raises(StatsMismatchError, match="3000 rows"):
        newton(lr.model, lr.stats, request, data=(lr.X, lr.y), refine=True)


def test_stats_of_another_model(lr, mlp):
    request = UnlearningRequest.remove((lr.X[:3], lr.y[:3]))
    with pytest.raises(StatsMismatchError):
        newton_cg(lr.model, mlp.stats, request, (lr.X[3:], lr.y[3:]))
    with pytest.raises(UnlearningError, match="explicit Newton step"):
        newton(mlp.model, mlp.stats, request)


def test_request_removing_every_row(lr):
    request = UnlearningRequest.remove((lr.X, lr.y))
    with pytest.raises(EmptyRemainderError) as err:
        update_model(lr.model, lr.stats, request, data=(lr.X[:0], lr.y[:0]))
    assert err.value.n_train == err.value.n_removed == len(lr.y)
    with pytest.raises(EmptyRemainderError):
        first_order(lr.model, request)


def test_empty_request():
    with pytest.raises(ModelError, match="touches no rows"):
        UnlearningRequest.remove((np.zeros((0, 5)), np.zeros(0)))


def test_nan_in_request_rows(lr):
    X = lr.X[:3].astype(np.float64)
    X[1, 7] = np.nan
    with pytest.raises(NonFiniteError) as err:
        UnlearningRequest.remove((X, lr.y[:3]))
    assert err.value.where == "request.removed" and err.value.count == 1


def test_overflowing_request_rows_raise_before_any_update(lr):
    X = lr.X[:2].astype(np.float64) * 1e300  # finite, but every gradient overflows
    request = UnlearningRequest.remove((X, lr.y[:2]))
    with pytest.raises(NonFiniteError, match="downdated stats"):
        newton(lr.model, lr.stats, request)


def test_non_finite_gradient_in_the_refinement_pass_is_a_retrain_signal(lr):
    request = UnlearningRequest.remove((lr.X[:3], lr.y[:3]))
    X = lr.X[3:].astype(np.float64)
    X[0] *= 1e308  # finite data whose gradient overflows to inf
    result = newton(lr.model, lr.stats, request, data=(X, lr.y[3:]), refine=True)
    assert result.needs_retrain and result.retrain_reason == "non_finite"
    assert result.params is None and result.stats is None


def test_bound_over_budget_retrains_and_records_why(lr):
    request = UnlearningRequest.remove((lr.X[:30], lr.y[:30]), request_id="r-7")
    refused = newton(lr.model, lr.stats, request, budget=1e-12)
    assert refused.needs_retrain and refused.retrain_reason == "bound_exceeded"
    assert "exceeds the budget" in refused.detail
    result = update_model(lr.model, lr.stats, request, data=(lr.X[30:], lr.y[30:]),
                          budget=1e-12)
    assert result.method == "retrain" and result.retrain_reason == "bound_exceeded"
    assert result.params.n_train == len(lr.y) - 30
    assert result.params.info["retrain_reason"] == "bound_exceeded"
    assert result.to_dict()["refused_method"] == "newton"
    result.stats.check(result.params)
    without = update_model(lr.model, lr.stats, request, budget=1e-12, auto_retrain=False)
    assert without.needs_retrain and without.params is None
    with pytest.raises(UnlearningError, match="no data"):
        update_model(lr.model, lr.stats, request, budget=1e-12)
