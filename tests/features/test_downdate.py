"""Encoder unlearning against its oracle: for every transformer kind, the downdated encoder's
fitted state and X equal a refit on the remaining fit rows (generated data, generated
deletions; categories and terms drawn from a skewed distribution so that some are held by one
row only). Checks that the policy keeps what it says it keeps, and that a planted bug (a
removed category kept) is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from spark_lester.features import downdate as dd
from spark_lester.features.downdate import DOWNDATE, KEEP, FitRows, downdate, project
from spark_lester.features.matrix_provenance import matrix_provenance

SEEDS = range(6)
WORDS = [f"w{i}" for i in range(40)]


def _category(rng: np.random.Generator, n: int) -> list[str]:
    # a Zipf-like pool: a few common values, many rare ones (held by one row)
    pool = [f"town{i:03d}" for i in range(60)]
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 1.3
    return list(rng.choice(pool, size=n, p=weights / weights.sum()))


def _data(seed: int, n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(WORDS) + 1)
    docs = [" ".join(rng.choice(WORDS, size=rng.integers(1, 6), p=weights / weights.sum()))
            for _ in range(n)]
    age = rng.integers(18, 90, size=n).astype(float)
    age[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame({"town": _category(rng, n), "bank": _category(rng, n),
                         "text": docs, "age": age, "score": rng.normal(size=n) * 3 + 1})


def _split(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, list[int]]:
    data = _data(seed)
    fit, test = data.iloc[:64], data.iloc[64:]
    rng = np.random.default_rng(seed + 100)
    removed = sorted(rng.choice(fit.index, size=int(rng.integers(1, 8)), replace=False).tolist())
    return fit, test, removed


def _check(make, seed: int, *, statistics: str = KEEP, compare=None) -> dd.Downdate:
    """The downdated encoder transforms every row (remaining fit rows and test rows) as the
    refit does, ``project`` of the old X equals it too, and ``compare`` checks the state."""
    fit, test, removed = _split(seed)
    old = make().fit(fit)
    remaining = fit.drop(index=removed)
    result = downdate(old, FitRows.from_frames(fit.loc[removed], remaining),
                      statistics=statistics)
    oracle = make().fit(remaining)
    rows = pd.concat([remaining, test])
    expected = _dense(oracle.transform(rows))
    got = _dense(result.encoder.transform(rows))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    old_X = _dense(old.transform(rows)).astype(np.float32)
    np.testing.assert_allclose(project(old_X, rows, result), expected.astype(np.float32),
                               rtol=1e-5, atol=1e-6)
    assert matrix_provenance(result.encoder) == matrix_provenance(oracle)
    if compare is not None:
        compare(result.encoder, oracle)
    # the old encoder is untouched
    np.testing.assert_array_equal(_dense(old.transform(rows)),
                                  _dense(make().fit(fit).transform(rows)))
    return result


def _dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix,
                      dtype=np.float64)


def _same_categories(name):
    def compare(new, oracle):
        a, b = new.named_transformers_[name], oracle.named_transformers_[name]
        assert [list(c) for c in a.categories_] == [list(c) for c in b.categories_]
    return compare


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hot_equals_refit(seed):
    make = lambda: ColumnTransformer([  # noqa: E731
        ("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["town", "bank"]),
        ("n", "passthrough", ["score"])])
    result = _check(make, seed, compare=_same_categories("c"))
    assert not result.reencode  # columns dropped, nothing recomputed


def test_one_hot_removes_a_category_only_one_row_held():
    fit, test, _ = _split(0)
    fit = fit.assign(town=fit["town"].where(fit.index != 5, "Atlantis-unique"))
    make = lambda: ColumnTransformer([  # noqa: E731
        ("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["town"])])
    old = make().fit(fit)
    result = downdate(old, FitRows.from_frames(fit.loc[[5]], fit.drop(index=5)))
    assert "Atlantis-unique" in list(old.named_transformers_["c"].categories_[0])
    assert "Atlantis-unique" not in list(result.encoder.named_transformers_["c"].categories_[0])
    assert result.width_after == result.width_before - 1 and len(result.dropped) == 1
    assert result.summary()["transformers"][0] == {"transformer": "c", "kind": "OneHotEncoder",
                                                   "policy": "exact", "removed": 1}
    assert "Atlantis" not in repr(result.summary())


def test_planted_bug_keeping_a_removed_category_is_caught(monkeypatch):
    original = FitRows.from_frames

    def lying(removed, remaining, added=None):
        rows = original(removed, remaining, added)
        rows.holding = lambda column, values: set(values)  # claims every value is still held
        return rows

    monkeypatch.setattr(FitRows, "from_frames", staticmethod(lying))
    make = lambda: ColumnTransformer([  # noqa: E731
        ("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["town"])])
    with pytest.raises(AssertionError):
        for seed in SEEDS:
            _check(make, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_ordinal_equals_refit(seed):
    make = lambda: ColumnTransformer([  # noqa: E731
        ("o", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
         ["town", "bank"])])
    _check(make, seed, compare=_same_categories("o"))


@pytest.mark.parametrize("seed", SEEDS)
def test_count_vectorizer_equals_refit(seed):
    make = lambda: ColumnTransformer([("t", CountVectorizer(), "text")])  # noqa: E731

    def compare(new, oracle):
        assert new.named_transformers_["t"].vocabulary_ == oracle.named_transformers_["t"].vocabulary_

    _check(make, seed, compare=compare)


@pytest.mark.parametrize("seed", SEEDS)
def test_count_vectorizer_bigrams_equal_refit(seed):
    make = lambda: ColumnTransformer([("t", CountVectorizer(ngram_range=(1, 2)), "text")])  # noqa: E731
    _check(make, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_tfidf_downdate_equals_refit(seed):
    make = lambda: ColumnTransformer([("t", TfidfVectorizer(), "text")])  # noqa: E731

    def compare(new, oracle):
        a, b = new.named_transformers_["t"], oracle.named_transformers_["t"]
        assert a.vocabulary_ == b.vocabulary_
        np.testing.assert_allclose(a.idf_, b.idf_, rtol=1e-12)

    _check(make, seed, statistics=DOWNDATE, compare=compare)


@pytest.mark.parametrize("seed", SEEDS)
def test_tfidf_keep_removes_terms_and_keeps_idf(seed):
    fit, _, removed = _split(seed)
    old = ColumnTransformer([("t", TfidfVectorizer(), "text")]).fit(fit)
    remaining = fit.drop(index=removed)
    result = downdate(old, FitRows.from_frames(fit.loc[removed], remaining))
    oracle = ColumnTransformer([("t", TfidfVectorizer(), "text")]).fit(remaining)
    new, before = result.encoder.named_transformers_["t"], old.named_transformers_["t"]
    assert new.vocabulary_ == oracle.named_transformers_["t"].vocabulary_
    for term, i in new.vocabulary_.items():
        assert new.idf_[i] == before.idf_[before.vocabulary_[term]]
    # remaining rows: old X minus the dropped (all-zero) columns
    X = np.asarray(old.transform(remaining).toarray(), dtype=np.float32)
    np.testing.assert_array_equal(X[:, result.dropped], 0)
    np.testing.assert_allclose(project(X, remaining, result),
                               result.encoder.transform(remaining).toarray(), atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_scaler_downdate_equals_refit(seed):
    make = lambda: ColumnTransformer([("s", StandardScaler(), ["score", "age"])])  # noqa: E731

    def compare(new, oracle):
        a, b = new.named_transformers_["s"], oracle.named_transformers_["s"]
        np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-10)
        np.testing.assert_allclose(a.var_, b.var_, rtol=1e-9)

    # age has missing values: per-column counts, so the scaler is refit (still the oracle)
    _check(make, seed, statistics=DOWNDATE, compare=compare)
    make = lambda: ColumnTransformer([("s", StandardScaler(), ["score"])])  # noqa: E731
    result = _check(make, seed, statistics=DOWNDATE, compare=compare)
    assert result.actions[0]["policy"] == "exact" and result.reencode == ["s"]


def test_a_scaler_left_constant_is_scaled_by_one_like_a_refit():
    """Found by a read-only review (session 21): removing rows until the remaining fit
    values are equal left a round-off variance (about 1e-16) where a refit has 0, so the
    scale was about 1e-8 instead of 1 and a test row with another value came out near 1e8.
    sklearn's fit treats near-constant features as constant; so must the downdate."""
    fit = pd.DataFrame({"score": [0.1, 0.1, 0.1, 0.1, 0.7, 1.3, 2.9]})
    removed = [4, 5, 6]
    old = ColumnTransformer([("s", StandardScaler(), ["score"])]).fit(fit)
    result = downdate(old, FitRows.from_frames(fit.loc[removed], fit.drop(index=removed)),
                      statistics=DOWNDATE)
    refit = ColumnTransformer([("s", StandardScaler(), ["score"])]).fit(fit.drop(index=removed))
    test = pd.DataFrame({"score": [0.1, 3.0]})
    np.testing.assert_allclose(result.encoder.transform(test), refit.transform(test), atol=1e-6)


