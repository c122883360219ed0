"""Deletion vs full re-execution: the running example's incident at several sizes.

Per size, in one Spark session: generate customers and mails (one customer per 10 mails),
run the pipeline into a fresh warehouse (prepared data, X/y and the logistic-regression
model), apply the incident (redact ``mail_subject`` of the mails of the 5 leaked customers)
with ``spark_lester.unlearn`` (tables and model), then re-run the whole pipeline on the
cleaned input (same fitted encoder; the model retrained from scratch) as the baseline and
compare the two: tables exactly, the model by rho against the retrained one.

The pipeline embeds title and text with the pretrained all-MiniLM-L6-v2 sentence model (as
the paper's pipeline does), so a re-execution embeds every prepared row's two texts while a
deletion re-encodes only the affected rows' titles. Both run in the same warm process: the
model is loaded in the driver and the Python workers by the initial run.

    .venv/bin/python bench/bench_deletion.py --sizes 10000 100000 1000000

Writes ``bench/results/deletion.json``: seconds until every artifact is consistent, erasure
seconds (purge + scan), re-execution seconds, their ratio, files touched, rows affected, the
per-step profile, and whether the incremental result equals the re-run.

On a shared machine, ``--wait-for-quiet LOAD`` holds each timed phase (the deletion, the
re-execution) until the 1-minute load average is below ``LOAD``; the JSON records the wait
and the load each phase started at. The initial run is not held.

``--initial-dir DIR`` keeps each size's data and initial warehouse (DIR/<mails>) and reuses
them later, so that the timed phases can be repeated without the initial run (46 min at 1M);
``--initial-only`` just builds them. A reused entry reports the first run's seconds and commit.

``--start-cluster`` (or ``--master spark://HOST:PORT --s3-endpoint URL``, a cluster already
running) measures the same deletion twice per size in one invocation: first on a Spark
standalone cluster, by a driver submitted with spark-submit (``cluster_deletion_driver.py``,
as an EMR step runs), sources and warehouses on ``s3a://``; then on local[2] with a local
warehouse. ``--start-cluster`` starts moto's S3 server and a cluster of ``--workers``
1-core workers on loopback (``tests/s3server.py``, ``tests/sparkcluster.py``: executors
import spark_lester from the bundle ``spark-lester package`` builds) and stops all of it
before the local[2] side starts, also on an error, Ctrl-C or SIGTERM. Writes
``bench/results/deletion_cluster.json``: both measurements and their ratios (cluster /
local). Storage is moto on loopback, so the ratios are the engine's cluster overhead
(spark-submit driver, executors, s3a), not AWS's.

    .venv/bin/python bench/bench_deletion.py --start-cluster --sizes 100000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.running_example import generate  # noqa: E402
from spark_lester.config import LesterConfig  # noqa: E402
from spark_lester.session import get_spark  # noqa: E402

PIPELINE = ROOT / "examples" / "running_example" / "pipeline.py"
DRIVER = ROOT / "bench" / "cluster_deletion_driver.py"
#: What the comparison divides, cluster by local[2].
RATIOS = ("deletion_seconds", "erasure_seconds", "reexecution_seconds", "speedup")
#: The local[2] side's session, as in the benchmark without a cluster.
LOCAL = {"master": "local[2]", "shuffle_partitions": 4, "driver_memory": "8g"}


class ClusterBenchError(RuntimeError):
    """The cluster side of the comparison failed (the driver's exit status and output)."""


@dataclass(frozen=True)
class Storage:
    """Where a measurement's pipeline reads its sources and keeps its warehouses.

    Local (``prefix`` None): paths under the work directory. On a cluster the executors
    share no disk with the driver, so both live under ``prefix`` (``s3a://bucket/key``,
    reached at ``endpoint``): each generated file is uploaded there, each warehouse is a key
    below it. The generated files stay on the driver's disk too: the leaked ids and the
    cleaned mails are computed from them there.

    >>> Storage("s3a://b/k").source("/tmp/w/cleaned/mails.csv")
    's3a://b/k/cleaned/mails.csv'
    >>> Storage().location(Path("/tmp/w"), "baseline")
    '/tmp/w/baseline'
    """

    prefix: str | None = None
    endpoint: str | None = None

    def location(self, work: Path, name: str) -> str:
        """A warehouse: ``work/name`` locally, ``prefix/name`` on S3."""
        return str(work / name) if self.prefix is None else f"{self.prefix}/{name}"

    def source(self, path: str) -> str:
        """Where the pipeline reads the local file ``path``: the file itself, or its folder
        and name under the prefix (``data/mails.csv`` and ``cleaned/mails.csv`` differ)."""
        if self.prefix is None:
            return path
        return f"{self.prefix}/{Path(path).parent.name}/{Path(path).name}"

    def publish(self, path: str) -> str:
        """Upload ``path`` to its ``source`` (nothing to do locally); returns the source."""
        uri = self.source(path)
        if self.prefix is not None:
            bucket, _, key = uri.removeprefix("s3a://").partition("/")
            s3_client(self.endpoint).upload_file(path, bucket, key)
        return uri


def wait_for_quiet(limit: float | None, phase: str, n_mails: int) -> dict | None:
    """Hold until the 1-minute load average is below ``limit`` (None: do not wait);
    returns the wait and the load the phase starts at."""
    if limit is None:
        return None
    start = time.perf_counter()
    announced = False
    while os.getloadavg()[0] >= limit:
        if not announced:
            print(f"[bench] {n_mails}: {phase} waits for a load below {limit}", file=sys.stderr,
                  flush=True)
            announced = True
        time.sleep(5)
    print(f"[bench] {n_mails}: {phase} starts", file=sys.stderr, flush=True)
    return {"waited_seconds": round(time.perf_counter() - start, 1),
            "load_1min_at_start": round(os.getloadavg()[0], 2)}


def initial_run(spark, n_mails: int, work: Path, keep: Path | None,
                storage: Storage = Storage()) -> tuple:
    """Generate the data and run the pipeline into ``work/warehouse``: the run's record, the
    data paths (on the local disk; ``storage`` says where the pipeline reads them and keeps
    the warehouse) and how the initial run was obtained.

    With ``keep`` (``--initial-dir``), ``work`` is a directory that outlives the process:
    the first time, the warehouse is copied to ``pristine`` after the run; later, the
    warehouse is restored from that copy at the same path (the registry records absolute
    paths) and the run is not repeated."""
    from spark_lester.artifacts.layout import Layout
    from spark_lester.artifacts.registry import get_run
    from spark_lester.artifacts.run import run

    wh, pristine, meta = work / "warehouse", work / "pristine", work / "initial.json"
    for scratch in ("cleaned", "baseline", "floor"):
        shutil.rmtree(work / scratch, ignore_errors=True)
    data = work / "data"
    paths = {"customers": str(data / "customers.csv"), "mails": str(data / "mails.csv"),
             "leaks": str(data / "leaks.json")}
    if keep is not None and meta.is_file() and pristine.is_dir():
        shutil.rmtree(wh, ignore_errors=True)
        shutil.copytree(pristine, wh)
        record = get_run(spark, Layout(str(wh)), "r1")
        return record, paths, {**json.loads(meta.read_text()), "initial_run_reused": True}
    shutil.rmtree(wh, ignore_errors=True)
    paths = generate.write(data, max(200, n_mails // 10), n_mails, seed=42)
    sources = {name: storage.publish(paths[name]) for name in ("customers", "mails")}
    start = time.perf_counter()
    record = run(PIPELINE, sources, warehouse=storage.location(work, "warehouse"), spark=spark,
                 run_id="r1")
    initial = {"initial_run_seconds": round(time.perf_counter() - start, 3),
               "initial_run_commit": _commit()}
    if keep is not None:
        shutil.rmtree(pristine, ignore_errors=True)
        shutil.copytree(wh, pristine)
        meta.write_text(json.dumps(initial))
    return record, paths, initial


def measure(spark, config, n_mails: int, work: Path, quiet: float | None = None,
            keep: Path | None = None, initial_only: bool = False,
            storage: Storage = Storage()) -> dict:
    """One size: the initial run, the deletion, the re-execution and their comparison
    (see the module doc), with the warehouses and sources where ``storage`` says."""
    import pandas as pd

    from pyspark.sql import functions as F

    from spark_lester.artifacts.layout import MODEL
    from spark_lester.artifacts.model import load_model
    from spark_lester.artifacts.run import run
    from spark_lester.deletion.compare import (model_against_retrain, same_artifacts,
                                               training_rows_of)
    from spark_lester.deletion.records import MergeMetrics
    from spark_lester.deletion.request import CARD_NUMBER
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.features.encode import load_encoder

    record, paths, initial = initial_run(spark, n_mails, work, keep, storage)
    if keep is not None and initial_only:
        return {"mails": n_mails, **initial}
    wh = storage.location(work, "warehouse")
    leaked = json.loads(Path(paths["leaks"]).read_text())["customer_ids"]
    request = {"source": "customers", "keys": leaked, "action": "redact_columns",
               "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]}
    original = load_model(spark, record.tables[MODEL].path).params
    old_rows = training_rows_of(spark, record, F.col("customer_id").isin(leaked))
    phases = {"deletion": wait_for_quiet(quiet, "deletion", n_mails)}
    result = unlearn(request, warehouse=wh, spark=spark, config=config)

    customers = pd.read_csv(paths["customers"])
    mails = pd.read_csv(paths["mails"])
    emails = set(customers[customers.customer_id.isin(leaked)].email)
    mails.loc[mails.email.isin(emails), "mail_subject"] = None
    cleaned = work / "cleaned" / "mails.csv"
    cleaned.parent.mkdir(parents=True)
    mails.to_csv(cleaned, index=False)
    cleaned_sources = {"customers": storage.source(paths["customers"]),
                       "mails": storage.publish(str(cleaned))}
    phases["reexecution"] = wait_for_quiet(quiet, "re-execution", n_mails)
    start = time.perf_counter()
    baseline = run(PIPELINE, cleaned_sources,
                   warehouse=storage.location(work, "baseline"), spark=spark, run_id="baseline",
                   encoder=load_encoder(record.encoder))
    reexecution = time.perf_counter() - start
    print(f"[bench] {n_mails}: timed phases done", file=sys.stderr, flush=True)
    check = same_artifacts(spark, record, baseline)
    model = model_against_retrain(spark, record, baseline, original, old_rows)
    update = (result.model or {}).get("r1", {})
    seconds = float(result.seconds_to_consistent)
    files = {}
    for path, table in result.tables.items():
        merge, erase = table.merge or MergeMetrics(), table.erasure or {}
        files[path.rsplit("/", 1)[-1]] = {
            "merge_files_removed": merge.files_removed,
            "merge_files_added": merge.files_added,
            "merge_deletion_vectors": merge.deletion_vectors_added,
            "purge_files_rewritten": erase.get("files_rewritten"),
            "merge_seconds": merge.seconds, "purge_seconds": erase.get("purge_seconds"),
            "vacuum_seconds": erase.get("vacuum_seconds")}
    return {
        "mails": n_mails, "rows_prepared": record.rows["total"],
        "data_files_per_table": max(1, -(-record.rows["total"] // 25_000)),
        **initial,
        "deletion_seconds": round(seconds, 3),
        "erasure_seconds": result.erasure_seconds,
        "reexecution_seconds": round(reexecution, 3),
        "speedup": round(reexecution / seconds, 2),
        "erasure_vs_reexecution": round(result.erasure_seconds / reexecution, 3),
        "rows_affected": result.rows_affected,
        "files_touched": files,
        "profile_seconds": result.timings,
        "ivm_matches_recompute": check["equal"],
        "features_max_abs_diff": check["features"].get("max_abs_diff"),
        "erasure_verified": result.verified,
        "model": {"method": update.get("method"), "retrain_reason": update.get("retrain_reason"),
                  "update_seconds": update.get("seconds"),
                  "residual_bound": update.get("residual_bound"),
                  "retrain_seconds": model["retrain_seconds"], "rho": model["rho"],
                  "accuracy_gap": model["accuracy_gap"],
                  "rows_forgotten": model["rows_forgotten"]},
        **({"quiet_machine": phases} if quiet is not None else {}),
    }


def engine_floor(spark, work: Path, repeats: int = 5) -> dict:
    """The fixed cost of the smallest MERGE this engine can run: one row updated by id in a
    one-file Delta table, in this Spark session (median of ``repeats``, after a warm-up).

    A deletion needs at least one MERGE per artifact table, so ``reexecution / floor`` bounds
    the speed-up any MERGE-based deletion can reach at a size."""
    import statistics

    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    path = str(work / "floor")
    spark.range(1000).withColumn("v", F.col("id") * 2).coalesce(1) \
        .write.format("delta").save(path)
    table = DeltaTable.forPath(spark, path)
    times = []
    for i in range(repeats + 1):
        source = spark.createDataFrame([(7, i)], "id LONG, v LONG")
        tick = time.perf_counter()
        (table.alias("t").merge(source.alias("s"), "t.id = s.id")
         .whenMatchedUpdate(set={"v": "s.v"}).execute())
        if i:  # the first is the warm-up
            times.append(time.perf_counter() - tick)
    return {"one_row_merge_seconds": round(statistics.median(times), 3),
            "repeats": repeats}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``cluster`` is set when a cluster comparison is asked for, and
    ``out`` defaults to ``deletion_cluster.json`` for one, ``deletion.json`` otherwise."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", help="the JSON to write (default: bench/results/deletion.json, "
                                      "or deletion_cluster.json for a cluster comparison)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the results of other sizes already in --out (each size "
                             "is measured in one process: deletion and re-execution side by "
                             "side), e.g. to add 1M in a run of its own")
    parser.add_argument("--wait-for-quiet", type=float, metavar="LOAD",
                        help="hold the deletion and the re-execution until the 1-minute "
                             "load average is below LOAD (a shared machine)")
    parser.add_argument("--initial-dir", metavar="DIR",
                        help="keep each size's data and initial warehouse under DIR/<mails> "
                             "and reuse them in later runs (the pipeline is not run again; "
                             "the JSON reports the first run's seconds, marked "
                             "initial_run_reused)")
    parser.add_argument("--initial-only", action="store_true",
                        help="with --initial-dir: only build the initial runs, measure nothing")
    group = parser.add_argument_group(
        "cluster comparison", "each size on a Spark standalone cluster (a driver submitted "
        "with spark-submit, storage on s3a://) and then on local[2]")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--start-cluster", action="store_true",
                       help="start moto's S3 server and a standalone cluster on loopback "
                            "(tests/s3server.py, tests/sparkcluster.py) and stop them after")
    where.add_argument("--master", metavar="spark://HOST:PORT",
                       help="a standalone cluster already running (needs --s3-endpoint)")
    group.add_argument("--s3-endpoint", metavar="URL",
                       help="with --master: the S3 endpoint the driver and the executors share")
    group.add_argument("--workers", type=int, default=2,
                       help="1-core workers to start (--start-cluster) or 1-core executors to "
                            "take (--master); default 2, the cores of local[2]")
    group.add_argument("--worker-memory", default="1g",
                       help="with --start-cluster: each worker's memory (default 1g)")
    group.add_argument("--executor-memory", metavar="SIZE",
                       help="each executor's JVM memory (default: tests/sparkcluster.py's "
                            "640m); with --start-cluster at most --worker-memory")
    group.add_argument("--executor-python", metavar="PATH",
                       help="with --master: the executors' Python, with the bundle of "
                            "`spark-lester package` installed (default: a node Python built "
                            "here, so the workers must run on this machine)")
    group.add_argument("--driver-timeout", type=float, default=4 * 3600, metavar="SECONDS",
                       help="stop a size's driver after this long (default 4 h)")
    args = parser.parse_args(argv)
    args.cluster = args.start_cluster or args.master is not None
    if args.initial_only and not args.initial_dir:
        parser.error("--initial-only needs --initial-dir")
    if args.master is not None and not args.master.startswith("spark://"):
        parser.error(f"--master {args.master}: give a standalone master, spark://HOST:PORT")
    if args.master is not None and not args.s3_endpoint:
        parser.error("--master needs --s3-endpoint, the S3 server that the cluster's driver and "
                     "executors share (or use --start-cluster, which starts both)")
    if args.master is None and (args.s3_endpoint or args.executor_python):
        parser.error("--s3-endpoint and --executor-python go with --master")
    for flag, given in (("--merge", args.merge), ("--initial-dir", args.initial_dir),
                        ("--initial-only", args.initial_only)):
        if args.cluster and given:
            parser.error(f"{flag} is for the local benchmark: a cluster comparison measures "
                         "each size afresh on both sides; leave it out")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.out is None:
        name = "deletion_cluster.json" if args.cluster else "deletion.json"
        args.out = str(ROOT / "bench" / "results" / name)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cluster:
        compare_with_cluster(args)
        return
    kept = _kept_results(args.out, args.sizes) if args.merge else []
    config = LesterConfig.from_env(**LOCAL)
    spark = get_spark(config)
    results: list[dict] = []
    floor = None
    keep = Path(args.initial_dir).resolve() if args.initial_dir else None
    for n in args.sizes:
        if keep is not None:
            work = keep / str(n)
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(tempfile.mkdtemp(prefix=f"lester-bench-{n}-"))
        try:
            entry = measure(spark, config, n, work, args.wait_for_quiet, keep,
                            args.initial_only)
        finally:
            if keep is None:
                shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(entry), flush=True)
        if args.initial_only:
            continue
        results.append(entry)
        write(args.out, config, kept + results, floor)
    if args.initial_only:
        return
    # measured last, with the JVM as warm as for the largest size
    floor_dir = Path(tempfile.mkdtemp(prefix="lester-bench-floor-"))
    try:
        floor = engine_floor(spark, floor_dir)
    finally:
        shutil.rmtree(floor_dir, ignore_errors=True)
    for entry in results:
        # per entry: results kept by --merge were divided by their own run's floor
        entry["engine_floor_seconds"] = floor["one_row_merge_seconds"]
        entry["merge_floor_speedup"] = round(entry["reexecution_seconds"]
                                             / floor["one_row_merge_seconds"], 1)
    write(args.out, config, kept + results, floor)


def _commit() -> str | None:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def _kept_results(out: str, sizes: list[int]) -> list[dict]:
    """The results in ``out`` for sizes not measured now, each marked with its run."""
    path = Path(out)
    if not path.is_file():
        return []
    old = json.loads(path.read_text())
    return [{**r, "from_earlier_run": True} for r in old.get("results", [])
            if r["mails"] not in sizes]


def write(out: str, config, results: list[dict], floor: dict | None) -> None:
    growth = None
    results = sorted(results, key=lambda r: r["mails"])
    by_size = {r["mails"]: r for r in results}
    if 100_000 in by_size and 1_000_000 in by_size:
        growth = round(by_size[1_000_000]["deletion_seconds"]
                       / by_size[100_000]["deletion_seconds"], 2)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps({
        "benchmark": "deletion of 5 customers' mail subjects vs full re-execution",
        "pipeline": "examples/running_example/pipeline.py: title and text embedded with "
                    "all-MiniLM-L6-v2 (sentence-transformers, CPU) and projected to 16 and 32 "
                    "dimensions; standardised title length; one-hot country; logistic "
                    "regression",
        "machine": {"cpus": 2, "python": platform.python_version(),
                    "spark_master": config.master},
        "goals": {"speedup_at_100k": 20, "speedup_at_1m": 100,
                  "deletion_growth_100k_to_1m_max": 2},
        "deletion_growth_100k_to_1m": growth,
        "engine_floor": floor,
        "results": results}, indent=2))


def compare_with_cluster(args: argparse.Namespace) -> None:
    """The cluster comparison (see the module doc): every size on the cluster, which is then
    stopped, then every size on local[2]; the JSON is rewritten after each measurement, so
    a failure keeps what was measured."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cluster_side: dict[int, dict] = {}
    local_side: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="lester-bench-cluster-") as tmp, \
            cluster_for(args, Path(tmp)) as cluster:
        header = comparison_header(args, cluster.endpoint)
        bucket = _bucket(cluster.endpoint)
        for n in args.sizes:
            prefix = f"s3a://{bucket}/{n}-{uuid.uuid4().hex[:8]}"
            cluster_side[n] = on_cluster(cluster, n, prefix, Path(tmp), args)
            print(json.dumps({"side": "cluster", **cluster_side[n]}), flush=True)
            write_comparison(args.out, header, args.sizes, cluster_side, local_side)
    config = LesterConfig.from_env(**LOCAL)
    spark = get_spark(config)
    try:
        for n in args.sizes:
            work = Path(tempfile.mkdtemp(prefix=f"lester-bench-{n}-"))
            try:
                local_side[n] = measure(spark, config, n, work, args.wait_for_quiet)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(json.dumps({"side": "local", **local_side[n]}), flush=True)
            write_comparison(args.out, header, args.sizes, cluster_side, local_side)
    finally:
        spark.stop()


@contextlib.contextmanager
def cluster_for(args: argparse.Namespace, tmp: Path):  # type: ignore[no-untyped-def]
    """The cluster to measure on. ``--start-cluster``: moto and a standalone cluster started
    under ``tmp`` and stopped on leaving (an error, Ctrl-C and SIGTERM included). ``--master``:
    the given cluster, with the bundle and the node Python built under ``tmp``."""
    from tests.sparkcluster import Cluster, build_bundle, executor_python, start_cluster

    if args.start_cluster:
        from tests.s3server import start_moto

        server, endpoint = start_moto()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per S3 request
        try:
            with start_cluster(tmp / "cluster", endpoint, workers=args.workers, cores=1,
                               memory=args.worker_memory) as cluster:
                yield cluster
        finally:
            server.stop()
        return
    bundle = tmp / "bundle"
    build_bundle(bundle)
    yield Cluster(root=tmp, master_url=args.master, ui_url="", endpoint=args.s3_endpoint,
                  bundle=bundle, python=executor_python(bundle, tmp / "node-python"),
                  workers=args.workers)


def on_cluster(cluster, n_mails: int, prefix: str, tmp: Path,  # type: ignore[no-untyped-def]
               args: argparse.Namespace) -> dict:
    """One size measured by a driver submitted to ``cluster`` (``cluster_deletion_driver.py``:
    ``measure`` with sources and warehouses under ``prefix``); its entry, with ``session``,
    the cluster as the driver saw it."""
    job, out = tmp / f"job-{n_mails}.json", tmp / f"out-{n_mails}.json"
    job.write_text(json.dumps({"mails": n_mails, "prefix": prefix, "endpoint": cluster.endpoint,
                               "work": str(tmp / f"work-{n_mails}"),
                               "wait_for_quiet": args.wait_for_quiet}))
    conf = {**({"spark.pyspark.python": args.executor_python} if args.executor_python else {}),
            **({"spark.executor.memory": args.executor_memory} if args.executor_memory else {})}
    # the same shuffle partitions as the local[2] side
    env = {"SPARK_LESTER_SHUFFLE_PARTITIONS": str(LOCAL["shuffle_partitions"])}
    print(f"[bench] {n_mails}: submitting the driver to {cluster.master_url}", file=sys.stderr,
          flush=True)
    try:
        done = cluster.submit(DRIVER, str(job), str(out), timeout=args.driver_timeout,
                              conf=conf or None, env=env)
    except subprocess.TimeoutExpired as exc:
        raise ClusterBenchError(f"the driver for {n_mails} mails ran past --driver-timeout "
                                f"{args.driver_timeout:.0f} s and was stopped; give it more "
                                "time") from exc
    if done.returncode != 0 or not out.is_file():
        raise ClusterBenchError(
            f"the driver for {n_mails} mails exited {done.returncode} without a result; its "
            f"output ends:\n{done.stdout[-6000:]}\nFix what it says; a small --sizes (2000) "
            "checks the cluster in a few minutes")
    for line in done.stdout.splitlines():
        if line.startswith("[bench]"):
            print(line, file=sys.stderr, flush=True)
    return json.loads(out.read_text())


def cluster_vs_local(cluster: dict | None, local: dict | None) -> dict[str, float | None]:
    """``RATIOS`` of a size's cluster entry to its local[2] entry (None until both exist).

    >>> cluster_vs_local({"deletion_seconds": 30, "erasure_seconds": 4,
    ...                   "reexecution_seconds": 90, "speedup": 3.0},
    ...                  {"deletion_seconds": 10, "erasure_seconds": 2,
    ...                   "reexecution_seconds": 60, "speedup": 6.0})
    {'deletion_seconds': 3.0, 'erasure_seconds': 2.0, 'reexecution_seconds': 1.5, 'speedup': 0.5}
    """
    def ratio(key: str) -> float | None:
        if not cluster or not local or cluster.get(key) is None or not local.get(key):
            return None
        return round(cluster[key] / local[key], 2)

    return {key: ratio(key) for key in RATIOS}


def comparison_header(args: argparse.Namespace, endpoint: str) -> dict:
    """What a cluster comparison ran on: the cluster, its storage, local[2], the machine and
    the commit (the bundle the executors import and the local side are the working tree)."""
    started = bool(args.start_cluster)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    pages = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "benchmark": "deletion of 5 customers' mail subjects vs full re-execution "
                     "(bench_deletion.py's measure), on a Spark standalone cluster and on "
                     "local[2], side by side",
        "cluster": {"master": "started by --start-cluster on 127.0.0.1" if started
                    else args.master,
                    "started_here": started,
                    "workers": args.workers if started else None,
                    "cores_per_worker": 1 if started else None,
                    "worker_memory": args.worker_memory if started else None,
                    "executor_cores_taken": args.workers,
                    "driver": "spark-submit --deploy-mode client on this machine; "
                              "executors import spark_lester from `spark-lester package`'s "
                              "bundle",
                    "storage": {"s3_endpoint": endpoint,
                                "server": "moto's S3 server on loopback (tests/s3server.py)"
                                if started else "given by --s3-endpoint"},
                    "note": "storage is moto on loopback: the ratios measure the engine's "
                            "cluster overhead (driver, executors, s3a), not AWS"
                    if started else None},
        "local": {**LOCAL, "storage": "local disk"},
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(pages / 2**30, 1),
                    "python": platform.python_version(),
                    "load_1min_at_start": round(os.getloadavg()[0], 2)},
        "commit": _commit(),
        "uncommitted_changes": bool(dirty),
        "pipeline": "examples/running_example/pipeline.py (see deletion.json)",
        "ratios": "cluster / local[2]: " + ", ".join(RATIOS),
    }


def write_comparison(out: str, header: dict, sizes: list[int], cluster_side: dict[int, dict],
                     local_side: dict[int, dict]) -> dict:
    """Write (and return) the comparison: ``header`` and, per size, both entries (None where
    not measured yet) and ``cluster_vs_local``."""
    results = [{"mails": n, "cluster": cluster_side.get(n), "local": local_side.get(n),
                "cluster_vs_local": cluster_vs_local(cluster_side.get(n), local_side.get(n))}
               for n in sizes]
    doc = {**header, "sizes": list(sizes), "results": results}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(doc, indent=2))
    return doc


def s3_client(endpoint: str | None):  # type: ignore[no-untyped-def]
    """A boto3 S3 client for ``endpoint``, with the dummy credentials of tests/s3server.py
    unless the environment sets others."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))


def _bucket(endpoint: str, name: str = "lester-bench") -> str:
    """Create the comparison's bucket at ``endpoint`` unless it exists; returns its name."""
    s3 = s3_client(endpoint)
    if name not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=name)
    return name


def _exit_on_sigterm(signum, frame) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM (``timeout``, ``kill``) unwinds like Ctrl-C, so the cluster is stopped."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
