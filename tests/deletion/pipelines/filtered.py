"""Test pipeline: a filter drops rows of one source before a left join."""

from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SOURCES = {"left": {"key": "id", "schema": "id INT, k STRING, v DOUBLE"},
           "right": {"key": "rid", "schema": "rid INT, k STRING, note STRING"}}
LABEL = "label"


def prepare(left, right):
    kept = left.where(F.col("v") >= 2)
    joined = kept.join(right, on="k", how="left")
    return joined.withColumn("label", (F.col("v") > 3).cast("int"))


def encoder():
    return ColumnTransformer([
        ("k", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["k"]),
        ("n", StandardScaler(), ["v"]),
    ])
