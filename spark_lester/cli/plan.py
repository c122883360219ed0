"""``spark-lester plan PIPELINE.py --source NAME=PATH ...``: print a pipeline's logical plan.

Formats: ``json`` (nodes and column lineage), ``mermaid`` (a flowchart), ``openlineage``
(an output dataset with the columnLineage facet). Reading the sources needs Spark (to learn
their schemas); no data is processed.
"""

from __future__ import annotations

import argparse
import json
import sys

from spark_lester.cli._private import parse_named_paths

FORMATS = ("json", "mermaid", "openlineage")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan", help="print the logical plan and lineage of a pipeline file",
                       description=__doc__)
    p.add_argument("pipeline", help="a pipeline file defining prepare(**sources)")
    p.add_argument("--source", action="append", default=[], metavar="NAME=PATH",
                   help="path of a source (repeat for each)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("--out", default=None, help="write here instead of standard output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.frame.pipeline import load_pipeline, run_pipeline
    from spark_lester.plan.serialize import to_json, to_mermaid, to_openlineage

    sources = parse_named_paths(args.source, "--source")
    module = load_pipeline(args.pipeline)
    frame = run_pipeline(module, sources)
    if args.format == "json":
        text = json.dumps(to_json(frame.plan), indent=2)
    elif args.format == "mermaid":
        text = to_mermaid(frame.plan)
    else:
        text = json.dumps(to_openlineage(frame.plan), indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0
