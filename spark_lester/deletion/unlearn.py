"""``unlearn``: apply a deletion request to every artifact of every run that read its source.

Steps, each recorded in the ledger and each safe to repeat:

1. resolve: the runs that read the source (registry), the identified source rows, per run the
   change of each artifact table (rows, cells, feature ranges; see ``deletion.change``);
2. check: the tables are at the versions spark_lester left them (else ``TableChangedError``)
   and the sources still hold what the runs read (else ``SourceChangedError``);
3. update: one MERGE by row id per touched table, stamped with the request id;
4. model: the run's model forgets the changed training rows (influence-function update, or
   a retrain from scratch when the certified bound is exceeded; see ``deletion.model``) and
   a new model version is stored;
   the run's fitted encoder unlearns what the request removed (``deletion.encoder``:
   categories and terms no remaining fit row holds leave the encoder, X and the model; the
   registry row gets the new encoder);
5. erase: purge, vacuum and expire the log of each touched table and of the run registry
   when an encoder changed (earlier model versions are deleted first: they were fitted on
   the removed data);
6. verify: scan every object under the warehouse root (the sources excepted) for the
   removed values, and run the data-quality suite.

A completed request is not applied again (idempotence); a request interrupted between steps
is finished by running it again (the changes are recomputed from the tables' current state).

>>> unlearn({"source": "mails", "keys": [1], "action": "delete_rows"},   # doctest: +SKIP
...         warehouse="./.lester/warehouse")["status"]
'completed'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import registry, store
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout
from spark_lester.deletion import applied, ledger, same_file
from spark_lester.deletion.ivm.change import RunChange, compute_change
from spark_lester.deletion.merge import commit_tag, merge, stamped
from spark_lester.deletion.model import ModelWork, compute_update, plan_model, store_model
from spark_lester.deletion.request import DeletionRequest
from spark_lester.deletion.source import clean_source, sources_to_clean
from spark_lester.deletion.resolve import (affected_runs, check_columns, check_targets,
                                           identify, load_run_frames)
from spark_lester.errors import (DeletionFailedError, ErasureNotVerifiedError, LesterError,
                                 SourceChangedError, TableChangedError)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.config import LesterConfig

#: Called after each step with its name; tests replace it to inject a crash between steps.
after_step: Callable[[str], None] = lambda step: None


def _request(value: DeletionRequest | Mapping[str, Any] | str | Path) -> DeletionRequest:
    if isinstance(value, DeletionRequest):
        return value
    if isinstance(value, Mapping):
        return DeletionRequest.from_dict(dict(value))
    return DeletionRequest.from_file(value)


def unlearn(request: DeletionRequest | Mapping[str, Any] | str | Path, *,
            warehouse: str | None = None, spark: SparkSession | None = None,
            config: LesterConfig | None = None, erase: bool = True) -> dict[str, Any]:
    """Apply ``request`` (object, dict or JSON file path); return what was done."""
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    req = _request(request)
    config = config or LesterConfig.from_env(warehouse=warehouse)
    spark = spark or get_spark(config)
    layout = Layout(warehouse or config.warehouse)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    base = {"request_id": req.request_id, "fingerprint": req.fingerprint(),
            "description": req.describe()}

    with _pool(2) as pool:  # two small reads, side by side
        listed = pool.submit(registry.list_runs, spark, layout)
        history = ledger.entries(spark, layout)
        recorded = listed.result()
    mine = [e for e in history if e["request_id"] == req.request_id]
    done = [e for e in mine if e["status"] in (ledger.COMPLETED, ledger.NOOP)]
    if done:
        return {**base, "status": "already_applied", "ledger": done[-1]["status"],
                "changes": done[-1].get("changes"), "seconds": 0.0}
    resuming = any(e["status"] in ledger.RESUMABLE for e in mine)

    try:
        check_targets(recorded, req)
    except LesterError as err:
        _record_failure(spark, layout, base, "resolve", err)
        raise
    runs = affected_runs(recorded, req)
    if not runs:
        reason = f"no recorded run read source '{req.source}' and every redacted source"
        ledger.append(spark, layout, {**base, "status": ledger.NOOP, "reason": reason})
        return {**base, "status": ledger.NOOP, "reason": reason, "runs": [], "seconds": 0.0}

    tick = time.perf_counter()
    try:
        with _failures(req, "resolve"), store.storage_errors(layout.root, io_only=True):
            prior = applied.load(spark, layout, history, exclude=req.request_id)
            changes, models, own = _resolve(spark, req, runs, history, resuming, prior)
        resuming = resuming or bool(own)
        cleanup = sources_to_clean(req, [c for c in changes if not c.empty]) \
            if req.clean_source else {}
    except LesterError as err:
        _record_failure(spark, layout, base, "resolve", err, runs=[r.run_id for r in runs])
        raise
    timings["resolve"] = _since(tick)
    touched = [c for c in changes if not c.empty]
    summaries = [c.summary() for c in changes]
    started_tables = {p for e in mine if e["status"] in ledger.RESUMABLE
                      for p in (e.get("tables") or {})} | own
    if not any(c.identified for c in changes) and not started_tables and not models:
        reason = "the request's keys or predicate matched nothing in the source"
        ledger.append(spark, layout, {**base, "status": ledger.NOOP, "reason": reason,
                                      "runs": [r.run_id for r in runs], "changes": summaries})
        return {**base, "status": ledger.NOOP, "reason": reason,
                "runs": [r.run_id for r in runs], "changes": summaries,
                "seconds": _since(started)}
    # what this request changes in each run's sources: later requests start from it
    applied.record(spark, layout, req.request_id, _source_changes(req, changes))
    if not touched and not started_tables and not models:
        reason = ("the request's rows appear in no artifact (recorded: later requests keep "
                  "them changed)")
        ledger.append(spark, layout, {**base, "status": ledger.NOOP, "reason": reason,
                                      "runs": [r.run_id for r in runs], "changes": summaries})
        return {**base, "status": ledger.NOOP, "reason": reason,
                "runs": [r.run_id for r in runs], "changes": summaries,
                "seconds": _since(started)}

    paths = {c.run.tables[n]["path"]: (c, n) for c in touched for n in (PREPARED, FEATURES)
             if not c.tables[n].empty}
    model_paths = {w.path: w for w in models}
    encoded = [c for c in changes if c.encoder is not None and c.encoder.changed]
    # the registry holds every run's fitted encoder: purged when one changes (or may have)
    registry_paths = {layout.runs} if encoded or resuming else set()
    erase_paths = sorted(set(paths) | started_tables | set(cleanup) | set(model_paths)
                         | {c.run.tables[FEATURES]["path"] for c in encoded} | registry_paths)
    source_before = {p: registry.fingerprint(spark, p, "delta") for p in cleanup}
    before = {p: store.table_version(spark, p) for p in erase_paths}
    started_entry = {**base, "status": ledger.STARTED, "runs": _run_ids(touched, models),
                     "tables": {p: {"before": v} for p, v in before.items()},
                     "changes": summaries}
    progress = {"step": "update"}
    try:
        with _failures(req, progress), stamped(spark, req.request_id), \
                store.storage_errors(layout.root, io_only=True):
            merges, model, erasure, verification, quality, seconds_to_consistent = _apply(
                spark, req, paths, models, erase_paths, touched, config, resuming, erase,
                timings, started, progress, cleanup,
                started_entry=lambda: ledger.append(spark, layout, started_entry),
                layout=layout, encoded=encoded, runs=runs,
                exclude=_sources_kept(recorded, cleanup),
                # every run's removed values: a resumed run's tables may already hold the
                # change (nothing left to merge), its old values may still be in the files
                needles=set().union(*(c.needles for c in changes)))
    except LesterError as err:
        _record_failure(spark, layout, base, progress["step"], err, paths=erase_paths)
        raise
    after = {p: store.table_version(spark, p) for p in erase_paths}
    tables = {p: {"before": before[p], "after": after[p], "merge": merges.get(p),
                  "erasure": erasure.get(p)} for p in erase_paths}
    sources = {p: {"before": source_before[p],
                   "after": registry.fingerprint(spark, p, "delta")} for p in cleanup}
    entry = {**base, "status": ledger.COMPLETED if erase else ledger.UPDATED,
             "runs": _run_ids(touched, models), "tables": tables, "sources": sources or None,
             "changes": summaries, "model": model or None, "timings": timings,
             "verification": verification, "quality": quality,
             "reason": "resumed an interrupted attempt" if resuming else None,
             "seconds": _since(started)}
    ledger.append(spark, layout, entry)
    result = {**entry, "seconds_to_consistent": seconds_to_consistent,
              "erasure_seconds": round(timings.get("purge", 0) + timings.get("verify", 0), 3),
              "rows_affected": sum(c.tables[PREPARED].counts()["deleted"]
                                   + c.tables[PREPARED].counts()["updated"]
                                   + c.tables[PREPARED].counts()["inserted"] for c in touched),
              "resumed": resuming}
    if erase and verification.get("verified") is False:
        raise ErasureNotVerifiedError(
            f"{len(verification['hits'])} object(s) still hold removed values.",
            request_id=req.request_id, objects=len(verification["hits"]))
    return result


@contextmanager
def _failures(req: DeletionRequest, step: str | dict[str, str]) -> Iterator[None]:
    """Any failure that is not a typed ``LesterError`` (a Spark job, an engine bug) becomes a
    ``DeletionFailedError`` naming the step, so the caller records a ``failed`` ledger row
    and the user sees a typed error, not a traceback."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except LesterError:
        raise
    except (PySparkException, Py4JError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, AssertionError, RuntimeError, ArithmeticError, OSError) as exc:
        name = step if isinstance(step, str) else step.get("step", "?")
        first = (str(exc).strip().splitlines() or [""])[0][:240]
        raise DeletionFailedError(f"step '{name}' failed: {type(exc).__name__}: {first}",
                                  request_id=req.request_id, step=name) from exc


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


