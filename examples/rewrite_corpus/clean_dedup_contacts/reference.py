from pyspark.sql import functions as F

SOURCES = {"contacts": {"key": "contact_id"}}


def prepare(contacts):
    cleaned = contacts.select(F.lower(F.trim(F.col("email"))).alias("email"),
                              F.lower(F.trim(F.col("city"))).alias("city"))
    return cleaned.where(F.col("email") != F.lit("")).dropDuplicates()
