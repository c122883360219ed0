"""Per-run overhead of the sandbox: a trivial program in the sandbox vs a plain subprocess.

Run: ``PYTHONPATH=. python bench/bench_sandbox.py`` -> ``bench/results/sandbox.json``.
The sandboxed run includes everything a rewrite run pays besides its own work: the
temporary folder, the job file, rlimits, a new session, ``unshare -n`` where available, the
runner's imports and guard, and the process-group kill.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spark_lester.rewrite.sandbox import Limits, PythonCommand, network_isolation, run_sandboxed
from spark_lester.rewrite.validate import package_root

RUNS = 20
TRIVIAL = "print(sum(range(1000)))\n"


def plain() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", TRIVIAL], check=True, capture_output=True)
    return time.perf_counter() - start


def sandboxed() -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lester-bench-") as tmp:
        work = Path(tmp)
        (work / "p.py").write_text(TRIVIAL)
        job = {"kind": "raw", "program": str(work / "p.py"), "workdir": str(work),
               "package_root": str(package_root())}
        (work / "job.json").write_text(json.dumps(job))
        result = run_sandboxed(PythonCommand().argv(work / "job.json"), work, Limits())
        assert result.ok, result.stderr
    return time.perf_counter() - start


def main() -> None:
    plain(), sandboxed()  # warm the page cache
    p = [plain() for _ in range(RUNS)]
    s = [sandboxed() for _ in range(RUNS)]
    result = {
        "runs": RUNS,
        "network_isolation": network_isolation(),
        "plain_subprocess_s": {"median": statistics.median(p), "max": max(p)},
        "sandbox_s": {"median": statistics.median(s), "max": max(s)},
        "overhead_s": {"median": statistics.median(s) - statistics.median(p)},
        "under_one_second": max(s) < 1.0,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    out = Path(__file__).parent / "results" / "sandbox.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
