from pyspark.sql import functions as F

SOURCES = {"shop_a": {}, "shop_b": {}}


def prepare(shop_a, shop_b):
    both = shop_a.union(shop_b)
    return both.filter(F.col("qty") > F.lit(0))
