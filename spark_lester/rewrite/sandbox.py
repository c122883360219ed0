"""Running a program in a sandboxed subprocess: never in the host process.

Each run gets:

* an isolated interpreter (``python -I``: no user site, no ``PYTHON*`` variables) started
  with a scrubbed environment (no API keys, no AWS credentials), ``HOME`` and ``TMPDIR`` in
  its own temporary directory, which is also its working directory;
* resource limits set with ``setrlimit`` before ``exec``: CPU seconds, address space
  (``RLIMIT_AS``; left unlimited for Spark runs, whose JVM reserves far more virtual memory
  than it uses: there the JVM heap is capped with ``-Xmx`` instead), file size, open files,
  processes (``RLIMIT_NPROC``; not enforced by Linux for root, where the in-child guard below
  refuses fork/exec instead) and no core dumps;
* its own session and process group (``start_new_session``): on the wall-clock limit, and
  after every run, the whole group is killed, so no child (or JVM) outlives it;
* no network: with ``unshare -n`` (a fresh network namespace that has only loopback) where
  the platform permits it, else only the in-child guard. :func:`network_isolation` says which
  applies here;
* an in-child guard (``sys.addaudithook`` in :mod:`spark_lester.rewrite._runner`, which
  cannot be removed once installed) that refuses process creation, non-loopback sockets,
  writes outside the temporary directory and reads outside it and the Python installation.

Data goes in and out as files in the temporary directory (CSV, Parquet, JSON; never pickle).

>>> Limits().memory_bytes // 2**30, Limits.for_spark().memory_bytes is None
(2, True)
>>> Limits.for_torch().memory_bytes // 2**30
8
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spark_lester.errors import SandboxError

GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run."""

    cpu_s: int = 30
    wall_s: float = 60.0
    memory_bytes: int | None = 2 * GIB
    file_bytes: int = 256 * MIB
    open_files: int = 256
    processes: int = 64
    #: Whether loopback connections are allowed (Spark's driver talks to its JVM over it).
    loopback: bool = False

    @classmethod
    def for_spark(cls) -> Limits:
        """Limits for a run that starts a local Spark JVM (see module doc for memory)."""
        return cls(cpu_s=300, wall_s=240.0, memory_bytes=None, file_bytes=1024 * MIB,
                   open_files=8192, processes=1024, loopback=True)

    @classmethod
    def for_torch(cls) -> Limits:
        """Limits for a run that imports PyTorch: its import alone maps about 3 GiB of
        address space and takes seconds of CPU (threads are pinned to one, see
        :func:`sandbox_env`)."""
        return cls(cpu_s=120, wall_s=180.0, memory_bytes=8 * GIB, open_files=1024)


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended; ``stdout``/``stderr`` are tails (at most 8 KiB each)."""

    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str
    network: str
    killed_by: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        if self.timed_out:
            return f"killed after the wall-clock limit ({self.seconds:.1f}s)"
        if self.returncode is not None and self.returncode < 0:
            name = signal.Signals(-self.returncode).name
            return f"killed by {name} (a resource limit was hit)"
        return f"exit code {self.returncode}"


@functools.cache
def network_isolation() -> str:
    """``"netns"`` when ``unshare -n`` (with loopback brought up) works here, else ``"guard"``."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None or not os.path.exists(ip):
        return "guard"
    try:
        done = subprocess.run([unshare, "-n", "--", ip, "link", "set", "lo", "up"],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "guard"
    return "netns" if done.returncode == 0 else "guard"


def _limit(kind: int, value: int) -> None:
    import resource

    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def _preexec(limits: Limits) -> None:
    import resource

    _limit(resource.RLIMIT_CPU, limits.cpu_s)
    if limits.memory_bytes is not None:
        _limit(resource.RLIMIT_AS, limits.memory_bytes)
    _limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    _limit(resource.RLIMIT_NOFILE, limits.open_files)
    _limit(resource.RLIMIT_CORE, 0)
    if os.geteuid() != 0:  # root ignores RLIMIT_NPROC; the in-child guard covers it
        _limit(resource.RLIMIT_NPROC, limits.processes)


def sandbox_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's whole environment: nothing of the host's but PATH, locale and Java."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir / ".tmp"),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    env.update(extra or {})
    return env


def run_sandboxed(argv: Sequence[str], workdir: Path, limits: Limits = Limits(),
                  env: Mapping[str, str] | None = None) -> SandboxResult:
    """Run ``argv`` in ``workdir`` under ``limits`` (see module doc) and wait for it.

    >>> import sys, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run_sandboxed([sys.executable, "-I", "-c", "print(6 * 7)"], Path(tmp)).stdout
    '42\\n'
    """
    workdir = Path(workdir)
    (workdir / ".tmp").mkdir(parents=True, exist_ok=True)
    network = network_isolation()
    cmd = list(argv)
    if network == "netns":
        cmd = ["unshare", "-n", "--", "sh", "-c",
               'ip link set lo up 2>/dev/null || /usr/sbin/ip link set lo up; exec "$@"',
               "sandbox", *cmd]
    out_path, err_path = workdir / ".stdout", workdir / ".stderr"
    start = time.perf_counter()
    timed_out = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(cmd, cwd=workdir, env=dict(env or sandbox_env(workdir)),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True,
                                    preexec_fn=functools.partial(_preexec, limits),
                                    close_fds=True)
        except OSError as exc:
            raise SandboxError(f"could not start {cmd[0]}: {exc.strerror}.",
                               stage="sandbox") from None
        try:
            proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(proc.pid)
        proc.wait()
    seconds = time.perf_counter() - start
    return SandboxResult(returncode=proc.returncode, timed_out=timed_out, seconds=seconds,
                         stdout=_tail(out_path), stderr=_tail(err_path), network=network)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, limit: int = 8192) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class PythonCommand:
    """``python -I`` running the sandbox runner on a job file."""

    python: str = sys.executable
    runner: Path = field(default_factory=lambda: Path(__file__).with_name("_runner.py"))

    def argv(self, job: Path) -> list[str]:
        return [self.python, "-I", str(self.runner), str(job)]
