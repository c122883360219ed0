"""``spark-lester run PIPELINE.py --source NAME=PATH ...``: run a pipeline into the warehouse.

Writes the prepared rows, X and y as Delta tables with provenance and records the run in the
registry (``spark-lester runs`` lists it).
"""

from __future__ import annotations

import argparse
import sys

from spark_lester.cli._private import emit_json, parse_named_paths


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run a pipeline and capture its artifacts", description=__doc__)
    p.add_argument("pipeline", help="pipeline file defining prepare(**sources) and encoder()")
    p.add_argument("--source", action="append", default=[], metavar="NAME=PATH",
                   help="path of each source (repeat)")
    p.add_argument("--warehouse", default=None, help="warehouse root (default "
                   "SPARK_LESTER_WAREHOUSE or ./.lester/warehouse)")
    p.add_argument("--name", default=None, help="pipeline name (default from the file name)")
    p.add_argument("--run-id", default=None, help="run id (default: a timestamp)")
    p.add_argument("--rows-per-file", type=int, default=None,
                   help="target rows per data file of the artifact tables (default 25000)")
    p.add_argument("--json", dest="json_path", default=None, help="write a JSON summary ('-': stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.artifacts.run import run as run_pipeline
    from spark_lester.artifacts.store import ROWS_PER_FILE

    sources = parse_named_paths(args.source, "--source")
    print(f"[run] running {args.pipeline}", file=sys.stderr)
    record = run_pipeline(args.pipeline, sources, warehouse=args.warehouse, name=args.name,
                          run_id=args.run_id,
                          rows_per_file=args.rows_per_file or ROWS_PER_FILE)
    print(f"run {record.run_id}: {record.rows['total']} rows "
          f"({record.rows['train']} train, {record.rows['test']} test) in {record.seconds:.1f}s")
    emit_json(record.summary(), args.json_path)
    return 0
