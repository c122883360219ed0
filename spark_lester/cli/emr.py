"""``spark-lester emr``: run engine commands as steps on EMR, wait for them, read their logs.

    spark-lester emr submit --bundle DIR --code-uri S3URI --warehouse S3URI
        (--run PIPELINE.py | --delete REQUEST.json | --unlearn REQUEST.json)...
        [--source NAME=URI ...] [--name PIPELINE_NAME]
        (--cluster-id ID | --log-uri S3URI [--release emr-7.12.0] [--core-count N] ...)
        [--no-wait] [--poll S] [--timeout S] [--json PATH]
    spark-lester emr wait CLUSTER_ID --step-id ID [--step-id ID ...]
    spark-lester emr logs CLUSTER_ID STEP_ID [--kind stderr] [--lines N]

``--run/--delete/--unlearn`` may be repeated; steps run in the order given. Without
``--cluster-id`` an ephemeral cluster is started (bootstrap, classifications, the steps,
auto-termination) and ends after the steps. Progress goes to stderr.

Exit codes: 0 the steps completed (or were submitted, with --no-wait); 1 a step failed or
the cluster terminated (the error and the step's log tail are on stderr); 2 bad input or a
non-retryable AWS error (missing bucket, role, credentials); 75 a retryable condition
(throttling, timeout while waiting): running the same command again may succeed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from spark_lester.aws.versions import EMR_RELEASE
from spark_lester.cli import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK

EXIT_RETRY = 75  # EX_TEMPFAIL


class _AppendAction(argparse.Action):
    """Collect --run/--delete/--unlearn into one ordered list of (kind, target)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        actions = list(getattr(namespace, "actions", None) or [])
        actions.append((self.const, values))
        namespace.actions = actions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("emr", help="run pipelines and deletion requests on EMR",
                              description="Submit spark-lester commands as EMR steps, wait for "
                                          "them, read their logs.")
    which = p.add_subparsers(dest="emr_command", required=True, metavar="ACTION")

    s = which.add_parser("submit", help="upload the bundle and run steps (new or running cluster)")
    s.add_argument("--bundle", type=Path, default=Path("dist/spark_lester"),
                   help="folder written by `spark-lester package` (default dist/spark_lester)")
    s.add_argument("--code-uri", required=True, help="S3 prefix to upload the bundle to")
    s.add_argument("--warehouse", required=True, help="warehouse root, s3://BUCKET/PREFIX")
    for flag, kind, meta in (("--run", "run", "PIPELINE.py"), ("--delete", "delete", "REQUEST.json"),
                             ("--unlearn", "unlearn", "REQUEST.json")):
        s.add_argument(flag, dest="actions", action=_AppendAction, const=kind, metavar=meta,
                       help=f"add a '{kind}' step (local file or s3:// URI; repeatable)")
    s.add_argument("--name", help="pipeline name of the --run steps (default: from the file "
                                  "name, as `spark-lester run` does)")
    s.add_argument("--source", action="append", default=[], metavar="NAME=URI",
                   help="a source of the pipeline for --run steps (repeatable)")
    s.add_argument("--results-uri", help="where steps copy their JSON summaries "
                                         "(default: step-results/ next to the warehouse)")
    s.add_argument("--cluster-id", help="add the steps to this running cluster")
    g = s.add_argument_group("ephemeral cluster (without --cluster-id)")
    g.add_argument("--log-uri", help="S3 prefix for the cluster's logs (required)")
    g.add_argument("--cluster-name", default="spark-lester", help="cluster name")
    g.add_argument("--release", default=None,
                   help=f"EMR release (default {EMR_RELEASE}, spark_lester.aws.versions)")
    g.add_argument("--master-type", default="m5.xlarge")
    g.add_argument("--core-type", default="m5.xlarge")
    g.add_argument("--core-count", type=int, default=2)
    g.add_argument("--subnet-id")
    g.add_argument("--service-role", default="EMR_DefaultRole")
    g.add_argument("--instance-profile", default="EMR_EC2_DefaultRole")
    g.add_argument("--idle-timeout", type=int, default=3600, help="seconds (auto-termination)")
    g.add_argument("--pip-index-url", help="package index for the bootstrap's pip (a mirror)")
    s.add_argument("--driver-memory", default="4g")
    _common(s)
    s.add_argument("--no-wait", dest="wait", action="store_false", help="return after submitting")
    s.set_defaults(func=run_submit, actions=None)

    w = which.add_parser("wait", help="wait for steps submitted earlier")
    w.add_argument("cluster_id")
    w.add_argument("--step-id", action="append", required=True, dest="step_ids")
    _common(w)
    w.set_defaults(func=run_wait)

    lg = which.add_parser("logs", help="print a step's logs from the log bucket")
    lg.add_argument("cluster_id")
    lg.add_argument("step_id")
    lg.add_argument("--log-uri", help="the cluster's log URI (default: from DescribeCluster)")
    lg.add_argument("--kind", choices=("stderr", "stdout", "controller", "syslog"), default="stderr")
    lg.add_argument("--lines", type=int, default=200, help="last N lines (0: all)")
    lg.add_argument("--region")
    lg.add_argument("--endpoint-url")
    lg.set_defaults(func=run_logs)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--poll", type=float, default=30.0, help="seconds between polls (default 30)")
    p.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")
    p.add_argument("--endpoint-url", help="one endpoint for S3, EMR and IAM (e.g. moto's server)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write a machine-readable summary")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def run_submit(args: argparse.Namespace) -> int:
    from spark_lester.aws import client
    from spark_lester.aws.emr import DEFAULT_RELEASE, ClusterSpec
    from spark_lester.aws.submit import Action, submit
    from spark_lester.cli._private import parse_named_paths
    from spark_lester.errors import AwsError, ConfigError

    actions = [Action(kind, target, name=args.name if kind == "run" else None)
               for kind, target in args.actions or []]
    spec = None
    if args.cluster_id is None:
        if not args.log_uri:
            raise ConfigError("an ephemeral cluster needs --log-uri (or pass --cluster-id).")
        spec = ClusterSpec(name=args.cluster_name, log_uri=args.log_uri, bundle_uri=args.code_uri,
                           release_label=args.release or DEFAULT_RELEASE,
                           service_role=args.service_role, instance_profile=args.instance_profile,
                           master_instance_type=args.master_type,
                           core_instance_type=args.core_type,
                           core_instance_count=args.core_count,
                           idle_timeout_seconds=args.idle_timeout, subnet_id=args.subnet_id,
                           pip_index_url=args.pip_index_url)
    clients = {name: client(name, region=args.region, endpoint_url=args.endpoint_url)
               for name in ("s3", "emr", "iam")}
    progress = _Progress(args.progress)
    summary: dict[str, Any] = {"ok": False}
    try:
        result = submit(args.bundle, args.code_uri, actions, warehouse=args.warehouse,
                        sources=parse_named_paths(args.source, "--source"),
                        cluster_id=args.cluster_id, spec=spec, results_uri=args.results_uri,
                        wait=args.wait, poll_seconds=args.poll, timeout_seconds=args.timeout,
                        on_update=progress.update, driver_memory=args.driver_memory, **clients)
        summary = {"ok": True, **result.to_json()}
        where = "new cluster" if result.created_cluster else "cluster"
        state = "completed" if args.wait else "submitted"
        print(f"{len(result.step_ids)} step(s) {state} on {where} {result.cluster_id}",
              file=sys.stderr)
        return EXIT_OK
    except AwsError as err:
        return _failed(err, summary)
    finally:
        progress.close()
        _write_json(args.json, summary)


