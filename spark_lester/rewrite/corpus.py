"""The benchmark corpus of messy pipelines and the ``bench rewrite`` runner.

Each task is a folder ``examples/rewrite_corpus/<task>/`` with ``messy.py`` (the original,
following the contract in :mod:`spark_lester.rewrite.validate`), its sample inputs, a
hand-written ``reference.py`` rewrite and ``task.json``::

    {"kind": "prepare", "inputs": {"customers": "customers.csv"}, "description": "..."}

``kind`` is ``prepare``, ``encoder`` or ``model`` (a model task's input is ``{"X": "X.npy"}``).

:func:`bench_rewrite` runs every task through the correction loop against a real endpoint and
records, per task, whether round 1 was accepted (pass@1), whether any round was, the rounds
and the tokens. It needs an endpoint and is never part of the test suite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.config import project_root
from spark_lester.errors import RewriteError
from spark_lester.rewrite.validate import Task

if TYPE_CHECKING:
    from spark_lester.rewrite.client import LLMClient

DEFAULT_CORPUS = project_root() / "examples" / "rewrite_corpus"


@dataclass(frozen=True)
class CorpusTask:
    """One benchmark task."""

    name: str
    folder: Path
    task: Task
    description: str

    @property
    def reference(self) -> str:
        return (self.folder / "reference.py").read_text(encoding="utf-8")


def load_corpus(root: Path = DEFAULT_CORPUS) -> list[CorpusTask]:
    """Every task under ``root``, sorted by name.

    >>> len(load_corpus()) >= 12
    True
    """
    tasks = []
    for meta in sorted(Path(root).glob("*/task.json")):
        folder = meta.parent
        spec = json.loads(meta.read_text(encoding="utf-8"))
        try:
            task = Task(folder / "messy.py", {n: folder / p for n, p in spec["inputs"].items()},
                        kind=spec.get("kind", "prepare"))
        except (KeyError, TypeError) as exc:
            raise RewriteError(f"corpus task {folder.name}: task.json lacks {exc}.") from None
        tasks.append(CorpusTask(folder.name, folder, task, spec.get("description", "")))
    return tasks


DETAILS_KEPT = 400


def _failure_row(failure: Any) -> dict[str, Any]:
    """A failed round as the benchmark keeps it: the stage, the message and the head of the
    details (which constructs the allow-list refused, which error was raised). A comparison's
    details are differing rows of the task's inputs, so only its message is kept."""
    details = "" if failure.stage == "compare" else failure.details[:DETAILS_KEPT]
    return {"stage": failure.stage, "message": failure.message, "details": details}


def bench_rewrite(client_factory: Callable[[], LLMClient], *, root: Path = DEFAULT_CORPUS,
                  max_rounds: int = 3, variants: int = 2,
                  only: list[str] | None = None,
                  progress: Callable[[str], None] = print,
                  on_row: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the corpus against an endpoint (a fresh client, so fresh accounting, per task).
    Data-preparation rewrites are asked for plain PySpark (``target_api`` in the result; the
    first target API's comparison run is described in ``bench/llm/run_all.sh``)."""
    from spark_lester.rewrite.loop import rewrite

    rows = []
    for item in load_corpus(root):
        if only and item.name not in only:
            continue
        client = client_factory()
        start = time.perf_counter()
        result = rewrite(item.task, client, max_rounds=max_rounds, variants=variants)
        first = result.rounds[0].failure is None if result.rounds else False
        rows.append({"task": item.name, "kind": item.task.kind, "accepted": result.accepted,
                     "pass_at_1": first, "rounds": len(result.rounds),
                     "failing_stages": [r.stage for r in result.rounds if r.stage],
                     "failures": [_failure_row(r.failure) for r in result.rounds if r.failure],
                     "reason": result.reason, "tokens": result.usage,
                     "seconds": round(time.perf_counter() - start, 2)})
        progress(f"{item.name}: {'accepted' if result.accepted else 'rejected'} "
                 f"in {len(result.rounds)} round(s)")
        if on_row is not None:  # e.g. kept as it comes: a long run loses no finished task
            on_row(rows[-1])
    n = len(rows) or 1
    return {
        "model": client_factory().settings.model,
        "target_api": "pyspark",
        "tasks": rows,
        "pass_at_1": sum(r["pass_at_1"] for r in rows) / n,
        "accepted_rate": sum(r["accepted"] for r in rows) / n,
        "mean_rounds": sum(r["rounds"] for r in rows) / n,
        "total_tokens": sum(r["tokens"].get("total_tokens", 0) for r in rows),
    }
