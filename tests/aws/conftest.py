"""Fixtures for spark_lester.aws: one bundle per session, boto3 clients against moto's server,
and a handle on moto's in-process EMR backend to move clusters and steps between states
(moto's EMR never runs a step; the tests play the part of EMR, the code under test only sees
real boto3 calls against the server)."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """The bundle `spark-lester package` writes (built once; ~3 s, offline)."""
    from spark_lester.aws.package import package

    out = tmp_path_factory.mktemp("bundle") / "spark_lester"
    package(out)
    return out


@dataclass
class Aws:
    """boto3 clients on moto's server plus names of the buckets and roles created for a test."""

    endpoint: str
    s3: Any
    emr: Any
    iam: Any
    code: str
    logs: str
    artifacts: str

    @property
    def code_uri(self) -> str:
        return f"s3://{self.code}/spark_lester/0.1.0"

    @property
    def log_uri(self) -> str:
        return f"s3://{self.logs}/emr/"

    @property
    def warehouse(self) -> str:
        return f"s3://{self.artifacts}/warehouse"

    def keys(self, bucket: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def put_log(self, cluster_id: str, step_id: str, kind: str, text: str) -> None:
        """Write a step log where EMR would: <LogUri>/<cluster>/steps/<step>/<kind>.gz."""
        self.s3.put_object(Bucket=self.logs, Key=f"emr/{cluster_id}/steps/{step_id}/{kind}.gz",
                           Body=gzip.compress(text.encode()))


@pytest.fixture
def aws(s3_endpoint) -> Aws:
    """Fresh buckets (code, logs, artifacts) and EMR's default roles on moto's server."""
    from spark_lester.aws import client

    clients = {n: client(n, region=REGION, endpoint_url=s3_endpoint) for n in ("s3", "emr", "iam")}
    tag = uuid.uuid4().hex[:8]
    env = Aws(endpoint=s3_endpoint, code=f"code-{tag}", logs=f"logs-{tag}",
              artifacts=f"artifacts-{tag}", **clients)
    for bucket in (env.code, env.logs, env.artifacts):
        env.s3.create_bucket(Bucket=bucket)
    iam = env.iam
    for role in ("EMR_DefaultRole", "EMR_EC2_DefaultRole"):
        try:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")
        except iam.exceptions.EntityAlreadyExistsException:
            pass
    try:
        iam.create_instance_profile(InstanceProfileName="EMR_EC2_DefaultRole")
        iam.add_role_to_instance_profile(InstanceProfileName="EMR_EC2_DefaultRole",
                                         RoleName="EMR_EC2_DefaultRole")
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    return env


class MotoEmr:
    """Moves moto's clusters and steps between states, as EMR would."""

    def __init__(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.emr.models import emr_backends

        self.backend = emr_backends[DEFAULT_ACCOUNT_ID][REGION]

    def cluster(self, cluster_id: str) -> Any:
        return self.backend.clusters[cluster_id]

    def step(self, cluster_id: str, step_id: str) -> Any:
        return next(s for s in self.cluster(cluster_id).steps if s.id == step_id)

    def set_step(self, cluster_id: str, step_id: str, state: str, reason: str | None = None) -> None:
        step = self.step(cluster_id, step_id)
        step.state = state
        if reason:
            step.last_state_change_reason = reason

    def set_cluster(self, cluster_id: str, state: str, reason: str | None = None) -> None:
        cluster = self.cluster(cluster_id)
        cluster.state = state
        if reason:
            cluster.last_state_change_reason = reason

    def script(self, *, fail: int | None = None,
               on_done: Callable[[int, str], None] | None = None,
               terminate: bool = True) -> Script:
        """Plays EMR for ``wait_for_steps``: see :class:`Script`."""
        return Script(self, fail=fail, on_done=on_done, terminate=terminate)


class Script:
    """``on_update`` records each snapshot (and learns the cluster id); ``sleep`` ends the
    running step (COMPLETED, or FAILED for index ``fail`` with the later ones CANCELLED) and
    starts the next one; with none left the cluster terminates like an ephemeral one (with
    errors after a failure). No wall-clock time passes."""

    def __init__(self, moto: MotoEmr, *, fail: int | None, on_done: Callable[[int, str], None] | None,
                 terminate: bool) -> None:
        self.moto, self.fail, self.on_done, self.terminate = moto, fail, on_done, terminate
        self.snapshots: list[Any] = []
        self.calls = 0

    def on_update(self, snapshot: Any) -> None:
        self.snapshots.append(snapshot)

    def sleep(self, _seconds: float) -> None:
        cluster_id = self.snapshots[-1].cluster_id
        watched = {s.id for s in self.snapshots[-1].steps}
        steps = [s for s in self.moto.cluster(cluster_id).steps if s.id in watched]
        i = self.calls
        self.calls += 1
        if i >= len(steps):
            return
        if self.fail is not None and i == self.fail:
            steps[i].state = "FAILED"
            for later in steps[i + 1:]:
                later.state = "CANCELLED"
            if self.terminate:
                self.moto.set_cluster(cluster_id, "TERMINATED_WITH_ERRORS",
                                      "Steps completed with errors")
            return
        steps[i].state = "COMPLETED"
        if self.on_done:
            self.on_done(i, steps[i].id)
        if i + 1 < len(steps):
            steps[i + 1].state = "RUNNING"
        elif self.terminate:
            self.moto.set_cluster(cluster_id, "TERMINATED", "Steps completed")


@pytest.fixture
def moto_emr() -> Iterator[MotoEmr]:
    yield MotoEmr()
