"""Bad requests: a typed error or a clean no-op, tables unchanged, the ledger says why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout
from spark_lester.artifacts.model import load_model
from spark_lester.artifacts.run import run
from spark_lester.cli import main
from spark_lester.config import LesterConfig
from spark_lester.deletion import ledger
from spark_lester.deletion.request import DeletionRequest
from spark_lester.deletion.unlearn import unlearn
from spark_lester.errors import (DimensionMismatchError, EmptyRemainderError, RequestError,
                                 SourceChangedError, TableChangedError)
from tests.deletion.conftest import RUNNING_EXAMPLE, table_rows


@pytest.fixture(scope="module")
def warehouse(saved_example_run):
    """The running example's run, restored once for this module: its tests run in order and
    each expects the tables as the previous one left them (see the last test)."""
    return saved_example_run.restore()


def _state(spark, record):
    state = {n: (store.table_version(spark, record.tables[n].path),
                 table_rows(spark, record.tables[n].path)) for n in (PREPARED, FEATURES)}
    model = record.tables[MODEL].path
    state[MODEL] = (store.table_version(spark, model), load_model(spark, model).params.digest())
    return state


@pytest.mark.parametrize("payload, field", [
    ({"source": "customers", "action": "delete_rows"}, "keys"),
    ({"source": "customers", "keys": [1], "where": "bank = 'x'", "action": "delete_rows"}, "keys"),
    ({"source": "customers", "keys": [1], "action": "forget"}, "action"),
    ({"source": "customers", "keys": [], "action": "delete_rows"}, "keys"),
    ({"source": "customers", "keys": [1], "action": "redact_columns"}, "columns"),
    ({"source": "customers", "keys": 5, "action": "delete_rows"}, "keys"),
    ({"source": "customers", "keys": [1], "action": "delete_rows", "extra": 1}, "extra"),
    ({"source": "customers", "keys": [1], "action": "delete_rows",
      "verify_patterns": ["("]}, "verify_patterns"),
])
def test_malformed_requests_are_refused(payload, field):
    with pytest.raises(RequestError) as err:
        DeletionRequest.from_dict(payload)
    assert err.value.field == field


def test_malformed_json_file_exits_2_and_changes_nothing(spark, warehouse, tmp_path, capsys):
    wh, record = warehouse
    before = _state(spark, record)
    bad = tmp_path / "bad.json"
    bad.write_text('{"source": "customers", "keys": [1,')
    assert main(["delete", str(bad), "--warehouse", wh]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert _state(spark, record) == before


def test_unknown_source_is_a_typed_error_and_recorded(spark, warehouse):
    """Issue 17: a source no run read is a mistake in the request (a typo, the wrong
    warehouse), not a request with nothing to do."""
    wh, record = warehouse
    before = _state(spark, record)
    with pytest.raises(RequestError, match="invoices") as err:
        unlearn({"request_id": "unknown-source", "source": "invoices", "keys": [1],
                 "action": "delete_rows"}, warehouse=wh, spark=spark)
    assert err.value.field == "source"
    assert _state(spark, record) == before
    rows = ledger.entries(spark, Layout(wh), "unknown-source")
    assert [r.status for r in rows] == ["failed"]


def test_keys_matching_nothing_are_a_recorded_noop(spark, warehouse):
    wh, record = warehouse
    before = _state(spark, record)
    result = unlearn({"source": "customers", "keys": [987654321], "action": "delete_rows"},
                     warehouse=wh, spark=spark)
    assert result["status"] == "noop" and "matched nothing" in result["reason"]
    assert _state(spark, record) == before


def test_unknown_column_and_bad_predicate_are_typed_errors(spark, warehouse):
    wh, record = warehouse
    before = _state(spark, record)
    with pytest.raises(RequestError, match="no column 'subject'"):
        unlearn({"source": "customers", "keys": [1], "action": "redact_columns",
                 "columns": ["mails.subject"]}, warehouse=wh, spark=spark)
    with pytest.raises(RequestError, match="cannot be evaluated") as err:
        unlearn({"source": "customers", "where": "bankk = 'x'", "action": "delete_rows"},
                warehouse=wh, spark=spark)
    assert "bankk" not in str(err.value).split("(")[0]
    assert _state(spark, record) == before
    failed = [e for e in ledger.entries(spark, Layout(wh)) if e.status == "failed"]
    assert failed and all("RequestError" in e.reason for e in failed)


def test_changed_source_is_refused(spark, small_example, tmp_path):
    import shutil

    wh = str(tmp_path / "wh")
    src = tmp_path / "src"
    src.mkdir()
    customers = shutil.copy(small_example["customers"], src / "customers.csv")
    record = run(RUNNING_EXAMPLE, {"customers": str(customers), "mails": small_example["mails"]},
                 warehouse=wh, spark=spark, run_id="r1", rows_per_file=200)
    with open(customers, "a") as fh:
        fh.write("99999,x@example.invalid,Some Bank,UK,basic\n")
    before = _state(spark, record)
    with pytest.raises(SourceChangedError):
        unlearn({"source": "customers", "keys": [1], "action": "delete_rows"},
                warehouse=wh, spark=spark)
    assert _state(spark, record) == before


def test_model_not_matching_the_runs_x_is_refused_before_any_change(spark, warehouse,
                                                                   monkeypatch):
    """The stored model version is checked against the run's X before the MERGEs."""
    from spark_lester.deletion import model as model_step

    wh, record = warehouse
    before = _state(spark, record)
    monkeypatch.setattr(model_step, "feature_width", lambda provenance: 51)
    with pytest.raises(DimensionMismatchError) as err:
        unlearn({"request_id": "wrong-width", "source": "customers", "keys": [3],
                 "action": "delete_rows"}, warehouse=wh, spark=spark)
    assert (err.value.expected, err.value.got) == (52, 51)
    assert _state(spark, record) == before
    rows = ledger.entries(spark, Layout(wh), "wrong-width")
    assert [r.status for r in rows] == ["failed"]
    assert rows[0].reason.startswith("resolve: DimensionMismatchError")


