"""Small synthetic data shaped like the running example's X (d = 52, 3000 training rows),
models trained once per session, and helpers that run the differential test: unlearn, then
retrain from scratch on the same remaining rows with the same seed, and compare."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from spark_lester.models import ModelParams, retrain, train
from spark_lester.models.synthetic import synthetic_features, synthetic_incident
from spark_lester.unlearning import TrainingStats, UnlearningRequest, training_stats

N_TRAIN = 3000


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@dataclass
class Setup:
    """Training/test split, a trained model and its training stats."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    model: ModelParams
    stats: TrainingStats


def _setup(kind: str) -> Setup:
    X, y = synthetic_features(N_TRAIN + 1000, seed=1)
    model = train((X[:N_TRAIN], y[:N_TRAIN]), kind=kind)
    stats = training_stats(model, (X[:N_TRAIN], y[:N_TRAIN]))
    return Setup(X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:], model, stats)


@pytest.fixture(scope="session")
def lr() -> Setup:
    return _setup("logreg")


@pytest.fixture(scope="session")
def mlp() -> Setup:
    return _setup("mlp")


@dataclass
class Deletion:
    """One random deletion: the request, the remaining data and the retrained model."""

    request: UnlearningRequest
    remaining: tuple[np.ndarray, np.ndarray]
    deleted: tuple[np.ndarray, np.ndarray]
    retrained: ModelParams


def random_deletion(setup: Setup, fraction: float, seed: int) -> Deletion:
    rng = np.random.default_rng(seed)
    k = max(1, int(round(fraction * len(setup.y))))
    idx = rng.choice(len(setup.y), k, replace=False)
    keep = np.setdiff1d(np.arange(len(setup.y)), idx)
    deleted = (setup.X[idx], setup.y[idx])
    remaining = (setup.X[keep], setup.y[keep])
    return Deletion(UnlearningRequest.remove(deleted, request_id=f"del-{seed}"), remaining,
                    deleted, retrain(setup.model, remaining))


@pytest.fixture(scope="session")
def incident():
    """The credit-card incident: 2% of rows have their title ranges re-encoded."""
    X, y, rows, X_clean = synthetic_incident(N_TRAIN + 1000, seed=5, leak_fraction=0.02)
    train_rows = rows[rows < N_TRAIN]
    X_after = X[:N_TRAIN].copy()
    X_after[train_rows] = X_clean[rows < N_TRAIN]
    return {"X": X[:N_TRAIN], "y": y[:N_TRAIN], "X_test": X[N_TRAIN:], "y_test": y[N_TRAIN:],
            "rows": train_rows, "X_after": X_after}
