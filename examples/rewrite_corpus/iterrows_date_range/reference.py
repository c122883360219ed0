from pyspark.sql import functions as F

SOURCES = {"transactions": {"key": "txn_id"}}


def prepare(transactions):
    in_quarter = transactions.where((F.col("txn_date") >= F.lit("2023-02-01"))
                                    & (F.col("txn_date") < F.lit("2023-05-01")))
    settled = in_quarter.where(F.col("status") == F.lit("settled"))
    monthly = settled.withColumn("month", F.date_format(F.col("txn_date"), "yyyy-MM"))
    return monthly.select("txn_id", "account", "month", "amount")
