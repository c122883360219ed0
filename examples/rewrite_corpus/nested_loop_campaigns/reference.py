from pyspark.sql import functions as F

SOURCES = {"sessions": {"key": "session_id"}, "campaigns": {"key": "campaign_id"}}


def prepare(sessions, campaigns):
    pairs = sessions.join(campaigns, on="channel", how="inner")
    running = pairs.where((F.col("visit_date") >= F.col("start_date"))
                          & (F.col("visit_date") <= F.col("end_date")))
    return running.select("session_id", "campaign_id", "channel", "visit_date")
