"""Matrix column provenance, checked three ways against scikit-learn itself: perturbing an
input column changes exactly the columns of X its ranges name (a subset where attribution
is conservative by design); the ranges agree with ``output_indices_``; and they agree with
an attribution read independently off ``get_feature_names_out``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from examples.running_example.pipeline import encoder as running_example_encoder
from spark_lester.errors import PlanError
from spark_lester.features.matrix_provenance import column_dependencies, matrix_provenance
from spark_lester.features.text import HashingTextEmbedder

DF = pd.DataFrame({
    "country": ["UK", "DE", "FR", "UK", "DE", "FR", "UK", "DE"],
    "bank": ["a", "b", "a", "c", "b", "a", "d", "a"],
    "level": ["gold", "basic", "basic", "gold", "basic", "gold", "basic", "basic"],
    "n": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 0.5, -1.0],
    "m": [0.5, 0.1, 0.3, 0.9, 0.2, 0.4, 0.7, 0.6],
    "gap": [1.0, np.nan, 3.0, np.nan, 2.0, 0.5, 1.5, 2.5],
    "empty": [np.nan] * 8,
    "title": ["card blocked", "hello", "loan status", "fees", "app crash", "thanks", "hi", "ok"],
    "text": ["my card", "hi there", "loan?", "why fees", "it crashed", "ty", "a b", "c d"],
    "title_length": [12, 5, 11, 4, 9, 6, 2, 2],
    "a": ["b_x", "c", "b_x", "c", "c", "b_x", "c", "b_x"],  # 'a' + 'b_x' reads like 'a_b' + 'x'
    "a_b": ["x", "y", "y", "x", "x", "y", "y", "x"],
    "unused": [1, 2, 3, 4, 5, 6, 7, 8],
})


def _onehot(**kw) -> OneHotEncoder:
    return OneHotEncoder(sparse_output=False, **kw)


#: name -> (unfitted ColumnTransformer, its input columns, inputs attributed conservatively
#: or through hashed text, where perturbing them changes only a subset of their ranges).
CASES = {
    "string_and_list_selectors": (ColumnTransformer([
        ("title", HashingTextEmbedder(n_features=8), "title"),
        ("n", StandardScaler(), ["n"]),
        ("onehot", _onehot(), ["country", "bank"]),
    ]), ["title", "n", "country", "bank", "unused"], {"title"}),
    "onehot_offsets": (ColumnTransformer([
        ("ignore", _onehot(handle_unknown="ignore"), ["country", "bank"]),
        ("first", _onehot(drop="first"), ["level", "country"]),
        ("binary", _onehot(drop="if_binary"), ["level", "a_b"]),
        ("rare", _onehot(min_frequency=2, handle_unknown="infrequent_if_exist"), ["bank"]),
    ]), ["country", "bank", "level", "a_b"], set()),
    "ambiguous_category_names": (ColumnTransformer([
        ("onehot", _onehot(), ["a", "a_b"]),
    ]), ["a", "a_b"], set()),
    "multi_column_transformers": (ColumnTransformer([
        ("scale", StandardScaler(), ["n", "m"]),
        ("poly", PolynomialFeatures(degree=2), ["n", "m"]),
        ("pca", PCA(n_components=1), ["n", "m"]),
        ("gone", "drop", ["title"]),
    ], remainder="drop"), ["n", "m", "title", "unused"], {"n", "m"}),
    "nested_pipelines_remainder_passthrough": (ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
         ["n", "gap"]),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", _onehot(handle_unknown="ignore"))]), ["country", "bank"]),
        ("none", Pipeline([("skip", "passthrough"), ("scale", StandardScaler())]), ["m"]),
    ], remainder="passthrough"), ["n", "gap", "country", "bank", "m", "unused"], set()),
    "imputer_indicator_and_empty_column": (ColumnTransformer([
        ("impute", SimpleImputer(add_indicator=True), ["gap", "n", "empty"]),
    ]), ["gap", "n", "empty"], set()),
    "remainder_estimator_and_selector": (ColumnTransformer([
        ("num", StandardScaler(), make_column_selector(dtype_include=np.number)),
        ("drop_text", "drop", ["text"]),
    ], remainder=_onehot()), ["n", "m", "text", "country"], set()),
    "nested_column_transformer": (ColumnTransformer([
        ("inner", Pipeline([
            ("ct", ColumnTransformer([("oh", _onehot(), ["bank"]), ("s", StandardScaler(), ["n"])],
                                     remainder="drop")),
            ("scale", StandardScaler()),
        ]), ["bank", "n", "unused"]),
        ("m", StandardScaler(), ["m"]),
    ]), ["bank", "n", "unused", "m"], set()),
    "running_example": (running_example_encoder(),
                        ["title", "text", "title_length", "country", "unused"],
                        {"title", "text"}),
}


def _perturbed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Every value of ``column`` changes: categories rotate, numbers are rescaled, missing
    numbers are filled."""
    out = frame.copy()
    if out[column].dtype == object:
        values = sorted(set(out[column]))
        rotate = {v: values[(i + 1) % len(values)] for i, v in enumerate(values)}
        out[column] = out[column].map(rotate)
    else:
        out[column] = (out[column] * 3.0 + 1.0).fillna(5.0)
    return out


