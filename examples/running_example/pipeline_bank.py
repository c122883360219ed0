"""The running example with the customer's bank one-hot encoded too: the demo's second
request deletes the only customer of a bank, and the fitted encoder must forget that bank.

Same sources, preparation, label and model as ``pipeline.py`` (loaded from it); the encoder
keeps the standardised title length and the one-hot country and adds a one-hot bank. It has
no text embeddings, so a run of it is cheap next to the main pipeline's.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from spark_lester.frame.pipeline import load_pipeline

_BASE = load_pipeline(Path(__file__).with_name("pipeline.py"))
SOURCES = _BASE.SOURCES
LABEL = _BASE.LABEL
MODEL = _BASE.MODEL
CLUSTER_BY = _BASE.CLUSTER_BY
FEATURE_COLUMNS = ["title_length", "country", "bank"]


def prepare(customers, mails):
    return _BASE.prepare(customers, mails)


def encoder() -> ColumnTransformer:
    return ColumnTransformer([
        ("title_length", StandardScaler(), ["title_length"]),
        ("country", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["country"]),
        ("bank", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["bank"]),
    ])
