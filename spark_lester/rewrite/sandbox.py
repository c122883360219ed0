"""Running a program in a sandboxed subprocess: never in the host process.

The boundary is the operating system. Every run is started under bubblewrap (``bwrap``,
Debian's ``bubblewrap`` package; :func:`require_bwrap` refuses to run generated code where it
is missing or cannot create namespaces) with:

* **mounts**: a fresh root with a read-only view of ``/usr``, the interpreter, the installed
  packages, spark_lester's own package folder, the JVM jars and the JDK; a synthetic
  ``/etc`` of a few files (``passwd``, ``group``, ``hosts``, the JDK's configuration); a
  private ``/proc`` of the run's own PID namespace, a minimal ``/dev``, an empty private
  ``/tmp``; and the run's working directory as the one writable folder. No home, no other
  process's ``/proc``, no host socket (Unix sockets at file paths included);
* **namespaces**: user, PID, network (loopback only), IPC, UTS and cgroup (``--unshare-all``).
  The PID namespace dies with the run (``--die-with-parent``, and the process group of
  ``bwrap`` is killed after every run), so nothing started inside survives it, ``setsid``
  or not; no process outside is visible, so none can be signalled or read;
* **user**: when the host runs as root, the sandbox runs as a uid of its own (unused by any account) outside
  too, so the kernel's own permission checks apply (it cannot read another process's
  environment, ``RLIMIT_NPROC`` is enforced); bind sources are opened by the host and passed
  as descriptors, so private parent folders (``/root/.pyenv``) need not be readable;
* **resource limits** set with ``setrlimit`` before ``exec``: CPU seconds, address space
  (``RLIMIT_AS``; left unlimited for Spark runs, whose JVM reserves far more virtual memory
  than it uses: there the JVM heap is capped with ``-Xmx`` instead), file size, open files,
  processes and no core dumps;
* **seccomp** (where libseccomp is installed, :mod:`.seccomp`): system calls that reach
  other processes or the kernel (``ptrace``, ``process_vm_readv``, ``pidfd_send_signal``,
  ``mount``, ``bpf``, ``keyctl`` ...) kill the process;
* a scrubbed environment (no API keys, no AWS credentials; ``HOME``/``TMPDIR`` in the
  working directory) and ``stdin`` that carries one nonce and closes.

Inside, the runner (:mod:`spark_lester.rewrite._runner`) adds an audit hook as a second line.
Each refusal it makes is reported **out of band**: a ``LESTER-REFUSAL`` line on the stderr
pipe, which the host reads as it is written (a pipe cannot be rewound), so a program that
swallows the exception is still rejected; a run that ends without the runner's
``LESTER-END <nonce>`` line (the program closed or replaced stderr) is rejected too
(:attr:`SandboxResult.clean`). Every text that leaves the sandbox is redacted of the host's
known secret values (:mod:`.redact`). Data goes in and out as files in the working
directory (CSV, Parquet, JSON, ``.npy``; never pickle).

>>> Limits().memory_bytes // 2**30, Limits.for_spark().memory_bytes is None
(2, True)
>>> Limits.for_torch().memory_bytes // 2**30
8
"""

from __future__ import annotations

import functools
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spark_lester.errors import SandboxError
from spark_lester.rewrite.redact import redact

