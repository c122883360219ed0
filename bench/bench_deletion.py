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
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.running_example import generate  # noqa: E402
from spark_lester.config import LesterConfig  # noqa: E402
from spark_lester.session import get_spark  # noqa: E402

PIPELINE = ROOT / "examples" / "running_example" / "pipeline.py"


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


def initial_run(spark, n_mails: int, work: Path, keep: Path | None) -> tuple:
    """Generate the data and run the pipeline into ``work/warehouse``: the run's record, the
    data paths and how the initial run was obtained.

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
    sources = {"customers": paths["customers"], "mails": paths["mails"]}
    start = time.perf_counter()
    record = run(PIPELINE, sources, warehouse=str(wh), spark=spark, run_id="r1")
    initial = {"initial_run_seconds": round(time.perf_counter() - start, 3),
               "initial_run_commit": _commit()}
    if keep is not None:
        shutil.rmtree(pristine, ignore_errors=True)
        shutil.copytree(wh, pristine)
        meta.write_text(json.dumps(initial))
    return record, paths, initial


def measure(spark, config, n_mails: int, work: Path, quiet: float | None = None,
            keep: Path | None = None, initial_only: bool = False) -> dict:
    import pandas as pd

    from pyspark.sql import functions as F

    from spark_lester.artifacts.layout import MODEL
    from spark_lester.artifacts.model import load_model
    from spark_lester.artifacts.run import run
    from spark_lester.deletion.compare import (model_against_retrain, same_artifacts,
                                               training_rows_of)
    from spark_lester.deletion.request import CARD_NUMBER
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.features.encode import load_encoder

    record, paths, initial = initial_run(spark, n_mails, work, keep)
    if keep is not None and initial_only:
        return {"mails": n_mails, **initial}
    wh = str(work / "warehouse")
    leaked = json.loads(Path(paths["leaks"]).read_text())["customer_ids"]
    request = {"source": "customers", "keys": leaked, "action": "redact_columns",
               "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]}
    original = load_model(spark, record.tables[MODEL]["path"]).params
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
    phases["reexecution"] = wait_for_quiet(quiet, "re-execution", n_mails)
    start = time.perf_counter()
    baseline = run(PIPELINE, {"customers": paths["customers"], "mails": str(cleaned)},
                   warehouse=str(work / "baseline"), spark=spark, run_id="baseline",
                   encoder=load_encoder(record.encoder))
    reexecution = time.perf_counter() - start
    print(f"[bench] {n_mails}: timed phases done", file=sys.stderr, flush=True)
    check = same_artifacts(spark, record, baseline)
    model = model_against_retrain(spark, record, baseline, original, old_rows)
    update = (result.get("model") or {}).get("r1", {})
    seconds = float(result["seconds_to_consistent"])
    files = {}
    for path, table in result["tables"].items():
        merge, erase = table.get("merge") or {}, table.get("erasure") or {}
        files[path.rsplit("/", 1)[-1]] = {
            "merge_files_removed": merge.get("numTargetFilesRemoved"),
            "merge_files_added": merge.get("numTargetFilesAdded"),
            "merge_deletion_vectors": merge.get("numTargetDeletionVectorsAdded"),
            "purge_files_rewritten": erase.get("files_rewritten"),
            "merge_seconds": merge.get("seconds"), "purge_seconds": erase.get("purge_seconds"),
            "vacuum_seconds": erase.get("vacuum_seconds")}
    return {
        "mails": n_mails, "rows_prepared": record.rows["total"],
        "data_files_per_table": max(1, -(-record.rows["total"] // 25_000)),
        **initial,
        "deletion_seconds": round(seconds, 3),
        "erasure_seconds": result["erasure_seconds"],
        "reexecution_seconds": round(reexecution, 3),
        "speedup": round(reexecution / seconds, 2),
        "erasure_vs_reexecution": round(result["erasure_seconds"] / reexecution, 3),
        "rows_affected": result["rows_affected"],
        "files_touched": files,
        "profile_seconds": result["timings"],
        "ivm_matches_recompute": check["equal"],
        "features_max_abs_diff": check["features"].get("max_abs_diff"),
        "erasure_verified": result["verification"]["verified"],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "deletion.json"))
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
    args = parser.parse_args()
    if args.initial_only and not args.initial_dir:
        parser.error("--initial-only needs --initial-dir")
    kept = _kept_results(args.out, args.sizes) if args.merge else []
    config = LesterConfig.from_env(master="local[2]", shuffle_partitions=4,
                                   driver_memory="8g")
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


if __name__ == "__main__":
    main()
