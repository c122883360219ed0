"""The sandbox's limits, process-group kill, scrubbed environment and guard."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from spark_lester.rewrite.sandbox import (
    GIB,
    MIB,
    REFUSED_EXIT,
    Limits,
    PythonCommand,
    network_isolation,
    run_sandboxed,
)
from spark_lester.rewrite.validate import package_root


def survivors(marker: str) -> list[int]:
    """Host processes whose command line holds ``marker`` (waits up to 2 s for them to go)."""
    for _ in range(20):
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if marker.encode() in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    continue
        if not found:
            return []
        time.sleep(0.1)
    return found


def bare(tmp_path: Path, code: str, limits: Limits = Limits(wall_s=20.0)):
    """``code`` in a bare interpreter in the sandbox: no guard, only the OS boundary."""
    (tmp_path / "p.py").write_text(code)
    return run_sandboxed([sys.executable, "-I", str(tmp_path / "p.py")], tmp_path, limits)


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


def test_wall_clock_kills_everything_the_run_started(tmp_path):
    # A bare interpreter (no guard): its child starts a session of its own and sleeps.
    code = ("import subprocess, time\n"
            "subprocess.Popen(['setsid', 'sleep', '61.4321'])\n"
            "time.sleep(60)\n")
    (tmp_path / "p.py").write_text(code)
    result = run_sandboxed([sys.executable, "-I", str(tmp_path / "p.py")], tmp_path,
                           Limits(wall_s=2.0))
    assert result.timed_out
    assert survivors("61.4321") == []


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


@pytest.mark.parametrize("name, attempt", [
    ("fork", "os.fork()"), ("system", "os.system('true')"),
    ("connect", "socket.create_connection(('127.0.0.1', 9), timeout=1)"),
    ("read", "open('/etc/hostname').read()"),
    ("write", "open('/tmp/lester-should-not-exist', 'w')")])
def test_guard_refuses_and_ends_the_run_even_when_swallowed(tmp_path, name, attempt):
    code = (f"import os, socket\ntry:\n    {attempt}\nexcept Exception:\n    pass\n"
            "print('went on')\n")
    result = raw(tmp_path, code)
    assert result.returncode == REFUSED_EXIT, (name, result)
    assert "went on" not in result.stdout and result.refusals and not result.clean
    assert "ended by the guard" in result.describe()
    assert not Path("/tmp/lester-should-not-exist").exists()


def test_guard_allows_writes_inside(tmp_path):
    result = raw(tmp_path, "open('inside.txt', 'w').write('ok')\nprint('done')\n")
    assert result.clean and "done" in result.stdout
    assert (tmp_path / "inside.txt").read_text() == "ok"


def test_network_isolation_is_reported():
    assert network_isolation() == "netns"


def test_runner_reports_failures_as_json(tmp_path):
    result = raw(tmp_path, "raise ValueError('bad')\n")
    assert not result.ok and "ValueError" in result.stderr


# ---- the operating-system boundary, with no guard at all ----------------------------------
def test_bare_program_cannot_write_outside_its_folder(tmp_path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("host") / "canary.txt"
    outside.write_text("precious")
    work = tmp_path / "w"
    work.mkdir()
    code = f"""
for target in [{str(outside)!r}, "/tmp/lester-escape", "/usr/lester-escape", "/var/tmp/x"]:
    try:
        open(target, "w").write("pwned")
        print("wrote", target)
    except OSError as exc:
        print("refused", type(exc).__name__)
"""
    result = bare(work, code)
    assert outside.read_text() == "precious"
    assert not Path("/tmp/lester-escape").exists() and not Path("/usr/lester-escape").exists()
    assert result.ok and "precious" not in result.stdout
    assert not Path("/var/tmp/x").exists()


def test_bare_program_sees_no_host_process_home_or_socket(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-0123456789abcdef")
    code = """
import os, socket
pids = [p for p in os.listdir("/proc") if p.isdigit()]
leaked = b""
for pid in pids:
    try:
        leaked += open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        pass
print("pids", len(pids))
print("key" if b"sk-canary" in leaked else "nokey")
print("home", os.path.exists(os.path.expanduser("~root/.bashrc")), os.path.exists("/root/.bashrc"))
print("ppid", os.getppid())
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect(("10.255.255.1", 80))
    print("net open")
except OSError:
    print("net closed")
"""
    result = bare(tmp_path, code)
    lines = result.stdout.splitlines()
    assert result.ok, result.stderr
    assert int(lines[0].split()[1]) <= 4  # bwrap's init, the interpreter: nothing else
    assert lines[1] == "nokey" and lines[2] == "home False False" and lines[4] == "net closed"
    assert "sk-canary" not in result.stdout + result.stderr


def test_bare_program_cannot_signal_the_host(tmp_path):
    victim = __import__("subprocess").Popen(["sleep", "30"])
    try:
        code = f"""
import os, signal
try:
    os.kill({victim.pid}, signal.SIGKILL)
    print("sent")
except OSError as exc:
    print("refused", type(exc).__name__)
