"""``check``: which runs the request concerns, and that nothing moved under them.

The runs that read the request's source (the registry); the request's columns exist in
each; every artifact table is at the version spark_lester left it (the run's, or the last
completed request's), or past it by commits of this request alone: an earlier attempt was
interrupted, perhaps before the ledger heard of it, and the request resumes
(``TableChangedError`` for anything else); each run's pipeline file and sources are as the
run read them (``SourceChangedError``; a Delta source may hold this request's own cleaning
commits); a ``clean_source`` request covers every run of the sources it cleans
(``RequestError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import registry, store
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED
from spark_lester.deletion import ledger
from spark_lester.deletion.merge import commit_tag
from spark_lester.deletion.resolve import affected_runs, check_columns, check_targets
from spark_lester.deletion.source import cleaned_names
from spark_lester.deletion.stages import Context, Noop
from spark_lester.errors import RequestError, SourceChangedError, TableChangedError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.artifacts.registry import RunRecord
    from spark_lester.deletion.request import DeletionRequest


@dataclass
class CheckReport:
    #: Tables already past their expected version by this request's own commits.
    own: set[str] = field(default_factory=set)
    #: Delta sources past the version the runs read by this request's own cleaning commits.
    own_sources: set[str] = field(default_factory=set)
    #: Expected version per table path, and fingerprint per cleaned source path.
    expected: dict[str, Any] = field(default_factory=dict)
    noop: Noop | None = None


def check(ctx: Context) -> CheckReport:
    spark, req = ctx.spark, ctx.request
    check_targets(ctx.recorded, req)
    runs = affected_runs(ctx.recorded, req)
    if not runs:
        return CheckReport(noop=Noop(f"no recorded run read source '{req.source}' and every "
                                     "redacted source"))
    ctx.runs = runs
    if req.clean_source:
        _check_cleaning_scope(ctx.recorded, runs, req)
    expected = ledger.expected_versions(ctx.history)
    cleaned_sources = ledger.cleaned_sources(ctx.history)
    own: set[str] = set()
    for run in runs:
        check_columns(run, req)
        for name in (PREPARED, FEATURES, MODEL):
            if name not in run.tables:
                continue
            path = run.tables[name].path
            if _past_by_own_commits(spark, path, expected.get(path, run.tables[name].version),
                                    req):
                own.add(path)
    own_sources: set[str] = set()
    for run in runs:
        own_sources |= _check_sources(spark, req, run, cleaned_sources)
    return CheckReport(own=own, own_sources=own_sources, expected=expected)


def _check_cleaning_scope(recorded: list[RunRecord], runs: list[RunRecord],
                          req: DeletionRequest) -> None:
    """A ``clean_source`` request may not clean a Delta source that a run outside it read
    (left out by ``runs`` / ``pipelines``, or reading the files under another source name,
    or lacking a redacted source): that run's artifacts would keep the rows while its
    source no longer does (and the erasure's scan would find them)."""
    names = cleaned_names(req)
    paths = {run.sources[n]["path"] for run in runs for n in names if n in run.sources
             and run.sources[n]["format"] == "delta"}
    chosen = {run.run_id for run in runs}
    others = sorted({run.run_id for run in recorded if run.run_id not in chosen
                     and any(m["path"] in paths for m in run.sources.values())})
    if others:
        field_name = "runs" if req.runs else "pipelines" if req.pipelines else "clean_source"
        raise RequestError(f"clean_source would clean a source that {len(others)} run(s) "
                           f"outside the request also read ({', '.join(others)}): their "
                           "artifacts would keep the rows.", request_id=req.request_id,
                           field=field_name, hint="Include those runs (or their pipelines) "
                           "in the request. A run that reads the files under another source "
                           "name, or lacks a redacted source, cannot be included: drop "
                           "clean_source, send one request per source name, and clean the "
                           "files with their own tools.")


def _past_by_own_commits(spark: SparkSession, path: str, expected: int,
                         req: DeletionRequest) -> bool:
    """Whether the table is past ``expected`` by commits of this request alone (a resumed
    request); ``TableChangedError`` when anything else changed it."""
    found = store.table_version(spark, path)
    if found == expected:
        return False
    if found > expected:
        later = store.history(spark, path, expected)
        if all(c.get("userMetadata") == commit_tag(req.request_id) for c in later):
            return True
    raise TableChangedError(f"table {path} is at version {found}, but spark_lester left it "
                            f"at version {expected}.", table=path, expected=expected,
                            found=found, request_id=req.request_id)


def _check_sources(spark: SparkSession, req: DeletionRequest, run: RunRecord,
                   cleaned_sources: dict[str, Any]) -> set[str]:
    """The run's pipeline file and sources are as the run read them (else
    ``SourceChangedError``); a Delta source may hold this request's own cleaning commits:
    the paths of those are returned."""
    from spark_lester.artifacts.run import file_sha256

    if not Path(run.pipeline_path).is_file() or \
            file_sha256(run.pipeline_path) != run.pipeline_sha256:
        raise SourceChangedError(f"run '{run.run_id}': its pipeline file changed or is "
                                 "gone since the run.", source="pipeline",
                                 run_id=run.run_id)
    own: set[str] = set()
    for source, meta in run.sources.items():
        now = registry.fingerprint(spark, meta["path"], meta["format"])
        recorded = meta["fingerprint"]
        cleaned = cleaned_sources.get(meta["path"])
        # the version a completed request's cleaning left, unless the run read a later one
        if cleaned and int(cleaned["version"]) > int(recorded.get("version", -1)):
            recorded = cleaned
        if now != recorded and meta["format"] == "delta":
            later = store.history(spark, meta["path"], int(recorded["version"]))
            if later and all(c.get("userMetadata") == commit_tag(req.request_id)
                             for c in later):
                own.add(meta["path"])
                continue
        if now != recorded:
            raise SourceChangedError(f"run '{run.run_id}': source '{source}' changed "
                                     "since the run read it.", source=source,
                                     run_id=run.run_id)
    return own
