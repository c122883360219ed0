"""Synthetic feature matrices shaped like the running example's X, for tests and benchmarks.

Columns, as the running example's ColumnTransformer lays them out: a 16-wide and a 32-wide
signed-hash embedding (L2-normalised token counts) of title and text, a standardised title
length, and a one-hot country (3): d = 52. Labels come from a planted logistic model, about
a quarter positive, with label noise, so no model fits them perfectly.

:func:`synthetic_incident` adds the credit-card incident: some titles carry an extra
number-like token; cleaning removes it, which re-encodes the title embedding and the title
length of exactly those rows (a "rows changed" request) while labels stay as they were.

>>> X, y = synthetic_features(1000, seed=3)
>>> X.shape, 0.1 < y.mean() < 0.4
((1000, 52), True)
"""

from __future__ import annotations

import numpy as np

TITLE_DIM, TEXT_DIM, COUNTRIES = 16, 32, 3
D = TITLE_DIM + TEXT_DIM + 1 + COUNTRIES
_VOCAB = 400
_LEAK_TOKENS = 4  # a card number split as 4 groups of digits


def synthetic_features(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: ``n`` rows of d = 52 float32 features and 0/1 int labels."""
    X, y, _, _ = synthetic_incident(n, seed=seed, leak_fraction=0.0)
    return X, y


def synthetic_incident(n: int, *, seed: int = 0, leak_fraction: float = 0.02
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X, y, rows, X_clean_rows)``: data with leaked titles and their re-encoding.

    ``rows`` are the indices of the affected rows (sorted); ``X_clean_rows`` holds their
    feature vectors after the leaked tokens are removed from the title (what re-encoding
    the affected feature ranges produces). Everything is float32, as stored in Delta.
    """
    rng = np.random.default_rng(seed)
    t_bucket = rng.integers(0, TITLE_DIM, _VOCAB + _LEAK_TOKENS)
    t_sign = rng.choice([-1.0, 1.0], _VOCAB + _LEAK_TOKENS)
    x_bucket = rng.integers(0, TEXT_DIM, _VOCAB)
    x_sign = rng.choice([-1.0, 1.0], _VOCAB)
    word_p = 1.0 / np.arange(1, _VOCAB + 1) ** 0.8  # Zipf-like word frequencies
    word_p /= word_p.sum()

    n_title = rng.integers(1, 7, n)
    n_text = rng.integers(10, 60, n)
    leaked = np.sort(rng.choice(n, int(round(leak_fraction * n)), replace=False))
    is_leaked = np.zeros(n, dtype=bool)
    is_leaked[leaked] = True

    clean_title = _hashed(rng, n_title, t_bucket, t_sign, word_p, TITLE_DIM)
    title = clean_title.copy()
    leak = _VOCAB + np.arange(_LEAK_TOKENS)
    for j in leak:
        title[leaked, t_bucket[j]] += t_sign[j]
    text = _hashed(rng, n_text, x_bucket, x_sign, word_p, TEXT_DIM)
    title, clean_title, text = _normalise(title), _normalise(clean_title), _normalise(text)

    chars = 6.0 * n_title + rng.normal(0, 4, n)
    clean_len = chars.copy()
    chars[is_leaked] += 19.0  # "1234 5678 9012 3456"
    mean, std = chars.mean(), chars.std()
    length, clean_length = (chars - mean) / std, (clean_len - mean) / std
    country = np.eye(COUNTRIES)[rng.integers(0, COUNTRIES, n)]

    X = np.hstack([title, text, length[:, None], country])
    X_clean = np.hstack([clean_title, text, clean_length[:, None], country])[leaked]

    # The label is an AND, like the running example's (negative sentiment AND premium
    # customer): a sentiment score from the text, a propensity from title and country.
    # Labels depend on the clean content: the leaked digits carry no signal about them.
    sentiment = _standardise(text @ rng.normal(0, 1.0, TEXT_DIM))
    premium = _standardise(clean_title @ rng.normal(0, 1.0, TITLE_DIM)
                           + country @ rng.normal(0, 1.0, COUNTRIES) + 0.5 * clean_length)
    p_pos = _sigmoid(3.0 * sentiment - 0.3) * _sigmoid(3.0 * premium + 0.5)
    y = (rng.random(n) < p_pos).astype(np.int64)
    return X.astype(np.float32), y, leaked, X_clean.astype(np.float32)


def _hashed(rng: np.random.Generator, counts: np.ndarray, bucket: np.ndarray, sign: np.ndarray,
            word_p: np.ndarray, width: int) -> np.ndarray:
    """Signed hashed token counts: row i gets ``counts[i]`` words drawn from ``word_p``."""
    rows = np.repeat(np.arange(len(counts)), counts)
    words = rng.choice(len(word_p), rows.shape[0], p=word_p)
    out = np.zeros((len(counts), width))
    np.add.at(out, (rows, bucket[words]), sign[words])
    return out


def _standardise(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std()


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _normalise(M: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    return np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)
