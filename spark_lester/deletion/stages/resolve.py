"""``resolve``: what the request changes in each run, and the plan of the changing stages.

Per run (the runs concurrently): its sources in their current cleaned state (every earlier
request's changes applied, see ``deletion.applied``), the request's source rows, the change
of each artifact table (rows, cells, feature ranges; see ``deletion.ivm.change``), the encoder's
work (``deletion.encoder``) and the model's (``deletion.model``; its stored model is read
while the change is computed). What the request changes in each run's sources is recorded
(``deletion.applied``): later requests start from it.

A request whose keys or predicate match nothing, or whose rows appear in no artifact (and
that cleans no source), is a ``noop``. Otherwise the report's :class:`Plan` names every table
the changing stages touch, at its version before them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import registry, store
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED
from spark_lester.deletion import applied, ledger, same_file
from spark_lester.deletion.ivm.change import RunChange, compute_change
from spark_lester.deletion.model import ModelWork, plan_model
from spark_lester.deletion.resolve import identify, load_run_frames
from spark_lester.deletion.source import cleaned_names, sources_to_clean
from spark_lester.deletion.stages import Context, Noop, pool

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.artifacts.registry import RunRecord
    from spark_lester.deletion.request import DeletionRequest


@dataclass
class Plan:
    """The tables the changing stages touch."""

    #: The changes of the runs with rows to change.
    touched: list[RunChange] = field(default_factory=list)
    #: Path of each artifact table to MERGE into: (its run's change, table name).
    merges: dict[str, tuple[RunChange, str]] = field(default_factory=dict)
    models: list[ModelWork] = field(default_factory=list)
    #: The runs whose fitted encoder changes.
    encoded: list[RunChange] = field(default_factory=list)
    #: Delta sources the request cleans (path: what to delete), see ``deletion.source``,
    #: and the runs they are cleaned for.
    cleanup: dict[str, Any] = field(default_factory=dict)
    cleaning: list[str] = field(default_factory=list)
    #: Every table the request changes or erases (sorted), and its version before.
    erase_paths: list[str] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    source_before: dict[str, Any] = field(default_factory=dict)
    #: Every run's removed values: what the verification scan looks for.
    needles: set[str] = field(default_factory=set)

    @property
    def run_ids(self) -> list[str]:
        return sorted({c.run.run_id for c in self.touched} | {w.run_id for w in self.models}
                      | set(self.cleaning))


@dataclass
class ResolveReport:
    changes: list[RunChange] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    noop: Noop | None = None


def resolve(ctx: Context) -> ResolveReport:
    spark, req, runs = ctx.spark, ctx.request, ctx.runs or []
    prior = applied.load(spark, ctx.layout, ctx.history, exclude=req.request_id)
    pinned = _cleaned_before(spark, ctx) if ctx.resuming and req.clean_source else {}
    with pool(len(runs)) as workers:
        done = [workers.submit(_resolve_run, spark, req, run,
                               ctx.reports["check"].expected, ctx.resuming,
                               prior.get(run.run_id, []),
                               merged=frozenset(ctx.reports["check"].own),
                               pinned=pinned.get(run.run_id))
                for run in runs]
        planned = [f.result() for f in done]
    changes = [change for change, _ in planned]
    models = [work for _, work in planned if work is not None]
    touched = [c for c in changes if not c.empty]
    # the sources of the runs in which the request changes rows of a source it cleans are
    # cleaned, whether or not those rows reach an artifact (a row a filter drops is still
    # the person's data); so are a re-submit's runs whose tables hold its MERGEs already, or
    # whose sources hold its cleaning commits (killed after the cleaning, the re-read source
    # no longer has the rows, yet the ledger must learn the source's new version)
    own, own_sources = ctx.reports["check"].own, ctx.reports["check"].own_sources
    names = cleaned_names(req)

    def cleans_for(c: RunChange) -> bool:
        return (not c.empty or any(c.changed.get(n) for n in names)
                or any(t.path in own for n, t in c.run.tables.items()
                       if n in (PREPARED, FEATURES))
                or any(m["path"] in own_sources for m in c.run.sources.values()))

    cleaning = [c for c in changes if cleans_for(c)]
    cleanup = sources_to_clean(req, cleaning) if req.clean_source else {}
    cleans = any(spec["ids"] for spec in cleanup.values())
    summaries = [c.summary() for c in changes]
    run_ids = [r.run_id for r in runs]
    started_tables = ctx.started_tables | own | own_sources
    if not any(c.identified for c in changes) and not started_tables and not models:
        return ResolveReport(changes, summaries, noop=Noop(
            "the request's keys or predicate matched nothing in the source", run_ids,
            summaries))
    applied.record(spark, ctx.layout, req.request_id, _source_changes(req, changes))
    if not touched and not started_tables and not models and not cleans:
        return ResolveReport(changes, summaries, noop=Noop(
            "the request's rows appear in no artifact (recorded: later requests keep them "
            "changed)", run_ids, summaries))

    merges = {c.run.tables[n].path: (c, n) for c in touched for n in (PREPARED, FEATURES)
              if not c.tables[n].empty}
    encoded = [c for c in changes if c.encoder is not None and c.encoder.changed]
    # the registry holds every run's fitted encoder: purged when one changes (or may have)
    registry_paths = {ctx.layout.runs} if encoded or ctx.resuming else set()
    erase_paths = sorted(set(merges) | started_tables | set(cleanup) | {w.path for w in models}
                         | {c.run.tables[FEATURES].path for c in encoded} | registry_paths)
    plan = Plan(touched=touched, merges=merges, models=models, encoded=encoded,
                cleanup=cleanup, cleaning=[c.run.run_id for c in cleaning] if cleanup else [],
                erase_paths=erase_paths,
                source_before=_source_before(spark, ctx, cleanup),
                before={p: store.table_version(spark, p) for p in erase_paths},
                # a resumed run's tables may already hold the change (nothing left to
                # merge), its old values may still be in the files
                needles=set().union(*(c.needles for c in changes)))
    return ResolveReport(changes, summaries, plan)


def _resolve_run(spark: SparkSession, req: DeletionRequest, run: RunRecord,
                 expected: dict[str, Any], resuming: bool,
                 prior: list[applied.SourceChange], *, merged: frozenset[str] = frozenset(),
                 pinned: dict[str, int] | None = None) -> tuple[RunChange, ModelWork | None]:
    """One run's change and model work; its stored model is read while the change is
    computed. ``merged``: the tables that already hold this request's commits."""
    from spark_lester.artifacts.model import load_model
    from spark_lester.deletion.model import feature_width
    from spark_lester.frame.pipeline import load_pipeline

    entry = run.tables.get(MODEL)
    with pool(1) as reader:
        stored = None
        if entry is not None and run.label is not None:
            # a resumed request may have stored the downdated encoder (narrower X) before
            # its model step: the width is then not checked, and the model is retrained
            stored = reader.submit(load_model, spark, entry.path,
                                   d=None if resuming else feature_width(
                                       run.matrix_provenance))
        module = load_pipeline(run.pipeline_path)
        frames = applied.apply_changes(load_run_frames(spark, run, module, versions=pinned),
                                       prior)
        ids = identify(spark, req, run, frames)
        group = same_file.identify_group(spark, req, run, frames, ids)
        change = compute_change(spark, same_file.expand(run, req), run, module, frames,
                                group if len(group) > 1 else ids, resuming=resuming,
                                merged=merged)
        change.encoder = _plan_encoder(spark, req, run, change, module, expected, merged)
        updated = _model_updated(spark, run, expected)
        work = plan_model(spark, change, req.request_id, resuming=resuming,
                          features_version=store.table_version(
                              spark, run.tables[FEATURES].path),
                          model_updated=updated,
                          stored=stored.result() if stored is not None and not updated
                          else None)
    return change, work


