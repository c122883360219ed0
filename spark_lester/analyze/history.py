"""How long and how often pipelines really run: EMR step and Glue job run history via boto3.

EMR: ``ListSteps`` per cluster (``ListClusters`` when no cluster is given), then
``DescribeStep`` for each matching step; a step's duration is ``EndDateTime -
StartDateTime`` from its timeline. Glue: ``GetJobRuns``; a run's duration is its
``ExecutionTime`` (seconds), else ``CompletedOn - StartedOn``. Intervals are the gaps between
consecutive run starts (creation times where a start is missing). Clients are passed in, so
the caller decides region, endpoint and credentials.

>>> from datetime import datetime, timedelta
>>> t0 = datetime(2024, 1, 1)
>>> runs = [Run("j", str(i), "SUCCEEDED", t0 + timedelta(days=i), t0 + timedelta(days=i),
...             t0 + timedelta(days=i, minutes=10 + i)) for i in range(3)]
>>> s = runtime_stats(runs)
>>> s["runs"], s["duration_s"]["median"], s["interval_s"]["median"]
(3, 660.0, 86400.0)
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spark_lester import retry
from spark_lester.errors import RemoteServiceError, variant


@dataclass(frozen=True)
class Run:
    """One run of an EMR step or Glue job."""

    name: str
    run_id: str
    state: str
    created: datetime | None
    started: datetime | None
    ended: datetime | None
    execution_s: float | None = None

    @property
    def duration_s(self) -> float | None:
        if self.execution_s is not None:
            return float(self.execution_s)
        if self.started and self.ended:
            return (self.ended - self.started).total_seconds()
        return None

    @property
    def start(self) -> datetime | None:
        return self.started or self.created


def _call(service: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except Exception as err:  # botocore ClientError / EndpointConnectionError
        code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
        error = variant(RemoteServiceError, transient=retry.botocore_failure(err))
        name = getattr(fn, "__name__", "call")
        raise error(f"{name} failed: {code}", service=service) from None


def emr_step_runs(client: Any, *, step_name: str | None = None, cluster_ids: list[str] | None = None) -> list[Run]:
    """Runs of EMR steps named ``step_name`` (all steps when None), oldest first."""
    if cluster_ids is None:
        cluster_ids = []
        marker = None
        while True:
            page = _call("emr", client.list_clusters, **({"Marker": marker} if marker else {}))
            cluster_ids += [c["Id"] for c in page.get("Clusters", [])]
            marker = page.get("Marker")
            if not marker:
                break
    runs: list[Run] = []
    for cid in cluster_ids:
        marker = None
        while True:
            kwargs: dict[str, Any] = {"ClusterId": cid}
            if marker:
                kwargs["Marker"] = marker
            page = _call("emr", client.list_steps, **kwargs)
            for summary in page.get("Steps", []):
                if step_name is not None and summary.get("Name") != step_name:
                    continue
                step = _call("emr", client.describe_step, ClusterId=cid, StepId=summary["Id"])["Step"]
                status = step.get("Status", {})
                tl = status.get("Timeline", {})
                runs.append(Run(step.get("Name", ""), step["Id"], status.get("State", "UNKNOWN"),
                                tl.get("CreationDateTime"), tl.get("StartDateTime"), tl.get("EndDateTime")))
            marker = page.get("Marker")
            if not marker:
                break
    return sorted(runs, key=lambda r: (r.start is None, r.start or datetime.min))


def glue_job_runs(client: Any, job_name: str) -> list[Run]:
    """Runs of the Glue job ``job_name``, oldest first."""
    runs: list[Run] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"JobName": job_name}
        if token:
            kwargs["NextToken"] = token
        page = _call("glue", client.get_job_runs, **kwargs)
        for jr in page.get("JobRuns", []):
            runs.append(Run(job_name, jr["Id"], jr.get("JobRunState", "UNKNOWN"), jr.get("StartedOn"),
                            jr.get("StartedOn"), jr.get("CompletedOn"), jr.get("ExecutionTime")))
        token = page.get("NextToken")
        if not token:
            break
    return sorted(runs, key=lambda r: (r.start is None, r.start or datetime.min))


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * (len(ordered) - 1))))]
    return {"mean": round(statistics.fmean(values), 3), "median": float(statistics.median(values)),
            "p95": float(p95), "min": float(ordered[0]), "max": float(ordered[-1])}


def runtime_stats(runs: list[Run]) -> dict[str, Any]:
    """Counts by state, duration and interval summaries (seconds) of a run history."""
    durations = [d for r in runs if (d := r.duration_s) is not None]
    starts = sorted(r.start for r in runs if r.start is not None)
    intervals = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    return {
        "runs": len(runs),
        "states": dict(Counter(r.state for r in runs)),
        "duration_s": _summary(durations),
        "interval_s": _summary(intervals),
        "last_start": starts[-1].isoformat() if starts else None,
        "runs_without_duration": len(runs) - len(durations),
    }


def attach_history(catalog: dict[str, Any], *, emr: Any = None, glue: Any = None) -> dict[str, Any]:
    """Add ``history`` to each pipeline whose Glue job names or EMR step names are known."""
    for p in catalog.get("pipelines", []):
        history: dict[str, Any] = {}
        glue_jobs: list[str] = []
        emr_steps: list[str] = []
        for t in p.get("tasks", []):
            cfg = t.get("config", {})
            if isinstance(cfg.get("glue_job", {}).get("job_name"), str):
                glue_jobs.append(cfg["glue_job"]["job_name"])
            emr_steps += [s for s in cfg.get("emr_steps", []) if isinstance(s, str)]
        if p.get("kind") == "glue_job" and isinstance(p.get("config", {}).get("Name"), str):
            glue_jobs.append(p["config"]["Name"])
        if p.get("kind") == "emr_steps":
            emr_steps += [s for s in p.get("config", {}).get("steps", []) if isinstance(s, str)]
        if glue is not None:
            for job in dict.fromkeys(glue_jobs):
                history[f"glue:{job}"] = runtime_stats(glue_job_runs(glue, job))
        if emr is not None:
            for step in dict.fromkeys(emr_steps):
                history[f"emr:{step}"] = runtime_stats(emr_step_runs(emr, step_name=step))
        if history:
            p["history"] = history
    return catalog
