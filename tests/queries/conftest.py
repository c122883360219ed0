"""One small run of the running example that every query test reads."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from spark_lester.config import project_root

PIPELINE = project_root() / "examples" / "running_example" / "pipeline.py"


@pytest.fixture(scope="package")
def query_run(spark, running_example_data, tmp_path_factory):
    """(record, warehouse, customers, mails, prepared): the run and pandas oracles.

    The inputs are copied so that no other test can change the files the run read.
    ``prepared`` is the run's prepared table as pandas (row id, split, output columns).
    """
    import spark_lester

    folder = tmp_path_factory.mktemp("queries")
    paths = {}
    for name in ("customers", "mails"):
        paths[name] = str(folder / f"{name}.csv")
        shutil.copy(running_example_data[name], paths[name])
    warehouse = str(folder / "wh")
    record = spark_lester.run(PIPELINE, paths, warehouse=warehouse, run_id="q1", spark=spark)
    prepared = spark.read.format("delta").load(record.tables["prepared"].path) \
        .select("__lester_row_id", "__lester_split", "mail_id", "customer_id").toPandas()
    return (record, warehouse, pd.read_csv(paths["customers"]), pd.read_csv(paths["mails"]),
            prepared)
