"""Shared helpers for deletion tests: runs of pipelines and the differential oracle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spark_lester.artifacts.layout import FEATURES, PREPARED
from spark_lester.artifacts.run import run
from spark_lester.config import project_root
from spark_lester.features.encode import FEATURES as VECTOR
from spark_lester.features.encode import load_encoder

RUNNING_EXAMPLE = project_root() / "examples" / "running_example" / "pipeline.py"
PIPELINES = Path(__file__).parent / "pipelines"


@pytest.fixture(scope="module")
def small_example(tmp_path_factory):
    """A small running-example data set (customers.csv, mails.csv, leaks.json)."""
    from examples.running_example import generate

    folder = tmp_path_factory.mktemp("example")
    paths = generate.write(folder, n_customers=120, n_mails=800, seed=11)
    paths["leaks_data"] = json.loads(Path(paths["leaks"]).read_text())
    return paths


def table_rows(spark, path: str) -> list[tuple]:
    """All rows of a Delta table except the feature vector, sorted (a multiset)."""
    df = spark.read.format("delta").load(path)
    cols = sorted(c for c in df.columns if c != VECTOR)
    return sorted((tuple(r) for r in df.select(*cols).collect()), key=repr)


def feature_map(spark, path: str) -> dict[int, np.ndarray]:
    df = spark.read.format("delta").load(path)
    return {r[0]: np.asarray(r[1], dtype=np.float64)
            for r in df.select("__lester_row_id", VECTOR).collect()}


def assert_same_artifacts(spark, ivm, baseline) -> None:
    """The incremental run's tables equal the re-run's: rows exactly, X within 1e-6."""
    left = table_rows(spark, ivm.tables[PREPARED]["path"])
    right = table_rows(spark, baseline.tables[PREPARED]["path"])
    assert len(left) == len(right)
    assert left == right
    assert table_rows(spark, ivm.tables[FEATURES]["path"]) == \
        table_rows(spark, baseline.tables[FEATURES]["path"])
    a = feature_map(spark, ivm.tables[FEATURES]["path"])
    b = feature_map(spark, baseline.tables[FEATURES]["path"])
    assert a.keys() == b.keys()
    worst = max((float(np.max(np.abs(a[k] - b[k]))) for k in a), default=0.0)
    assert worst <= 1e-6
    # the library's Spark-side comparison (used by the demo and the benchmark) agrees
    from spark_lester.deletion.compare import same_artifacts

    assert same_artifacts(spark, ivm, baseline)["equal"] is True


def baseline_run(spark, pipeline, sources, warehouse, original, run_id="baseline"):
    """Re-run on cleaned sources with the original run's fitted encoder."""
    return run(pipeline, sources, warehouse=str(warehouse), spark=spark, run_id=run_id,
               encoder=load_encoder(original.encoder), rows_per_file=200)


def write_csv(frame: pd.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return str(path)
