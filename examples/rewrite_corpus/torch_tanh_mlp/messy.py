# A two-layer network written by hand: raw parameter tensors, matrix products and tanh,
# probabilities written for the feature matrix it was given.
import argparse
import os

import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--input", action="append", default=[])
parser.add_argument("--output", default="output")
args = parser.parse_args()
paths = dict(item.split("=", 1) for item in args.input)

X = torch.tensor(np.load(paths["X"]), dtype=torch.float32)
n_features = X.shape[1]
HIDDEN = 16

torch.manual_seed(0)
W1 = torch.randn(HIDDEN, n_features) * 0.5
b1 = torch.randn(HIDDEN) * 0.1
W2 = torch.randn(1, HIDDEN) * 0.5
b2 = torch.randn(1) * 0.1


def forward(x):
    hidden = torch.tanh(x @ W1.T + b1)
    return (hidden @ W2.T + b2).squeeze(1)


with torch.no_grad():
    probabilities = torch.sigmoid(forward(X))

os.makedirs(args.output, exist_ok=True)
np.savez(os.path.join(args.output, "parameters.npz"), W1.numpy(), b1.numpy(), W2.numpy(),
         b2.numpy())
np.save(os.path.join(args.output, "probabilities.npy"), probabilities.numpy())
