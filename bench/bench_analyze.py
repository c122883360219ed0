"""Benchmark: analyze a generated repository of 1,000 pipeline files on one core.

Generates Airflow DAGs, PySpark and Glue scripts, SQL files, dag-factory YAML and EMR step
JSON (200 of each kind) in a temporary directory, runs :func:`spark_lester.analyze.analyze`
in this single process (git history off: the generated tree is not a repository) and writes
``bench/results/analyze.json``. Goal from the issue: under 60 s.

    PYTHONPATH=. python bench/bench_analyze.py [--files 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

DAG = '''from datetime import datetime, timedelta
from airflow import DAG
from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.utils.task_group import TaskGroup

BUCKET = "lake-{i}"
STEPS = [{{"Name": "step_{i}", "HadoopJarStep": {{"Jar": "command-runner.jar",
          "Args": ["spark-submit", "s3://code/jobs/job_{i}.py", "--input", f"s3a://{{BUCKET}}/raw/dt={{{{{{{{ ds }}}}}}}}/",
                   "--output", f"s3://{{BUCKET}}/curated/t_{i}/"]}}}}]

with DAG("dag_{i}", schedule="{m} {h} * * *", start_date=datetime(2024, 1, 1),
         default_args={{"owner": "team-{t}", "retries": {r}, "retry_delay": timedelta(minutes=5)}}) as dag:
    wait = S3KeySensor(task_id="wait", bucket_name=BUCKET, bucket_key="raw/_SUCCESS")
    with TaskGroup("process") as process:
        steps = EmrAddStepsOperator(task_id="steps", job_flow_id="j-1", steps=STEPS)
        glue = GlueJobOperator(task_id="glue", job_name="job_{i}", script_location="s3://code/glue/g_{i}.py",
                               script_args={{"--input_path": f"s3://{{BUCKET}}/curated/t_{i}/",
                                            "--output_path": "s3://mart/t_{i}/"}})
        steps >> glue
wait >> process
'''

PYSPARK = '''import sys
from pyspark.sql import SparkSession, functions as F

RAW = "s3a://lake-{i}/raw"
spark = SparkSession.builder.getOrCreate()
events = spark.read.parquet(f"{{RAW}}/events/dt={{sys.argv[1]}}/")
users = spark.table("crm.users_{i}")
out = (events.filter(F.col("kind") == "click").join(users, "user_id", "left")
       .groupBy("country").agg(F.count("*").alias("n")))
out.write.mode("overwrite").parquet("s3://lake-{i}/curated/clicks_{i}/")
spark.sql("INSERT OVERWRITE TABLE mart.clicks_{i} SELECT * FROM crm.users_{i} u JOIN mart.base b ON u.id = b.id")
'''

GLUE = '''import sys
from awsglue.context import GlueContext
from awsglue.transforms import ApplyMapping
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "output_path"])
gc = GlueContext(SparkContext.getOrCreate())
src = gc.create_dynamic_frame.from_catalog(database="raw", table_name="t_{i}")
mapped = ApplyMapping.apply(frame=src, mappings=[("a", "string", "a", "string")])
gc.write_dynamic_frame.from_options(frame=mapped, connection_type="s3",
                                    connection_options={{"path": args["output_path"]}}, format="parquet")
'''

SQL = '''WITH recent AS (SELECT * FROM curated.orders_{i} WHERE dt = '{{{{ ds }}}}')
INSERT OVERWRITE TABLE mart.revenue_{i}
SELECT c.country, sum(r.amount) FROM recent r JOIN crm.customers c ON r.cid = c.id GROUP BY c.country;
'''

YAML = '''dag_factory_{i}:
  default_args:
    owner: team-{t}
    retries: 1
  schedule_interval: "@daily"
  tasks:
    copy:
      operator: airflow.providers.amazon.aws.operators.s3.S3CopyObjectOperator
      source_bucket_name: drop-{i}
      source_bucket_key: "in/{{{{ ds }}}}/f.csv"
      dest_bucket_name: lake-{i}
      dest_bucket_key: "raw/f_{i}.csv"
    load:
      operator: airflow.providers.amazon.aws.transfers.s3_to_redshift.S3ToRedshiftOperator
      s3_bucket: lake-{i}
      s3_key: raw/f_{i}.csv
      schema: stage
      table: t_{i}
      dependencies: [copy]
'''

STEPS_JSON = '''[{{"Name": "s_{i}", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {{"Jar": "command-runner.jar",
  "Args": ["spark-submit", "s3://code/jobs/s_{i}.py", "--source", "s3://lake-{i}/raw/", "--target", "s3://lake-{i}/out/"]}}}}]
'''

KINDS = [("dags/dag_{i}.py", DAG), ("jobs/job_{i}.py", PYSPARK), ("glue/g_{i}.py", GLUE),
         ("sql/q_{i}.sql", SQL), ("dagfactory/d_{i}.yml", YAML), ("emr/s_{i}.json", STEPS_JSON)]


def generate(root: Path, n: int) -> int:
    for k in range(n):
        path, template = KINDS[k % len(KINDS)]
        i = k
        target = root / path.format(i=i)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.format(i=i, t=i % 17, r=i % 4, m=i % 60, h=i % 24))
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "analyze.json")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    from spark_lester.analyze import analyze

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = generate(root, args.files)
        started = time.perf_counter()
        catalog = analyze(root, git=False, progress=False)
        seconds = time.perf_counter() - started
    result = {
        "benchmark": "analyze a generated repository (single process, one core)",
        "files": files,
        "pipelines": len(catalog["pipelines"]),
        "locations": sum(len(p["locations"]) for p in catalog["pipelines"]),
        "problems": len(catalog["problems"]),
        "seconds": round(seconds, 3),
        "files_per_second": round(files / seconds, 1),
        "goal_seconds": 60,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