def _is_model(path: str) -> bool:
    """Whether ``path`` is a run's model table (see ``Layout.table``)."""
    return path.rstrip("/").endswith("/" + MODEL)


def _run_ids(touched: list[RunChange], models: list[ModelWork]) -> list[str]:
    return sorted({c.run.run_id for c in touched} | {w.run_id for w in models})


def _apply(spark: SparkSession, req: DeletionRequest, paths: dict[str, Any],
           models: list[ModelWork], erase_paths: list[str], touched: list[RunChange],
           config: LesterConfig, resuming: bool, erase: bool, timings: dict[str, float],
           started: float, progress: dict[str, str], cleanup: dict[str, Any], *,
           started_entry: Callable[[], None], needles: set[str], layout: Layout,
           encoded: list[RunChange], runs: list[registry.RunRecord], exclude: list[str]
           ) -> tuple[Any, ...]:
    """The steps that change tables: MERGE, model, erase, verify (``progress`` names the
    step). ``started_entry`` writes the ledger's ``started`` row, alongside the MERGEs."""
    tick = time.perf_counter()
    merges: dict[str, Any] = {}
    progress["step"] = "merge"
    # Tables are independent: their MERGEs run concurrently (Spark schedules jobs from
    # several threads); the wall time is mostly driver-side Delta latency, not tasks. The
    # ledger's "started" row is written alongside (a crash before it lands is still
    # recognised: every commit carries the request id, see _resolve). The model updates
    # run alongside too: they read X as it was before the request (see deletion.model),
    # and an accepted update is stored at once; only a retrain waits for the MERGEs.
    model: dict[str, Any] = {}
    with _pool(len(paths) + len(models) + 1) as pool:
        ledger_row = pool.submit(started_entry)
        updates = {w.run_id: pool.submit(_update_model, spark, w, config, req.request_id,
                                         erase) for w in models}
        futures = {path: pool.submit(merge, spark, path, change.tables[name],
                                     request_id=req.request_id,
                                     cluster_by=change.run.cluster_by)
                   for path, (change, name) in paths.items()}
        ledger_row.result()
        for path, (change, name) in paths.items():
            progress["step"] = f"merge {name}"
            merges[path] = futures[path].result()
            after_step(f"merge:{change.run.run_id}:{name}")
        timings["update"] = _since(tick)
        if encoded:
            tick = time.perf_counter()
            _unlearn_encoders(spark, layout, encoded, merges, progress)
            timings["encoder"] = _since(tick)
        tick = time.perf_counter()
        for work in models:
            progress["step"] = "model"
            result, stored = updates[work.run_id].result()
            if stored is None:  # refused (or no update at all): retrain on X after the MERGE
                stored = store_model(spark, work, result, request_id=req.request_id,
                                     replace=erase)
            model[work.run_id] = stored
            after_step(f"model:{work.run_id}")
    if models:
        # after the MERGEs: the wait for the overlapped update, a retrain
        timings["model"] = _since(tick)
    seconds_to_consistent = _since(started)
    for path, spec in cleanup.items():
        progress["step"] = "clean source"
        tick = time.perf_counter()
        merges[path] = clean_source(spark, path, spec, req)
        timings["clean_source"] = timings.get("clean_source", 0.0) + _since(tick)
        after_step(f"clean_source:{spec['name']}")

    erasure: dict[str, Any] = {}
    verification: dict[str, Any] = {"verified": None}
    quality: dict[str, Any] | None = None
    if erase:
        tick = time.perf_counter()
        from spark_lester.artifacts.model import drop_earlier_versions
        from spark_lester.deletion.erasure import purge, vacuum

        progress["step"] = "erase"
        replaced = {w.path for w in models}  # stored as the only version (replace=erase)
        for path in erase_paths:
            if _is_model(path) and path not in replaced:
                drop_earlier_versions(spark, path)
        data_tables = [p for p in erase_paths if not _is_model(p) and p != layout.runs]
        # a model table this request replaced has no deletion vectors: nothing to purge
        to_purge = [p for p in erase_paths if p not in replaced]
        with _pool(len(erase_paths)) as pool:
            purged = {p: pool.submit(purge, spark, p, request_id=req.request_id)
                      for p in to_purge}
            for path in erase_paths:
                erasure[path] = purged[path].result() if path in purged else \
                    {"files_rewritten": 0, "purge_seconds": 0.0}
            vacuumed = {p: pool.submit(vacuum, spark, p, request_id=req.request_id)
                        for p in erase_paths}
            for path in erase_paths:
                erasure[path].update(vacuumed[path].result())
                after_step(f"erase:{path}")
        timings["purge"] = _since(tick)
        tick = time.perf_counter()
        progress["step"] = "verify"
        live_tables = sorted(set(data_tables) | {r.tables[n]["path"] for r in runs
                                                 for n in (PREPARED, FEATURES)})
        verification = _verify(spark, req, needles, live_tables, config, resuming,
                               layout=layout, exclude=exclude)
        timings["verify"] = _since(tick)
        # after the scan, not beside the vacuum: on two cores its jobs only slowed the
        # erasure down (measured), for no gain in the request's total time
        quality, timings["quality"] = _timed(_quality, spark, data_tables, req)

    return merges, model, erasure, verification, quality, seconds_to_consistent


