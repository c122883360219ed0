"""The deletion fuzzer's generated cases on a Spark standalone cluster, against the same cases
on ``local[2]`` (issue 23).

    .venv/bin/python bench/fuzz_cluster.py --cases 20 --seed 1 [--start 0]

1. Starts moto's S3 server and a standalone cluster of ``--workers`` 1-core workers on
   loopback (``tests/sparkcluster.py``: executors import spark_lester from the bundle that
   ``spark-lester package`` builds, never from this checkout).
2. Submits ``fuzz_cluster_driver.py`` with spark-submit, as an EMR step runs. The driver
   runs cases ``start .. start + cases - 1`` of the fuzzer's seed (``tests/fuzz``) with every
   source and the warehouse on ``s3a://``. Each request is checked as the fuzzer checks it:
   against a fresh run on the cleaned inputs, and by the independent erasure scan of every
   object under the warehouse. After the initial run and after each request, the engine's
   prepared and features tables and its model are snapshotted (``tests/cluster/scenario.py``:
   multisets of rows, every column, provenance included, floats exact; the model's
   parameters exactly).
3. Stops the cluster, then runs the same cases in this process on ``local[2]`` with local
   sources and a local warehouse, and compares the two sides snapshot by snapshot, with each
   request's status.

No faults are injected here (kill-and-resubmit runs in the fuzzer's long profile); the
re-run oracles of the cluster side keep their warehouses in a local folder of the driver,
which the loopback workers can reach. What the engine under test reads and writes is on S3.
One session runs every case on each side; Delta's cached table logs are dropped after each
case (see ``run_case``), and the driver's heap after each case is recorded.

Writes ``bench/results/fuzz_cluster.json`` (cases generated, run, skipped; failures on either
side, i.e. a difference from the re-run or an erasure hit; cases whose cluster snapshots
differ from local, with the first differences; counts per operator and request kind;
seconds per side) and ``fuzz_cluster_cases.jsonl`` (one line per case and side).
"""

from __future__ import annotations

import argparse
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
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).with_name("fuzz_cluster_driver.py")
BUCKET = "fuzzcluster"
#: The session settings of both sides (the fuzzer's long profile uses the same).
SHUFFLE_PARTITIONS = 2


def harness_class(base: type) -> type:
    """``base`` (the fuzzer's ``Harness``) that keeps its run record and, with ``bucket``
    and ``prefix`` set, writes every source to ``s3a://bucket/prefix/...`` as well and hands
    the pipeline those URIs (S3, the only storage a cluster's executors share)."""

    class Snapshotting(base):  # type: ignore[misc, valid-type]
        bucket: str | None = None
        prefix: str = ""
        record: Any = None

        def setup(self, case: Any) -> tuple[Any, str]:
            self.record, wh = super().setup(case)
            return self.record, wh

        def _write(self, state: dict, folder: str) -> dict[str, str]:
            local = super()._write(state, folder)
            if self.bucket is None:
                return local
            out, uploaded = {}, {}
            for name, path in local.items():
                if path not in uploaded:
                    key = f"{self.prefix}/{folder}/{Path(path).name}"
                    self.s3.upload_file(path, self.bucket, key)
                    uploaded[path] = f"s3a://{self.bucket}/{key}"
                out[name] = uploaded[path]
            return out

    return Snapshotting


def snapshot(spark: Any, record: Any) -> dict[str, Any]:
    """Every table of the run as a multiset of rows (``scenario.rows``: every column,
    provenance included, floats exact) and the model's parameters and statistics."""
    import hashlib

    from spark_lester.artifacts.layout import MODEL
    from spark_lester.artifacts.model import load_model
    from tests.cluster import scenario

    out: dict[str, Any] = {}
    for name, table in sorted(record.tables.items()):
        if name == MODEL:
            model = load_model(spark, table.path)
            out[name] = {"version": model.version, "method": model.method,
                         "n_train": model.params.n_train,
                         "w": [float(v) for v in model.params.w],
                         "params_sha256": hashlib.sha256(model.params.to_bytes()).hexdigest(),
                         "stats_sha256": hashlib.sha256(model.stats.to_bytes()).hexdigest()}
        else:
            out[name] = scenario.rows(spark.read.format("delta").load(table.path))
    return out


