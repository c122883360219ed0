"""Accuracy on public code nobody here wrote (the real-code corpus), apart from the fixtures.

The corpus files are fetched, not committed (see bench/realcode_corpus.py); where they are
absent these tests skip and say how to fetch them. The manifest itself is always checked.
"""

from __future__ import annotations

import pytest

from tests.analyze import realcode_score as rs

#: Acceptance thresholds of issue 20 on the real-code corpus.
LOCATION_PRECISION, LOCATION_RECALL, EDGE_PRECISION = 0.90, 0.85, 0.95
EXCLUDED_OWNERS = {"apache", "aws-samples", "awslabs", "josephmachado", "garystafford"}
PERMISSIVE = {"Apache-2.0", "MIT", "MIT-0", "BSD-2-Clause", "BSD-3-Clause", "ISC"}


def test_manifest_is_large_diverse_and_redistributable():
    m = rs.manifest()
    entries = m["files"].values()
    assert len(m["files"]) >= 60
    assert len({e["repository"] for e in entries}) >= 15
    assert not {e["repository"].split("/")[0] for e in entries} & EXCLUDED_OWNERS
    assert {e["license"] for e in entries} <= PERMISSIVE
    for e in entries:
        assert len(e["commit"]) == 40 and len(e["sha256"]) == 64
        for role, _uri in e["locations"]:
            assert role in ("input", "output", "interim", "log", "code")


@pytest.fixture(scope="module")
def scores():
    if not rs.present():
        pytest.skip("real-code corpus not fetched: run `PYTHONPATH=. python bench/realcode_corpus.py fetch`")
    from spark_lester.analyze import analyze

    result = rs.score(analyze(rs.FILES, git=False))
    print("\nreal-code corpus:", {k: result[k] for k in (
        "locations_role_blind", "locations_with_roles", "schedules", "owners", "lineage_edges")})
    for key in ("missed", "extra", "role_errors", "wrong_schedules", "false_edges"):
        for item in result[key]:
            print(f"  {key}: {item}")
    return result


def test_no_file_of_the_corpus_is_a_problem(scores):
    assert scores["problems"] == []


def test_locations_role_blind(scores):
    assert scores["locations_role_blind"]["precision"] >= LOCATION_PRECISION
    assert scores["locations_role_blind"]["recall"] >= LOCATION_RECALL


def test_schedules_and_owners_are_exact(scores):
    assert scores["dags_found"]["found"] == scores["dags_found"]["dags"]
    assert scores["schedules"]["correct"] == scores["schedules"]["dags"], scores["wrong_schedules"]
    assert scores["owners"]["correct"] == scores["owners"]["dags"], scores["wrong_owners"]


def test_lineage_edges_need_evidence(scores):
    assert scores["lineage_edges"]["precision"] >= EDGE_PRECISION, scores["false_edges"]
