"""deletion/encoder.py end to end: a request unlearns the run's fitted encoder as a refit on
the remaining fit rows would (oracle: a fresh run, encoder fitted anew, on the cleaned
source), X loses the removed columns, the model its weights, and the full-warehouse scan
proves the removed category is in no file, the run registry included."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spark_lester.artifacts import registry
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout
from spark_lester.artifacts.model import load_model
from spark_lester.artifacts.run import run
from spark_lester.config import LesterConfig
from spark_lester.deletion.unlearn import unlearn
from spark_lester.deletion.verify import scan, scan_warehouse
from spark_lester.errors import ErasureNotVerifiedError
from spark_lester.features.encode import load_encoder
from tests.deletion.conftest import PIPELINES, feature_map, write_csv

ENCODERS = PIPELINES / "encoders.py"
REFIT = PIPELINES / "encoders_refit.py"
COMMON_TOWNS = ["London", "Berlin", "Paris", "Madrid"]
COMMON_BANKS = ["Coast", "Union", "Harbour"]
WORDS = ["late", "fee", "card", "loan", "rate", "thanks", "branch", "call", "app", "error"]


def _people(seed: int = 3, n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        unique = i % 6 == 0  # every sixth person lives in a town (and banks) nobody shares
        words = list(rng.choice(WORDS, size=int(rng.integers(2, 5))))
        if unique:
            words.append(f"zq{i}word")
        rows.append({"id": i, "town": f"Atlantis-{i:03d}" if unique else
                     COMMON_TOWNS[int(rng.integers(len(COMMON_TOWNS)))],
                     "bank": f"Bank-of-{i:03d}" if unique else
                     COMMON_BANKS[int(rng.integers(len(COMMON_BANKS)))],
                     "note": " ".join(words), "score": float(rng.normal())})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    frame = _people()
    path = write_csv(frame, tmp_path_factory.mktemp("people") / "people.csv")
    return frame, path


def _split_of(spark, record) -> dict[int, str]:
    prepared = spark.read.format("delta").load(record.tables[PREPARED].path)
    return {int(r["id"]): r["__lester_split"] for r in prepared.select("id", "__lester_split")
            .collect()}


def _unique_ids(frame: pd.DataFrame, split: dict[int, str], which: str) -> list[int]:
    return [int(i) for i in frame.id if frame.town[i].startswith("Atlantis") and
            split.get(int(i)) == which]


def _oracle(spark, pipeline, frame, removed, folder):
    cleaned = write_csv(frame[~frame.id.isin(removed)], folder / "clean" / "people.csv")
    return run(pipeline, {"people": cleaned}, warehouse=str(folder / "oracle"), spark=spark,
               run_id="oracle")


def _x_by_id(spark, record) -> dict[int, np.ndarray]:
    """X rows keyed by the source id (row ids equal across runs of one pipeline)."""
    return feature_map(spark, record.tables[FEATURES].path)


def _rho(w_unlearned, w_original, w_retrained) -> float:
    return float(np.linalg.norm(w_unlearned - w_retrained)
                 / np.linalg.norm(w_original - w_retrained))


def test_one_hot_and_vocabulary_unlearned_like_a_refit(spark, tmp_path, people):
    frame, path = people
    wh = str(tmp_path / "wh")
    record = run(ENCODERS, {"people": path}, warehouse=wh, spark=spark, run_id="r1")
    split = _split_of(spark, record)
    in_test, in_train = _unique_ids(frame, split, "test"), _unique_ids(frame, split, "train")
    assert in_test and in_train  # the data holds both cases
    config = LesterConfig.from_env(unlearning_budget=0.0)

    # 1. a category held by a test row only is not in the encoder: nothing to unlearn
    first = unlearn({"source": "people", "keys": [in_test[0]], "action": "delete_rows"},
                    warehouse=wh, spark=spark, config=config)
    assert first["status"] == "completed" and "encoder" not in first["changes"][0]
    assert registry.get_run(spark, Layout(wh), "r1").encoder == record.encoder

    # 2. the only (train) holder of a town: the full-warehouse scan finds it in the registry
    town = str(frame.town[in_train[0]])
    before = scan_warehouse(wh, [town])
    assert any("/_lester/runs/" in h["object"] for h in before.hits)
    model_before = load_model(spark, record.tables[MODEL].path).params
    second = unlearn({"source": "people", "keys": [in_train[0]], "action": "delete_rows"},
                     warehouse=wh, spark=spark, config=config)
    assert second["status"] == "completed"
    assert second["verification"]["verified"] is True
    assert second["verification"]["scope"] == "warehouse"
    summary = second["changes"][0]["encoder"]
    assert summary["changed"] and not summary["refit"] and summary["columns_dropped"] >= 2
    after = scan_warehouse(wh, [town])
    assert after.verified is True, after.hits

    # 3. against the oracle: a fresh run (encoder fitted anew) on the cleaned source
    oracle = _oracle(spark, ENCODERS, frame, [in_test[0], in_train[0]], tmp_path)
    updated = registry.get_run(spark, Layout(wh), "r1")
    mine, theirs = load_encoder(updated.encoder), load_encoder(oracle.encoder)
    assert [list(c) for c in mine.named_transformers_["town"].categories_] == \
        [list(c) for c in theirs.named_transformers_["town"].categories_]
    assert town not in mine.named_transformers_["town"].categories_[0]
    assert mine.named_transformers_["note"].vocabulary_ == \
        theirs.named_transformers_["note"].vocabulary_
    assert updated.matrix_provenance == oracle.matrix_provenance
    a, b = _x_by_id(spark, updated), _x_by_id(spark, oracle)
    assert a.keys() == b.keys()
    # the scaler keeps its statistics by policy: compare every other column exactly
    score = updated.matrix_provenance["score"][0]
    others = [c for c in range(len(next(iter(b.values())))) if not score[0] <= c < score[1]]
    for key in a:
        np.testing.assert_allclose(a[key][others], b[key][others], atol=1e-6)
    assert len(next(iter(a.values()))) == record_width(record) - summary["columns_dropped"]

    # 4. the model is as wide as X, its dropped weights gone, near the retrained one
    model = load_model(spark, record.tables[MODEL].path).params
    retrained = load_model(spark, oracle.tables[MODEL].path).params
    assert model.d == retrained.d == model_before.d - summary["columns_dropped"]
    kept = [c for c in range(model_before.d)
            if c not in set(_dropped(record, updated))]
    original = np.concatenate([model_before.w[kept], model_before.w[-1:]])
    rho = _rho(model.w, original, retrained.w)
    print(f"rho against the retrained model: {rho:.4f}")
    assert rho < 0.5, rho

    # 5. nothing of the town in the ledger either (counts and policies only)
    ledger = spark.read.format("delta").load(Layout(wh).ledger).toJSON().collect()
    assert not any(town in row for row in ledger)
    assert any("columns_dropped" in row for row in ledger)


def record_width(record) -> int:
    return max(end for ranges in record.matrix_provenance.values() for _, end in ranges)


def _dropped(record, updated) -> list[int]:
    """The old X columns the downdate removed, recomputed from the two encoders."""
    old, new = load_encoder(record.encoder), load_encoder(updated.encoder)
    names_old = list(old.get_feature_names_out())
    names_new = set(new.get_feature_names_out())
    return [i for i, n in enumerate(names_old) if n not in names_new]


def test_previous_touched_prefix_scan_misses_the_registry(spark, tmp_path, people,
                                                          monkeypatch):
    """With the encoder step disabled (the engine before this change), the category stays
    in the run registry: the scan of the touched tables passes, the full-warehouse scan
    finds it there and the request fails unverified."""
    import spark_lester.deletion.encoder as encoder_step

    frame, path = people
    wh = str(tmp_path / "wh")
    record = run(ENCODERS, {"people": path}, warehouse=wh, spark=spark, run_id="r1")
    (victim,) = _unique_ids(frame, _split_of(spark, record), "train")[:1]
    town = str(frame.town[victim])
    monkeypatch.setattr(encoder_step, "plan_encoder", lambda *args: None)
    with pytest.raises(ErasureNotVerifiedError):
        unlearn({"source": "people", "keys": [victim], "action": "delete_rows"},
                warehouse=wh, spark=spark)
    touched = [record.tables[n].path for n in (PREPARED, FEATURES, MODEL)]
    assert scan(touched, [town]).verified is True  # the previous scan would have passed
    full = scan_warehouse(wh, [town])
    assert not full.verified
    assert {h["object"].split("/_lester/")[1].split("/")[0] for h in full.hits
            if "/_lester/" in h["object"]} == {"runs"}


@pytest.mark.long  # CI's 45 minutes; the one-hot and vocabulary refit stays in CI
def test_ordinal_and_custom_transformer_refit(spark, tmp_path, people):
    frame, path = people
    wh = str(tmp_path / "wh")
    record = run(REFIT, {"people": path}, warehouse=wh, spark=spark, run_id="r1")
    (victim,) = _unique_ids(frame, _split_of(spark, record), "train")[:1]
    result = unlearn({"source": "people", "keys": [victim], "action": "delete_rows"},
                     warehouse=wh, spark=spark)
    assert result["verification"]["verified"] is True
    summary = result["changes"][0]["encoder"]
    assert summary["refit"] is True and set(summary["reencoded"]) == {"bank", "score"}
    policies = {t["transformer"]: t for t in summary["transformers"]}
    assert policies["bank"]["policy"] == "exact" and policies["bank"]["removed"] == 1
    assert policies["score"]["reason"] == "Centerer cannot be downdated"
    assert result["model"]["r1"]["retrain_reason"] == "encoder_reencoded"
    oracle = _oracle(spark, REFIT, frame, [victim], tmp_path)
    updated = registry.get_run(spark, Layout(wh), "r1")
    mine, theirs = load_encoder(updated.encoder), load_encoder(oracle.encoder)
    assert [list(c) for c in mine.named_transformers_["bank"].categories_] == \
        [list(c) for c in theirs.named_transformers_["bank"].categories_]
    np.testing.assert_allclose(mine.named_transformers_["score"].center_,
                               theirs.named_transformers_["score"].center_)
    a, b = _x_by_id(spark, updated), _x_by_id(spark, oracle)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5)
    model = load_model(spark, record.tables[MODEL].path).params
    retrained = load_model(spark, oracle.tables[MODEL].path).params
    np.testing.assert_allclose(model.w, retrained.w, atol=1e-6)
    assert not json.dumps(result["changes"]).count(str(frame.bank[victim]))


@pytest.mark.long  # CI's 45 minutes; the fuzzer's kill-and-resubmit cases stay in CI
def test_crashes_in_the_encoder_step_then_resubmit_completes(spark, tmp_path, people):
    """Killed after X was rewritten (before the registry got the new encoder), then, on the
    re-submit, after the registry row was replaced (before the model step and the purge):
    the next re-submit re-derives the removed rows from the source, finishes the steps
    (retraining the model on the narrower X) and proves the town gone."""
    from spark_lester.deletion.stages import Hooks

    frame, path = people
    wh = str(tmp_path / "wh")
    record = run(ENCODERS, {"people": path}, warehouse=wh, spark=spark, run_id="r1")
    (victim,) = _unique_ids(frame, _split_of(spark, record), "train")[:1]
    town = str(frame.town[victim])
    request = {"request_id": "lone-town", "source": "people", "keys": [victim],
               "action": "delete_rows"}

    class Crash(Exception):
        pass

    for crash_at in ("encoder:r1", "registry:r1"):
        def crash(step: str, at: str = crash_at) -> None:
            if step == at:
                raise Crash(step)

        with pytest.raises(Crash):
            unlearn(request, warehouse=wh, spark=spark, hooks=Hooks(after_step=crash))
    result = unlearn(request, warehouse=wh, spark=spark)
    assert result["status"] == "completed" and result["resumed"] is True
    assert result["verification"]["verified"] is True
    updated = registry.get_run(spark, Layout(wh), "r1")
    assert town not in load_encoder(updated.encoder).named_transformers_["town"].categories_[0]
    width = max(end for ranges in updated.matrix_provenance.values() for _, end in ranges)
    assert {len(v) for v in _x_by_id(spark, updated).values()} == {width}
    assert load_model(spark, record.tables[MODEL].path).params.d == width
    assert scan_warehouse(wh, [town]).verified is True


def test_union_copies_of_a_row_id_are_re_encoded_from_their_own_inputs(spark, tmp_path):
    """Found by a review: the downdated scaler's block was re-encoded by joining X to the
    prepared table on the row id; two union copies of a visit share one, so each copy was
    paired with both inputs (4 rows for 2). Oracle: a fresh run on the cleaned source (the
    downdated scaler equals a refit), X compared as a multiset of (row id, vector)."""
    frame = pd.DataFrame({"id": range(1, 9), "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    pipeline = PIPELINES / "union_copies.py"
    path = write_csv(frame, tmp_path / "src" / "visits.csv")
    wh = str(tmp_path / "wh")
    record = run(pipeline, {"visits": path}, warehouse=wh, spark=spark, run_id="r1")
    split = {}
    for r in spark.read.format("delta").load(record.tables[PREPARED].path).collect():
        split[int(r["id"])] = r["__lester_split"]
    gone = min(i for i, s in split.items() if s == "train")
    result = unlearn({"source": "visits", "keys": [gone], "action": "delete_rows"},
                     warehouse=wh, spark=spark)
    assert result["status"] == "completed"
    oracle = _oracle_visits(spark, pipeline, frame[frame.id != gone], tmp_path)

    def x_rows(rec):
        df = spark.read.format("delta").load(rec.tables[FEATURES].path)
        return sorted((r[0], round(float(r[1][0]), 5)) for r in
                      df.select("__lester_row_id", "features").collect())

    updated = registry.get_run(spark, Layout(wh), "r1")
    assert x_rows(updated) == x_rows(oracle)
    assert len(x_rows(updated)) == 2 * (len(frame) - 1)


def _oracle_visits(spark, pipeline, frame, folder):
    cleaned = write_csv(frame, folder / "clean" / "visits.csv")
    return run(pipeline, {"visits": cleaned}, warehouse=str(folder / "oracle"), spark=spark,
               run_id="oracle")