def run_case(spark: Any, index: int, seed_base: int, root: Path, *,
             warehouse: str | None = None, s3: Any = None, bucket: str | None = None
             ) -> dict[str, Any]:
    """Case ``index`` of ``seed_base`` as the fuzzer runs it (no faults): its outcome and the
    engine's snapshots after the initial run and after each request that was answered."""
    from tests.fuzz.generate import random_case
    from tests.fuzz.harness import Harness

    seed = seed_base * 1_000_003 + index
    case = random_case(seed)
    harness = harness_class(Harness)(spark, root / f"case{index}", warehouse=warehouse, s3=s3)
    if bucket is not None:
        harness.bucket, harness.prefix = bucket, f"case{index}/src"
    snapshots: list[dict[str, Any]] = []

    def submit(body: dict[str, Any], wh: str) -> Any:
        if not snapshots:
            snapshots.append({"after": "run", **snapshot(spark, harness.record)})
        result = harness._unlearn(body, wh)
        snapshots.append({"after": body.get("request_id"), "status": result["status"],
                          **snapshot(spark, harness.record)})
        return result

    tick = time.perf_counter()
    try:
        outcome = harness.run(case, submit=submit)
        differences, skipped, statuses = outcome.differences, outcome.skipped, outcome.statuses
    except Exception as exc:  # noqa: BLE001 - a crash of the engine is a failure too
        differences = [f"crash: {type(exc).__name__}: {exc}", traceback.format_exc(limit=6)]
        skipped, statuses = None, []
    finally:
        # Every case makes new tables (its warehouse, a re-run per request), and Delta keeps
        # each table's log with its snapshot's query plans in the driver for an hour: with
        # one session for every case, a 1 GB driver held 217 logs and 915 query executions
        # after 33 cases and failed a broadcast at case 30. No case reads another's tables.
        spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    return {"case": index, "seed": seed, "seed_base": seed_base, "skipped": skipped,
            "ok": not differences, "differences": differences[:10], "statuses": statuses,
            "ops": sorted(set(case.ops)), "kinds": [r.get("_kind", "?") for r in case.requests],
            "seconds": round(time.perf_counter() - tick, 2), "snapshots": snapshots,
            "reproduction": json.loads(case.describe()) if differences else None}


def compare_sides(cluster: dict[str, Any], local: dict[str, Any]) -> list[str]:
    """Where a case's cluster side differs from its local side: skipped or not, statuses,
    and every snapshot."""
    from tests.cluster import scenario

    if bool(cluster["skipped"]) != bool(local["skipped"]):
        return [f"skipped on one side only: cluster {cluster['skipped']!r}, "
                f"local {local['skipped']!r}"]
    return scenario.differences({"statuses": cluster["statuses"],
                                 "snapshots": cluster["snapshots"]},
                                {"statuses": local["statuses"],
                                 "snapshots": local["snapshots"]}, "", limit=10)


def summarize(cluster: list[dict[str, Any]], local: list[dict[str, Any]]) -> dict[str, Any]:
    """Both sides' lines, case by case (a case the cluster did not reach is left out)."""
    by_case = {line["case"]: line for line in local}
    pairs = [(c, by_case[c["case"]]) for c in cluster if c["case"] in by_case]
    ran = [c for c, _ in pairs if not c["skipped"]]
    ops, kinds = Counter(), Counter()
    for c in ran:
        ops.update(c["ops"])
        kinds.update(c["kinds"])
    failures = [{"side": side, "case": line["case"], "seed": line["seed"],
                 "differences": line["differences"], "reproduction": line["reproduction"]}
                for c, l in pairs for side, line in (("cluster", c), ("local", l))
                if not line["ok"]]
    differ = []
    for c, l in pairs:
        lines = compare_sides(c, l)
        if lines:
            differ.append({"case": c["case"], "seed": c["seed"], "differences": lines})
    return {
        "cases_generated": len(pairs), "cases_run": len(ran),
        "cases_skipped": len(pairs) - len(ran),
        "requests_compared": sum(len(c["snapshots"]) - 1 for c in ran if c["snapshots"]),
        "snapshots_compared": sum(len(c["snapshots"]) for c, _ in pairs),
        "failures": failures, "cluster_differs_from_local": differ,
        "per_operator": dict(sorted(ops.items())), "per_request_kind": dict(sorted(kinds.items())),
        "seconds": {"cluster": round(sum(c["seconds"] for c, _ in pairs), 1),
                    "local": round(sum(l["seconds"] for _, l in pairs), 1)},
    }


