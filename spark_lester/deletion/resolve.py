"""Resolving a request: the ids of the source rows it names, and the runs that read them.

Ids are the sources' row ids (see :mod:`spark_lester.frame.source`): for a keyed source they
are computed from the key values (coerced to the key column's type, see ``coerce_keys``) and
kept when the source still holds them; a predicate is evaluated on the source. Either way the
source is the run's source in its current cleaned state (earlier requests applied, see
:mod:`spark_lester.deletion.applied`). Only ids, never values, leave this module.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.registry import RunRecord
from spark_lester.deletion.request import DeletionRequest
from spark_lester.errors import RequestError
from spark_lester.frame.source import keyed_row_id
from spark_lester.plan.columns import provenance_column

_INTEGER = re.compile(r"^[+-]?\d{1,19}$")

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


def check_targets(runs: list[RunRecord], request: DeletionRequest) -> None:
    """The runs, pipelines, source and redacted columns a request names must exist: a
    typed ``RequestError`` (field ``runs``, ``pipelines``, ``source`` or ``columns``) before
    anything is read or changed, never a silent no-op."""
    rid = request.request_id
    known_runs = {r.run_id for r in runs}
    for run_id in request.runs or ():
        if run_id not in known_runs:
            raise RequestError(f"no recorded run has id '{run_id}'.", request_id=rid,
                               field="runs", hint="List runs with `spark-lester runs`.")
    known_pipelines = {r.pipeline for r in runs}
    for name in request.pipelines or ():
        if name not in known_pipelines:
            raise RequestError(f"no recorded run is of pipeline '{name}'.", request_id=rid,
                               field="pipelines", hint="List runs with `spark-lester runs`.")
    scoped = [r for r in runs if (not request.pipelines or r.pipeline in request.pipelines)
              and (not request.runs or r.run_id in request.runs)]
    readers = [r for r in scoped if r.reads(request.source)]
    if not readers:
        known = sorted({s for r in scoped for s in r.sources})
        raise RequestError(f"no recorded run read source '{request.source}'"
                           f"{' (of those the request names)' if len(scoped) < len(runs) else ''}"
                           ".", request_id=rid, field="source",
                           hint=f"Sources read: {', '.join(known) or 'none'}.")
    for src, _ in request.columns:
        if not any(r.reads(src) for r in readers):
            raise RequestError(f"no run that read '{request.source}' also read source "
                               f"'{src}', whose column the request redacts.", request_id=rid,
                               field="columns")


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
        df = frames[request.source].df
        key = meta["key"]
        keys = coerce_keys(request, key, df.schema[key].dataType)
        ids = sorted({keyed_row_id(request.source, k) for k in keys})
        # only the ids of rows the source (in its current cleaned state) still holds: keys
        # that match nothing, or rows an earlier request deleted, change nothing
        found = df.where(F.col(pcol).isin(ids)).select(pcol).distinct().collect()
        return sorted(int(r[0]) for r in found)
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


def coerce_keys(request: DeletionRequest, key: str, dtype: Any) -> list[Any]:
    """Key values as the key column holds them. An integer key column takes integers and
    strings of decimal digits (``"17"`` is 17); any other value (``"abc"``, ``1.5``, ``true``)
    is refused with a ``RequestError`` naming its position, never its value (the message
    reaches the ledger). A string key column takes strings and integers (``17`` is
    ``"17"``). Other key types take the values as given."""
    from pyspark.sql.types import IntegralType, StringType

    out: list[Any] = []
    for i, value in enumerate(request.keys or ()):
        bad = None
        if isinstance(dtype, IntegralType):
            if isinstance(value, bool) or value is None:
                bad = type(value).__name__
            elif isinstance(value, int):
                out.append(value)
            elif isinstance(value, float) and value.is_integer():
                out.append(int(value))
            elif isinstance(value, str) and _INTEGER.match(value.strip()):
                out.append(int(value.strip()))
            else:
                bad = type(value).__name__
        elif isinstance(dtype, StringType):
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, int) and not isinstance(value, bool):
                out.append(str(value))
            else:
                bad = type(value).__name__
        else:
            out.append(value)
        if bad is not None:
            raise RequestError(f"key #{i + 1} (a {bad}) is not a value of the "
                               f"{dtype.simpleString()} key column '{key}' of source "
                               f"'{request.source}'.", request_id=request.request_id,
                               field="keys", hint="Give the key values as the source holds "
                               "them (integers for an integer key).")
    return out


def load_run_frames(spark: SparkSession, run: RunRecord, module: ModuleType, *,
                    versions: dict[str, int] | None = None) -> dict[str, LesterFrame]:
    """The run's sources, read as the run read them (lazily: no job runs here); ``versions``:
    per Delta source path, the version to read (a re-submitted request that had cleaned the
    source reads it as it was before)."""
    from spark_lester.frame.pipeline import read_sources

    return read_sources(module, {n: m["path"] for n, m in run.sources.items()}, spark=spark,
                        versions={n: versions[m["path"]] for n, m in run.sources.items()
                                  if m["path"] in (versions or {})})
