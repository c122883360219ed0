"""The differential deletion fuzzer, long profile (the CI profile is tests/fuzz/test_fuzz.py).

    .venv/bin/python bench/fuzz_deletion.py --cases 700 --seed 1 --s3-share 0.3 \\
        --fault-share 0.3

Case ``i`` is generated from seed ``S * 1_000_003 + i`` (tests/fuzz/generate.py): 2-4
sources, a pipeline over the subset's operators, 2-3 requests. Each request is checked
against a fresh run on cleaned inputs and by the independent erasure check (see
tests/fuzz/harness.py). A share of the cases keeps its warehouse on moto's S3 server through
``s3a://``; a share applies its first changing request through a ``spark-lester delete``
child killed with SIGKILL at a drawn step, then re-submits it (the final state must equal
the re-run's, the re-submit must say it resumed when the kill came after its ``started``
row; a child that fails where the same request then succeeds in-process is a failure). A
request may never reach the drawn step (it changes nothing): then the child exits on its
own, and the case's next changing request is sent through a child killed at the same step,
until one is killed or the requests run out (``children`` counts the children started).

Every case is appended to ``bench/results/fuzz_cases.jsonl`` as it finishes, with the hash of
the code under test (``spark_lester/``, ``tests/fuzz/`` less its ``test_*.py``, which the
long profile does not run, this file): a long profile can be
run in pieces (``--start``) and is summed over the cases of the *current* code only.
``bench/results/fuzz.json`` is that sum: cases run and skipped (a generated pipeline that
cannot run, e.g. no training row), failures with their reproductions, counts per operator,
per request kind, on S3, with faults, the models' rho against retrained ones, seconds.

Shards of one long run write their own ``--cases-log``; ``--summarize SHARD_LOG... --seed S``
adds their cases to ``bench/results/fuzz_cases.jsonl`` and writes ``fuzz.json`` (with the
case ranges covered; ``--code`` sums a frozen tree's cases from another checkout).
"""

from __future__ import annotations

import argparse
import hashlib
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
from tests.s3server import start_moto  # noqa: E402

#: Where a child is killed: after the first step of a kind, or after its k-th step of any
#: kind (``#k``; merge, encoder, registry, model, clean_source, erase: see
#: ``deletion.stages.Hooks``). ``model:`` only for cases with a model.
KILL_STEPS = ("merge:", "erase:", "#1", "#2", "#2")
#: Where else a child of a case whose scaler is downdated is killed: after X was rewritten
#: for the new encoder, and after the registry got it.
ENCODER_STEPS = ("encoder:", "registry:")
#: The request kinds a child is killed in: the first of a case's requests that has one, and
#: while no child was killed (the step never came), each next one.
CHANGING = ("delete_keys", "delete_where", "redact_own", "redact_linked")


#: Engine packages no case imports (the LLM rewrite and the repository analyzer): left out of
#: the code hash, so work on them does not void a long run; ``main`` checks that none of
#: them was imported.
UNUSED = ("rewrite", "analyze")


