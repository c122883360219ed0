"""deletion/unlearn.py: incremental updates equal a full re-run on the cleaned inputs.

Each test starts from a fresh warehouse holding one run of a pipeline, applies a request,
re-runs the pipeline on the cleaned sources (same fitted encoder) into another warehouse and
compares every table. The running example's run is made once and restored for each test
(``example_run`` in conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyspark.sql import functions as F

from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED
from spark_lester.artifacts.model import load_model
from spark_lester.config import LesterConfig
from spark_lester.deletion.compare import model_against_retrain, training_rows_of
from spark_lester.artifacts.run import run
from spark_lester.deletion.request import CARD_NUMBER
from spark_lester.deletion.unlearn import unlearn
from tests.deletion.conftest import (PIPELINES, RUNNING_EXAMPLE, SavedRun,
                                     assert_same_artifacts, baseline_run, write_csv)


def test_redacting_mail_subjects_of_customers_equals_rerun(spark, small_example, example_run,
                                                           tmp_path):
    leaked = small_example["leaks_data"]["customer_ids"]
    wh, original = example_run
    model_before = load_model(spark, original.tables[MODEL].path).params
    old_rows = training_rows_of(spark, original, F.col("customer_id").isin(leaked))
    # no certified budget: the Newton update itself is measured against retraining below
    result = unlearn({"source": "customers", "keys": leaked, "action": "redact_columns",
                      "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]},
                     warehouse=wh, spark=spark,
                     config=LesterConfig.from_env(unlearning_budget=0.0))
    assert result["status"] == "completed"
    assert result["verification"]["verified"] is True
    assert result["verification"]["needles"] > 0
    assert result["quality"]["success"] is True
    change = result["changes"][0]
    assert change["strategy"] == "incremental"
    assert change["tables"]["prepared"]["updated"] > 0
    assert change["tables"]["prepared"]["deleted"] == 0
    # title (hashed embedding) and title_length ranges of X were re-encoded, nothing else
    assert change["tables"]["features"]["feature_ranges"] == [[0, 16], [48, 49]]

    customers = pd.read_csv(small_example["customers"])
    mails = pd.read_csv(small_example["mails"])
    emails = set(customers[customers.customer_id.isin(leaked)].email)
    mails.loc[mails.email.isin(emails), "mail_subject"] = None
    cleaned = write_csv(mails, tmp_path / "clean" / "mails.csv")
    baseline = baseline_run(spark, RUNNING_EXAMPLE, {"customers": small_example["customers"],
                                                     "mails": cleaned},
                            tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)

    # The model forgot the old titles: Newton update, close to retraining from scratch.
    update = result["model"]["r1"]
    assert update["method"] == "newton" and update["refined"] is True
    assert update["n_removed"] == update["n_added"] > 0
    report = model_against_retrain(spark, original, baseline, model_before, old_rows)
    assert report["rows_forgotten"] == update["n_removed"]
    assert report["rho"] <= 0.05
    # ~140 training rows, 4% of them changed: one refinement leaves a small residual
    assert report["quality"]["residual_ratio"] >= 10
    # the check can fail: the model before the update is far from the retrained one
    assert report["quality"]["distance_original"] > 20 * report["quality"]["distance_unlearned"]


@pytest.mark.long  # CI's 45 minutes; the fuzzer's CI profile and regressions cover it
def test_deleting_customers_of_two_banks_equals_rerun(spark, small_example, example_run,
                                                      tmp_path):
    customers = pd.read_csv(small_example["customers"])
    banks = sorted(customers.bank.unique())[:2]
    wh, original = example_run
    predicate = f"bank IN ('{banks[0]}', '{banks[1]}') AND level = 'premium'"
    model_before = load_model(spark, original.tables[MODEL].path).params
    # a budget no update can meet: the certified bound refuses, the model is retrained
    result = unlearn({"source": "customers", "where": predicate, "action": "delete_rows"},
                     warehouse=wh, spark=spark,
                     config=LesterConfig.from_env(unlearning_budget=1e-12))
    assert result["status"] == "completed"
    assert result["verification"]["verified"] is True
    # the deleted rows' bank names are still held by the banks' basic customers: the first
    # scan finds them, and they are excused only because live rows hold them
    assert result["verification"]["shared_values_skipped"] > 0
    assert result["changes"][0]["tables"]["prepared"]["deleted"] > 0
    # the predicate's bank names are never stored in the ledger
    assert banks[0] not in str(result["changes"]) and banks[0] not in result["description"]

    kept = customers[~(customers.bank.isin(banks) & (customers.level == "premium"))]
    cleaned = write_csv(kept, tmp_path / "clean" / "customers.csv")
    update = result["model"]["r1"]
    assert (update["method"], update["retrain_reason"], update["refused_method"]) == \
        ("retrain", "bound_exceeded", "newton")
    assert update["residual_bound"] > 1e-12 and update["n_added"] == 0
    baseline = baseline_run(spark, RUNNING_EXAMPLE, {"customers": cleaned,
                                                     "mails": small_example["mails"]},
                            tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)
    retrained = load_model(spark, baseline.tables[MODEL].path).params
    unlearned = load_model(spark, original.tables[MODEL].path).params
    assert unlearned.n_train == retrained.n_train < model_before.n_train
    gap = np.linalg.norm(unlearned.w - retrained.w)
    assert gap <= 1e-3 * np.linalg.norm(model_before.w - retrained.w)


SHAPES = {
    # left join + union: deleting a right row turns a left row into a NULL-padded one
    "left_union": ("delete_rows", "right", [2, 3], None),
    "left_union_redact": ("redact_columns", "right", [3], ["right.note"]),
    # aggregate: recompute strategy
    "grouped": ("delete_rows", "left", [1, 4], None),
}
SHAPE_DATA = {
    "left": pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "k": ["a", "b", "b", "c", "d", "a"],
                          "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}),
    "right": pd.DataFrame({"rid": [1, 2, 3, 4], "k": ["a", "b", "b", "c"],
                           "note": ["x note", "y note", "z note", "w note"]}),
}


@pytest.fixture(scope="module")
def shape_runs(spark, tmp_path_factory):
    """``pipeline file -> SavedRun`` on SHAPE_DATA, each run made once (the two left_union
    shapes start from the same run)."""
    folder = tmp_path_factory.mktemp("shapes")
    sources = {n: write_csv(df, folder / "src" / f"{n}.csv") for n, df in SHAPE_DATA.items()}
    saved: dict[Path, SavedRun] = {}

    def fresh(pipeline: Path) -> tuple[str, object, dict[str, str]]:
        """``(warehouse, record, sources)``: the pipeline's run, as ``run`` left it."""
        if pipeline not in saved:
            saved[pipeline] = SavedRun(spark, pipeline, sources,
                                       str(folder / pipeline.stem / "wh"), rows_per_file=4)
        return (*saved[pipeline].restore(), sources)

    return fresh


