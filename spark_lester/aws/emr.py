"""EMR: ephemeral clusters (RunJobFlow), steps on running clusters, waiting, step logs.

An ephemeral cluster is started with the bootstrap action that installs the bundle, the
configuration classifications of ``emr/configurations.json`` and the steps; it terminates
when the steps are done (``KeepJobFlowAliveWhenNoSteps=False``; an idle-timeout auto-termination
policy guards the case where it would not). Waiting polls ListSteps and DescribeCluster and
turns the end states into typed errors: :class:`StepFailedError` (with the tail of the step's
stderr from the log bucket), :class:`ClusterTerminatedError`, :class:`WaitTimeoutError`.

>>> spec = ClusterSpec(name="lester", log_uri="s3://logs/emr/",
...                    bundle_uri="s3://code/spark_lester/0.1.0")
>>> request = cluster_request(spec, steps=[], configurations=[])
>>> request["ReleaseLabel"], request["Instances"]["KeepJobFlowAliveWhenNoSteps"]
('emr-7.12.0', False)
>>> request["BootstrapActions"][0]["ScriptBootstrapAction"]["Path"]
's3://code/spark_lester/0.1.0/emr/bootstrap/install_lester.sh'
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spark_lester import retry
from spark_lester.aws._private import aws_call
from spark_lester.aws.s3 import join_uri, read_text, tail
from spark_lester.aws.versions import EMR_RELEASE
from spark_lester.errors import (
    ClusterTerminatedError,
    ConfigError,
    IamRoleNotFoundError,
    StepFailedError,
    WaitTimeoutError,
    variant,
)

BOOTSTRAP_SCRIPT = "emr/bootstrap/install_lester.sh"
CONFIGURATIONS = "emr/configurations.json"
DEFAULT_RELEASE = EMR_RELEASE
STEP_DONE = frozenset({"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"})
STEP_BAD = frozenset({"CANCELLED", "FAILED", "INTERRUPTED"})
CLUSTER_ENDED = frozenset({"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"})
CLUSTER_USABLE = frozenset({"STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"})
LOG_KINDS = ("stderr", "stdout", "controller", "syslog")
_RELEASE = re.compile(r"^emr-7\.\d+\.\d+$")


@dataclass(frozen=True)
class ClusterSpec:
    """What an ephemeral cluster looks like. Roles default to EMR's default role names."""

    name: str
    log_uri: str
    bundle_uri: str
    release_label: str = DEFAULT_RELEASE
    service_role: str = "EMR_DefaultRole"
    instance_profile: str = "EMR_EC2_DefaultRole"
    master_instance_type: str = "m5.xlarge"
    core_instance_type: str = "m5.xlarge"
    core_instance_count: int = 2
    idle_timeout_seconds: int = 3600
    subnet_id: str | None = None
    pip_index_url: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _RELEASE.match(self.release_label):
            raise ConfigError(f"release label {self.release_label!r} is not emr-7.x.y.",
                              hint="spark_lester targets EMR 7 (Spark 3.5, Delta 3); e.g. "
                                   f"{DEFAULT_RELEASE}.")
        if self.core_instance_count < 1:
            raise ConfigError("an ephemeral cluster needs at least one core node.")
        if not 60 <= self.idle_timeout_seconds <= 7 * 24 * 3600:
            raise ConfigError("idle timeout must be between 60 s and 7 days (EMR's limits).")


@dataclass(frozen=True)
class StepStatus:
    id: str
    name: str
    state: str
    reason: str | None = None
    log_file: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """One poll: the cluster's state and the watched steps' states, in submission order."""

    cluster_id: str
    cluster_state: str
    cluster_reason_code: str | None
    cluster_reason: str | None
    steps: tuple[StepStatus, ...]
    elapsed: float = 0.0

    @property
    def done(self) -> bool:
        return all(s.state in STEP_DONE for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_configurations(emr_dir: Path) -> list[dict[str, Any]]:
    """The configuration classifications (``emr/configurations.json``)."""
    path = emr_dir / "configurations.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist.",
                          hint="Pass the bundle written by `spark-lester package`.") from None


