"""``spark-lester runs``: list the runs recorded in the warehouse."""

from __future__ import annotations

import argparse

from spark_lester.cli._private import emit_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("runs", help="list recorded runs", description=__doc__)
    p.add_argument("--warehouse", default=None, help="warehouse root")
    p.add_argument("--pipeline", default=None, help="only runs of this pipeline")
    p.add_argument("--json", dest="json_path", default=None, help="write JSON ('-': stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.artifacts.layout import Layout
    from spark_lester.artifacts.registry import list_runs
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    config = LesterConfig.from_env(warehouse=args.warehouse)
    layout = Layout(args.warehouse or config.warehouse)
    runs = list_runs(get_spark(config), layout, pipeline=args.pipeline)
    if args.json_path:
        emit_json([r.summary() for r in runs], args.json_path)
    if args.json_path != "-":
        if not runs:
            print(f"no runs recorded in {layout.root}")
        for r in runs:
            print(f"{r.run_id:28s} {r.pipeline:20s} {str(r.created_at)[:19]:20s} "
                  f"rows={r.rows.get('total')} sources={','.join(sorted(r.sources))}")
    return 0
