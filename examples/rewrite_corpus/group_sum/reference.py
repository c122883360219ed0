from pyspark.sql import functions as F

SOURCES = {"sales": {"key": "sale_id"}}


def prepare(sales):
    return sales.aggregate("region", {"total": F.sum("amount"), "n": F.count(F.lit(1))})
