"""A ``clean_source`` request whose rows reach no artifact still cleans the Delta source.

Found by a review (session 21, noted as open): a right row that no left row joins is in no
artifact, so the request found nothing to change and answered ``noop``, and the source kept
the row (and the person's note) although the request asked for it to be cleaned. Now the
request completes: the artifacts stay as they were (they equal a re-run on the cleaned
sources), the source loses the row or cell, and its old files are vacuumed."""

from __future__ import annotations

import pandas as pd
import pytest

from spark_lester.artifacts.run import run
from spark_lester.deletion import ledger
from spark_lester.deletion.unlearn import unlearn
from spark_lester.deletion.verify import scan
from spark_lester.errors import RequestError
from tests.deletion.conftest import (PIPELINES, assert_same_artifacts, baseline_run,
                                     crash_then_resubmit, table_rows, write_csv)


LEFT = pd.DataFrame({"id": [1, 2, 3, 4], "k": ["a", "b", "b", "c"], "v": [1.0, 2.0, 3.0, 4.0]})
# rid 4's key matches no left row: the left join never carries it into an artifact
RIGHT = pd.DataFrame({"rid": [1, 2, 3, 4], "k": ["a", "b", "c", "z"],
                      "note": ["alpha note", "beta note", "gamma note", "zeta secret note"]})


PIPELINE = PIPELINES / "left_union.py"


def _sources(spark, tmp_path) -> dict[str, str]:
    sources = {}
    for name, frame in {"left": LEFT, "right": RIGHT}.items():
        sources[name] = str(tmp_path / "src" / name)
        spark.createDataFrame(frame).write.format("delta").save(sources[name])
    return sources


@pytest.mark.parametrize("action", [
    "delete_rows", pytest.param("redact_columns", marks=pytest.mark.long)])  # CI's 45 minutes
def test_a_clean_source_request_on_rows_in_no_artifact_cleans_the_source(spark, tmp_path,
                                                                          action):
    sources = _sources(spark, tmp_path)
    pipeline = PIPELINE
    wh = str(tmp_path / "wh")
    original = run(pipeline, sources, warehouse=wh, spark=spark, run_id="r1", rows_per_file=4)
    request = {"request_id": "zeta", "source": "right", "keys": [4], "action": action,
               "clean_source": True}
    if action == "redact_columns":
        request["columns"] = ["note"]

    result = unlearn(request, warehouse=wh, spark=spark)

    assert result["status"] == ledger.COMPLETED
    assert result["runs"] == ["r1"]  # the audit names the run the source was cleaned for
    (state,) = result["sources"].values()
    assert state["before"] == {"version": 0} and state["after"]["version"] > 0
    rows = {r.rid: r.note for r in spark.read.format("delta").load(sources["right"]).collect()}
    if action == "delete_rows":
        assert sorted(rows) == [1, 2, 3]
    else:
        assert sorted(rows) == [1, 2, 3, 4] and rows[4] is None
    # the cleaned-away value is in no file of the source, its history vacuumed
    assert scan([sources["right"]], ["zeta secret note"]).verified is True
    # the artifacts equal a re-run on the cleaned sources
    cleaned = RIGHT[RIGHT.rid != 4] if action == "delete_rows" else \
        RIGHT.assign(note=RIGHT.note.where(RIGHT.rid != 4, None))
    baseline_sources = dict(sources)
    baseline_sources["right"] = write_csv(cleaned, tmp_path / "clean" / "r.csv")
    baseline = baseline_run(spark, pipeline, baseline_sources, tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)
    # the ledger knows the source's new version: a later request on it still applies
    later = unlearn({"source": "right", "keys": [2], "action": "delete_rows"}, warehouse=wh,
                    spark=spark)
    assert later["status"] == ledger.COMPLETED
    if action == "delete_rows":  # CI's 45 minutes: the case below, on this start
        _a_run_of_the_later_version_takes_requests(spark, sources, wh)


def _a_run_of_the_later_version_takes_requests(spark, sources, wh) -> None:
    """After a clean_source request: a row is appended to the source and r2 reads that
    later version. Every request on r2 failed with ``SourceChangedError``: the check
    compared the source with the version the ledger recorded, not the later one r2 read
    (review, session 22). A clean_source request restricted to r2 is refused for r1, which
    read the same source."""
    added = pd.DataFrame({"rid": [5], "k": ["c"], "note": ["epsilon note"]})
    spark.createDataFrame(added).write.format("delta").mode("append").save(sources["right"])
    run(PIPELINE, sources, warehouse=wh, spark=spark, run_id="r2", rows_per_file=4)
    request = {"request_id": "second", "source": "right", "keys": [5],
               "action": "delete_rows", "runs": ["r2"]}
    with pytest.raises(RequestError, match=r"also read \(r1\)"):
        unlearn({**request, "clean_source": True}, warehouse=wh, spark=spark)

    result = unlearn(request, warehouse=wh, spark=spark)

    assert result["status"] == ledger.COMPLETED and result["runs"] == ["r2"]


