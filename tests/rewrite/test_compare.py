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


def test_matrices_match_in_any_column_order_and_name_blocks():
    x = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    assert compare_matrices(x, x[:, ::-1]).equal
    bad = x.copy()
    bad[:, 2] = 0.25
    result = compare_matrices(x, bad, {"amount": [[2, 3]]})
    assert not result.equal and "encodes 'amount'" in result.summary()
    assert not compare_matrices(x, x[:1]).equal


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
