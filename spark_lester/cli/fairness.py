"""``spark-lester fairness``: equal opportunity of a run's model, by a column of any source.

Per group of ``--by source.column`` (found through row provenance, also when the pipeline
dropped the column): test rows, positives, false negatives and the false-negative rate; then
the equal opportunity difference (largest minus smallest FNR).
"""

from __future__ import annotations

import argparse

from spark_lester.cli._private import emit_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("fairness", help="equal opportunity of a run's model by a source column",
                       description=__doc__)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--by", required=True, metavar="SOURCE.COLUMN",
                   help="group column, e.g. customers.level")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="predict positive above this probability (default 0.5)")
    p.add_argument("--warehouse", default=None, help="warehouse root")
    p.add_argument("--json", dest="json_path", default=None, help="write JSON ('-': stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.config import LesterConfig
    from spark_lester.queries.fairness_report import fairness_report
    from spark_lester.session import get_spark

    config = LesterConfig.from_env(warehouse=args.warehouse)
    report = fairness_report(args.run_id, args.by, warehouse=args.warehouse,
                             spark=get_spark(config), threshold=args.threshold)
    if args.json_path:
        emit_json(report, args.json_path)
    if args.json_path != "-":
        print(f"{'group':20s} {'n':>7s} {'positives':>9s} {'missed':>7s} {'FNR':>6s}")
        for g in report["groups"]:
            fnr = "-" if g["fnr"] is None else f"{g['fnr']:.3f}"
            print(f"{str(g['group'])[:20]:20s} {g['n']:7d} {g['positives']:9d} "
                  f"{g['false_negatives']:7d} {fnr:>6s}")
        diff = report["equal_opportunity_difference"]
        print("equal opportunity difference: " + ("n/a (no group has positives)" if diff is None
              else f"{diff:.3f} (worst {report['worst_group']}, best {report['best_group']})"))
    return 0
