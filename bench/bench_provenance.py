"""Provenance overhead: the running example's data preparation with and without provenance.

Both variants run in one Spark session on the same generated files, alternating, and are
forced to compute every output row (Spark's ``noop`` sink). The plain variant is the same
pipeline written directly in PySpark (no row ids, no provenance columns, no plan).

    .venv/bin/python bench/bench_provenance.py --sizes 100000 1000000 --repeats 2

Writes ``bench/results/provenance.json`` with seconds per variant and the overhead ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.running_example import generate  # noqa: E402
from spark_lester.config import LesterConfig  # noqa: E402
from spark_lester.frame.pipeline import load_pipeline, run_pipeline  # noqa: E402
from spark_lester.session import get_spark  # noqa: E402


def plain_prepare(spark, module, paths):
    """The running example in plain PySpark, without provenance."""
    from pyspark.sql import functions as F

    specs = module.SOURCES
    customers = spark.read.option("header", "true").schema(
        specs["customers"]["schema"]).csv(paths["customers"])
    mails = spark.read.option("header", "true").schema(specs["mails"]["schema"]).csv(paths["mails"])
    kept = customers.filter(F.col("country").isin(*module.COUNTRIES))
    recent = mails.filter(F.col("date") >= F.lit(module.START_DATE))
    data = recent.join(kept, on="email")
    sentiment = F.udf(module.sentiment, "double")
    data = (data.withColumn("title", F.lower("mail_subject"))
            .withColumn("text", F.lower("mail_text"))
            .withColumn("sentiment", sentiment("text"))
            .withColumn("title_length", F.length("title"))
            .withColumn("label", ((F.col("sentiment") < 0)
                                  & (F.col("level") == "premium")).cast("int")))
    return data.select(*module.OUTPUT_COLUMNS)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "provenance.json"))
    args = parser.parse_args()

    spark = get_spark(LesterConfig.from_env(shuffle_partitions=4))
    module = load_pipeline(ROOT / "examples" / "running_example" / "pipeline.py")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            paths = generate.write(Path(tmp) / str(n), max(n // 10, 100), n)
            sources = {"customers": paths["customers"], "mails": paths["mails"]}
            lester = lambda: run_pipeline(module, sources, spark=spark).df.write.format(  # noqa: E731
                "noop").mode("overwrite").save()
            plain = lambda: plain_prepare(spark, module, sources).write.format(  # noqa: E731
                "noop").mode("overwrite").save()
            plain()  # warm-up: JIT, Python workers, file cache
            times = {"plain": [], "provenance": []}
            for i in range(args.repeats):
                order = [("plain", plain), ("provenance", lester)]
                for name, fn in (order if i % 2 == 0 else order[::-1]):
                    times[name].append(timed(fn))
            rows = run_pipeline(module, sources, spark=spark).df.count()
            best = {k: min(v) for k, v in times.items()}
            entry = {"mails": n, "customers": max(n // 10, 100), "rows_prepared": rows,
                     "seconds": times, "best_seconds": best,
                     "overhead_ratio": round(best["provenance"] / best["plain"], 3)}
            print(json.dumps(entry), flush=True)
            results.append(entry)
    out = {"benchmark": "provenance_overhead", "goal_max_ratio": 1.3,
           "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
           "spark_master": spark.sparkContext.master, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
