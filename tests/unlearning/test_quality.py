"""The quality metrics on hand-made models, where the right answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spark_lester.models.params import ModelParams
from spark_lester.unlearning import gradient_residual, membership_auc, unlearning_quality


def _lr(w):
    return ModelParams(kind="logreg", d=2, lam=0.1, seed=0, n_train=4, w=np.asarray(w, float))


@pytest.fixture
def data():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
    y = np.array([1, 0, 1, 0])
    return X, y


def test_rho_and_distances(data):
    X, y = data
    original, unlearned, retrained = _lr([1.0, 0.0, 0.0]), _lr([0.1, 0.0, 0.0]), _lr([0, 0, 0])
    report = unlearning_quality(original, unlearned, retrained, remaining=(X, y),
                                deleted=(X[:1], y[:1]), test=(X, y))
    assert report.rho == pytest.approx(0.1)
    assert (report.distance_original, report.distance_unlearned) == (1.0, pytest.approx(0.1))
    assert report.disagreement_original == 0.5  # predictions of w=[1,0,0] vs all-zero logits
    assert report.accuracy_retrained == 0.5
    json.dumps(report.to_dict())
    assert report.to_dict()["accuracy_gap"] == report.accuracy_unlearned - report.accuracy_retrained


def test_gradient_residual_is_zero_only_at_the_optimum(data):
    from spark_lester.models import train

    X, y = data
    model = train((X, y), lam=0.1)
    assert gradient_residual(model, (X, y)) < 1e-8
    assert gradient_residual(model.with_(w=model.w + 0.1), (X, y)) > 1e-3


def test_membership_auc_extremes():
    model = _lr([2.0, 0.0, 0.0])
    members = (np.array([[3.0, 0.0], [2.0, 0.0]]), np.array([1, 1]))  # low loss
    strangers = (np.array([[-3.0, 0.0], [-2.0, 0.0]]), np.array([1, 1]))  # high loss
    assert membership_auc(model, members, strangers) == 1.0
    assert membership_auc(model, strangers, members) == 0.0
    assert membership_auc(model, members, members) == 0.5
