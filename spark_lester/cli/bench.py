"""``spark-lester bench rewrite``: run the rewrite corpus against a real endpoint.

Opt-in (it calls the model for every task; never part of CI). Writes per task pass@1,
acceptance, rounds and tokens as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spark_lester.cli import EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="benchmarks (rewrite: the LLM rewrite corpus)")
    which = p.add_subparsers(dest="bench", required=True, metavar="BENCH")
    r = which.add_parser("rewrite", help="run examples/rewrite_corpus against an endpoint")
    r.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    r.add_argument("--model", required=True)
    r.add_argument("--max-rounds", type=int, default=3)
    r.add_argument("--variants", type=int, default=2)
    r.add_argument("--task", action="append", help="only these tasks (repeatable)")
    r.add_argument("--corpus", type=Path, help="corpus folder (default: the bundled one)")
    r.add_argument("--out", type=Path, default=Path("bench/results/rewrite.json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.rewrite.client import LLMClient, LLMSettings
    from spark_lester.rewrite.corpus import DEFAULT_CORPUS, bench_rewrite

    settings = LLMSettings.from_env(base_url=args.base_url, model=args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.stem + ".partial.jsonl")
    partial.write_text("", encoding="utf-8")

    def keep(row: dict) -> None:
        with partial.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    results = bench_rewrite(lambda: LLMClient(settings), root=args.corpus or DEFAULT_CORPUS,
                            max_rounds=args.max_rounds, variants=args.variants, only=args.task,
                            on_row=keep)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    partial.unlink()
    print(f"pass@1 {results['pass_at_1']:.2f}, accepted {results['accepted_rate']:.2f}, "
          f"mean rounds {results['mean_rounds']:.2f}, tokens {results['total_tokens']} "
          f"-> {args.out}")
    return EXIT_OK
