"""Test pipeline: value-memorising encoders (one-hot towns, a vocabulary of notes, a scaler
kept by policy) feeding a logistic regression."""

from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SOURCES = {"people": {"key": "id",
                      "schema": "id INT, town STRING, bank STRING, note STRING, score DOUBLE"}}
LABEL = "label"
CLUSTER_BY = "people"
FEATURE_COLUMNS = ["town", "note", "score"]
MODEL = {"kind": "logreg", "lam": 1e-2, "seed": 0}


def prepare(people):
    out = people.withColumn(
        "label", ((F.col("score") > 0) | (F.col("bank") == F.lit("Coast"))).cast("int"))
    return out.select("id", "town", "bank", "note", "score", "label")


def encoder():
    return ColumnTransformer([
        ("town", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["town"]),
        ("note", CountVectorizer(), "note"),
        ("score", StandardScaler(), ["score"]),
    ])
