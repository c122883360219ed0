"""The cluster side of ``fuzz_cluster.py``: a driver that spark-submit starts on the cluster,
as an EMR step runs, running the fuzzer's cases with sources and warehouse on ``s3a://``.

    fuzz_cluster_driver.py JOB.json

JOB holds ``start``, ``cases``, ``seed``, ``bucket``, ``endpoint``, ``work`` (a local folder for
the generated files and the re-run oracles), ``out`` (a JSON-lines file, one line per finished
case, written as it goes, with the driver's heap after it) and ``max_seconds``.

spark_lester is imported first, from the wheel spark-submit got with ``--py-files``; the
checkout is then put at the *end* of ``sys.path`` for the fuzzer's generator and harness
(``tests/fuzz``) and the snapshots (``tests/cluster/scenario.py``), so that it cannot shadow
the bundle: the driver runs test code, the executors only the bundle.
"""

from __future__ import annotations


def heap_mb(spark) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The driver JVM's heap after a full collection: what the session still holds."""
    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
    spark.sparkContext._jvm.java.lang.System.gc()
    return {"used": (runtime.totalMemory() - runtime.freeMemory()) >> 20,
            "max": runtime.maxMemory() >> 20}


def main(job_path: str) -> None:
    import json
    import sys
    import time
    from pathlib import Path

    import spark_lester

    here = Path(__file__).resolve().parent
    sys.path.append(str(here.parent))  # the checkout, after the bundle
    import fuzz_cluster  # next to this file

    import boto3

    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    job = json.loads(Path(job_path).read_text())
    spark = get_spark(LesterConfig.from_env())
    s3 = boto3.client("s3", endpoint_url=job["endpoint"], region_name="us-east-1")
    work = Path(job["work"])
    started = time.perf_counter()
    print(f"[fuzz-cluster] driver: spark_lester from {spark_lester.__file__}, "
          f"master {spark.sparkContext.master}", flush=True)
    try:
        for i in range(job["start"], job["start"] + job["cases"]):
            if job.get("max_seconds") and time.perf_counter() - started > job["max_seconds"]:
                break
            line = fuzz_cluster.run_case(
                spark, i, job["seed"], work, s3=s3, bucket=job["bucket"],
                warehouse=f"s3a://{job['bucket']}/case{i}/wh")
            line["spark_lester"] = spark_lester.__file__
            line["driver_heap_mb"] = heap_mb(spark)
            with open(job["out"], "a") as fh:
                fh.write(json.dumps(line, default=str) + "\n")
            state = "skip" if line["skipped"] else "ok" if line["ok"] else "FAIL"
            print(f"[fuzz-cluster] cluster case {i}: {state} ops={line['ops']} "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    import sys

    main(sys.argv[1])
