from pyspark.sql import functions as F

SOURCES = {"crm_export": {}, "web_export": {}}


def prepare(crm_export, web_export):
    crm = crm_export.withColumnRenamed("cust_id", "customer").withColumnRenamed("amt", "amount")
    both = crm.unionByName(web_export)
    return both.where(F.col("amount") > F.lit(0)).select("customer", "region", "amount")
