"""A deterministic, offline text encoder: signed feature hashing of word tokens.

It needs no model download, has no fitted state (so re-encoding changed rows needs nothing
but the text), and is the same in every process. Used for the title and text embeddings of
the running example.

>>> emb = HashingTextEmbedder(n_features=4)
>>> emb.fit_transform(["Card blocked", None]).round(3).tolist()
[[0.707, 0.0, -0.707, 0.0], [0.0, 0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1 << 16)
def _bucket(token: str, n_features: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
    return h % n_features, (1.0 if (h >> 63) == 0 else -1.0)


def embed(text: str | None, n_features: int) -> np.ndarray:
    """L2-normalised signed token counts of ``text`` (lower-cased); zeros for empty/None."""
    vec = np.zeros(n_features, dtype=np.float64)
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return vec
    for token in TOKEN.findall(str(text).lower()):
        idx, sign = _bucket(token, n_features)
        vec[idx] += sign
    norm = np.linalg.norm(vec)
    return vec / norm if norm > 0 else vec


class HashingTextEmbedder(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: one text column in, ``n_features`` columns out."""

    def __init__(self, n_features: int = 16) -> None:
        self.n_features = n_features

    def fit(self, X: Any, y: Any = None) -> HashingTextEmbedder:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = _column(X)
        out = np.zeros((len(values), self.n_features), dtype=np.float64)
        for i, text in enumerate(values):
            out[i] = embed(text, self.n_features)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        prefix = "text" if input_features is None else str(list(input_features)[0])
        return np.array([f"{prefix}_h{i}" for i in range(self.n_features)], dtype=object)


def _column(X: Any) -> list[Any]:
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:
        return list(X.iloc[:, 0])
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2:
        arr = arr[:, 0]
    return list(arr)