def _update_model(spark: SparkSession, work: ModelWork, config: LesterConfig,
                  request_id: str, erase: bool) -> tuple[Any, dict[str, Any] | None]:
    """The model update of one run, stored at once when accepted (it does not depend on the
    MERGEs); ``(result, None)`` when it must be retrained on X after the MERGE."""
    result = compute_update(spark, work, budget=config.unlearning_budget or None,
                            refine=config.unlearning_refine)
    if result is None or result.needs_retrain:
        return result, None
    return result, store_model(spark, work, result, request_id=request_id, replace=erase)


def _record_failure(spark: SparkSession, layout: Layout, base: dict[str, Any], step: str,
                    err: LesterError, *, paths: list[str] | None = None,
                    runs: list[str] | None = None) -> None:
    """Ledger row for a failed step ("resolve", "merge prepared", "erase", ...); if the
    ledger itself cannot be written (the store is down), the original error is what the
    caller sees."""
    entry = {**base, "status": ledger.FAILED, "reason": f"{step}: {type(err).__name__}: {err}"}
    if paths is not None:
        entry["tables"] = {p: {} for p in paths}
    if runs is not None:
        entry["runs"] = runs
    try:
        ledger.append(spark, layout, entry)
    except LesterError:
        pass


def _pool(n: int):  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(8, n)), thread_name_prefix="lester")


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    tick = time.perf_counter()
    return fn(*args), _since(tick)