def _fitted(name: str) -> tuple[ColumnTransformer, pd.DataFrame]:
    from sklearn.base import clone

    ct, inputs, _ = CASES[name]
    frame = DF[inputs]
    return clone(ct).fit(frame), frame


def _claimed(prov: dict, column: str) -> set[int]:
    return {i for s, e in prov[column] for i in range(s, e)}


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("name", list(CASES))
def test_perturbing_an_input_changes_exactly_its_ranges(name):
    ct, frame = _fitted(name)
    prov = matrix_provenance(ct)
    assert list(prov) == list(frame.columns)
    base = np.asarray(ct.transform(frame), dtype=float)
    covered, moved = set(), set()
    for column in frame.columns:
        after = np.asarray(ct.transform(_perturbed(frame, column)), dtype=float)
        changed = set(np.flatnonzero(np.any(~np.isclose(after, base), axis=0)).tolist())
        claimed = _claimed(prov, column)
        assert changed <= claimed, (column, sorted(changed), sorted(claimed))
        if column not in CASES[name][2]:
            assert changed == claimed, (column, sorted(changed), sorted(claimed))
        covered |= claimed
        moved |= changed
    # every column of X is claimed by an input, except columns no input can change
    # (PolynomialFeatures' bias); those indeed never moved
    unclaimed = set(range(base.shape[1])) - covered
    assert not unclaimed & moved
    assert all(np.ptp(base[:, i]) == 0 for i in unclaimed)


def _by_name(ct: ColumnTransformer) -> list[set[str]]:
    """Independent oracle: the inputs of each column of X read off its verbose name
    ``block__feature`` (names in CASES are chosen so that prefixes are unambiguous)."""
    inputs = {name: [str(ct.feature_names_in_[i]) for i in idx]
              for name, idx in ct._transformer_to_input_indices.items()}
    out = []
    for full in ct.get_feature_names_out():
        block, feature = str(full).split("__", 1)
        cols = inputs[block]
        terms = [t.split("^")[0] for t in feature.split(" ")]
        if feature in cols:
            out.append({feature})
        elif feature.startswith("missingindicator_"):
            out.append({feature.removeprefix("missingindicator_")})
        elif feature == "1":
            out.append(set())
        elif all(t in cols for t in terms):
            out.append(set(terms))
        else:
            owners = {c for c in cols if feature.startswith(c + "_")}
            out.append(owners if len(owners) == 1 else set(cols))
    return out


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("name", [n for n in CASES if n not in (
    "ambiguous_category_names", "nested_column_transformer")])
def test_attribution_agrees_with_feature_names(name):
    ct, _ = _fitted(name)
    names = list(ct.feature_names_in_)
    structural = [{names[i] for i in deps} for deps in column_dependencies(ct)]
    assert structural == _by_name(ct)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("name", list(CASES))
def test_columns_are_claimed_only_by_inputs_of_their_output_indices_block(name):
    ct, frame = _fitted(name)
    prov = matrix_provenance(ct)
    reads = {block: {str(ct.feature_names_in_[i]) for i in idx}
             for block, idx in ct._transformer_to_input_indices.items()}
    total = max(s.stop for s in ct.output_indices_.values())
    assert all(e <= total for ranges in prov.values() for _, e in ranges)
    for i in range(total):
        block = next(b for b, s in ct.output_indices_.items() if s.start <= i < s.stop)
        claimers = {c for c in frame.columns if i in _claimed(prov, c)}
        assert claimers <= reads[block], (i, block, claimers)


