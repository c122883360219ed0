"""Matrix column provenance, checked against scikit-learn's own output layout: perturbing
an input column changes exactly the columns of X its ranges name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from spark_lester.errors import PlanError
from spark_lester.features.matrix_provenance import matrix_provenance
from spark_lester.features.text import HashingTextEmbedder

DF = pd.DataFrame({
    "country": ["UK", "DE", "FR", "UK", "DE", "FR"],
    "bank": ["a", "b", "a", "c", "b", "a"],
    "n": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
    "m": [0.5, 0.1, 0.3, 0.9, 0.2, 0.4],
    "title": ["card blocked", "hello", "loan status", "fees", "app crash", "thanks"],
    "unused": [1, 2, 3, 4, 5, 6],
})

TRANSFORMERS = {
    "string_and_list": ColumnTransformer([
        ("title", HashingTextEmbedder(n_features=8), "title"),
        ("n", StandardScaler(), ["n"]),
        ("onehot", OneHotEncoder(sparse_output=False), ["country", "bank"]),
    ]),
    "nested_pipeline_and_passthrough": ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["n", "m"]),
        ("cat", Pipeline([("onehot", OneHotEncoder(sparse_output=False, drop="first"))]),
         ["country"]),
    ], remainder="passthrough"),
    "multi_column_pca_and_drop": ColumnTransformer([
        ("pca", PCA(n_components=1), ["n", "m"]),
        ("bank", OneHotEncoder(sparse_output=False), ["bank"]),
        ("gone", "drop", ["title"]),
    ], remainder="drop"),
}


INPUTS = {"nested_pipeline_and_passthrough": ["n", "m", "country", "unused"]}
#: Inputs whose every output column must change when every value changes (not hashed text,
#: not the PCA over two columns, where both inputs share one output).
EXACT = {"country", "bank", "n", "m", "unused"}


def _perturbed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Every value of ``column`` changes: categories rotate, numbers are rescaled."""
    out = frame.copy()
    if out[column].dtype == object:
        values = sorted(set(out[column]))
        rotate = {v: values[(i + 1) % len(values)] for i, v in enumerate(values)}
        out[column] = out[column].map(rotate)
    else:
        out[column] = out[column] * 3.0 + 1.0
    return out


@pytest.mark.parametrize("name", list(TRANSFORMERS))
def test_ranges_cover_exactly_the_columns_an_input_changes(name):
    frame = DF[INPUTS.get(name, list(DF.columns))]
    ct = TRANSFORMERS[name].fit(frame)
    prov = matrix_provenance(ct)
    base = ct.transform(frame).astype(float)
    covered = set()
    for column in frame.columns:
        after = ct.transform(_perturbed(frame, column)).astype(float)
        changed = set(np.flatnonzero(np.any(~np.isclose(after, base), axis=0)))
        claimed = {i for s, e in prov[column] for i in range(s, e)}
        assert changed <= claimed, (column, changed, claimed)
        if column in EXACT and not (name == "multi_column_pca_and_drop" and column in "nm"):
            assert changed == claimed, (column, changed, claimed)
        covered |= claimed
    assert covered == set(range(base.shape[1]))  # every column of X has an input


def test_ranges_agree_with_output_indices():
    ct = TRANSFORMERS["string_and_list"].fit(DF)
    prov = matrix_provenance(ct)
    assert prov["title"] == [(ct.output_indices_["title"].start, ct.output_indices_["title"].stop)]
    onehot = ct.output_indices_["onehot"]
    assert prov["country"] == [(onehot.start, onehot.start + 3)]
    assert prov["bank"] == [(onehot.start + 3, onehot.stop)]
    assert prov["unused"] == []


def test_unfitted_is_a_typed_error():
    with pytest.raises(PlanError, match="not fitted"):
        matrix_provenance(ColumnTransformer([("n", StandardScaler(), ["n"])]))
