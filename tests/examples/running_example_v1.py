"""The running example's ``prepare`` in the first target API (``project``), as it was before
it was written in plain PySpark; everything else is the current pipeline's. The reference of
``test_plain_pyspark_gives_the_same_artifacts``. ``project`` left the public API; this reference
reaches it as ``_project``, which still implements ``withColumn``."""

from __future__ import annotations

from pyspark.sql import functions as F

from examples.running_example.pipeline import (  # noqa: F401 - the pipeline's settings
    CLUSTER_BY, COUNTRIES, LABEL, MODEL, OUTPUT_COLUMNS, SOURCES, START_DATE, encoder,
    sentiment)


def prepare(customers, mails):
    kept_customers = customers.filter(F.col("country").isin(*COUNTRIES))
    recent_mails = mails.filter(F.col("date") >= F.lit(START_DATE))
    data = recent_mails.join(kept_customers, on="email")
    data = data._project("title", ["mail_subject"], F.lower(F.col("mail_subject")))
    data = data._project("text", ["mail_text"], F.lower(F.col("mail_text")))
    data = data._project("sentiment", ["text"], sentiment, returns="double")
    data = data._project("title_length", ["title"], F.length(F.coalesce(F.col("title"), F.lit(""))))
    is_negative_premium = (F.col("sentiment") < 0) & (F.col("level") == F.lit("premium"))
    data = data._project("label", ["sentiment", "level"], is_negative_premium.cast("int"))
    return data.select(*OUTPUT_COLUMNS)