# the long profile (CI's 45 minutes): the fuzzer's CI profile generates these shapes
@pytest.mark.long
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_pipeline_shapes_equal_rerun(spark, tmp_path, shape_runs, shape):
    action, source, keys, columns = SHAPES[shape]
    pipeline = PIPELINES / f"{shape.split('_redact')[0]}.py"
    wh, original, sources = shape_runs(pipeline)
    request = {"source": source, "keys": keys, "action": action}
    if columns:
        request["columns"] = columns
    result = unlearn(request, warehouse=wh, spark=spark)
    assert result["status"] == "completed"
    expected = "recompute" if shape == "grouped" else "incremental"
    assert result["changes"][0]["strategy"] == expected

    key = "id" if source == "left" else "rid"
    frame = SHAPE_DATA[source].copy()
    if action == "delete_rows":
        frame = frame[~frame[key].isin(keys)]
    else:
        frame.loc[frame[key].isin(keys), "note"] = None
    cleaned = dict(sources)
    cleaned[source] = write_csv(frame, tmp_path / "clean" / f"{source}.csv")
    baseline = baseline_run(spark, pipeline, cleaned, tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)


@pytest.mark.long  # CI's 45 minutes; CI keeps clean_source's MERGE (test_source.py)
def test_clean_source_deletes_from_a_delta_source_and_erases_it(spark, tmp_path):
    from spark_lester.deletion.verify import scan

    left = pd.DataFrame({"id": [1, 2, 3, 4], "k": ["a", "b", "b", "c"],
                         "v": [1.0, 2.0, 3.0, 4.0]})
    right = pd.DataFrame({"rid": [1, 2, 3], "k": ["a", "b", "c"],
                          "note": ["alpha secret note", "beta secret note", "gamma note"]})
    sources = {}
    for name, frame in {"left": left, "right": right}.items():
        sources[name] = str(tmp_path / "src" / name)
        spark.createDataFrame(frame).write.format("delta").save(sources[name])
    pipeline = PIPELINES / "left_union.py"
    original = run(pipeline, sources, warehouse=str(tmp_path / "wh"), spark=spark,
                   run_id="r1", rows_per_file=4)
    result = unlearn({"source": "right", "keys": [2], "action": "delete_rows",
                      "clean_source": True}, warehouse=str(tmp_path / "wh"), spark=spark)
    assert result["status"] == "completed" and result["verification"]["verified"] is True
    remaining = sorted(r.rid for r in spark.read.format("delta").load(sources["right"])
                       .collect())
    assert remaining == [1, 3]
    assert scan([sources["right"]], ["beta secret note"]).verified is True
    assert scan([sources["right"]], ["alpha secret note"]).verified is False  # can fail

    baseline_sources = dict(sources)
    baseline_sources["right"] = write_csv(right[right.rid != 2], tmp_path / "clean" / "r.csv")
    baseline = baseline_run(spark, pipeline, baseline_sources, tmp_path / "base", original)
    assert_same_artifacts(spark, original, baseline)
    # the cleaned source's new version is the recorded one: a later request still applies
    later = unlearn({"source": "left", "keys": [4], "action": "delete_rows"},
                    warehouse=str(tmp_path / "wh"), spark=spark)
    assert later["status"] == "completed"


def test_clean_source_refuses_csv_sources_before_changing_anything(spark, small_example,
                                                                    example_run):
    from spark_lester.errors import RequestError
    from tests.deletion.conftest import table_rows

    wh, original = example_run
    before = table_rows(spark, original.tables[PREPARED].path)
    with pytest.raises(RequestError, match="keyed Delta source"):
        unlearn({"source": "customers", "keys": small_example["leaks_data"]["customer_ids"],
                 "action": "delete_rows", "clean_source": True},
                warehouse=wh, spark=spark)
    assert table_rows(spark, original.tables[PREPARED].path) == before
