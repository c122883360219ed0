"""The ``spark-lester`` command: one module per subcommand, listed in :data:`COMMANDS`.

Each subcommand module defines ``register(subparsers)`` (adds its parser, sets
``func=run``) and ``run(args) -> int``. Heavy imports (Spark, scikit-learn) happen inside
``run`` so ``spark-lester --help`` is instant. Exit codes: 0 success, 1 the command ran but
its check failed (e.g. outputs disagree), 2 bad input (a typed ``LesterError``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

#: Subcommand modules of ``spark_lester.cli``, in help order.
COMMANDS: tuple[str, ...] = ("demo", "run", "runs", "used_rows", "fairness", "delete",
                             "plan", "analyze", "rewrite", "bench", "package", "emr")

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spark-lester",
        description="Provenance and unlearning for ML pipelines on Spark.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"spark_lester.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, hooks: Any = None) -> int:
    """Run the command ``argv``. ``hooks``: test hooks for ``delete`` (a
    :class:`~spark_lester.deletion.stages.Hooks`; the fuzzer's child process kills itself in
    one)."""
    from spark_lester.errors import LesterError

    args = build_parser().parse_args(argv)
    args.hooks = hooks
    try:
        return int(args.func(args) or 0)
    except LesterError as err:
        print(f"spark-lester {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
