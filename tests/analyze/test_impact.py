"""Impact queries: who reads a leaked location, directly or downstream, and whom to contact."""

from __future__ import annotations

from spark_lester.analyze.impact import contacts, impact


def test_direct_and_downstream_readers(corpus_catalog):
    hits = {h["pipeline"]: h for h in impact(corpus_catalog, "s3a://acme-raw-zone/orders/dt=2024-05-01/")}
    assert hits["dags/orders_emr_dag.py:orders_nightly"]["distance"] == 0
    assert hits["emr/cluster_config.json"]["distance"] == 0
    # the DAG passes the location to the script it launches
    assert hits["jobs/clean_orders.py"]["via"].startswith("launched by")
    # downstream through s3://acme-curated/orders and its Glue table curated.orders
    assert hits["sql/daily_revenue.sql"]["distance"] == 1
    assert hits["dags/redshift_load_dag.py:redshift_sales_load"]["distance"] == 1
    assert "dags/mails_sentiment_dag.py:mails_sentiment" not in hits
    assert "data-platform" in contacts(list(hits.values()))


def test_glue_table_alias_reaches_s3_readers(corpus_catalog):
    assert impact(corpus_catalog, "glue://crm.accounts") == []  # written, read by nobody
    readers = {h["pipeline"] for h in impact(corpus_catalog, "glue://curated.orders")}
    assert "sql/daily_revenue.sql" in readers
    assert "glue/orders_to_redshift.py" in readers  # reads s3://acme-curated/orders, the table's location


def test_unknown_location_touches_nothing(corpus_catalog):
    assert impact(corpus_catalog, "s3://nobody/reads/this") == []