def run_wait(args: argparse.Namespace) -> int:
    from spark_lester.aws import client
    from spark_lester.aws.emr import wait_for_steps
    from spark_lester.errors import AwsError

    s3 = client("s3", region=args.region, endpoint_url=args.endpoint_url)
    emr = client("emr", region=args.region, endpoint_url=args.endpoint_url)
    progress = _Progress(args.progress)
    summary: dict[str, Any] = {"ok": False}
    try:
        final = wait_for_steps(emr, args.cluster_id, args.step_ids, s3=s3,
                               poll_seconds=args.poll, timeout_seconds=args.timeout,
                               on_update=progress.update)
        summary = {"ok": True, **final.to_json()}
        return EXIT_OK
    except AwsError as err:
        return _failed(err, summary)
    finally:
        progress.close()
        _write_json(args.json, summary)


def run_logs(args: argparse.Namespace) -> int:
    from spark_lester.aws import client
    from spark_lester.aws.emr import cluster_state, step_log_uri, step_logs
    from spark_lester.errors import ConfigError

    s3 = client("s3", region=args.region, endpoint_url=args.endpoint_url)
    log_uri = args.log_uri
    if log_uri is None:
        log_uri = cluster_state(client("emr", region=args.region,
                                       endpoint_url=args.endpoint_url), args.cluster_id)[3]
        if not log_uri:
            raise ConfigError(f"cluster {args.cluster_id} has no log URI.",
                              hint="Pass --log-uri (clusters without LogUri keep logs on the nodes).")
    logs = step_logs(s3, log_uri, args.cluster_id, args.step_id, kinds=(args.kind,),
                     lines=args.lines or None)
    if args.kind not in logs:
        print(f"no {args.kind} log at {step_log_uri(log_uri, args.cluster_id, args.step_id)} yet: "
              "EMR copies step logs to S3 about every five minutes.", file=sys.stderr)
        return EXIT_CHECK_FAILED
    sys.stdout.write(logs[args.kind].rstrip("\n") + "\n")
    return EXIT_OK


