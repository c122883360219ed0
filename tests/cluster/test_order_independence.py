"""The artifacts do not depend on partitioning or on the order of input files and rows.

The same pipelines run, are queried and have the same deletion applied (``scenario.py``)
at ``spark.sql.shuffle.partitions`` 1, 2 and 7, on inputs whose rows are shuffled and split
over several CSV files (named so that listing order differs from row order; at 7 the files
are also split into many small input partitions). Every snapshot (tables as multisets with
every column, provenance arrays included, floats exact; the model's parameter vector; the
queries; the deletion's outcome) must be identical to the one at 1 partition with the
original single files.

On a cluster, partitioning differs from local[2] in just these ways (executors, tasks and
file splits), so this is the local half of the guarantee tests/cluster/test_cluster.py
checks on a real cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spark_lester.config import LesterConfig, project_root
from spark_lester.deletion.request import CARD_NUMBER
from tests.cluster import scenario

pytestmark = pytest.mark.slow

RUNNING_EXAMPLE = project_root() / "examples" / "running_example" / "pipeline.py"
GROUPED = project_root() / "tests" / "deletion" / "pipelines" / "grouped.py"
#: (shuffle partitions, input layout): None keeps the single original files;
#: (seed, files, max bytes per input split) shuffles the rows into that many files.
VARIANTS = [(1, None), (2, (1, 3, None)), (7, (2, 5, 4096))]


def as_csv_pipeline(pipeline: Path, folder: Path) -> Path:
    """A copy of ``pipeline`` whose sources are read as CSV whatever their path (a folder
    of CSV files would otherwise be taken for Parquet)."""
    text = pipeline.read_text()
    marker = '"key": '
    assert text.count(marker) >= 2
    target = folder / pipeline.name
    target.write_text(text.replace(marker, '"format": "csv", ' + marker))
    return target


def shuffled_files(csv: str, folder: Path, seed: int, files: int) -> str:
    """The rows of ``csv`` shuffled into ``files`` CSV files of unequal sizes in ``folder``,
    named in an order unrelated to the row order; returns the folder."""
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    rng = np.random.default_rng(seed)
    frame = frame.iloc[rng.permutation(len(frame))]
    files = min(files, len(frame))
    cuts = sorted(rng.choice(np.arange(1, len(frame)), size=files - 1, replace=False))
    names = rng.permutation(files)
    folder.mkdir(parents=True)
    for name, part in zip(names, np.split(frame, cuts)):
        part.to_csv(folder / f"part-{name:03d}.csv", index=False)
    return str(folder)


def life_cycles(spark, tmp_path, pipeline, sources, request, fairness_by, rows_per_file):
    """The snapshots of every variant of VARIANTS."""
    pipeline = as_csv_pipeline(pipeline, tmp_path)
    before = {k: spark.conf.get(k) for k in ("spark.sql.shuffle.partitions",
                                             "spark.sql.files.maxPartitionBytes")}
    snapshots = []
    try:
        for partitions, layout in VARIANTS:
            inputs = dict(sources)
            spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
            spark.conf.set("spark.sql.files.maxPartitionBytes",
                           str(layout[2]) if layout and layout[2] else before[
                               "spark.sql.files.maxPartitionBytes"])
            if layout:
                seed, files, _ = layout
                inputs = {n: shuffled_files(p, tmp_path / f"p{partitions}" / n, seed + i, files)
                          for i, (n, p) in enumerate(sorted(sources.items()))}
                assert len(spark.read.csv(inputs[sorted(inputs)[0]], header=True)
                           .rdd.glom().collect()) >= (1 if partitions < 7 else 3)
            warehouse = str(tmp_path / f"p{partitions}" / "warehouse")
            snapshots.append(scenario.life_cycle(
                spark, str(pipeline), inputs, warehouse, request,
                LesterConfig.from_env(warehouse=warehouse), fairness_by=fairness_by,
                rows_per_file=rows_per_file))
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)
    return snapshots


@pytest.mark.long
def test_running_example_does_not_depend_on_partitions_or_file_order(
        spark, running_example_data, tmp_path):
    leaked = json.loads(Path(running_example_data["leaks"]).read_text())["customer_ids"]
    request = {"source": "customers", "keys": leaked, "action": "redact_columns",
               "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER],
               "request_id": "incident"}
    sources = {n: running_example_data[n] for n in ("customers", "mails")}
    first, *others = life_cycles(spark, tmp_path, RUNNING_EXAMPLE, sources, request,
                                 "customers.level", rows_per_file=100)
    assert first["deletion"]["status"] == "completed"
    assert first["after"]["prepared"] != first["run"]["prepared"]
    for partitions, snap in zip([v[0] for v in VARIANTS[1:]], others):
        assert scenario.differences(first, snap, f"p{partitions}") == []


@pytest.mark.long  # CI's 45 minutes; CI keeps the cluster-equals-local[2] life cycle
def test_aggregating_pipeline_does_not_depend_on_partitions_or_file_order(spark, tmp_path):
    # v are multiples of 1/4: their sums are exact in any order, so any difference is the
    # engine's (provenance arrays, row ids, model), not floating-point summation order
    rng = np.random.default_rng(5)
    n = 60
    left = pd.DataFrame({"id": np.arange(1, n + 1), "k": rng.choice(list("abcdefghij"), n),
                         "v": rng.integers(-40, 40, n) / 4})
    right = pd.DataFrame({"rid": [1, 2, 3], "k": ["a", "b", "c"], "note": ["x", "y", "z"]})
    folder = tmp_path / "src"
    folder.mkdir()
    sources = {}
    for name, frame in (("left", left), ("right", right)):
        frame.to_csv(folder / f"{name}.csv", index=False)
        sources[name] = str(folder / f"{name}.csv")
    request = {"source": "left", "keys": [int(i) for i in left.id[::7]],
               "action": "delete_rows", "request_id": "drop"}
    first, *others = life_cycles(spark, tmp_path, GROUPED, sources, request, "left.k",
                                 rows_per_file=20)
    assert first["deletion"]["status"] == "completed"
    merged = [json.loads(r) for r in first["run"]["prepared"]["rows"]]
    assert any(len(r[first["run"]["prepared"]["columns"].index("__prov_left")]) > 2
               for r in merged)
    for partitions, snap in zip([v[0] for v in VARIANTS[1:]], others):
        assert scenario.differences(first, snap, f"p{partitions}") == []
