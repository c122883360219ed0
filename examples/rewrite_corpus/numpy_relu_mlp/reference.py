"""The NumPy ReLU network as a PyTorch module."""
import torch
from torch import nn


def model(n_features):
    return nn.Sequential(
        nn.Linear(n_features, 8),
        nn.ReLU(),
        nn.Linear(8, 4),
        nn.ReLU(),
        nn.Linear(4, 1),
    )
