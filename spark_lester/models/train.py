"""``train``: fit a model of a given kind on ``(X, y)`` or a Spark DataFrame.

The one entry point used for first training and for retraining from scratch after a
deletion (same kind, hyper-parameters and seed: the reference the unlearning update is
measured against, and the fallback when an update is refused).

>>> from spark_lester.models.synthetic import synthetic_features
>>> model = train(synthetic_features(400, seed=2), kind="logreg", lam=1e-2)
>>> model.kind, model.n_train, model.d
('logreg', 400, 52)
"""

from __future__ import annotations

from typing import Any

from spark_lester.errors import ModelError
from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data, as_arrays
from spark_lester.models import logistic, mlp
from spark_lester.models.logistic import train_logistic
from spark_lester.models.mlp import train_mlp
from spark_lester.models.params import KINDS, ModelParams


def train(data: Data, *, kind: str = "logreg", lam: float | None = None, seed: int = 0,
          hidden: int = mlp.DEFAULT_HIDDEN, features_col: str = FEATURES_COL,
          label_col: str = LABEL_COL, **options: Any) -> ModelParams:
    """Train a ``kind`` model; ``options`` go to the trainer (``max_iter``, ``tol``, ``threads``).

    ``lam`` defaults per kind (1e-3 for logistic regression, 1e-2 for the MLP).

    A DataFrame is collected to the driver first (training is full-batch on the driver).
    """
    X, y = as_arrays(data, features_col=features_col, label_col=label_col)
    if X.shape[0] == 0:
        raise ModelError("no training rows.", kind=kind)
    if kind == "logreg":
        return train_logistic(X, y, lam=logistic.DEFAULT_LAM if lam is None else lam, seed=seed,
                              **options)
    if kind == "mlp":
        return train_mlp(X, y, hidden=hidden, lam=mlp.DEFAULT_LAM if lam is None else lam,
                         seed=seed, **options)
    raise ModelError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}.")


def retrain(params: ModelParams, data: Data, *, features_col: str = FEATURES_COL,
            label_col: str = LABEL_COL, **options: Any) -> ModelParams:
    """Train from scratch on ``data`` with ``params``' kind, shape, lam and seed."""
    return train(data, kind=params.kind, lam=params.lam, seed=params.seed, hidden=params.hidden,
                 features_col=features_col, label_col=label_col, **options)