def test_onehot_offsets_follow_categories():
    ct, _ = _fitted("onehot_offsets")
    prov = matrix_provenance(ct)
    ignore, first = ct.output_indices_["ignore"], ct.output_indices_["first"]
    binary, rare = ct.output_indices_["binary"], ct.output_indices_["rare"]
    # 3 countries and 4 banks; drop='first' removes one column per input; 'if_binary' one
    # column of each binary input; min_frequency=2 folds banks c and d into one column
    assert prov["country"] == [(ignore.start, ignore.start + 3), (first.start + 1, first.stop)]
    assert prov["bank"] == [(ignore.start + 3, ignore.stop), (rare.start, rare.stop)]
    assert rare.stop - rare.start == 3
    assert prov["level"] == [(first.start, first.start + 1), (binary.start, binary.start + 1)]
    assert prov["a_b"] == [(binary.start + 1, binary.stop)]


def test_names_that_read_ambiguously_are_attributed_by_structure():
    ct, _ = _fitted("ambiguous_category_names")
    names = [str(n) for n in ct.get_feature_names_out()]
    assert names == ["onehot__a_b_x", "onehot__a_c", "onehot__a_b_x", "onehot__a_b_y"]
    assert matrix_provenance(ct) == {"a": [(0, 2)], "a_b": [(2, 4)]}


def test_running_example_ranges():
    ct, _ = _fitted("running_example")
    assert matrix_provenance(ct) == {
        "title": [(0, 16)], "text": [(16, 48)], "title_length": [(48, 49)],
        "country": [(49, 52)], "unused": [],
    }


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_dropped_and_empty_columns_map_to_nothing():
    prov = matrix_provenance(_fitted("multi_column_transformers")[0])
    assert prov["title"] == [] and prov["unused"] == []
    ct, _ = _fitted("imputer_indicator_and_empty_column")
    # the all-missing column is dropped by the imputer but feeds its missing indicator
    assert [str(n) for n in ct.get_feature_names_out()] == [
        "impute__gap", "impute__n", "impute__missingindicator_gap",
        "impute__missingindicator_empty"]
    assert matrix_provenance(ct) == {"gap": [(0, 1), (2, 3)], "n": [(1, 2)], "empty": [(3, 4)]}


def test_polynomial_features_are_exact_and_pca_conservative():
    ct, _ = _fitted("multi_column_transformers")
    prov = matrix_provenance(ct)
    poly, pca = ct.output_indices_["poly"], ct.output_indices_["pca"]
    # poly: 1, n, m, n^2, n m, m^2: the bias depends on nothing, 'n m' on both
    p = poly.start
    assert poly.stop - p == 6 and pca.stop - pca.start == 1
    assert _claimed(prov, "n") == {0, p + 1, p + 3, p + 4, pca.start}
    assert _claimed(prov, "m") == {1, p + 2, p + 4, p + 5, pca.start}


class _Nameless(TransformerMixin, BaseEstimator):
    """A transformer without get_feature_names_out: attributed conservatively."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2.0


def test_a_transformer_without_names_is_attributed_to_all_its_inputs():
    ct = ColumnTransformer([("x", _Nameless(), ["n", "m"]), ("c", _onehot(), ["bank"])]).fit(DF)
    prov = matrix_provenance(ct)
    assert prov["n"] == prov["m"] == [(0, 2)]
    assert prov["bank"] == [(2, 6)]


def test_unfitted_is_a_typed_error():
    with pytest.raises(PlanError, match="not fitted"):
        matrix_provenance(ColumnTransformer([("n", StandardScaler(), ["n"])]))


@pytest.mark.parametrize("selector", [slice("n", "gap"), slice(None, "m"), slice(3, 5), [0, 2],
                                      [False, True, True, False]])
def test_slice_int_and_mask_selectors(selector):
    frame = DF[["level", "n", "m", "gap"]]
    ct = ColumnTransformer([("x", "passthrough", selector)]).fit(frame)
    names = list(frame.columns)
    picked = names[selector] if isinstance(selector, slice) and isinstance(selector.start, int) \
        else None
    expected = [str(n) for n in ct.get_feature_names_out()]
    prov = matrix_provenance(ct)
    claimed = [c for i in range(len(expected)) for c in names if i in _claimed(prov, c)]
    assert ["x__" + c for c in claimed] == expected
    if picked is not None:
        assert claimed == picked
