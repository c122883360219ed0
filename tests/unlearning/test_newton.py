"""Newton unlearning for logistic regression, measured against retraining from scratch
(differential tests), for deletions and for changed rows (the credit-card incident)."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.models import retrain
from spark_lester.unlearning import (
    UnlearningRequest,
    first_order,
    gradient_residual,
    newton,
    training_stats,
    unlearning_quality,
)

from .checks import LR_RESIDUAL_RATIO, LR_RHO, failures
from .conftest import random_deletion

SETS = 4  # the bench runs 20 per fraction


@pytest.fixture(scope="module")
def deletions(lr):
    return {frac: [random_deletion(lr, frac, seed) for seed in range(SETS)]
            for frac in (0.001, 0.01)}


def _report(lr, deletion, params):
    return unlearning_quality(lr.model, params, deletion.retrained, remaining=deletion.remaining,
                              deleted=deletion.deleted, test=(lr.X_test, lr.y_test))


@pytest.mark.parametrize("fraction", [0.001, 0.01])
def test_refined_newton_meets_the_targets(lr, deletions, fraction):
    reports = []
    for deletion in deletions[fraction]:
        result = newton(lr.model, lr.stats, deletion.request, data=deletion.remaining,
                        refine=True)
        assert not result.needs_retrain and result.passes == 1
        assert result.params.n_train == len(deletion.remaining[1])
        reports.append(_report(lr, deletion, result.params))
    assert failures(reports, rho_max=LR_RHO, ratio_min=LR_RESIDUAL_RATIO) == []
    for r in reports:
        assert r.disagreement_unlearned <= r.disagreement_original
        assert abs(r.accuracy_gap) <= 0.002


@pytest.mark.parametrize("fraction", [0.001, 0.01])
def test_single_newton_step_meets_rho_without_any_pass_over_x(lr, deletions, fraction):
    reports = []
    for deletion in deletions[fraction]:
        result = newton(lr.model, lr.stats, deletion.request, budget=None)
        assert result.passes == 0 and result.residual_bound is not None
        reports.append(_report(lr, deletion, result.params))
        # The certified bound holds: it is an upper bound on the true residual.
        assert reports[-1].residual_unlearned <= result.residual_bound
    # Without refinement the residual shrinks by ~280x at 0.1% and ~75x at 1% (reported by
    # the bench); rho meets the target at both sizes.
    assert failures(reports, rho_max=LR_RHO, ratio_min=20.0) == []


def test_first_order_is_reported_not_held_to_the_newton_targets(lr, deletions):
    reports = [_report(lr, d, first_order(lr.model, d.request, stats=lr.stats).params)
               for d in deletions[0.01]]
    # It moves towards the retrained model, but only a little (rho just below 1).
    assert all(0.0 < r.rho < 1.0 for r in reports)
    assert all(r.residual_unlearned < r.residual_original for r in reports)


def test_changed_rows_credit_card_incident(incident):
    X, y, rows, X_after = incident["X"], incident["y"], incident["rows"], incident["X_after"]
    from spark_lester.models import train

    model = train((X, y))
    stats = training_stats(model, (X, y))
    request = UnlearningRequest.change((X[rows], y[rows]), (X_after[rows], y[rows]),
                                       request_id="cc-leak")
    assert request.kind == "change" and request.n_removed == request.n_added == len(rows)
    retrained = retrain(model, (X_after, y))
    for refine in (False, True):
        result = newton(model, stats, request, data=(X_after, y), refine=refine, budget=None)
        assert result.params.n_train == len(y)
        report = unlearning_quality(model, result.params, retrained, remaining=(X_after, y),
                                    deleted=(X[rows], y[rows]),
                                    test=(incident["X_test"], incident["y_test"]))
        assert report.rho <= LR_RHO
        assert report.residual_ratio >= (LR_RESIDUAL_RATIO if refine else 20.0)


def test_chained_requests_stay_anchored_and_match_one_combined_request(lr):
    first, second = np.arange(0, 10), np.arange(10, 25)
    r1 = newton(lr.model, lr.stats, UnlearningRequest.remove((lr.X[first], lr.y[first])),
                budget=None)
    r2 = newton(r1.params, r1.stats, UnlearningRequest.remove((lr.X[second], lr.y[second])),
                budget=None)
    both = np.concatenate([first, second])
    combined = newton(lr.model, lr.stats, UnlearningRequest.remove((lr.X[both], lr.y[both])),
                      budget=None)
    assert r2.params.n_train == len(lr.y) - 25
    assert r2.stats.ref_digest == lr.stats.ref_digest == lr.model.digest()
    assert np.allclose(r2.params.w, combined.params.w, rtol=1e-10, atol=1e-12)
    keep = np.setdiff1d(np.arange(len(lr.y)), both)
    assert gradient_residual(r2.params, (lr.X[keep], lr.y[keep])) < gradient_residual(
        lr.model, (lr.X[keep], lr.y[keep])) / 20


def test_spark_refinement_equals_numpy_refinement(spark, lr, deletions):
    deletion = deletions[0.01][0]
    Xr, yr = deletion.remaining
    rows = [(i, Xr[i].tolist(), int(yr[i])) for i in range(len(yr))]
    df = spark.createDataFrame(rows, "row_id long, features array<float>, label int")
    on_spark = newton(lr.model, lr.stats, deletion.request, data=df.repartition(3), refine=True)
    on_numpy = newton(lr.model, lr.stats, deletion.request, data=deletion.remaining, refine=True)
    assert np.allclose(on_spark.params.w, on_numpy.params.w, rtol=1e-9, atol=1e-12)