def on_cluster(args: argparse.Namespace, tmp: Path, out: Path) -> None:
    """Start moto and the cluster, submit the driver, stop everything."""
    import boto3

    sys.path.insert(0, str(ROOT))
    from tests.s3server import start_moto
    from tests.sparkcluster import start_cluster

    server, endpoint = start_moto()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=BUCKET)
        with start_cluster(tmp / "cluster", endpoint, workers=args.workers, cores=1,
                           memory=args.worker_memory) as cluster:
            job = tmp / "job.json"
            job.write_text(json.dumps({"start": args.start, "cases": args.cases,
                                       "seed": args.seed, "bucket": BUCKET,
                                       "endpoint": endpoint, "work": str(tmp / "driver"),
                                       "out": str(out), "max_seconds": args.max_seconds}))
            env = {"SPARK_LESTER_SHUFFLE_PARTITIONS": str(SHUFFLE_PARTITIONS)}
            print(f"[fuzz-cluster] submitting the driver to {cluster.master_url}",
                  file=sys.stderr, flush=True)
            done = cluster.submit(DRIVER, str(job), timeout=args.driver_timeout, env=env,
                                  conf={"spark.driver.memory": args.driver_memory})
            for line in done.stdout.splitlines():
                if line.startswith("[fuzz-cluster]"):
                    print(line, file=sys.stderr, flush=True)
            if done.returncode != 0:
                print(done.stdout[-6000:], file=sys.stderr)
                raise SystemExit(f"the cluster driver exited {done.returncode}; the cases it "
                                 f"finished are in {out}")
    finally:
        server.stop()


def on_local(args: argparse.Namespace, cases: list[int], tmp: Path) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    spark = get_spark(LesterConfig.from_env(master="local[2]",
                                            shuffle_partitions=SHUFFLE_PARTITIONS,
                                            driver_memory="2g"))
    lines = []
    try:
        for i in cases:
            lines.append(run_case(spark, i, args.seed, tmp / "local"))
            print(f"[fuzz-cluster] local case {i}: "
                  f"{'skip' if lines[-1]['skipped'] else 'ok' if lines[-1]['ok'] else 'FAIL'}",
                  file=sys.stderr, flush=True)
    finally:
        spark.stop()
    return lines


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (``timeout``, ``kill``) unwinds like Ctrl-C, so the cluster is stopped."""
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="1g")
    parser.add_argument("--driver-memory", default="1g",
                        help="the cluster driver's heap (one session runs every case; the "
                             "local side runs with 2g, as the fuzzer's long profile)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="the driver starts no case after this long")
    parser.add_argument("--driver-timeout", type=float, default=6 * 3600)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" /
                        "fuzz_cluster.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="lester-fuzz-cluster-"))
    # the cluster side's finished cases, kept if the run stops early
    cluster_lines = args.out.with_name(args.out.stem + "_cluster.partial.jsonl")
    cluster_lines.parent.mkdir(parents=True, exist_ok=True)
    cluster_lines.write_text("")
    started = time.perf_counter()
    try:
        on_cluster(args, tmp, cluster_lines)
        cluster = [json.loads(x) for x in cluster_lines.read_text().splitlines() if x.strip()]
        cluster_seconds = time.perf_counter() - started
        local = on_local(args, [c["case"] for c in cluster], tmp)
        result = {"seed": args.seed, "start": args.start, **summarize(cluster, local)}
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
        result["setup"] = {"commit": commit, "workers": args.workers, "cores_per_worker": 1,
                           "worker_memory": args.worker_memory,
                           "driver_memory": {"cluster": args.driver_memory, "local": "2g"},
                           "shuffle_partitions": SHUFFLE_PARTITIONS,
                           "storage": "moto's S3 server on loopback (s3a://)",
                           "driver_heap_used_mb_after_a_case": max(
                               (c.get("driver_heap_mb", {}).get("used", 0) for c in cluster),
                               default=None),
                           "wall_seconds": {"cluster": round(cluster_seconds, 1),
                                            "total": round(time.perf_counter() - started, 1)},
                           "machine": {"cpus": os.cpu_count(),
                                       "python": platform.python_version()}}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        cases_out = args.out.with_name(args.out.stem + "_cases.jsonl")
        with cases_out.open("w") as fh:
            for side, lines in (("cluster", cluster), ("local", local)):
                for line in lines:
                    kept = {k: v for k, v in line.items() if k != "snapshots"}
                    fh.write(json.dumps({"side": side, **kept,
                                         "snapshots": len(line["snapshots"])}, default=str)
                             + "\n")
        args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
        cluster_lines.unlink()
        print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
