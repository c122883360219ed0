from pyspark.sql import functions as F

SOURCES = {"employees": {"key": "emp_id"}}


def prepare(employees):
    banded = employees.withColumn(
        "band", F.when(F.col("salary") >= F.lit(5000), F.lit("high")).otherwise(F.lit("low")))
    renamed = banded.withColumnRenamed("name", "employee")
    return renamed.select("emp_id", "employee", "dept", "band")
