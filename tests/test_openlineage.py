"""The two OpenLineage emitters (a plan's column lineage, the analyzer's job and dataset events)
stamp the one producer and write documents that validate against the vendored schemas."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spark_lester
from spark_lester.analyze.openlineage import FACET_SCHEMAS, openlineage, validation_errors
from spark_lester.openlineage import PRODUCER
from spark_lester.plan import nodes
from spark_lester.plan.serialize import to_openlineage

CATALOG: dict[str, Any] = {
    "root": ".",
    "datasets": [{"id": "glue://crm.accounts", "uris": ["s3://acme-curated/accounts/"],
                  "aliases": ["glue://crm.accounts"]}],
    "pipelines": [{
        "file": "dags/accounts.py", "dag_id": "accounts", "kind": "airflow_dag", "summary": "Accounts.",
        "owners": [{"name": "data-platform", "source": "codeowners"}],
        "locations": [{"role": "input", "uri": "s3a://acme-raw/accounts/dt={{ ds }}/", "line": 3},
                      {"role": "output", "uri": "s3://acme-curated/accounts/", "line": 7},
                      {"role": "input", "uri": "{sys.argv[1]}", "line": 4}]}],
}


def _plan() -> nodes.PlanNode:
    mails = nodes.Source(name="mails", format="csv", path="m.csv", key="mail_id",
                         columns=("mail_id", "email", "subject", "day"))
    customers = nodes.Source(name="customers", format="csv", path="c.csv", key="customer_id",
                             columns=("customer_id", "email", "country"))
    joined = nodes.Join(left=mails, right=customers, left_on=("email",), right_on=("email",))
    recent = nodes.Filter(child=joined, predicate="day > 3", references=("day",))
    return nodes.Project(child=recent, target="title", sources=("subject",), expression="lower(subject)")


def _documents() -> list[dict[str, Any]]:
    """What each emitter writes: the plan's output dataset, then the analyzer's events."""
    events = openlineage(CATALOG, region="eu-west-1", account="123456789012")
    return [to_openlineage(_plan())] + events


def _producers(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("producer", "_producer"):
                yield value
            yield from _producers(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _producers(item)


def test_both_emitters_stamp_the_one_producer():
    plan_doc, *events = _documents()
    assert set(_producers(plan_doc)) == {PRODUCER}
    assert set(_producers(events)) == {PRODUCER}
    # every kind of facet the emitters write was looked at
    facets = set(plan_doc["facets"]) | {k for e in events for k in e.get("job", {}).get("facets", {})}
    facets |= {k for e in events for k in e.get("dataset", {}).get("facets", {})}
    assert facets == set(FACET_SCHEMAS)


def test_producer_is_spelled_once():
    root = Path(spark_lester.__file__).parent
    spelled = [str(p.relative_to(root)) for p in root.rglob("*.py")
               if re.search(r"^PRODUCER\s*=|https://github\.com/spark-lester/spark_lester\"",
                            p.read_text(encoding="utf-8"), re.MULTILINE)]
    assert spelled == ["openlineage.py"]


def test_both_emitters_documents_validate():
    docs = _documents()
    assert len(docs) == 3  # the plan's dataset, one job event, one dataset event
    for doc in docs:
        assert validation_errors(doc) == [], doc


@pytest.mark.parametrize(("where", "breaks"), [
    ("columnLineage", lambda d: d["facets"]["columnLineage"]["fields"]["title"]["inputFields"][0].pop("field")),
    ("columnLineage", lambda d: d["facets"]["columnLineage"].update(_schemaURL="https://example.com/x.json")),
    ("<dataset>", lambda d: d.pop("name")),
])
def test_the_plan_document_is_checked_against_the_column_lineage_schema(where, breaks):
    doc = copy.deepcopy(to_openlineage(_plan()))
    breaks(doc)
    assert any(where in e for e in validation_errors(doc))


def test_symlinks_facet_is_checked():
    dataset_event = _documents()[2]
    broken = copy.deepcopy(dataset_event)
    del broken["dataset"]["facets"]["symlinks"]["identifiers"][0]["type"]
    assert any("symlinks" in e for e in validation_errors(broken))
