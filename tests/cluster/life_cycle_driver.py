"""Driver script for the cluster tests (started by spark-submit, see tests/sparkcluster.py).

    life_cycle_driver.py JOB.json OUT.json

JOB holds ``pipeline`` (a file on the driver), ``sources`` (name -> s3a:// URI),
``warehouse`` (s3a://) and ``request`` (the deletion request). Writes OUT with where the
driver and the executors imported spark_lester from (``probe``) and the snapshots of
``scenario.life_cycle``.
"""

from __future__ import annotations


def where(_):  # runs in an executor's Python worker
    import os
    import sys

    import spark_lester

    yield {"spark_lester": spark_lester.__file__, "python": sys.executable,
           "torch_preloaded": "torch" in sys.modules, "cwd": os.getcwd()}


def main(job_path: str, out_path: str) -> None:
    import json
    import sys
    import time

    import scenario  # next to this file

    import spark_lester
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    job = json.loads(open(job_path).read())
    config = LesterConfig.from_env(warehouse=job["warehouse"])
    started = time.perf_counter()
    spark = get_spark(config)
    sc = spark.sparkContext
    probe = {"driver": {"spark_lester": spark_lester.__file__, "python": sys.executable,
                        "master": sc.master,
                        "daemon_module": sc.getConf().get("spark.python.daemon.module", None)},
             "executors": sc.parallelize(range(4), 4).mapPartitions(where).collect()}
    tick = time.perf_counter()
    snapshots = scenario.life_cycle(spark, job["pipeline"], job["sources"], job["warehouse"],
                                    job["request"], config)
    result = {"probe": probe, "snapshots": snapshots,
              "seconds": {"session": round(tick - started, 1),
                          "life_cycle": round(time.perf_counter() - tick, 1)}}
    with open(out_path, "w") as f:
        json.dump(result, f)
    spark.stop()


if __name__ == "__main__":
    import sys

    main(sys.argv[1], sys.argv[2])
