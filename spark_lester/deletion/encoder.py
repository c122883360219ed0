"""The encoder step of a deletion: the run's fitted encoder unlearns what the request removes.

Planned with the change (``plan_encoder``): the fit rows the request removes (train rows
deleted, or updated with other feature inputs) and the new values of updated ones go to
:func:`spark_lester.features.downdate.downdate`, which asks Spark which removed categories
and terms a remaining fit row still holds (one filtered query over the prepared table's
train rows per memorising transformer), and reads the remaining rows' columns only for a
refit or recount. When the encoder changes:

* the features table is rewritten after its MERGE (``rewrite_features``): the removed
  columns leave every row, re-encoded blocks are recomputed from the prepared inputs (a
  pass over X, plus a join with the prepared table when a block is re-encoded);
* the model drops the parameters of the removed columns (``deletion.model``); a re-encoded
  block changes every row of X, so the model is retrained on the new X then;
* the run's registry row gets the new encoder and matrix provenance (``update_registry``);
  the erasure purges and vacuums the registry like the artifact tables, so the old encoder
  bytes are gone from every file.

A pipeline file chooses the policy for aggregate statistics with ``ENCODER_STATISTICS =
"keep"`` (default) or ``"downdate"`` (see ``features.downdate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED
from spark_lester.errors import EmptyRemainderError
from spark_lester.features.downdate import KEEP, Downdate, FitRows, downdate, project
from spark_lester.plan.columns import ROW_ID, SPLIT

if TYPE_CHECKING:
    from types import ModuleType

    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from spark_lester.artifacts.layout import Layout
    from spark_lester.artifacts.registry import RunRecord
    from spark_lester.deletion.ivm.change import RunChange


@dataclass
class EncoderWork:
    """What the encoder step does for one run."""

    run_id: str
    result: Downdate
    #: X already holds this rewrite (a re-submit of a request killed before its registry
    #: step): only the registry is left to store.
    rewritten: bool = False

    @property
    def changed(self) -> bool:
        return self.result.changed


def plan_encoder(spark: SparkSession, change: RunChange, module: ModuleType
                 ) -> EncoderWork | None:
    """The encoder downdate of one run's change (None: no encoder, or nothing to unlearn)."""
    import pandas as pd
    from pyspark.sql import functions as F

    from spark_lester.features.encode import load_encoder

    run = change.run
    if run.encoder is None:
        return None
    removed, added = change.fit_removed, change.fit_added
    if not removed and not added:
        return None
    columns = list(run.feature_columns)
    encoder = load_encoder(run.encoder)
    statistics = getattr(module, "ENCODER_STATISTICS", KEEP)
    table = spark.read.format("delta").load(run.tables[PREPARED].path)
    leaving = sorted({int(r[ROW_ID]) for r in [*removed, *added]})
    remaining_df = table.where((F.col(SPLIT) == "train") & ~F.col(ROW_ID).isin(leaving)) \
        .select(*columns)
    added_frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in added],
                               columns=columns)
    if added:
        remaining_df = remaining_df.unionByName(
            spark.createDataFrame([tuple(r.get(c) for c in columns) for r in added],
                                  table.select(*columns).schema))

    def holding(column: str, values: list[Any]) -> set[Any]:
        hits = remaining_df.where(F.col(column).isin(values)).select(column).distinct()
        return {r[0] for r in hits.collect()}

    def containing(column: str, needles: list[str]) -> list[Any]:
        cond = F.lit(False)
        for needle in needles:
            cond = cond | F.lower(F.col(column)).contains(needle.lower())
        return [r[0] for r in remaining_df.where(cond).select(column).collect()]

    def remaining(cols: list[str]) -> pd.DataFrame:
        return remaining_df.select(*cols).toPandas()

    def nothing_left() -> EmptyRemainderError:
        n_train = table.where(F.col(SPLIT) == "train").count()
        return EmptyRemainderError(n_train=n_train, n_removed=len(removed))

    empty = not added and not remaining_df.limit(1).collect()
    if empty and MODEL in run.tables and run.label is not None:
        # every fit row leaves: no model can be fitted on nothing (refused before any change)
        raise nothing_left()
    rows = FitRows(removed=pd.DataFrame([{c: r.get(c) for c in columns} for r in removed],
                                        columns=columns),
                   added=added_frame, holding=holding, containing=containing,
                   remaining=remaining)
    try:
        result = downdate(encoder, rows, statistics=statistics)
    except ValueError as err:
        # without a model, an encoder that keeps its statistics survives an empty
        # remainder; one that must be refit or recounted on nothing cannot
        if empty:
            raise nothing_left() from err
        raise
    return EncoderWork(run.run_id, result) if result.actions else None


