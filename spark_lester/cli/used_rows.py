"""``spark-lester used-rows``: which rows of a source reached a run's training data.

Prints (or writes with ``--json``) the counts of used and unused rows; ``--show N`` prints
N rows with their ``used`` flag.
"""

from __future__ import annotations

import argparse

from spark_lester.cli._private import emit_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("used-rows", help="which source rows reached a run's training data",
                       description=__doc__)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("source", metavar="SOURCE", help="a source the run read, e.g. mails")
    p.add_argument("--warehouse", default=None, help="warehouse root")
    p.add_argument("--show", type=int, default=0, metavar="N", help="print N rows")
    p.add_argument("--json", dest="json_path", default=None, help="write JSON ('-': stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.config import LesterConfig
    from spark_lester.queries.used_rows import USED, used_rows
    from spark_lester.session import get_spark

    config = LesterConfig.from_env(warehouse=args.warehouse)
    rows = used_rows(args.run_id, args.source, warehouse=args.warehouse,
                     spark=get_spark(config))
    counts = {bool(r[USED]): int(r["count"]) for r in rows.groupBy(USED).count().collect()}
    summary = {"run_id": args.run_id, "source": args.source,
               "rows": sum(counts.values()), "used": counts.get(True, 0),
               "not_used": counts.get(False, 0)}
    if args.json_path:
        emit_json(summary, args.json_path)
    if args.json_path != "-":
        print(f"{args.source} in run {args.run_id}: {summary['used']} of {summary['rows']} "
              f"rows reached the training data, {summary['not_used']} did not")
        if args.show > 0:
            rows.show(args.show, truncate=False)
    return 0
