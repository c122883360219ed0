"""Per-run overhead of the sandbox: the same runner job under bubblewrap vs a plain subprocess.

Run: ``.venv/bin/python bench/bench_sandbox.py [--runs N] [--spark-runs N]`` ->
``bench/results/sandbox.json``.

Two workloads, each run alternately plain and sandboxed in one process (so both see the same
machine load), the ratio and difference of the medians reported:

* ``raw``: the runner's ``raw`` job on a trivial program (imports, guard, the program);
* ``pipeline``: the runner's ``pipeline`` job, which starts a local Spark JVM and runs the
  running example's reference rewrite on its sample (what one validation round pays).

The sandboxed run includes everything a rewrite run pays besides its own work: the mount
staging (``unshare --mount`` + ``setpriv`` on a root host), ``bwrap``'s namespaces and mounts,
the seccomp filter, rlimits, the pipes read by the host, and the process-group kill. The
plain run is the same job, same interpreter, same environment, with none of that.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from spark_lester.rewrite.sandbox import (
    Limits,
    PythonCommand,
    network_isolation,
    run_sandboxed,
    sandbox_env,
)
from spark_lester.rewrite.seccomp import seccomp_available
from spark_lester.rewrite.validate import package_root

TRIVIAL = "print(sum(range(1000)))\n"


def _raw_job(work: Path) -> Path:
    (work / "p.py").write_text(TRIVIAL)
    job = {"kind": "raw", "program": str(work / "p.py"), "workdir": str(work),
           "package_root": str(package_root())}
    (work / "job.json").write_text(json.dumps(job))
    return work / "job.json"


def _pipeline_job(work: Path) -> Path:
    from spark_lester.config import LesterConfig
    from spark_lester.rewrite.corpus import load_corpus

    item = {t.name: t for t in load_corpus()}["running_example"]
    inputs = {}
    for name, path in item.task.inputs.items():
        target = work / "inputs" / name / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        inputs[name] = str(target)
    (work / "rewrite.py").write_text(item.reference)
    job = {"kind": "pipeline", "workdir": str(work), "package_root": str(package_root()),
           "jars_dir": str(LesterConfig.from_env().jars_dir),
           "programs": [{"program": str(work / "rewrite.py"), "out": str(work / "out"),
                         "input_sets": {"sample": inputs}}]}
    (work / "job.json").write_text(json.dumps(job))
    return work / "job.json"


def once(make_job, sandboxed: bool, limits: Limits) -> float:
    with tempfile.TemporaryDirectory(prefix="lester-bench-") as tmp:
        work = Path(tmp)
        job = make_job(work)
        argv = PythonCommand().argv(job)
        start = time.perf_counter()
        if sandboxed:
            result = run_sandboxed(argv, work, limits)
            assert result.clean, (result.describe(), result.stderr[-2000:])
        else:
            (work / ".tmp").mkdir(exist_ok=True)
            done = subprocess.run(argv, cwd=work, env=sandbox_env(work), input=b"nonce\n",
                                  capture_output=True, timeout=limits.wall_s)
            assert done.returncode == 0, done.stderr[-2000:]
        seconds = time.perf_counter() - start
        assert not (work / "out" / "error.json").exists()
        return seconds


def measure(make_job, runs: int, limits: Limits) -> dict[str, object]:
    once(make_job, True, limits)  # warm the page cache
    plain, boxed = [], []
    for _ in range(runs):
        plain.append(once(make_job, False, limits))
        boxed.append(once(make_job, True, limits))
    p, s = statistics.median(plain), statistics.median(boxed)
    return {"runs": runs, "plain_s": {"median": p, "max": max(plain)},
            "sandbox_s": {"median": s, "max": max(boxed)},
            "overhead_s": {"median": s - p}, "ratio": s / p}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--spark-runs", type=int, default=5)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "sandbox.json")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    raw = measure(_raw_job, args.runs, Limits())
    pipeline = measure(_pipeline_job, args.spark_runs, Limits.for_spark())
    result = {
        "isolation": "bwrap", "network_isolation": network_isolation(),
        "seccomp": seccomp_available(), "host_uid": os.geteuid(),
        "raw": raw, "pipeline": pipeline,
        "median_overhead_under_one_second": max(raw["overhead_s"]["median"],
                                                pipeline["overhead_s"]["median"]) < 1.0,
        "python": platform.python_version(), "machine": platform.machine(),
        "cores": os.cpu_count(),
        "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
