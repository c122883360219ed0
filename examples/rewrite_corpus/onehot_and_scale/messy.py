# One-hot country plus a standardised amount, concatenated column-wise.
import csv
import os

import numpy as np

with open("inputs/train.csv") as f:
    rows = list(csv.DictReader(f))
categories = ["DE", "FR", "UK"]
onehot = np.array([[1.0 if r["country"] == c else 0.0 for c in categories] for r in rows])
amount = np.array([float(r["amount"]) for r in rows])
scaled = (amount - amount.mean()) / amount.std()
X = np.hstack([onehot, scaled.reshape(-1, 1)])

os.makedirs("output", exist_ok=True)
np.save("output/features.npy", X)