def _since(tick: float) -> float:
    return round(time.perf_counter() - tick, 3)


def _resolve(spark: SparkSession, req: DeletionRequest, runs: list[registry.RunRecord],
             history: list[dict[str, Any]], resuming: bool,
             prior: dict[str, list[applied.SourceChange]] | None = None
             ) -> tuple[list[RunChange], list[ModelWork], set[str]]:
    """Per run: check its tables and sources, then compute its changes and plan its model
    update (the runs concurrently). Also returns the tables that already hold commits of
    this request: an earlier attempt was interrupted, perhaps before the ledger heard of it,
    and the request resumes."""
    expected = ledger.expected_versions(history, "tables")
    cleaned_sources = ledger.expected_versions(history, "sources")
    own: set[str] = set()
    for run in runs:
        check_columns(run, req)
        for name in (PREPARED, FEATURES, MODEL):
            if name not in run.tables:
                continue
            path = run.tables[name]["path"]
            if _check_table(spark, path, expected.get(path, run.tables[name]["version"]), req):
                own.add(path)
    resuming = resuming or bool(own)
    for run in runs:
        _check_sources(spark, req, run, cleaned_sources)
    with _pool(len(runs)) as pool:
        done = [pool.submit(_resolve_run, spark, req, run, expected, resuming,
                            (prior or {}).get(run.run_id, []))
                for run in runs]
        planned = [f.result() for f in done]
    changes = [change for change, _ in planned]
    models = [work for _, work in planned if work is not None]
    return changes, models, own


