from pyspark.sql import functions as F

SOURCES = {"sales": {"key": "sale_id"}}


def prepare(sales):
    return sales.groupBy("region").agg(F.sum("amount").alias("total"),
                                       F.count(F.lit(1)).alias("n"))
