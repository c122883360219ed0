"""Shared helpers of the rewrite tests: the corpus and a CLI runner without other commands."""

from __future__ import annotations

import argparse

import pytest

#: Hostile programs and mutation data are inputs of the tests, never modules to import.
collect_ignore_glob = ["hostile/*", "mutations/*"]

from spark_lester.rewrite.corpus import load_corpus


@pytest.fixture(scope="session")
def corpus():
    return {t.name: t for t in load_corpus()}


def run_cli(module, argv: list[str]) -> int:
    """Run one subcommand module the way ``spark-lester`` does (other commands may be
    missing from this checkout)."""
    parser = argparse.ArgumentParser(prog="spark-lester")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