def test_a_scaler_whose_every_fit_row_is_updated_is_fit_on_the_new_values():
    """Found by a read-only review (session 21): a redaction that changes the values of
    every fit row removes them all and adds them back; the downdate refused it ("removes
    every fit row") before it counted the added rows. It equals a refit on the new values."""
    fit = pd.DataFrame({"score": [1.0, 4.0, 9.0]})
    new_values = pd.DataFrame({"score": [0.0, 0.0, 2.0]})
    old = ColumnTransformer([("s", StandardScaler(), ["score"])]).fit(fit)
    result = downdate(old, FitRows.from_frames(fit, new_values, added=new_values),
                      statistics=DOWNDATE)
    refit = ColumnTransformer([("s", StandardScaler(), ["score"])]).fit(new_values)
    a, b = result.encoder.named_transformers_["s"], refit.named_transformers_["s"]
    np.testing.assert_allclose(a.mean_, b.mean_, atol=1e-12)
    np.testing.assert_allclose(a.var_, b.var_, atol=1e-12)
    assert int(a.n_samples_seen_) == 3


def test_a_scaler_without_centering_keeps_its_mean_for_the_next_downdate():
    """Found by a read-only review (session 21): with ``with_mean=False`` the fitted scaler
    still holds the mean (its variance needs it); the downdate left it stale, so a second
    request downdated the variance from the wrong mean (81.25 instead of 25 here)."""
    fit = pd.DataFrame({"score": [0.0, 10.0, 20.0, 30.0]})
    make = lambda: ColumnTransformer([("s", StandardScaler(with_mean=False),  # noqa: E731
                                       ["score"])])
    encoder, remaining = make().fit(fit), fit
    for gone in (3, 2):
        removed, remaining = remaining.loc[[gone]], remaining.drop(index=gone)
        encoder = downdate(encoder, FitRows.from_frames(removed, remaining),
                           statistics=DOWNDATE).encoder
        a, b = encoder.named_transformers_["s"], make().fit(remaining).named_transformers_["s"]
        np.testing.assert_allclose([a.mean_[0], a.var_[0], a.scale_[0]],
                                   [b.mean_[0], b.var_[0], b.scale_[0]], rtol=1e-12)


