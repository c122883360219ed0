# A three-layer network in plain NumPy: weights drawn from a seeded generator, ReLU written
# as np.maximum, logits written for the feature matrix it was given.
import os

import numpy as np

X = np.load(os.environ["LESTER_INPUT_X"])
rng = np.random.default_rng(0)
sizes = [X.shape[1], 8, 4, 1]
weights, biases = [], []
for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
    weights.append(rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, fan_out)))
    biases.append(rng.normal(0.0, 0.1, size=fan_out))

h = X
for i in range(len(weights)):
    h = h @ weights[i] + biases[i]
    if i < len(weights) - 1:
        h = np.maximum(h, 0.0)
logits = h[:, 0]

os.makedirs("output", exist_ok=True)
params = []
for w, b in zip(weights, biases):
    params += [w.T, b]  # PyTorch layout: (out, in)
np.savez("output/parameters.npz", *params)
np.save("output/logits.npy", logits)
