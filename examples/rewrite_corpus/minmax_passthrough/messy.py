# Min-max scaling of one column, another column passed through.
import csv
import os

import numpy as np

with open("inputs/train.csv") as f:
    rows = list(csv.DictReader(f))
score = np.array([float(r["score"]) for r in rows])
clicks = np.array([float(r["clicks"]) for r in rows])
scaled = (score - score.min()) / (score.max() - score.min())
X = np.column_stack([scaled, clicks])

os.makedirs("output", exist_ok=True)
np.save("output/features.npy", X)