def test_scaler_keep_policy_keeps_the_statistics():
    fit, _, removed = _split(1)
    old = ColumnTransformer([("s", StandardScaler(), ["score"])]).fit(fit)
    result = downdate(old, FitRows.from_frames(fit.loc[removed], fit.drop(index=removed)))
    assert result.encoder is old and not result.changed
    assert result.actions[0]["policy"] == "kept"


@pytest.mark.parametrize("seed", SEEDS)
def test_imputer_most_frequent_equals_refit(seed):
    make = lambda: ColumnTransformer([  # noqa: E731
        ("i", SimpleImputer(strategy="most_frequent"), ["age"])])

    def compare(new, oracle):
        np.testing.assert_array_equal(new.named_transformers_["i"].statistics_,
                                      oracle.named_transformers_["i"].statistics_)

    _check(make, seed, compare=compare)


def test_imputer_fill_value_of_a_deleted_row_is_unlearned():
    fit = pd.DataFrame({"age": [41.0, 41.0, 30.0, np.nan, 22.0]})
    old = ColumnTransformer([("i", SimpleImputer(strategy="most_frequent"), ["age"])]).fit(fit)
    assert old.named_transformers_["i"].statistics_[0] == 41.0
    result = downdate(old, FitRows.from_frames(fit.loc[[0, 1]], fit.drop(index=[0, 1])))
    assert result.encoder.named_transformers_["i"].statistics_[0] == 22.0  # refit: smallest
    assert result.reencode == ["i"] and result.refit


@pytest.mark.parametrize("seed", SEEDS)
def test_imputer_mean_downdate_equals_refit(seed):
    make = lambda: ColumnTransformer([("i", SimpleImputer(strategy="mean"), ["age"])])  # noqa: E731
    _check(make, seed, statistics=DOWNDATE)


class Centerer(BaseEstimator, TransformerMixin):
    """A custom transformer spark_lester knows nothing about."""

    def fit(self, X, y=None):
        self.center_ = np.asarray(X, dtype=float).mean(axis=0)
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) - self.center_


@pytest.mark.parametrize("seed", SEEDS)
def test_custom_transformer_is_refit(seed):
    make = lambda: ColumnTransformer([("x", Centerer(), ["score"]),  # noqa: E731
                                      ("c", OneHotEncoder(handle_unknown="ignore",
                                                          sparse_output=False), ["town"])])

    def compare(new, oracle):
        np.testing.assert_allclose(new.named_transformers_["x"].center_,
                                   oracle.named_transformers_["x"].center_)

    result = _check(make, seed, compare=compare)
    assert result.refit and "x" in result.reencode
    assert result.actions[0]["reason"] == "Centerer cannot be downdated"


def test_nothing_removed_leaves_the_encoder():
    fit, _, _ = _split(2)
    old = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["town"])]).fit(fit)
    result = downdate(old, FitRows.from_frames(fit.iloc[:0], fit))
    assert result.encoder is old and not result.changed and result.actions == []


def test_statistics_value_is_checked():
    fit, _, _ = _split(2)
    old = ColumnTransformer([("c", OneHotEncoder(), ["town"])]).fit(fit)
    with pytest.raises(ValueError, match="ENCODER_STATISTICS"):
        downdate(old, FitRows.from_frames(fit.iloc[:1], fit), statistics="maybe")


@pytest.mark.parametrize("seed", SEEDS)
def test_frequency_thresholds_are_refit(seed):
    """Count thresholds depend on every row: the block is refit, and equals the oracle."""
    make = lambda: ColumnTransformer([  # noqa: E731
        ("c", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=3,
                            sparse_output=False), ["town"]),
        ("t", CountVectorizer(min_df=2), "text")])
    result = _check(make, seed)
    assert {a["transformer"]: a["policy"] for a in result.actions} == {"c": "refit",
                                                                       "t": "refit"}
