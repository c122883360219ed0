"""Models: L2-regularised logistic regression and a one-hidden-layer MLP in PyTorch.

Training is full-batch L-BFGS in float64, deterministic for a seed; parameters are a flat
float64 vector with metadata (:class:`ModelParams`), stored as ``.npz`` bytes. Loss
convention everywhere: ``L(w) = (1/n) sum_i l(x_i, y_i; w) + (lam/2)|w|^2``.

torch is imported inside functions only (the CLI imports this package cheaply).
"""

from spark_lester.models.data import as_arrays
from spark_lester.models.params import KINDS, ModelParams, n_params
from spark_lester.models.train import retrain, train

__all__ = ["KINDS", "ModelParams", "as_arrays", "n_params", "retrain", "train"]
