"""The benchmark's generator produces analyzable pipelines (timing lives in bench/, not here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from spark_lester.analyze import analyze


def test_generated_repository_is_fully_analyzed(tmp_path):
    path = Path(__file__).parents[2] / "bench" / "bench_analyze.py"
    spec = importlib.util.spec_from_file_location("bench_analyze", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(tmp_path, 60)
    catalog = analyze(tmp_path, git=False)
    assert catalog["problems"] == []
    assert len(catalog["pipelines"]) == 60
    dag = next(p for p in catalog["pipelines"] if p["dag_id"] == "dag_0")
    assert ("input", "s3://lake-0/raw/dt={{ ds }}") in [(l["role"], l["uri"]) for l in dag["locations"]]
    assert ["process.steps", "process.glue"] in dag["edges"] and ["wait", "process.steps"] in dag["edges"]
