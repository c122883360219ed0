"""The hand-written tanh network as a PyTorch module (logits; the sigmoid stays outside)."""
import torch


def model(n_features):
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 1),
    )