GIB = 2**30
MIB = 2**20
#: The uid and gid of ``nobody`` (the probe of :func:`_bwrap_problem` runs as it).
NOBODY = 65534
#: A root host runs each sandbox as a uid (and gid) of its own from this range, which no
#: account uses: ``RLIMIT_NPROC`` counts every process and thread of a uid system-wide, so
#: runs sharing one uid (``nobody``) would count each other's JVM threads.
RUN_UIDS = range(200_000, 900_000)
#: The runner's out-of-band lines on stderr (see the module doc).
REFUSAL_MARK = "LESTER-REFUSAL "
END_MARK = "LESTER-END "
START_MARK = "LESTER-START "
#: At most this many refusals are kept per run (the first ones: enough to reject it).
MAX_REFUSALS = 50
#: The runner's exit code after a refusal: its guard ends the process at the first one
#: (fail closed), so a program cannot swallow a refusal and go on.
REFUSED_EXIT = 86
#: Host folders of the JDK's configuration (``$JAVA_HOME/conf`` links into them on Debian).
JDK_ETC = ("/etc/java-17-openjdk", "/etc/java-21-openjdk", "/etc/java-11-openjdk")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run."""

    cpu_s: int = 30
    wall_s: float = 60.0
    memory_bytes: int | None = 2 * GIB
    file_bytes: int = 256 * MIB
    open_files: int = 256
    processes: int = 64
    #: Whether the runner's guard allows loopback connections (Spark's driver talks to its
    #: JVM over it). The network namespace never has anything but loopback.
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
        return cls(cpu_s=120, wall_s=180.0, memory_bytes=8 * GIB, open_files=1024,
                   processes=256)


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended; ``stdout``/``stderr`` are redacted tails (8 KiB each)
    without the out-of-band lines, which are in ``refusals`` and ``finished``."""

    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str
    network: str
    killed_by: str | None = None
    #: What the in-sandbox guards refused, in order (redacted; at most MAX_REFUSALS).
    refusals: tuple[str, ...] = ()
    #: Whether the runner wrote its ``LESTER-END <nonce>`` line (only the runner does).
    finished: bool = False
    #: The programs the runner said it started (``LESTER-START program N`` lines), in order.
    started: tuple[int, ...] = ()
    isolation: str = "bwrap"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def clean(self) -> bool:
        """Exit 0, nothing refused, and the runner's end line seen: what an accepted
        rewrite's run must be."""
        return self.ok and not self.refusals and self.finished

    def describe(self) -> str:
        if self.timed_out:
            return f"killed after the wall-clock limit ({self.seconds:.1f}s)"
        if self.returncode == REFUSED_EXIT:
            first = f": {self.refusals[0]}" if self.refusals else ""
            return f"ended by the guard at its first refusal{first}"
        if self.returncode is not None and self.returncode < 0:
            name = signal.Signals(-self.returncode).name
            why = ("a forbidden system call" if name == "SIGSYS"
                   else "a resource limit was hit")
            return f"killed by {name} ({why})"
        if self.returncode == 0 and self.refusals:
            return f"refused {len(self.refusals)} operation(s): {self.refusals[0]}"
        if self.returncode == 0 and not self.finished:
            return ("ended without the runner's end line (the program closed or replaced "
                    "its error stream)")
        return f"exit code {self.returncode}"


# ---- is bubblewrap usable here? ---------------------------------------------------------------
def bwrap_path() -> str | None:
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.path.exists(p)), None)


@functools.cache
def _bwrap_problem() -> str | None:
    """None when ``bwrap --unshare-all`` starts a program here, else why not."""
    path = bwrap_path()
    if path is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        done = subprocess.run(
            [path, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
             *_merged_usr_links(), "--proc", "/proc", "--dev", "/dev", "--", "/usr/bin/true"],
            capture_output=True, timeout=30,
            preexec_fn=_as_nobody if os.geteuid() == 0 else None)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not be started: {exc}"
    if done.returncode != 0:
        return ("bwrap cannot create namespaces here: "
                + done.stderr.decode("utf-8", "replace").strip()[:300])
    return None


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def require_bwrap() -> str:
    """The path of a working ``bwrap``, or :class:`SandboxError` saying how to get one."""
    problem = _bwrap_problem()
    if problem is not None:
        raise SandboxError(
            f"refusing to run generated code: {problem}.", stage="sandbox",
            hint="Install bubblewrap (`apt-get install bubblewrap`; `bash dev.sh` does this "
                 "as root) on a kernel that allows unprivileged user namespaces "
                 "(sysctl kernel.unprivileged_userns_clone=1 where that knob exists).")
    return bwrap_path()  # type: ignore[return-value]


