"""The sandbox's limits, process-group kill, scrubbed environment and guard."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from spark_lester.rewrite.sandbox import (
    GIB,
    MIB,
    Limits,
    PythonCommand,
    network_isolation,
    run_sandboxed,
)
from spark_lester.rewrite.validate import package_root


def raw(tmp_path: Path, code: str, limits: Limits = Limits()):
    program = tmp_path / "p.py"
    program.write_text(code)
    job = {"kind": "raw", "program": str(program), "workdir": str(tmp_path),
           "package_root": str(package_root())}
    (tmp_path / "job.json").write_text(json.dumps(job))
    return run_sandboxed(PythonCommand().argv(tmp_path / "job.json"), tmp_path, limits)


def test_cpu_limit_kills_a_busy_loop(tmp_path):
    result = raw(tmp_path, "while True:\n    pass\n", Limits(cpu_s=1, wall_s=30))
    assert not result.ok and not result.timed_out
    assert "SIGXCPU" in result.describe() or "SIGKILL" in result.describe()


def test_wall_clock_kills_the_whole_process_group(tmp_path):
    # Without the guard (a bare interpreter) so that it can start a child of its own.
    code = ("import subprocess, time\n"
            "child = subprocess.Popen(['sleep', '60'])\n"
            "open('child.pid', 'w').write(str(child.pid))\n"
            "time.sleep(60)\n")
    (tmp_path / "p.py").write_text(code)
    result = run_sandboxed([sys.executable, "-I", str(tmp_path / "p.py")], tmp_path,
                           Limits(wall_s=2.0))
    assert result.timed_out
    pid = int((tmp_path / "child.pid").read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the sandbox's child outlived the run")


def test_memory_limit(tmp_path):
    result = raw(tmp_path, "x = bytearray(3 * 2**30)\n", Limits(memory_bytes=1 * GIB))
    assert not result.ok and "MemoryError" in result.stderr


def test_file_size_limit(tmp_path):
    code = "with open('big', 'wb') as f:\n    f.write(b'x' * (8 * 2**20))\n"
    result = raw(tmp_path, code, Limits(file_bytes=1 * MIB))
    assert not result.ok
    assert (tmp_path / "big").stat().st_size <= 1 * MIB


def test_environment_is_scrubbed(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    result = raw(tmp_path, "import os\nprint(sorted(os.environ))\n")
    assert result.ok
    assert "OPENAI_API_KEY" not in result.stdout and "AWS_SECRET" not in result.stdout
    assert "'HOME'" in result.stdout


def test_guard_refuses_fork_exec_network_and_outside_files(tmp_path):
    code = """
import os, socket
def attempt(name, fn):
    try:
        fn()
        print(name, "ALLOWED")
    except (PermissionError, OSError) as exc:
        print(name, "refused")
attempt("fork", os.fork)
attempt("system", lambda: os.system("true"))
attempt("connect", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1))
attempt("read", lambda: open("/etc/hostname").read())
attempt("write", lambda: open("/tmp/lester-should-not-exist", "w"))
attempt("inside", lambda: open("inside.txt", "w").write("ok"))
"""
    result = raw(tmp_path, code)
    lines = dict(line.split() for line in result.stdout.splitlines())
    assert lines == {"fork": "refused", "system": "refused", "connect": "refused",
                     "read": "refused", "write": "refused", "inside": "ALLOWED"}
    assert not Path("/tmp/lester-should-not-exist").exists()


def test_network_isolation_is_reported():
    assert network_isolation() in ("netns", "guard")


def test_runner_reports_failures_as_json(tmp_path):
    result = raw(tmp_path, "raise ValueError('bad')\n")
    assert not result.ok and "ValueError" in result.stderr
