"""Helpers shared by the queries: the run asked about, and its sources as the run read them."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from spark_lester.artifacts import registry
from spark_lester.artifacts.layout import PREPARED, Layout
from spark_lester.artifacts.registry import RunRecord
from spark_lester.errors import QueryError, SourceChangedError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def resolve_run(run: str | RunRecord, *, warehouse: str | None,
                spark: SparkSession | None) -> tuple[SparkSession, RunRecord]:
    """The Spark session and the registry record of ``run`` (an id or a record)."""
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    config = LesterConfig.from_env(warehouse=warehouse)
    spark = spark or get_spark(config)
    if isinstance(run, RunRecord):
        return spark, run
    return spark, registry.get_run(spark, Layout(warehouse or config.warehouse), run)


def check_source(run: RunRecord, source: str) -> None:
    """Raise ``QueryError`` (listing the run's sources) unless the run read ``source``."""
    if run.reads(source):
        return
    known = sorted(run.sources)
    close = difflib.get_close_matches(source, known, n=1)
    raise QueryError(f"it did not read a source '{source}'; its sources: {', '.join(known)}.",
                     run_id=run.run_id, source=source,
                     hint=f"Did you mean '{close[0]}'?" if close else None)


def source_frame(spark: SparkSession, run: RunRecord, source: str) -> DataFrame:
    """Source ``source`` read as the run read it: its columns and ``__prov_<source>`` ids.

    The ids are recomputed on the data, so the data and the pipeline file (which declares
    keys and schemas) must be what the run used, or what a completed deletion request left:
    else ``SourceChangedError``.
    """
    from spark_lester.artifacts.run import file_sha256
    from spark_lester.deletion import ledger
    from spark_lester.frame.pipeline import load_pipeline, read_sources

    check_source(run, source)
    if not Path(run.pipeline_path).is_file() or \
            file_sha256(run.pipeline_path) != run.pipeline_sha256:
        raise SourceChangedError(f"run '{run.run_id}': its pipeline file changed or is gone "
                                 "since the run.", source="pipeline", run_id=run.run_id)
    meta = run.sources[source]
    cleaned = ledger.cleaned_sources(ledger.entries(spark, Layout(warehouse_of(run))))
    now = registry.fingerprint(spark, meta["path"], meta["format"])
    if now != cleaned.get(meta["path"], meta["fingerprint"]):
        raise SourceChangedError(f"run '{run.run_id}': source '{source}' changed since the run "
                                 "read it.", source=source, run_id=run.run_id)
    module = load_pipeline(run.pipeline_path)
    frames = read_sources(module, {n: m["path"] for n, m in run.sources.items()}, spark=spark)
    return frames[source].df


def warehouse_of(run: RunRecord) -> str:
    """The warehouse root of a run, from where its tables are (see ``Layout.run_dir``).

    >>> record = RunRecord("r1", "p", "", "", None, {}, {"prepared": {"path": "/w/p/r1/prepared", "version": 0}},
    ...                    {}, {}, {}, [], [], None, {}, None, {})
    >>> warehouse_of(record)
    '/w'
    """
    path = run.tables[PREPARED].path
    suffix = f"/{run.pipeline}/{run.run_id}/{PREPARED}"
    return path[: -len(suffix)] if path.endswith(suffix) else path.rsplit("/", 3)[0]
