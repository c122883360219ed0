"""Feature encoding: fit a ColumnTransformer on the driver, transform on the executors, and
re-encode the changed columns of a few rows with the fitted encoder.

A pipeline declares an *unfitted* scikit-learn ``ColumnTransformer``. :func:`fit_encoder`
fits it on the driver (the statistics of a scaler or the categories of a one-hot encoder
need all rows in one place); :func:`encode` then transforms every partition with the fitted
encoder through Spark's Arrow batches, so X is computed where the data lives. X is stored
as ``array<float>`` (float32) next to the row ids and provenance columns kept unchanged.

A deletion that redacts a column (``mail_subject``) changes only the blocks of X computed
from it: :func:`reencode` re-runs just the fitted transformers whose inputs changed and
rewrites their ``[start, end)`` ranges, leaving every other byte of the rows as it was. The
result equals encoding the redacted rows from scratch with the same fitted encoder.

>>> import numpy as np, pandas as pd
>>> from sklearn.compose import ColumnTransformer
>>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
>>> frame = pd.DataFrame({"country": ["UK", "DE", "UK"], "n": [1.0, 2.0, 3.0]})
>>> ct = ColumnTransformer([("c", OneHotEncoder(), ["country"]),
...                         ("n", StandardScaler(), ["n"])]).fit(frame)
>>> X = encode_pandas(frame, ct)
>>> X.dtype, X.shape
(dtype('float32'), (3, 3))
>>> redacted = frame.assign(country=["DE", "DE", "DE"])
>>> X2, ranges = reencode(X, redacted, ct, ["country"])
>>> ranges, bool(np.array_equal(X2, encode_pandas(redacted, ct)))
([(0, 2)], True)
>>> load_encoder(dump_encoder(ct)).transform(frame).shape
(3, 3)
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_lester.errors import ColumnNotFoundError, EncoderFormatError, PlanError
from spark_lester.features.matrix_provenance import input_names, selected_positions, width

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

#: Name of the feature-vector column of X (``array<float>``).
FEATURES = "features"

#: First bytes of :func:`dump_encoder` output; the digit is the format version.
_MAGIC = b"spark_lester.encoder/1\n"


def _require_column_transformer(encoder: Any, op: str) -> None:
    from sklearn.compose import ColumnTransformer

    if not isinstance(encoder, ColumnTransformer):
        raise PlanError(
            f"expected a scikit-learn ColumnTransformer, got {type(encoder).__name__}.", op=op,
            hint="Wrap the transformers in sklearn.compose.ColumnTransformer([(name, "
                 "transformer, columns), ...]) so that matrix provenance can name the inputs "
                 "of every block of X.")


def _require_fitted(encoder: Any, op: str) -> None:
    _require_column_transformer(encoder, op)
    if not hasattr(encoder, "transformers_"):
        raise PlanError("the ColumnTransformer is not fitted.", op=op,
                        hint="Fit it first with fit_encoder(encoder, df, columns).")
    if not hasattr(encoder, "feature_names_in_"):
        raise PlanError("the ColumnTransformer was fitted on an array, not on named columns.",
                        op=op, hint="Fit it with fit_encoder(), which fits on a pandas frame.")


def _require_columns(wanted: Sequence[str], available: Sequence[str], op: str) -> None:
    seen: set[str] = set()
    for column in wanted:
        if column not in available:
            raise ColumnNotFoundError(column, available=available, op=op)
        if column in seen:
            raise PlanError(f"column '{column}' is named twice.", op=op,
                            hint="Name each column once.")
        seen.add(column)


def fit_encoder(encoder: Any, df: DataFrame, columns: Sequence[str]) -> Any:
    """Fit a copy of the unfitted ColumnTransformer ``encoder`` on the driver, on
    ``df.select(*columns).toPandas()``, and return it (``encoder`` itself stays unfitted, so
    a pipeline can declare it once and fit it per run).

    >>> fitted = fit_encoder(ColumnTransformer([...]), prepared.df, ["title", "country"])
    ... # doctest: +SKIP
    """
    from sklearn.base import clone

    _require_column_transformer(encoder, "fit_encoder")
    if hasattr(encoder, "transformers_"):
        raise PlanError("the ColumnTransformer is already fitted.", op="fit_encoder",
                        hint="Pass the unfitted encoder the pipeline declares (or "
                             "sklearn.base.clone(encoder)); a fitted one is reused with "
                             "encode() or reencode(), never refitted.")
    columns = list(columns)
    if not columns:
        raise PlanError("no input columns given.", op="fit_encoder",
                        hint="Name the columns the ColumnTransformer reads.")
    _require_columns(columns, df.columns, "fit_encoder")
    frame = df.select(*columns).toPandas()
    if len(frame) == 0:
        raise PlanError("there are no rows to fit the encoder on.", op="fit_encoder",
                        hint="Check the filters of the pipeline; the training split is empty.")
    return clone(encoder).fit(fit_frame(encoder, frame))


def fit_frame(encoder: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns that only fit-value-blind transformers read set to None.

    ``ColumnTransformer.fit`` transforms every row while fitting. For a sentence embedder
    that is the cost of a whole run, and for nothing: its fitted state (like a random
    projection's) depends on the input's shape only. Those columns are blanked, so fitting
    skips the model; the fitted encoder is the same (a test compares them). A column that
    any other transformer reads keeps its values.

    >>> import pandas as pd
    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from spark_lester.features.text import HashingTextEmbedder
    >>> ct = ColumnTransformer([("t", HashingTextEmbedder(4), "t"), ("n", StandardScaler(), ["n"])])
    >>> fit_frame(ct, pd.DataFrame({"t": ["a b", "c"], "n": [1.0, 2.0]})).to_dict("list")
    {'t': [None, None], 'n': [1.0, 2.0]}
    """
    import pandas as pd

    readers: dict[str, list[bool]] = {}
    for _, trans, selector in encoder.transformers:
        if isinstance(selector, str):
            selected = [selector]
        elif isinstance(selector, (list, tuple)) and all(isinstance(c, str) for c in selector):
            selected = list(selector)
        else:  # a callable, slice or index selector: not resolved here, no shortcut
            return frame
        blind = not isinstance(trans, str) and _fit_is_value_blind(trans)
        for column in selected:
            readers.setdefault(column, []).append(blind)
    blank = [c for c, flags in readers.items() if all(flags) and c in frame.columns]
    if not blank:
        return frame
    none = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame.assign(**{c: none for c in blank})


