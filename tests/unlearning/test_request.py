"""Requests and quality metrics read from Spark DataFrames (other columns ignored) equal
the numpy ones."""

from __future__ import annotations

import numpy as np

from spark_lester.unlearning import UnlearningRequest, newton, unlearning_quality

from .conftest import random_deletion


def _frame(spark, X, y, offset=0):
    rows = [(offset + i, X[i].tolist(), int(y[i]), "cc") for i in range(len(y))]
    return spark.createDataFrame(rows, "row_id long, features array<float>, label int, bank string")


def test_request_and_quality_from_dataframes(spark, lr):
    deletion = random_deletion(lr, 0.01, seed=42)
    Xd, yd = deletion.deleted
    from_df = UnlearningRequest.remove(_frame(spark, Xd, yd).orderBy("row_id"))
    assert np.array_equal(from_df.X_removed, deletion.request.X_removed)
    assert np.array_equal(from_df.y_removed, deletion.request.y_removed)
    change = UnlearningRequest.change(_frame(spark, Xd, yd).orderBy("row_id"),
                                      _frame(spark, Xd * 0, yd).orderBy("row_id"))
    assert change.kind == "change" and change.n_added == len(yd)

    result = newton(lr.model, lr.stats, from_df, budget=None)
    remaining_df = _frame(spark, *deletion.remaining).repartition(3)
    on_spark = unlearning_quality(lr.model, result.params, deletion.retrained,
                                  remaining=remaining_df, deleted=deletion.deleted,
                                  test=(lr.X_test, lr.y_test))
    on_numpy = unlearning_quality(lr.model, result.params, deletion.retrained,
                                  remaining=deletion.remaining, deleted=deletion.deleted,
                                  test=(lr.X_test, lr.y_test))
    for key, value in on_numpy.to_dict().items():
        assert np.isclose(on_spark.to_dict()[key], value, rtol=1e-8, atol=1e-14), key
