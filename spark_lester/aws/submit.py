"""``submit``: upload a bundle and inputs to S3, run engine commands as EMR steps, wait.

Either on a running cluster (``cluster_id``; AddJobFlowSteps) or on an ephemeral one
(``spec``; RunJobFlow with the bundle's bootstrap action, configuration classifications and
the steps; it terminates after them). Local PIPELINE.py / REQUEST.json files are uploaded
under ``<code_uri>/inputs/<submission>/``; ``s3://`` targets are used as they are. Each step
copies the command's ``--json`` summary to ``<results_uri>/<n>-<kind>.json``, which is read
back into the result when the step completed.

Everything that can be checked before a cluster costs money is checked first: the manifest,
the buckets (code, logs, warehouse), the IAM role and instance profile (ephemeral clusters).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from spark_lester.aws import emr as emr_api
from spark_lester.aws.package import read_manifest
from spark_lester.aws.s3 import (
    ensure_buckets,
    is_s3_uri,
    join_uri,
    parse_s3_uri,
    read_text,
    upload_file,
    upload_tree,
)
from spark_lester.aws.steps import STEP_SCRIPT, lester_step
from spark_lester.errors import ConfigError, PackagingError

KINDS = ("run", "delete", "unlearn")


@dataclass(frozen=True)
class Action:
    """One engine command to run as a step: ``kind`` (run, delete, unlearn) on ``target``
    (PIPELINE.py for run, REQUEST.json otherwise; a local path or an s3:// URI)."""

    kind: str
    target: str
    name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown step kind {self.kind!r}; use one of {', '.join(KINDS)}.")
        if self.name is not None and self.kind != "run":
            raise ConfigError(f"a name is given to pipelines only ({self.kind} {self.target}).")

    @property
    def pipeline_name(self) -> str:
        """The run's pipeline name: ``name``, else what ``spark-lester run`` takes from the
        file (its folder for ``.../<folder>/pipeline.py``, else its stem). Passed to the step
        with ``--name``: the step runs an uploaded copy whose folder is the submission id.

        >>> Action("run", "examples/running_example/pipeline.py").pipeline_name
        'running_example'
        >>> Action("run", "s3://code/pipelines/churn.py").pipeline_name
        'churn'
        >>> Action("run", "pipeline.py", name="nightly").pipeline_name
        'nightly'
        """
        path = PurePosixPath(self.target.rstrip("/"))
        return self.name or (path.parent.name if path.stem == "pipeline" and path.parent.name
                             else path.stem)


@dataclass
class SubmitResult:
    """What was submitted and how it ended."""

    submission: str
    cluster_id: str
    created_cluster: bool
    step_ids: list[str]
    step_names: list[str]
    result_uris: list[str]
    uploaded: dict[str, str]
    unchanged: list[str] = field(default_factory=list)
    final: emr_api.Snapshot | None = None
    results: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "submission": self.submission, "cluster_id": self.cluster_id,
            "created_cluster": self.created_cluster,
            "steps": [{"id": i, "name": n, "result_uri": r,
                       "state": _state(self.final, i)}
                      for i, n, r in zip(self.step_ids, self.step_names, self.result_uris,
                                         strict=True)],
            "cluster_state": self.final.cluster_state if self.final else None,
            "uploaded": self.uploaded, "unchanged": self.unchanged, "results": self.results,
            "seconds": round(self.seconds, 3),
        }


