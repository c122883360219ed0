"""bench/bench_cold_delete.py's pure parts: the -X importtime parser, the phases, the medians
(no Spark, no child process)."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "bench" / "bench_cold_delete.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_cold_delete", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


# what a child writes on stderr: importtime lines (children first), marks, other lines
LOG = """\
import time: self [us] | cumulative | imported package
import time:       300 |        300 |   encodings
import time:       100 |        400 | codecs
##cold-delete child_start
import time:       500 |        500 |       py4j.protocol
import time:       200 |        700 |     py4j
import time:      1000 |       1700 |   pyspark.sql
import time:        50 |       1750 | pyspark
[delete] req-1: redact mails.mail_subject of 5 customers
##cold-delete main
import time:      2000 |       2000 |     torch
import time:       100 |       2100 |   sentence_transformers
import time:   abc | broken line from another writer
import time:        10 |       2110 | spark_lester.features.encode
##cold-delete session_start
##cold-delete session_ready
import time:       700 |        700 |   torch.nn
import time:        40 |        740 | spark_lester.deletion.encoder
"""


def test_tree_nests_and_phases(bench):
    tree = bench.parse_importtime(LOG)
    assert [(n.name, n.phase) for n in tree] == [
        ("codecs", "start"), ("pyspark", "child_start"),
        ("spark_lester.features.encode", "main"),
        ("spark_lester.deletion.encoder", "session_ready")]
    pyspark = tree[1]
    assert [c.name for c in pyspark.children] == ["pyspark.sql"]
    assert [c.name for c in pyspark.children[0].children] == ["py4j"]
    assert [c.name for c in pyspark.children[0].children[0].children] == ["py4j.protocol"]


def test_summary(bench):
    summary = bench.import_summary(bench.parse_importtime(LOG))
    assert summary["seconds"] == pytest.approx((400 + 1750 + 2110 + 740) / 1e6)
    assert summary["seconds_by_phase"]["session_ready"] == pytest.approx(740 / 1e6)
    heavy = summary["heavy_seconds"]
    # inclusive: py4j under pyspark counts for both; torch twice (two separate imports)
    assert heavy["pyspark"] == pytest.approx(1750 / 1e6)
    assert heavy["py4j"] == pytest.approx(700 / 1e6)
    assert heavy["torch"] == pytest.approx((2000 + 700) / 1e6)
    assert heavy["spark_lester"] == pytest.approx((2110 + 740) / 1e6)
    # exclusive: every package's own time once
    assert summary["self_seconds_top"]["torch"] == pytest.approx(2700 / 1e6)
    assert list(summary["self_seconds_top"])[0] == "torch"


def test_phases_add_up(bench):
    marks = {"child_start": 100.5, "main": 101.0, "session_start": 102.0,
             "session_ready": 110.0, "main_returned": 130.0}
    phases = bench.phases_of(100.0, marks, 131.5)
    assert phases == {"interpreter_start": 0.5, "before_session": 1.5, "session_start": 8.0,
                      "request_window": 20.0, "exit": 1.5, "total": 31.5}
    # without a Spark start (nothing to do), its phases are left out and the rest still adds up
    phases = bench.phases_of(100.0, {"child_start": 100.5, "main_returned": 102.0}, 103.0)
    assert phases == {"interpreter_start": 0.5, "before_session": 1.5, "exit": 1.0,
                      "total": 3.0}


def test_medians_and_ratios(bench):
    runs = [{"total": 60.0, "timings": {"merge": 2.0},
             "probe": {"session_start_seconds": 9.0, "delta_tables_opened": 4}},
            {"total": 50.0, "timings": {"merge": 4.0},
             "probe": {"session_start_seconds": 7.0, "delta_tables_opened": 4}}]
    m = bench.medians(runs)
    assert m == {"total": 55.0, "timings.merge": 3.0, "probe.session_start_seconds": 8.0}
    assert bench.ratios({"total": 27.5, "x": 1.0}, m) == {"total": 0.5}


def test_doctests(bench):
    assert doctest.testmod(bench).failed == 0
