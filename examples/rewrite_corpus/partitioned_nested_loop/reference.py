from pyspark.sql import functions as F

SOURCES = {"events": {"key": "event_id"}, "users": {"key": "user_id"}}


def prepare(events, users):
    active = events.filter(F.col("action") != F.lit("view"))
    joined = active.join(users, on="user_id", how="inner")
    return joined.select("event_id", "user_id", "action", "country")
