"""Hostile program: jvm escape."""
from pyspark.sql import functions as F
def prepare(mails):
    F.col("a")._jc.getClass().forName("java.lang.Runtime")
    return mails
