"""The typed records of a deletion (``deletion/records.py``): their JSON is the ledger's.

Generated records go to JSON and back unchanged; the JSON forms keep the shapes the ledger
always stored (Delta's metric names, ``{}`` / ``{"before"}`` / four keys per table), which
``test_ledger_golden.py`` checks against stored rows. No Spark."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from spark_lester.artifacts.registry import RunRecord, TableState
from spark_lester.deletion.records import (DELTA_METRICS, DeletionResult, LedgerEntry,
                                           MergeMetrics, TableVersions, skipped)

counts = st.one_of(st.none(), st.integers(0, 10**9))
merges = st.builds(MergeMetrics, seconds=st.one_of(st.none(), st.floats(0, 1e4)),
                   version=counts, operation=st.sampled_from([None, "MERGE", "DELETE"]),
                   skipped=st.sampled_from([None, True]),
                   **{name: counts for name in DELTA_METRICS},
                   encoder_rewrite=st.one_of(st.none(), st.just({"width_after": 3})))
versions = st.builds(TableVersions, before=counts, after=counts,
                     merge=st.one_of(st.none(), merges),
                     erasure=st.one_of(st.none(), st.just({"files_rewritten": 2})))


def test_merge_metrics_keep_deltas_names_and_ints():
    m = MergeMetrics.from_delta({"numTargetRowsDeleted": "3", "numTargetFilesAdded": "1",
                                 "numOutputRows": "9"}, version=4, operation="MERGE")
    assert (m.rows_deleted, m.files_added, m.version) == (3, 1, 4)
    assert m.to_json() == {"numTargetRowsDeleted": 3, "numTargetFilesAdded": 1, "version": 4,
                           "operation": "MERGE"}
    assert skipped().to_json() == {"skipped": True, "seconds": 0.0}
    assert MergeMetrics(encoder_rewrite={"width_after": 2}).to_json() == \
        {"encoder_rewrite": {"width_after": 2}}


@given(merges)
def test_merge_metrics_survive_json(m):
    assert MergeMetrics.from_json(json.loads(json.dumps(m.to_json()))) == m


def test_a_tables_entry_has_the_shape_of_its_state():
    assert TableVersions().to_json() == {}
    assert TableVersions(before=3).to_json() == {"before": 3}
    assert TableVersions(before=3, after=5).to_json() == \
        {"before": 3, "after": 5, "merge": None, "erasure": None}


@given(versions)
def test_a_finished_tables_entry_survives_json(t):
    back = TableVersions.from_json(json.loads(json.dumps(t.to_json())))
    if t.after is None:  # unfinished: only the version before is kept
        assert back == TableVersions(before=t.before)
    else:
        assert back == t


@given(st.dictionaries(st.text(min_size=1, max_size=8), versions, max_size=3),
       st.sampled_from(["started", "completed", "noop", "failed"]))
def test_a_ledger_entry_survives_json(tables, status):
    tables = {p: t if t.after is not None else TableVersions(before=t.before)
              for p, t in tables.items()}
    entry = LedgerEntry(request_id="r", status=status, runs=["r1"], tables=tables or None,
                        changes=[{"run_id": "r1"}], seconds=1.5)
    assert LedgerEntry.from_json(json.loads(json.dumps(entry.to_json()))) == entry


def test_a_result_reads_like_the_dict_it_replaced():
    result = DeletionResult(request_id="r", status="completed", runs=["r1"],
                            tables={"/w/t": TableVersions(1, 2, skipped(), None)},
                            verification={"verified": True}, seconds=2.0)
    assert result["status"] == "completed" and result.verified is True
    assert result["tables"] == {"/w/t": {"before": 1, "after": 2,
                                         "merge": {"skipped": True, "seconds": 0.0},
                                         "erasure": None}}
    assert result.get("model", {}) == {} and result.get("nothing", 7) == 7
    assert json.loads(json.dumps(result.to_json()))["runs"] == ["r1"]
    assert DeletionResult(request_id="r", status="noop").verified is None


def test_run_record_tables_are_typed():
    record = RunRecord("r1", "p", "", "", None, {},
                       {"prepared": {"path": "/w/p/r1/prepared", "version": 1},
                        "model": TableState("/w/p/r1/model", 0, kind="logistic",
                                            train_seconds=1.5)},
                       {}, {}, {}, [], [], None, {}, None, {})
    assert record.tables["prepared"] == TableState("/w/p/r1/prepared", 1)
    assert record.summary()["tables"] == {
        "prepared": {"path": "/w/p/r1/prepared", "version": 1},
        "model": {"path": "/w/p/r1/model", "version": 0, "kind": "logistic",
                  "train_seconds": 1.5}}
