"""The differential deletion fuzzer, long profile (the CI profile is tests/fuzz/test_fuzz.py).

    .venv/bin/python bench/fuzz_deletion.py --cases 500 --seed 1 --s3-share 0.2 \\
        --fault-share 0.1

Case ``i`` is generated from seed ``S * 1_000_003 + i`` (tests/fuzz/generate.py): 2-4
sources, a pipeline over the subset's operators, 2-3 requests. Each request is checked
against a fresh run on cleaned inputs and by the independent erasure check (see
tests/fuzz/harness.py). A share of the cases keeps its warehouse on moto's S3 server through
``s3a://``; a share applies its first request through a ``spark-lester delete`` child killed
with SIGKILL at a drawn step, then re-submits it (the final state must equal the re-run's,
the re-submit must say it resumed when the kill came after its ``started`` row).

Writes ``bench/results/fuzz.json``: cases run and skipped (a generated pipeline that cannot
run, e.g. no training row), failures with their reproductions, counts per operator, per
request kind, on S3, with faults, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spark_lester.config import LesterConfig  # noqa: E402
from spark_lester.session import get_spark  # noqa: E402
from tests.fuzz.generate import random_case  # noqa: E402
from tests.fuzz.harness import Harness  # noqa: E402

KILL_STEPS = ("merge:", "model:", "erase:")


def start_s3():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def faulty_submit(harness: Harness, folder: Path, at: str, env: dict[str, str], log: dict):
    """The first request through a child killed at ``at``, then re-submitted here."""
    from tests.fuzz.faults import forget_cached_logs, killed_delete

    calls = {"n": 0}

    def submit(body, wh):
        calls["n"] += 1
        if calls["n"] == 1:
            code = killed_delete(body, wh, at, folder, env=env)
            log["killed"] = code == -9
            forget_cached_logs(harness.spark)
            result = harness._unlearn(body, wh)
            log["resumed"] = bool(result.get("resumed"))
            if log["killed"] and result["status"] == "completed" and not result.get("resumed"):
                raise AssertionError("the re-submit after a kill did not say it resumed")
            return result
        return harness._unlearn(body, wh)

    return submit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--s3-share", type=float, default=0.2)
    parser.add_argument("--fault-share", type=float, default=0.1)
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop after this long (the cases run so far are written)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "fuzz.json"))
    args = parser.parse_args()

    server, endpoint = start_s3() if args.s3_share > 0 else (None, None)
    if endpoint:  # the verification scan (pyarrow) and child processes read it from here
        os.environ["SPARK_LESTER_S3_ENDPOINT"] = endpoint
    config = LesterConfig.from_env(master="local[2]", shuffle_partitions=2,
                                   driver_memory="2g", s3_endpoint=endpoint)
    spark = get_spark(config)
    s3 = None
    if endpoint:
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="fuzz")
    root = Path(tempfile.mkdtemp(prefix="lester-fuzz-"))
    started = time.perf_counter()
    ops, kinds = Counter(), Counter()
    failures, run, skipped, on_s3, with_faults, killed = [], 0, 0, 0, 0, 0
    for i in range(args.cases):
        if args.max_seconds and time.perf_counter() - started > args.max_seconds:
            break
        seed = args.seed * 1_000_003 + i
        case = random_case(seed)
        pick = random.Random(seed)
        use_s3 = endpoint is not None and pick.random() < args.s3_share
        fault = pick.random() < args.fault_share and bool(case.requests) and \
            "resubmit" not in case.requests[0]
        harness = Harness(spark, root / f"case{i}",
                          warehouse=f"s3a://fuzz/case{i}/wh" if use_s3 else None, s3=s3)
        log: dict = {}
        submit = None
        if fault:
            env = {"SPARK_LESTER_S3_ENDPOINT": endpoint} if use_s3 else {}
            submit = faulty_submit(harness, root / f"case{i}" / "child",
                                   pick.choice(KILL_STEPS), env, log)
        try:
            outcome = harness.run(case, submit=submit)
            differences, outcome_skipped = outcome.differences, outcome.skipped
        except Exception as exc:  # noqa: BLE001 - a crash of the engine is a failure too
            differences = [f"crash: {type(exc).__name__}: {exc}",
                           traceback.format_exc(limit=6)]
            outcome_skipped = None
        if outcome_skipped:
            skipped += 1
            continue
        run += 1
        on_s3 += use_s3
        with_faults += fault
        killed += bool(log.get("killed"))
        ops.update(set(case.ops))
        kinds.update(r.get("_kind", "?") for r in case.requests)
        if differences:
            failures.append({"case": i, "seed": seed, "s3": use_s3, "fault": fault,
                             "differences": differences[:10],
                             "reproduction": json.loads(case.describe())})
        print(f"case {i}: {'FAIL' if differences else 'ok'} ops={sorted(set(case.ops))} "
              f"s3={use_s3} fault={fault} ({time.perf_counter() - started:.0f}s)", flush=True)
    result = {"seed": args.seed, "cases_requested": args.cases, "cases_run": run,
              "cases_skipped": skipped, "failures": failures, "failed": len(failures),
              "per_operator": dict(sorted(ops.items())),
              "per_request_kind": dict(sorted(kinds.items())),
              "on_s3": on_s3, "with_faults": with_faults, "killed": killed,
              "seconds": round(time.perf_counter() - started, 1),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=1))
    spark.stop()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
