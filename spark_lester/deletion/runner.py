"""The deletion runner: one request through an ordered tuple of stages.

``STAGES`` is the whole story of a request, in order; each stage is a module of
``deletion.stages`` with one function of the same name, taking the request's
:class:`~spark_lester.deletion.stages.Context` and returning its typed report:

========================  ====================================================================
``check``                 the runs that read the source; their tables are where spark_lester
                          left them (or hold this request's own commits: it resumes), their
                          pipeline files and sources as the runs read them
``resolve``               per run, the change of each artifact table, the encoder's and the
                          model's work, the sources to clean
``update``                one MERGE per touched table and the model updates, side by side;
                          then the encoders and the retrains
``clean_source``          the request's rows leave the Delta sources it names (``clean_source``)
``erase``                 purge, vacuum and expire the log of every touched table
``verify``                scan every object under the warehouse root for the removed values;
                          the data-quality suite
========================  ====================================================================

The runner alone writes the ledger (``started``, then ``completed``/``updated``, or
``noop``/``failed``), keeps the timings, turns any failure into a typed error naming its step
and calls the test hooks (:class:`~spark_lester.deletion.stages.Hooks`, passed in). A stage
that finds nothing to do returns a report with ``noop`` set: the runner records it and stops.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from spark_lester.artifacts import registry, store
from spark_lester.artifacts.layout import PREPARED
from spark_lester.deletion import ledger
from spark_lester.deletion.merge import stamped
from spark_lester.deletion.records import DeletionResult, LedgerEntry, TableVersions
from spark_lester.deletion.stages import Context, Noop, pool, since
from spark_lester.deletion.stages.check import check
from spark_lester.deletion.stages.clean_source import clean_source
from spark_lester.deletion.stages.erase import erase
from spark_lester.deletion.stages.resolve import resolve
from spark_lester.deletion.stages.update import update
from spark_lester.deletion.stages.verify import verify
from spark_lester.errors import DeletionFailedError, ErasureNotVerifiedError, LesterError

#: The stages of a request, in order. ``erase`` and ``verify`` run only when the request
#: erases (``spark-lester delete --no-erase`` stops after the sources are cleaned).
STAGES: tuple[Callable[[Context], Any], ...] = (check, resolve, update, clean_source, erase,
                                                verify)
#: Stages that change tables: they run stamped with the request id, after the ``started`` row.
CHANGING = frozenset({"update", "clean_source", "erase", "verify"})
#: Stages skipped by a request that does not erase (``--no-erase``; re-submitting erases).
ERASING = frozenset({"erase", "verify"})


def run_request(ctx: Context) -> DeletionResult:
    """Take ``ctx.request`` through ``STAGES``; the result of the request (see ``unlearn``)."""
    req = ctx.request
    with pool(2) as workers:  # two small reads, side by side
        listed = workers.submit(registry.list_runs, ctx.spark, ctx.layout)
        ctx.history = ledger.entries(ctx.spark, ctx.layout)
        ctx.recorded = listed.result()
    mine = [e for e in ctx.history if e.request_id == req.request_id]
    done = [e for e in mine if e.status in (ledger.COMPLETED, ledger.NOOP)]
    if done:
        return DeletionResult(**ctx.identity, status="already_applied", ledger=done[-1].status,
                              changes=done[-1].changes)
    ctx.resuming = any(e.status in ledger.RESUMABLE for e in mine)
    ctx.started_tables = {p for e in mine if e.status in ledger.RESUMABLE
                          for p in (e.tables or {})}

    with ExitStack() as changing:
        for stage in STAGES:
            name = stage.__name__
            if name in ERASING and not ctx.erase:
                continue
            if name in CHANGING and ctx.started is None:
                changing.enter_context(stamped(ctx.spark, req.request_id))
                _start(ctx, changing.enter_context(pool(1)))
            tick = time.perf_counter()
            try:
                with _failures(ctx, name), store.storage_errors(ctx.layout.root,
                                                                io_only=True):
                    report = stage(ctx)
                    if ctx.started is not None:  # the started row landed (or its failure)
                        ctx.started.result()
            except BaseException as err:
                _record_failure(ctx, name, err)
                raise
            ctx.reports[name] = report
            ctx.timings.update(getattr(report, "timings", {}))
            if name in ("check", "resolve"):  # the ledger has always timed both as one
                ctx.timings["resolve"] = round(ctx.timings.get("resolve", 0.0)
                                               + since(tick), 3)
            if name == "check":  # tables past their version by this request's own commits
                ctx.resuming = ctx.resuming or bool(report.own or report.own_sources)
            noop = getattr(report, "noop", None)
            if noop is not None:
                return _noop(ctx, noop)
    return _complete(ctx)


def _start(ctx: Context, writer: ThreadPoolExecutor) -> None:
    """Write the ``started`` row alongside the update stage's first commits: a crash before
    it lands is still recognised (every commit carries the request id, see ``check``). The
    hooks wait for it: a step is reported only once the ledger knows of the request."""
    plan = ctx.plan
    entry = LedgerEntry(**ctx.identity, status=ledger.STARTED, runs=plan.run_ids,
                        tables={p: TableVersions(before=v) for p, v in plan.before.items()},
                        changes=ctx.reports["resolve"].summaries)
    ctx.started = writer.submit(ledger.append, ctx.spark, ctx.layout, entry)
    hook = ctx.hooks.after_step

    def after_step(step: str) -> None:
        ctx.started.result()
        hook(step)

    ctx.report_step = after_step


def _noop(ctx: Context, noop: Noop) -> DeletionResult:
    entry = LedgerEntry(**ctx.identity, status=ledger.NOOP, reason=noop.reason,
                        runs=noop.runs, changes=noop.changes)
    ledger.append(ctx.spark, ctx.layout, entry)
    if noop.runs is None:  # no run read the source: nothing was looked at
        return DeletionResult(**ctx.identity, status=ledger.NOOP, reason=noop.reason)
    return DeletionResult(**ctx.identity, status=ledger.NOOP, reason=noop.reason,
                          runs=noop.runs, changes=noop.changes, seconds=since(ctx.clock))


def _complete(ctx: Context) -> DeletionResult:
    """The ``completed`` (or ``updated``) row and the request's result."""
    spark, plan, req = ctx.spark, ctx.plan, ctx.request
    updated = ctx.reports["update"]
    cleaned = ctx.reports["clean_source"]
    erasure = ctx.reports["erase"].erasure if "erase" in ctx.reports else {}
    checked = ctx.reports.get("verify")
    merges = {**updated.merges, **cleaned.merges}
    after = {p: store.table_version(spark, p) for p in plan.erase_paths}
    tables = {p: TableVersions(before=plan.before[p], after=after[p], merge=merges.get(p),
                               erasure=erasure.get(p)) for p in plan.erase_paths}
    sources = {p: {"before": plan.source_before[p],
                   "after": registry.fingerprint(spark, p, "delta")} for p in plan.cleanup}
    verification = checked.verification if checked else {"verified": None}
    done = dict(status=ledger.COMPLETED if ctx.erase else ledger.UPDATED,
                runs=plan.run_ids, tables=tables, sources=sources or None,
                changes=ctx.reports["resolve"].summaries, model=updated.model or None,
                timings=ctx.timings, verification=verification,
                quality=checked.quality if checked else None,
                reason="resumed an interrupted attempt" if ctx.resuming else None,
                seconds=since(ctx.clock))
    ledger.append(spark, ctx.layout, LedgerEntry(**ctx.identity, **done))
    prepared = [c.tables[PREPARED].counts() for c in plan.touched]
    result = DeletionResult(
        **ctx.identity, **done, seconds_to_consistent=updated.seconds_to_consistent,
        erasure_seconds=round(ctx.timings.get("purge", 0) + ctx.timings.get("verify", 0), 3),
        rows_affected=sum(c["deleted"] + c["updated"] + c["inserted"] for c in prepared),
        resumed=ctx.resuming)
    if ctx.erase and verification.get("verified") is False:
        raise ErasureNotVerifiedError(
            f"{len(verification['hits'])} object(s) still hold removed values.",
            request_id=req.request_id, objects=len(verification["hits"]))
    return result


