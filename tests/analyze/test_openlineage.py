"""Every OpenLineage event the analyzer emits validates against the vendored schema."""

from __future__ import annotations

import copy

import pytest

from spark_lester.analyze.openlineage import dataset_events, dataset_name, job_events, openlineage, validate_event, validation_errors
from spark_lester.errors import AnalyzeError


def test_every_event_of_the_corpus_validates(corpus_catalog):
    events = openlineage(corpus_catalog, region="eu-west-1", account="123456789012")
    assert len(events) == len(corpus_catalog["pipelines"]) + len(corpus_catalog["datasets"])
    for event in events:
        assert validation_errors(event) == [], event


def test_job_events_carry_ownership_job_type_and_source_facets(corpus_catalog):
    ev = next(e for e in job_events(corpus_catalog) if e["job"]["name"] == "orders_nightly")
    facets = ev["job"]["facets"]
    assert facets["jobType"]["integration"] == "AIRFLOW" and facets["jobType"]["jobType"] == "DAG"
    assert {"name": "user:data-platform", "type": "MAINTAINER"} in facets["ownership"]["owners"]
    assert facets["sourceCodeLocation"]["path"] == "dags/orders_emr_dag.py"
    assert {"namespace": "s3://acme-curated", "name": "orders"} in ev["outputs"]
    assert "run" not in ev


def test_streaming_job_type(corpus_catalog):
    ev = next(e for e in job_events(corpus_catalog) if e["job"]["name"] == "jobs/streaming_clicks.py")
    assert ev["job"]["facets"]["jobType"]["processingType"] == "STREAMING"


def test_dataset_event_links_glue_table_and_s3(corpus_catalog):
    events = dataset_events(corpus_catalog, region="eu-west-1", account="1")
    ev = next(e for e in events if e["dataset"]["namespace"] == "s3://acme-curated" and e["dataset"]["name"] == "accounts")
    ids = ev["dataset"]["facets"]["symlinks"]["identifiers"]
    assert {"namespace": "arn:aws:glue:eu-west-1:1", "name": "table/crm/accounts", "type": "TABLE"} in ids
    validate_event(ev)


@pytest.mark.parametrize(("uri", "expected"), [
    ("s3a://b/p/x/", ("s3://b", "p/x")),
    ("glue://db.t", ("arn:aws:glue:r:a", "table/db/t")),
    ("athena://db.t", ("awsathena://athena.r.amazonaws.com", "awsdatacatalog.db.t")),
    ("redshift://dwh.sales.orders", ("redshift://{cluster}.r:5439", "dwh.sales.orders")),
    ("jdbc:postgresql://h:5432/crm?dbtable=public.c", ("postgres://h:5432", "crm.public.c")),
    ("jdbc:mysql://h:3306/shop?dbtable=orders", ("mysql://h:3306", "shop.orders")),
    ("hdfs:///staging/x", ("hdfs://{namenode}:8020", "/staging/x")),
])
def test_dataset_naming_follows_the_spec(uri, expected):
    assert dataset_name(uri, region="r", account="a") == expected


def test_invalid_events_are_rejected(corpus_catalog):
    event = job_events(corpus_catalog)[0]
    broken = copy.deepcopy(event)
    del broken["producer"]
    with pytest.raises(AnalyzeError):
        validate_event(broken)
    broken = copy.deepcopy(event)
    broken["job"]["facets"]["ownership"]["owners"] = [{"type": "MAINTAINER"}]
    assert any("ownership" in e for e in validation_errors(broken))
    broken = copy.deepcopy(event)
    del broken["job"]["facets"]["jobType"]["integration"]
    assert validation_errors(broken)
