"""A Spark standalone cluster on loopback for tests: one master, workers with 1 core each.

Started from the installed pyspark (``spark-class org.apache.spark.deploy.master.Master``
and ``...worker.Worker``), every process on 127.0.0.1, each worker with its own work
directory. S3 (moto's server, see ``tests/s3server.py``) is the only storage the driver and
the executors share: sources and warehouse live on ``s3a://``.

Executors get spark_lester the way EMR gets it, from the bundle ``spark-lester package``
builds, never from this checkout:

- the *node Python* (``executor_python``) is a virtualenv made with ``--without-pip`` whose
  site-packages holds the bundle's wheel, unpacked (what the EMR bootstrap's
  ``pip install --no-deps <wheel>`` does) and one ``.pth`` line naming the test
  environment's site-packages, which hold exactly the bundle's pinned requirements (the
  bootstrap's ``pip install --no-deps -r requirements.txt``). A directory line in a ``.pth``
  file puts the directory on ``sys.path`` without running the ``.pth`` files inside it, so
  the checkout's editable install (an import hook installed by such a file) is not active:
  ``import spark_lester`` finds the wheel's copy;
- the driver is started by ``spark-submit`` (as an EMR step is) with
  ``--py-files <wheel>,deps-pyfiles.zip``, ``spark.pyspark.python`` and
  ``spark.pyspark.driver.python`` set to the node Python and ``--jars`` the Delta/S3A jars.

``Cluster.submit(script, *args)`` runs a driver script in its own process group and returns
its exit status and output; a driver cannot share the test process, which already holds
the local[2] session of ``tests/conftest.py``. ``start_cluster`` is a context manager that
stops everything it started (drivers, workers with their executors and Python workers,
master), also when the body raises.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Memory of the master's and workers' own JVMs (they only schedule).
DAEMON_MEMORY = "256m"


def pyspark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_bundle(out: Path) -> dict:
    """``spark-lester package --out out`` (offline): the wheel, pins and pyfiles zip."""
    from spark_lester.aws.package import package

    return package(out)


def executor_python(bundle: Path, target: Path) -> Path:
    """A node Python in ``target`` with the bundle's wheel installed (see the module doc);
    returns its interpreter."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    with zipfile.ZipFile(bundle / manifest["wheel"]["file"]) as wheel:
        wheel.extractall(site)
    # the pinned requirements: the tested environment's packages, without its .pth hooks
    (site / "lester_requirements.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Cluster:
    """A running standalone cluster (see ``start_cluster``)."""

    root: Path
    master_url: str
    ui_url: str
    endpoint: str
    bundle: Path
    python: Path
    workers: int
    procs: list[Proc] = field(default_factory=list)

    def jars(self) -> list[str]:
        from spark_lester.session import local_jars

        return [str(p) for p in local_jars(ROOT / ".jars")]

    def submit_command(self, script: str | Path, *args: str,
                       conf: dict[str, str] | None = None) -> list[str]:
        manifest = json.loads((self.bundle / "manifest.json").read_text())
        py_files = [str(self.bundle / manifest["wheel"]["file"]),
                    str(self.bundle / manifest["pyfiles"]["file"])]
        settings = {
            "spark.pyspark.python": str(self.python),
            "spark.pyspark.driver.python": str(self.python),
            "spark.executor.memory": "640m",
            "spark.executor.cores": "1",
            "spark.cores.max": str(self.workers),
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.executorEnv.HF_HUB_OFFLINE": "1",
            "spark.executorEnv.TOKENIZERS_PARALLELISM": "false",
            **(conf or {}),
        }
        cmd = [str(pyspark_home() / "bin" / "spark-submit"), "--master", self.master_url,
               "--deploy-mode", "client", "--driver-memory", "1g",
               "--jars", ",".join(self.jars()), "--py-files", ",".join(py_files)]
        for key, value in settings.items():
            cmd += ["--conf", f"{key}={value}"]
        return cmd + [str(script), *args]

    def driver_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SPARK_LESTER_", "PYSPARK_", "PYTHON"))
               and k not in ("SPARK_HOME", "VIRTUAL_ENV")}
        env.update({
            "SPARK_LESTER_MASTER": self.master_url,
            "SPARK_LESTER_S3_ENDPOINT": self.endpoint,
            "SPARK_LESTER_JARS_DIR": str(ROOT / ".jars"),
            "SPARK_LESTER_DRIVER_MEMORY": "1g",
            "SPARK_LESTER_SHUFFLE_PARTITIONS": "2",
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": str(self.python),
            "PYSPARK_DRIVER_PYTHON": str(self.python),
            "HF_HUB_OFFLINE": "1",
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        })
        return env

    def submit(self, script: str | Path, *args: str, timeout: float = 900,
               conf: dict[str, str] | None = None, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
        """Run a driver script on the cluster; the driver process group is killed on
        timeout or error. Returns the completed process (output as text)."""
        cmd = self.submit_command(script, *args, conf=conf)
        popen = subprocess.Popen(cmd, env={**self.driver_env(), **(env or {})},
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True, cwd=self.root)
        try:
            out, _ = popen.communicate(timeout=timeout)
        finally:
            _stop(popen, grace=5)
        return subprocess.CompletedProcess(cmd, popen.returncode, out, "")

    def alive_workers(self) -> int:
        with urllib.request.urlopen(self.ui_url + "/json/", timeout=5) as resp:
            state = json.loads(resp.read())
        return int(state.get("aliveworkers", 0))


def _stop(popen: subprocess.Popen, grace: float = 15) -> None:
    """Terminate a process group started with ``start_new_session``: TERM, then KILL."""
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # children (executors, Python workers) may outlive the group leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=5)


def _daemon(name: str, args: Sequence[str], root: Path) -> Proc:
    log = root / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env.update({"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
                "SPARK_LOG_DIR": str(root / "logs"), "SPARK_NO_DAEMONIZE": "1"})
    with log.open("wb") as out:
        popen = subprocess.Popen([str(pyspark_home() / "bin" / "spark-class"), *args],
                                 stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True, cwd=root)
    return Proc(name, popen, log)


@contextlib.contextmanager
def start_cluster(root: Path, endpoint: str, *, workers: int = 2, cores: int = 1,
                  memory: str = "1g", bundle: Path | None = None,
                  start_timeout: float = 120) -> Iterator[Cluster]:
    """Build the bundle and the node Python, start a master and ``workers`` workers under
    ``root``, yield the cluster, and stop every process it started."""
    root.mkdir(parents=True, exist_ok=True)
    if bundle is None:
        bundle = root / "bundle"
        build_bundle(bundle)
    python = executor_python(bundle, root / "node-python")
    port, ui = free_port(), free_port()
    cluster = Cluster(root=root, master_url=f"spark://127.0.0.1:{port}",
                      ui_url=f"http://127.0.0.1:{ui}", endpoint=endpoint, bundle=bundle,
                      python=python, workers=workers)
    try:
        cluster.procs.append(_daemon("master", [
            "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
            "--port", str(port), "--webui-port", str(ui)], root))
        _wait(lambda: _answers(cluster), start_timeout, "the master", cluster)
        for i in range(workers):
            work = root / f"worker-{i}"
            work.mkdir(exist_ok=True)
            cluster.procs.append(_daemon(f"worker-{i}", [
                "org.apache.spark.deploy.worker.Worker", cluster.master_url,
                "--host", "127.0.0.1", "--cores", str(cores), "--memory", memory,
                "--work-dir", str(work), "--webui-port", str(free_port())], root))
        _wait(lambda: _answers(cluster) and cluster.alive_workers() == workers,
              start_timeout, f"{workers} workers", cluster)
        yield cluster
    finally:
        for proc in reversed(cluster.procs):
            _stop(proc.popen)
        _reap(root)


def _reap(root: Path, grace: float = 30) -> None:
    """Python worker daemons put themselves in a process group of their own (pyspark's
    daemon calls setpgid), so stopping a worker's group misses them; they exit once they
    see their executor gone. Wait for that, then kill what is left (by pid)."""
    deadline = time.monotonic() + grace
    while processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in processes_under(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _answers(cluster: Cluster) -> bool:
    try:
        cluster.alive_workers()
    except OSError:
        return False
    return True


def _wait(ready, timeout: float, what: str, cluster: Cluster) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in cluster.procs if p.popen.poll() is not None]
        if dead:
            raise RuntimeError(f"{dead[0].name} exited {dead[0].popen.returncode}:\n"
                               + dead[0].log.read_text(errors="replace")[-3000:])
        if ready():
            return
        time.sleep(0.5)
    logs = "\n".join(f"--- {p.name}\n" + p.log.read_text(errors="replace")[-1500:]
                     for p in cluster.procs)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s:\n{logs}")


def processes_under(root: Path) -> list[int]:
    """Pids of running processes (not zombies) whose command line names ``root``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in cmdline and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids
