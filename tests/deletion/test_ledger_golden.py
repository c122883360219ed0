"""The ledger's content does not change when the deletion path's code does.

A fixed sequence of requests on the running example's run (a delete interrupted after its
first MERGE and re-submitted, the incident's redaction, a request matching nothing, a
re-submit of a completed request, a request naming a column the source lacks) writes ledger
rows; their content, less what varies from run to run (times, durations, the temporary
folders), must equal ``ledger_golden.json``, recorded before the deletion path became a
runner over typed stages (issue 19).

``LESTER_WRITE_LEDGER_GOLDEN=1`` rewrites the file instead (only when the ledger's content
is meant to change: say so in the commit).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from spark_lester.artifacts.layout import Layout
from spark_lester.deletion import ledger, stages
from spark_lester.deletion.request import CARD_NUMBER
from spark_lester.deletion.stages import Hooks
from spark_lester.deletion.unlearn import unlearn
from spark_lester.errors import LesterError

GOLDEN = Path(__file__).with_name("ledger_golden.json")
#: Keys whose values differ between two runs of the same requests: times, durations, and
#: the bytes the erasure scan read (the Delta log's commit records hold times).
VARYING = re.compile(r"(^at$|seconds|_ms$|Ms$|^timings$|time|duration|^bytes$)",
                     re.IGNORECASE)


class Crash(Exception):
    """Stands in for the process dying after the first MERGE."""

#: Digests of a model's weights: their bytes depend on the CPU's floating point (a retrain
#: on another machine differs in the last bits; the weights are compared by
#: tests/deletion/test_unlearn.py), so only their form is compared.
WEIGHT_DIGESTS = ("params_digest", "previous_digest")


def _weights_digest(value):
    return "<sha256>" if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) \
        else value


def normalized(value, roots: dict[str, str]):
    """``value`` less its times and durations, with temporary folders named by role and
    numbers rounded to 6 significant digits."""
    if isinstance(value, dict):
        return {normalized(k, roots): _weights_digest(v) if k in WEIGHT_DIGESTS
                else normalized(v, roots) for k, v in sorted(value.items())
                if not VARYING.search(str(k))}
    if isinstance(value, list):
        return [normalized(v, roots) for v in value]
    if isinstance(value, float):
        return value if not math.isfinite(value) or value == 0 else \
            float(f"{value:.6g}")
    if isinstance(value, str):
        for root, name in roots.items():
            value = value.replace(root, name)
        return value
    return value


def stored_rows(spark, wh: str) -> list[dict]:
    """The ledger's rows as stored (JSON columns parsed), oldest first: read without the
    typed records, so that what is compared is what was written."""
    rows = [r.asDict() for r in spark.read.format("delta").load(Layout(wh).ledger).collect()]
    for row in rows:
        for key in ("runs", "tables", "sources", "changes", "timings", "verification",
                    "quality", "model"):
            if row[key] is not None:
                row[key] = json.loads(row[key])
    return sorted(rows, key=lambda r: r["at"])


@contextmanager
def stage_calls():
    """The stage functions entered on this thread, each with the name of its caller."""
    folder = str(Path(stages.__file__).parent)
    calls: list[tuple[str, str]] = []

    def profile(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(folder) and \
                Path(code.co_filename).stem == code.co_name:
            calls.append((code.co_name, frame.f_back.f_code.co_name))

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(None)


def requests(leaks: dict) -> list[dict]:
    return [
        {"request_id": "golden-delete", "source": "mails", "keys": leaks["mail_ids"][:3],
         "action": "delete_rows", "verify_patterns": [CARD_NUMBER]},
        {"request_id": "golden-incident", "source": "customers",
         "keys": leaks["customer_ids"], "action": "redact_columns",
         "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]},
        {"request_id": "golden-nothing", "source": "customers", "keys": [987654321],
         "action": "delete_rows"},
        {"request_id": "golden-incident", "source": "customers",
         "keys": leaks["customer_ids"], "action": "redact_columns",
         "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]},
        {"request_id": "golden-bad-column", "source": "customers", "keys": [1],
         "action": "redact_columns", "columns": ["mails.no_such_column"]},
    ]


def test_the_ledger_of_a_request_sequence_is_unchanged(spark, small_example, example_run):
    wh, _ = example_run
    roots = {str(Path(wh).parent): "<warehouse-parent>",
             str(Path(small_example["customers"]).parent): "<data>"}
    statuses = []

    def crash(step: str) -> None:
        if step.startswith("merge:"):
            raise Crash(step)

    first, *rest = requests(small_example["leaks_data"])
    with pytest.raises(Crash):
        unlearn(first, warehouse=wh, spark=spark, hooks=Hooks(after_step=crash))
    entered = []
    for request in [first, *rest]:
        with stage_calls() as calls:
            try:
                statuses.append(unlearn(request, warehouse=wh, spark=spark)["status"])
            except LesterError as err:
                statuses.append(type(err).__name__)
        entered.append(calls)
    rows = [normalized(row, roots) for row in stored_rows(spark, wh)]
    # the typed records read back what was stored
    assert [normalized(e.to_json(), roots) for e in ledger.entries(spark, Layout(wh))] == rows
    got = {"results": statuses, "ledger": rows}
    if os.environ.get("LESTER_WRITE_LEDGER_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert got["results"] == expected["results"]
    assert [r["status"] for r in got["ledger"]] == [r["status"] for r in expected["ledger"]]
    differing = {f"row {n} ({want['request_id']}, {want['status']}): {key}":
                 (row.get(key), want.get(key))
                 for n, (row, want) in enumerate(zip(got["ledger"], expected["ledger"]))
                 for key in sorted(set(row) | set(want)) if row.get(key) != want.get(key)}
    assert not differing
    # the call path stays in the runner: each stage entered once, in order, by the runner
    everything = ["check", "resolve", "update", "clean_source", "erase", "verify"]
    assert entered == [[(s, "run_request") for s in stages_of] for stages_of in (
        everything, everything, ["check", "resolve"], [], ["check"])]


def test_normalization_keeps_what_a_change_would_show():
    """The comparison can fail: a changed count, status or table version survives the
    normalization; only times, durations and the temporary folders are dropped."""
    roots = {"/tmp/x": "<wh>"}
    row = {"status": "completed", "seconds": 1.5, "at": "2026", "timings": {"merge": 1.0},
           "tables": {"/tmp/x/t": {"before": 1, "after": 2, "merge": {
               "numTargetRowsDeleted": 3, "executionTimeMs": 40}}}}
    base = normalized(row, roots)
    assert base == {"status": "completed",
                    "tables": {"<wh>/t": {"before": 1, "after": 2,
                                          "merge": {"numTargetRowsDeleted": 3}}}}
    changed = json.loads(json.dumps(row))
    changed["tables"]["/tmp/x/t"]["merge"]["numTargetRowsDeleted"] = 4
    assert normalized(changed, roots) != base
    assert normalized({**row, "seconds": 9.0, "at": "2027"}, roots) == base
    assert normalized({**row, "status": "failed"}, roots) != base
