"""Test pipeline: an ordinal encoder (codes shift when a category goes) and a custom
transformer spark_lester cannot downdate (refit), statistics downdated by policy."""

import numpy as np
from pyspark.sql import functions as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OrdinalEncoder

SOURCES = {"people": {"key": "id",
                      "schema": "id INT, town STRING, bank STRING, note STRING, score DOUBLE"}}
LABEL = "label"
CLUSTER_BY = "people"
FEATURE_COLUMNS = ["bank", "score"]
MODEL = {"kind": "logreg", "lam": 1e-2, "seed": 0}
ENCODER_STATISTICS = "downdate"


class Centerer(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        self.center_ = np.asarray(X, dtype=float).mean(axis=0)
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) - self.center_


def prepare(people):
    out = people.withColumn("label", (F.col("score") > 0).cast("int"))
    return out.select("id", "town", "bank", "note", "score", "label")


def encoder():
    return ColumnTransformer([
        ("bank", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
         ["bank"]),
        ("score", Centerer(), ["score"]),
    ])