@contextmanager
def _failures(ctx: Context, stage: str) -> Iterator[None]:
    """Any failure that is not a typed ``LesterError`` (a Spark job, an engine bug) becomes a
    ``DeletionFailedError`` naming the step, so the runner records a ``failed`` ledger row
    and the user sees a typed error, not a traceback."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    ctx.step = _LEDGER_STEP.get(stage, stage)
    try:
        yield
    except LesterError:
        raise
    except (PySparkException, Py4JError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, AssertionError, RuntimeError, ArithmeticError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:240]
        raise DeletionFailedError(f"step '{ctx.step}' failed: {type(exc).__name__}: {first}",
                                  request_id=ctx.request.request_id, step=ctx.step) from exc


#: The step a stage's failure is recorded under until the stage names a finer one: the
#: ledger has always called the checks before any change "resolve".
_LEDGER_STEP = {"check": "resolve", "update": "merge", "clean_source": "clean source"}


def _record_failure(ctx: Context, stage: str, err: BaseException) -> None:
    """The ``failed`` row of a typed failure, named by its step ("resolve", "merge
    prepared", "erase", ...): the tables a changing stage touched, or the runs the request
    concerns. If the ledger itself cannot be written (the store is down), the original error
    is what the caller sees; anything else (a crash a test injected) is left unrecorded."""
    if ctx.started is not None:
        try:
            ctx.started.result()
        except BaseException:  # noqa: BLE001 - the stage's own failure is the one to report
            pass
    if not isinstance(err, LesterError):
        return
    entry = LedgerEntry(**ctx.identity, status=ledger.FAILED,
                        reason=f"{ctx.step}: {type(err).__name__}: {err}")
    if stage in CHANGING:
        entry = dataclasses.replace(entry, tables={p: TableVersions()
                                                   for p in ctx.plan.erase_paths})
    elif ctx.runs is not None:
        entry = dataclasses.replace(entry, runs=[r.run_id for r in ctx.runs])
    try:
        ledger.append(ctx.spark, ctx.layout, entry)
    except LesterError:
        pass
