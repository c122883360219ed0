"""Accuracy of the analyzer on the fixture corpus against hand-written ground truth."""

from __future__ import annotations

import json

from tests.analyze.conftest import CORPUS


def _prf(pred: set, truth: set) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def test_corpus_is_large_enough(ground_truth):
    files = [f for f in CORPUS.rglob("*") if f.is_file()]
    assert len(files) >= 25
    assert {f.relative_to(CORPUS).as_posix() for f in files} == set(ground_truth)


def test_location_precision_and_recall(corpus_catalog, ground_truth):
    pred = {(p["file"], loc["role"], loc["uri"]) for p in corpus_catalog["pipelines"] for loc in p["locations"]}
    truth = {(f, role, uri) for f, v in ground_truth.items() for role, uri in v["locations"]}
    precision, recall, f1 = _prf(pred, truth)
    print(f"\nlocations: precision={precision:.3f} recall={recall:.3f} f1={f1:.3f} "
          f"(predicted {len(pred)}, truth {len(truth)})")
    for miss in sorted(truth - pred):
        print("  missed:", miss)
    for extra in sorted(pred - truth):
        print("  extra: ", extra)
    assert precision >= 0.90
    assert recall >= 0.85


def _dags(catalog):
    return {(p["file"], p["dag_id"]): p for p in catalog["pipelines"] if p["dag_id"]}


def _truth_dags(ground_truth):
    return {(f, d["dag_id"]): d for f, v in ground_truth.items() for d in v["pipelines"] if "dag_id" in d}


def test_schedules_owners_and_retries_are_exact(corpus_catalog, ground_truth):
    found, truth = _dags(corpus_catalog), _truth_dags(ground_truth)
    assert set(found) == set(truth)
    sched_ok = sum(found[k]["schedule"] == t["schedule"] for k, t in truth.items())
    owner_ok = sum([o["name"] for o in found[k]["owners"] if o["source"] == "default_args"] == t["owners"]
                   for k, t in truth.items())
    retries_ok = sum(found[k]["retries"] == t["retries"] for k, t in truth.items())
    print(f"\nschedules {sched_ok}/{len(truth)}, default_args owners {owner_ok}/{len(truth)}, "
          f"retries {retries_ok}/{len(truth)}")
    for k, t in truth.items():
        assert found[k]["schedule"] == t["schedule"], k
        assert [o["name"] for o in found[k]["owners"] if o["source"] == "default_args"] == t["owners"], k
        assert found[k]["retries"] == t["retries"], k


def test_task_edge_f1(corpus_catalog, ground_truth):
    found, truth = _dags(corpus_catalog), _truth_dags(ground_truth)
    pred = {(k, a, b) for k, p in found.items() for a, b in p["edges"]}
    gold = {(k, a, b) for k, t in truth.items() for a, b in t["edges"]}
    precision, recall, f1 = _prf(pred, gold)
    print(f"\ntask edges: precision={precision:.3f} recall={recall:.3f} f1={f1:.3f}")
    assert f1 >= 0.95


def test_kinds_and_launches(corpus_catalog, ground_truth):
    by_file: dict[str, list] = {}
    for p in corpus_catalog["pipelines"]:
        by_file.setdefault(p["file"], []).append(p)
    for f, v in ground_truth.items():
        assert len(by_file.get(f, [])) == len(v["pipelines"]), f
        for want, got in zip(v["pipelines"], by_file.get(f, []), strict=True):
            if "kind" in want:
                assert got["kind"] == want["kind"], f
            if "launches" in want:
                assert got["launches"] == want["launches"], f


def test_unparseable_file_is_reported_and_negative_control_is_empty(corpus_catalog, ground_truth):
    problems = {p["file"] for p in corpus_catalog["problems"]}
    assert problems == {f for f, v in ground_truth.items() if v.get("problem")}
    assert not [p for p in corpus_catalog["pipelines"] if p["file"] == "dags/common/slack_alerts.py"]


def test_catalog_shape_and_json(corpus_catalog):
    text = json.dumps(corpus_catalog)
    data = json.loads(text)
    for p in data["pipelines"]:
        assert set(p) >= {"file", "kind", "dag_id", "schedule", "retries", "owners", "locations",
                          "tasks", "edges", "launches", "operations", "summary"}
        for loc in p["locations"]:
            assert set(loc) >= {"role", "uri", "raw"}
            assert not loc["uri"].startswith("s3a://") and not loc["uri"].endswith("/")


def test_glue_table_and_s3_location_are_one_dataset(corpus_catalog):
    groups = [g for g in corpus_catalog["datasets"] if "glue://crm.accounts" in g["uris"] + g.get("aliases", [])]
    assert len(groups) == 1
    assert "s3://acme-curated/accounts" in groups[0]["uris"] + groups[0].get("aliases", [])
    orders = [g for g in corpus_catalog["datasets"] if "glue://curated.orders" in g["uris"] + g.get("aliases", [])]
    assert "s3://acme-curated/orders" in orders[0]["uris"] + orders[0].get("aliases", [])


def test_lineage_links_writers_to_readers_and_dags_to_scripts(corpus_catalog):
    edges = {(e["from"], e["to"], e["via"]) for e in corpus_catalog["lineage"]}
    assert ("dags/orders_emr_dag.py:orders_nightly", "jobs/clean_orders.py", "launches") in edges
    assert any(a == "sql/create_orders_table.sql" and b == "sql/daily_revenue.sql" for a, b, _ in edges)


def test_operations_and_summary(corpus_catalog):
    p = next(p for p in corpus_catalog["pipelines"] if p["file"] == "jobs/features.py")
    ops = [o["op"] for o in p["operations"]]
    assert {"read", "udf", "join", "aggregate", "derive", "write"} <= set(ops)
    assert "joins datasets" in p["summary"] and "glue://ml.customer_features" in p["summary"]
