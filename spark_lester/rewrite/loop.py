"""The correction loop: ask, extract, validate; feed the failure back; at most N rounds.

Round 1 sends the stage prompt (subset API, inferred input schemas, required output
columns, the messy program). Every rejected round appends the model's answer and a feedback
message naming the failing stage with the exception and the last traceback lines, or the
first differing rows. The loop stops when a rewrite is accepted, after ``max_rounds``, when
the same failure repeats in two consecutive rounds (the model is stuck), or when the endpoint
fails in a way retrying cannot fix. The oracle (the original's outputs) is computed once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_lester.errors import LLMError, RewriteError
from spark_lester.rewrite.extract import extract_code
from spark_lester.rewrite.prompts import SYSTEM, render
from spark_lester.rewrite.validate import (
    ENTRY_POINTS,
    Failure,
    Oracle,
    Task,
    describe_inputs,
    validate,
)

if TYPE_CHECKING:
    from spark_lester.rewrite.client import LLMClient
    from spark_lester.rewrite.sandbox import Limits

DEFAULT_ROUNDS = 3
#: How much of an answer cut off at the token limit goes back to the model in the next round.
#: A small model that loops writes until ``max_tokens`` (4096 tokens of repetition from
#: qwen-0.5b); sent back whole, the loop filled the next round's context. Every corpus
#: reference is under 1,000 characters.
CUT_ANSWER_HEAD = 4000


def history_text(text: str, truncated: bool) -> str:
    """What of an answer the next round's messages carry: all of it, or the head of one
    that was cut off at the token limit, with a note of what was left out.

    >>> history_text("x" * 5000, truncated=True)[-61:]
    'left out: 1000 characters; it was cut off at the token limit]'
    >>> history_text("x" * 5000, truncated=False) == "x" * 5000
    True
    """
    if not truncated or len(text) <= CUT_ANSWER_HEAD:
        return text
    return (text[:CUT_ANSWER_HEAD] + f"\n[the rest of this answer is left out: "
            f"{len(text) - CUT_ANSWER_HEAD} characters; it was cut off at the token limit]")


@dataclass
class Round:
    """One request and the validation of its answer."""

    number: int
    failure: Failure | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    code: str | None = None
    comparisons: dict[str, Any] = field(default_factory=dict)

    @property
    def stage(self) -> str | None:
        return self.failure.stage if self.failure else None

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.number, "accepted": self.failure is None,
                "failing_stage": self.stage,
                "failure": self.failure.to_dict() if self.failure else None,
                "diffs": self.comparisons,
                "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
                "seconds": round(self.seconds, 3)}


@dataclass
class RewriteResult:
    """Everything the report needs."""

    task: Task
    accepted: bool
    reason: str
    rounds: list[Round]
    code: str | None
    usage: dict[str, Any]
    model: str
    base_url: str | None
    coverage: dict[str, Any] = field(default_factory=dict)
    input_sets: list[str] = field(default_factory=list)
    dropped_variants: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, Any] | None = None


def first_prompt(task: Task, oracle: Oracle | None) -> str:
    """The stage prompt for ``task`` with schemas and the required outputs filled in."""
    schemas = describe_inputs(task.inputs)
    if task.kind == "prepare":
        columns = oracle.columns if oracle is not None else []
        return render("prepare", parameters=", ".join(task.inputs),
                      output_columns=", ".join(f"`{c}`" for c in columns) or "(as the "
                      "original writes them)", schemas=schemas, program=task.source)
    if task.kind == "model":
        sample = oracle.outputs.get("sample") if oracle is not None else None
        written = ("probabilities (the sigmoid of the logits)" if sample is not None
                   and sample.probabilities else "logits")
        shapes = f"{sample.shapes}" if sample is not None else "(as the original defines them)"
        return render("model", schemas=schemas, program=task.source, features=task.features,
                      outputs=written, shapes=shapes)
    return render("encoder", schemas=schemas, program=task.source)


def rewrite(task: Task, client: LLMClient, *, max_rounds: int = DEFAULT_ROUNDS,
            variants: int = 3, limits: Limits | None = None,
            oracle: Oracle | None = None) -> RewriteResult:
    """Rewrite ``task`` with ``client``; see the module doc for when it stops."""
    if max_rounds < 1:
        raise RewriteError("max_rounds must be at least 1.", stage="input")
    own_oracle = oracle is None
    settings = client.settings
    try:
        oracle = oracle or Oracle.build(task, variants=variants, limits=limits)
    except RewriteError as exc:
        return RewriteResult(task, False, str(exc), [], None, client.usage.to_dict(),
                             settings.model, settings.base_url)
    try:
        return _loop(task, client, oracle, max_rounds, limits)
    finally:
        if own_oracle:
            oracle.close()


def _loop(task: Task, client: LLMClient, oracle: Oracle, max_rounds: int,
          limits: Limits | None) -> RewriteResult:
    settings = client.settings
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": first_prompt(task, oracle)}]
    rounds: list[Round] = []
    reason = ""
    accepted_code: str | None = None
    lineage = None
    for number in range(1, max_rounds + 1):
        start = time.perf_counter()
        try:
            answer = client.complete(messages)
        except LLMError as exc:
            reason = f"the endpoint failed in round {number}: {exc}"
            if exc.retryable:
                reason += " (retries exhausted; trying later may help)"
            break
        code = None
        try:
            code = extract_code(answer.text, answer.structured,
                                entry_point=ENTRY_POINTS[task.kind], truncated=answer.truncated)
            outcome = validate(code, oracle, limits=limits)
            failure, comparisons = outcome.failure, outcome.comparisons
            if outcome.accepted:
                lineage = outcome.lineage
        except RewriteError as exc:
            failure, comparisons = Failure(exc.stage or "extract", str(exc)), {}
        current = Round(number, failure, answer.prompt_tokens, answer.completion_tokens,
                        time.perf_counter() - start, code, comparisons)
        rounds.append(current)
        if failure is None:
            accepted_code, reason = code, f"accepted in round {number}"
            break
        if len(rounds) >= 2 and rounds[-2].failure is not None and \
                rounds[-2].failure.signature() == failure.signature():
            reason = (f"the same failure repeated in rounds {number - 1} and {number} "
                      f"(stage {failure.stage}: {failure.message})")
            break
        reason = (f"not accepted after {number} round(s); last failure at stage "
                  f"{failure.stage}: {failure.message}")
        messages += [{"role": "assistant", "content": history_text(answer.text,
                                                                   answer.truncated)},
                     {"role": "user", "content": render("feedback",
                                                        failure=failure.feedback())}]
    usage = client.usage.to_dict()
    usage["cost_usd"] = client.usage.cost(input_per_mtok=settings.input_per_mtok,
                                          output_per_mtok=settings.output_per_mtok)
    return RewriteResult(task, accepted_code is not None, reason, rounds, accepted_code, usage,
                         settings.model, settings.base_url, oracle.coverage, list(oracle.sets),
                         oracle.dropped, lineage)
