"""One file read under two source names: a request on either name changes both.

A pipeline joins a source to itself by reading its file a second time under another name
(a source may not appear on both sides of a join). A deletion or redaction names one source,
but it removes rows of the *file*: every other name that reads the same path (and format)
must lose the same rows, or a re-run on the cleaned file would differ from the tables, and
the deleted values would stay in them.

Names read the same file by position: the ``i``-th column of one is the ``i``-th column of
the other. Per run, :func:`expand` gives the request's group (the named source first) and
the redacted columns mapped onto every name, and :func:`identify_group` the row ids per name:

* keys: the other name must declare its key at the same position (the key values are the
  same; the ids differ, since a keyed id hashes the source name);
* a predicate: evaluated on the other name's rows with its columns renamed to the named
  source's (the predicate's column names are the named source's);
* a redaction of another source ``X`` linked to the request's rows: ``X``'s rows are found
  through the provenance of every name of the request's file, and mapped onto every name
  of ``X``'s file by key (or, keyless, by content: a content id hashes the name too, so
  the rows are matched on their values, identical rows paired by rank).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from spark_lester.errors import RequestError
from spark_lester.plan.columns import provenance_column

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.artifacts.registry import RunRecord
    from spark_lester.deletion.request import DeletionRequest
    from spark_lester.frame.frame import LesterFrame


def readers(run: RunRecord, source: str) -> list[str]:
    """``source`` and every other source of ``run`` that reads the same file (sorted)."""
    meta = run.sources[source]
    others = sorted(n for n, m in run.sources.items() if n != source
                    and m["path"] == meta["path"] and m["format"] == meta["format"])
    for name in others:
        if len(run.sources[name]["columns"]) != len(meta["columns"]):
            raise RequestError(
                f"sources '{source}' and '{name}' of run '{run.run_id}' read the same file "
                "with a different number of columns, so their rows cannot be matched.",
                field="source", hint="Read the file with the same columns under both names.")
    return [source, *others]


def column_map(run: RunRecord, source: str, other: str) -> dict[str, str]:
    """``source``'s column names -> ``other``'s, by position."""
    return dict(zip(run.sources[source]["columns"], run.sources[other]["columns"],
                    strict=True))


def expand(run: RunRecord, request: DeletionRequest) -> DeletionRequest:
    """``request`` with its redacted columns mapped onto every name of their files."""
    if not any(len(readers(run, s)) > 1 for s in {request.source, *(s for s, _ in
                                                                    request.columns)}):
        return request
    columns: list[tuple[str, str]] = []
    for src, col in request.columns:
        for name in readers(run, src):
            pair = (name, column_map(run, src, name)[col])
            if pair not in columns:
                columns.append(pair)
    return replace(request, columns=tuple(columns))


def identify_group(spark: SparkSession, request: DeletionRequest, run: RunRecord,
                   frames: dict[str, LesterFrame], ids: list[int]) -> dict[str, list[int]]:
    """Row ids per name of the request's file (``ids``: the named source's own)."""
    from pyspark.sql import functions as F

    from spark_lester.deletion.resolve import identify

    out = {request.source: ids}
    for name in readers(run, request.source)[1:]:
        if request.keys is not None:
            key = run.sources[request.source]["key"]
            mapped = column_map(run, request.source, name)[key] if key else None
            if run.sources[name].get("key") != mapped:
                raise RequestError(
                    f"source '{name}' reads the file of '{request.source}' in run "
                    f"'{run.run_id}' without the same key column, so keys cannot name its "
                    "rows.", request_id=request.request_id, field="keys",
                    hint=f"Declare the key of '{name}' at the same column, or name the "
                         "rows with 'where'.")
            out[name] = identify(spark, replace(request, source=name), run, frames)
            continue
        pcol = provenance_column(name)
        mapping = column_map(run, name, request.source)
        df = frames[name].df.select(*[F.col(c).alias(mapping[c]) for c in mapping],
                                    F.col(pcol))
        rows = df.where(F.expr(request.where)).select(pcol).collect()  # type: ignore[arg-type]
        out[name] = sorted({int(r[0]) for r in rows})
    return out


def linked_group(run: RunRecord, frames: dict[str, LesterFrame], source: str,
                 ids: set[int]) -> dict[str, set[int]]:
    """``source``'s row ids (linked rows of a redaction) mapped onto every name of its file:
    by key value, or for a keyless file by the rows' values (see :func:`_same_rows`)."""
    from spark_lester.deletion.ivm.change import isin
    from spark_lester.frame.source import keyed_row_id

    names = readers(run, source)
    out = {source: set(ids)}
    if len(names) == 1 or not ids:
        return out
    key = run.sources[source]["key"]
    keys = None
    if key is not None:
        keys = [r[0] for r in frames[source].df.where(isin(provenance_column(source), ids))
                .select(key).distinct().collect()]
    for name in names[1:]:
        other_key = run.sources[name].get("key")
        if key is None and other_key is None:
            out[name] = _same_rows(frames, source, name, column_map(run, name, source), ids)
        elif key is not None and other_key == column_map(run, source, name)[key]:
            out[name] = {keyed_row_id(name, k) for k in keys or []}
        else:
            raise RequestError(
                f"sources '{source}' and '{name}' of run '{run.run_id}' read the same file "
                "with different keys, so a redaction of one cannot be mapped to the other.",
                field="columns",
                hint=f"Declare the same key column for '{source}' and '{name}'.")
    return out


def _same_rows(frames: dict[str, LesterFrame], source: str, name: str,
               mapping: dict[str, str], ids: set[int]) -> set[int]:
    """The ids under ``name`` of ``source``'s keyless rows ``ids``: the rows of equal values
    (``mapping``: ``name``'s columns -> ``source``'s), the k-th of identical rows under one
    name paired with the k-th under the other (identical rows are interchangeable)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from spark_lester.deletion.ivm.change import isin

    columns = list(mapping.values())
    mine = frames[source].df.select(*columns, F.col(provenance_column(source)).alias("__a"))
    theirs = frames[name].df.select(*[F.col(c).alias(mapping[c]) for c in mapping],
                                    F.col(provenance_column(name)).alias("__b"))
    mine = mine.withColumn("__k", F.row_number().over(
        Window.partitionBy(*columns).orderBy("__a")))
    theirs = theirs.withColumn("__k", F.row_number().over(
        Window.partitionBy(*columns).orderBy("__b")))
    cond = F.col("m.__k") == F.col("t.__k")
    for c in columns:
        cond = cond & F.col(f"m.{c}").eqNullSafe(F.col(f"t.{c}"))
    pairs = mine.where(isin("__a", sorted(ids))).alias("m").join(theirs.alias("t"), cond)
    return {int(r[0]) for r in pairs.select("t.__b").collect()}
