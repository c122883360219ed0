from pyspark.sql import functions as F

SOURCES = {"stock": {}, "thresholds": {}}


def prepare(stock, thresholds):
    strictest = thresholds.groupBy("store", "sku").agg(F.max("min_qty").alias("min_qty"))
    joined = stock.join(strictest, on=["store", "sku"], how="inner")
    short = joined.where(F.col("on_hand") < F.col("min_qty"))
    return short.select("store", "sku", "on_hand",
                        (F.col("min_qty") - F.col("on_hand")).alias("missing"))
