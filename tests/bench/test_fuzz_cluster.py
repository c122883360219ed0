"""bench/fuzz_cluster.py's comparison of a case's cluster side with its local side, without
Spark or a cluster: made-up case lines in the shape ``run_case`` writes."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def fc():
    spec = importlib.util.spec_from_file_location("fuzz_cluster", BENCH / "fuzz_cluster.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def line(case: int = 3, *, skipped: str | None = None) -> dict:
    """A case line as ``run_case`` returns it: an initial snapshot and one request's."""
    prepared = {"columns": ["__prov_a", "k", "x"],
                "rows": ['[1, "a", 0.1]', '[2, "b", 0.30000000000000004]']}
    model = {"version": 1, "w": [0.25, -1.5], "params_sha256": "ab", "stats_sha256": "cd"}
    snapshots = [] if skipped else [
        {"after": "run", "prepared": prepared,
         "model": {**model, "version": 0, "w": [0.5, -1.0]}},
        {"after": "q0", "status": "completed",
         "prepared": {**prepared, "rows": prepared["rows"][1:]}, "model": model}]
    return {"case": case, "seed": 1_000_003 + case, "seed_base": 1, "skipped": skipped,
            "ok": True, "differences": [], "statuses": [] if skipped else ["completed"],
            "ops": ["filter", "join_left"], "kinds": ["delete_keys"], "seconds": 10.0,
            "snapshots": snapshots, "reproduction": None}


def test_equal_sides_compare_equal(fc):
    assert fc.compare_sides(line(), line()) == []


@pytest.mark.parametrize("plant, expected", [
    (lambda c: c["snapshots"][1]["prepared"]["rows"].__setitem__(0, '[2, "b", 0.3]'),
     "/snapshots[1]/prepared/rows[0]"),
    (lambda c: c["snapshots"][1]["model"]["w"].__setitem__(1, -1.5000000000000002),
     "/snapshots[1]/model/w[1]"),
    (lambda c: c["statuses"].__setitem__(0, "noop"), "/statuses[0]"),
    (lambda c: c["snapshots"][0].pop("model"), "/snapshots[0]/model: only on one side"),
    (lambda c: c["snapshots"].pop(), "/snapshots: 1 vs 2 items"),
])
def test_a_planted_difference_is_reported_where_it_is(fc, plant, expected):
    """The last float bit of a row or a weight, a status, a missing table or snapshot."""
    cluster = copy.deepcopy(line())
    plant(cluster)
    found = fc.compare_sides(cluster, line())
    assert found and found[0].startswith(expected), found


def test_skipped_on_one_side_only_is_a_difference(fc):
    found = fc.compare_sides(line(skipped="no training row"), line())
    assert found == ["skipped on one side only: cluster 'no training row', local None"]
    assert fc.compare_sides(line(skipped="x"), line(skipped="x")) == []


def test_summary_counts_cases_failures_and_differing_cases(fc):
    bad_local = {**line(4), "ok": False, "differences": ["request 0: prepared differs"]}
    differ = copy.deepcopy(line(5))
    differ["snapshots"][1]["model"]["w"][0] = 0.5
    cluster = [line(3), line(4), differ, line(6, skipped="x"), line(7)]
    local = [line(3), bad_local, line(5), line(6, skipped="x")]  # case 7 not run locally
    out = fc.summarize(cluster, local)
    assert (out["cases_generated"], out["cases_run"], out["cases_skipped"]) == (4, 3, 1)
    assert out["requests_compared"] == 3 and out["snapshots_compared"] == 6
    assert [(f["side"], f["case"]) for f in out["failures"]] == [("local", 4)]
    assert [d["case"] for d in out["cluster_differs_from_local"]] == [5]
    assert out["per_operator"] == {"filter": 3, "join_left": 3}
    assert out["seconds"] == {"cluster": 40.0, "local": 40.0}
