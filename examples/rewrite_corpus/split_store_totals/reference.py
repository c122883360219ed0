from pyspark.sql import functions as F

SOURCES = {"sales_lines": {"key": "receipt_id"}}


def prepare(sales_lines):
    sold = sales_lines.where(F.col("qty") > F.lit(0))
    stores = sold.withColumn("store", F.upper(F.trim(F.col("store"))))
    return stores.groupBy("store").agg(
        F.count(F.lit(1)).alias("lines"),
        F.sum(F.col("qty") * F.col("price")).alias("revenue"))