def cluster_request(spec: ClusterSpec, steps: Sequence[Mapping[str, Any]],
                    configurations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The keyword arguments of ``RunJobFlow`` for an ephemeral cluster."""
    bootstrap_args = [spec.bundle_uri] + ([spec.pip_index_url] if spec.pip_index_url else [])
    instances: dict[str, Any] = {
        "InstanceGroups": [
            {"Name": "primary", "InstanceRole": "MASTER", "Market": "ON_DEMAND",
             "InstanceType": spec.master_instance_type, "InstanceCount": 1},
            {"Name": "core", "InstanceRole": "CORE", "Market": "ON_DEMAND",
             "InstanceType": spec.core_instance_type, "InstanceCount": spec.core_instance_count},
        ],
        "KeepJobFlowAliveWhenNoSteps": False,
        "TerminationProtected": False,
    }
    if spec.subnet_id:
        instances["Ec2SubnetId"] = spec.subnet_id
    tags = {"spark_lester": "true", "for-use-with-amazon-emr-managed-policies": "true",
            **spec.tags}
    return {
        "Name": spec.name,
        "ReleaseLabel": spec.release_label,
        "LogUri": spec.log_uri,
        "Applications": [{"Name": "Spark"}, {"Name": "Hadoop"}],
        "Instances": instances,
        "BootstrapActions": [{
            "Name": "install spark_lester",
            "ScriptBootstrapAction": {"Path": join_uri(spec.bundle_uri, BOOTSTRAP_SCRIPT),
                                      "Args": bootstrap_args},
        }],
        "Steps": [dict(s) for s in steps],
        "Configurations": [dict(c) for c in configurations],
        "JobFlowRole": spec.instance_profile,
        "ServiceRole": spec.service_role,
        "AutoTerminationPolicy": {"IdleTimeout": spec.idle_timeout_seconds},
        "StepConcurrencyLevel": 1,
        "VisibleToAllUsers": True,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


def check_roles(iam: Any, spec: ClusterSpec) -> None:
    """Raise :class:`IamRoleNotFoundError` unless the service role and instance profile
    exist (EMR itself would only fail minutes later, with a less direct message)."""
    from botocore.exceptions import ClientError

    for kind, name, call in (
        ("service role", spec.service_role, lambda n: iam.get_role(RoleName=n)),
        ("instance profile", spec.instance_profile,
         lambda n: iam.get_instance_profile(InstanceProfileName=n)),
    ):
        with aws_call("iam", "GetRole" if kind == "service role" else "GetInstanceProfile"):
            try:
                call(name.rsplit("/", 1)[-1])
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
                    raise IamRoleNotFoundError(name, kind=kind) from None
                raise


def start_cluster(emr: Any, request: Mapping[str, Any]) -> tuple[str, list[str]]:
    """RunJobFlow; returns the cluster id and the ids of the steps it was started with."""
    with aws_call("emr", "RunJobFlow"):
        cluster_id = emr.run_job_flow(**request)["JobFlowId"]
    names = [s["Name"] for s in request.get("Steps", [])]
    return cluster_id, _step_ids_in_order(emr, cluster_id, len(names))


def add_steps(emr: Any, cluster_id: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Add steps to a running cluster (raises unless it can still take steps)."""
    snapshot = cluster_state(emr, cluster_id)
    if snapshot[0] not in CLUSTER_USABLE:
        raise _cluster_ended(cluster_id=cluster_id, state=snapshot[0],
                             reason_code=snapshot[1], reason=snapshot[2])
    with aws_call("emr", "AddJobFlowSteps"):
        return list(emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=list(steps))["StepIds"])


def cluster_state(emr: Any, cluster_id: str) -> tuple[str, str | None, str | None, str | None]:
    """(state, reason code, reason message, log URI) of a cluster."""
    with aws_call("emr", "DescribeCluster"):
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    status = cluster.get("Status", {})
    reason = status.get("StateChangeReason", {}) or {}
    return (str(status.get("State")), reason.get("Code"), reason.get("Message"),
            cluster.get("LogUri"))


def poll(emr: Any, cluster_id: str, step_ids: Sequence[str], *, elapsed: float = 0.0) -> Snapshot:
    """One look at the cluster and the watched steps."""
    state, code, message, _ = cluster_state(emr, cluster_id)
    by_id: dict[str, StepStatus] = {}
    ids = list(step_ids)
    with aws_call("emr", "ListSteps"):
        pages = [page for i in range(0, len(ids), 10)  # ListSteps takes at most 10 step ids
                 for page in emr.get_paginator("list_steps").paginate(ClusterId=cluster_id,
                                                                      StepIds=ids[i:i + 10])]
        for page in pages:
            for step in page["Steps"]:
                status = step.get("Status", {})
                failure = status.get("FailureDetails") or {}
                reason = (failure.get("Message") or failure.get("Reason")
                          or (status.get("StateChangeReason") or {}).get("Message"))
                by_id[step["Id"]] = StepStatus(id=step["Id"], name=step.get("Name", ""),
                                               state=status.get("State", "UNKNOWN"),
                                               reason=reason, log_file=failure.get("LogFile"))
    steps = tuple(by_id.get(i, StepStatus(id=i, name="", state="UNKNOWN")) for i in step_ids)
    return Snapshot(cluster_id=cluster_id, cluster_state=state, cluster_reason_code=code,
                    cluster_reason=message, steps=steps, elapsed=elapsed)


