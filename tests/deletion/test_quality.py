"""deletion/quality.py: the great-expectations suite on artifact tables after an erasure."""

from __future__ import annotations

import json
import re
import sys

import pytest

from spark_lester.deletion.quality import (
    CARD_NUMBER,
    NOT_MATCH_REGEX,
    NOT_NULL,
    UNIQUE,
    check_tables,
    summarize,
)
from spark_lester.errors import ConfigError, QualityCheckError, StorageError
from spark_lester.plan.columns import ROW_ID, SPLIT

CARD = "4111-1111-1111-1111"
#: A run of four digits: any piece of a card number would match.
DIGITS = re.compile(r"\d{4}")
PREPARED_SCHEMA = f"{ROW_ID} long, {SPLIT} string, title string, text string"


def _prepared_rows(text_of_row_2: str | None) -> list[tuple]:
    return [(1, "train", "hello", "no numbers here"),
            (2, "train", "invoice", text_of_row_2),
            (3, "test", "meeting 2022-01-05", "call +44 20 7946 0958")]


def _write(spark, path: str, rows: list[tuple], schema: str) -> str:
    spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite").save(path)
    return path


def test_card_pattern_finds_13_to_19_digits_in_spark(spark):
    cases = {"4111111111111111": True, "4111 1111 1111 1111": True, CARD: True,
             "card 4000123412341 ok": True, "6" * 19: True,
             "6" * 12: False, "6" * 20: False, "2022-01-05": False,
             "+44 20 7946 0958": False, "4111--1111-1111-1111": False}
    df = spark.createDataFrame([(k,) for k in cases], "v string")
    found = {r.v: r.m for r in df.selectExpr("v", "v rlike '" + CARD_NUMBER.replace(
        "\\", "\\\\") + "' AS m").collect()}
    assert found == cases


def test_card_number_fails_without_leaking_then_null_passes(spark, tmp_path):
    from delta.tables import DeltaTable

    path = _write(spark, str(tmp_path / "prepared"),
                  _prepared_rows(f"my card is {CARD}, thanks"), PREPARED_SCHEMA)
    report = check_tables(spark, {"prepared": path})
    assert report["success"] is False
    table = report["tables"]["prepared"]
    # title and text (the split is a system column) plus row id not null and unique
    assert table["expectations"] == 4
    assert table["failed"] == [{"expectation": NOT_MATCH_REGEX, "column": "text",
                                "unexpected_count": 1}]
    dumped = json.dumps(report)
    assert not DIGITS.search(dumped) and "4111" not in dumped

    DeltaTable.forPath(spark, path).update(f"{ROW_ID} = 2", {"text": "NULL"})
    assert check_tables(spark, {"prepared": path}) == {
        "success": True,
        "tables": {"prepared": {"success": True, "expectations": 4, "failed": []}}}


def test_summary_drops_the_values_great_expectations_returns():
    raw = {"success": False, "results": [{
        "success": False,
        "expectation_config": {"type": NOT_MATCH_REGEX,
                               "kwargs": {"column": "text", "regex": CARD_NUMBER}},
        "result": {"element_count": 3, "unexpected_count": 1,
                   "partial_unexpected_list": [f"my card is {CARD}"],
                   "partial_unexpected_counts": [{"value": f"my card is {CARD}", "count": 1}]},
        "exception_info": {"raised_exception": False}}]}
    assert DIGITS.search(json.dumps(raw))
    summary = summarize("prepared", raw, expected=1)
    assert summary["failed"] == [{"expectation": NOT_MATCH_REGEX, "column": "text",
                                  "unexpected_count": 1}]
    assert not DIGITS.search(json.dumps(summary))


def test_duplicate_and_null_row_ids_fail(spark, tmp_path):
    rows = [(1, "train", "a", "b"), (1, "train", "c", "d"), (2, "test", "e", "f"),
            (None, "test", "g", "h")]
    path = _write(spark, str(tmp_path / "prepared"), rows, PREPARED_SCHEMA)
    table = check_tables(spark, {"prepared": path})["tables"]["prepared"]
    assert table["success"] is False
    assert sorted(table["failed"], key=lambda f: f["expectation"]) == [
        {"expectation": UNIQUE, "column": ROW_ID, "unexpected_count": 2},
        {"expectation": NOT_NULL, "column": ROW_ID, "unexpected_count": 1}]


def test_null_feature_vector_fails_and_other_tables_are_reported(spark, tmp_path):
    schema = f"{ROW_ID} long, features array<float>, label double"
    bad = _write(spark, str(tmp_path / "bad"), [(1, [0.5, 1.0], 1.0), (2, None, 0.0)], schema)
    good = _write(spark, str(tmp_path / "good"), [(1, [0.5, 1.0], 1.0), (2, [0.0, 0.0], 0.0)],
                  schema)
    report = check_tables(spark, {"bad": bad, "good": good}, patterns=(CARD_NUMBER, "x+"))
    assert report["success"] is False
    assert report["tables"]["bad"] == {
        "success": False, "expectations": 3,
        "failed": [{"expectation": NOT_NULL, "column": "features", "unexpected_count": 1}]}
    assert report["tables"]["good"] == {"success": True, "expectations": 3, "failed": []}


@pytest.mark.s3
def test_s3a_table(spark, s3_endpoint):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="lester-quality")
    path = _write(spark, "s3a://lester-quality/wh/p/r1/prepared",
                  _prepared_rows(f"card {CARD}"), PREPARED_SCHEMA)
    report = check_tables(spark, {"prepared": path}, patterns=(CARD_NUMBER, "invoice"))
    assert report["tables"]["prepared"] == {
        "success": False, "expectations": 6,
        "failed": [{"expectation": NOT_MATCH_REGEX, "column": "title", "unexpected_count": 1},
                   {"expectation": NOT_MATCH_REGEX, "column": "text", "unexpected_count": 1}]}


def test_invalid_regex_is_a_typed_error(spark, tmp_path):
    path = _write(spark, str(tmp_path / "prepared"), _prepared_rows(None), PREPARED_SCHEMA)
    with pytest.raises(QualityCheckError, match="quality check of table 'prepared'") as err:
        check_tables(spark, {"prepared": path}, patterns=("(unclosed",))
    assert err.value.table == "prepared"


def test_missing_great_expectations_is_a_typed_error(spark, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "great_expectations", None)
    with pytest.raises(QualityCheckError, match="not importable"):
        check_tables(spark, {"prepared": str(tmp_path / "nowhere")})


def test_bad_arguments_and_missing_tables(spark, tmp_path):
    with pytest.raises(ConfigError, match="single string"):
        check_tables(spark, {}, patterns=CARD_NUMBER)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="table 'prepared': cannot read") as err:
        check_tables(spark, {"prepared": str(tmp_path / "nowhere")})
    assert err.value.path == str(tmp_path / "nowhere")
    assert check_tables(spark, {}) == {"success": True, "tables": {}}