def _check_sources(spark: SparkSession, req: DeletionRequest, run: registry.RunRecord,
                   cleaned_sources: dict[str, Any]) -> None:
    """The run's pipeline file and sources are as the run read them (else
    ``SourceChangedError``); a Delta source may hold this request's own cleaning commits."""
    from spark_lester.artifacts.run import file_sha256

    if not Path(run.pipeline_path).is_file() or \
            file_sha256(run.pipeline_path) != run.pipeline_sha256:
        raise SourceChangedError(f"run '{run.run_id}': its pipeline file changed or is "
                                 "gone since the run.", source="pipeline",
                                 run_id=run.run_id)
    for source, meta in run.sources.items():
        now = registry.fingerprint(spark, meta["path"], meta["format"])
        recorded = cleaned_sources.get(meta["path"], meta["fingerprint"])
        if now != recorded and meta["format"] == "delta":
            later = store.history(spark, meta["path"], int(recorded["version"]))
            if later and all(c.get("userMetadata") == commit_tag(req.request_id)
                             for c in later):
                continue
        if now != recorded:
            raise SourceChangedError(f"run '{run.run_id}': source '{source}' changed "
                                     "since the run read it.", source=source,
                                     run_id=run.run_id)


def _resolve_run(spark: SparkSession, req: DeletionRequest, run: registry.RunRecord,
                 expected: dict[str, Any], resuming: bool,
                 prior: list[applied.SourceChange] | None = None
                 ) -> tuple[RunChange, ModelWork | None]:
    """One run's change and model work; its stored model is read while the change is
    computed. The run's sources are read in their current cleaned state: every earlier
    request's changes (``prior``) applied."""
    from spark_lester.artifacts.model import load_model
    from spark_lester.deletion.encoder import plan_encoder
    from spark_lester.deletion.model import feature_width
    from spark_lester.frame.pipeline import load_pipeline

    entry = run.tables.get(MODEL)
    with _pool(1) as pool:
        stored = None
        if entry is not None and run.label is not None:
            # a resumed request may have stored the downdated encoder (narrower X) before
            # its model step: the width is then not checked, and the model is retrained
            stored = pool.submit(load_model, spark, entry["path"],
                                 d=None if resuming else feature_width(run.matrix_provenance))
        module = load_pipeline(run.pipeline_path)
        frames = applied.apply_changes(load_run_frames(spark, run, module), prior or [])
        ids = identify(spark, req, run, frames)
        group = same_file.identify_group(spark, req, run, frames, ids)
        change = compute_change(spark, same_file.expand(run, req), run, module, frames,
                                group if len(group) > 1 else ids, resuming=resuming)
        change.encoder = plan_encoder(spark, change, module)
        updated = _model_updated(spark, run, expected)
        work = plan_model(spark, change, req.request_id, resuming=resuming,
                          features_version=store.table_version(
                              spark, run.tables[FEATURES]["path"]),
                          model_updated=updated,
                          stored=stored.result() if stored is not None and not updated
                          else None)
    return change, work


