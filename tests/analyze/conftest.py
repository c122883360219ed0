"""Shared fixtures of the analyzer tests: the corpus, its hand-written ground truth, a catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

#: The corpus is data to analyze, never code to import (pytest --doctest-modules would run it).
collect_ignore_glob = ["fixtures/*", "realcode/*"]

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    return json.loads((FIXTURES / "ground_truth.json").read_text())["files"]


@pytest.fixture(scope="session")
def corpus_catalog() -> dict:
    from spark_lester.analyze import analyze

    return analyze(CORPUS, git=False)
