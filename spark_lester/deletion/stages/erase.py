"""``erase``: the removed values leave the files of every table the request touched.

Earlier model versions are deleted first (they were fitted on the removed data); then each
table is purged (its deletion vectors materialised: rows rewritten without the removed
ones), its log expired and then vacuumed (``deletion.erasure``), the tables side by side. A model
table the request replaced holds one version and no deletion vectors: nothing to purge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from spark_lester.artifacts.layout import MODEL
from spark_lester.deletion.stages import Context, pool, since


@dataclass
class EraseReport:
    #: Per table path: files rewritten by the purge, files vacuumed, log files expired.
    erasure: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def is_model(path: str) -> bool:
    """Whether ``path`` is a run's model table (see ``Layout.table``)."""
    return path.rstrip("/").endswith("/" + MODEL)


def erase(ctx: Context) -> EraseReport:
    from spark_lester.artifacts.model import drop_earlier_versions
    from spark_lester.deletion.erasure import purge, vacuum

    spark, req, plan = ctx.spark, ctx.request, ctx.plan
    tick = time.perf_counter()
    report = EraseReport()
    replaced = {w.path for w in plan.models}  # stored as the only version (replace=erase)
    for path in plan.erase_paths:
        if is_model(path) and path not in replaced:
            drop_earlier_versions(spark, path)
    to_purge = [p for p in plan.erase_paths if p not in replaced]
    with pool(len(plan.erase_paths)) as workers:
        purged = {p: workers.submit(purge, spark, p, request_id=req.request_id)
                  for p in to_purge}
        for path in plan.erase_paths:
            report.erasure[path] = purged[path].result() if path in purged else \
                {"files_rewritten": 0, "purge_seconds": 0.0}
        vacuumed = {p: workers.submit(vacuum, spark, p, request_id=req.request_id)
                    for p in plan.erase_paths}
        for path in plan.erase_paths:
            report.erasure[path].update(vacuumed[path].result())
            ctx.after(f"erase:{path}")
    report.timings["purge"] = since(tick)
    return report
