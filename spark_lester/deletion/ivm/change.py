"""Computing what a request changes in one run's artifacts, without changing anything yet.

Incremental strategy (see :mod:`spark_lester.deletion.ivm.propagate`): the *anchor* ids are the
identified source rows, the redacted rows of other sources linked to them by row provenance,
and, where a rule asks for closure, every row id of those sources that co-occurs with them.
The affected rows of a table are its rows whose provenance holds an anchor id. The pipeline is
re-run on the sources restricted to the ids in those rows, with the change applied; its rows
that hold an anchor id (or replace an affected row) are the new state of that region. The
difference (delete / update / insert by row id) is computed per table from the table's own
current rows, so an interrupted request recomputes the same target state when re-run.

Recompute strategy: the pipeline is re-run on the whole cleaned sources and the tables are
replaced by a MERGE of the difference (only when a rule requires it; the reason is recorded).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import FEATURES, PREPARED
from spark_lester.artifacts.registry import RunRecord
from spark_lester.deletion.ivm.propagate import INCREMENTAL, propagate
from spark_lester.deletion.request import DeletionRequest
from spark_lester.plan.columns import (ROW_ID, SPLIT, is_provenance_column, provenance_column,
                                       source_of)

if TYPE_CHECKING:
    from types import ModuleType

    from pyspark.sql import Column, DataFrame, SparkSession

    from spark_lester.frame.frame import LesterFrame

#: The operation column of a change set.
OP = "__lester_op"
DELETE, UPDATE, INSERT = "delete", "update", "insert"
#: Up to this many ids, a filter on a Delta table also gets a disjunction of equalities
#: (see ``skipping_isin``).
_OR_LIMIT = 64


@dataclass
class TableChange:
    """Rows to delete, update and insert in one table (Row dicts keyed by column)."""

    table: str
    deletes: list[int] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    #: For the recompute strategy: the complete new table as a Spark DataFrame.
    replacement: DataFrame | None = None
    cells: int = 0
    ranges: list[tuple[int, int]] = field(default_factory=list)
    before: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.replacement is None and not (self.deletes or self.updates or self.inserts)

    def counts(self) -> dict[str, int]:
        return {"deleted": len(set(self.deletes)), "updated": len(self.updates),
                "inserted": len(self.inserts), "cells": self.cells}


@dataclass
class RunChange:
    run: RunRecord
    strategy: str
    reason: str | None
    identified: int
    anchors: dict[str, list[int]]
    tables: dict[str, TableChange]
    needles: set[str] = field(default_factory=set)
    #: Source rows the request itself changes (deleted, or redacted), per source.
    changed: dict[str, list[int]] = field(default_factory=dict)
    #: Fit (train) rows of the prepared table that leave the encoder's fit set (old values)
    #: and that enter it (new values of updated rows); only rows whose feature inputs differ.
    fit_removed: list[dict[str, Any]] = field(default_factory=list)
    fit_added: list[dict[str, Any]] = field(default_factory=list)
    #: The encoder step (``deletion.encoder.EncoderWork``), set when the run is resolved.
    encoder: Any = None
    #: The redacted columns in this run, mapped onto every name of their files
    #: (see :mod:`spark_lester.deletion.same_file`).
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return all(t.empty for t in self.tables.values())

    def summary(self) -> dict[str, Any]:
        out = {"run_id": self.run.run_id, "pipeline": self.run.pipeline,
               "strategy": self.strategy, "reason": self.reason,
               "source_rows": self.identified,
               "tables": {n: {**t.counts(), "feature_ranges": [list(r) for r in t.ranges]}
                          for n, t in self.tables.items()}}
        if self.encoder is not None:  # counts and policies only, never a removed value
            out["encoder"] = self.encoder.result.summary()
        return out


def isin(column: str, ids: Any) -> Column:
    """``column IN ids``, a hash-set lookup per row: for filtering sources and DataFrames."""
    from pyspark.sql import functions as F

    values = sorted({int(i) for i in ids})
    return F.col(column).isin(values) if values else F.lit(False)


def skipping_isin(column: str, ids: Any) -> Column:
    """``column IN ids`` for a Delta table, written so that Delta can skip files by it.

    Delta's data skipping reads ``c IN (v1, ..., vn)`` as ``min(v) <= c <= max(v)``: over row
    ids, which are 64-bit hashes, that range spans nearly every file whatever the clustering.
    A disjunction of equalities is skipped value by value, so up to ``_OR_LIMIT`` ids it is
    added as a second conjunct (the same rows; the ``IN`` stays first because it is the
    cheaper test for the rows of the files that are read)."""
    from functools import reduce

    from pyspark.sql import functions as F

    values = sorted({int(i) for i in ids})
    if not values or len(values) > _OR_LIMIT:
        return isin(column, values)
    return F.col(column).isin(values) & reduce(lambda a, b: a | b,
                                               [F.col(column) == F.lit(v) for v in values])


def _any_anchor(anchors: dict[str, list[int]], columns: list[str]) -> Column:
    from pyspark.sql import functions as F

    cond = F.lit(False)
    for source, ids in anchors.items():
        col = provenance_column(source)
        if col in columns and ids:
            cond = cond | skipping_isin(col, ids)
    return cond


def _distinct_ids(df: DataFrame, column: str) -> set[int]:
    # the affected region is small: deduplicated here, without a shuffle stage
    return {int(r[0]) for r in df.select(column).collect() if r[0] is not None}


def affected_rows(df: DataFrame, anchors: dict[str, list[int]], cluster_by: str | None,
                  *, files: int | None = None) -> list[dict[str, Any]]:
    """The rows of an artifact table whose provenance holds an anchor id.

    Delta skips files by min/max statistics, and only the cluster column's ids are ordered in
    the files: an anchor of another source (a mail id) can sit in any file. So when anchors of
    other sources are involved, the ids are found first, reading only the (small) provenance
    columns, and the whole rows are then read from their clusters' files alone, not from
    every file with all its text columns. A table of ``files`` = 1 has nothing to skip: it
    is read once."""
    cond = _any_anchor(anchors, df.columns)
    others = [s for s, ids in anchors.items()
              if ids and provenance_column(s) != cluster_by and provenance_column(s) in df.columns]
    if cluster_by is None or cluster_by not in df.columns or not others or files == 1:
        return [r.asDict() for r in df.where(cond).collect()]
    clusters = {r[0] for r in df.where(cond).select(cluster_by).collect()}
    if not clusters:
        return []
    if None in clusters:  # a row without a cluster id: no file can be ruled out
        return [r.asDict() for r in df.where(cond).collect()]
    return [r.asDict() for r in df.where(skipping_isin(cluster_by, clusters) & cond).collect()]


def compute_change(spark: SparkSession, request: DeletionRequest, run: RunRecord,
                   module: ModuleType, frames: dict[str, LesterFrame],
                   identified: list[int] | dict[str, list[int]], *, resuming: bool = False,
                   merged: frozenset[str] = frozenset()) -> RunChange:
    """What ``request`` (whose source rows are ``identified``: a list, or per name of a file
    read under several names, see :mod:`~spark_lester.deletion.same_file`) changes in
    ``run``.

    ``frames`` are the run's sources in their current cleaned state (earlier requests
    applied, see :mod:`spark_lester.deletion.applied`). ``resuming``: an earlier attempt of
    this request may already have changed the tables, so the removed values (what the
    erasure scan looks for) are re-derived from ``frames`` rather than read from them;
    ``merged``: the paths of the tables that already hold its commits."""
    from spark_lester.artifacts.run import finish_frame
    from spark_lester.frame.frame import observe_joins
    from spark_lester.frame.pipeline import call_prepare

    tables = {n: spark.read.format("delta").load(run.tables[n].path) for n in
              (PREPARED, FEATURES)}
    from spark_lester.deletion.same_file import linked_group

    group = identified if isinstance(identified, dict) else {request.source: identified}
    anchors: dict[str, set[int]] = {s: set(v) for s, v in group.items()}

    def plan_and_joins() -> tuple[Any, list[Any]]:
        with observe_joins() as joins:
            plan = call_prepare(module, frames).plan
        return propagate(plan, request.action, request.columns,
                         request.source if len(group) == 1 else None), joins

    # the prepared table before this request: a resumed request's MERGE may have changed
    # the table (a redacted join key removes the links a linked redaction follows)
    before_df = (finish_frame(call_prepare(module, frames), run.split) if resuming
                 else tables[PREPARED])
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the plan (driver-side analysis) is built while the linked rows are read
        planned = pool.submit(plan_and_joins)
        if request.action == "redact_columns" and any(group.values()):
            for src in dict.fromkeys(s for s, _ in request.columns):
                if src in group:
                    continue
                # redaction never removes rows, so the prepared table alone links them
                linked: set[int] = set()
                for name, ids in group.items():
                    if ids:
                        linked |= _linked_ids(before_df, provenance_column(name),
                                              provenance_column(src), ids)
                for name, ids in linked_group(run, frames, src, linked).items():
                    anchors.setdefault(name, set()).update(ids)
        verdict, joins = planned.result()
    changed = {s: sorted(v) for s, v in anchors.items()}
    if verdict.strategy == INCREMENTAL and any(changed.values()):
        for src in verdict.closure_sources:
            col = provenance_column(src)
            for df in tables.values():
                if col in df.columns:
                    hit = df.where(_any_anchor(changed, df.columns))
                    anchors.setdefault(src, set()).update(_distinct_ids(hit, col))
        wanted = {id(node) for node in verdict.left_joins}
        for left, right, node in joins:
            if id(node) in wanted:
                for src, ids in _left_matches(left, right, node, changed).items():
                    anchors.setdefault(src, set()).update(ids)
    anchor_lists = {s: sorted(v) for s, v in anchors.items()}
    result = RunChange(run=run, strategy=verdict.strategy, reason=verdict.reason,
                       identified=len(group[request.source]), anchors=anchor_lists,
                       tables={}, changed=changed, columns=request.columns)
    if not any(anchor_lists.values()):
        result.tables = {n: TableChange(n) for n in tables}
        return result

    if verdict.strategy != INCREMENTAL:
        cleaned = _apply(request, frames, changed, restrict=None)
        new_df = finish_frame(call_prepare(module, cleaned), run.split)
        old_df = before_df
        # the region, old and new: the ids of every row that differs between the two, by
        # value (a row that appears or goes without holding a changed id is in it too: a
        # group that passes a filter once a member is deleted), with all rows of those ids
        same = sorted(old_df.columns) == sorted(new_df.columns)
        moved: set[int] = set()
        if same:
            ordered = new_df.select(*old_df.columns)
            moved = {r[0] for r in old_df.exceptAll(ordered).select(ROW_ID).union(
                ordered.exceptAll(old_df).select(ROW_ID)).distinct().collect()}
            before = [r.asDict() for r in old_df.where(isin(ROW_ID, sorted(moved))).collect()]
            after = [r.asDict() for r in new_df.where(isin(ROW_ID, sorted(moved))).collect()]
        else:  # another schema: every row goes and comes back
            before = [r.asDict() for r in old_df.collect()]
            after = [r.asDict() for r in new_df.collect()]
        region = _diff(PREPARED, before, after)
        result.needles = _needles(before, region)
        result.fit_removed, result.fit_added = _fit_changes(run, before, region)
        if resuming:
            # each table is replaced unless it holds this request's commit already: an
            # attempt killed between the two MERGEs left X as it was, whatever the
            # prepared table says (the two are not compared: X is not re-encoded for it)
            replaced = _replacement(run, tables, new_df)
            result.tables = {n: TableChange(n) if run.tables[n].path in merged
                             else replaced[n] for n in tables}
        elif same and not moved:
            result.tables = {n: TableChange(n) for n in tables}
        else:
            result.tables = _replacement(run, tables, new_df)
        return result

    with ThreadPoolExecutor(max_workers=len(tables)) as pool:  # small reads, side by side
        found = {n: pool.submit(affected_rows, df, anchor_lists, run.cluster_by,
                                files=store.file_count(spark, run.tables[n].path))
                 for n, df in tables.items()}
        old = {n: rows.result() for n, rows in found.items()}
    restrict: dict[str, set[int]] = {s: set(v) for s, v in anchor_lists.items()}
    for rows in old.values():
        for row in rows:
            for col, value in row.items():
                if is_provenance_column(col) and value is not None:
                    restrict.setdefault(source_of(col), set()).add(int(value))
    full = verdict.full_sources
    restricted = _apply(request, frames, changed, restrict=restrict, unrestricted=full)
    new_rows = [r.asDict() for r in
                finish_frame(call_prepare(module, restricted), run.split).collect()]
    old_ids = {r[ROW_ID] for rows in old.values() for r in rows}
    new_rows = [r for r in new_rows if r[ROW_ID] in old_ids or _holds_anchor(r, anchors)]
    result.tables[PREPARED] = _diff(PREPARED, old[PREPARED], new_rows)
    # a resumed request whose X already holds its MERGE (and perhaps the rewrite for the
    # downdated encoder, which the registry may not hold yet): nothing left to merge there
    result.tables[FEATURES] = (TableChange(FEATURES) if run.tables[FEATURES].path in merged
                               else _feature_diff(run, request, old[FEATURES], new_rows))
    if resuming:
        before, region = _region_before(request, run, module, frames, changed, anchors,
                                        restrict, full, verdict.closure_sources, old_ids,
                                        new_rows)
        result.needles = _needles(before, region)
        result.fit_removed, result.fit_added = _fit_changes(run, before, region)
    else:
        result.needles = _needles(old[PREPARED], result.tables[PREPARED])
        result.fit_removed, result.fit_added = _fit_changes(run, old[PREPARED],
                                                            result.tables[PREPARED])
    return result


def _region_before(request: DeletionRequest, run: RunRecord, module: ModuleType,
                   frames: dict[str, LesterFrame], changed: dict[str, list[int]],
                   anchors: dict[str, set[int]], restrict: dict[str, set[int]],
                   full: set[str] | frozenset[str], closure: Any, old_ids: set[int],
                   new_rows: list[dict[str, Any]]
                   ) -> tuple[list[dict[str, Any]], TableChange]:
    """A resumed request's region before and after it: what the removed values and the
    encoder's fit changes are read from.

    The tables may already hold this request's change, so the state before it is re-derived
    from the sources. A MERGE that deleted the region's rows took their links to the other
    sources' rows with them (``restrict`` holds only the request's own rows then): those
    sources are read whole, the links are read from the re-derived rows, and the region
    after the change is re-derived with them, as the first attempt derived it from the
    tables' rows before its MERGE."""
    from spark_lester.artifacts.run import finish_frame
    from spark_lester.frame.pipeline import call_prepare

    unlinked = {s for s in frames if not restrict.get(s)}
    unchanged = _apply(request, frames, {}, restrict=restrict, unrestricted=set(full) | unlinked)
    before = [r.asDict() for r in
              finish_frame(call_prepare(module, unchanged), run.split).collect()]
    before = [r for r in before if r[ROW_ID] in old_ids or _holds_anchor(r, anchors)]
    linked = {s: set(v) for s, v in restrict.items()}
    region_anchors = {s: set(v) for s, v in anchors.items()}
    for row in before:
        for col, value in row.items():
            if is_provenance_column(col) and value is not None:
                linked.setdefault(source_of(col), set()).add(int(value))
                if source_of(col) in closure:
                    region_anchors.setdefault(source_of(col), set()).add(int(value))
    after = new_rows
    if linked != restrict:
        relinked = _apply(request, frames, changed, restrict=linked, unrestricted=full)
        after = [r.asDict() for r in
                 finish_frame(call_prepare(module, relinked), run.split).collect()]
    before_ids = {r[ROW_ID] for r in before}
    after = [r for r in after if r[ROW_ID] in old_ids or r[ROW_ID] in before_ids
             or _holds_anchor(r, region_anchors)]
    return before, _diff(PREPARED, before, after)


