"""The stages of a deletion request, and what they share.

Each stage is a module with one function of the same name (``check.check``,
``resolve.resolve``, ...) that takes the request's :class:`Context` and returns its own typed
report; ``deletion.runner.STAGES`` runs them in order. A stage reads what earlier stages
reported (``ctx.reports[name]``) and never writes the ledger: the runner does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.artifacts.layout import Layout
    from spark_lester.artifacts.registry import RunRecord
    from spark_lester.config import LesterConfig
    from spark_lester.deletion.records import LedgerEntry
    from spark_lester.deletion.request import DeletionRequest


def _no_hook(step: str) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    """Test hooks, passed in to ``unlearn`` (never a module global).

    ``after_step(step)`` is called after each step that changed something, with its name:
    ``merge:<run>:<table>``, ``encoder:<run>``, ``registry:<run>``, ``model:<run>``,
    ``clean_source:<source>``, ``erase:<path>``. A test raises in it to stand in for a crash
    between two steps; the fuzzer's child process kills itself in it."""

    after_step: Callable[[str], None] = _no_hook


@dataclass(frozen=True)
class Noop:
    """A stage found nothing to change: the runner records ``reason`` and stops.
    ``runs``/``changes`` are recorded when the request got as far as resolving runs."""

    reason: str
    runs: list[str] | None = None
    changes: list[dict[str, Any]] | None = None


@dataclass
class Context:
    """One request on its way through the stages."""

    spark: SparkSession
    request: DeletionRequest
    config: LesterConfig
    layout: Layout
    erase: bool
    hooks: Hooks
    #: Started at (``time.perf_counter``): the request's seconds count from here.
    clock: float = field(default_factory=time.perf_counter)
    #: Read by the runner before the first stage.
    history: list[LedgerEntry] = field(default_factory=list)
    recorded: list[RunRecord] = field(default_factory=list)
    #: Whether an earlier attempt of this request changed tables (set by the runner).
    resuming: bool = False
    #: Tables the ledger's ``started`` rows of this request name.
    started_tables: set[str] = field(default_factory=set)
    #: The runs that read the request's source (set by ``check``).
    runs: list[RunRecord] | None = None
    #: The step a failure is recorded under (a stage names finer steps as it goes).
    step: str = ""
    reports: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: The ``started`` row's write (the runner's), joined before the first step is reported.
    started: Future[None] | None = None
    report_step: Callable[[str], None] | None = None

    @cached_property
    def identity(self) -> dict[str, Any]:
        """What every ledger row and result of the request starts with (no key values)."""
        req = self.request
        return {"request_id": req.request_id, "fingerprint": req.fingerprint(),
                "description": req.describe()}

    @property
    def plan(self) -> Any:
        """The tables the request changes and erases (``resolve.Plan``)."""
        return self.reports["resolve"].plan

    def after(self, step: str) -> None:
        """Report a finished step to the hooks."""
        (self.report_step or self.hooks.after_step)(step)


def since(tick: float) -> float:
    return round(time.perf_counter() - tick, 3)


def pool(n: int):  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(8, n)), thread_name_prefix="lester")