def test_request_removing_every_training_row_is_refused(spark, warehouse):
    wh, record = warehouse
    before = _state(spark, record)
    prepared = spark.read.format("delta").load(record.tables[PREPARED].path)
    everyone = sorted({r[0] for r in prepared.select("customer_id").collect()})
    with pytest.raises(EmptyRemainderError) as err:
        unlearn({"request_id": "everyone", "source": "customers", "keys": everyone,
                 "action": "delete_rows"}, warehouse=wh, spark=spark)
    assert err.value.n_removed == err.value.n_train == record.rows["train"]
    assert _state(spark, record) == before
    rows = ledger.entries(spark, Layout(wh), "everyone")
    assert [r.status for r in rows] == ["failed"]
    assert "EmptyRemainderError" in rows[0].reason


def test_nan_in_the_update_falls_back_to_retraining_and_is_recorded(spark, warehouse,
                                                                     monkeypatch):
    """NaN during the update (here: the refinement gradient) refuses it; the model is
    retrained from scratch on X after the MERGE and the ledger says why."""
    import importlib

    newton_module = importlib.import_module("spark_lester.unlearning.newton")

    wh, record = warehouse
    monkeypatch.setattr(newton_module, "gradient_sum",
                        lambda params, data, **kw: np.full(params.d + 1, np.nan))
    prepared = spark.read.format("delta").load(record.tables[PREPARED].path)
    key = sorted({r[0] for r in prepared.where("__lester_split = 'train'")
                  .select("customer_id").collect()})[0]
    result = unlearn({"request_id": "nan-update", "source": "customers", "keys": [key],
                      "action": "delete_rows"}, warehouse=wh, spark=spark,
                     config=LesterConfig.from_env(unlearning_budget=0.0))  # always refine
    assert result["status"] == "completed"
    update = result["model"]["r1"]
    assert (update["method"], update["retrain_reason"], update["refused_method"]) == \
        ("retrain", "non_finite", "newton")
    stored = load_model(spark, record.tables[MODEL].path)
    assert stored.version == 1 and stored.method == "retrain"
    assert np.all(np.isfinite(stored.params.w))
    rows = ledger.entries(spark, Layout(wh), "nan-update")
    assert rows[-1].model["r1"]["retrain_reason"] == "non_finite"


def test_one_newton_step_within_the_budget_makes_no_pass_over_x(spark, warehouse,
                                                                 monkeypatch):
    import importlib

    newton_module = importlib.import_module("spark_lester.unlearning.newton")

    def no_pass(*args, **kwargs):
        raise AssertionError("a pass over X was made")

    wh, record = warehouse
    monkeypatch.setattr(newton_module, "gradient_sum", no_pass)
    prepared = spark.read.format("delta").load(record.tables[PREPARED].path)
    key = sorted({r[0] for r in prepared.where("__lester_split = 'train'")
                  .select("customer_id").collect()})[-1]
    result = unlearn({"request_id": "one-step", "source": "customers", "keys": [key],
                      "action": "delete_rows"}, warehouse=wh, spark=spark,
                     config=LesterConfig.from_env(unlearning_budget=10.0))
    update = result["model"]["r1"]
    assert (update["method"], update["refined"], update["passes_over_x"]) == \
        ("newton", False, 0)
    assert 0 < update["residual_bound"] <= 10.0
    assert load_model(spark, record.tables[MODEL].path).version == 2


def test_table_changed_by_hand_is_refused_and_recorded(spark, warehouse):
    wh, record = warehouse  # last test of the module: it changes the table
    path = record.tables[PREPARED].path
    spark.sql(f"DELETE FROM delta.`{path}` WHERE label = 1")
    before = _state(spark, record)
    with pytest.raises(TableChangedError) as err:
        unlearn({"request_id": "after-hand-edit", "source": "customers", "keys": [1],
                 "action": "delete_rows"}, warehouse=wh, spark=spark)
    assert err.value.found == err.value.expected + 1
    assert _state(spark, record) == before
    rows = ledger.entries(spark, Layout(wh), "after-hand-edit")
    assert [r.status for r in rows] == ["failed"]
    assert "TableChangedError" in rows[0].reason
    json.dumps(rows[0].to_json(), default=str)  # the ledger row is plain data