def rewrite_features(spark: SparkSession, run: RunRecord, work: EncoderWork) -> dict[str, Any]:
    """Rewrite every row of the run's features table for the downdated encoder (after the
    MERGE): removed columns dropped, re-encoded blocks recomputed from the prepared inputs.
    Safe to repeat: a table already at the new width is left as it is when only columns
    were dropped."""
    import time

    from pyspark.sql import functions as F

    from spark_lester.artifacts import store
    from spark_lester.features.encode import FEATURES as VECTOR
    from spark_lester.features.encode import encode_pandas
    from spark_lester.features.matrix_provenance import input_names, selected_positions

    started = time.perf_counter()
    result = work.result
    path = run.tables[FEATURES].path
    features = spark.read.format("delta").load(path)
    first = features.select(F.size(VECTOR)).limit(1).collect()
    if first and first[0][0] == result.width_after and not result.reencode:
        return {"skipped": True, "seconds": 0.0}
    ct = result.encoder
    names = input_names(ct)
    inputs: list[str] = []
    for name, _, selector in ct.transformers_:
        if name in result.reencode:
            inputs += [names[p] for p in selected_positions(ct, selector, len(names))]
    inputs = list(dict.fromkeys(inputs))
    schema = features.schema
    columns = features.columns
    source: DataFrame = features
    shared: list[int] = []
    old = None
    if inputs:
        from spark_lester.deletion.ivm.change import isin
        from spark_lester.features.encode import load_encoder

        prepared = spark.read.format("delta").load(run.tables[PREPARED].path)
        # an id that several rows hold (union copies of one row) cannot pair X's copies
        # with their inputs: those rows' old vectors are re-derived from their own inputs
        # with the run's encoder instead of joined by id (k copies would give k*k rows)
        shared = [r[0] for r in prepared.groupBy(ROW_ID).count().where("count > 1")
                  .select(ROW_ID).collect()]
        wanted = list(dict.fromkeys([*inputs, *names])) if shared else inputs
        values = [F.col(c).alias(f"__in_{c}") for c in wanted]
        source = features.where(~isin(ROW_ID, shared)).join(
            prepared.select(ROW_ID, *values), ROW_ID, "left")
        if shared:
            old = load_encoder(run.encoder)
            copies = prepared.where(isin(ROW_ID, shared)).select(
                *[F.lit(None).cast(schema[VECTOR].dataType).alias(c) if c == VECTOR
                  else F.col(c) for c in columns], *values)
            source = source.unionByName(copies)
        if run.cluster_by is not None and run.cluster_by in columns:
            files = max(1, store.file_count(spark, path))
            source = source.repartitionByRange(files, F.col(run.cluster_by)) \
                .sortWithinPartitions(run.cluster_by)

    def batches(iterator: Any) -> Any:
        import pyarrow as pa

        for batch in iterator:
            if batch.num_rows == 0:
                continue
            vectors = batch.column(batch.schema.get_field_index(VECTOR))
            if vectors.null_count:  # the copies of a shared id: encoded from their inputs
                missing = vectors.is_null().to_numpy(zero_copy_only=False)
                X = np.zeros((batch.num_rows, result.width_before), dtype=np.float32)
                X[~missing] = _matrix(vectors.filter(pa.array(~missing)), result.width_before)
                copies = _inputs(batch, names)[missing]
                X[missing] = encode_pandas(copies, old)
            else:
                X = _matrix(vectors, result.width_before)
            frame = _inputs(batch, inputs) if inputs else None
            Y = project(X, frame, result)
            n, d = Y.shape
            offsets = pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32))
            vectors = pa.ListArray.from_arrays(offsets, pa.array(Y.reshape(-1), pa.float32()))
            yield pa.RecordBatch.from_arrays(
                [vectors if c == VECTOR else batch.column(batch.schema.get_field_index(c))
                 for c in columns], names=columns)

    out = source.mapInArrow(batches, schema)
    with store.storage_errors(path):
        out.write.format("delta").mode("overwrite").save(path)
    return {"rows_rewritten": True, "width_before": result.width_before,
            "width_after": result.width_after, "version": store.table_version(spark, path),
            "seconds": round(time.perf_counter() - started, 3)}


def _matrix(vectors: Any, width: int) -> np.ndarray:
    values = vectors.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float32).reshape(len(vectors), width)


def _inputs(batch: Any, inputs: list[str]) -> pd.DataFrame:
    import pyarrow as pa

    table = pa.Table.from_batches([batch]).select([f"__in_{c}" for c in inputs])
    return table.rename_columns(inputs).to_pandas(date_as_object=True)


def update_registry(spark: SparkSession, layout: Layout, run: RunRecord, work: EncoderWork,
                    *, request_id: str) -> RunRecord:
    """Store the downdated encoder and its matrix provenance in the run's registry row, with
    the id of the request whose step it is (the erasure purges the old row's files)."""
    from dataclasses import replace

    from spark_lester.artifacts import registry
    from spark_lester.features.encode import dump_encoder
    from spark_lester.features.matrix_provenance import matrix_provenance

    provenance = {k: [list(r) for r in v]
                  for k, v in matrix_provenance(work.result.encoder).items()}
    updated = replace(run, encoder=dump_encoder(work.result.encoder),
                      matrix_provenance=provenance, encoder_request=request_id)
    registry.replace_run(spark, layout, updated)
    return updated
