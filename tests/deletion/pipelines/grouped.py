"""Test pipeline: an aggregate (the recompute strategy)."""

from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

SOURCES = {"left": {"key": "id", "schema": "id INT, k STRING, v DOUBLE"},
           "right": {"key": "rid", "schema": "rid INT, k STRING, note STRING"}}
LABEL = "label"
CLUSTER_BY = "left"


def prepare(left, right):
    grouped = left.groupBy("k").agg(F.sum("v").alias("total"), F.count("v").alias("n"))
    grouped = grouped.withColumn("label", (F.col("n") > 1).cast("int"))
    return grouped


def encoder():
    return ColumnTransformer([("t", StandardScaler(), ["total", "n"])])
