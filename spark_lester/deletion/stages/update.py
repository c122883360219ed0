"""``update``: the artifact tables and the models follow the request, side by side.

One MERGE by row id per touched table (``deletion.merge``; the tables are independent, so
their MERGEs run concurrently: the wall time is mostly driver-side Delta latency, not
tasks). The model updates run alongside: they read X as it was before the request (see
``deletion.model``), and an accepted update is stored at once; only a retrain waits for
the MERGEs. Then the runs whose fitted encoder changed get X rewritten and the new encoder
in the registry (``deletion.encoder``; one writer at a time: the registry is one table).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.layout import FEATURES
from spark_lester.deletion.merge import merge
from spark_lester.deletion.model import ModelWork, compute_update, store_model
from spark_lester.deletion.records import MergeMetrics
from spark_lester.deletion.stages import Context, pool, since

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.config import LesterConfig


@dataclass
class UpdateReport:
    #: Per table path, the MERGE's metrics (and the encoder's rewrite of X).
    merges: dict[str, MergeMetrics] = field(default_factory=dict)
    #: Per run, the stored model update.
    model: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: Seconds from the request's start until every artifact table and model followed it.
    seconds_to_consistent: float = 0.0


def update(ctx: Context) -> UpdateReport:
    spark, req, plan = ctx.spark, ctx.request, ctx.plan
    report = UpdateReport()
    tick = time.perf_counter()
    with pool(len(plan.merges) + len(plan.models)) as workers:
        updates = {w.run_id: workers.submit(_update_model, spark, w, ctx.config,
                                            req.request_id, ctx.erase)
                   for w in plan.models}
        futures = {path: workers.submit(merge, spark, path, change.tables[name],
                                        request_id=req.request_id,
                                        cluster_by=change.run.cluster_by)
                   for path, (change, name) in plan.merges.items()}
        for path, (change, name) in plan.merges.items():
            ctx.step = f"merge {name}"
            report.merges[path] = futures[path].result()
            ctx.after(f"merge:{change.run.run_id}:{name}")
        report.timings["update"] = since(tick)
        if plan.encoded:
            tick = time.perf_counter()
            _unlearn_encoders(ctx, report.merges)
            report.timings["encoder"] = since(tick)
        tick = time.perf_counter()
        for work in plan.models:
            ctx.step = "model"
            result, stored = updates[work.run_id].result()
            if stored is None:  # refused (or no update at all): retrain on X after the MERGE
                stored = store_model(spark, work, result, request_id=req.request_id,
                                     replace=ctx.erase)
            report.model[work.run_id] = stored
            ctx.after(f"model:{work.run_id}")
    if plan.models:
        # after the MERGEs: the wait for the overlapped update, a retrain
        report.timings["model"] = since(tick)
    report.seconds_to_consistent = since(ctx.clock)
    return report


def _update_model(spark: SparkSession, work: ModelWork, config: LesterConfig,
                  request_id: str, erase: bool) -> tuple[Any, dict[str, Any] | None]:
    """The model update of one run, stored at once when accepted (it does not depend on the
    MERGEs); ``(result, None)`` when it must be retrained on X after the MERGE."""
    result = compute_update(spark, work, budget=config.unlearning_budget or None,
                            refine=config.unlearning_refine)
    if result is None or result.needs_retrain:
        return result, None
    return result, store_model(spark, work, result, request_id=request_id, replace=erase)


def _unlearn_encoders(ctx: Context, merges: dict[str, MergeMetrics]) -> None:
    """After the MERGEs: rewrite X of each run whose encoder changed, then store the new
    encoders in the registry."""
    from spark_lester.deletion.encoder import rewrite_features, update_registry

    for change in ctx.plan.encoded:
        ctx.step = "encoder"
        path = change.run.tables[FEATURES].path
        rewrite = ({"skipped": True, "seconds": 0.0} if change.encoder.rewritten  # resumed
                   else rewrite_features(ctx.spark, change.run, change.encoder))
        merges[path] = dataclasses.replace(merges.get(path) or MergeMetrics(),
                                           encoder_rewrite=rewrite)
        ctx.after(f"encoder:{change.run.run_id}")
    for change in ctx.plan.encoded:
        ctx.step = "registry"
        update_registry(ctx.spark, ctx.layout, change.run, change.encoder,
                        request_id=ctx.request.request_id)
        ctx.after(f"registry:{change.run.run_id}")