def submit(bundle: Path | str, code_uri: str, actions: Sequence[Action], *, warehouse: str,
           sources: Mapping[str, str] | None = None, cluster_id: str | None = None,
           spec: emr_api.ClusterSpec | None = None, results_uri: str | None = None,
           wait: bool = True, s3: Any, emr: Any, iam: Any = None,
           poll_seconds: float = 30.0, timeout_seconds: float | None = None,
           on_update: Callable[[emr_api.Snapshot], None] | None = None,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic,
           driver_memory: str = "4g") -> SubmitResult:
    """Upload, submit ``actions`` in order, and (``wait``) wait for them.

    Exactly one of ``cluster_id`` (a running cluster) and ``spec`` (an ephemeral cluster)
    is given. ``s3``, ``emr`` and ``iam`` are boto3 clients (``iam`` only for ephemeral
    clusters). Raises the typed errors of :mod:`spark_lester.aws.emr` and
    :mod:`spark_lester.aws.s3`.
    """
    started = clock()
    if (cluster_id is None) == (spec is None):
        raise ConfigError("give either a cluster id (running cluster) or a cluster spec "
                          "(ephemeral cluster).")
    if not actions:
        raise ConfigError("nothing to submit: give at least one --run, --delete or --unlearn.")
    if any(a.kind == "run" for a in actions) and not sources:
        raise ConfigError("--run needs the pipeline's sources (--source NAME=URI).")
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    needed = [manifest["wheel"]["file"], manifest["requirements"]["file"],
              *(manifest["emr"][k] for k in ("bootstrap", "step_script", "configurations"))]
    absent = [n for n in needed if not (bundle / n).is_file()]
    if absent:
        raise PackagingError(f"the bundle {bundle} lacks {', '.join(absent)}.", step="manifest",
                             hint=f"Rebuild it: spark-lester package --out {bundle}")
    parse_s3_uri(code_uri)
    submission = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    results_base = join_uri(results_uri or _default_results(warehouse), submission)
    for action in actions:
        if not is_s3_uri(action.target) and not Path(action.target).is_file():
            raise ConfigError(f"{action.kind}: {action.target} is neither a file nor an s3:// URI.")

    checked = [code_uri, results_base, warehouse, *(a.target for a in actions)]
    if spec is not None:
        checked.append(spec.log_uri)
    ensure_buckets(s3, checked)
    if spec is not None and iam is not None:
        emr_api.check_roles(iam, spec)

    unchanged: list[str] = []
    uploaded = upload_tree(s3, bundle, code_uri, skipped=unchanged)
    step_script = join_uri(code_uri, STEP_SCRIPT)
    steps, names, result_uris = [], [], []
    on_failure = "TERMINATE_CLUSTER" if spec is not None else "CANCEL_AND_WAIT"
    for n, action in enumerate(actions, start=1):
        target = action.target
        if not is_s3_uri(target):
            target = upload_file(s3, Path(target),
                                 join_uri(code_uri, "inputs", submission, Path(target).name))
            uploaded[f"inputs/{submission}/{Path(action.target).name}"] = target
        result_uri = join_uri(results_base, f"{n}-{action.kind}.json")
        step = lester_step(action.kind, target=target, warehouse=warehouse,
                           step_script=step_script, result_uri=result_uri,
                           sources=sources if action.kind == "run" else None,
                           action_on_failure=on_failure, driver_memory=driver_memory,
                           emr_dir=bundle / "emr")
        if action.kind == "run":
            step["HadoopJarStep"]["Args"] += ["--name", action.pipeline_name]
        steps.append(step)
        names.append(step["Name"])
        result_uris.append(result_uri)

    if spec is not None:
        configurations = emr_api.load_configurations(bundle / "emr")
        request = emr_api.cluster_request(spec, steps, configurations)
        cluster_id, step_ids = emr_api.start_cluster(emr, request)
        log_uri: str | None = spec.log_uri
    else:
        assert cluster_id is not None
        step_ids = emr_api.add_steps(emr, cluster_id, steps)
        log_uri = None
    result = SubmitResult(submission=submission, cluster_id=cluster_id,
                          created_cluster=spec is not None, step_ids=step_ids,
                          step_names=names, result_uris=result_uris, uploaded=uploaded,
                          unchanged=unchanged)
    if wait:
        result.final = emr_api.wait_for_steps(
            emr, cluster_id, step_ids, s3=s3, log_uri=log_uri, poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds, on_update=on_update, sleep=sleep, clock=clock)
        for step_id, uri in zip(step_ids, result_uris, strict=True):
            text = read_text(s3, uri)
            if text is not None:
                result.results[step_id] = _json_or_text(text)
    result.seconds = clock() - started
    return result


def _default_results(warehouse: str) -> str:
    """``s3://artifacts/warehouse`` -> ``s3://artifacts/step-results`` (next to the warehouse,
    where the instance profile may write; the code bucket is read-only for it)."""
    if not is_s3_uri(warehouse):
        raise ConfigError(f"the warehouse {warehouse!r} must be an s3:// URI on EMR.")
    bucket, key = parse_s3_uri(warehouse)
    parent = key.rstrip("/").rpartition("/")[0]
    return join_uri(f"s3://{bucket}", parent, "step-results") if parent else \
        f"s3://{bucket}/step-results"


def _state(snapshot: emr_api.Snapshot | None, step_id: str) -> str | None:
    if snapshot is None:
        return None
    return next((s.state for s in snapshot.steps if s.id == step_id), None)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
