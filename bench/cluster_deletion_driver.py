"""The cluster side of ``bench_deletion.py --start-cluster`` (or ``--master``): a driver that
spark-submit starts on the cluster, as an EMR step runs, measuring one size with
``bench_deletion.measure`` on ``s3a://`` storage.

    cluster_deletion_driver.py JOB.json OUT.json

JOB holds ``mails`` (the size), ``prefix`` (``s3a://bucket/key``: sources and warehouses),
``endpoint`` (the S3 endpoint), ``work`` (a local folder for the generated files, removed
afterwards) and ``wait_for_quiet``. Writes OUT: measure's entry plus ``session``, the
cluster as the driver saw it and where the driver imported spark_lester from.

spark_lester is imported first, from the wheel spark-submit got with ``--py-files``, before
``bench_deletion`` (next to this file) puts the checkout on ``sys.path`` for the data
generator: the driver runs bench code, the executors only the bundle.
"""

from __future__ import annotations


def session_shape(spark) -> dict:  # type: ignore[no-untyped-def]
    """The cluster this driver got: its executors (the driver not counted), their cores in
    all, and the memories and partitions the session runs with."""
    sc = spark.sparkContext
    conf = sc.getConf()
    return {"master": sc.master,
            "executors": sc._jsc.sc().getExecutorMemoryStatus().size() - 1,
            "cores": sc.defaultParallelism,
            "executor_cores": conf.get("spark.executor.cores", None),
            "executor_memory": conf.get("spark.executor.memory", None),
            "driver_memory": conf.get("spark.driver.memory", None),
            "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions")}


def main(job_path: str, out_path: str) -> None:
    import json
    import shutil
    from pathlib import Path

    import spark_lester

    import bench_deletion  # next to this file; after spark_lester, see the module doc
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    job = json.loads(Path(job_path).read_text())
    storage = bench_deletion.Storage(job["prefix"], job["endpoint"])
    work = Path(job["work"])
    work.mkdir(parents=True, exist_ok=True)
    config = LesterConfig.from_env(warehouse=storage.location(work, "warehouse"))
    spark = get_spark(config)
    try:
        entry = bench_deletion.measure(spark, config, job["mails"], work,
                                       job["wait_for_quiet"], storage=storage)
        entry["session"] = {**session_shape(spark), "spark_lester": spark_lester.__file__}
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    Path(out_path).write_text(json.dumps(entry))


if __name__ == "__main__":
    import sys

    main(sys.argv[1], sys.argv[2])
