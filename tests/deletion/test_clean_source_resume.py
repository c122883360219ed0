"""A ``clean_source`` request killed after a step, then re-submitted, cleans the Delta source
as the request without the kill does, proves the value gone from it, and records the
source's new version (so that the next request on that source runs).

Found by a read-only review (session 21): a re-submit whose artifact tables already held
its MERGEs found no table left to change, and took the sources to clean from the changed
runs only, so it cleaned nothing: killed before the cleaning, the source kept the deleted
row while the request said ``completed`` and verified; killed after it, the ledger never
learnt the source's new version, and every later request failed with
``SourceChangedError``. A second review of the fix found that a re-submit after the
erasure had vacuumed the source could not read the version before the cleaning."""

from __future__ import annotations

import pandas as pd
import pytest

from spark_lester.artifacts.run import run
from spark_lester.deletion.unlearn import unlearn
from spark_lester.deletion.verify import scan
from tests.deletion.conftest import (PIPELINES, assert_same_artifacts, baseline_run,
                                     crash_then_resubmit, write_csv)


LEFT = pd.DataFrame({"id": [1, 2, 3, 4], "k": ["a", "b", "b", "c"], "v": [1.0, 2.0, 3.0, 4.0]})
RIGHT = pd.DataFrame({"rid": [1, 2, 3], "k": ["a", "b", "c"],
                      "note": ["alpha secret note", "beta secret note", "gamma note"]})


@pytest.mark.parametrize("crash_at", [
    "merge:r1:features",
    pytest.param("clean_source:right", marks=pytest.mark.long),  # CI's 45 minutes
    # after the erasure vacuumed the source: the version before the cleaning is gone
    pytest.param("erase:src/right", marks=pytest.mark.long),
])
def test_a_killed_clean_source_request_cleans_the_source_on_resume(spark, tmp_path, crash_at):
    sources = {}
    for name, frame in {"left": LEFT, "right": RIGHT}.items():
        sources[name] = str(tmp_path / "src" / name)
        spark.createDataFrame(frame).write.format("delta").save(sources[name])
    pipeline = PIPELINES / "left_union.py"
    wh = str(tmp_path / "wh")
    original = run(pipeline, sources, warehouse=wh, spark=spark, run_id="r1", rows_per_file=4)
    request = {"request_id": "beta", "source": "right", "keys": [2], "action": "delete_rows",
               "clean_source": True}

    def crashes(step: str) -> bool:
        return step == crash_at or (crash_at.startswith("erase:") and step.startswith("erase:")
                                    and step.rstrip("/").endswith(crash_at[len("erase:"):]))

    result = crash_then_resubmit(spark, wh, request, crashes)
    assert result["verification"]["verified"] is True
    remaining = sorted(r.rid for r in spark.read.format("delta").load(sources["right"])
                       .collect())
    assert remaining == [1, 3]
    assert scan([sources["right"]], ["beta secret note"]).verified is True
    # the ledger records the source's version before the request, not the one the re-submit
    # found (the earlier attempt may have cleaned it already); the source was written once
    (state,) = result["sources"].values()
    assert state["before"] == {"version": 0} and state["after"]["version"] > 0
    baseline_sources = dict(sources)
    baseline_sources["right"] = write_csv(RIGHT[RIGHT.rid != 2], tmp_path / "clean" / "r.csv")
    baseline = baseline_run(spark, pipeline, baseline_sources, tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)
    # the ledger knows the cleaned source's new version: a later request still applies
    later = unlearn({"source": "left", "keys": [4], "action": "delete_rows"}, warehouse=wh,
                    spark=spark)
    assert later["status"] == "completed"
