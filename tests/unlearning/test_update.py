"""update_model: the method per kind, refinement by default for logistic regression, the
result as the ledger sees it, and chaining versions through the stored artifacts."""

from __future__ import annotations

import json

import numpy as np

from spark_lester.models import ModelParams
from spark_lester.unlearning import TrainingStats, UnlearningRequest, update_model


def test_logistic_regression_uses_refined_newton(lr):
    request = UnlearningRequest.remove((lr.X[:5], lr.y[:5]), request_id="gdpr-1")
    result = update_model(lr.model, lr.stats, request, data=(lr.X[5:], lr.y[5:]))
    assert (result.method, result.refined, result.passes) == ("newton", True, 1)
    record = result.to_dict()
    json.dumps(record)
    assert record["n_removed"] == 5 and record["n_remaining"] == len(lr.y) - 5
    assert record["params_digest"] == result.params.digest()
    assert result.params.info["request_id"] == "gdpr-1"


def test_mlp_uses_newton_cg(mlp):
    request = UnlearningRequest.remove((mlp.X[:5], mlp.y[:5]))
    result = update_model(mlp.model, mlp.stats, request, data=(mlp.X[5:], mlp.y[5:]))
    assert result.method == "newton_cg" and result.iterations > 0
    assert not result.needs_retrain


def test_versions_chain_through_stored_bytes(lr):
    """Store, load, update again: the second update starts from the stored artifacts."""
    r1 = update_model(lr.model, lr.stats, UnlearningRequest.remove((lr.X[:5], lr.y[:5])),
                      data=(lr.X[5:], lr.y[5:]))
    params = ModelParams.from_bytes(r1.params.to_bytes())
    stats = TrainingStats.from_bytes(r1.stats.to_bytes())
    r2 = update_model(params, stats, UnlearningRequest.remove((lr.X[5:9], lr.y[5:9])),
                      data=(lr.X[9:], lr.y[9:]))
    assert r2.params.n_train == len(lr.y) - 9
    direct = update_model(lr.model, lr.stats, UnlearningRequest.remove((lr.X[:9], lr.y[:9])),
                          data=(lr.X[9:], lr.y[9:]))
    assert np.allclose(r2.params.w, direct.params.w, rtol=1e-8, atol=1e-10)


def test_first_order_through_update_model(lr):
    request = UnlearningRequest.remove((lr.X[:5], lr.y[:5]))
    result = update_model(lr.model, lr.stats, request, method="first_order", tau=2.0)
    assert result.method == "first_order" and result.extra["tau"] == 2.0
    assert result.params.info["reference"] == lr.stats.ref_digest
