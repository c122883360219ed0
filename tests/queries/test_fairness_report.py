"""queries/fairness_report.py: equal opportunity by a source column, checked against a pandas
recomputation (test rows of X, the stored model's own predict, the prepared table's
customer ids and the customers CSV)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import spark_lester
from spark_lester.artifacts.model import load_model
from spark_lester.cli import main
from spark_lester.errors import ColumnNotFoundError, QueryError, RunNotFoundError
from spark_lester.queries.fairness_report import group_rates


def _expected(spark, query_run, column, threshold=None):
    """Per-group rates of the test rows, computed without the query's joins or scoring
    (``threshold`` None: the model's own ``predict``)."""
    record, _, customers, _, prepared = query_run
    test = spark.read.format("delta").load(record.tables["features"].path) \
        .where("__lester_split = 'test'").select("__lester_row_id", "features", "label") \
        .toPandas()
    model = load_model(spark, record.tables["model"].path).params
    X = np.stack(test["features"].to_numpy()).astype(np.float64)
    test["pred"] = model.predict(X) if threshold is None else \
        (model.predict_proba(X) > threshold).astype(int)
    rows = test.merge(prepared[["__lester_row_id", "customer_id"]], on="__lester_row_id") \
        .merge(customers[["customer_id", column]], on="customer_id")
    assert len(rows) == len(test) == record.rows["test"]
    out = {}
    for group, part in rows.groupby(column):
        pos = part[part["label"] == 1]
        misses = int((pos["pred"] == 0).sum())
        out[str(group)] = {"group": str(group), "n": len(part), "positives": len(pos),
                           "false_negatives": misses,
                           "fnr": misses / len(pos) if len(pos) else None}
    return out


def _same(groups, expected):
    assert [g["group"] for g in groups] == sorted(expected)
    for g in groups:
        want = expected[g["group"]]
        assert {k: v for k, v in g.items() if k != "fnr"} == \
            {k: v for k, v in want.items() if k != "fnr"}
        assert (g["fnr"] is None) == (want["fnr"] is None)
        assert g["fnr"] == pytest.approx(want["fnr"])


@pytest.mark.parametrize("column,threshold", [("bank", None), ("level", None), ("bank", 0.1)])
def test_rates_match_a_pandas_recomputation(spark, query_run, column, threshold):
    record, warehouse, *_ = query_run
    report = spark_lester.fairness_report("q1", f"customers.{column}", warehouse=warehouse,
                                          spark=spark, threshold=threshold or 0.5)
    expected = _expected(spark, query_run, column, threshold)
    _same(report["groups"], expected)
    rated = {k: v["fnr"] for k, v in expected.items() if v["fnr"] is not None}
    assert rated, "no group has positives: the check would be empty"
    assert report["equal_opportunity_difference"] == \
        pytest.approx(max(rated.values()) - min(rated.values()))
    assert rated[report["worst_group"]] == max(rated.values())
    assert rated[report["best_group"]] == min(rated.values())
    assert report["run_id"] == "q1" and report["test_rows"] == record.rows["test"]
    assert json.loads(json.dumps(report)) == report


def test_group_column_dropped_by_the_pipeline(spark, query_run):
    """level feeds the label but is no output column: only provenance reaches it (its rates
    are checked above); a threshold of 0 predicts every row positive, so nothing is missed."""
    record, *_ = query_run
    assert "level" not in record.output_columns
    report = spark_lester.fairness_report(record, "customers.level", spark=spark, threshold=0.0)
    assert {g["group"] for g in report["groups"]} == {"basic", "premium"}
    assert sum(g["positives"] for g in report["groups"]) > 0
    assert all(g["false_negatives"] == 0 and g["fnr"] in (0.0, None) for g in report["groups"])
    assert report["equal_opportunity_difference"] == 0.0


def test_array_provenance_and_null_groups(spark):
    scored = spark.createDataFrame(
        [(1, [10, 11], 1, 0), (2, [12], 1, 1), (3, [13], 1, 0), (4, None, 0, 0)],
        "__lester_row_id BIGINT, __prov_s ARRAY<BIGINT>, label INT, __lester_pred INT")
    rows = spark.createDataFrame([(10, "a"), (11, "a"), (12, "b"), (13, None)],
                                 "__prov_s BIGINT, g STRING")
    groups = {g["group"]: g for g in group_rates(scored, rows, "s", "g", "label")}
    assert groups["a"] == {"group": "a", "n": 1, "positives": 1, "false_negatives": 1,
                           "fnr": 1.0}
    assert groups["b"]["fnr"] == 0.0
    assert groups["null"] == {"group": "null", "n": 2, "positives": 1, "false_negatives": 1,
                              "fnr": 1.0}


def test_bad_group_columns_are_typed_errors(spark, query_run):
    _, warehouse, *_ = query_run
    with pytest.raises(RunNotFoundError):
        spark_lester.fairness_report("nope", "customers.level", warehouse=warehouse, spark=spark)
    with pytest.raises(QueryError, match="not 'source.column'"):
        spark_lester.fairness_report("q1", "level", warehouse=warehouse, spark=spark)
    with pytest.raises(QueryError, match="its sources: customers, mails"):
        spark_lester.fairness_report("q1", "banks.level", warehouse=warehouse, spark=spark)
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'level'"):
        spark_lester.fairness_report("q1", "customers.levl", warehouse=warehouse, spark=spark)


def test_cli_prints_json_and_a_table(spark, query_run, capsys):
    _, warehouse, *_ = query_run
    assert main(["fairness", "q1", "--by", "customers.bank", "--warehouse", warehouse,
                 "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["by"] == "customers.bank" and report["groups"]
    assert main(["fairness", "q1", "--by", "customers.level", "--warehouse", warehouse]) == 0
    out = capsys.readouterr().out
    assert "premium" in out and "equal opportunity difference" in out
    assert main(["fairness", "q1", "--by", "customers", "--warehouse", warehouse]) == 2
    assert "not 'source.column'" in capsys.readouterr().err
