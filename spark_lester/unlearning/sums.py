"""Sums over every row of X, block by block on numpy or partition by partition on Spark.

Gradients, Hessians and Hessian-vector products of the training loss are sums of per-row
terms. :func:`row_sums` evaluates a block function ``fn(X_block, y_block) -> tuple of arrays``
on row blocks and adds the results (or takes their maximum, per output). On numpy the blocks
are slices of the arrays; on a Spark DataFrame each partition is turned into a block by
``mapInPandas`` (Arrow), the partition results are serialised as ``.npz`` bytes and combined
with ``treeAggregate``, so only d or d x d arrays ever reach the driver, never rows.

The block function runs on executors: it must be picklable (a module-level function, or a
``functools.partial`` of one with numpy arguments). Torch-based block functions use one
thread per task (Spark gives each task one core).

>>> import numpy as np
>>> X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 1, 0])
>>> total, biggest = row_sums((X, y), _demo_block, d=2, ops=("sum", "max"), block_rows=4)
>>> total.tolist(), biggest.tolist()
([30.0, 36.0], [10.0, 11.0])
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_lester.errors import DimensionMismatchError, ModelError, NonFiniteError
from spark_lester.models.data import (
    FEATURES_COL,
    LABEL_COL,
    Data,
    check_arrays,
    is_dataframe,
    rows_to_matrix,
)

if TYPE_CHECKING:
    import pandas as pd

BlockFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]
#: Rows per block on numpy (bounds the memory of per-block temporaries).
BLOCK_ROWS = 65536


@dataclass(frozen=True, eq=False)
class Adjusted:
    """The rows of ``base`` without ``removed`` and with ``added``: the training data after a
    request, read from X as it was *before* the request (the sums subtract the removed
    rows' terms and add the new rows' terms, both small and on the driver). A pass over it
    can run while X itself is being updated. Outputs combined by ``max`` stay upper bounds
    (removed rows are not taken out of a maximum)."""

    base: Data
    removed: tuple[np.ndarray, np.ndarray]
    added: tuple[np.ndarray, np.ndarray]

    @property
    def delta_rows(self) -> int:
        return len(self.added[1]) - len(self.removed[1])


@dataclass(frozen=True)
class SumInfo:
    """What a pass saw: rows summed and Spark partitions (0 on numpy)."""

    n_rows: int
    partitions: int


def row_sums(data: Data, fn: BlockFn, *, d: int, ops: Sequence[str] | None = None,
             features_col: str = FEATURES_COL,
             label_col: str = LABEL_COL, block_rows: int = BLOCK_ROWS,
             info: list[SumInfo] | None = None) -> tuple[np.ndarray, ...]:
    """Apply ``fn`` to row blocks of ``data`` and combine its outputs over all rows.

    ``ops`` gives per output ``"sum"`` (default) or ``"max"``. ``d`` is the feature width
    the caller expects: another width raises ``DimensionMismatchError`` (on Spark, counted on
    the executors and raised on the driver). Null or non-finite features
    or labels raise ``NonFiniteError``. ``info``, when a list, receives a :class:`SumInfo`.
    """
    if isinstance(data, Adjusted):
        base: list[SumInfo] = []
        out = row_sums(data.base, fn, d=d, ops=ops, features_col=features_col,
                       label_col=label_col, block_rows=block_rows, info=base)
        for rows, sign in ((data.removed, -1.0), (data.added, 1.0)):
            if len(rows[1]):
                part = _numpy_sums(rows, fn, ops, d, block_rows)
                out = tuple(np.maximum(a, b) if ops is not None and ops[i] == "max"
                            else a + sign * b for i, (a, b) in enumerate(zip(out, part,
                                                                              strict=True)))
        n, parts = base[0].n_rows + data.delta_rows, base[0].partitions
    elif is_dataframe(data):
        out, n, parts = _spark_sums(data, fn, ops, d, features_col, label_col)
    else:
        out, n, parts = _numpy_sums(data, fn, ops, d, block_rows), len(data[1]), 0
    if info is not None:
        info.append(SumInfo(n_rows=n, partitions=parts))
    return out


def _numpy_sums(data: Any, fn: BlockFn, ops: Sequence[str] | None, d: int,
                block_rows: int) -> tuple[np.ndarray, ...]:
    X, y = data
    if getattr(X, "ndim", 0) == 2 and X.shape[1] != d:
        raise DimensionMismatchError(expected=d, got=X.shape[1], what="X")
    X, y = check_arrays(X, y)
    acc: tuple[np.ndarray, ...] | None = None
    for start in range(0, max(len(y), 1), block_rows):
        block = fn(X[start:start + block_rows], y[start:start + block_rows])
        acc = _combine(acc, block, ops)
    assert acc is not None
    return acc


def _combine(a: tuple[np.ndarray, ...] | None, b: tuple[np.ndarray, ...] | None,
             ops: Sequence[str] | None) -> tuple[np.ndarray, ...] | None:
    if a is None:
        return b
    if b is None:
        return a
    return tuple(np.maximum(x, y) if ops is not None and ops[i] == "max" else x + y
                 for i, (x, y) in enumerate(zip(a, b, strict=True)))


def _pack(arrays: tuple[np.ndarray, ...]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, *arrays)
    return buf.getvalue()


def _unpack(blob: bytes) -> tuple[np.ndarray, ...]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return tuple(np.array(npz[f"arr_{i}"]) for i in range(len(npz.files)))


def _spark_sums(df: Any, fn: BlockFn, ops: Sequence[str] | None, d: int,
                features_col: str, label_col: str) -> tuple[tuple[np.ndarray, ...], int, int]:
    from pyspark.sql import functions as F

    selected = df.select(F.col(features_col).alias("f"), F.col(label_col).cast("double").alias("y"))
    part = _partition_fn(fn, ops, d)
    partials = selected.mapInPandas(part, "blob binary").rdd.map(lambda row: _unpack(row.blob))
    parts = partials.getNumPartitions()

    def merge(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return b if a is None else a
        head = _combine(a[:-3], b[:-3], ops)
        meta = (a[-3] + b[-3], a[-2] + b[-2], np.maximum(a[-1], b[-1]))
        return (*head, *meta)  # type: ignore[misc]

    total = partials.treeAggregate(None, merge, merge, depth=2)
    if total is None:
        raise ModelError("the DataFrame has no rows to sum over.")
    n_rows, n_bad = int(total[-3][0]), int(total[-3][1])
    n_wrong, width = int(total[-2][0]), int(total[-1][0])
    if n_wrong:
        raise DimensionMismatchError(expected=d, got=width, what=f"{n_wrong} rows of X")
    if n_bad:
        raise NonFiniteError("X", count=n_bad)
    return total[:-3], n_rows, parts


def _partition_fn(fn: BlockFn, ops: Sequence[str] | None,
                  d: int) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The mapInPandas function: one partial result per partition, with row/bad-row counts."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import pandas as pd

        acc: tuple[np.ndarray, ...] | None = None
        n_rows = n_bad = n_wrong = width_seen = 0
        for pdf in batches:
            if len(pdf) == 0:
                continue
            rows = pdf["f"].tolist()
            widths = {len(r) for r in rows if r is not None}
            wrong = [w for w in widths if w != d]
            if wrong:
                n_wrong += sum(1 for r in rows if r is not None and len(r) != d)
                width_seen = max(width_seen, *wrong)
                continue
            X = rows_to_matrix(rows, d=d)
            y = pdf["y"].to_numpy(np.float64)
            bad = ~np.isfinite(X).all(axis=1) | ~np.isfinite(y)
            n_bad += int(bad.sum())
            n_rows += len(y)
            if bad.any():
                continue
            _one_torch_thread()
            acc = _combine(acc, fn(X, y), ops)
        if acc is None and n_rows == 0 and n_wrong == 0:
            return
        head = acc if acc is not None else ()
        meta = (np.array([n_rows, n_bad]), np.array([n_wrong]), np.array([width_seen]))
        if acc is None and (n_bad or n_wrong):
            # Nothing summed here, but the counts must reach the driver.
            yield pd.DataFrame({"blob": [_pack(_placeholder(fn, d, meta))]})
            return
        yield pd.DataFrame({"blob": [_pack((*head, *meta))]})

    return run


def _placeholder(fn: BlockFn, d: int, meta: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Zero outputs of the right shapes (evaluated on one zero row) followed by ``meta``."""
    zeros = tuple(np.zeros_like(a) for a in fn(np.zeros((1, d)), np.zeros(1)))
    return (*zeros, *meta)


def _one_torch_thread() -> None:
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _demo_block(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X.sum(axis=0), X.max(axis=0)
