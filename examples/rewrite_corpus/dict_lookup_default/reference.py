from pyspark.sql import functions as F

SOURCES = {"products": {"key": "sku"}, "order_lines": {"key": "line_id"}}


def prepare(products, order_lines):
    labelled = order_lines.join(products, on="sku", how="left")
    defaulted = labelled.withColumn("category",
                                    F.coalesce(F.col("category"), F.lit("unknown")))
    return defaulted.select("line_id", "order_id", "sku", "category", "qty")
