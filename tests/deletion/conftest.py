"""Shared helpers for deletion tests: runs of pipelines and the differential oracle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import FEATURES, PREPARED, Layout
from spark_lester.artifacts.run import run
from spark_lester.config import project_root
from spark_lester.features.encode import FEATURES as VECTOR
from spark_lester.features.encode import load_encoder

RUNNING_EXAMPLE = project_root() / "examples" / "running_example" / "pipeline.py"
PIPELINES = Path(__file__).parent / "pipelines"


@pytest.fixture(scope="session")
def small_example(tmp_path_factory):
    """A small running-example data set (customers.csv, mails.csv, leaks.json); read only."""
    from examples.running_example import generate

    folder = tmp_path_factory.mktemp("example")
    paths = generate.write(folder, n_customers=120, n_mails=800, seed=11)
    paths["leaks_data"] = json.loads(Path(paths["leaks"]).read_text())
    return paths


class SavedRun:
    """One pipeline run, made once and put back as it was whenever a test needs it fresh.

    The registry records absolute table paths, so a copy of the warehouse elsewhere would
    still name (and change) the original tables. Instead the warehouse is saved next to
    itself (``<warehouse>.saved``) and restored in place: every file, the Delta logs and the
    registry as ``run`` left them. Delta caches a table's log by path; the cache is dropped
    so the restored (older) log is read again. ``s3`` (a boto3 client) is needed for an
    ``s3a://`` warehouse.
    """

    def __init__(self, spark, pipeline, sources, warehouse: str, *, s3=None, **run_kwargs):
        self.spark = spark
        self.warehouse = warehouse
        self.record = run(pipeline, sources, warehouse=warehouse, spark=spark, run_id="r1",
                          **run_kwargs)
        self._files = _S3Folders(s3) if warehouse.startswith("s3a://") else _LocalFolders()
        self._saved = f"{warehouse}.saved"
        self._files.copy(warehouse, self._saved)

    def restore(self):
        """``(warehouse, record)``, with the warehouse as ``run`` left it."""
        self._files.remove(self.warehouse)
        self._files.copy(self._saved, self.warehouse)
        self.spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
        # what Delta now reads is the run's state, not a cached later one
        for table in self.record.tables.values():
            assert store.table_version(self.spark, table.path) == table.version
        assert not store.exists(self.spark, Layout(self.warehouse).ledger)
        return self.warehouse, self.record


class _LocalFolders:
    def copy(self, source: str, target: str) -> None:
        shutil.copytree(source, target)  # file times too (copy2)

    def remove(self, folder: str) -> None:
        shutil.rmtree(folder)


class _S3Folders:
    def __init__(self, client):
        self.client = client

    def _keys(self, uri: str) -> tuple[str, list[str]]:
        bucket, _, prefix = uri.removeprefix("s3a://").partition("/")
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix + "/")
        return bucket, [o["Key"] for page in pages for o in page.get("Contents", [])]

    def copy(self, source: str, target: str) -> None:
        bucket, keys = self._keys(source)
        old, new = source.split("/", 3)[3], target.split("/", 3)[3]
        for key in keys:
            self.client.copy_object(Bucket=bucket, Key=new + key.removeprefix(old),
                                    CopySource={"Bucket": bucket, "Key": key})

    def remove(self, folder: str) -> None:
        bucket, keys = self._keys(folder)
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": k} for k in keys[start:start + 1000]]})


@pytest.fixture(scope="session")
def saved_example_run(spark, small_example, tmp_path_factory):
    """The running example's run ``r1`` on ``small_example`` (200 rows per file), made once
    for every deletion test that starts from exactly that run."""
    return SavedRun(spark, RUNNING_EXAMPLE, {"customers": small_example["customers"],
                                             "mails": small_example["mails"]},
                    str(tmp_path_factory.mktemp("example_run") / "wh"), rows_per_file=200)


@pytest.fixture
def example_run(saved_example_run):
    """``(warehouse, record)``: a warehouse holding only the running example's run ``r1``,
    as ``run`` leaves it, for a test that changes it."""
    return saved_example_run.restore()


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
    left = table_rows(spark, ivm.tables[PREPARED].path)
    right = table_rows(spark, baseline.tables[PREPARED].path)
    assert len(left) == len(right)
    assert left == right
    assert table_rows(spark, ivm.tables[FEATURES].path) == \
        table_rows(spark, baseline.tables[FEATURES].path)
    a = feature_map(spark, ivm.tables[FEATURES].path)
    b = feature_map(spark, baseline.tables[FEATURES].path)
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


class Crash(Exception):
    """Stands in for ``spark-lester delete`` killed right after a step."""


def crash_then_resubmit(spark, wh: str, request: dict, crash_at) -> dict:
    """Submit ``request`` with a hook that raises :class:`Crash` after the step
    ``crash_at`` (a step name, or a predicate on it), then re-submit it: the re-submit
    must complete and say it resumed; its result."""
    from spark_lester.deletion.stages import Hooks
    from spark_lester.deletion.unlearn import unlearn

    def crash(step: str) -> None:
        if (crash_at(step) if callable(crash_at) else step == crash_at):
            raise Crash(step)

    with pytest.raises(Crash):
        unlearn(request, warehouse=wh, spark=spark, hooks=Hooks(after_step=crash))
    result = unlearn(request, warehouse=wh, spark=spark)
    assert result["status"] == "completed" and result["resumed"] is True
    return result
