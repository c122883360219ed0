from pyspark.sql import functions as F

SOURCES = {"events": {"key": "event_id"}}


def prepare(events):
    daily = events.withColumn("day", F.to_date(F.col("ts")))
    return daily.groupBy("user", "day").agg(F.count(F.lit(1)).alias("views"),
                                            F.countDistinct("page").alias("pages"))
