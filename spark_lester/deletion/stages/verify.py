"""``verify``: prove the removed values are gone, and run the data-quality suite.

Every object under the warehouse root is scanned (``deletion.verify``; the sources the
request leaves as they are excepted: the data lake's own data) for the removed values and
the request's patterns inside them. A resumed request re-derives the removed values from the
sources (see ``compute_change``), so it too looks for the values of the rows it removed, and
only for those: other rows may hold text its patterns match.

A removed value that remaining rows still hold as a whole cell (a common subject line, a
bank name), or a pattern match inside a removed value that a remaining row holds inside one
of its cells (a card number the kept rows also mention), is no evidence of an incomplete
erasure. Finding those takes a pass over the tables, so it is only made when the scan finds
something; the scan is then repeated without them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.layout import FEATURES, PREPARED
from spark_lester.deletion.stages import Context, since
from spark_lester.deletion.stages.erase import is_model

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.deletion.request import DeletionRequest


@dataclass
class VerifyReport:
    verification: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)


def verify(ctx: Context) -> VerifyReport:
    spark, req, plan = ctx.spark, ctx.request, ctx.plan
    report = VerifyReport()
    tick = time.perf_counter()
    data_tables = [p for p in plan.erase_paths if not is_model(p) and p != ctx.layout.runs]
    # the artifact tables whose remaining rows may still hold a removed value legitimately
    live_tables = sorted(set(data_tables) | {r.tables[n].path for r in ctx.runs or []
                                             for n in (PREPARED, FEATURES)})
    report.verification = _scan(ctx, live_tables)
    report.timings["verify"] = since(tick)
    # after the scan, not beside the vacuum: on two cores its jobs only slowed the
    # erasure down (measured), for no gain in the request's total time
    tick = time.perf_counter()
    report.quality = _quality(spark, data_tables, req)
    report.timings["quality"] = since(tick)
    return report


def _scan(ctx: Context, live_tables: list[str]) -> dict[str, Any]:
    from spark_lester.deletion.verify import needles_from, scan_warehouse, still_live

    req, needles = ctx.request, ctx.plan.needles
    # the sources the runs read that the request leaves as they are
    exclude = sorted({meta["path"] for run in ctx.recorded for meta in run.sources.values()
                      if meta["path"] not in ctx.plan.cleanup})

    def run(values: set[str], skip: frozenset[str] = frozenset()) -> Any:
        return scan_warehouse(ctx.layout.root, values, patterns=req.verify_patterns,
                              exclude=exclude, config=ctx.config, skip=skip)

    result = run(needles)
    shared: set[str] = set()
    if not result.verified and needles:
        fragments = set(needles_from(needles, req.verify_patterns)) - needles
        shared = still_live(ctx.spark, live_tables, needles, fragments)
        if shared:
            result = run(needles - shared, frozenset(shared))
    return result.to_dict() | {"shared_values_skipped": len(shared), "scope": "warehouse"}


def _quality(spark: SparkSession, paths: list[str], req: DeletionRequest
             ) -> dict[str, Any] | None:
    try:
        from spark_lester.deletion.quality import check_tables
    except ImportError:  # the quality module arrives with great-expectations
        return None
    tables = {"/".join(path.rstrip("/").split("/")[-2:]): path for path in paths}
    patterns = list(req.verify_patterns) or None
    return check_tables(spark, tables, **({"patterns": patterns} if patterns else {}))
