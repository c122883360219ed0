"""Every OpenLineage event the analyzer emits validates against the vendored schema."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lester.analyze.openlineage import (
    dataset_events,
    dataset_name,
    job_events,
    openlineage,
    unnamed_locations,
    validate_event,
    validation_errors,
)
from spark_lester.errors import AnalyzeError


def test_every_event_of_the_corpus_validates(corpus_catalog):
    events = openlineage(corpus_catalog, region="eu-west-1", account="123456789012")
    jobs = [e for e in events if "job" in e]
    assert len(jobs) == len(corpus_catalog["pipelines"])
    # Datasets known only by an unresolved name get no event (their readers list them instead).
    assert 0 < len(events) - len(jobs) <= len(corpus_catalog["datasets"])
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
    events = dataset_events(corpus_catalog, region="eu-west-1", account="123456789012")
    ev = next(e for e in events if e["dataset"]["namespace"] == "s3://acme-curated" and e["dataset"]["name"] == "accounts")
    ids = ev["dataset"]["facets"]["symlinks"]["identifiers"]
    assert {"namespace": "arn:aws:glue:eu-west-1:123456789012", "name": "table/crm/accounts", "type": "TABLE"} in ids
    validate_event(ev)


@pytest.mark.parametrize(("uri", "where", "expected"), [
    ("s3a://lake/p/x/", {}, ("s3://lake", "p/x")),
    ("s3://lake/orders/dt={{ ds }}/part-0.parquet", {}, ("s3://lake", "orders")),
    ("glue://db.t", {}, ("arn:aws:glue:eu-west-1:123456789012", "table/db/t")),
    ("athena://db.t", {}, ("awsathena://athena.eu-west-1.amazonaws.com", "awsdatacatalog.db.t")),
    ("redshift://dwh.sales.orders", {"cluster": "prod-dwh"}, ("redshift://prod-dwh.eu-west-1:5439", "dwh.sales.orders")),
    ("jdbc:redshift://prod-dwh.c8x1.us-east-1.redshift.amazonaws.com:5439/dwh?dbtable=sales.orders", {},
     ("redshift://prod-dwh.us-east-1:5439", "dwh.sales.orders")),
    ("jdbc:redshift://wg1.123456789012.eu-central-1.redshift-serverless.amazonaws.com:5439/dev?dbtable=t", {},
     ("redshift://wg1.eu-central-1:5439", "dev.public.t")),
    ("jdbc:postgresql://h:5432/crm?dbtable=public.c", {}, ("postgres://h:5432", "crm.public.c")),
    ("jdbc:postgresql://h/crm?dbtable=c", {}, ("postgres://h:5432", "crm.public.c")),
    ("jdbc:mysql://h:3306/shop?dbtable=orders", {}, ("mysql://h:3306", "shop.orders")),
    ("hdfs://nn1:9000/staging/x/dt={dt}", {}, ("hdfs://nn1:9000", "/staging/x")),
    ("hdfs:///staging/x", {"namenode": "nn1"}, ("hdfs://nn1:8020", "/staging/x")),
    ("file:///data/x.csv", {}, ("file", "/data/x.csv")),
])
def test_dataset_naming_follows_the_spec(uri, where, expected):
    assert dataset_name(uri, region="eu-west-1", account="123456789012", **where) == expected
    assert spec_problem(*expected) is None


@pytest.mark.parametrize(("uri", "where", "why"), [
    ("{sys.argv[1]}", {}, "placeholder"),
    ("/tmp/test_data/output", {}, "default file system"),
    ("s3://{{ params.BUCKET_NAME }}/x", {}, "bucket"),
    ("s3://b/{env}/orders", {}, "unresolved part"),
    ("jdbc:postgresql:{connection.host}", {}, "JDBC URL"),
    ("jdbc:postgresql://{host}:5432/crm?dbtable=c", {}, "host"),
    ("jdbc:postgresql://h:5432/crm", {}, "table"),
    ("redshift://dwh.sales.orders", {}, "cluster"),
    ("redshift://{database}.sales.orders", {"cluster": "c"}, "unresolved"),
    ("jdbc:redshift://10.0.0.1:5439/dwh?dbtable=t", {}, "endpoint"),
    ("hdfs:///staging/x", {}, "namenode"),
    ("glue://db.t", {"account": None}, "account"),
])
def test_nothing_is_named_in_an_invented_namespace(uri, where, why):
    kwargs = {"region": "eu-west-1", "account": "123456789012", **where}
    with pytest.raises(AnalyzeError, match=why):
        dataset_name(uri, **kwargs)


# The spec's namespace and name forms (https://openlineage.io/docs/spec/naming), written from
# the spec, not from the emitter: the oracle every emitted dataset is checked against.
_REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"
SPEC = [
    # S3 bucket names; legacy us-east-1 buckets may also hold capitals and underscores.
    (r"s3://[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]", r"(?:/|[^/].*)"),
    (rf"arn:aws:glue:{_REGION}:\d{{12}}", r"table/[^/]+/[^/]+"),
    (rf"awsathena://athena\.{_REGION}\.amazonaws\.com", r"[^.]+\.[^.]+\.[^.]+"),
    (rf"redshift://[a-z0-9-]+\.{_REGION}:\d+", r"[^.]+\.[^.]+\.[^.]+"),
    (r"postgres://[^:/]+:\d+", r"[^.]+\.[^.]+\.[^.]+"),
    (r"mysql://[^:/]+:\d+", r"[^.]+\.[^.]+"),
    (r"hdfs://[^:/]+:\d+", r"/.*"),
    (r"file", r"/.+"),
    (r"gs://[a-z0-9][a-z0-9._\-]+", r"(?:/|[^/].*)"),
    (rf"arn:aws:dynamodb:{_REGION}:\d{{12}}", r"table/[^/]+"),
]


def spec_problem(namespace: str, name: str) -> str | None:
    """Why (namespace, name) is not a spec-conforming dataset name; None if it is."""
    if re.search(r"[{}\s]", namespace + name) or not name:
        return f"placeholder, blank or whitespace in {namespace!r} {name!r}"
    if not any(re.fullmatch(ns, namespace) and re.fullmatch(nm, name) for ns, nm in SPEC):
        return f"no spec form matches {namespace!r} {name!r}"
    return None


def test_the_spec_oracle_rejects_what_the_emitter_used_to_write():
    # The names issue 20 found in the old output: the oracle must flag each of them.
    for old in [("unresolved", "{sys.argv[1]}"), ("jdbc:postgresql:{connection.host}", "crm.c"),
                ("redshift://{cluster}.{region}:5439", "dwh.sales.orders"),
                ("arn:aws:glue:{region}:{account_id}", "table/db/t"), ("hdfs://{namenode}:8020", "/x")]:
        assert spec_problem(*old) is not None, old


@pytest.mark.parametrize("kwargs", [{}, {"region": "eu-west-1", "account": "123456789012"}])
def test_every_emitted_dataset_is_spec_named_and_every_location_is_accounted_for(corpus_catalog, kwargs):
    left_out = _check_events(corpus_catalog, kwargs)
    assert any("placeholder" in x["reason"] for x in left_out)
    if not kwargs:  # without region/account no Glue or Athena table can be named
        assert any("--region and --account" in x["reason"] for x in left_out)


@pytest.mark.parametrize("kwargs", [{}, {"region": "us-east-1", "account": "123456789012"}])
def test_real_code_events_are_spec_named(kwargs):
    """The same checks on the real-code corpus (public files nobody here wrote), where fetched."""
    from tests.analyze import realcode_score as rs

    if not rs.present():
        pytest.skip("real-code corpus not fetched: run `PYTHONPATH=. python bench/realcode_corpus.py fetch`")
    from spark_lester.analyze import analyze

    catalog = analyze(rs.FILES, git=False)
    left_out = _check_events(catalog, kwargs)
    print(f"\nreal-code OpenLineage {kwargs or 'without region/account'}: {len(left_out)} reads/writes unnamed")


def _check_events(catalog: dict, kwargs: dict) -> list[dict]:
    """Every emitted name passes the spec oracle, every event validates, and every read or
    write of every pipeline is either an input/output of its job or in its unresolved facet."""
    corpus_catalog = catalog
    events = openlineage(corpus_catalog, **kwargs)
    named = [d for e in events for d in e.get("inputs", []) + e.get("outputs", [])]
    named += [e["dataset"] for e in events if "dataset" in e]
    named += [i for e in events if "dataset" in e
              for i in e["dataset"].get("facets", {}).get("symlinks", {}).get("identifiers", [])]
    assert named and [spec_problem(d["namespace"], d["name"]) for d in named] == [None] * len(named)
    for event in events:
        assert validation_errors(event) == [], event
    left_out = unnamed_locations(corpus_catalog, **kwargs)
    for p, ev in zip(corpus_catalog["pipelines"], events, strict=False):
        locs = [loc for loc in p["locations"] if loc["role"] in ("input", "interim", "output")]
        facet = ev["job"]["facets"].get("spark_lester_unresolvedDatasets", {"datasets": []})["datasets"]
        own = unnamed_locations({"pipelines": [p]}, **kwargs)
        assert [(f["location"], f["role"], f["reason"]) for f in facet] == [
            (x["location"], x["role"], x["reason"]) for x in own]
        for loc in locs:
            if any(f["location"] == loc["uri"] and f["role"] == loc["role"] for f in facet):
                continue
            where = {k: loc[k] for k in ("region", "account", "cluster", "port", "namenode") if loc.get(k)}
            ns, name = dataset_name(loc["uri"], **{**kwargs, **where})  # what the code names wins
            side = ev["inputs"] if loc["role"] == "input" else ev["outputs"]
            assert {"namespace": ns, "name": name} in side, loc
    return left_out


_BUCKET = st.from_regex(r"[a-z0-9][a-z0-9\-]{1,20}[a-z0-9]", fullmatch=True)
_SEG = st.from_regex(r"[A-Za-z0-9_\-]{1,12}", fullmatch=True)
_PH = st.sampled_from(["{{ ds }}", "{dt}", "{args.input}", "{{ params.x }}", "${ENV}"])


@settings(max_examples=300, deadline=None)
@given(bucket=_BUCKET, segs=st.lists(_SEG, min_size=0, max_size=4), tail=st.lists(
    st.one_of(_PH, _SEG.map(lambda s: f"dt={s}"), _SEG.map(lambda s: f"{s}.parquet"), st.just("*")), max_size=3),
    scheme=st.sampled_from(["s3", "s3a", "s3n"]), placeholder_bucket=st.booleans())
def test_generated_s3_locations_name_the_folder_above_partitions(bucket, segs, tail, scheme, placeholder_bucket):
    uri = f"{scheme}://{'{{ params.b }}' if placeholder_bucket else bucket}/" + "/".join(segs + tail)
    if placeholder_bucket:
        with pytest.raises(AnalyzeError):
            dataset_name(uri)
        return
    # Independent expectation: the written segments up to the first templated, partition or
    # glob one; a path that starts with such a segment names no dataset.
    kept = list(segs)
    for t in tail:
        if re.search(r"[{}$*=]", t):
            break
        kept.append(t)
    if not kept and tail:
        with pytest.raises(AnalyzeError):
            dataset_name(uri)
        return
    ns, name = dataset_name(uri)
    assert (ns, name) == (f"s3://{bucket}", "/".join(kept) or "/")
    assert spec_problem(ns, name) is None


@settings(max_examples=200, deadline=None)
@given(engine=st.sampled_from(["postgresql", "mysql"]), host=st.from_regex(r"[a-z][a-z0-9\-]{0,15}(\.[a-z]{2,8}){0,2}", fullmatch=True),
       port=st.one_of(st.none(), st.integers(1, 65535)), db=_SEG, schema=st.one_of(st.none(), _SEG), table=_SEG)
def test_generated_jdbc_urls(engine, host, port, db, schema, table):
    dbtable = f"{schema}.{table}" if schema else table
    uri = f"jdbc:{engine}://{host}{f':{port}' if port else ''}/{db}?dbtable={dbtable}"
    ns, name = dataset_name(uri)
    scheme, default = ("postgres", 5432) if engine == "postgresql" else ("mysql", 3306)
    assert ns == f"{scheme}://{host}:{port or default}"
    if engine == "postgresql":
        assert name == f"{db}.{schema or 'public'}.{table}"
    else:
        assert name == (dbtable if schema else f"{db}.{table}")
    assert spec_problem(ns, name) is None


def test_redshift_cluster_named_by_the_code_reaches_the_events():
    cat = {"root": ".", "datasets": [{"id": "redshift://dwh.sales.orders", "uris": ["redshift://dwh.sales.orders"]}],
           "pipelines": [{"file": "dags/load.py", "dag_id": "load", "kind": "airflow_dag", "owners": [],
                          "locations": [{"role": "output", "uri": "redshift://dwh.sales.orders", "line": 9,
                                         "cluster": "analytics-prod", "region": "eu-west-1"},
                                        {"role": "input", "uri": "{sys.argv[1]}", "line": 4}]}]}
    job, ds = openlineage(cat, event_time="2024-01-01T00:00:00Z")
    assert job["outputs"] == [{"namespace": "redshift://analytics-prod.eu-west-1:5439", "name": "dwh.sales.orders"}]
    assert job["inputs"] == []
    facet = job["job"]["facets"]["spark_lester_unresolvedDatasets"]
    assert facet["datasets"] == [{"location": "{sys.argv[1]}", "role": "input", "line": 4,
                                  "reason": facet["datasets"][0]["reason"]}]
    assert ds["dataset"] == {"namespace": "redshift://analytics-prod.eu-west-1:5439", "name": "dwh.sales.orders"}
    assert validation_errors(job) == [] and validation_errors(ds) == []
    broken = copy.deepcopy(job)
    del broken["job"]["facets"]["spark_lester_unresolvedDatasets"]["datasets"][0]["reason"]
    assert any("spark_lester_unresolvedDatasets" in e for e in validation_errors(broken))


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


def test_cli_names_glue_tables_with_region_and_account(tmp_path, capsys):
    import argparse
    import json

    from spark_lester.cli import analyze as analyze_cli
    from tests.analyze.conftest import CORPUS

    def run(*extra: str) -> list[dict]:
        parser = argparse.ArgumentParser(prog="spark-lester")
        analyze_cli.register(parser.add_subparsers(dest="command"))
        out = tmp_path / "events.jsonl"
        args = parser.parse_args(["analyze", str(CORPUS), "--format", "openlineage", "--out", str(out),
                                  "--no-git", "--no-progress", *extra])
        assert args.func(args) == 0
        return [json.loads(line) for line in out.read_text().splitlines()]

    bare = run()
    assert "spark_lester_unresolvedDatasets" in capsys.readouterr().err
    named = run("--region", "eu-west-1", "--account", "123456789012")
    namespaces = {d["namespace"] for e in named for d in e.get("inputs", []) + e.get("outputs", [])}
    assert "arn:aws:glue:eu-west-1:123456789012" in namespaces
    assert not any(d["namespace"].startswith("arn:aws:glue") for e in bare for d in e.get("inputs", []) + e.get("outputs", []))