def _model_updated(spark: SparkSession, run: registry.RunRecord,
                   expected: dict[str, Any]) -> bool:
    """True when the run's model table moved past its expected version (only this
    request's own commits can have moved it: ``_check_table`` checked that)."""
    entry = run.tables.get(MODEL)
    if entry is None:
        return False
    return store.table_version(spark, entry["path"]) > expected.get(entry["path"],
                                                                    entry["version"])


def _check_table(spark: SparkSession, path: str, expected: int, req: DeletionRequest
                 ) -> bool:
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


def _unlearn_encoders(spark: SparkSession, layout: Layout, encoded: list[RunChange],
                      merges: dict[str, Any], progress: dict[str, str]) -> None:
    """After the MERGEs: rewrite X of each run whose encoder changed, then store the new
    encoders in the registry (one writer at a time: the registry is one table)."""
    from spark_lester.deletion.encoder import rewrite_features, update_registry

    for change in encoded:
        progress["step"] = "encoder"
        path = change.run.tables[FEATURES]["path"]
        rewrite = rewrite_features(spark, change.run, change.encoder)
        merges[path] = {**(merges.get(path) or {}), "encoder_rewrite": rewrite}
        after_step(f"encoder:{change.run.run_id}")
    for change in encoded:
        progress["step"] = "registry"
        update_registry(spark, layout, change.run, change.encoder)
        after_step(f"registry:{change.run.run_id}")


def _sources_kept(runs: list[registry.RunRecord], cleanup: dict[str, Any]) -> list[str]:
    """The sources the runs read that the request leaves as they are: the data lake's own
    data, not scanned even when they live under the warehouse root."""
    return sorted({meta["path"] for run in runs for meta in run.sources.values()
                   if meta["path"] not in cleanup})


def _verify(spark: SparkSession, req: DeletionRequest, needles: set[str], paths: list[str],
            config: LesterConfig, resuming: bool, *, layout: Layout,
            exclude: list[str]) -> dict[str, Any]:
    """Scan every object under the warehouse root (``exclude``: the sources left as they
    are) for the removed values (and the request's patterns inside them). A resumed
    request re-derives them from the sources (see ``compute_change``), so it too looks for
    the values of the rows it removed, and only for those: other rows may hold text its
    patterns match. ``paths``: the artifact tables whose remaining rows may still hold a
    removed value legitimately.

    A removed value that other, remaining rows still hold as a whole cell (a common subject
    line, a bank name), or a pattern match inside a removed value that a remaining row holds
    inside one of its cells (a card number the kept rows also mention), is no evidence of an
    incomplete erasure. Finding those takes a pass over the tables, so it is only made when
    the scan finds something; the scan is then repeated without them."""
    from spark_lester.deletion.verify import needles_from, scan_warehouse, still_live

    def run(values: set[str], skip: frozenset[str] = frozenset()) -> Any:
        return scan_warehouse(layout.root, values, patterns=req.verify_patterns,
                              exclude=exclude, config=config, skip=skip)

    result = run(needles)
    shared: set[str] = set()
    if not result.verified and needles:
        fragments = set(needles_from(needles, req.verify_patterns)) - needles
        shared = still_live(spark, paths, needles, fragments)
        if shared:
            result = run(needles - shared, frozenset(shared))
    return result.to_dict() | {"shared_values_skipped": len(shared),
                               "scope": "warehouse"}


def _quality(spark: SparkSession, paths: list[str], req: DeletionRequest
             ) -> dict[str, Any] | None:
    try:
        from spark_lester.deletion.quality import check_tables
    except ImportError:  # the quality module arrives with great-expectations
        return None
    tables = {"/".join(path.rstrip("/").split("/")[-2:]): path for path in paths}
    patterns = list(req.verify_patterns) or None
    return check_tables(spark, tables, **({"patterns": patterns} if patterns else {}))