def network_isolation() -> str:
    """``"netns"``: every run is in a network namespace with only loopback (bwrap)."""
    return "netns" if _bwrap_problem() is None else "none"


# ---- the mount table ------------------------------------------------------------------------
def _merged_usr_links() -> list[str]:
    """``/bin``, ``/lib`` ... as on the host: links into ``/usr`` or read-only binds."""
    out: list[str] = []
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            out += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            out += ["--ro-bind", top, top]
    return out


def _java_home() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isdir(home):
        return os.path.realpath(home)
    java = shutil.which("java")
    return os.path.dirname(os.path.dirname(os.path.realpath(java))) if java else None


def read_only_roots(extra: Sequence[str | os.PathLike[str]] = ()) -> list[str]:
    """Host folders a run sees read-only (besides ``/usr``): the interpreter's prefixes, the
    package folder of spark_lester, the jars, the JDK and ``extra``; nested ones dropped."""
    from spark_lester.config import LesterConfig

    package = Path(__file__).resolve().parent.parent  # .../spark_lester
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)), str(package),
                  str(LesterConfig.from_env().jars_dir), _java_home() or "",
                  *JDK_ETC, *map(str, extra)]
    roots: list[str] = []
    for path in sorted({os.path.realpath(p) for p in candidates if p}, key=len):
        if not os.path.exists(path) or path == "/usr" or path.startswith("/usr/"):
            continue
        if any(path == r or path.startswith(r + os.sep) for r in roots):
            continue
        roots.append(path)
    return roots


def _etc_files(meta: Path, uid: int, gid: int, workdir: Path) -> dict[str, Path]:
    """Synthetic ``/etc`` files (a user name for Hadoop, ``localhost`` for the JVM)."""
    files = {
        "/etc/passwd": f"lester:x:{uid}:{gid}:sandbox:{workdir}:/usr/sbin/nologin\n"
                       f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n",
        "/etc/group": f"lester:x:{gid}:\nroot:x:0:\n",
        "/etc/hosts": "127.0.0.1 localhost lester-sandbox\n::1 localhost\n",
        "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
        "/etc/hostname": "lester-sandbox\n",
    }
    out = {}
    for target, text in files.items():
        path = meta / Path(target).name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
        out[target] = path
    return out


def run_uid() -> int:
    """The uid (and gid) of the next run: the caller's own, or on a root host a fresh one
    from :data:`RUN_UIDS`."""
    if os.geteuid() != 0:
        return os.geteuid()
    return RUN_UIDS.start + secrets.randbelow(len(RUN_UIDS))


def _hand_over(workdir: Path, uid: int) -> None:
    """A root host gives the working directory to the run's uid (its only write)."""
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(workdir):
        os.lchown(root, uid, uid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), uid, uid)


# ---- limits ---------------------------------------------------------------------------------
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
    # Enforced: the run is never root (a root host's launcher drops to the run uid before bwrap).
    _limit(resource.RLIMIT_NPROC, limits.processes)


def sandbox_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's whole environment: nothing of the host's but PATH, locale and Java."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir / ".tmp"),
        "LANG": "C.UTF-8",
        "USER": "lester",
        "SPARK_USER": "lester",
        "HADOOP_USER_NAME": "lester",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_HOSTNAME": "localhost",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    java_home = _java_home()
    if java_home:
        env["JAVA_HOME"] = java_home
    env.update(extra or {})
    return env


