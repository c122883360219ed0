"""Crash recovery (issue 17, symptom f): a ``spark-lester delete`` killed with SIGKILL, then
re-submitted, ends in the state of the fault-free request, says it resumed, leaves no
temporary log file holding the request's ids, and verifies the erasure of the values of the
rows it removed only (other rows may hold what its patterns match)."""

from __future__ import annotations

import json
import os
import uuid

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import PREPARED, Layout
from spark_lester.cli import main
from spark_lester.deletion import ledger
from spark_lester.deletion.request import CARD_NUMBER
from tests.fuzz.faults import forget_cached_logs, killed_delete, temporary_files
from tests.fuzz.harness import Case, Harness
from tests.fuzz.test_regressions import CARD, notes, visits

BODY = """
    j = visits.join(notes, visits.k == notes.rk, how="left")
    out = j.withColumn("f", F.length(F.coalesce(F.col("t"), F.lit(""))).cast("double"))
"""


def _visits():
    # visit 3's text holds a card number too: the request does not touch it
    return visits([(1, "a", 1.0, f"wvisitaaa1 card {CARD}"), (2, "a", 3.0, "wvisitaaa2 x"),
                   (3, "b", 5.0, "wvisitbbb3 card 5500 0000 0000 0004"),
                   (4, "c", None, "wvisitccc4")])


def test_killed_after_its_first_commit_then_resubmitted(spark, tmp_path, capsys):
    case = Case([_visits(), notes()], BODY, cluster="visits", requests=[])
    harness = Harness(spark, tmp_path)
    record, wh = harness.setup(case)
    request = {"request_id": "incident-7", "source": "visits", "keys": [1],
               "action": "redact_columns", "columns": ["visits.t"],
               "verify_patterns": [CARD_NUMBER]}
    code = killed_delete(request, wh, "merge:r1:prepared", tmp_path / "child")
    assert code == -9
    forget_cached_logs(spark)
    prepared = record.tables[PREPARED].path
    assert store.table_version(spark, prepared) > record.tables[PREPARED].version
    # what a kill in the middle of the next commit leaves: its temporary file, holding the
    # commit's actions (the MERGE predicate with the request's row ids)
    log = os.path.join(prepared, "_delta_log")
    last = max(f for f in os.listdir(log) if f.endswith(".json"))
    version = int(last.split(".")[0]) + 1
    with open(os.path.join(log, last)) as src, \
            open(os.path.join(log, f".{version:020d}.json.{uuid.uuid4()}.tmp"), "w") as tmp:
        tmp.write(src.read())
    assert temporary_files(wh)

    path = tmp_path / "again.json"
    path.write_text(json.dumps(request))
    assert main(["delete", str(path), "--warehouse", wh]) == 0, capsys.readouterr().err
    assert temporary_files(wh) == []
    rows = ledger.entries(spark, Layout(wh), "incident-7")
    assert rows[-1].status == "completed" and "resumed" in (rows[-1].reason or "")
    verification = rows[-1].verification
    assert verification["verified"] is True and verification["needles"] > 0
    differences = harness.oracle_differences(case, record, [request], wh, "resumed")
    assert differences == []
    # the card number of the untouched visit is still there (the scan did not look for it)
    assert any("5500 0000 0000 0004" in (r["t"] or "") for r in
               spark.read.format("delta").load(prepared).collect())


def test_killed_while_the_ledger_was_first_created(spark, tmp_path):
    """A process killed while it created the ledger leaves ``_delta_log`` with only
    ``_commits`` (and a temporary file): that is no table, and the next request creates
    it instead of failing with DELTA_TABLE_NOT_FOUND forever."""
    case = Case([_visits(), notes()], BODY, cluster="visits", requests=[])
    harness = Harness(spark, tmp_path)
    record, wh = harness.setup(case)
    commits = os.path.join(Layout(wh).ledger, "_delta_log", "_commits")
    os.makedirs(commits)
    with open(os.path.join(commits, f".00000000000000000000.{uuid.uuid4()}.json.tmp"),
              "w") as fh:
        fh.write("{}")
    assert ledger.entries(spark, Layout(wh)) == []
    request = {"request_id": "after-crash", "source": "visits", "keys": [2],
               "action": "delete_rows"}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(request))
    assert main(["delete", str(path), "--warehouse", wh]) == 0
    assert [e.status for e in ledger.entries(spark, Layout(wh))] == ["started", "completed"]
    assert harness.oracle_differences(case, record, [request], wh, "ledger") == []
