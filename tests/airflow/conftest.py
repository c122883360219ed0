"""Real Airflow for examples/airflow/: one cached virtualenv per Airflow line, made by
deploy/airflow/setup.sh (Airflow + the Amazon provider, pinned), a metadata database per
line, and moto's EMR played by a thread of the test process.

The DAGs run in a subprocess of that venv (``dag_runner.py``, ``dag.test()``) against moto's
server on 127.0.0.1 (the session's ``s3_endpoint``; S3, EMR and EC2 share it). moto's EMR
never runs a step, so :class:`EmrPlayer` does what EMR would: the running step of each live
cluster ends (COMPLETED, or FAILED for the steps the test names, the later ones CANCELLED as
ActionOnFailure=CANCEL_AND_WAIT does) and the next one starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from spark_lester.config import project_root

ROOT = project_root()
LINES = ("2.10", "3")
REGION = "us-east-1"
RUNNER = Path(__file__).with_name("dag_runner.py")
DAG_FILE = ROOT / "examples" / "airflow" / "spark_lester_dags.py"
_OFFLINE = ("No matching distribution", "Could not find a version", "NewConnectionError",
            "Temporary failure in name resolution", "Network is unreachable",
            "Failed to establish a new connection")


def airflow_python(line: str) -> Path:
    """The venv's python for an Airflow line, created on first use (setup.sh is idempotent:
    a venv whose pins did not change is reused as it is). Skips only when PyPI is out of
    reach; any other failure of the install fails the test."""
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON") or sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "deploy" / "airflow" / "setup.sh"), line],
                          capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        if any(s in proc.stderr for s in _OFFLINE):
            pytest.skip(f"Airflow {line} cannot be installed: the package index is out of reach")
        raise RuntimeError(f"deploy/airflow/setup.sh {line} failed:\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


@dataclass
class Airflow:
    """One Airflow line: its python, a template metadata database, and how to run a DAG."""

    line: str
    python: Path
    template_db: Path
    endpoint: str

    def env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW", "AWS_", "PYTHONPATH", "SPARK_LESTER"))}
        conn = {"conn_type": "aws",
                "extra": {"endpoint_url": self.endpoint, "region_name": REGION}}
        env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        })
        return env

    def run(self, home: Path, dag_id: str, *, dag_file: Path = DAG_FILE,
            settings: dict[str, str] | None = None) -> dict[str, Any]:
        """``dag.test()`` of ``dag_id`` in a fresh copy of the metadata database."""
        home.mkdir(parents=True, exist_ok=True)
        (home / "dags").mkdir(exist_ok=True)
        shutil.copy(self.template_db, home / "airflow.db")
        out = home / "result.json"
        cmd = [str(self.python), str(RUNNER), str(dag_file), dag_id, str(out)]
        for name, value in (settings or {}).items():
            cmd += ["--set", f"{name}={value}"]
        proc = subprocess.run(cmd, env=self.env(home), capture_output=True, text=True,
                              timeout=600, check=False)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"dag_runner failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
        result = json.loads(out.read_text(encoding="utf-8"))
        result["log"] = proc.stdout[-6000:] + proc.stderr[-6000:]
        return result


_airflows: dict[str, Airflow] = {}


@pytest.fixture(params=LINES, ids=[f"airflow-{line}" for line in LINES])
def airflow(request, s3_endpoint, tmp_path_factory) -> Airflow:
    """Airflow 2.10 and 3 (each test runs under both); venv and database made once."""
    line = request.param
    if line not in _airflows:
        python = airflow_python(line)
        home = tmp_path_factory.mktemp(f"airflow-{line}-template")
        af = Airflow(line=line, python=python, template_db=home / "airflow.db",
                     endpoint=s3_endpoint)
        proc = subprocess.run([str(python), str(RUNNER), "--init-db"], env=af.env(home),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow db init failed:\n{proc.stderr[-4000:]}")
        _airflows[line] = af
    return _airflows[line]


@dataclass
class EmrPlayer:
    """Plays EMR on moto's backend from a thread: see the module docstring. ``fails`` says
    which steps fail (by step); ``ended`` records (cluster id, step name, state) in the
    order the steps ended."""

    fails: Callable[[Any], bool] = lambda step: False
    ended: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.emr.models import emr_backends

        self.backend = emr_backends[DEFAULT_ACCOUNT_ID][REGION]
        self.known = set(self.backend.clusters)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def new_clusters(self) -> list[Any]:
        """Clusters created since the player was made, oldest first."""
        return [c for cid, c in self.backend.clusters.items() if cid not in self.known]

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            for cluster in self.new_clusters():
                self._tick(cluster)

    def _tick(self, cluster: Any) -> None:
        if cluster.state.startswith("TERMINAT"):
            return
        live = [s for s in cluster.steps if s.state in ("PENDING", "RUNNING")]
        if not live:
            return
        step = live[0]
        if step.state == "PENDING":
            step.state = "RUNNING"
            return
        if self.fails(step):
            step.state = "FAILED"
            self.ended.append((cluster.id, step.name, "FAILED"))
            for later in live[1:]:
                later.state = "CANCELLED"
                self.ended.append((cluster.id, later.name, "CANCELLED"))
        else:
            step.state = "COMPLETED"
            self.ended.append((cluster.id, step.name, "COMPLETED"))
        if all(s.state not in ("PENDING", "RUNNING") for s in cluster.steps):
            cluster.state = "WAITING"

    def __enter__(self) -> EmrPlayer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def emr_player() -> Iterator[Callable[..., EmrPlayer]]:
    players: list[EmrPlayer] = []

    def make(**kwargs: Any) -> EmrPlayer:
        player = EmrPlayer(**kwargs)
        players.append(player.__enter__())
        return player

    yield make
    for player in players:
        player.__exit__()


@pytest.fixture
def infra(s3_endpoint):
    """The DAG's buckets (each test gets its own artifacts bucket) and a subnet on moto."""
    from spark_lester.aws import client

    s3 = client("s3", region=REGION, endpoint_url=s3_endpoint)
    ec2 = client("ec2", region=REGION, endpoint_url=s3_endpoint)
    tag = uuid.uuid4().hex[:8]
    artifacts = f"artifacts-{tag}"
    for bucket in ("acme-lester-code", "acme-lester-logs", artifacts):
        s3.create_bucket(Bucket=bucket)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    settings = {"SUBNET_ID": subnet, "REQUESTS_BUCKET": artifacts}
    return {"s3": s3, "artifacts": artifacts, "subnet": subnet, "settings": settings}


def arrived_a_minute_apart(bucket: str, keys: list[str]) -> None:
    """Give the objects LastModified times one minute apart, in list order (S3 lists
    LastModified to the second, so puts in one test would tie)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    store = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys
    start = datetime(2025, 5, 31, 23, 0)
    for i, key in enumerate(keys):
        store[key].last_modified = start + timedelta(minutes=i)
