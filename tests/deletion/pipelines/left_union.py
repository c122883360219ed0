"""Test pipeline: a left join, a filter and a union of two branches."""

from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SOURCES = {"left": {"key": "id", "schema": "id INT, k STRING, v DOUBLE"},
           "right": {"key": "rid", "schema": "rid INT, k STRING, note STRING"}}
LABEL = "label"
CLUSTER_BY = "left"


def prepare(left, right):
    joined = left.join(right, on="k", how="left")
    joined = joined.withColumns({
        "note_length": F.length(F.coalesce(F.col("note"), F.lit(""))),
        "label": (F.col("v") > 3).cast("int")})
    big = joined.filter(F.col("v") >= 2).select("id", "k", "v", "note", "note_length", "label")
    small = joined.filter(F.col("v") < 2).select("id", "k", "v", "note", "note_length", "label")
    return big.union(small)


def encoder():
    return ColumnTransformer([
        ("k", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["k"]),
        ("n", StandardScaler(), ["note_length", "v"]),
    ])