def _failed(err: Any, summary: dict[str, Any]) -> int:
    """Record a typed AWS error in the summary and choose the exit code."""
    from spark_lester.errors import ClusterTerminatedError, StepFailedError

    summary.update({"ok": False, "error": type(err).__name__, "message": str(err),
                    "retryable": err.retryable})
    for name in ("cluster_id", "step_id", "state", "reason", "log_uri", "log_tail"):
        if hasattr(err, name):
            summary[name] = getattr(err, name)
    print(f"spark-lester emr: error: {err}", file=sys.stderr)
    if err.retryable:
        return EXIT_RETRY
    if isinstance(err, (StepFailedError, ClusterTerminatedError)):
        return EXIT_CHECK_FAILED
    return EXIT_BAD_INPUT


def _write_json(path: Path | None, summary: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


class _Progress:
    """A tqdm bar (steps done / steps) when stderr is a terminal or --progress; otherwise
    one line per change of state."""

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar: Any = None
        self.last: tuple[str, ...] | None = None

    def update(self, snap: Any) -> None:
        done = sum(s.state == "COMPLETED" for s in snap.steps)
        current = next((s for s in snap.steps if s.state not in ("COMPLETED",)), None)
        text = f"{snap.cluster_id} {snap.cluster_state}" + (
            f" | {current.name or current.id}: {current.state}" if current else "")
        if self.enabled:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=len(snap.steps), unit="step", file=sys.stderr,
                                bar_format="{l_bar}{bar}| {n}/{total} steps [{elapsed}]")
            self.bar.n = done
            self.bar.set_description_str(text)
            self.bar.refresh()
            return
        key = (snap.cluster_state, *(s.state for s in snap.steps))
        if key != self.last:
            self.last = key
            states = ", ".join(f"{s.id} {s.state}" for s in snap.steps)
            print(f"[{snap.elapsed:7.0f} s] {snap.cluster_id} {snap.cluster_state} | {states}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
