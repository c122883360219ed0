"""``spark-lester rewrite``: rewrite a messy program into the subset, validated by execution.

Exit codes: 0 a rewrite was accepted (and written to ``--out``), 1 none was accepted (nothing
is written to ``--out``), 2 bad input. The API key comes from ``OPENAI_API_KEY`` (or
``SPARK_LESTER_LLM_API_KEY``) and is never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spark_lester.cli import EXIT_CHECK_FAILED, EXIT_OK
from spark_lester.cli._private import parse_named_paths


def parse_inputs(values: list[str]) -> dict[str, Path]:
    return {k: Path(v) for k, v in parse_named_paths(values, "--input").items()}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("rewrite", help="rewrite a messy pipeline with an LLM, "
                              "validated against the original by execution",
                              description=__doc__)
    p.add_argument("messy", type=Path, help="the messy Python program (the oracle)")
    p.add_argument("--input", action="append", default=[], metavar="NAME=PATH", required=True,
                   help="a sample input (repeat per source)")
    p.add_argument("--out", type=Path, required=True, help="where the accepted pipeline goes")
    p.add_argument("--report", type=Path, help="report path (.json and .md are written)")
    p.add_argument("--kind", choices=("prepare", "encoder", "model"), default="prepare",
                   help="data preparation (default), feature encoding or model definition "
                        "(--input X=features.npy)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    p.add_argument("--model", help="model name (default: SPARK_LESTER_LLM_MODEL or gpt-4o-mini)")
    p.add_argument("--max-rounds", type=int, default=3)
    p.add_argument("--variants", type=int, default=3, help="generated input variants")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.rewrite.client import LLMClient, LLMSettings
    from spark_lester.rewrite.loop import rewrite
    from spark_lester.rewrite.report import report, to_markdown, write_report
    from spark_lester.rewrite.validate import Task

    task = Task(args.messy, parse_inputs(args.input), kind=args.kind)
    settings = LLMSettings.from_env(base_url=args.base_url, model=args.model)
    client = LLMClient(settings)
    result = rewrite(task, client, max_rounds=args.max_rounds, variants=args.variants)
    payload = report(result)
    if args.report:
        write_report(payload, args.report)
    if result.accepted and result.code is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(result.code, encoding="utf-8")
    if args.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(to_markdown(payload), file=sys.stderr)
        if result.accepted:
            print(f"accepted pipeline written to {args.out}")
    return EXIT_OK if result.accepted else EXIT_CHECK_FAILED
