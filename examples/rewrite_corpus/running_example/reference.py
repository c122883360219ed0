"""The running example in plain PySpark."""
from pyspark.sql import functions as F

SOURCES = {"customers": {"key": "customer_id"}, "mails": {"key": "mail_id"}}


def prepare(customers, mails):
    kept = customers.filter(F.col("country").isin("UK", "DE", "FR"))
    recent = mails.filter(F.col("date") >= F.lit("2022-01-01"))
    joined = recent.join(kept, on="email", how="inner")
    titled = joined.withColumn("title", F.lower(F.col("mail_subject")))
    texted = titled.withColumn("text", F.lower(F.col("mail_text")))
    return texted.select("mail_id", "email", "customer_id", "bank", "country", "level",
                         "date", "title", "text")
