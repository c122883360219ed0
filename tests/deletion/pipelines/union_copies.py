"""Test pipeline: two union branches derive different features from one visit, so two
prepared rows share a row id; the scaler's statistics are downdated (its block of X is
re-encoded after a deletion)."""

from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

SOURCES = {"visits": {"key": "id", "schema": "id INT, v DOUBLE"}}
LABEL = None
FEATURE_COLUMNS = ["f"]
CLUSTER_BY = "visits"
MODEL = None
ENCODER_STATISTICS = "downdate"


def prepare(visits):
    a = visits.withColumn("f", F.col("v"))
    b = visits.withColumn("f", F.col("v") + 100.0)
    return a.union(b)


def encoder():
    return ColumnTransformer([("f", StandardScaler(), ["f"])])
