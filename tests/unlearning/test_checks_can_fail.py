"""The quality checks can fail: a Newton update with the wrong sign, with the step missing,
or with the 1/n scaling wrong is rejected by the same checks the real update passes."""

from __future__ import annotations

import numpy as np
import pytest

from spark_lester.unlearning import newton, unlearning_quality

from .checks import LR_RESIDUAL_RATIO, LR_RHO, failures
from .conftest import random_deletion


@pytest.fixture(scope="module")
def cases(lr):
    out = []
    for seed in range(3):
        deletion = random_deletion(lr, 0.01, seed=100 + seed)
        step = newton(lr.model, lr.stats, deletion.request, budget=None).params.w - lr.model.w
        out.append((deletion, step))
    return out


def _reports(lr, cases, make_w):
    return [unlearning_quality(lr.model, lr.model.with_(w=make_w(step)), d.retrained,
                               remaining=d.remaining, deleted=d.deleted,
                               test=(lr.X_test, lr.y_test))
            for d, step in cases]


def test_the_real_update_passes(lr, cases):
    reports = _reports(lr, cases, lambda step: lr.model.w + step)
    assert failures(reports, rho_max=LR_RHO, ratio_min=20.0) == []


@pytest.mark.parametrize("name, sabotage", [
    ("wrong sign", lambda w, step: w - step),
    ("missing step", lambda w, step: w),
    ("scaled by n (sum and mean form mixed up)", lambda w, step: w + step / 3000),
    ("half step", lambda w, step: w + 0.5 * step),
])
def test_sabotaged_updates_fail(lr, cases, name, sabotage):
    reports = _reports(lr, cases, lambda step: sabotage(lr.model.w, step))
    problems = failures(reports, rho_max=LR_RHO, ratio_min=LR_RESIDUAL_RATIO)
    assert any("rho" in p for p in problems), name
    assert any("residual ratio" in p for p in problems), name
    if name == "wrong sign":
        assert all(r.rho > 1.5 and r.residual_ratio < 1.0 for r in reports)
