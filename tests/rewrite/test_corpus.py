"""The corpus: every reference rewrite is accepted; the mutation corpus is rejected (>= 95%).

All references and mutations run in three sandboxed processes (one Spark start for the data
preparation tasks, one plain Python run for the feature encoding tasks, one PyTorch import
for the model definitions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spark_lester.rewrite.validate import Oracle, validate_batch

MUTATIONS = json.loads((Path(__file__).parent / "mutations" / "mutations.json").read_text())


def mutate(reference: str, mutation: dict) -> str:
    assert reference.count(mutation["old"]) == 1, mutation["name"]
    program = reference.replace(mutation["old"], mutation["new"])
    assert program != reference
    return program


@pytest.fixture(scope="module")
def verdicts(corpus):
    oracles = {name: Oracle.build(item.task, variants=0) for name, item in corpus.items()}
    try:
        items = [(item.reference, oracles[name]) for name, item in corpus.items()]
        items += [(mutate(corpus[m["task"]].reference, m), oracles[m["task"]])
                  for m in MUTATIONS]
        outcomes = validate_batch(items)
    finally:
        for oracle in oracles.values():
            oracle.close()
    return dict(zip(corpus, outcomes[:len(corpus)])), outcomes[len(corpus):]


def test_corpus_has_at_least_twelve_tasks_of_every_kind(corpus):
    assert len(corpus) >= 12
    kinds = {item.task.kind for item in corpus.values()}
    assert kinds == {"prepare", "encoder", "model"}
    assert "running_example" in corpus


def test_every_reference_rewrite_is_accepted(verdicts):
    references, _ = verdicts
    rejected = {name: o.failure.feedback() for name, o in references.items() if not o.accepted}
    assert rejected == {}


def test_mutation_corpus_is_rejected(verdicts):
    _, outcomes = verdicts
    assert len(MUTATIONS) >= 30
    accepted = [m["task"] + ": " + m["name"] for m, o in zip(MUTATIONS, outcomes) if o.accepted]
    rate = 1 - len(accepted) / len(MUTATIONS)
    print(f"mutation rejection rate {rate:.3f} ({len(MUTATIONS) - len(accepted)}"
          f"/{len(MUTATIONS)}); accepted: {accepted}")
    assert rate >= 0.95, accepted


def test_rejections_name_a_stage_and_differing_rows(verdicts):
    _, outcomes = verdicts
    for outcome in outcomes:
        if not outcome.accepted:
            assert outcome.failure.stage in ("compare", "rewrite", "provenance", "allowlist")
    compare = [o for o in outcomes if o.failure and o.failure.stage == "compare"]
    assert compare and any("only in" in o.failure.details for o in compare)


def test_every_model_mutation_is_rejected_by_shapes_or_outputs(corpus, verdicts):
    _, outcomes = verdicts
    model = [(m, o) for m, o in zip(MUTATIONS, outcomes)
             if corpus[m["task"]].task.kind == "model"]
    names = {m["name"] for m, _ in model}
    assert {"wrong hidden size", "missing bias", "relu instead of tanh", "extra layer",
            "sigmoid applied twice"} <= names
    accepted = [m["name"] for m, o in model if o.accepted]
    assert accepted == []
    details = {m["name"]: o.failure.details for m, o in model}
    assert all(o.failure.stage == "compare" for _, o in model)
    assert "parameter shapes differ" in details["missing bias"]
    assert "output row(s) differ" in details["relu instead of tanh"]
    assert "sigmoid of the rewrite's logits" in details["sigmoid applied twice"]
