"""The differential fuzzer, CI profile: a fixed seed, a few generated cases (pipelines over
every operator of the subset, 2-3 requests each), each checked after every request against
a fresh run on cleaned inputs and by the independent erasure check (see harness.py).

The long profile is ``bench/fuzz_deletion.py --cases N --seed S``. A failure found by either
is fixed in the engine and kept here as an ``@example``."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings

from tests.fuzz.generate import cases
from tests.fuzz.harness import Case, Harness, Source

_counter = itertools.count()

#: Seed example (hand-written): an aggregate above a join, a redaction of a linked source
#: through the merged (array) provenance, a delete, a re-submit.
LINKED_THROUGH_AGGREGATE = Case(
    [Source("s0", "s0_id", [("s0_id", "INT"), ("s0_k", "STRING"), ("s0_t", "STRING")],
            [(1, "a", "ws0aaaaaa1"), (2, "a", "ws0aaaaaa2"), (3, "b", "ws0bbbbbb3")]),
     Source("s1", "s1_id", [("s1_id", "INT"), ("s1_k", "STRING"), ("s1_t", "STRING")],
            [(1, "a", "ws1aaaaaa1 card 4111 1111 1111 1111"), (2, "b", "ws1bbbbbb2")])],
    """
    x1 = s0.join(s1, s0["s0_k"] == s1["s1_k"], how="inner")
    x2 = x1.groupBy("s0_k").agg(F.count(F.lit(1)).alias("n"), F.min("s1_t").alias("mt"))
    out = x2.withColumn("f", F.coalesce(F.col("n").cast("double"), F.lit(0.0)))
    """, cluster="s0", requests=[
        {"source": "s0", "keys": [1], "action": "redact_columns", "columns": ["s1.s1_t"]},
        {"source": "s0", "keys": [3], "action": "delete_rows"},
        {"resubmit": 0}])

#: Seed example (hand-written): a keyless source with duplicate rows on the right of a left
#: join, deleted by a predicate; a split and a union of both sides above.
KEYLESS_RIGHT_OF_LEFT_JOIN = Case(
    [Source("s0", "s0_id", [("s0_id", "INT"), ("s0_k", "STRING"), ("s0_v", "DOUBLE")],
            [(1, "a", 1.5), (2, "b", 2.5), (3, None, 3.5)]),
     Source("s1", None, [("s1_id", "INT"), ("s1_k", "STRING"), ("s1_t", "STRING")],
            [(1, "a", "ws1aaaaaa1"), (1, "a", "ws1aaaaaa1"), (2, "b", "ws1bbbbbb2"),
             (3, "a", "ws1aaaaaa3")])],
    """
    x1 = s0.join(s1, F.col("s0_k") == F.col("s1_k"), how="left")
    x2_a, x2_b = x1.split(test_fraction=0.5, seed=1)
    x2 = x2_a.union(x2_b)
    out = x2.withColumn("f", F.coalesce(F.col("s0_v").cast("double"), F.lit(0.0)))
    """, cluster="s0", requests=[
        {"source": "s1", "where": ["s1_t", "=", "ws1aaaaaa1"], "action": "delete_rows"},
        {"source": "s1", "where": ["s1_k", "=", "b"], "action": "delete_rows"}])

#: Seed example (hand-written): a model (logistic regression) on a left join, unlearned by
#: two deletions; its rho against the model retrained on the re-run's X is checked.
MODEL_ON_LEFT_JOIN = Case(
    [Source("s0", "s0_id", [("s0_id", "INT"), ("s0_k", "STRING"), ("s0_v", "DOUBLE")],
            [(1, "a", 0.5), (2, "b", 2.5), (3, None, 3.5), (4, "a", 4.5), (5, "c", 1.5),
             (6, "b", 3.5), (7, "a", 2.5), (8, "c", 0.5)]),
     Source("s1", "s1_id", [("s1_id", "INT"), ("s1_k", "STRING"), ("s1_t", "STRING")],
            [(1, "a", "ws1aaaaaa1"), (2, "b", "ws1bbbbbb2 card 4111 1111 1111 1111")])],
    """
    x1 = s0.join(s1, s0["s0_k"] == s1["s1_k"], how="left")
    out = x1.withColumn("f", F.coalesce(F.col("s0_v").cast("double"), F.lit(0.0)))
    out = out.withColumn("label", (F.col("f") > 2.0).cast("int"))
    """, cluster="s0", model=True, requests=[
        {"source": "s0", "keys": [4, 6], "action": "delete_rows"},
        {"source": "s1", "keys": [2], "action": "delete_rows"}])


def _run(spark, root: Path, case: Case) -> None:
    outcome = Harness(spark, root / f"case{next(_counter)}").run(case)
    assume(outcome.skipped is None)
    assert outcome.ok, "differences:\n" + "\n".join(outcome.differences) + \
        "\nreproduction:\n" + case.describe()
    if case.model:  # the model was compared with the retrained one after every request
        assert len(outcome.rhos) == sum(1 for r in case.requests if "resubmit" not in r)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=1, derandomize=True, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@example(case=LINKED_THROUGH_AGGREGATE)
@example(case=KEYLESS_RIGHT_OF_LEFT_JOIN)
@example(case=MODEL_ON_LEFT_JOIN)
@given(case=cases(max_sources=3, model_percent=0))
def test_deletion_equals_a_rerun_on_cleaned_inputs(spark, fuzz_root, case):
    _run(spark, fuzz_root, case)


def test_the_fuzzers_checks_fail_on_a_planted_bug(spark, tmp_path, monkeypatch):
    """One IVM rule broken on purpose (a left join maintained like an inner one: no closure
    over the left rows, the right side restricted to the affected region): the comparison
    with the re-run reports the NULL-padded row that is missing (the left row's only match
    was dropped by the filter above, and is now deleted)."""
    from spark_lester.deletion.ivm import propagate

    monkeypatch.setattr(propagate.PropagationWalker, "visit_Join", lambda self, node: None)
    case = Case([Source("s0", "s0_id", [("s0_id", "INT"), ("s0_k", "STRING")],
                        [(1, "a"), (2, "z")]),
                 Source("s1", "s1_id", [("s1_id", "INT"), ("s1_k", "STRING"),
                                        ("s1_t", "STRING")],
                        [(10, "a", "bad"), (11, "z", "ws1good011")])], """
        x1 = s0.join(s1, s0["s0_k"] == s1["s1_k"], how="left")
        x2 = x1.filter(F.coalesce(F.col("s1_t"), F.lit("none")) != "bad")
        out = x2.withColumn("f", F.col("s0_id").cast("double"))
    """, cluster="s0", requests=[{"source": "s1", "keys": [10], "action": "delete_rows"}])
    outcome = Harness(spark, tmp_path).run(case)
    assert outcome.skipped is None
    assert any(line.startswith("request 0: prepared:") for line in outcome.differences), \
        outcome.differences
    monkeypatch.undo()  # the same case passes with the rule as written
    assert Harness(spark, tmp_path / "fixed").run(case).ok


def test_a_scaler_that_was_not_downdated_fails_the_fuzzers_check(spark, tmp_path,
                                                                  monkeypatch):
    """A case whose scaler's statistics are downdated (``ENCODER_STATISTICS = "downdate"``):
    the oracle run fits its own scaler on the cleaned input. Planted bug: the engine keeps
    the statistics whatever the policy; the harness reports X (every row's scaled value
    moved in the re-run)."""
    from spark_lester.features import downdate

    monkeypatch.setattr(downdate._Step, "scaler",
                        lambda self: self.unchanged(downdate.KEPT, reason="planted"))
    case = Case([Source("s0", "s0_id", [("s0_id", "INT"), ("s0_v", "DOUBLE")],
                        [(i, float(i * i)) for i in range(1, 9)])], """
        out = s0.withColumn("f", F.col("s0_v"))
    """, cluster="s0", requests=[{"source": "s0", "keys": [1, 2, 3, 4],
                                  "action": "delete_rows"}], statistics="downdate")
    outcome = Harness(spark, tmp_path).run(case)
    assert outcome.statuses == ["completed"]
    assert any(line.startswith("request 0: features:") for line in outcome.differences), \
        outcome.differences


@pytest.mark.long  # CI's 45 minutes: CI keeps the planted form above
def test_a_downdated_scaler_equals_the_oracles_refit(spark, tmp_path):
    case = Case([Source("s0", "s0_id", [("s0_id", "INT"), ("s0_v", "DOUBLE")],
                        [(i, float(i * i)) for i in range(1, 9)])], """
        out = s0.withColumn("f", F.col("s0_v"))
    """, cluster="s0", requests=[{"source": "s0", "keys": [1, 2, 3, 4],
                                  "action": "delete_rows"}], statistics="downdate")
    outcome = Harness(spark, tmp_path).run(case)
    assert outcome.ok and outcome.statuses == ["completed"], outcome.differences


def test_a_wrongful_refusal_fails_the_fuzzers_check(spark, tmp_path, monkeypatch):
    """A refusal (``EmptyRemainderError``: no training row left) is accepted only when a
    re-run on the cleaned input cannot train its model either. Planted bug: the model step
    refuses every request; the harness reports the model the re-run trains. (The right
    refusal is ``test_a_recompute_that_leaves_no_training_row_is_refused_unchanged``.)"""
    from spark_lester.deletion.stages import resolve
    from spark_lester.errors import EmptyRemainderError

    def refuse(*args, **kwargs):
        raise EmptyRemainderError(n_train=4, n_removed=4)

    monkeypatch.setattr(resolve, "plan_model", refuse)
    case = Case([Source("s0", "s0_id", [("s0_id", "INT"), ("s0_v", "DOUBLE")],
                        [(i, float(i)) for i in range(1, 9)])], """
        out = s0.withColumn("f", F.col("s0_v") * 2.0)
        out = out.withColumn("label", (F.col("f") > 7.0).cast("int"))
    """, cluster="s0", model=True,
        requests=[{"source": "s0", "keys": [1], "action": "delete_rows"}])
    outcome = Harness(spark, tmp_path).run(case)
    assert outcome.statuses == ["EmptyRemainderError"]
    assert any("refused (EmptyRemainderError), but a re-run on the cleaned input trains"
               in line for line in outcome.differences), outcome.differences


def test_the_erasure_check_finds_a_planted_copy(tmp_path):
    """The independent erasure check finds a removed value in raw bytes and inside a
    compressed Parquet file (where the bytes do not show it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.fuzz.harness import erasure_hits

    (tmp_path / "a" / "_delta_log").mkdir(parents=True)
    (tmp_path / "a" / "_delta_log" / ".00000000000000000002.json.x.tmp").write_text(
        '{"commitInfo": {"note": "wsecret123"}}')
    pq.write_table(pa.table({"t": ["wsecret456" * 3] * 50}), tmp_path / "a" / "p.parquet",
                   compression="zstd")
    hits = erasure_hits(str(tmp_path), {"wsecret123", "wsecret456"})
    assert len(hits) == 2
    assert erasure_hits(str(tmp_path), {"wabsent000"}) == []


def test_the_model_check_fails_on_an_update_that_did_nothing():
    """rho is the remaining fraction of the distance to the retrained model: an update that
    left the model as it was is 1 (reported: above ``MAX_RHO``), the retrained model itself
    0; a request that moved nothing is 0 only while the model stayed too."""
    import numpy as np

    from tests.fuzz.harness import MAX_RHO, model_rho

    w_o, w_r = np.array([1.0, 2.0, 0.5]), np.array([0.6, 1.5, 0.4])
    assert model_rho(w_o, w_o, w_r) == 1.0 > MAX_RHO
    assert model_rho(w_o, w_r, w_r) == 0.0
    assert model_rho(w_o, w_r + 0.01 * (w_o - w_r), w_r) <= MAX_RHO
    assert model_rho(w_r, w_r, w_r) == 0.0
    assert model_rho(w_r, w_o, w_r) == float("inf")
    assert model_rho(w_o, w_o[:2], w_r) is None


def test_the_shards_of_a_long_run_sum_once_per_case(tmp_path):
    """``bench/fuzz_deletion.py --summarize``: shard logs are added to the cases log once
    (a line it holds already is not added again), only the seed and code asked for count,
    the last line of a case wins, and the summary says which case ranges it covers."""
    import argparse
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "fuzz_deletion", Path(__file__).resolve().parents[2] / "bench" / "fuzz_deletion.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def line(case, code="c1", seed=3, ok=True, skipped=None):
        return json.dumps({"case": case, "seed": seed * 1_000_003 + case, "seed_base": seed,
                           "code": code, "skipped": skipped, "ok": ok, "s3": case % 2 == 0,
                           "fault": True, "killed": case == 1, "kill_step": "merge:1",
                           "children": 1, "ops": ["filter"], "kinds": ["delete_keys"],
                           "rhos": [0.0], "seconds": 1.0,
                           "differences": [] if ok else ["x"], "reproduction": None})

    log = tmp_path / "fuzz_cases.jsonl"
    log.write_text(line(0) + "\n" + line(0, code="old") + "\n")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join([line(0), line(1), line(2, ok=False)]) + "\n")
    b.write_text("\n".join([line(1), line(1000, skipped="no training row"), line(2)]) + "\n")
    out = tmp_path / "fuzz.json"
    args = argparse.Namespace(summarize=[str(a), str(b)], cases_log=str(log), out=str(out),
                              seed=3, note="n")
    bench.summarize_shards(args, "c1")
    assert len(log.read_text().splitlines()) == 2 + 4  # line(0) was there already
    result = json.loads(out.read_text())
    assert (result["cases_generated"], result["cases_run"], result["cases_skipped"]) == (4, 3, 1)
    assert result["failed"] == 0  # case 2 failed, then passed on a re-run (b is later)
    assert (result["on_s3"], result["killed"], result["note"]) == (2, 1, "n")
    assert result["case_ranges"] == ["0-2", "1000-1000"]
    args.summarize = [str(a)]  # a's case 2 (failed) is now the last line of case 2
    bench.summarize_shards(args, "c1")
    assert json.loads(out.read_text())["failed"] == 0  # the log's order decides, not the shard
    with pytest.raises(SystemExit):
        bench.summarize_shards(argparse.Namespace(**{**vars(args), "seed": 9}), "c1")