def _cleaned_before(spark: SparkSession, ctx: Context) -> dict[str, dict[str, int]]:
    """Per run, per Delta source path that this request's earlier attempt cleaned already
    (the check stage let only its own commits past the version the run read), that version:
    the request is resolved against the source as the run read it, so its rows and the
    values they held are found again (to clean, to record, to prove gone). Not once the
    attempt's erasure expired the source's log (its vacuum follows): the source is then
    read as it is, so the verification no longer looks for those rows' values in it; the
    resumed erasure still vacuums the files that held them."""
    cleaned = ledger.cleaned_sources(ctx.history)
    out: dict[str, dict[str, int]] = {}
    for run in ctx.runs or []:
        for meta in run.sources.values():
            if meta["format"] != "delta":
                continue
            path = meta["path"]
            read = _version_before(meta, cleaned)
            if store.table_version(spark, path) <= read:
                continue
            # the erasure expires the log before the latest version, then vacuums the files
            if any(int(c["version"]) == read for c in store.history(spark, path, read - 1)):
                out.setdefault(run.run_id, {})[path] = read
    return out


def _version_before(meta: dict[str, Any], cleaned: dict[str, Any]) -> int:
    """The version of a Delta source before this request: the one the run read, or the one
    the latest completed request that cleaned it left (``check`` holds the source to it)."""
    return max(int(meta["fingerprint"]["version"]),
               int((cleaned.get(meta["path"]) or {}).get("version", -1)))


