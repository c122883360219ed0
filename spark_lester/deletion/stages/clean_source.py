"""``clean_source``: the request's rows leave the Delta sources it names.

Only for a request with ``clean_source``: the identified rows are deleted from each Delta
source the runs read them from (``deletion.source``); the source's old files go in ``erase``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from spark_lester.deletion.records import MergeMetrics
from spark_lester.deletion.source import clean_source as clean_one
from spark_lester.deletion.stages import Context, since


@dataclass
class CleanSourceReport:
    #: Per source path, the DELETE's metrics.
    merges: dict[str, MergeMetrics] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def clean_source(ctx: Context) -> CleanSourceReport:
    report = CleanSourceReport()
    for path, spec in ctx.plan.cleanup.items():
        ctx.step = "clean source"
        tick = time.perf_counter()
        report.merges[path] = clean_one(ctx.spark, path, spec, ctx.request)
        report.timings["clean_source"] = report.timings.get("clean_source", 0.0) + since(tick)
        ctx.after(f"clean_source:{spec['name']}")
    return report
