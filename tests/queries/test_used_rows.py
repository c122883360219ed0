"""queries/used_rows.py: which source rows reached the training data, checked against the
prepared table and a pandas re-implementation of the running example's filters and join."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import spark_lester
from spark_lester.cli import main
from spark_lester.errors import QueryError, RunNotFoundError
from spark_lester.queries.used_rows import mark_used, used_ids

COUNTRIES = ("UK", "DE", "FR")


def _flags(df, key):
    pdf = df.select(key, "used").toPandas()
    return dict(zip(pdf[key].astype(int), pdf["used"].astype(bool)))


def test_prepared_table_is_the_messy_programs_join(query_run):
    """The oracle below (train rows of the prepared table) holds what messy.py keeps."""
    record, _, customers, mails, prepared = query_run
    kept = customers[customers["country"].isin(COUNTRIES)]
    recent = mails[mails["date"] >= "2022-01-01"]
    joined = recent.merge(kept, on="email")
    assert set(zip(joined["mail_id"], joined["customer_id"])) == \
        set(zip(prepared["mail_id"], prepared["customer_id"]))
    assert len(prepared) == record.rows["total"]


@pytest.mark.parametrize("source,key", [("customers", "customer_id"), ("mails", "mail_id")])
def test_used_rows_are_exactly_those_of_train_rows(spark, query_run, source, key):
    record, warehouse, customers, mails, prepared = query_run
    rows = spark_lester.used_rows("q1", source, warehouse=warehouse, spark=spark)
    assert rows.columns[-2:] == [f"__prov_{source}", "used"]
    flags = _flags(rows, key)
    csv = customers if source == "customers" else mails
    assert sorted(flags) == sorted(csv[key].astype(int))
    train = prepared[prepared["__lester_split"] == "train"]
    assert {k for k, used in flags.items() if used} == set(train[key].astype(int))
    assert 0 < sum(flags.values()) < len(flags)


def test_filtered_and_test_only_rows_are_not_used(spark, query_run):
    record, warehouse, customers, mails, prepared = query_run
    mail_flags = _flags(spark_lester.used_rows(record, "mails", warehouse=warehouse,
                                               spark=spark), "mail_id")
    customer_flags = _flags(spark_lester.used_rows(record, "customers", spark=spark),
                            "customer_id")
    kept_emails = set(customers.loc[customers["country"].isin(COUNTRIES), "email"])
    old = mails[(mails["date"] < "2022-01-01") & mails["email"].isin(kept_emails)]
    assert len(old) > 0 and not any(mail_flags[m] for m in old["mail_id"])
    abroad = customers[~customers["country"].isin(COUNTRIES)]
    assert len(abroad) > 0 and not any(customer_flags[c] for c in abroad["customer_id"])
    strangers = mails[~mails["email"].isin(set(customers["email"]))]
    assert len(strangers) > 0 and not any(mail_flags[m] for m in strangers["mail_id"])
    tested = prepared.loc[prepared["__lester_split"] == "test", "mail_id"]
    assert len(tested) > 0 and not any(mail_flags[m] for m in tested)


def test_array_provenance_of_aggregates_is_exploded(spark):
    features = spark.createDataFrame(
        [([1, 2], "train"), ([3], "test"), ([2, 4], "train"), (None, "train")],
        "__prov_s ARRAY<BIGINT>, __lester_split STRING")
    rows = spark.createDataFrame([(i, f"v{i}") for i in range(1, 6)], "__prov_s BIGINT, v STRING")
    out = mark_used(rows.select("v", "__prov_s"), used_ids(features, "s"))
    assert out.columns == ["v", "__prov_s", "used"]
    assert {r.v: r.used for r in out.collect()} == \
        {"v1": True, "v2": True, "v3": False, "v4": True, "v5": False}


def test_unknown_run_and_unknown_source_are_typed_errors(spark, query_run):
    _, warehouse, *_ = query_run
    with pytest.raises(RunNotFoundError):
        spark_lester.used_rows("nope", "mails", warehouse=warehouse, spark=spark)
    with pytest.raises(QueryError, match="its sources: customers, mails") as err:
        spark_lester.used_rows("q1", "mail", warehouse=warehouse, spark=spark)
    assert err.value.run_id == "q1" and "Did you mean 'mails'?" in str(err.value)


def test_cli_prints_counts(spark, query_run, capsys):
    record, warehouse, _, mails, prepared = query_run
    assert main(["used-rows", "q1", "mails", "--warehouse", warehouse, "--json", "-"]) == 0
    summary = json.loads(capsys.readouterr().out)
    n_train = int((prepared["__lester_split"] == "train").sum())
    assert summary == {"run_id": "q1", "source": "mails", "rows": len(mails),
                       "used": n_train, "not_used": len(mails) - n_train}
    assert main(["used-rows", "q1", "mails", "--warehouse", warehouse, "--show", "3"]) == 0
    out = capsys.readouterr().out
    assert f"{n_train} of {len(mails)} rows" in out and "only showing top 3 rows" in out
    assert main(["used-rows", "q1", "banks", "--warehouse", warehouse]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "its sources: customers, mails" in err


def test_rows_are_pandas_friendly(spark, query_run):
    """The result is a plain DataFrame: the source's columns come back unchanged."""
    _, warehouse, customers, *_ = query_run
    got = spark_lester.used_rows("q1", "customers", warehouse=warehouse, spark=spark) \
        .drop("__prov_customers", "used").toPandas()
    pd.testing.assert_frame_equal(
        got.sort_values("customer_id").reset_index(drop=True),
        customers.sort_values("customer_id").reset_index(drop=True), check_dtype=False)