"""
        bare(tmp_path, code)
        assert victim.poll() is None  # still alive
    finally:
        victim.kill()
        victim.wait()


def test_seccomp_kills_ptrace_and_pidfd_signals(tmp_path):
    from spark_lester.rewrite.seccomp import seccomp_available

    if not seccomp_available():
        pytest.skip("libseccomp is not installed here")
    code = "import signal, os\nsignal.pidfd_send_signal(os.pidfd_open(os.getpid()), 0)\nprint('alive')\n"
    result = bare(tmp_path, code)
    assert "alive" not in result.stdout
    assert result.returncode == -signal.SIGSYS, result
    assert "forbidden system call" in result.describe()


def test_refusals_reach_the_host_even_when_stderr_is_swapped(tmp_path):
    # Point descriptor 2 at a private pipe while misbehaving: the line is lost, but the
    # guard ends the process at the refusal, so the swap cannot be undone afterwards.
    code = ("import os\nr, w = os.pipe()\nsaved = os.dup(2)\nos.dup2(w, 2)\n"
            "try:\n    open('/etc/shadow')\nexcept Exception:\n    pass\n"
            "os.dup2(saved, 2)\nprint('looks fine')\n")
    result = raw(tmp_path, code)
    assert "looks fine" not in result.stdout
    assert result.returncode == REFUSED_EXIT and not result.clean


def test_a_symlink_left_by_the_run_is_removed_before_the_host_reads(tmp_path,
                                                                   tmp_path_factory):
    secret = tmp_path_factory.mktemp("host") / "secret.json"
    secret.write_text('{"type": "HostSecret", "message": "host-file-canary"}')
    work = tmp_path / "w"
    work.mkdir()
    code = (f"import os\nos.makedirs('out', exist_ok=True)\n"
            f"os.symlink({str(secret)!r}, 'out/error.json')\nos.mkfifo('out/pipe')\n")
    result = bare(work, code)
    assert result.ok
    assert not (work / "out" / "error.json").exists()
    assert not (work / "out" / "pipe").exists()
    assert any("symbolic link at out/error.json" in r for r in result.refusals)
    assert any("special file at out/pipe" in r for r in result.refusals)
    assert secret.read_text().startswith('{"type"')


def test_a_run_that_closes_its_error_stream_is_not_clean(tmp_path):
    result = raw(tmp_path, "import os\nos.close(2)\nprint('quiet')\n")
    assert result.ok and not result.finished and not result.clean


def test_the_end_line_cannot_be_forged_without_the_nonce(tmp_path):
    result = raw(tmp_path, "import sys\nsys.stderr.write('\\nLESTER-END 0123\\n')\n")
    assert result.finished  # the runner's own line, after the program
    forged = bare(tmp_path, "import sys\nsys.stderr.write('\\nLESTER-END 0123\\n')\n")
    assert not forged.finished


def test_missing_bubblewrap_refuses_to_run(tmp_path, monkeypatch):
    from spark_lester.errors import SandboxError
    from spark_lester.rewrite import sandbox

    monkeypatch.setattr(sandbox, "_bwrap_problem", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(SandboxError, match="refusing to run generated code") as info:
        run_sandboxed([sys.executable, "-c", "print(1)"], tmp_path)
    assert "apt-get install bubblewrap" in str(info.value.hint)
    assert list(tmp_path.iterdir()) == []  # nothing was touched


def test_spark_python_workers_run_under_the_guard_and_reflection_is_gone(tmp_path):
    """A UDF runs in a worker that ``pyspark.daemon`` forks, not in the runner: its refusal
    must still reach the host; and SQL reflection is not even resolvable."""
    from spark_lester.config import LesterConfig

    code = """
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.getActiveSession()
def peek(x):
    try:
        return open("/etc/passwd").read()[:4]
    except Exception:
        return "no"
try:
    print("udf", spark.range(1).select(F.udf(peek)("id")).collect()[0][0])
except Exception as exc:
    print("udf failed", type(exc).__name__)
try:
    spark.sql("SELECT reflect('java.lang.System', 'getenv', 'HOME')").collect()
    print("reflect ran")
except Exception as exc:
    print("reflect unresolved" if "reflect" in str(exc) else "reflect other")
"""
    (tmp_path / "p.py").write_text(code)
    job = {"kind": "raw", "spark": True, "program": str(tmp_path / "p.py"),
           "workdir": str(tmp_path), "package_root": str(package_root()),
           "jars_dir": str(LesterConfig.from_env().jars_dir)}
    (tmp_path / "job.json").write_text(json.dumps(job))
    result = run_sandboxed(PythonCommand().argv(tmp_path / "job.json"), tmp_path,
                           Limits.for_spark())
    assert result.ok, result.stderr[-2000:]
    assert "udf no" in result.stdout and "reflect unresolved" in result.stdout, result.stdout
    assert any("/etc/passwd" in r for r in result.refusals), result.refusals
    assert not result.clean


def test_a_bare_fork_bomb_is_capped_and_leaves_nothing(tmp_path):
    # No guard: only RLIMIT_NPROC (enforced, the run has a uid of its own even on a root
    # host) and the PID namespace, which dies with the run.
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = bare(tmp_path, code, Limits(wall_s=4.0, processes=32))
    assert result.timed_out or not result.ok
    assert survivors(str(tmp_path / "p.py")) == []


def test_the_runner_reads_a_folder_of_parquet_files_as_parquet(tmp_path):
    import pandas as pd

    from spark_lester.rewrite import _runner

    folder = tmp_path / "mails"
    folder.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(folder / "part-0.parquet")
    pd.DataFrame({"a": [3]}).to_parquet(folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    (csvs / "x.csv").write_text("a\n4\n")
    assert _runner._is_parquet(str(folder)) and not _runner._is_parquet(str(csvs))
    assert _runner._read_frame(str(folder))["a"].tolist() == [1, 2, 3]
    assert _runner._read_frame(str(csvs))["a"].tolist() == [4]