def code_hash() -> str:
    """sha256 of the code a case exercises: the engine (less :data:`UNUSED`), the harness
    and generator (``tests/fuzz/`` less ``test_*.py``: the CI profile, which no case runs)
    and this file."""
    digest = hashlib.sha256()
    engine = [f for f in (ROOT / "spark_lester").rglob("*.py")
              if f.relative_to(ROOT / "spark_lester").parts[0] not in UNUSED]
    fuzz = [f for f in (ROOT / "tests" / "fuzz").glob("*.py") if not f.name.startswith("test_")]
    files = sorted([*engine, *fuzz, Path(__file__).resolve()])
    for f in files:
        digest.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def summarize(lines: list[dict], seed: int, code: str) -> dict:
    """The summary of the cases of ``seed`` run on ``code`` (the last line of a case wins)."""
    cases = {}
    for line in lines:
        if line["code"] == code and line["seed_base"] == seed:
            cases[line["case"]] = line
    ran = [c for c in cases.values() if not c["skipped"]]
    ops, kinds = Counter(), Counter()
    for c in ran:
        ops.update(c["ops"])
        kinds.update(c["kinds"])
    rhos = sorted(r for c in ran for r in c.get("rhos", []))
    return {
        "seed": seed, "code": code, "cases_generated": len(cases), "cases_run": len(ran),
        "cases_skipped": len(cases) - len(ran),
        "failures": [{k: c[k] for k in ("case", "seed", "s3", "fault", "differences",
                                         "reproduction")} for c in ran if not c["ok"]],
        "failed": sum(1 for c in ran if not c["ok"]),
        "per_operator": dict(sorted(ops.items())),
        "per_request_kind": dict(sorted(kinds.items())),
        "encoder_downdate": sum(c.get("statistics") == "downdate" for c in ran),
        "on_s3": sum(c["s3"] for c in ran), "with_faults": sum(c["fault"] for c in ran),
        "killed": sum(c["killed"] for c in ran),
        "children": sum(c.get("children") or 0 for c in ran),
        "killed_after_step": dict(sorted(Counter(c.get("kill_step") or "?" for c in ran
                                                 if c["killed"]).items())),
        "model_rho": {"requests": len(rhos), "max": rhos[-1] if rhos else None,
                      "median": rhos[len(rhos) // 2] if rhos else None},
        "seconds": round(sum(c["seconds"] for c in cases.values()), 1),
        "case_seconds_median": sorted(c["seconds"] for c in ran)[len(ran) // 2] if ran else None,
    }


def faulty_submit(harness: Harness, folder: Path, at: str, env: dict[str, str], log: dict, *,
                  targets: set[int]):
    """Requests through a child killed at ``at``, then re-submitted here: the first of
    ``targets`` (1-based numbers of the case's requests), and while no child was killed
    (the request never reached the step: the child exited on its own or was refused, as
    the request then is here), each next one of ``targets``."""
    from tests.fuzz.faults import forget_cached_logs, killed_delete

    calls = {"n": 0}
    log["children"] = 0

    def submit(body, wh):
        calls["n"] += 1
        if calls["n"] not in targets or log.get("killed"):
            return harness._unlearn(body, wh)
        log["children"] += 1
        child = folder / f"child{log['children']}"
        code = killed_delete(body, wh, at, child, env=env)
        log.update(killed=code == -9, kill_at=at, child_exit=code, kill_request=calls["n"] - 1)
        note = child / "kill_step.txt"
        log["kill_step"] = note.read_text() if note.exists() else None
        forget_cached_logs(harness.spark)
        try:
            result = harness._unlearn(body, wh)
        except Exception:
            if code not in (0, -9):  # refused here as in the child: say it was refused
                log["child_exit"] = f"{code} (refused here too)"
            raise
        if code not in (0, -9):
            tail = (child / "child.log").read_text()[-1500:]
            raise AssertionError(f"the child exited {code}, but the same request then "
                                 f"gave {result['status']} in-process: {tail}")
        log["resumed"] = bool(result.get("resumed"))
        if log["killed"] and result["status"] == "completed" and not result.get("resumed"):
            raise AssertionError("the re-submit after a kill did not say it resumed")
        return result

    return submit


def summarize_shards(args: argparse.Namespace, code: str) -> None:
    """Adds the lines of shard logs to the cases log (those it holds already once) and
    writes the summary of ``args.seed`` on ``code``, with the case ranges it covers."""
    log_path = Path(args.cases_log)
    known = log_path.read_text().splitlines() if log_path.exists() else []
    seen = set(known)
    new = []
    for shard in args.summarize:
        for text in Path(shard).read_text().splitlines():
            if text.strip() and text not in seen:
                seen.add(text)
                new.append(text)
    if new:
        with log_path.open("a") as fh:
            fh.write("".join(t + "\n" for t in new))
    lines = [json.loads(x) for x in [*known, *new] if x.strip()]
    result = summarize(lines, args.seed, code)
    if not result["cases_generated"]:
        raise SystemExit(f"no case of seed {args.seed} on code {code} in {log_path}")
    numbers = sorted(x["case"] for x in lines if x["code"] == code and x["seed_base"] == args.seed)
    ranges: list[list[int]] = []
    for n in numbers:
        if ranges and n <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], n)
        else:
            ranges.append([n, n])
    result["case_ranges"] = [f"{a}-{b}" for a, b in ranges]
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    if args.note:
        result["note"] = args.note
    Path(args.out).write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--start", type=int, default=0,
                        help="first case index (to run a long profile in pieces)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--s3-share", type=float, default=0.3)
    parser.add_argument("--fault-share", type=float, default=0.3)
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop after this long (the cases run so far are written)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "fuzz.json"))
    parser.add_argument("--cases-log",
                        default=str(ROOT / "bench" / "results" / "fuzz_cases.jsonl"))
    parser.add_argument("--summarize", nargs="+", metavar="SHARD_LOG", default=None,
                        help="run no case: add the cases of these shard logs (--cases-log of "
                             "runs in pieces) to --cases-log and write --out for --seed and "
                             "--code")
    parser.add_argument("--code", default=None,
                        help="with --summarize: the code hash to sum (default: this tree's)")
    parser.add_argument("--note", default=None, help="with --summarize: a note for --out")
    args = parser.parse_args()
    code = code_hash()
    if args.summarize:
        summarize_shards(args, args.code or code)
        return

    server, endpoint = start_moto() if args.s3_share > 0 else (None, None)
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
    log_path = Path(args.cases_log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for i in range(args.start, args.start + args.cases):
        if args.max_seconds and time.perf_counter() - started > args.max_seconds:
            break
        seed = args.seed * 1_000_003 + i
        case = random_case(seed)
        pick = random.Random(seed)
        use_s3 = endpoint is not None and pick.random() < args.s3_share
        # the requests a child may be killed in: those that change tables (the first, and
        # each next one while the kill step never came)
        targets = {n + 1 for n, r in enumerate(case.requests) if r.get("_kind") in CHANGING}
        fault = pick.random() < args.fault_share and bool(targets)
        harness = Harness(spark, root / f"case{i}",
                          warehouse=f"s3a://fuzz/case{i}/wh" if use_s3 else None, s3=s3)
        log: dict = {}
        submit = None
        if fault:
            env = {"SPARK_LESTER_S3_ENDPOINT": endpoint} if use_s3 else {}
            steps = KILL_STEPS + (("model:",) if case.model else ()) + (
                ENCODER_STEPS if case.statistics == "downdate" else ())
            submit = faulty_submit(harness, root / f"case{i}" / "child",
                                   pick.choice(steps), env, log, targets=targets)
        tick = time.perf_counter()
        rhos: list[float] = []
        try:
            outcome = harness.run(case, submit=submit)
            differences, skipped, rhos = outcome.differences, outcome.skipped, outcome.rhos
        except Exception as exc:  # noqa: BLE001 - a crash of the engine is a failure too
            differences = [f"crash: {type(exc).__name__}: {exc}",
                           traceback.format_exc(limit=6)]
            skipped = None
        line = {"case": i, "seed": seed, "seed_base": args.seed, "code": code,
                "skipped": skipped, "ok": not differences, "s3": use_s3, "fault": fault,
                "killed": bool(log.get("killed")), "kill_at": log.get("kill_at"),
                "kill_step": log.get("kill_step"), "child_exit": log.get("child_exit"),
                "children": log.get("children", 0), "kill_request": log.get("kill_request"),
                "ops": sorted(set(case.ops)), "statistics": case.statistics,
                "kinds": [r.get("_kind", "?") for r in case.requests],
                "rhos": rhos,  # json writes an infinite rho as Infinity (and reads it)
                "seconds": round(time.perf_counter() - tick, 2),
                "differences": differences[:10],
                "reproduction": json.loads(case.describe()) if differences else None}
        with log_path.open("a") as fh:
            fh.write(json.dumps(line, default=str) + "\n")
        print(f"case {i}: {'skip' if skipped else 'FAIL' if differences else 'ok'} "
              f"ops={line['ops']} s3={use_s3} fault={fault} children={line['children']} "
              f"killed={line['killed']} "
              f"({time.perf_counter() - started:.0f}s)", flush=True)
    imported = sorted(m for m in sys.modules
                      if m.split(".")[:2] in (["spark_lester", u] for u in UNUSED))
    if imported:
        raise SystemExit(f"the cases imported {imported}: take them out of UNUSED")
    lines = [json.loads(x) for x in log_path.read_text().splitlines() if x.strip()]
    result = summarize(lines, args.seed, code)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "load_average": os.getloadavg()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=1))
    spark.stop()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
