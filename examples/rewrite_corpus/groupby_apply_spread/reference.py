from pyspark.sql import functions as F

SOURCES = {"readings": {"key": "reading_id"}}


def prepare(readings):
    ok = readings.where((F.col("status") == F.lit("ok")) & F.col("device").isNotNull())
    return ok.groupBy("device").agg(
        F.count(F.lit(1)).alias("n"),
        F.min("reading").alias("low"),
        (F.max("reading") - F.min("reading")).alias("spread"))