# ---- running --------------------------------------------------------------------------------
class _Reader(threading.Thread):
    """Drains one pipe: keeps a tail, and on stderr the out-of-band lines."""

    def __init__(self, fd: int, *, scan: bool, nonce: str, limit: int = 8192):
        super().__init__(daemon=True)
        self.fd, self.scan, self.nonce, self.limit = fd, scan, nonce, limit
        self.tail = bytearray()
        self.refusals: list[str] = []
        self.started: list[int] = []
        self.finished = False

    def run(self) -> None:
        pending = b""
        with os.fdopen(self.fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                if not self.scan:
                    self._keep(chunk)
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._line(line)
                if len(pending) > 65536:  # no newline for long: not one of ours
                    self._keep(pending)
                    pending = b""
        if pending:
            self._line(pending, newline=False)

    def _line(self, line: bytes, newline: bool = True) -> None:
        text = line.decode("utf-8", "replace")
        if REFUSAL_MARK in text:
            if len(self.refusals) < MAX_REFUSALS:
                self.refusals.append(text.split(REFUSAL_MARK, 1)[1].strip()[:300])
            return
        if text.strip() == END_MARK + self.nonce:
            self.finished = True
            return
        if text.startswith(START_MARK + "program "):
            number = text[len(START_MARK + "program "):].strip()
            if number.isdigit():
                self.started.append(int(number))
            return
        self._keep(line + (b"\n" if newline else b""))

    def _keep(self, data: bytes) -> None:
        self.tail += data
        if len(self.tail) > 2 * self.limit:
            del self.tail[:-self.limit]

    def text(self) -> str:
        return redact(bytes(self.tail[-self.limit:]).decode("utf-8", "replace"))


def bwrap_argv(argv: Sequence[str], workdir: Path, meta: Path,
               read_only: Sequence[str] = (), seccomp_fd: int | None = None,
               uid: int | None = None) -> list[str]:
    """The command line that runs ``argv`` under ``bwrap`` (see the module doc).

    A root host cannot hand bind sources under private folders (``/root/.pyenv``) to a
    ``bwrap`` that runs as another uid: bwrap resolves them with the caller's permissions.
    So root first binds every source onto a world-readable staging folder in a private mount
    namespace of its own (``unshare --mount``), then drops to the run's uid (``setpriv``) and
    starts ``bwrap`` on the staged paths. Nothing is mounted on the host."""
    root = os.geteuid() == 0
    if uid is None:
        uid = run_uid()
    gid = uid if root else os.getegid()
    binds: list[tuple[str, str, bool]] = [
        (str(source), target, False)
        for target, source in _etc_files(meta, uid, gid, workdir).items()]
    binds += [(r, r, False) for r in read_only_roots(read_only)]
    if os.path.exists("/etc/ld.so.cache"):
        binds.append(("/etc/ld.so.cache", "/etc/ld.so.cache", False))
    binds.append((str(workdir), str(workdir), True))
    cmd = [require_bwrap(), "--unshare-all", "--die-with-parent", "--new-session",
           "--hostname", "lester-sandbox", "--ro-bind", "/usr", "/usr", *_merged_usr_links(),
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/var/tmp"]
    mounts = []
    stage = meta / "stage"
    stage.mkdir(mode=0o755)
    for i, (source, target, writable) in enumerate(binds):
        if root:
            point = stage / str(i)
            if os.path.isdir(source):
                point.mkdir(mode=0o755)
            else:
                point.touch(mode=0o644)
            mounts.append(f"mount --bind {shlex.quote(source)} {point}")
            source = str(point)
        cmd += ["--bind" if writable else "--ro-bind", source, target]
    cmd += ["--chdir", str(workdir)]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--", *argv]
    if not root:
        return cmd
    meta.chmod(0o755)
    script = " && ".join([*mounts, f"exec setpriv --reuid {uid} --regid {gid} "
                                   '--clear-groups -- "$@"'])
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script,
            "lester-sandbox", *cmd]


def run_sandboxed(argv: Sequence[str], workdir: Path, limits: Limits = Limits(),
                  env: Mapping[str, str] | None = None,
                  read_only: Sequence[str | os.PathLike[str]] = ()) -> SandboxResult:
    """Run ``argv`` in ``workdir`` under bubblewrap and ``limits`` (see module doc), wait.

    >>> import sys, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run_sandboxed([sys.executable, "-I", "-c", "print(6 * 7)"], Path(tmp)).stdout
    '42\\n'
    """
    from spark_lester.rewrite.seccomp import seccomp_filter

    require_bwrap()  # before anything is touched
    workdir = Path(workdir).resolve()
    (workdir / ".tmp").mkdir(parents=True, exist_ok=True)
    uid = run_uid()
    _hand_over(workdir, uid)
    nonce = secrets.token_hex(16)
    fds: list[int] = []
    start = time.perf_counter()
    timed_out = False
    with tempfile.TemporaryDirectory(prefix="lester-sandbox-meta-") as meta_dir:
        meta = Path(meta_dir)
        seccomp_file = seccomp_filter(meta / "seccomp.bpf")
        if seccomp_file is not None:
            fds.append(os.open(seccomp_file, os.O_RDONLY | os.O_CLOEXEC))
        try:
            cmd = bwrap_argv(argv, workdir, meta, [str(p) for p in read_only],
                             fds[0] if fds else None, uid)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        readers = [_Reader(out_r, scan=False, nonce=nonce),
                   _Reader(err_r, scan=True, nonce=nonce)]
        try:
            proc = subprocess.Popen(cmd, cwd="/", env=dict(env or sandbox_env(workdir)),
                                    stdin=subprocess.PIPE, stdout=out_w, stderr=err_w,
                                    start_new_session=True, pass_fds=fds,
                                    preexec_fn=functools.partial(_preexec, limits))
        except OSError as exc:
            for fd in (out_r, err_r):
                os.close(fd)
            raise SandboxError(f"could not start the sandbox: {exc.strerror}.",
                               stage="sandbox") from None
        finally:
            for fd in (*fds, out_w, err_w):
                os.close(fd)
        for reader in readers:
            reader.start()
        try:
            proc.stdin.write(nonce.encode() + b"\n")  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass  # it ended before reading: its exit code says why
        try:
            proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(proc.pid)
        proc.wait()
        for reader in readers:
            reader.join(timeout=10)
    out, err = readers
    planted = defuse(workdir)  # the run is over: nothing inside can race this
    returncode = proc.returncode
    if returncode is not None and 128 < returncode <= 128 + 64:
        returncode = 128 - returncode  # bwrap reports its child's death by signal N as 128+N
    return SandboxResult(returncode=returncode, timed_out=timed_out,
                         seconds=time.perf_counter() - start, stdout=out.text(),
                         stderr=err.text(), network=network_isolation(),
                         refusals=tuple(redact(r) for r in [*err.refusals, *planted]),
                         finished=err.finished, started=tuple(err.started))


def defuse(workdir: Path) -> list[str]:
    """Remove every symbolic link and every file that is not a regular file or folder
    (FIFO, socket, device) from ``workdir``, and say what was there.

    The host reads a run's outputs (``error.json``, Parquet, ``.npy``) as itself: a link
    planted by the run would make it read a host file into a report or the next prompt.
    Links cannot point anywhere harmful once removed, and a run cannot make hard links to
    host files (they are not mounted in its namespace)."""
    import stat

    found: list[str] = []
    for root, dirs, files in os.walk(workdir, followlinks=False):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "symbolic link" if stat.S_ISLNK(mode) else "special file"
                found.append(f"the run left a {kind} at {os.path.relpath(path, workdir)}")
                try:
                    os.unlink(path)
                except OSError:
                    pass
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(root, d))
                   and not os.path.islink(os.path.join(root, d))]
    return found


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass(frozen=True)
class PythonCommand:
    """``python -I`` running the sandbox runner on a job file."""

    python: str = sys.executable
    runner: Path = field(default_factory=lambda: Path(__file__).with_name("_runner.py"))

    def argv(self, job: Path) -> list[str]:
        return [self.python, "-I", str(self.runner), str(job)]
