"""A request killed inside its encoder step, then re-submitted, ends exactly where the same
request without the kill ends (the oracle: the fault-free request on a second warehouse).

Found by a read-only review (session 20): killed after X was rewritten for the downdated
encoder and before the registry got that encoder, a re-submitted redaction re-encoded its
rows with the old encoder and met X at the narrower width (``PlanError`` on every
re-submit: the run was wedged). Killed after the registry got the encoder, a re-submit
downdated the already downdated encoder a second time (a scaler's statistics subtracted the
removed rows twice)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spark_lester.artifacts import registry
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout
from spark_lester.artifacts.model import load_model
from spark_lester.artifacts.run import run
from spark_lester.deletion.unlearn import unlearn
from spark_lester.deletion.verify import scan_warehouse
from spark_lester.features.encode import load_encoder
from tests.deletion.conftest import PIPELINES, crash_then_resubmit, write_csv
from tests.deletion.test_encoder import _people, _split_of, _unique_ids


def _x_rows(spark, record) -> list[tuple[int, tuple[float, ...]]]:
    """X as a multiset of (row id, rounded vector): union copies share a row id."""
    df = spark.read.format("delta").load(record.tables[FEATURES].path)
    return sorted((int(r[0]), tuple(round(float(v), 5) for v in r[1]))
                  for r in df.select("__lester_row_id", "features").collect())


def _same_end_state(spark, crashed_wh: str, clean_wh: str) -> None:
    crashed = registry.get_run(spark, Layout(crashed_wh), "r1")
    clean = registry.get_run(spark, Layout(clean_wh), "r1")
    assert crashed.matrix_provenance == clean.matrix_provenance
    assert _x_rows(spark, crashed) == _x_rows(spark, clean)
    sample = spark.read.format("delta").load(clean.tables[PREPARED].path).toPandas()
    sample = sample[list(clean.feature_columns)]
    np.testing.assert_allclose(
        np.asarray(load_encoder(crashed.encoder).transform(sample), dtype=float),
        np.asarray(load_encoder(clean.encoder).transform(sample), dtype=float), atol=1e-9)
    if MODEL in clean.tables:
        # a resumed request retrains where the fault-free one may update by influence
        # (both against one X): the same width, and weights within 1% of each other
        w_crashed = load_model(spark, crashed.tables[MODEL].path).params.w
        w_clean = load_model(spark, clean.tables[MODEL].path).params.w
        assert w_crashed.shape == w_clean.shape
        assert np.linalg.norm(w_crashed - w_clean) <= 1e-2 * np.linalg.norm(w_clean)


@pytest.mark.parametrize("crash_at", [
    "encoder:r1",
    pytest.param("registry:r1", marks=pytest.mark.long),  # CI's 45 minutes
])
def test_a_redaction_killed_in_its_encoder_step_resumes_to_the_fault_free_state(
        spark, tmp_path, crash_at):
    """A redacted town that no other fit row holds leaves the one-hot encoder (X one column
    narrower); the kill lands after X was rewritten, or after the registry got the new
    encoder."""
    frame = _people()
    path = write_csv(frame, tmp_path / "src" / "people.csv")
    pipeline = PIPELINES / "encoders.py"
    warehouses = {w: str(tmp_path / w) for w in ("crashed", "clean")}
    for wh in warehouses.values():
        record = run(pipeline, {"people": path}, warehouse=wh, spark=spark, run_id="r1")
    (victim,) = _unique_ids(frame, _split_of(spark, record), "train")[:1]
    town = str(frame.town[victim])
    request = {"request_id": "lone-town-redacted", "source": "people", "keys": [victim],
               "action": "redact_columns", "columns": ["people.town"]}
    width = len(_x_rows(spark, record)[0][1])
    crash_then_resubmit(spark, warehouses["crashed"], request, crash_at)
    assert unlearn(request, warehouse=warehouses["clean"], spark=spark)["status"] == "completed"
    _same_end_state(spark, warehouses["crashed"], warehouses["clean"])
    updated = registry.get_run(spark, Layout(warehouses["crashed"]), "r1")
    assert {len(v) for _, v in _x_rows(spark, updated)} == {width - 1}
    assert scan_warehouse(warehouses["crashed"], [town]).verified is True


@pytest.mark.long  # CI's 45 minutes
@pytest.mark.parametrize("crash_at", ["encoder:r1", "registry:r1"])
def test_a_downdated_scaler_killed_in_its_encoder_step_is_downdated_once(spark, tmp_path,
                                                                          crash_at):
    """Statistics downdated by policy: the scaler's block of X is re-encoded. A re-submit
    after the registry got the downdated scaler must not subtract the row again."""
    frame = pd.DataFrame({"id": range(1, 9), "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    path = write_csv(frame, tmp_path / "src" / "visits.csv")
    pipeline = PIPELINES / "union_copies.py"
    warehouses = {w: str(tmp_path / w) for w in ("crashed", "clean")}
    for wh in warehouses.values():
        record = run(pipeline, {"visits": path}, warehouse=wh, spark=spark, run_id="r1")
    split = {int(r["id"]): r["__lester_split"] for r in
             spark.read.format("delta").load(record.tables[PREPARED].path).collect()}
    gone = min(i for i, s in split.items() if s == "train")
    request = {"request_id": "one-visit", "source": "visits", "keys": [gone],
               "action": "delete_rows"}
    crash_then_resubmit(spark, warehouses["crashed"], request, crash_at)
    assert unlearn(request, warehouse=warehouses["clean"], spark=spark)["status"] == "completed"
    _same_end_state(spark, warehouses["crashed"], warehouses["clean"])
    scaler = load_encoder(registry.get_run(spark, Layout(warehouses["crashed"]), "r1").encoder
                          ).named_transformers_["f"]
    assert int(scaler.n_samples_seen_) == 2 * (sum(s == "train" for s in split.values()) - 1)