def wait_for_steps(emr: Any, cluster_id: str, step_ids: Sequence[str], *, s3: Any = None,
                   log_uri: str | None = None, poll_seconds: float = 30.0,
                   timeout_seconds: float | None = None,
                   on_update: Callable[[Snapshot], None] | None = None,
                   sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic,
                   log_lines: int = 60) -> Snapshot:
    """Poll until every step in ``step_ids`` has ended; return the last snapshot.

    Raises :class:`StepFailedError` for the first step that ended FAILED, CANCELLED or
    INTERRUPTED (with the tail of its stderr when ``s3`` is given and EMR has pushed it),
    :class:`ClusterTerminatedError` when the cluster ended before the steps did, and
    :class:`WaitTimeoutError` after ``timeout_seconds``. ``sleep`` and ``clock`` are
    injectable so tests drive the waiting without wall-clock time.
    """
    started = clock()
    while True:
        snapshot = poll(emr, cluster_id, step_ids, elapsed=clock() - started)
        if on_update is not None:
            on_update(snapshot)
        bad = [s for s in snapshot.steps if s.state in STEP_BAD]
        if bad:  # FAILED first: the steps after it are CANCELLED because of it
            failed = next((s for s in bad if s.state == "FAILED"), bad[0])
            raise _step_failed(snapshot, failed, s3=s3, emr=emr, log_uri=log_uri,
                               log_lines=log_lines)
        if snapshot.done:
            return snapshot
        if snapshot.cluster_state in CLUSTER_ENDED - {"TERMINATING"}:
            raise _cluster_ended(
                cluster_id=cluster_id, state=snapshot.cluster_state,
                reason_code=snapshot.cluster_reason_code, reason=snapshot.cluster_reason,
                pending_steps=[s.id for s in snapshot.steps if s.state not in STEP_DONE])
        if timeout_seconds is not None and clock() - started >= timeout_seconds:
            raise WaitTimeoutError(cluster_id=cluster_id, step_ids=step_ids,
                                   seconds=clock() - started)
        sleep(poll_seconds)


def step_log_uri(log_uri: str, cluster_id: str, step_id: str) -> str:
    """Where EMR puts a step's logs: ``<LogUri>/<cluster-id>/steps/<step-id>/``."""
    return join_uri(log_uri, cluster_id, "steps", step_id) + "/"


def step_logs(s3: Any, log_uri: str, cluster_id: str, step_id: str, *,
              kinds: Sequence[str] = LOG_KINDS, lines: int | None = None) -> dict[str, str]:
    """The step's logs that exist in the log bucket (kind -> text, gunzipped; the last
    ``lines`` lines when given). Empty until EMR pushes them (about every five minutes,
    and when the cluster terminates)."""
    base = step_log_uri(log_uri, cluster_id, step_id)
    out: dict[str, str] = {}
    for kind in kinds:
        text = read_text(s3, base + f"{kind}.gz")
        if text is None:
            text = read_text(s3, base + kind)
        if text is not None:
            out[kind] = tail(text, lines) if lines else text
    return out


def _cluster_ended(*, cluster_id: str, state: str, reason_code: str | None,
                   reason: str | None, pending_steps: Sequence[str] = ()
                   ) -> ClusterTerminatedError:
    """The error for a cluster that ended: transient only where a fresh cluster may succeed
    (:func:`spark_lester.retry.emr_cluster_end`)."""
    error = variant(ClusterTerminatedError, transient=retry.emr_cluster_end(reason_code))
    return error(cluster_id=cluster_id, state=state, reason_code=reason_code, reason=reason,
                 pending_steps=pending_steps)


def _step_failed(snapshot: Snapshot, step: StepStatus, *, s3: Any, emr: Any,
                 log_uri: str | None, log_lines: int) -> StepFailedError:
    if log_uri is None:
        log_uri = cluster_state(emr, snapshot.cluster_id)[3]
    text = None
    where = step_log_uri(log_uri, snapshot.cluster_id, step.id) if log_uri else None
    if s3 is not None and log_uri:
        logs = step_logs(s3, log_uri, snapshot.cluster_id, step.id, kinds=("stderr", "stdout"),
                         lines=log_lines)
        text = logs.get("stderr") or logs.get("stdout")
    return StepFailedError(cluster_id=snapshot.cluster_id, step_id=step.id,
                           step_name=step.name, state=step.state, reason=step.reason,
                           log_uri=step.log_file or where, log_tail=text)


def _step_ids_in_order(emr: Any, cluster_id: str, count: int) -> list[str]:
    """The ids of the ``count`` oldest steps of a new cluster (ListSteps is newest first)."""
    if count == 0:
        return []
    ids: list[str] = []
    with aws_call("emr", "ListSteps"):
        for page in emr.get_paginator("list_steps").paginate(ClusterId=cluster_id):
            ids.extend(s["Id"] for s in page["Steps"])
    return list(reversed(ids))[:count]