def _fit_is_value_blind(trans: Any) -> bool:
    """Whether ``trans``'s fitted state depends only on its input's shape (never on values)
    and it takes None for a value: a transformer that says so (``fit_ignores_values``, the
    text embedders), or a Pipeline that starts with one and goes on with such transformers
    or random projections."""
    from sklearn.pipeline import Pipeline
    from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

    steps = ([step for _, step in trans.steps if step not in (None, "passthrough")]
             if isinstance(trans, Pipeline) else [trans])
    if not steps or not getattr(steps[0], "fit_ignores_values", False):
        return False  # the raw column's first reader must say so (and take None)
    return all(getattr(step, "fit_ignores_values", False)
               or isinstance(step, (GaussianRandomProjection, SparseRandomProjection))
               for step in steps[1:])


def _float32(block: Any, *, op: str) -> np.ndarray:
    """A transformer output as a dense float32 matrix, through float64 (as the float64
    matrix ``ColumnTransformer`` stacks is), so a block equals its slice of the whole X."""
    if hasattr(block, "toarray"):
        block = block.toarray()
    block = np.asarray(block)
    if block.dtype == np.float32:
        return np.ascontiguousarray(block)
    try:
        return np.asarray(block, dtype=np.float64).astype(np.float32)
    except (TypeError, ValueError) as exc:
        raise PlanError(f"the encoder produced non-numeric output ({block.dtype}).", op=op,
                        hint="Encode text and categories (OneHotEncoder, an embedder) instead "
                             "of passing them through.") from exc


def encode_pandas(frame: pd.DataFrame, encoder: Any) -> np.ndarray:
    """``encoder.transform(frame)`` as a dense, C-contiguous float32 matrix: X as stored."""
    return _float32(encoder.transform(frame), op="encode")


