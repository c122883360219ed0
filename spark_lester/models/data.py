"""Training data as ``(X, y)``: numpy arrays, or a Spark DataFrame collected to them.

Models and updates accept either form. A DataFrame has a ``features`` column
(``array<float>`` or ``array<double>``) and an integer label column, possibly with other
columns (row ids, provenance) that are ignored. Collecting is for data that fits on the
driver (training, the changed rows of a request); sums over a large X are computed partition
by partition instead (``spark_lester.unlearning.sums``).

>>> import numpy as np
>>> X, y = as_arrays((np.ones((2, 3), dtype=np.float32), np.array([0, 1])))
>>> X.dtype, X.shape, y.tolist()
(dtype('float64'), (2, 3), [0.0, 1.0])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

import numpy as np

from spark_lester.errors import ModelError, NonFiniteError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Feature-matrix input: ``(X, y)`` numpy arrays or a DataFrame with features and a label.
Data = Union[tuple[np.ndarray, np.ndarray], "DataFrame"]

FEATURES_COL = "features"
LABEL_COL = "label"


def is_dataframe(data: Any) -> bool:
    """True for a PySpark DataFrame (checked without importing pyspark)."""
    return type(data).__name__ == "DataFrame" and hasattr(data, "mapInPandas")


def as_arrays(data: Data, *, features_col: str = FEATURES_COL, label_col: str = LABEL_COL,
              where: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` as float64 arrays of shape (n, d) and (n,), validated.

    Raises ``NonFiniteError`` for NaN/inf features or null labels and ``ModelError`` for
    labels other than 0/1 or mismatched lengths.
    """
    if is_dataframe(data):
        X, y = _collect(data, features_col, label_col, where)
    else:
        try:
            X, y = data  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ModelError(f"{where}: expected (X, y) arrays or a Spark DataFrame, got "
                             f"{type(data).__name__}.") from None
    return check_arrays(X, y, where=where)


def check_arrays(X: Any, y: Any, *, where: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``X`` (n x d) and ``y`` (n, values 0/1) to float64."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2:
        raise ModelError(f"{where}: features must be a 2-D matrix, got shape {X.shape}.")
    if X.shape[0] != y.shape[0]:
        raise ModelError(f"{where}: {X.shape[0]} feature rows but {y.shape[0]} labels.")
    bad = int(np.count_nonzero(~np.isfinite(X))) + int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        raise NonFiniteError(where, count=bad)
    if y.size and not np.all((y == 0.0) | (y == 1.0)):
        raise ModelError(f"{where}: labels must be 0 or 1.",
                         hint="Binary classification only; encode the label as 0/1.")
    return X, y


def _collect(df: DataFrame, features_col: str, label_col: str,
             where: str) -> tuple[np.ndarray, np.ndarray]:
    from pyspark.sql import functions as F

    pdf = df.select(F.col(features_col).alias("f"),
                    F.col(label_col).cast("double").alias("y")).toPandas()
    return rows_to_matrix(pdf["f"].tolist(), where=where), pdf["y"].to_numpy(np.float64)


def rows_to_matrix(rows: list[Any], *, where: str = "X", d: int | None = None) -> np.ndarray:
    """Stack a list of per-row feature arrays into an (n, d) float64 matrix.

    Null rows become NaN rows (so they are reported as non-finite, not dropped); rows of the
    wrong width raise ``ModelError``.
    """
    if not rows:
        return np.zeros((0, d or 0), dtype=np.float64)
    widths = {len(r) for r in rows if r is not None}
    if len(widths) > 1:
        raise ModelError(f"{where}: feature arrays of different lengths {sorted(widths)}.")
    width = widths.pop() if widths else (d or 0)
    if all(r is not None for r in rows):
        return np.stack([np.asarray(r, dtype=np.float64) for r in rows]).reshape(len(rows), width)
    out = np.full((len(rows), width), np.nan, dtype=np.float64)
    for i, r in enumerate(rows):
        if r is not None:
            out[i] = np.asarray(r, dtype=np.float64)
    return out