@pytest.mark.long  # CI's 45 minutes
def test_a_clean_source_request_on_a_row_a_filter_drops_cleans_the_source(spark, tmp_path):
    """The README's other case: id 1 (v 1.0) is dropped by the pipeline's filter before the
    join, so it reaches no artifact; the request cleans the source all the same and the
    artifacts stay equal to a re-run on the cleaned source."""
    sources = _sources(spark, tmp_path)
    pipeline = PIPELINES / "filtered.py"
    wh = str(tmp_path / "wh")
    original = run(pipeline, sources, warehouse=wh, spark=spark, run_id="r1", rows_per_file=4)
    prepared = spark.read.format("delta").load(original.tables["prepared"].path)
    assert sorted(r.id for r in prepared.collect()) == [2, 3, 4]

    result = unlearn({"request_id": "one", "source": "left", "keys": [1],
                      "action": "delete_rows", "clean_source": True}, warehouse=wh, spark=spark)

    assert result["status"] == ledger.COMPLETED and result["runs"] == ["r1"]
    assert sorted(r.id for r in spark.read.format("delta").load(sources["left"])
                  .collect()) == [2, 3, 4]
    baseline_sources = dict(sources)
    baseline_sources["left"] = write_csv(LEFT[LEFT.id != 1], tmp_path / "clean" / "l.csv")
    baseline = baseline_run(spark, pipeline, baseline_sources, tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)


@pytest.mark.long  # CI's 45 minutes
def test_a_no_artifact_clean_source_request_killed_after_its_erasure_records_the_source(
        spark, tmp_path):
    """Killed once the source's log was expired and vacuumed, the re-submit no longer finds
    the rows in the source; it must still record the source's new version, or every later
    request on it fails with ``SourceChangedError`` (review of the fix above)."""
    sources = _sources(spark, tmp_path)
    wh = str(tmp_path / "wh")
    run(PIPELINE, sources, warehouse=wh, spark=spark, run_id="r1", rows_per_file=4)
    request = {"request_id": "zeta", "source": "right", "keys": [4], "action": "delete_rows",
               "clean_source": True}

    def crashes(step: str) -> bool:
        return step.startswith("erase:") and step.rstrip("/").endswith("src/right")

    result = crash_then_resubmit(spark, wh, request, crashes)
    (state,) = result["sources"].values()
    assert state["before"] == {"version": 0} and state["after"]["version"] > 0
    assert sorted(r.rid for r in spark.read.format("delta").load(sources["right"])
                  .collect()) == [1, 2, 3]
    later = unlearn({"source": "right", "keys": [2], "action": "delete_rows"}, warehouse=wh,
                    spark=spark)
    assert later["status"] == ledger.COMPLETED


@pytest.mark.long  # CI's 45 minutes
def test_clean_source_refuses_a_restriction_that_leaves_out_a_run_of_the_source(spark,
                                                                               tmp_path):
    """Two runs read the same Delta source; a request restricted to one of them may not
    clean it: the other run's artifacts would keep the row while its source no longer
    does (review, session 22). Typed error, nothing changed."""
    sources = _sources(spark, tmp_path)
    wh = str(tmp_path / "wh")
    first = run(PIPELINE, sources, warehouse=wh, spark=spark, run_id="r1", rows_per_file=4)
    run(PIPELINE, sources, warehouse=wh, spark=spark, run_id="r2", rows_per_file=4)
    prepared = table_rows(spark, first.tables["prepared"].path)
    with pytest.raises(RequestError, match=r"outside the request also read \(r2\)") as err:
        unlearn({"source": "right", "keys": [2], "action": "delete_rows", "runs": ["r1"],
                 "clean_source": True}, warehouse=wh, spark=spark)
    assert err.value.field == "runs"
    assert spark.read.format("delta").load(sources["right"]).count() == len(RIGHT)
    assert table_rows(spark, first.tables["prepared"].path) == prepared
    # without the restriction both runs are cleaned
    done = unlearn({"source": "right", "keys": [2], "action": "delete_rows",
                    "clean_source": True}, warehouse=wh, spark=spark)
    assert done["status"] == ledger.COMPLETED and done["runs"] == ["r1", "r2"]


@pytest.mark.long  # CI's 45 minutes: CI runs it after the delete_rows case above
def test_a_run_of_a_later_version_of_a_cleaned_source_takes_requests(spark, tmp_path):
    """r1 read the source; a clean_source request cleaned it (the ledger records its new
    version); then :func:`_a_run_of_the_later_version_takes_requests`."""
    sources = _sources(spark, tmp_path)
    wh = str(tmp_path / "wh")
    run(PIPELINE, sources, warehouse=wh, spark=spark, run_id="r1", rows_per_file=4)
    first = unlearn({"request_id": "first", "source": "right", "keys": [4],
                     "action": "delete_rows", "clean_source": True}, warehouse=wh, spark=spark)
    assert first["status"] == ledger.COMPLETED
    _a_run_of_the_later_version_takes_requests(spark, sources, wh)
