"""The rewrite report, as JSON (for machines) and Markdown (for people).

The JSON has at least ``accepted``, ``rounds`` (how many were run), ``reason``, ``tokens``
and ``per_round`` (each with its ``failing_stage``). No secret is ever part of it.

>>> from spark_lester.rewrite.validate import Failure
>>> from spark_lester.rewrite.loop import Round
>>> payload = {"accepted": False, "rounds": 1, "reason": "parse failed", "tokens": {},
...            "per_round": [Round(1, Failure("parse", "SyntaxError")).to_dict()]}
>>> print(to_markdown(payload).splitlines()[0])
# Rewrite report: rejected
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.rewrite.redact import redact, redact_tree

if TYPE_CHECKING:
    from spark_lester.rewrite.loop import RewriteResult


def report(result: RewriteResult) -> dict[str, Any]:
    """The JSON-ready report of one rewrite (known secret values redacted throughout)."""
    return redact_tree({
        "accepted": result.accepted,
        "rounds": len(result.rounds),
        "reason": result.reason,
        "tokens": result.usage,
        "model": result.model,
        "base_url": result.base_url,
        "task": {"messy": str(result.task.messy), "kind": result.task.kind,
                 "inputs": {k: str(v) for k, v in result.task.inputs.items()}},
        "input_sets": result.input_sets,
        "dropped_variants": result.dropped_variants,
        "original_coverage": result.coverage,
        "lineage": result.lineage,
        "per_round": [r.to_dict() for r in result.rounds],
    })  # type: ignore[return-value]


def to_markdown(payload: dict[str, Any]) -> str:
    """A readable summary of a report payload."""
    verdict = "accepted" if payload["accepted"] else "rejected"
    lines = [f"# Rewrite report: {verdict}", "", f"- reason: {payload['reason']}",
             f"- rounds: {payload['rounds']}"]
    tokens = payload.get("tokens") or {}
    if tokens:
        lines.append(f"- tokens: {tokens.get('prompt_tokens', 0)} prompt, "
                     f"{tokens.get('completion_tokens', 0)} completion "
                     f"({tokens.get('calls', 0)} calls, {tokens.get('retries', 0)} retries)")
    cov = payload.get("original_coverage") or {}
    if cov:
        lines.append(f"- original lines exercised: {cov.get('lines_hit')}/"
                     f"{cov.get('lines_executable')} over input sets "
                     f"{', '.join(payload.get('input_sets', []))}")
    lines += ["", "| round | result | failing stage | message |", "|---|---|---|---|"]
    for r in payload.get("per_round", []):
        failure = r.get("failure") or {}
        message = str(failure.get("message", "")).replace("|", "\\|").replace("\n", " ")[:120]
        lines.append(f"| {r['round']} | {'accepted' if r['accepted'] else 'rejected'} | "
                     f"{r.get('failing_stage') or ''} | {message} |")
    for r in payload.get("per_round", []):
        failure = r.get("failure") or {}
        if failure.get("details"):
            lines += ["", f"## Round {r['round']}: {failure.get('stage')}", "", "```",
                      str(failure["details"]), "```"]
    return redact("\n".join(lines) + "\n")


def write_report(payload: dict[str, Any], path: Path) -> list[Path]:
    """Write ``path`` as JSON (``.json``) or Markdown (``.md``); any other suffix gets both."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = redact_tree(payload)  # type: ignore[assignment]
    written = []
    if path.suffix != ".md":
        target = path if path.suffix == ".json" else path.with_suffix(".json")
        target.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        written.append(target)
    if path.suffix != ".json":
        target = path if path.suffix == ".md" else path.with_suffix(".md")
        target.write_text(to_markdown(payload), encoding="utf-8")
        written.append(target)
    elif path.suffix == ".json":
        md = path.with_suffix(".md")
        md.write_text(to_markdown(payload), encoding="utf-8")
        written.append(md)
    return written
