from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    bulk = paid.filter(F.col("qty") >= F.lit(2))
    priced = bulk.withColumn("total", F.round(F.col("qty") * F.col("price"), 2))
    return priced.select("order_id", "customer", "total")
