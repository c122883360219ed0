"""Resolving a request: the ids of the source rows it names, and the runs that read them.

Ids are the sources' row ids (see :mod:`spark_lester.frame.source`): for a keyed source they
are computed from the key values alone, without reading the source; a predicate is evaluated
on the source as the run read it. Only ids, never values, leave this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_lester.artifacts.registry import RunRecord
from spark_lester.deletion.request import DeletionRequest
from spark_lester.errors import RequestError
from spark_lester.frame.source import keyed_row_id
from spark_lester.plan.columns import provenance_column

if TYPE_CHECKING:
    from types import ModuleType

    from pyspark.sql import SparkSession

    from spark_lester.frame.frame import LesterFrame


def affected_runs(runs: list[RunRecord], request: DeletionRequest) -> list[RunRecord]:
    """The runs that read the request's source (and the sources it redacts)."""
    out = []
    for run in runs:
        if request.pipelines and run.pipeline not in request.pipelines:
            continue
        if request.runs and run.run_id not in request.runs:
            continue
        if not run.reads(request.source):
            continue
        missing = [s for s, _ in request.columns if not run.reads(s)]
        if missing:
            continue
        out.append(run)
    return out


def check_columns(run: RunRecord, request: DeletionRequest) -> None:
    """Every redacted column must be a column of its source as the run read it."""
    for src, col in request.columns:
        known = run.sources[src]["columns"]
        if col not in known:
            raise RequestError(f"source '{src}' has no column '{col}' (columns: "
                               f"{', '.join(known)}).", request_id=request.request_id,
                               field="columns")


def identify(spark: SparkSession, request: DeletionRequest, run: RunRecord,
             frames: dict[str, LesterFrame]) -> list[int]:
    """Row ids of the request's source rows (possibly none: a clean no-op)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    meta = run.sources[request.source]
    pcol = provenance_column(request.source)
    if request.keys is not None:
        if meta.get("key") is None:
            raise RequestError(f"source '{request.source}' has no key column, so rows cannot "
                               "be named by key.", request_id=request.request_id,
                               field="keys", hint="Use 'where' with a predicate instead.")
        return sorted({keyed_row_id(request.source, k) for k in request.keys})
    df = frames[request.source].df
    try:
        rows = df.where(F.expr(request.where)).select(pcol).collect()  # type: ignore[arg-type]
    except AnalysisException as exc:
        reason = str(exc).splitlines()[0][:160]
        raise RequestError(f"the 'where' predicate cannot be evaluated on source "
                           f"'{request.source}' ({reason}).", request_id=request.request_id,
                           field="where",
                           hint=f"Columns: {', '.join(meta['columns'])}.") from None
    except Exception as exc:  # noqa: BLE001 - a parse error of the user's predicate
        if type(exc).__name__ == "ParseException":
            raise RequestError("the 'where' predicate is not valid SQL.",
                               request_id=request.request_id, field="where") from None
        raise
    return sorted({int(r[0]) for r in rows})


def load_run_frames(spark: SparkSession, run: RunRecord, module: ModuleType
                    ) -> dict[str, LesterFrame]:
    """The run's sources, read as the run read them (lazily: no job runs here)."""
    from spark_lester.frame.pipeline import read_sources

    return read_sources(module, {n: m["path"] for n, m in run.sources.items()}, spark=spark)
