from pyspark.sql import functions as F

SOURCES = {"loans": {"key": "loan_id"}}


def prepare(loans):
    flagged = loans.withColumn(
        "overdue", F.when(F.col("days_late") > F.lit(30), F.lit(1)).otherwise(F.lit(0)))
    branches = flagged.where(F.col("branch").isNotNull())
    return branches.groupBy("branch").agg(F.count("loan_id").alias("loans"),
                                          F.sum("overdue").alias("overdue"))