def _source_before(spark: SparkSession, ctx: Context, cleanup: dict[str, Any]
                   ) -> dict[str, Any]:
    """Per source to clean, its fingerprint before this request, for the ledger. A
    re-submit's earlier attempt may have cleaned it already: its version now is not the one
    before, so that is taken from what the runs read and what the ledger recorded."""
    if not ctx.resuming:
        return {p: registry.fingerprint(spark, p, "delta") for p in cleanup}
    cleaned = ledger.cleaned_sources(ctx.history)
    return {p: {"version": max(_version_before(meta, cleaned) for run in ctx.runs or []
                               for meta in run.sources.values()
                               if meta["path"] == p and meta["format"] == "delta")}
            for p in cleanup}


def _plan_encoder(spark: SparkSession, req: DeletionRequest, run: RunRecord, change: RunChange,
                  module: Any, expected: dict[str, Any], merged: frozenset[str]) -> Any:
    """The run's encoder step, or None. A re-submitted request may have done it in part:
    the registry row names the request whose encoder it holds (the step is done), and a
    features table that holds this request's overwrite was rewritten already (only the
    registry is left: the same downdate, planned from the old encoder, is stored)."""
    from spark_lester.deletion.encoder import plan_encoder

    if run.encoder_request == req.request_id:
        return None
    work = plan_encoder(spark, change, module)
    path = run.tables[FEATURES].path
    if work is not None and path in merged:
        since = expected.get(path, run.tables[FEATURES].version)
        work.rewritten = any(c.get("operation") == "WRITE"
                             for c in store.history(spark, path, since))
    return work


def _model_updated(spark: SparkSession, run: RunRecord, expected: dict[str, Any]) -> bool:
    """True when the run's model table moved past its expected version (only this
    request's own commits can have moved it: ``check`` checked that)."""
    entry = run.tables.get(MODEL)
    if entry is None:
        return False
    return store.table_version(spark, entry.path) > expected.get(entry.path,
                                                                    entry.version)


def _source_changes(req: DeletionRequest, changes: list[RunChange]
                    ) -> dict[str, list[applied.SourceChange]]:
    """Per run, the source rows this request deletes or redacts (and which columns)."""
    out: dict[str, list[applied.SourceChange]] = {}
    for change in changes:
        items = []
        for source, ids in sorted(change.changed.items()):
            if req.action == "delete_rows":  # the request's source, under each of its names
                columns: tuple[str, ...] = ()
            else:
                columns = tuple(c for s, c in change.columns or req.columns if s == source)
                if not columns:
                    continue
            if ids:
                items.append(applied.SourceChange(req.request_id, source, req.action,
                                                  columns, set(ids)))
        if items:
            out[change.run.run_id] = items
    return out
