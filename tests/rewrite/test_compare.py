from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from spark_lester.rewrite.compare import compare_matrices, compare_tables


def test_order_insensitive_but_multiplicity_sensitive():
    a = pd.DataFrame({"k": ["x", "y", "y"]})
    assert compare_tables(a, a.iloc[::-1]).equal
    assert not compare_tables(a, pd.DataFrame({"k": ["x", "y"]})).equal
    assert not compare_tables(a, pd.DataFrame({"k": ["x", "x", "y"]})).equal


def test_strings_exact_floats_with_tolerance():
    a = pd.DataFrame({"s": ["Ab"], "f": [1.0 / 3]})
    assert compare_tables(a, pd.DataFrame({"s": ["Ab"], "f": [0.3333333334]})).equal
    assert not compare_tables(a, pd.DataFrame({"s": ["ab"], "f": [1.0 / 3]})).equal
    assert not compare_tables(a, pd.DataFrame({"s": ["Ab"], "f": [0.33]})).equal


def test_csv_strings_match_typed_parquet_values():
    original = pd.DataFrame({"d": ["2022-01-05"], "n": ["7"], "b": ["True"], "e": [""]})
    rewrite = pd.DataFrame({"d": [dt.date(2022, 1, 5)], "n": [7], "b": [True], "e": [None]})
    assert compare_tables(original, rewrite).equal


def test_missing_columns_are_named():
    result = compare_tables(pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"a": [1]}))
    assert not result.equal and "lacks ['b']" in result.summary()


def test_matrices_are_compared_column_by_column_in_order():
    x = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 2.0]])
    assert compare_matrices(x, x.copy()).equal
    assert compare_matrices(x, x + 1e-9).equal  # tolerance
    # a permuted X is another X: rejected, and the feedback says where each column went
    permuted = compare_matrices(x, x[:, ::-1], {"amount": [[0, 1]], "country": [[1, 3]]})
    assert not permuted.equal
    summary = permuted.summary()
    assert "X[:, 0] (rewrite encodes 'amount'): the original's X[:, 0] is the rewrite's X[:, 2]" \
        in summary
    assert "another order" in summary
    assert not compare_matrices(x, x[1:]).equal  # rows are aligned: counts must agree
    assert not compare_matrices(x, x[[1, 0, 2]]).equal  # and so must the row order


def test_swapped_one_hot_blocks_and_reordered_categories_are_rejected():
    country = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    amount = np.array([[-1.2], [0.3], [0.9], [0.0]])
    original = np.hstack([country, amount])
    swapped = np.hstack([amount, country])
    result = compare_matrices(original, swapped, {"amount": [[0, 1]], "country": [[1, 4]]})
    assert not result.equal and "another order" in result.summary()
    reordered = np.hstack([country[:, [2, 0, 1]], amount])
    assert not compare_matrices(original, reordered).equal
    bad = original.copy()
    bad[:, 3] = np.clip(bad[:, 3], -1.0, 1.0)  # a clipped column: named, with a row
    result = compare_matrices(original, bad, {"country": [[0, 3]], "amount": [[3, 4]]})
    assert not result.equal
    assert "X[:, 3] (rewrite encodes 'amount'): 1 row(s) differ, e.g. row 0" in result.summary()
    extra = compare_matrices(original, np.hstack([original, amount]), {"amount": [[4, 5]]})
    assert not extra.equal and "extra X[:, 4] (encodes 'amount')" in extra.summary()
    missing = compare_matrices(original, original[:, :3])
    assert not missing.equal and "X[:, 3] is missing" in missing.summary()


def test_model_outputs_accept_both_logit_shapes_and_softmax():
    from spark_lester.rewrite.compare import compare_model_outputs

    logits = np.array([[0.5], [-1.0], [2.0]])
    assert compare_model_outputs(logits[:, 0], logits).equal
    three = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    softmax = np.exp(three) / np.exp(three).sum(axis=1, keepdims=True)
    assert compare_model_outputs(softmax, three, probabilities=True).equal
    assert not compare_model_outputs(softmax, three).equal
    shape = compare_model_outputs(logits[:, 0], three)
    assert not shape.equal and "output shapes differ" in shape.summary()