def _fit_changes(run: RunRecord, old: list[dict[str, Any]], change: TableChange
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The train rows whose feature inputs leave the encoder's fit set (their old values)
    and those that enter it (new values): what the encoder must unlearn."""
    columns = list(run.feature_columns)

    def inputs(row: dict[str, Any]) -> dict[str, Any]:
        return {c: row.get(c) for c in columns}

    new_rows = (*change.updates, *change.inserts)
    new_by_id = {r[ROW_ID]: r for r in new_rows}
    old_ids = {r[ROW_ID] for r in old}
    deleted = set(change.deletes)
    removed = []
    for row in old:
        if row.get(SPLIT) != "train":
            continue
        replacement = None if row[ROW_ID] in deleted else new_by_id.get(row[ROW_ID])
        if row[ROW_ID] in deleted or (replacement is not None and (
                replacement.get(SPLIT) != "train"
                or not _same(inputs(row), inputs(replacement)))):
            removed.append({ROW_ID: row[ROW_ID], **inputs(row)})
    removed_ids = {r[ROW_ID] for r in removed}
    # every copy of an id that several rows hold (replaced wholesale: all of them removed)
    added = [{ROW_ID: r[ROW_ID], **inputs(r)} for r in new_rows
             if r.get(SPLIT) == "train" and (r[ROW_ID] not in old_ids or r[ROW_ID] in removed_ids)]
    return removed, added


def _linked_ids(prepared: DataFrame, source_col: str, other_col: str, ids: list[int]
                ) -> set[int]:
    """Ids of ``other_col`` in the monomials of prepared rows that hold one of ``ids`` in
    ``source_col`` (row provenance links them; merged rows are aligned arrays)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    if source_col not in prepared.columns or other_col not in prepared.columns:
        return set()
    if not isinstance(prepared.schema[source_col].dataType, ArrayType):
        return _distinct_ids(prepared.where(skipping_isin(source_col, ids)), other_col)
    pairs = prepared.select(F.posexplode(source_col).alias("pos", "a"), other_col).select(
        "a", F.element_at(F.col(other_col), F.col("pos") + 1).alias("b"))
    return _distinct_ids(pairs.where(isin("a", ids)), "b")


def _left_matches(left: LesterFrame, right: LesterFrame, node: Any,
                  changed: dict[str, list[int]]) -> dict[str, set[int]]:
    """Per left-side source, the ids of the left rows that match (at the join's input) a
    right row holding a changed id: their join result changes whether or not the joined
    row reached an artifact."""
    from functools import reduce

    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    rdf = right.df
    terms = [isin(provenance_column(s), ids) for s, ids in changed.items()
             if ids and provenance_column(s) in rdf.columns
             and not isinstance(rdf.schema[provenance_column(s)].dataType, ArrayType)]
    if not terms:
        return {}
    keys = [f"__lester_k{i}" for i in range(len(node.right_on))]
    hit = rdf.where(reduce(lambda a, b: a | b, terms)).select(
        *[F.col(r).alias(k) for r, k in zip(node.right_on, keys, strict=True)]).distinct()
    ldf = left.df
    cond = reduce(lambda a, b: a & b, [F.col(f"l.{lk}") == F.col(f"h.{k}")
                                       for lk, k in zip(node.left_on, keys, strict=True)])
    matched = ldf.alias("l").join(hit.alias("h"), cond, "left_semi")
    pcols = [c for c in ldf.columns if is_provenance_column(c)]
    out: dict[str, set[int]] = {}
    for row in matched.select(*pcols).collect():
        for col, value in zip(pcols, row, strict=True):
            values = value if isinstance(value, list) else [value]
            out.setdefault(source_of(col), set()).update(
                int(v) for v in values if v is not None)
    return out


def _holds_anchor(row: dict[str, Any], anchors: dict[str, set[int]]) -> bool:
    return any(row.get(provenance_column(s)) in ids for s, ids in anchors.items())


def _apply(request: DeletionRequest, frames: dict[str, LesterFrame],
           changed: dict[str, list[int]], *, restrict: dict[str, set[int]] | None,
           unrestricted: set[str] | frozenset[str] = frozenset()
           ) -> dict[str, LesterFrame]:
    """The sources with the request applied (and restricted to ``restrict`` ids)."""
    from pyspark.sql import functions as F

    from spark_lester.frame.frame import LesterFrame

    out = {}
    for name, frame in frames.items():
        col = provenance_column(name)
        df = frame.df
        if restrict is not None and name not in unrestricted:
            df = df.where(isin(col, restrict.get(name, ())))
        if request.action == "delete_rows" and name in changed:  # the file's names
            df = df.where(~isin(col, changed[name]))
        if request.action == "redact_columns":
            for src, column in request.columns:
                if src != name:
                    continue
                dtype = df.schema[column].dataType
                df = df.withColumn(column, F.when(isin(col, changed.get(name, ())),
                                                  F.lit(None).cast(dtype)).otherwise(F.col(column)))
        out[name] = LesterFrame(df, frame.plan)
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key, value in a.items():
        other = b.get(key)
        if isinstance(value, float) and isinstance(other, float):
            if not (value == other or (np.isnan(value) and np.isnan(other))):
                return False
        elif isinstance(value, list) and isinstance(other, list):
            if not np.array_equal(np.asarray(value, dtype=object), np.asarray(other, dtype=object)):
                return False
        elif value != other:
            return False
    return True


def _diff(table: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> TableChange:
    change = TableChange(table, before=old)
    old_by_id: dict[int, list[dict[str, Any]]] = {}
    for row in old:
        old_by_id.setdefault(row[ROW_ID], []).append(row)
    count = Counter(r[ROW_ID] for r in new)
    for rid in old_by_id:
        if rid not in count:
            change.deletes.append(rid)
    for row in new:
        rid = row[ROW_ID]
        previous = old_by_id.get(rid, [])
        if count[rid] == 1 and len(previous) == 1:
            if not _same(row, previous[0]):
                change.updates.append(row)
                change.cells += sum(1 for k in row if not _same({k: row[k]}, {k: previous[0][k]}))
        elif count[rid] == 1 and not previous:
            change.inserts.append(row)
        else:  # duplicated ids (a union of equal rows): replace the copies wholesale
            if previous and rid not in change.deletes:
                change.deletes.append(rid)
            change.inserts.append(row)
    return change


def _feature_diff(run: RunRecord, request: DeletionRequest, old: list[dict[str, Any]],
                  new_prepared: list[dict[str, Any]]) -> TableChange:
    """The features table's change: re-encode only the ranges of changed input columns."""
    import pandas as pd

    from spark_lester.features.encode import FEATURES as VECTOR
    from spark_lester.features.encode import encode_pandas, load_encoder, reencode

    encoder = load_encoder(run.encoder) if run.encoder is not None else None
    keep = [c for c in (old[0] if old else {}) if c != VECTOR]
    if not keep:
        keep = [ROW_ID, *[c for c in (new_prepared[0] if new_prepared else {})
                          if is_provenance_column(c)], SPLIT,
                *([run.label] if run.label else [])]
    old_by_id = {r[ROW_ID]: r for r in old}
    changed_inputs = _changed_inputs(run, request)
    rows: list[dict[str, Any]] = []
    ranges: set[tuple[int, int]] = set()
    updated, inserted = [], []
    # an id held by several rows (union branches of one source row, whose values may
    # differ): which old vector is whose is unknown, so its rows are encoded afresh (and
    # replaced wholesale by _diff)
    old_n, new_n = Counter(r[ROW_ID] for r in old), Counter(r[ROW_ID] for r in new_prepared)
    for row in new_prepared:
        rid = row[ROW_ID]
        (updated if old_n[rid] == 1 and new_n[rid] == 1 else inserted).append(row)
    if updated and encoder is not None:
        frame = pd.DataFrame([{c: r[c] for c in run.feature_columns} for r in updated])
        current = np.asarray([old_by_id[r[ROW_ID]][VECTOR] for r in updated], dtype=np.float32)
        inputs = [c for c in changed_inputs if c in run.feature_columns]
        if inputs:
            matrix, touched = reencode(current, frame, encoder, inputs)
            ranges.update(tuple(t) for t in touched)
        else:
            matrix = current
        for r, vec in zip(updated, matrix, strict=True):
            rows.append({**{c: r[c] for c in keep}, VECTOR: [float(v) for v in vec]})
    if inserted and encoder is not None:
        frame = pd.DataFrame([{c: r[c] for c in run.feature_columns} for r in inserted])
        matrix = encode_pandas(frame, encoder)
        for r, vec in zip(inserted, matrix, strict=True):
            rows.append({**{c: r[c] for c in keep}, VECTOR: [float(v) for v in vec]})
    change = _diff(FEATURES, old, rows)
    change.ranges = sorted(ranges)
    return change


def _changed_inputs(run: RunRecord, request: DeletionRequest) -> list[str]:
    """Output columns whose values derive from a redacted source column."""
    redacted = {f"{s}.{c}" for s, c in request.columns}
    return [col for col, lin in run.lineage.items() if redacted & set(lin["direct"])]


def _needles(old: list[dict[str, Any]], change: TableChange) -> set[str]:
    """Old string values of cells the change removes: what the erasure scan looks for."""
    gone: set[str] = set()
    new_by_id = {r[ROW_ID]: r for r in (*change.updates, *change.inserts)}
    deleted = set(change.deletes)
    for row in old:
        replacement = None if row[ROW_ID] in deleted else new_by_id.get(row[ROW_ID])
        if row[ROW_ID] not in deleted and replacement is None:
            continue
        for col, value in row.items():
            if not isinstance(value, str) or len(value) < 6 or col in (SPLIT,):
                continue
            if replacement is None or replacement.get(col) != value:
                gone.add(value)
    return gone


def _replacement(run: RunRecord, tables: dict[str, DataFrame], new_df: DataFrame
                 ) -> dict[str, TableChange]:
    from spark_lester.features.encode import encode, load_encoder

    encoder = load_encoder(run.encoder) if run.encoder is not None else None
    prepared = TableChange(PREPARED, replacement=new_df)
    keep = [c for c in tables[FEATURES].columns if c != "features"]
    features = TableChange(FEATURES, replacement=encode(new_df, encoder,
                                                         columns=run.feature_columns, keep=keep))

    return {PREPARED: prepared, FEATURES: features}
