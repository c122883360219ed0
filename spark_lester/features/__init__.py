"""Features: fit a ColumnTransformer on the driver, encode on Spark, re-encode changed
blocks, and the matrix column provenance of the fitted encoder."""

from spark_lester.features.encode import (
    FEATURES,
    dump_encoder,
    encode,
    encode_pandas,
    fit_encoder,
    load_encoder,
    reencode,
)
from spark_lester.features.matrix_provenance import matrix_provenance

__all__ = [
    "FEATURES",
    "dump_encoder",
    "encode",
    "encode_pandas",
    "fit_encoder",
    "load_encoder",
    "matrix_provenance",
    "reencode",
]
