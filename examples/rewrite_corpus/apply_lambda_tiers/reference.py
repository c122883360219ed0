from pyspark.sql import functions as F

SOURCES = {"customers": {"key": "customer_id"}}


def prepare(customers):
    active = customers.where(F.col("active") == F.lit("yes"))
    tiered = active.withColumns({
        "domain": F.lower(F.split(F.col("email"), "@").getItem(1)),
        "tier": F.when(F.col("spend") >= F.lit(1000), F.lit("gold"))
                 .when(F.col("spend") >= F.lit(200), F.lit("silver"))
                 .otherwise(F.lit("bronze")),
    })
    return tiered.select("customer_id", "domain", "tier")