def encode(df: DataFrame, encoder: Any, *, columns: Sequence[str], keep: Sequence[str]
           ) -> DataFrame:
    """Transform ``df`` with the fitted ``encoder`` on the executors.

    The output has the ``keep`` columns unchanged (same Spark types and values; they travel
    as Arrow arrays and never through pandas, so 64-bit ids and ``array<long>`` provenance
    with NULLs stay exact), followed by :data:`FEATURES`, ``array<float>``: the row of
    ``encoder.transform`` over ``columns``, dense, as float32. Every row is encoded on its
    own, so the result does not depend on the partitioning. The fitted encoder travels in
    the task closure (it must pickle).

    >>> X = encode(prepared.df, fitted, columns=["title", "country"],
    ...            keep=["mail_id", "__prov_mails"])  # doctest: +SKIP
    """
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    _require_fitted(encoder, "encode")
    columns, keep = list(columns), list(keep)
    _require_columns(columns, df.columns, "encode")
    _require_columns(keep, df.columns, "encode")
    for name in input_names(encoder):
        if name not in columns:
            raise ColumnNotFoundError(name, available=columns, op="encode")
    if FEATURES in keep:
        raise PlanError(f"'{FEATURES}' cannot be kept: it is the name of the output vector.",
                        op="encode", hint=f"Rename the input column '{FEATURES}' first.")
    schema = StructType(
        [df.schema[k] for k in keep]
        + [StructField(FEATURES, ArrayType(FloatType(), containsNull=False), nullable=False)]
    )

    def encode_batches(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if batch.num_rows == 0:
                continue
            X = encode_pandas(batch.select(columns).to_pandas(date_as_object=True), encoder)
            n, d = X.shape
            offsets = pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32) if d else
                               np.zeros(n + 1, dtype=np.int32))
            vectors = pa.ListArray.from_arrays(offsets, pa.array(X.reshape(-1), pa.float32()))
            yield pa.RecordBatch.from_arrays([batch.column(k) for k in keep] + [vectors],
                                             names=[*keep, FEATURES])

    return df.select(*dict.fromkeys([*keep, *columns])).mapInArrow(encode_batches, schema)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def reencode(features: np.ndarray, frame: pd.DataFrame, encoder: Any, changed: Iterable[str]
             ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Re-encode the rows of ``features`` whose inputs in ``changed`` took new values.

    ``features`` holds the current X rows (n x d); ``frame`` the current input values of the
    same n rows, in the same order (every input of the re-run transformers, changed or not).
    Only the fitted transformers that read a column of ``changed`` run again; their blocks
    (placed by ``output_indices_``) are written into a float32 copy of ``features``. Returns
    that copy and the sorted ``[start, end)`` ranges rewritten (adjacent blocks merged);
    every other column is byte-identical to ``features``. A changed column the encoder
    drops rewrites nothing.
    """
    _require_fitted(encoder, "reencode")
    names = input_names(encoder)
    wanted = list(dict.fromkeys(changed))
    for column in wanted:
        if column not in names:
            raise ColumnNotFoundError(column, available=names, op="reencode")
    X = np.array(features, dtype=np.float32, copy=True)
    expected = (len(frame), width(encoder))
    if X.shape != expected:
        raise PlanError(f"features have shape {X.shape}, expected {expected} (one row per row "
                        "of the frame, one column per column of X).", op="reencode",
                        hint="Pass the X rows of exactly the rows in the frame, in its order.")
    rewritten: list[tuple[int, int]] = []
    for name, trans, selector in encoder.transformers_:
        block = encoder.output_indices_.get(name, slice(0, 0))
        if (isinstance(trans, str) and trans == "drop") or block.stop == block.start:
            continue
        inputs = [names[p] for p in selected_positions(encoder, selector, len(names))]
        if not set(wanted).intersection(inputs):
            continue
        rewritten.append((block.start, block.stop))
        if len(frame) == 0:
            continue
        for column in inputs:
            if column not in frame.columns:
                raise ColumnNotFoundError(column, available=[str(c) for c in frame.columns],
                                          op="reencode")
        # ColumnTransformer hands a transformer a Series for a scalar selector.
        scalar = isinstance(selector, (str, int, np.integer))
        sub = frame[inputs[0]] if scalar else frame[inputs]
        out = sub.to_numpy() if isinstance(trans, str) else trans.transform(sub)
        out = _float32(out, op="reencode")
        if out.shape != (len(frame), block.stop - block.start):
            raise PlanError(f"transformer '{name}' produced shape {out.shape}, its block of X "
                            f"is {block.stop - block.start} columns wide.", op="reencode")
        X[:, block] = out
    return X, _merged(rewritten)


def dump_encoder(encoder: Any) -> bytes:
    """Serialise a fitted ColumnTransformer for the run registry.

    The bytes are a short header (format, scikit-learn version) and a (cloud)pickle, which
    also carries transformer classes defined in a pipeline file. Pickle runs code when
    loaded: the warehouse is trusted storage, as trusted as the pipeline code itself; never
    load encoder bytes from anywhere else.
    """
    import sklearn
    from pyspark import cloudpickle

    _require_fitted(encoder, "dump_encoder")
    header = json.dumps({"format": 1, "sklearn": sklearn.__version__}).encode()
    return _MAGIC + header + b"\n" + cloudpickle.dumps(encoder)


def load_encoder(data: bytes, *, check_version: bool = True) -> Any:
    """The fitted ColumnTransformer :func:`dump_encoder` wrote (from trusted storage only).

    With ``check_version`` (the default) it refuses bytes written by another scikit-learn
    version, whose transforms may differ: re-encoding would no longer equal the stored X.
    """
    import sklearn

    data = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    if not data.startswith(_MAGIC):
        raise EncoderFormatError("the data is not an encoder written by dump_encoder().",
                                 hint="Load the bytes stored for the run's encoder.")
    end = data.find(b"\n", len(_MAGIC))
    try:
        header = json.loads(data[len(_MAGIC):end])
    except ValueError as exc:
        raise EncoderFormatError("the encoder header is damaged.",
                                 hint="Re-run the pipeline to store the encoder again.") from exc
    if check_version and header.get("sklearn") != sklearn.__version__:
        raise EncoderFormatError(
            f"the encoder was written by scikit-learn {header.get('sklearn')}, this is "
            f"{sklearn.__version__}.",
            hint=f"Install scikit-learn=={header.get('sklearn')} to re-encode exactly, or re-run "
                 "the pipeline; check_version=False loads it anyway.")
    try:
        encoder = pickle.loads(data[end + 1:])  # noqa: S301 - trusted storage, see docstring
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means damaged bytes
        raise EncoderFormatError(f"the encoder cannot be unpickled ({type(exc).__name__}).",
                                 hint="Re-run the pipeline to store the encoder again.") from exc
    _require_fitted(encoder, "load_encoder")
    return encoder
